/* The login decision, shared by the module (as root) and `pam-recover check`. */
#include "login.h"

#include <string.h>
#include <time.h>

#include <sodium.h>

#include "secret.h"
#include "totp.h"

#define CODE_MAX 64

/* The secret an unknown or unenrolled user is checked against, so timing says nothing. */
static const unsigned char dummy_secret[20] = {0x5a};

int login_enrolled(struct store *s, const char *user)
{
	struct store_totp t;
	int r = store_totp_get(s, user, &t);

	rc_wipe(&t, sizeof(t));
	if (r == STORE_OK)
		return LOGIN_OK;
	return r == STORE_NOTFOUND ? LOGIN_NOT_ENROLLED : LOGIN_ERROR;
}

static int all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* TOTP first (replay-checked), then a backup code. Returns a LOGIN_* result. */
static int try_code(struct store *s, const struct seal_key *k, const char *user,
		    const struct store_totp *t, const unsigned char *secret, size_t slen,
		    const struct cfg *c, const char *code, unsigned accept, int64_t now,
		    const char **reason)
{
	struct totp_params p = {t->algorithm, t->digits, t->period};
	unsigned char h[STORE_HASH_LEN];
	int64_t step = -1;
	int r = LOGIN_WRONG, sr;

	if ((accept & LOGIN_ACCEPT_TOTP) && strlen(code) == (size_t)t->digits &&
	    all_digits(code) && totp_verify(secret, slen, &p, now, c->window, code, &step) == 0) {
		sr = store_step_cas(s, user, step);
		if (sr == STORE_OK) {
			*reason = "valid code";
			r = LOGIN_OK;
		} else if (sr == STORE_CONFLICT) {
			*reason = "code already used (replay)";
			r = LOGIN_REPLAY;
		} else {
			*reason = "store error while recording the code";
			r = LOGIN_ERROR;
		}
		goto out;
	}
	if ((accept & LOGIN_ACCEPT_BACKUP) && strlen(code) == SECRET_BACKUP_DIGITS &&
	    all_digits(code)) {
		if (secret_hash(k, user, "backup", code, h) != 0) {
			r = LOGIN_ERROR;
			goto out;
		}
		sr = store_backup_use(s, user, h, now);
		if (sr == STORE_OK) {
			r = store_reset_failures(s, user) == STORE_OK ? LOGIN_OK_BACKUP : LOGIN_ERROR;
			*reason = r == LOGIN_OK_BACKUP ? "backup code used" : "store error";
			goto out;
		}
		if (sr != STORE_NOTFOUND) {
			*reason = "store error while checking a backup code";
			r = LOGIN_ERROR;
			goto out;
		}
	}
	*reason = "wrong code";
out:
	RC_WIPE_ARRAY(h);
	return r;
}

static int verify_codes(const struct cfg *c, struct store *s, const struct seal_key *k,
			const char *user, const char *const *codes, int n, unsigned accept,
			int64_t now, int *locked_now, const char **reason, int *which)
{
	struct store_totp t;
	struct store_login_state st;
	unsigned char secret[STORE_SEALED_MAX];
	char norm[CODE_MAX];
	size_t slen = 0;
	int64_t ignored;
	int r = LOGIN_ERROR, sr, failures = 0;

	*locked_now = 0;
	*which = 0;
	*reason = "store error";
	norm[0] = '\0';
	if (n < 1 || n > LOGIN_MAX_CANDIDATES)
		goto out;
	sr = store_totp_get(s, user, &t);
	if (sr == STORE_NOTFOUND) {
		/* Same TOTP work as a real check; nothing written for names that are not enrolled. */
		struct totp_params p = {CFG_ALGO_SHA1, 6, 30};

		int unused = totp_verify(dummy_secret, sizeof(dummy_secret), &p, now, c->window,
					 "000000", &ignored);

		(void)unused;
		*reason = "not enrolled";
		r = LOGIN_NOT_ENROLLED;
		goto out;
	}
	if (sr != STORE_OK)
		goto out;
	if (seal_decrypt(k, user, "totp", t.sealed, t.sealed_len, secret, &slen) != 0) {
		*reason = "sealed secret does not open (wrong key_file or tampered record)";
		goto out;
	}
	if (store_state_get(s, user, &st) != STORE_OK)
		goto out;
	if (st.locked_until > now) {
		*reason = "locked after too many failures";
		r = LOGIN_LOCKED;
		goto out;
	}
	/* Count the attempt before checking it, so parallel guesses cannot pass the limit;
	 * a success resets the count. */
	if (store_fail(s, user, now, c->deny, c->unlock_time, &failures, locked_now) != STORE_OK)
		goto out;
	if (c->deny > 0 && failures > c->deny) {
		*reason = "locked after too many failures";
		r = LOGIN_LOCKED;
		goto out;
	}
	r = LOGIN_WRONG;
	*reason = "wrong code";
	for (int i = 0; i < n && r == LOGIN_WRONG; i++) {
		if (secret_normalise(codes[i], norm, sizeof(norm)) != 0 || norm[0] == '\0')
			continue;
		r = try_code(s, k, user, &t, secret, slen, c, norm, accept, now, reason);
		*which = i;
	}
	if (r == LOGIN_OK || r == LOGIN_OK_BACKUP)
		*locked_now = 0;
out:
	RC_WIPE_ARRAY(secret);
	RC_WIPE_ARRAY(norm);
	rc_wipe(&t, sizeof(t));
	return r;
}

