/*
 * The end of a reset: the new password (twice, policy-checked) set through the PAM
 * password stack or password_command; then in one transaction 2FA cleared (secret, backup
 * codes, a pending re-enrolment; app passwords unless reset_clear_app_passwords = no) and
 * every live code revoked; then a notice to every verified recovery contact (what changed,
 * when and how, never the password), post_reset_command, and the done step.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "channel.h"
#include "contacts.h"
#include "out.h"
#include "policy.h"
#include "setpw.h"

#define PASSWORD_BUF (POLICY_MAX_BYTES + 2) /* one more byte shows "too long" */
#define NOTICE_SUBJECT "Your password was reset"

/* Ask until a password passes the policy and the system takes it. */
static int choose_and_set(struct reset *r)
{
	char pw[RESET_INPUT_MAX], again[RESET_INPUT_MAX], policy[POLICY_MSG_MAX];
	char suggestion[POLICY_SUGGEST_MAX], msg[POLICY_MSG_MAX + 256], err[SETPW_ERR_MAX];
	int rc = HX_DATAERR;

	pw[0] = again[0] = suggestion[0] = '\0';
	if (policy_describe(&r->cfg, policy, sizeof(policy)) != 0)
		policy[0] = '\0';
	for (int tries = 0; tries < RESET_PASSWORD_TRIES; tries++) {
		struct json_object *st;
		if (policy_suggest(&r->cfg, r->user, suggestion, sizeof(suggestion)) != 0)
			suggestion[0] = '\0';
		if (rc_snprintf(msg, sizeof(msg), "Choose a new password. %s%s%s", policy,
				suggestion[0] ? " A strong one, if you like: " : "", suggestion) < 0)
			snprintf(msg, sizeof(msg), "Choose a new password.");
		st = reset_step("password", msg);
		oj_str(st, "policy", policy);
		if (suggestion[0])
			oj_str(st, "suggestion", suggestion);
		if (++r->asks > RESET_MAX_ASKS) {
			json_object_put(st);
			reset_error(r, "too_many_steps", 1, "Too many steps in one run; the password "
							   "was not changed.");
			rc = HX_TEMPFAIL;
			goto out;
		}
		rc = r->ui->ask(r, st, "password", "New password: ", 1, pw, sizeof(pw),
				"Retype new password: ", again, sizeof(again));
		RC_WIPE_ARRAY(suggestion);
		if (rc != HX_OK)
			goto out;
		if (strcmp(pw, again) != 0) {
			reset_error(r, "mismatch", 0, "The two passwords differ; nothing changed.");
			continue;
		}
		unsigned flaws = policy_check(&r->cfg, r->user, pw);
		if (flaws != 0) {
			if (policy_message(&r->cfg, flaws, msg, sizeof(msg)) != 0)
				snprintf(msg, sizeof(msg), "The password does not meet the policy.");
			reset_audit(r, "reset-password-weak", NULL, msg);
			reset_error(r, "weak_password", 0, "%s", msg);
			continue;
		}
		rc = setpw_set(&r->cfg, r->user, pw, err, sizeof(err));
		if (rc == HX_OK) {
			reset_audit(r, "reset-password-set", NULL,
				    r->cfg.password_command ? "password_command" : setpw_service(&r->cfg));
			syslog(LOG_NOTICE, "reset: ruid=%ld user=%s password set (proof: %s)",
			       (long)r->h->ruid, r->user, r->proof_names);
			goto out;
		}
		reset_audit(r, "reset-password-refused", NULL, err);
		syslog(LOG_WARNING, "reset: user=%s password not set: %s", r->user, err);
		if (rc == HX_DATAERR) {
			reset_error(r, "weak_password", 0, "%s", err);
			continue;
		}
		reset_error(r, rc == HX_TEMPFAIL ? "try_later" : "password_not_set", 1,
			    "The password could not be set: %s. Nothing changed.", err);
		goto out;
	}
	reset_error(r, "too_many_tries", 1, "Too many refused passwords; nothing changed.");
	rc = HX_DATAERR;
out:
	RC_WIPE_ARRAY(pw);
	RC_WIPE_ARRAY(again);
	RC_WIPE_ARRAY(suggestion);
	RC_WIPE_ARRAY(msg);
	return rc;
}

