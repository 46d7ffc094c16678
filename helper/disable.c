/*
 * `pam-recover disable`: the password, then a current code from the app or a backup code
 * (checked like a login: counted, replay-protected, lockable); then the TOTP secret and the
 * backup codes are removed in one transaction with an audit event.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "factor.h"
#include "helper.h"
#include "identity.h"
#include "login.h"
#include "out.h"
#include "tty.h"
#include "uverb.h"

#define DISABLE_NAMES_MAX 256 /* app password names listed in the question */

static const char disable_usage[] =
	"Usage: pam-recover disable [--user USER] [--json]\n"
	"\n"
	"Turn off 2-step verification for your account: enter your password, then a current\n"
	"code from the app (with --lost-app: one of your backup codes, and your recovery\n"
	"contacts are told). Every device and the backup codes are removed. App passwords are\n"
	"deleted too by default, as mail providers do when 2-step verification goes off (they\n"
	"stood in for password + code); on a terminal you are asked, with deleting as the\n"
	"answer to Enter. Turn it on again any time with `pam-recover enable`.\n"
	"\n"
	"  --lost-app              the app is lost: give a backup code instead of a code\n"
	"                          from the app\n"
	"  --keep-app-passwords    keep the app passwords working (not asked)\n"
	"  --revoke-app-passwords  delete them (not asked; the default without a terminal)\n"
	"  --user USER  act for USER (root only; no password is asked, a code still is;\n"
	"               `pam-recover admin disable-2fa USER` needs none)\n"
	"  --json       JSON output; input objects on stdin: {\"password\":\"...\"} (non-root)\n"
	"               and {\"code\":\"...\"}\n"
	"\n"
	"Exit status: 0 turned off (or was off), 1 wrong password or code, 75 locked after too\n"
	"many wrong tries, 77 permission denied; see pam-recover(8).\n";

struct apps {
	int count;
	char names[DISABLE_NAMES_MAX];
};

static int app_one(void *vctx, const struct store_app_password *a)
{
	struct apps *ap = vctx;
	size_t used = strlen(ap->names);

	ap->count++;
	if (used + strlen(a->name) + 3 < sizeof(ap->names) &&
	    rc_snprintf(ap->names + used, sizeof(ap->names) - used, "%s%s", used > 0 ? ", " : "",
			a->name) < 0)
		ap->names[used] = '\0';
	return 0;
}

/* Delete the app passwords too? The options decide; else, when standard input is a terminal,
 * the user (Enter: yes); else yes. 1 revoke, 0 keep, or -1 with *r set (no answer). */
static int ask_revoke(const struct uverb *u, const struct apps *ap, int keep, int revoke, int *r)
{
	char answer[16];

	if (keep || revoke)
		return revoke;
	/* Only a person at a terminal is asked; a script that pipes the code in gets the
	 * default without a question it would not answer. */
	if (out_json_mode() || !isatty(STDIN_FILENO))
		return 1;
	out_info("%s has %d app password%s (%s). They stood in for password + code; with 2-step",
		 u->user, ap->count, ap->count == 1 ? "" : "s", ap->names);
	out_info("verification off they would still work. Delete them too, as mail providers do?");
	for (;;) {
		if ((*r = tty_ask("revoke_app_passwords", "Delete the app passwords? [Y/n] ", 0,
				  answer, sizeof(answer))) != HX_OK)
			return -1;
		if (answer[0] == '\0' || strcasecmp(answer, "y") == 0 ||
		    strcasecmp(answer, "yes") == 0)
			return 1;
		if (strcasecmp(answer, "n") == 0 || strcasecmp(answer, "no") == 0)
			return 0;
		tty_note("Please answer y or n.");
	}
}

static int say_off(const struct uverb *u, int changed, const char *how, int apps, int revoked)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_bool(o, "totp_enabled", 0);
		oj_bool(o, "changed", changed);
		if (how != NULL)
			oj_str(o, "method", how);
		if (changed) {
			oj_int(o, "app_passwords_revoked", revoked ? apps : 0);
			oj_int(o, "app_passwords_kept", revoked ? 0 : apps);
		}
		out_json(o);
	} else if (changed) {
		out_info("2-step verification is off for %s: every device and the backup codes are "
			 "removed.",
			 u->user);
		if (apps > 0 && revoked)
			out_info("The app passwords are deleted: mail programs that used them ask "
				 "for the password now.");
		else if (apps > 0)
			out_info("The app passwords still work (`pam-recover app-password list`; "
				 "revoke each with `pam-recover app-password revoke NAME`).");
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
	struct apps ap;
	int r, done = HX_USAGE, npos = 0, lr, dr = STORE_ERR, pr = STORE_ERR, told = 0;
	int keep = 0, revoke = 0, revoking = 0, ar = STORE_OK, lost_app = 0, by_backup = 0;
	const struct hx_opt opts[] = {{"lost-app", NULL, &lost_app},
				      {"keep-app-passwords", NULL, &keep},
				      {"revoke-app-passwords", NULL, &revoke}};

	memset(&u, 0, sizeof(u));
	memset(&ap, 0, sizeof(ap));
	u.name = "disable";
	if (uv_parse(h, &u, disable_usage, argc, argv, opts, 3, NULL, 0, 0, &npos, &done) != 0)
		return done;
	if (keep && revoke)
		return out_fail(HX_USAGE,
				"disable: --keep-app-passwords or --revoke-app-passwords, "
				"not both");
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	lr = login_enrolled(u.store, u.user);
	if (lr == LOGIN_NOT_ENROLLED) {
		r = say_off(&u, 0, NULL, 0, 0);
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
	if (store_app_list(u.store, u.user, app_one, &ap) < 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	if (ap.count > 0 && (revoking = ask_revoke(&u, &ap, keep, revoke, &r)) < 0)
		goto out;

	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	dr = store_totp_delete(u.store, u.user);
	int ok = (dr == STORE_OK || dr == STORE_NOTFOUND) &&
		 ((pr = store_pending_delete(u.store, u.user)) == STORE_OK ||
		  pr == STORE_NOTFOUND) &&
		 (!revoking || (ar = store_app_revoke_all(u.store, u.user)) == STORE_OK ||
		  ar == STORE_NOTFOUND) &&
		 uv_audit(h, &u, "disable",
			  lr == LOGIN_OK
				  ? (revoking ? "with a code from the app, app passwords revoked"
					      : "with a code from the app")
				  : (revoking ? "with a backup code, app passwords revoked"
					      : "with a backup code")) == 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	uv_log(h, &u, "disable", how);
	if (by_backup && h->ruid != 0 && dr == STORE_OK)
		told = factor_notify(h, &u, "2-step verification was turned off");
	r = say_off(&u, dr == STORE_OK, how, ap.count, revoking);
	factor_notified(told);
out:
	uv_close(&u);
	return r;
}
