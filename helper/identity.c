/*
 * Who a user verb acts on, and "enter your password and press Confirm" (seed 002): the
 * caller's current password through the PAM auth + account stack of the service
 * `pam-recover`, with failures counted per user before each check.
 */
#include "identity.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_appl.h>

#include "harden.h"
#include "out.h"
#include "pamconv.h"
#include "tty.h"

#define CONFIRM_SERVICE "pam-recover"
#define PASSWORD_MAX 512 /* PAM_MAX_RESP_SIZE */
#define CONFIRM_WINDOW_DEFAULT 900

int identity_refuse_other(const struct hctx *h, const char *opt_user)
{
	if (opt_user == NULL || h->ruid == 0 || strcmp(opt_user, h->caller) == 0)
		return HX_OK;
	/* Anything but one's own account: drop root for good, then refuse. */
	if (harden_drop_privileges(h->ruid, h->rgid) != 0)
		out_warn("cannot drop privileges");
	syslog(LOG_WARNING, "refused: ruid=%ld tried --user for another account", (long)h->ruid);
	return out_fail(HX_NOPERM, "--user: only root may act for another account; "
				   "run the command without --user to manage your own");
}

int identity_target(const struct hctx *h, const struct cfg *c, const char *opt_user, char *out,
		    size_t n)
{
	const struct passwd *pw;
	const char *name;
	int r = identity_refuse_other(h, opt_user);

	if (r != HX_OK)
		return r;
	if (opt_user != NULL) {
		r = hx_check_target_user("--user", opt_user);
		if (r != 0)
			return r;
		name = opt_user;
	} else {
		pw = getpwuid(h->ruid);
		if (pw == NULL || pw->pw_name == NULL)
			return out_fail(HX_NOUSER, "your uid %ld has no entry in the user database",
					(long)h->ruid);
		if (!rc_user_name_ok(pw->pw_name)) {
			char esc[HX_USER_MAX];
			rc_log_escape(pw->pw_name, esc, sizeof(esc));
			return out_fail(HX_DATAERR,
					"your user name \"%s\" is not one this tool "
					"accepts; ask the administrator",
					esc);
		}
		name = pw->pw_name;
	}
	if (rc_snprintf(out, n, "%s", name) < 0 || hx_user_canonical(c, out) != 0)
		return out_fail(HX_DATAERR, "the user name is too long");
	return HX_OK;
}

struct conv_data {
	const char *password;
	int used;
};

/* Answer the first hidden prompt with the password typed earlier; show messages. */
static int answer(void *vd, const struct pam_message *m, struct pam_response *rep)
{
	struct conv_data *d = vd;

	switch (m->msg_style) {
	case PAM_PROMPT_ECHO_OFF:
		/* One secret only: a stack that asks for more is not the password stack. */
		if (d->used)
			return -1;
		rep->resp = strdup(d->password);
		if (rep->resp == NULL)
			return -1;
		d->used = 1;
		return 0;
	case PAM_ERROR_MSG:
	case PAM_TEXT_INFO:
		if (!out_json_mode() && m->msg != NULL) {
			char esc[256];
			rc_log_escape(m->msg, esc, sizeof(esc));
			fprintf(stderr, "%s\n", esc);
		}
		return 0;
	default: /* PAM_PROMPT_ECHO_ON (the user name is set), binary prompts */
		return -1;
	}
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	return hx_conv_run(n, msg, resp, answer, appdata);
}