/* 2FA off (unless kept), app passwords (by config), every live code and reuse window
 * revoked: one commit. */
static int clear_state(struct reset *r, int *apps_cleared)
{
	int ok = 1, sr;

	*apps_cleared = 0;
	if (hx_txn_begin(r->store) != 0)
		return -1;
	if (!r->keep_2fa) {
		sr = store_totp_delete(r->store, r->user);
		ok = ok && (sr == STORE_OK || sr == STORE_NOTFOUND);
		sr = store_pending_delete(r->store, r->user);
		ok = ok && (sr == STORE_OK || sr == STORE_NOTFOUND);
	}
	if (ok && r->cfg.reset_clear_app_passwords) {
		sr = store_app_revoke_all(r->store, r->user);
		ok = sr == STORE_OK || sr == STORE_NOTFOUND;
		*apps_cleared = ok;
	}
	if (ok) {
		sr = store_token_revoke_all(r->store, r->user);
		ok = sr == STORE_OK || sr == STORE_NOTFOUND;
	}
	/* A password+code string accepted before the reset is not accepted again after it. */
	ok = ok && store_reuse_clear(r->store, r->user) == STORE_OK;
	ok = ok && store_audit_add(r->store, r->user, (long)r->h->ruid,
				   r->keep_2fa ? "reset-2fa-kept" : "reset-2fa-cleared",
				   r->proof_names, *apps_cleared ? "app passwords deleted" : "") ==
			   STORE_OK;
	return hx_txn_end(r->store, ok);
}

