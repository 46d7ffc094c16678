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

/* The user's devices with their secrets opened, for one attempt. */
struct login_device {
	char name[STORE_DEVICE_MAX + 1];
	struct totp_params p;
	unsigned char secret[STORE_SEALED_MAX];
	size_t slen;
	int64_t last_step; /* as read: the device's last accepted step, -1 if none */
};
struct login_devices {
	struct login_device d[LOGIN_DEVICES_MAX];
	int n;
	int bad; /* a sealed secret did not open */
	const struct seal_key *k;
	const char *user;
};

/* store_login_read's callback: open one device's secret. */
static int device_one(void *vctx, const struct store_device *d)
{
	struct login_devices *ld = vctx;
	struct login_device *o;

	if (ld->n >= LOGIN_DEVICES_MAX)
		return 1; /* more than max_devices can allow: the first ones */
	o = &ld->d[ld->n];
	if (seal_decrypt(ld->k, ld->user, "totp", d->t.sealed, d->t.sealed_len, o->secret,
			 &o->slen) != 0) {
		ld->bad = 1;
		return 1;
	}
	memcpy(o->name, d->t.device, sizeof(o->name));
	o->p.algorithm = d->t.algorithm;
	o->p.digits = d->t.digits;
	o->p.period = d->t.period;
	o->last_step = d->last_step;
	ld->n++;
	return 0;
}

/* A backup code: used now (STORE_OK), used before (STORE_CONFLICT), none (STORE_NOTFOUND). */
static int use_backup(struct store *s, const struct seal_key *k, const char *user, const char *code,
		      int64_t now)
{
	unsigned char h[STORE_HASH_LEN];
	int sr = STORE_ERR;

	if (secret_hash(k, user, "backup", code, h) != 0)
		goto out;
	sr = store_backup_use(s, user, h, now);
	if (sr == STORE_NOTFOUND)
		sr = store_backup_state(s, user, h) == STORE_CONFLICT ? STORE_CONFLICT
								      : STORE_NOTFOUND;
out:
	RC_WIPE_ARRAY(h);
	return sr;
}

/* The kinds of code this attempt may accept (LOGIN_ACCEPT_*; 0 means both). */
static unsigned accept_of(const struct login_attempt *a)
{
	return a->accept != 0 ? a->accept : LOGIN_ACCEPT_TOTP | LOGIN_ACCEPT_BACKUP;
}

/* Audit of a lock or a lifted lock at login: service and remote host, never a code. */
static void audit_lock(struct store *s, const char *user, const struct login_attempt *a,
		       const char *event, const char *method, int64_t until)
{
	char host[128], svc[80], detail[256];

	rc_log_escape(a->rhost != NULL && a->rhost[0] ? a->rhost : "-", host, sizeof(host));
	rc_log_escape(a->service != NULL && a->service[0] ? a->service : "-", svc, sizeof(svc));
	if (until > 0) {
		if (rc_snprintf(detail, sizeof(detail), "service=%s rhost=%s until=%lld", svc, host,
				(long long)until) < 0)
			detail[0] = '\0';
	} else if (rc_snprintf(detail, sizeof(detail), "service=%s rhost=%s", svc, host) < 0) {
		detail[0] = '\0';
	}
	/* The decision stands without it (a store that fails here is logged by the caller's
	 * next step); the event never carries a code. */
	int unused = store_audit_add(s, user, a->ruid, event, method, detail);

	(void)unused;
}

static int backup_window(const struct cfg *c)
{
	return c->unlock_time > 0 ? c->unlock_time : 900;
}

/* The code check is locked: only a backup code, against its own limit. */
static int backup_during_lock(const struct cfg *c, struct store *s, const struct seal_key *k,
			      const char *user, const char *code, int64_t now,
			      struct login_attempt *a)
{
	char key[192]; /* user names are at most 128 bytes */
	int count = 0, sr;

