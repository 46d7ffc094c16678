/*
 * `pam-recover disable`: the password, then a current code from the app or a backup code
 * (checked like a login: counted, replay-protected, lockable); then the TOTP secret and the
 * backup codes are removed in one transaction with an audit event.
 */
#include <stdio.h>
#include <string.h>

#include "factor.h"
#include "helper.h"
#include "identity.h"
#include "login.h"
#include "out.h"
#include "uverb.h"


static const char disable_usage[] =
	"Usage: pam-recover disable [--user USER] [--json]\n"
	"\n"
	"Turn off 2-step verification for your account: enter your password, then a current\n"
	"code from the app (with --lost-app: one of your backup codes, and your recovery\n"
	"contacts are told). The secret and the backup codes are removed; app passwords stay\n"
	"(see `pam-recover app-password list`). Turn it on again any time with\n"
	"`pam-recover enable`.\n"
	"\n"
	"  --lost-app   the app is lost: give a backup code instead of a code from the app\n"
	"  --user USER  act for USER (root only; no password is asked, a code still is;\n"
	"               `pam-recover admin disable-2fa USER` needs none)\n"
	"  --json       JSON output; input objects on stdin: {\"password\":\"...\"} (non-root)\n"
	"               and {\"code\":\"...\"}\n"
	"\n"
	"Exit status: 0 turned off (or was off), 1 wrong password or code, 75 locked after too\n"
	"many wrong tries, 77 permission denied; see pam-recover(8).\n";

static int say_off(const struct uverb *u, int changed, const char *how)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_bool(o, "totp_enabled", 0);
		oj_bool(o, "changed", changed);
		if (how != NULL)
			oj_str(o, "method", how);
		out_json(o);
	} else if (changed) {
		out_info("2-step verification is off for %s: the secret and the backup codes are "
			 "removed.",
			 u->user);
		out_info("Remove the entry from the app. To turn it on again, run "
			 "`pam-recover enable`.");
	} else
		out_info("2-step verification is already off for %s; nothing changed.", u->user);
	return HX_OK;
}

int cmd_disable(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	const char *how;
	int r, done = HX_USAGE, npos = 0, lr, dr = STORE_ERR, pr = STORE_ERR;
	int lost_app = 0, by_backup = 0;
	const struct hx_opt opts[] = {{"lost-app", NULL, &lost_app}};

	memset(&u, 0, sizeof(u));
	u.name = "disable";
	if (uv_parse(h, &u, disable_usage, argc, argv, opts, 1, NULL, 0, 0, &npos, &done) != 0)
		return done;
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	lr = login_enrolled(u.store, u.user);
	if (lr == LOGIN_NOT_ENROLLED) {
		r = say_off(&u, 0, NULL);
		goto out;
	}
	if (lr != LOGIN_OK) {
		r = uv_store_fail(&u);
		goto out;
	}
	if ((r = identity_confirm(h, &u.cfg, u.store, u.user)) != HX_OK)
		goto out;
	/* A current code from the app; a backup code only with --lost-app (factor.h). */
	if ((r = factor_prove(h, &u, "code", "Code from the app, or a backup code: ",
			      lost_app ? FACTOR_LOST_APP : 0, "2-step verification stays on",
			      &by_backup)) != HX_OK)
		goto out;
	lr = by_backup ? LOGIN_OK_BACKUP : LOGIN_OK;
	how = lr == LOGIN_OK ? "code" : "backup-code";

	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	dr = store_totp_delete(u.store, u.user);
	int ok = (dr == STORE_OK || dr == STORE_NOTFOUND) &&
		 ((pr = store_pending_delete(u.store, u.user)) == STORE_OK || pr == STORE_NOTFOUND) &&
		 uv_audit(h, &u, "disable", lr == LOGIN_OK ? "with a code from the app"
							   : "with a backup code") == 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	uv_log(h, &u, "disable", how);
	r = say_off(&u, dr == STORE_OK, how);
	if (by_backup && h->ruid != 0 && dr == STORE_OK)
		factor_notify(h, &u, "2-step verification was turned off");
out:
	uv_close(&u);
	return r;
}