static const char *proof_words(const struct reset *r, char *out, size_t n)
{
	static const char *const words[RM_COUNT] = {"the recovery e-mail address", "a code by SMS",
						    "a code by Telegram", "the security question"};
	size_t o = 0;

	out[0] = '\0';
	for (int m = 0; m < RM_COUNT; m++) {
		if (!(r->used & (1u << m)))
			continue;
		int w = rc_snprintf(out + o, n - o, "%s%s", o > 0 ? " and " : "", words[m]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (r->keep_2fa && rc_snprintf(out + o, n - o, "%sa current 2-step verification code",
				       o > 0 ? " and " : "") < 0)
		out[o] = '\0';
	return out;
}

/* Tell every verified contact; names of the channels reached / failed go to the arrays. */
static void notify(struct reset *r, int apps_cleared, struct json_object *sent,
		   struct json_object *failed)
{
	char host[256], when[64], how[256], support[300], text[2048], shorttext[480];
	char value[CONTACT_VALUE_MAX], err[512];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "this host");
	host[sizeof(host) - 1] = '\0';
	hx_time_human(rc_now(), when, sizeof(when));
	proof_words(r, how, sizeof(how));
	if (r->cfg.support_contact != NULL)
		snprintf(support, sizeof(support), "%s", r->cfg.support_contact);
	else
		snprintf(support, sizeof(support), "technical support");
	if (rc_snprintf(text, sizeof(text),
			"The password of the account %s on %s was reset on %s with "
			"`pam-recover reset`, proven by %s (started by the local account %s).\n\n"
			"%s%s\n\n"
			"If you did not do this, contact %s at once.\n\n"
			"This message does not contain the new password.\n",
			r->user, host, when, how, r->h->caller,
			r->keep_2fa ? "2-step verification stays on."
				    : "2-step verification was turned off: the authenticator app "
				      "and the backup codes no longer work.",
			apps_cleared ? " The app passwords were deleted." : "", support) < 0)
		snprintf(text, sizeof(text), "The password of the account %s on %s was reset on %s.\n",
			 r->user, host, when);
	if (rc_snprintf(shorttext, sizeof(shorttext),
			"%s: the password of %s was reset on %s%s. Not you? Contact %s.", host,
			r->user, when, r->keep_2fa ? "" : "; 2-step verification is off",
			support) < 0)
		snprintf(shorttext, sizeof(shorttext), "%s: the password of %s was reset.", host,
			 r->user);
	for (int kind = CONTACT_EMAIL; kind <= CONTACT_TELEGRAM; kind++) {
		int verified = 0;
		const char *name = reset_method_id(kind); /* email, sms, telegram */
		if (contact_read(r->store, &r->key, r->user, kind, value, sizeof(value), &verified) !=
			    HX_OK ||
		    !verified)
			continue;
		if (!channel_configured(&r->cfg, kind, NULL, 0)) {
			oj_push_str(failed, name);
			continue;
		}
		int sr = channel_send(&r->cfg, kind, value, NOTICE_SUBJECT,
				      kind == CONTACT_EMAIL ? text : shorttext, err, sizeof(err));
		if (sr == HX_OK) {
			oj_push_str(sent, name);
			reset_audit(r, "reset-notice-sent", name, "");
		} else {
			oj_push_str(failed, name);
			reset_audit(r, "reset-notice-failed", name, err);
			syslog(LOG_WARNING, "reset: user=%s notice by %s not sent: %s", r->user, name,
			       err);
		}
	}
	RC_WIPE_ARRAY(value);
}

int reset_password_step(struct reset *r)
{
	char err[SETPW_ERR_MAX], msg[1024];
	int rc, apps_cleared = 0;

	if ((rc = choose_and_set(r)) != HX_OK)
		return rc;
	if (clear_state(r, &apps_cleared) != 0) {
		syslog(LOG_ERR, "reset: user=%s password set, but 2FA not cleared: %s", r->user,
		       store_errmsg(r->store));
		reset_error(r, "store", 1,
			    "The new password is set, but 2-step verification could not be "
			    "changed (store error). Ask the administrator.");
		return HX_IOERR;
	}
	syslog(LOG_NOTICE, "reset: ruid=%ld user=%s 2FA %s%s", (long)r->h->ruid, r->user,
	       r->keep_2fa ? "kept" : "cleared", apps_cleared ? ", app passwords deleted" : "");

	struct json_object *done = reset_step("done", NULL);
	struct json_object *sent = oj_array(), *failed = oj_array();
	notify(r, apps_cleared, sent, failed);

	const char *post = "none";
	if (r->cfg.post_reset_command != NULL) {
		if (setpw_post_reset(&r->cfg, r->user, err, sizeof(err)) == HX_OK) {
			post = "ok";
			reset_audit(r, "reset-post-command", NULL, "ok");
		} else {
			post = "failed";
			reset_audit(r, "reset-post-command", NULL, err);
			syslog(LOG_WARNING, "reset: user=%s post_reset_command: %s", r->user, err);
		}
	}
	if (rc_snprintf(msg, sizeof(msg), "Your password has been reset. %s%s%s",
			r->keep_2fa ? "2-step verification stays on."
				    : "2-step verification is off: turn it on again with "
				      "`pam-recover enable`.",
			json_object_array_length(sent) > 0
				? " A notice was sent to your recovery contacts."
				: "",
			strcmp(post, "failed") == 0
				? " Sessions opened with the old password may still be open "
				  "(post_reset_command failed)."
				: "") < 0)
		snprintf(msg, sizeof(msg), "Your password has been reset.");
	oj_str(done, "message", msg);
	oj_str(done, "user", r->user);
	oj_str(done, "two_factor", r->keep_2fa ? "kept" : "off");
	oj_bool(done, "app_passwords_deleted", apps_cleared);
	oj_put(done, "notified", sent);
	oj_put(done, "notice_failed", failed);
	oj_str(done, "post_reset", post);
	if (strcmp(post, "failed") == 0)
		oj_str(done, "post_reset_error", err);
	reset_audit(r, "reset-done", r->proof_names, "");
	r->ui->show(r, done);
	return HX_OK;
}
