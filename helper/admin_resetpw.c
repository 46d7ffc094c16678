/*
 * `pam-recover admin reset-password USER [--suggest]` (root): seed 004's "Change Password"
 * for an administrator. The new password is typed twice (or, with --suggest, made by
 * policy_suggest and shown once), checked against the password policy, and set through
 * setpw (the PAM password stack of password_service, or password_command). 2FA and the
 * recovery contacts are left as they are. One audit event; never the password.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "helper.h"
#include "out.h"
#include "policy.h"
#include "reset/setpw.h"
#include "tty.h"

#define PW_BUF 1024 /* TTY_LINE_MAX */

static int ask_password(const struct cfg *c, const char *user, char *pw, size_t n)
{
	char again[PW_BUF], policy[POLICY_MSG_MAX], msg[POLICY_MSG_MAX];
	int rc;

	if (policy_describe(c, policy, sizeof(policy)) == 0 && !out_json_mode()) {
		char note[POLICY_MSG_MAX + 32];
		snprintf(note, sizeof(note), "Password policy: %s\n", policy);
		tty_note(note);
	}
	if ((rc = tty_ask("password", "New password: ", 1, pw, n)) != HX_OK)
		goto out;
	if (!out_json_mode()) {
		if ((rc = tty_ask("password", "Retype new password: ", 1, again, sizeof(again))) !=
		    HX_OK)
			goto out;
		if (strcmp(pw, again) != 0) {
			rc = out_fail(HX_DATAERR, "admin reset-password: the two passwords differ; "
						  "nothing changed");
			goto out;
		}
	}
	unsigned flaws = policy_check(c, user, pw);
	if (flaws != 0) {
		if (policy_message(c, flaws, msg, sizeof(msg)) != 0)
			snprintf(msg, sizeof(msg), "the password does not meet the policy");
		rc = out_fail(HX_DATAERR, "admin reset-password: %s Nothing changed.", msg);
		goto out;
	}
	rc = HX_OK;
out:
	RC_WIPE_ARRAY(again);
	if (rc != HX_OK)
		rc_wipe(pw, n);
	return rc;
}

int admin_reset_password(struct hctx *h, int argc, char **argv)
{
	const struct hx_opt opts[] = {{"suggest", NULL, NULL}};
	struct hx_opt o[1];
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;
	char *pos[1];
	char pw[PW_BUF], err[SETPW_ERR_MAX];
	int suggest = 0, done = HX_USAGE, rc, have_cfg = 0;
	const char *user;

	memset(&k, 0, sizeof(k));
	pw[0] = '\0';
	o[0] = opts[0];
	o[0].flag = &suggest;
	if (h->ruid != 0)
		return out_fail(HX_NOPERM, "admin reset-password: only root may do this");
	if (admin_parse(h, "reset-password", argc, argv, o, 1, pos, 1, &done) != 0)
		return done;
	user = pos[0];
	if ((rc = hx_load_config(h, &c)) != 0)
		return rc;
	have_cfg = 1;
	if (hx_user_canonical(&c, pos[0]) != 0 ||
	    (rc = hx_check_target_user("admin reset-password", user)) != 0) {
		rc = rc != 0 ? rc : HX_DATAERR;
		goto out;
	}
	if ((rc = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0) {
		s = NULL;
		goto out;
	}
	if (suggest) {
		if (policy_suggest(&c, user, pw, sizeof(pw)) != 0) {
			rc = out_fail(HX_SOFTWARE, "admin reset-password: cannot make a password");
			goto out;
		}
	} else if ((rc = ask_password(&c, user, pw, sizeof(pw))) != HX_OK)
		goto out;

	rc = setpw_set(&c, user, pw, err, sizeof(err));
	if (rc != HX_OK) {
		if (store_audit_add(s, user, (long)h->ruid, "admin-reset-password-failed", "admin",
				    err) != STORE_OK)
			out_warn("cannot write the audit event: %s", store_errmsg(s));
		rc = out_fail(rc, "admin reset-password: %s; nothing changed", err);
		goto out;
	}
	/* Strings typed with the old password are not accepted again (reuse windows). */
	if (store_reuse_clear(s, user) != STORE_OK)
		out_warn("the password is set, but its reuse windows could not be ended: %s",
			 store_errmsg(s));
	if (store_audit_add(s, user, (long)h->ruid, "admin-reset-password", "admin",
			    suggest ? "suggested password" : "typed password") != STORE_OK)
		out_warn("the password is set, but the audit event could not be written: %s",
			 store_errmsg(s));
	syslog(LOG_NOTICE, "admin reset-password: ruid=%ld set the password of %s", (long)h->ruid,
	       user);
	if (out_json_mode()) {
		struct json_object *j = oj_object();
		oj_bool(j, "ok", 1);
		oj_str(j, "user", user);
		if (suggest)
			oj_str(j, "password", pw);
		out_json(j);
	} else if (suggest) {
		printf("The new password of %s is:\n\n    %s\n\nIt is shown only now.\n", user, pw);
	} else
		out_info("The password of %s is set.", user);
	rc = HX_OK;
out:
	RC_WIPE_ARRAY(pw);
	tty_done();
	hx_close(&k, s);
	if (have_cfg)
		cfg_free(&c);
	return rc;
}
