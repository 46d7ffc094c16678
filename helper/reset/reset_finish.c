/*
 * The end of a reset: the new password (twice, policy-checked) set through the PAM
 * password stack or password_command; then ONE commit that records it: the audit event of
 * the new password, 2FA cleared (secret, backup codes, a pending re-enrolment; app passwords
 * unless reset_clear_app_passwords = no), every live code revoked, and the outbox rows made
 * due: a notice to every verified recovery contact (what changed, when and how, never the
 * password) and post_reset_command (outbox.h). Those rows were written, armed, just before
 * the password was set, so a reset killed at any point still tells the contacts. Then the
 * rows are delivered (no transaction open) and the done step shows what went out.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "channel/channel.h"
#include "contacts.h"
#include "outbox.h"
#include "out.h"
#include "policy.h"
#include "setpw.h"

#define PASSWORD_BUF (POLICY_MAX_BYTES + 2) /* one more byte shows "too long" */

/* Arm the outbox rows of this reset (owner) before the password is set. 0 or -1. */
static int arm(struct reset *r, const char *owner)
{
	int flags = (r->keep_2fa ? OUTBOX_F_KEPT_2FA : 0) |
		    (r->cfg.reset_clear_app_passwords ? OUTBOX_F_APPS : 0);
	int ok;

	if (hx_txn_begin(r->store) != 0)
		return -1;
	ok = store_outbox_disarm(r->store, owner) == STORE_OK &&
	     outbox_arm_reset(r->store, &r->cfg, r->user, rc_now(), r->proof_names, r->h->caller,
			      flags, owner) == 0;
	return hx_txn_end(r->store, ok);
}

/* The password was not set: the armed rows go. */
static void disarm(struct reset *r, const char *owner)
{
	int ok;

	if (hx_txn_begin(r->store) != 0)
		return;
	ok = store_outbox_disarm(r->store, owner) == STORE_OK;
	if (hx_txn_end(r->store, ok) != 0)
		syslog(LOG_ERR, "reset: user=%s cannot withdraw the armed notices: %s", r->user,
		       store_errmsg(r->store));
}

/* Ask until a password passes the policy and the system takes it; the outbox rows are armed
 * around each attempt to set it. */
static int choose_and_set(struct reset *r, const char *owner)
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
				suggestion[0] ? " A strong one, if you like: " : "",
				suggestion) < 0)
			snprintf(msg, sizeof(msg), "Choose a new password.");
		st = reset_step("password", msg);
		oj_str(st, "policy", policy);
		if (suggestion[0])
			oj_str(st, "suggestion", suggestion);
		if (++r->asks > RESET_MAX_ASKS) {
			json_object_put(st);
			reset_error(r, "too_many_steps", 1,
				    "Too many steps in one run; the password "
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
				snprintf(msg, sizeof(msg),
					 "The password does not meet the policy.");
			reset_audit(r, "reset-password-weak", NULL, msg);
			reset_error(r, "weak_password", 0, "%s", msg);
			continue;
		}
		if (arm(r, owner) != 0) {
			syslog(LOG_ERR, "reset: user=%s cannot record the notices: %s", r->user,
			       store_errmsg(r->store));
			rc = reset_store_fail(r);
			goto out;
		}
		rc = setpw_set(&r->cfg, r->user, pw, err, sizeof(err));
		if (rc == HX_OK) {
			syslog(LOG_NOTICE, "reset: ruid=%ld user=%s password set (proof: %s)",
			       (long)r->h->ruid, r->user, r->proof_names);
			goto out;
		}
		disarm(r, owner);
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

/* The new password recorded: its audit event, 2FA off (unless kept), app passwords (by
 * config), every live code and reuse window revoked, the armed outbox rows due: one commit. */
static int clear_state(struct reset *r, const char *owner, int *apps_cleared)
{
	int ok = 1, sr;

	*apps_cleared = 0;
	if (hx_txn_begin(r->store) != 0)
		return -1;
	ok = store_audit_add(r->store, r->user, (long)r->h->ruid, "reset-password-set", NULL,
			     r->cfg.password_command ? "password_command"
						     : setpw_service(&r->cfg)) == STORE_OK &&
	     store_outbox_release(r->store, owner, 0, NULL) == STORE_OK;
	if (ok && !r->keep_2fa) {
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
	ok = ok &&
	     store_audit_add(r->store, r->user, (long)r->h->ruid,
			     r->keep_2fa ? "reset-2fa-kept" : "reset-2fa-cleared", r->proof_names,
			     *apps_cleared ? "app passwords deleted" : "") == STORE_OK;
	return hx_txn_end(r->store, ok);
}

/* What the delivery of this reset's rows did, for the done step. */
struct done_ctx {
	struct json_object *sent, *failed;
	const char *post; /* "none", "ok", "failed" */
	char post_err[SETPW_ERR_MAX];
};

static void delivered(void *vctx, const struct outbox_event *e)
{
	struct done_ctx *d = vctx;

	if (e->row->kind == OUTBOX_COMMAND) {
		d->post = e->status == HX_OK ? "ok" : "failed";
		snprintf(d->post_err, sizeof(d->post_err), "%s", e->err);
		return;
	}
	oj_push_str(e->status == HX_OK ? d->sent : d->failed, method_id(e->row->kind));
}

int reset_password_step(struct reset *r)
{
	char msg[1024], owner[OUTBOX_OWNER_MAX];
	struct outbox_totals totals;
	struct done_ctx d;
	int rc, apps_cleared = 0;

	if (outbox_owner(owner, sizeof(owner)) != 0) {
		reset_error(r, "internal", 1,
			    "Internal error (process identity); nothing changed.");
		return HX_SOFTWARE;
	}
	if ((rc = choose_and_set(r, owner)) != HX_OK)
		return rc;
	if (clear_state(r, owner, &apps_cleared) != 0) {
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
	memset(&d, 0, sizeof(d));
	d.sent = oj_array();
	d.failed = oj_array();
	d.post = "none";
	if (outbox_flush(r->store, &r->key, &r->cfg, 0, owner, delivered, &d, &totals) != 0)
		syslog(LOG_ERR,
		       "reset: user=%s notices not delivered yet (store: %s); the next run "
		       "of pam-recover sends them",
		       r->user, store_errmsg(r->store));
	struct json_object *sent = d.sent, *failed = d.failed;
	const char *post = d.post;
	if (rc_snprintf(
		    msg, sizeof(msg), "Your password has been reset. %s%s%s",
		    r->keep_2fa ? "2-step verification stays on."
		    /* A web front end's user may have no shell: no command for them. */
		    : r->ui == &reset_ui_json
			    ? "2-step verification is off: every authenticator device was "
			      "removed and the backup codes no longer work; turn it on again as "
			      "soon as you can."
			    : "2-step verification is off: every authenticator device was "
			      "removed; turn it on again with `pam-recover enable`.",
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
		oj_str(done, "post_reset_error", d.post_err);
	reset_audit(r, "reset-done", r->proof_names, "");
	r->ui->show(r, done);
	return HX_OK;
}
