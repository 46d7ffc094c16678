/*
 * pam_recover.so: a six-digit TOTP code on top of the password. Only the PAM entry points
 * and the order of the steps live here; the decisions are in lib/login.c.
 */
#include <pwd.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "backend.h"
#include "conv.h"
#include "config.h"
#include "login.h"
#include "onefield.h"
#include "split.h"
#include "totp.h"
#include "util.h"

#define INPUT_MAX 512
/* What sshd hands PAM as the password of an invalid user. */
#define SSHD_PLACEHOLDER "\b\n\r\177INCORRECT"

struct code_input {
	char pw[LOGIN_MAX_CANDIDATES][INPUT_MAX]; /* forward_pass: password for each candidate */
	char code[LOGIN_MAX_CANDIDATES][16];
	const char *codes[LOGIN_MAX_CANDIDATES];
	int n;
};

static int user_exists(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	return getpwnam_r(user, &pw, buf, sizeof(buf), &res) == 0 && res != NULL;
}

/* The typed string from the stack (forward_pass and *_first_pass) or our own prompt. */
static int read_typed(pam_handle_t *pamh, const struct cfg *c, char **typed)
{
	const char *tok = NULL;
	char *resp = NULL;
	int r;

	*typed = NULL;
	if (c->forward_pass || c->use_first_pass || c->try_first_pass) {
		if (c->forward_pass && !c->use_first_pass) {
			r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL); /* prompts if unset */
		} else {
			r = pam_get_item(pamh, PAM_AUTHTOK, (const void **)&tok);
			if (r == PAM_SUCCESS && tok == NULL)
				r = c->use_first_pass ? PAM_AUTH_ERR : PAM_SUCCESS;
		}
		if (r != PAM_SUCCESS)
			return r;
		if (tok != NULL) {
			*typed = strdup(tok);
			return *typed ? PAM_SUCCESS : PAM_BUF_ERR;
		}
	}
	r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", c->prompt);
	if (r != PAM_SUCCESS)
		return r;
	*typed = resp ? resp : strdup("");
	return *typed ? PAM_SUCCESS : PAM_BUF_ERR;
}

/* forward_pass: "password123456" gives (password, 123456) and (passwor, d123456)-style 8-digit
 * tail for backup codes; without forward_pass the whole input is the one candidate. */
static int make_candidates(int forward_pass, const char *typed, struct code_input *in)
{
	static const int tails[LOGIN_MAX_CANDIDATES] = {6, 8};

	in->n = 0;
	if (!forward_pass) {
		if (rc_snprintf(in->code[0], sizeof(in->code[0]), "%s", typed) < 0)
			return -1;
		in->codes[in->n++] = in->code[0];
		return 0;
	}
	for (int i = 0; i < LOGIN_MAX_CANDIDATES; i++)
		if (split_code(typed, tails[i], in->pw[in->n], sizeof(in->pw[0]), in->code[in->n],
			       sizeof(in->code[0])) == 0) {
			in->codes[in->n] = in->code[in->n];
			in->n++;
		}
	return in->n > 0 ? 0 : -1;
}

static int map_result(int r)
{
	switch (r) {
	case LOGIN_OK:
	case LOGIN_OK_BACKUP:
		return PAM_SUCCESS;
	case LOGIN_ERROR:
		return PAM_AUTHINFO_UNAVAIL;
	default:
		return PAM_AUTH_ERR;
	}
}

/* app_passwords: an app password made for this service passes; anything else is left to
 * the next lines of the stack (PAM_IGNORE, the one deliberate ignore besides nullok). */
static int check_app_password(pam_handle_t *pamh, const struct cfg *c, struct backend *b,
			      const char *user, const char *service)
{
	const char *tok = NULL;
	char other[200];
	int r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);

	/* Only "this is not an app password" may become PAM_IGNORE; errors stay errors. */
	if (r != PAM_SUCCESS)
		return conv_failed(r);
	if (tok == NULL || tok[0] == '\0')
		return PAM_IGNORE;
	r = backend_app(pamh, b, user, service, tok, other, sizeof(other));
	if (r == LOGIN_NO_APP && other[0] != '\0')
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused: app password %s is not for %s",
			   user, other, service);
	if (r == LOGIN_OK_APP) {
		pam_syslog(pamh, LOG_NOTICE, "user %s: accepted (app password)", user);
		return PAM_SUCCESS;
	}
	if (r == LOGIN_ERROR)
		return PAM_AUTHINFO_UNAVAIL;
	if (c->debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: not an app password for %s", user, service);
	return PAM_IGNORE;
}