	a->reason = "locked after too many failures";
	if (rc_snprintf(key, sizeof(key), "login:backup-fail:%s", user) < 0)
		return LOGIN_ERROR;
	/* Counted before it is checked, so parallel guesses cannot pass the limit. */
	if (store_counter_hit(s, key, now, backup_window(c), &count) != STORE_OK) {
		a->reason = "store error";
		return LOGIN_ERROR;
	}
	if (c->backup_deny > 0 && count > c->backup_deny) {
		a->backup_locked = 1;
		a->reason = "locked; backup codes too (too many wrong backup codes)";
		return LOGIN_LOCKED;
	}
	sr = use_backup(s, k, user, code, now);
	if (sr == STORE_OK) {
		if (store_reset_failures(s, user) != STORE_OK ||
		    store_counter_clear(s, key) != STORE_OK) {
			a->reason = "store error";
			return LOGIN_ERROR;
		}
		a->unlocked_now = 1;
		a->locked_until = 0;
		a->reason = "backup code used; lock lifted";
		audit_lock(s, user, a, "login-unlocked", "backup", 0);
		return LOGIN_OK_BACKUP;
	}
	if (sr == STORE_CONFLICT)
		a->reason = "locked; backup code already used";
	else if (sr == STORE_NOTFOUND)
		a->reason = "locked; wrong backup code";
	else
		return LOGIN_ERROR;
	if (c->backup_deny > 0 && count >= c->backup_deny)
		a->backup_locked = 1;
	return LOGIN_LOCKED;
}

/* Accepted again inside a reuse window? LOGIN_OK, LOGIN_WRONG (no window) or LOGIN_ERROR. */
static int reuse_check(struct store *s, const char *user, int64_t now, struct login_attempt *a)
{
	int sr;

	if (a->reuse_hash == NULL)
		return LOGIN_WRONG;
	sr = store_reuse_match(s, user, a->reuse_hash, now, NULL);
	if (sr == STORE_NOTFOUND)
		return LOGIN_WRONG;
	/* Counts and locks stay as they are: the string proves nothing new. */
	if (sr != STORE_OK) {
		a->reason = "store error while checking the reuse window";
		return LOGIN_ERROR;
	}
	a->reused = 1;
	a->reason = "reuse window";
	return LOGIN_OK;
}

/*
 * The candidate that is a current TOTP code of a device, in memory only (its answer is
 * used only after the attempt is counted): its index, with *dev (the device) and *step;
 * -1 if none. Candidates in order; for one candidate the first device that has its step as
 * new (as read) wins, else the first device whose code it is (a replay as read: the store
 * decides). A candidate that is some device's code ends the search, as it would be taken.
 */
static int totp_candidate(const struct cfg *c, const struct login_devices *ld,
			  const struct login_attempt *a, int64_t now, int *dev, int64_t *step)
{
	char norm[CODE_MAX];
	int which = -1;

	*dev = -1;
	*step = -1;
	if (!(accept_of(a) & LOGIN_ACCEPT_TOTP))
		return -1;
	for (int i = 0; i < a->n && which < 0; i++) {
		if (secret_normalise(a->codes[i], norm, sizeof(norm)) != 0 || !all_digits(norm))
			continue;
		for (int j = 0; j < ld->n; j++) {
			const struct login_device *d = &ld->d[j];
			int64_t st = -1;

			if (strlen(norm) != (size_t)d->p.digits ||
			    totp_verify(d->secret, d->slen, &d->p, now, c->window, norm, &st) != 0)
				continue;
			if (which < 0 || (*step <= ld->d[*dev].last_step && st > d->last_step)) {
				which = i;
				*dev = j;
				*step = st;
			}
			if (st > d->last_step)
				break;
		}
	}
	RC_WIPE_ARRAY(norm);
	return which;
}

/* No TOTP code matched (the attempt is counted): the candidates as backup codes. */
static int try_backups(struct store *s, const struct seal_key *k, const char *user, int64_t now,
		       struct login_attempt *a)
{
	char norm[CODE_MAX];
	int r = LOGIN_WRONG, sr;