int login_verify_codes(const struct cfg *c, struct store *s, const struct seal_key *k,
		       const char *user, const char *const *codes, int n, int64_t now,
		       int *locked_now, const char **reason, int *which)
{
	return verify_codes(c, s, k, user, codes, n, LOGIN_ACCEPT_TOTP | LOGIN_ACCEPT_BACKUP, now,
			    locked_now, reason, which);
}

int login_verify_code(const struct cfg *c, struct store *s, const struct seal_key *k,
		      const char *user, const char *code, int64_t now, int *locked_now,
		      const char **reason)
{
	int which;

	return login_verify_codes(c, s, k, user, &code, 1, now, locked_now, reason, &which);
}

int login_verify_code_as(const struct cfg *c, struct store *s, const struct seal_key *k,
			 const char *user, const char *code, unsigned accept, int64_t now,
			 int *locked_now, const char **reason)
{
	int which;

	return verify_codes(c, s, k, user, &code, 1, accept, now, locked_now, reason, &which);
}

int login_nullok_applies(const struct cfg *c, int64_t now, int *grace)
{
	char today[16];
	struct tm tm;
	time_t t = (time_t)now;

	*grace = 0;
	if (!c->nullok)
		return 0;
	if (c->enforce_after == NULL)
		return 1;
	if (localtime_r(&t, &tm) == NULL || strftime(today, sizeof(today), "%Y-%m-%d", &tm) == 0)
		return 0; /* cannot tell the date: be strict */
	/* YYYY-MM-DD compares correctly as text. */
	if (strcmp(today, c->enforce_after) > 0)
		return 0;
	*grace = 1;
	return 1;
}

static int service_allowed(const char *list, const char *service)
{
	size_t n = strlen(service);

	if (list[0] == '\0')
		return 1;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", ");

		if (len == n && strncmp(p, service, n) == 0)
			return 1;
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

int login_app_password(struct store *s, const struct seal_key *k, const char *user,
		       const char *service, const char *typed, int64_t now)
{
	return login_app_password_other(s, k, user, service, typed, now, NULL, 0);
}

int login_app_password_other(struct store *s, const struct seal_key *k, const char *user,
			     const char *service, const char *typed, int64_t now, char *other,
			     size_t n)
{
	struct store_app_password a;
	unsigned char h[STORE_HASH_LEN];
	char norm[CODE_MAX];
	int r = LOGIN_ERROR, sr;

	if (other != NULL && n > 0)
		other[0] = '\0';
	memset(&a, 0, sizeof(a));
	if (secret_normalise(typed, norm, sizeof(norm)) != 0) {
		r = LOGIN_NO_APP; /* longer than any app password */
		goto out;
	}
	if (secret_hash(k, user, "app", norm, h) != 0)
		goto out;
	sr = store_app_match(s, user, h, now, &a);
	if (sr == STORE_NOTFOUND) {
		r = LOGIN_NO_APP;
		goto out;
	}
	if (sr != STORE_OK)
		goto out;
	r = service_allowed(a.services, service) ? LOGIN_OK_APP : LOGIN_NO_APP;
	if (r == LOGIN_NO_APP && other != NULL && n > 0 &&
	    rc_snprintf(other, n, "%s (%s)", a.name, a.services) < 0)
		other[0] = '\0';
out:
	RC_WIPE_ARRAY(h);
	RC_WIPE_ARRAY(norm);
	return r;
}

const char *login_result_name(int r)
{
	static const char *const names[] = {"ok",     "ok-backup",    "wrong", "replay", "locked",
					    "not-enrolled", "error", "ok-app", "no-app"};

	return r >= 0 && r <= LOGIN_NO_APP ? names[r] : "unknown";
}