/* Like pam_faillock, a locked user is told so at the prompt (never a code, never before
 * the password was verified: interactive stacks run us after the password module, one-field
 * stacks only on the forwarded_code line). */
static void tell_locked(pam_handle_t *pamh, int flags, const struct login_attempt *a)
{
	char when[32] = "";
	struct tm tm;
	time_t t = (time_t)a->locked_until;

	if (flags & PAM_SILENT)
		return;
	/* A lock that ends on another day (unlock_time up to a week) says which day. */
	if (a->locked_until > 0 && localtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof(when),
		     a->locked_until - rc_now() > 20 * 3600 ? "%Y-%m-%d %H:%M" : "%H:%M", &tm) == 0)
		when[0] = '\0';
	if (when[0] != '\0')
		pam_error(pamh, "Too many wrong codes: try again after %s%s", when,
			  a->backup_locked ? "." : ", or use a backup code.");
	else
		pam_error(pamh, "Too many wrong codes: try again later%s",
			  a->backup_locked ? "." : ", or use a backup code.");
}

/* A name that is not enrolled, without nullok, after the prompt: unknown names get
 * PAM_USER_UNKNOWN, known ones PAM_AUTH_ERR, each with its log line. Virtual mail users
 * (user@domain) need not be in passwd. */
static int refuse_unenrolled(pam_handle_t *pamh, const char *user)
{
	if (strchr(user, '@') == NULL && !user_exists(user)) {
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused (unknown user)", user);
		return PAM_USER_UNKNOWN;
	}
	pam_syslog(pamh, LOG_NOTICE, "user %s: refused (no 2-step verification, no nullok)", user);
	return PAM_AUTH_ERR;
}

