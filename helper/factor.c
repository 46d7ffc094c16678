/*
 * The second factor proven before a change to second-factor material or recovery contacts
 * (factor.h states the rule): a current code from the app, or, for enable and disable with
 * --lost-app, a backup code; then, after such a change, a notice to the recovery contacts.
 */
#include "factor.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "channel/channel.h"
#include "contacts.h"
#include "login.h"
#include "out.h"
#include "tty.h"

#define FACTOR_CODE_MAX 64
#define NOTICE_SUBJECT "2-step verification changed with a backup code"

/* A typed value that has the shape of a backup code and not of a code from the app. */
static int looks_like_backup(const char *typed, int digits)
{
	char norm[FACTOR_CODE_MAX];
	int r = 0;

	if (secret_normalise(typed, norm, sizeof(norm)) == 0)
		r = strlen(norm) == SECRET_BACKUP_DIGITS && SECRET_BACKUP_DIGITS != digits &&
		    strspn(norm, "0123456789") == SECRET_BACKUP_DIGITS;
	RC_WIPE_ARRAY(norm);
	return r;
}

int factor_prove(const struct hctx *h, struct uverb *u, const char *field, const char *root_prompt,
		 unsigned flags, const char *unchanged, int *by_backup)
{
	struct store_totp t;
	char code[FACTOR_CODE_MAX];
	const char *reason = NULL, *prompt;
	unsigned accept;
	int r, lr, locked_now = 0, gr;

	memset(&t, 0, sizeof(t));
	code[0] = '\0';
	if (by_backup != NULL)
		*by_backup = 0;
	gr = store_totp_get(u->store, u->user, &t);
	if (gr == STORE_NOTFOUND) {
		r = HX_OK; /* 2-step verification is off: the password is the proof */
		goto out;
	}
	if (gr != STORE_OK) {
		r = uv_store_fail(u);
		goto out;
	}
	if (h->ruid == 0 && root_prompt == NULL) {
		r = HX_OK; /* root, as before */
		goto out;
	}
	if (h->ruid == 0) {
		accept = LOGIN_ACCEPT_TOTP | LOGIN_ACCEPT_BACKUP;
		prompt = root_prompt;
	} else if (flags & FACTOR_LOST_APP) {
		accept = LOGIN_ACCEPT_BACKUP;
		prompt = "The app is lost: one of your backup codes: ";
	} else {
		accept = LOGIN_ACCEPT_TOTP;
		prompt = "Current code from the app: ";
	}
	if (!out_json_mode() && h->ruid != 0) {
		if (flags & FACTOR_LOST_APP)
			out_info(
				"2-step verification is on for %s: as the app is lost, give one of "
				"your backup codes.",
				u->user);
		else
			out_info(
				"2-step verification is on for %s: %s, give the code the app shows "
				"now.",
				u->user,
				strcmp(u->name, "enable") == 0 ? "to replace it" : "first");
	}
	if ((r = tty_ask(field, prompt, 1, code, sizeof(code))) != HX_OK)
		goto out;
	lr = login_verify_code_as(&u->cfg, u->store, &u->key, u->user, code, accept, rc_now(),
				  &locked_now, &reason);
	if (lr == LOGIN_OK || lr == LOGIN_OK_BACKUP) {
		if (by_backup != NULL)
			*by_backup = lr == LOGIN_OK_BACKUP;
		syslog(LOG_INFO, "%s: user=%s ruid=%ld second factor proven (%s)", u->name, u->user,
		       (long)h->ruid, lr == LOGIN_OK ? "code" : "backup code");
		r = HX_OK;
		goto out;
	}
	if (lr == LOGIN_NOT_ENROLLED) {
		r = HX_OK; /* turned off meanwhile: nothing left to protect */
		goto out;
	}
	uv_log(h, u, "factor-refused", login_result_name(lr));
	if (lr == LOGIN_WRONG && !locked_now && accept == LOGIN_ACCEPT_TOTP) {
		const int backup = looks_like_backup(code, t.digits);
		r = out_fail(HX_WRONG, "%s: %s; %s. %s", u->name,
			     backup ? "a backup code is not enough here: give the code the app "
				      "shows now"
				    : "wrong code",
			     unchanged,
			     "Check that the time on your phone is right (set it automatically). "
			     "Lost the phone? Run `pam-recover enable --lost-app` (a new phone) or "
			     "`pam-recover disable --lost-app` with one of your backup codes");
		goto out;
	}
	if (lr == LOGIN_WRONG && !locked_now && accept == LOGIN_ACCEPT_BACKUP) {
		r = out_fail(HX_WRONG, "%s: that is not an unused backup code; %s", u->name,
			     unchanged);
		goto out;
	}
	r = uv_code_refused(u, lr, locked_now, reason, unchanged);
out:
	RC_WIPE_ARRAY(code);
	rc_wipe(&t, sizeof(t));
	return r;
}

int factor_notify(const struct hctx *h, struct uverb *u, const char *what)
{
	char site[256], when[64], text[1600], shorttext[480], value[CONTACT_VALUE_MAX], err[512];
	const char *name = hx_issuer(&u->cfg, site, sizeof(site));
	int told = 0;

	hx_time_human(rc_now(), when, sizeof(when));
	if (rc_snprintf(text, sizeof(text),
			"On %s, %s for the account %s on %s, proven with the password and a "
			"backup code because the authenticator app was reported lost. The other "
			"backup codes no longer work.\n\n"
			"If you did not do this, someone knows your password and has one of your "
			"backup codes: contact %s at once.\n",
			when, what, u->user, name,
			u->cfg.support_contact != NULL ? u->cfg.support_contact
						       : "technical support") < 0 ||
	    rc_snprintf(shorttext, sizeof(shorttext),
			"%s: %s for %s with a backup code (app reported lost) on %s. Not you? "
			"Contact support at once.",
			name, what, u->user, when) < 0) {
		syslog(LOG_ERR, "%s: user=%s the notice does not fit", u->name, u->user);
		return 0;
	}
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++) {
		int verified = 0;
		const char *chan = channel_name(kind);
		if (contact_read(u->store, &u->key, u->user, kind, value, sizeof(value),
				 &verified) != HX_OK ||
		    !verified || !channel_configured(&u->cfg, kind, NULL, 0))
			continue;
		int sr = channel_send(&u->cfg, kind, value, NOTICE_SUBJECT,
				      kind == METHOD_EMAIL ? text : shorttext, err, sizeof(err));
		if (hx_txn_begin(u->store) == 0)
			(void)hx_txn_end(u->store, uv_audit(h, u,
							    sr == HX_OK ? "factor-notice-sent"
									: "factor-notice-failed",
							    sr == HX_OK ? chan : err) == 0);
		if (sr == HX_OK)
			told++;
		else
			syslog(LOG_WARNING, "%s: user=%s notice by %s not sent: %s", u->name,
			       u->user, chan, err);
	}
	RC_WIPE_ARRAY(value);
	return told;
}

void factor_notified(int told)
{
	if (told > 0 && !out_json_mode())
		out_info("Your recovery contacts were told of this change.");
}