/* pam_authenticate + pam_acct_mgmt. HX_OK, HX_WRONG, HX_NOPERM or HX_SOFTWARE. */
static int check_password(const struct hctx *h, const char *user, const char *password)
{
	struct conv_data d = {password, 0};
	const struct pam_conv pc = {conv, &d};
	pam_handle_t *ph = NULL;
	int pr, r = HX_SOFTWARE;

	pr = pam_start(CONFIRM_SERVICE, user, &pc, &ph);
	if (pr != PAM_SUCCESS) {
		ph = NULL;
		r = out_fail(HX_SOFTWARE, "cannot start PAM for the service %s", CONFIRM_SERVICE);
		goto out;
	}
	if ((pr = pam_set_item(ph, PAM_RUSER, h->caller)) != PAM_SUCCESS)
		goto pam_err;
	pr = pam_authenticate(ph, PAM_DISALLOW_NULL_AUTHTOK);
	if (pr == PAM_AUTH_ERR || pr == PAM_USER_UNKNOWN || pr == PAM_CRED_INSUFFICIENT ||
	    pr == PAM_MAXTRIES) {
		r = HX_WRONG;
		goto out;
	}
	if (pr != PAM_SUCCESS)
		goto pam_err;
	/* The helper runs as root all through, so a module that passes root (pam_rootok) would
	 * pass every caller: a stack that never asked for the password proves nothing. */
	if (!d.used) {
		syslog(LOG_ERR,
		       "confirm: user=%s ruid=%ld: the PAM service %s accepted without "
		       "asking for the password; refused (no pam_rootok or pam_permit "
		       "before the password module there)",
		       user, (long)h->ruid, CONFIRM_SERVICE);
		r = out_fail(HX_CONFIG,
			     "the PAM service %s did not ask for the password; ask the "
			     "administrator; nothing changed",
			     CONFIRM_SERVICE);
		goto out;
	}
	pr = pam_acct_mgmt(ph, PAM_DISALLOW_NULL_AUTHTOK);
	if (pr == PAM_NEW_AUTHTOK_REQD) {
		r = out_fail(HX_NOPERM, "your password has expired: change it with passwd(1), "
					"then run this command again; nothing changed");
		goto out;
	}
	if (pr == PAM_ACCT_EXPIRED || pr == PAM_PERM_DENIED || pr == PAM_AUTH_ERR ||
	    pr == PAM_USER_UNKNOWN) {
		r = out_fail(HX_NOPERM,
			     "the system refuses this account (%s); ask the "
			     "administrator; nothing changed",
			     pam_strerror(ph, pr));
		goto out;
	}
	if (pr != PAM_SUCCESS)
		goto pam_err;
	r = HX_OK;
	goto out;
pam_err:
	r = out_fail(HX_SOFTWARE, "cannot check the password (PAM service %s: %s); nothing changed",
		     CONFIRM_SERVICE, pam_strerror(ph, pr));
out:
	if (ph != NULL)
		pam_end(ph, pr);
	return r;
}

int identity_confirm(const struct hctx *h, const struct cfg *c, struct store *s, const char *user)
{
	char key[HX_USER_MAX + 16], prompt[HX_USER_MAX + 32];
	char password[PASSWORD_MAX + 1];
	int window = c->unlock_time > 0 ? c->unlock_time : CONFIRM_WINDOW_DEFAULT;
	int count = 0, r = HX_SOFTWARE;
	int64_t now = rc_now();

	password[0] = '\0';
	if (h->ruid == 0)
		return HX_OK; /* root, on its own account or with --user */
	if (rc_snprintf(key, sizeof(key), "confirm:%s", user) < 0 ||
	    rc_snprintf(prompt, sizeof(prompt), "Password for %s: ", user) < 0)
		return out_fail(HX_SOFTWARE, "the user name is too long");

	/* Locked already: do not ask. */
	if (store_counter_get(s, key, now, window, &count) != STORE_OK) {
		r = out_fail(HX_IOERR, "cannot read the store: %s; nothing changed",
			     store_errmsg(s));
		goto out;
	}
	if (c->deny > 0 && count >= c->deny)
		goto locked;

	if ((r = tty_ask("password", prompt, 1, password, sizeof(password))) != HX_OK)
		goto out;

	/* Count the try before checking it, so parallel callers cannot race past the limit. */
	if (store_counter_hit(s, key, rc_now(), window, &count) != STORE_OK) {
		r = out_fail(HX_IOERR, "cannot write the store: %s; nothing changed",
			     store_errmsg(s));
		goto out;
	}
	if (c->deny > 0 && count > c->deny)
		goto locked;

	r = check_password(h, user, password);
	if (r == HX_OK) {
		if (store_counter_clear(s, key) != STORE_OK)
			out_warn("could not reset the count of wrong passwords: %s",
				 store_errmsg(s));
		syslog(LOG_INFO, "confirm: user=%s ruid=%ld password accepted", user,
		       (long)h->ruid);
	} else if (r == HX_WRONG) {
		syslog(LOG_NOTICE, "confirm: user=%s ruid=%ld wrong password (%d in a row)", user,
		       (long)h->ruid, count);
		if (c->deny > 0 && count >= c->deny)
			r = out_fail(HX_WRONG,
				     "wrong password; nothing changed. That was the last "
				     "try: wait %d minute%s before trying again",
				     (window + 59) / 60, (window + 59) / 60 == 1 ? "" : "s");
		else if (c->deny > 0)
			r = out_fail(HX_WRONG,
				     "wrong password; nothing changed. Run the command "
				     "again (%d tr%s left)",
				     c->deny - count, c->deny - count == 1 ? "y" : "ies");
		else
			r = out_fail(HX_WRONG, "wrong password; nothing changed. Run the command "
					       "again");
	}
	goto out;
locked:
	syslog(LOG_NOTICE, "confirm: user=%s ruid=%ld refused: too many wrong passwords", user,
	       (long)h->ruid);
	r = out_fail(HX_TEMPFAIL,
		     "too many wrong passwords for %s: try again in %d minute%s; "
		     "nothing changed",
		     user, (window + 59) / 60, (window + 59) / 60 == 1 ? "" : "s");
out:
	RC_WIPE_ARRAY(password);
	return r;
}