static int authenticate(pam_handle_t *pamh, int flags, const struct cfg *c, struct backend *b,
			const char *user, const char *service, const struct onefield_code *fwd)
{
	struct code_input in;
	struct login_attempt a;
	unsigned char reuse_hash[STORE_HASH_LEN];
	char *typed = NULL;
	const char *rhost = NULL, *reuse_host = NULL;
	int r = PAM_AUTH_ERR, known, enrolled, grace = 0, res, reuse_seconds = 0, deferred = 0;

	memset(&in, 0, sizeof(in));
	memset(&a, 0, sizeof(a));
	if (b->enrolled < 0 && !c->nullok) {
		/* Without nullok the answer would change nothing before the prompt (everyone is
		 * asked): the attempt answers "not enrolled" itself, and the outcome is the same
		 * (refuse_unenrolled), with one store read (root) or one exec (without root)
		 * fewer. */
		enrolled = LOGIN_OK;
		deferred = 1;
	} else {
		enrolled = backend_enrolled(pamh, b, user, service);
	}
	if (enrolled == LOGIN_ERROR) {
		r = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	/* Virtual mail users (user@domain) need not be in passwd; enrolled names are known. */
	known = enrolled == LOGIN_OK || strchr(user, '@') != NULL || user_exists(user);
	if (known && enrolled == LOGIN_NOT_ENROLLED && login_nullok_applies(c, rc_now(), &grace)) {
		if (grace && !(flags & PAM_SILENT))
			pam_info(pamh,
				 "Please enable 2-step verification with `pam-recover enable` "
				 "before the end of %s; after that day you cannot log in "
				 "without a verification code.",
				 c->enforce_after);
		pam_syslog(pamh, LOG_INFO, "user %s: no 2-step verification, nullok", user);
		/* forward_pass: the password module after us takes PAM_AUTHTOK (use_first_pass);
		 * make sure it is there, asked for as it would have been. */
		if (c->forward_pass && fwd == NULL) {
			const char *tok = NULL;
			r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
			if (r != PAM_SUCCESS) {
				r = conv_failed(r);
				goto out;
			}
		}
		r = PAM_IGNORE;
		goto out;
	}
	/* Everyone is asked, so the prompt tells nobody which names exist or are enrolled;
	 * on the forwarded_code line the code was typed already (split_pass kept it). */
	if (fwd != NULL) {
		typed = strdup(fwd->code);
		r = typed != NULL ? PAM_SUCCESS : PAM_BUF_ERR;
	} else {
		r = read_typed(pamh, c, &typed);
	}
	if (r != PAM_SUCCESS) {
		r = conv_failed(r);
		goto out;
	}
	if (!known) {
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused (unknown user)", user);
		r = PAM_USER_UNKNOWN;
		goto out;
	}
	if (enrolled == LOGIN_NOT_ENROLLED) {
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused (no 2-step verification, no nullok)",
			   user);
		r = PAM_AUTH_ERR;
		goto out;
	}
	r = PAM_AUTH_ERR;
	if (typed[0] == '\0' || strcmp(typed, SSHD_PLACEHOLDER) == 0 ||
	    make_candidates(c->forward_pass && fwd == NULL, typed, &in) != 0) {
		/* Deferred: the same refusal as without deferring (unknown and unenrolled names
		 * first); the store is asked on this rare path only. */
		if (deferred && !b->via_helper) {
			enrolled = backend_enrolled(pamh, b, user, service);
			if (enrolled == LOGIN_ERROR) {
				r = PAM_AUTHINFO_UNAVAIL;
				goto out;
			}
			if (enrolled == LOGIN_NOT_ENROLLED) {
				r = refuse_unenrolled(pamh, user);
				goto out;
			}
		}
		/* A mail client that sends the password alone lands here (after the password
		 * module accepted it, on the forwarded_code line). */
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused (no code given)", user);
		goto out;
	}
	if (fwd != NULL && onefield_reuse_hash(pamh, c, b, user, service, fwd, reuse_hash,
					       &reuse_seconds, &reuse_host) == 0) {
		a.reuse_hash = reuse_hash;
		a.reuse_seconds = reuse_seconds;
	}
	if (pam_get_item(pamh, PAM_RHOST, (const void **)&rhost) != PAM_SUCCESS)
		rhost = NULL;
	a.codes = in.codes;
	a.n = in.n;
	a.service = service;
	a.rhost = rhost;
	a.ruid = (long)getuid();
	res = backend_attempt(pamh, b, c, user, service, &a);
	if (deferred && res == LOGIN_NOT_ENROLLED) {
		r = refuse_unenrolled(pamh, user);
		goto out;
	}
	r = map_result(res);
	if (c->forward_pass && fwd == NULL) {
		/* Hand the password part on for pam_unix use_first_pass. */
		int sr = pam_set_item(pamh, PAM_AUTHTOK, in.pw[a.which]);

		if (sr != PAM_SUCCESS)
			r = sr;
	}
	if (r == PAM_SUCCESS && a.reused) {
		char host[128];

		rc_log_escape(reuse_host, host, sizeof(host));
		pam_syslog(pamh, LOG_INFO, "user %s: accepted (reuse within %d s from %s)", user,
			   reuse_seconds, host);
	} else if (a.device[0] != '\0') { /* the device whose code it was */
		char dev[STORE_DEVICE_MAX * 4 + 1];

		rc_log_escape(a.device, dev, sizeof(dev));
		pam_syslog(pamh, r == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE,
			   "user %s: %s (%s) device %s", user,
			   r == PAM_SUCCESS ? "accepted" : "refused", a.reason, dev);
	} else {
		pam_syslog(pamh, r == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE, "user %s: %s (%s)", user,
			   r == PAM_SUCCESS ? "accepted" : "refused", a.reason);
	}
	if (a.locked_now)
		pam_syslog(
			pamh, LOG_WARNING,
			"user %s: locked for %d s after %d failures (pam-recover admin unlock %s)",
			user, c->unlock_time, c->deny, user);
	if (a.unlocked_now)
		pam_syslog(pamh, LOG_NOTICE, "user %s: a backup code lifted the lock", user);
	if (res == LOGIN_LOCKED || a.locked_now)
		tell_locked(pamh, flags, &a);
out:
	rc_free_secret(typed);
	rc_wipe(&in, sizeof(in));
	RC_WIPE_ARRAY(reuse_hash);
	return r;
}