	a->reason = "wrong code";
	for (int i = 0; i < a->n && r == LOGIN_WRONG; i++) {
		if (secret_normalise(a->codes[i], norm, sizeof(norm)) != 0 || norm[0] == '\0')
			continue;
		a->which = i;
		if (!(accept_of(a) & LOGIN_ACCEPT_BACKUP) || strlen(norm) != SECRET_BACKUP_DIGITS ||
		    !all_digits(norm))
			continue;
		sr = use_backup(s, k, user, norm, now);
		if (sr == STORE_OK) {
			r = store_reset_failures(s, user) == STORE_OK ? LOGIN_OK_BACKUP
								      : LOGIN_ERROR;
			a->reason = r == LOGIN_OK_BACKUP ? "backup code used" : "store error";
		} else if (sr == STORE_CONFLICT) {
			a->reason = "backup code already used";
		} else if (sr != STORE_NOTFOUND) {
			a->reason = "store error while checking a backup code";
			r = LOGIN_ERROR;
		} else {
			a->reason = "wrong code";
		}
	}
	RC_WIPE_ARRAY(norm);
	return r;
}

int login_verify(const struct cfg *c, struct store *s, const struct seal_key *k, const char *user,
		 int64_t now, struct login_attempt *a)
{
	struct store_login_state st;
	struct store_login_try tr;
	struct login_devices ld;
	char norm[CODE_MAX];
	int64_t ignored, step = -1;
	int r = LOGIN_ERROR, sr, in_tx = 0, which, dev = -1;

	a->locked_now = a->unlocked_now = a->backup_locked = a->reused = 0;
	a->which = 0;
	a->locked_until = 0;
	a->reason = "store error";
	a->device[0] = '\0';
	norm[0] = '\0';
	ld.n = 0;
	ld.bad = 0;
	if (a->n < 1 || a->n > LOGIN_MAX_CANDIDATES || (a->reuse_hash && a->reuse_seconds <= 0))
		goto out;
	/*
	 * With a reuse window the attempt is one transaction (the store's write lock, as the
	 * compare-and-set takes anyway): parallel logins with the same string run one after the
	 * other, so those after the first find its window before anything is counted, and no
	 * count made while the first was still deciding can lock them out.
	 */
	if (a->reuse_hash != NULL) {
		if (store_begin(s) != STORE_OK)
			goto out;
		in_tx = 1;
	}
	/* Every device (secret, parameters, last step) and the login state in one read (one
	 * round trip to a server). */
	ld.k = k;
	ld.user = user;
	sr = store_login_read(s, user, device_one, &ld, &st);
	if (sr == STORE_OK && ld.bad) {
		a->reason = "sealed secret does not open (wrong key_file or tampered record)";
		goto out;
	}
	if (sr == STORE_NOTFOUND) {
		/* Same TOTP work as a real check; nothing written for names that are not enrolled. */
		struct totp_params p = {CFG_ALGO_SHA1, 6, 30};

		int unused = totp_verify(dummy_secret, sizeof(dummy_secret), &p, now, c->window,
					 "000000", &ignored);

		(void)unused;
		a->reason = "not enrolled";
		r = LOGIN_NOT_ENROLLED;
		goto out;
	}
	if (sr != STORE_OK)
		goto out;
	/* A string accepted earlier from the same address and service (forwarded_code): it was
	 * proven then, nothing is guessed now, so a lock (made by anyone's wrong or replayed
	 * codes, e.g. the same string from another address) does not stop it. */
	r = reuse_check(s, user, now, a);
	if (r != LOGIN_WRONG)
		goto out;
	if (st.locked_until > now) {
		/* The owner keeps a way in: an 8-digit candidate is tried as a backup code. */
		a->locked_until = st.locked_until;
		a->reason = "locked after too many failures";
		r = LOGIN_LOCKED;
		for (int i = 0; i < a->n && (accept_of(a) & LOGIN_ACCEPT_BACKUP); i++) {
			if (secret_normalise(a->codes[i], norm, sizeof(norm)) != 0 ||
			    strlen(norm) != SECRET_BACKUP_DIGITS || !all_digits(norm))
				continue;
			a->which = i;
			r = backup_during_lock(c, s, k, user, norm, now, a);
			break;
		}
		goto out;
	}
	r = LOGIN_ERROR;
	/*
	 * The attempt is counted before any answer is given, so parallel guesses cannot pass
	 * the limit: one atomic write counts it and, for a TOTP code of a step new for its
	 * device while the count is within deny, accepts the step instead (compare-and-set on
	 * that device's replay state alone; success clears the count). Which candidate is a
	 * current code of which device is worked out first, in memory only.
	 */
	which = totp_candidate(c, &ld, a, now, &dev, &step);
	if (store_login_try(s, user, now, c->deny, c->unlock_time,
			    which >= 0 ? ld.d[dev].name : NULL, step, &tr) != STORE_OK)
		goto out;
	a->locked_now = tr.locked;
	if (c->deny > 0 && tr.failures > c->deny) {
		a->reason = "locked after too many failures";
		a->locked_now = 0;
		a->locked_until = tr.locked_until;
		r = LOGIN_LOCKED;
		goto out;
	}
	if (which >= 0) {
		a->which = which;
		memcpy(a->device, ld.d[dev].name, sizeof(a->device));
		if (tr.accepted && a->reuse_hash != NULL &&
		    store_reuse_put(s, user, a->reuse_hash, now, now + a->reuse_seconds) !=
			    STORE_OK) {
			a->reason = "store error while recording the code";
			r = LOGIN_ERROR;
		} else if (tr.accepted) {
			a->reason = "valid code";
			r = LOGIN_OK;
		} else {
			a->reason = "code already used (replay)";
			r = LOGIN_REPLAY;
		}
	} else {
		r = try_backups(s, k, user, now, a);
	}
	/* A parallel login with the same string won the compare-and-set: its hash is there. */
	if (r == LOGIN_REPLAY && a->reuse_hash != NULL) {
		int rr = reuse_check(s, user, now, a);

		if (rr != LOGIN_WRONG)
			r = rr;
	}
	if (r == LOGIN_OK || r == LOGIN_OK_BACKUP)
		a->locked_now = 0;
	if (a->locked_now) {
		a->locked_until = now + c->unlock_time;
		audit_lock(s, user, a, "login-locked", "totp", a->locked_until);
	}
out:
	if (in_tx) {
		if (r == LOGIN_ERROR) {
			store_rollback(s);
		} else if (store_commit(s) != STORE_OK) {
			a->reason = "store error while committing the attempt";
			r = LOGIN_ERROR;
		}
	}
	for (int i = 0; i < ld.n && i < LOGIN_DEVICES_MAX; i++)
		rc_wipe(&ld.d[i], sizeof(ld.d[i]));
	if (ld.bad && ld.n < LOGIN_DEVICES_MAX) /* the one that did not open */
		rc_wipe(&ld.d[ld.n], sizeof(ld.d[ld.n]));
	RC_WIPE_ARRAY(norm);
	return r;
}

int login_verify_codes(const struct cfg *c, struct store *s, const struct seal_key *k,
		       const char *user, const char *const *codes, int n, int64_t now,
		       int *locked_now, const char **reason, int *which)
{
	struct login_attempt a;
	int r;

	memset(&a, 0, sizeof(a));
	a.codes = codes;
	a.n = n;
	r = login_verify(c, s, k, user, now, &a);
	*locked_now = a.locked_now;
	*reason = a.reason;
	*which = a.which;
	return r;
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
	struct login_attempt a;
	int r;

	memset(&a, 0, sizeof(a));
	a.codes = &code;
	a.n = 1;
	a.accept = accept;
	r = login_verify(c, s, k, user, now, &a);
	*locked_now = a.locked_now;
	*reason = a.reason;
	return r;
}

static int clean_label(const char *v)
{
	if (v == NULL || v[0] == '\0')
		return 0;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

int login_reuse_hash(const struct seal_key *k, const char *user, const char *service,
		     const char *rhost, const char *typed, unsigned char out[STORE_HASH_LEN])
{
	char purpose[256];
	int r = -1;

	if (!clean_label(service) || !clean_label(rhost) || typed == NULL || typed[0] == '\0')
		return -1;
	/* Service and host have no control characters: the newlines keep them apart. */
	if (rc_snprintf(purpose, sizeof(purpose), "reuse\n%s\n%s", service, rhost) < 0)
		return -1;
	r = secret_hash(k, user, purpose, typed, out) == 0 ? 0 : -1;
	return r;
}

int login_split_lookup(struct store *s, const struct seal_key *k, const char *user,
		       const char *tail8, int *split)
{
	struct store_totp t;
	unsigned char h[STORE_HASH_LEN];
	int r = LOGIN_ERROR, tr, br = STORE_NOTFOUND;

	*split = LOGIN_SPLIT_NONE;
	memset(&t, 0, sizeof(t));
	tr = store_totp_get(s, user, &t);
	if (tr != STORE_OK && tr != STORE_NOTFOUND)
		goto out;
	/* The backup lookup runs for every name with an 8-digit tail, enrolled or not. */
	if (tail8 != NULL) {
		if (secret_hash(k, user, "backup", tail8, h) != 0)
			goto out;
		br = store_backup_state(s, user, h);
		if (br == STORE_ERR)
			goto out;
	}
	r = LOGIN_OK;
	if (tr == STORE_NOTFOUND)
		goto out;
	if (br == STORE_OK)
		*split = LOGIN_SPLIT_BACKUP;
	else if (br == STORE_CONFLICT)
		*split = LOGIN_SPLIT_USED_BACKUP;
	else
		*split = t.digits == 8 ? LOGIN_SPLIT_8 : LOGIN_SPLIT_6;
out:
	RC_WIPE_ARRAY(h);
	rc_wipe(&t, sizeof(t));
	return r;
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

	memset(&a, 0, sizeof(a));
	if (other != NULL && n > 0)
		other[0] = '\0';
	if (secret_normalise(typed, norm, sizeof(norm)) != 0) {
		r = LOGIN_NO_APP; /* longer than any app password */
		goto out;
	}
	if (secret_hash(k, user, "app", norm, h) != 0)
		goto out;
	/* Look first; "last used" is stamped only when the password is accepted here. */
	sr = store_app_match(s, user, h, 0, &a);
	if (sr == STORE_NOTFOUND) {
		r = LOGIN_NO_APP;
		goto out;
	}
	if (sr != STORE_OK)
		goto out;
	if (!service_allowed(a.services, service)) {
		r = LOGIN_NO_APP;
		if (other != NULL && n > 0 &&
		    rc_snprintf(other, n, "%s (%s)", a.name, a.services) < 0)
			other[0] = '\0';
		goto out;
	}
	sr = store_app_match(s, user, h, now > 0 ? now : 1, &a);
	r = sr == STORE_OK ? LOGIN_OK_APP : sr == STORE_NOTFOUND ? LOGIN_NO_APP : LOGIN_ERROR;
out:
	RC_WIPE_ARRAY(h);
	RC_WIPE_ARRAY(norm);
	return r;
}

const char *login_result_name(int r)
{
	static const char *const names[] = {"ok",     "ok-backup", "wrong",
					    "replay", "locked",    "not-enrolled",
					    "error",  "ok-app",    "no-app"};

	return r >= 0 && r <= LOGIN_NO_APP ? names[r] : "unknown";
}