/* forwarded_code: after the password module; the code comes from split_pass's PAM data. */
static int forwarded_code(pam_handle_t *pamh, int flags, const struct cfg *c, struct backend *b,
			  const char *user, const char *service)
{
	const struct onefield_code *fwd = onefield_get(pamh);
	int r;

	if (fwd == NULL) {
		pam_syslog(pamh, LOG_ERR,
			   "user %s: forwarded_code found no code kept by split_pass: the stack of "
			   "service %s is wrong; put `auth requisite pam_recover.so split_pass` "
			   "before the password module (see pam_recover(8))",
			   user, service);
		return PAM_AUTHINFO_UNAVAIL;
	}
	r = authenticate(pamh, flags, c, b, user, service, fwd);
	onefield_drop(pamh);
	return r;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct cfg c;
	struct backend b;
	const char *user = NULL, *service = NULL;
	char err[512], canon[129];
	int r = PAM_AUTHINFO_UNAVAIL, oath;

	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c)); /* cfg_free at out: is fine on it */
	oath = totp_init();
	if (oath != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot initialise liboath, refusing");
		goto out;
	}
	if (pam_get_item(pamh, PAM_SERVICE, (const void **)&service) != PAM_SUCCESS ||
	    service == NULL)
		service = "";
	/* Without root the user comes first: one back end answers the configuration and
	 * whether the user is enrolled, and then the login's decision (mode hold). */
	if (geteuid() != 0) {
		r = pam_get_user(pamh, &user, NULL);
		if (r != PAM_SUCCESS || user == NULL || user[0] == '\0') {
			r = r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_USER_UNKNOWN;
			goto out;
		}
	}
	/* backend_config initialises c itself (defaults, file or what the back end says of it,
	 * arguments, validation). */
	if (backend_config(pamh, &b, &c, argc, argv,
			   user != NULL && rc_user_name_ok(user) ? user : NULL, service, err,
			   sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "configuration error, refusing: %s", err);
		r = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	r = pam_get_user(pamh, &user, NULL);
	if (r != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		r = r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_USER_UNKNOWN;
		goto out;
	}
	/* One user, one name: from here on the canonical form (user_name_case), which keys
	 * every store row; PAM_USER itself is left as the application gave it. */
	if (rc_user_name_canonical(c.user_name_case, user, canon, sizeof(canon)) != 0 ||
	    !rc_user_name_ok(canon)) {
		char esc[160];

		rc_log_escape(user, esc, sizeof(esc));
		pam_syslog(pamh, LOG_NOTICE, "refused a malformed user name '%s'", esc);
		r = PAM_USER_UNKNOWN;
		goto out;
	}
	user = canon;
	r = backend_open(pamh, &c, &b);
	if (r != PAM_SUCCESS)
		goto out;
	if (c.app_passwords) {
		r = check_app_password(pamh, &c, &b, user, service);
	} else if (c.split_pass) {
		r = onefield_split(pamh, &c, &b, user, service);
	} else if (c.forwarded_code) {
		r = forwarded_code(pamh, flags, &c, &b, user, service);
	} else {
		if (c.forward_pass)
			pam_syslog(
				pamh, LOG_NOTICE,
				"service %s: forward_pass checks the code before the password, "
				"so anyone who knows a user name can lock that user out; use "
				"split_pass and forwarded_code around the password module instead "
				"(see pam_recover(8))",
				service);
		r = authenticate(pamh, flags, &c, &b, user, service, NULL);
	}
out:
	backend_close(pamh, &b);
	cfg_free(&c);
	if (oath == 0)
		totp_done();
	return r;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
