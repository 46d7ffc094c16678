/*
 * The reset flow: user name -> methods -> proof(s) -> [keep-2FA code] -> new password ->
 * finish. Front-end neutral: every step is a JSON object shown through r->ui.
 */
#include "reset.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "login.h"
#include "out.h"

/* Trim surrounding spaces in place. */
static void trim(char *s)
{
	size_t len = strlen(s), start = strspn(s, " \t");

	while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

/* Is the caller at its limit already? Only looks (rolled back). HX_OK or an exit status. */
static int caller_over(struct reset *r)
{
	const struct quota_req q = {r->caller, NULL, NULL, NULL};
	int qr;

	if (r->caller[0] == '\0')
		return HX_OK;
	if (hx_txn_begin(r->store) != 0)
		return reset_store_fail(r);
	qr = quota_reserve(r->store, &r->cfg, &r->key, &q, rc_now());
	(void)hx_txn_end(r->store, 0);
	if (qr == QUOTA_ERROR)
		return reset_store_fail(r);
	if (qr == QUOTA_CALLER) {
		syslog(LOG_NOTICE, "reset: caller %s refused: caller_requests_per_hour reached",
		       r->caller);
		reset_error(r, "rate_limited", 1,
			    "Too many codes or answers were asked for from here in the last hour. "
			    "Try again later.");
		return HX_TEMPFAIL;
	}
	return HX_OK;
}

static int step_user(struct reset *r)
{
	char name[RESET_INPUT_MAX];
	int rc = HX_DATAERR;

	for (int bad = 0;; bad++) {
		struct json_object *st = reset_step(
			"user",
			"Enter the user name of the account whose password you want to reset.");
		if ((rc = reset_ask(r, st, "user", "User name: ", 0, name, sizeof(name))) != HX_OK)
			goto out;
		trim(name);
		/* One user, one name: the canonical form (user_name_case) from here on. */
		if (hx_user_canonical(&r->cfg, name) == 0 && rc_user_name_ok(name))
			break;
		char esc[64];
		rc_log_escape(name, esc, sizeof(esc));
		if (bad + 1 >= RESET_BAD_REPLIES) {
			reset_error(r, "invalid_user", 1, "\"%s\" is not a valid user name.", esc);
			rc = HX_DATAERR;
			goto out;
		}
		reset_error(r, "invalid_user", 0, "\"%s\" is not a valid user name.", esc);
	}
	/* No limit is counted for typing a name: only sends and answers count (quota.h). A
	 * caller already over its limit is refused here, before anything is written. */
	memcpy(r->user, name, strlen(name) + 1);
	if ((rc = caller_over(r)) != HX_OK)
		goto out;
	int e = login_enrolled(r->store, r->user);
	if (e == LOGIN_ERROR) {
		reset_error(r, "store", 1, "The state store cannot be used; nothing changed.");
		rc = HX_IOERR;
		goto out;
	}
	r->enrolled = e == LOGIN_OK;
	/* Virtual mail users (name@domain) exist for us when the store knows them. uid 0 is
	 * never reset this way: it is treated like an unknown name (a plausible method list,
	 * nothing ever sent), so the answer does not show that it is special. */
	const struct passwd *pw = getpwnam(r->user);
	r->known = (pw != NULL && pw->pw_uid != 0) ||
		   (pw == NULL && strchr(r->user, '@') != NULL && r->enrolled);
	r->superuser = pw != NULL && pw->pw_uid == 0;
	reset_audit(r, "reset-start", NULL, r->code_mode ? "with a code (--code)" : "");
	syslog(LOG_INFO, "reset: ruid=%ld caller=%s started a reset for %s", (long)r->h->ruid,
	       r->h->caller, r->user);
	rc = HX_OK;
out:
	RC_WIPE_ARRAY(name);
	return rc;
}

static void support_text(const struct reset *r, char *out, size_t n)
{
	if (r->cfg.support_contact != NULL)
		snprintf(out, n, "Contact support: %s.", r->cfg.support_contact);
	else
		snprintf(out, n, "Contact technical support.");
}

/* The method step: the offers not used yet. Returns the method, or -1 with *rc set. */
static int step_method(struct reset *r, int *rc)
{
	char id[64];

	for (int bad = 0;; bad++) {
		char msg[600], support[400];
		support_text(r, support, sizeof(support));
		if (rc_snprintf(msg, sizeof(msg), "%s None of these works for you? %s",
				r->proofs == 0
					? "Choose how to prove that the account is yours."
					: "This account has 2-step verification: prove it is "
					  "yours a second way.",
				support) < 0)
			snprintf(msg, sizeof(msg),
				 "Choose how to prove that the account is yours.");
		struct json_object *st = reset_step("method", msg);
		struct json_object *arr = oj_array();
		int offered = 0;
		for (int i = 0; i < r->n_offers; i++) {
			if (r->used & (1u << r->offers[i].method))
				continue;
			struct json_object *m = oj_object();
			oj_str(m, "id", method_id(r->offers[i].method));
			oj_str(m, "hint", r->offers[i].hint);
			oj_push(arr, m);
			offered++;
		}
		oj_put(st, "methods", arr);
		oj_int(st, "proof", r->proofs + 1);
		oj_int(st, "proofs_needed", r->need);
		if (offered == 0) {
			json_object_put(st);
			reset_error(r, "no_method", 1,
				    "No other way to prove that the account is yours is set up; "
				    "nothing changed. %s",
				    support);
			*rc = HX_NOPERM;
			return -1;
		}
		if ((*rc = reset_ask(r, st, "method", "Method: ", 0, id, sizeof(id))) != HX_OK)
			return -1;
		trim(id);
		int m = reset_method_parse(id);
		for (int i = 0; m >= 0 && i < r->n_offers; i++)
			if (r->offers[i].method == m && !(r->used & (1u << m)))
				return m;
		if (bad + 1 >= RESET_BAD_REPLIES) {
			reset_error(r, "unknown_method", 1,
				    "That is not one of the methods offered.");
			*rc = HX_DATAERR;
			return -1;
		}
		reset_error(r, "unknown_method", 0, "That is not one of the methods offered.");
	}
}

static void note_proof(struct reset *r, int m)
{
	size_t len = strlen(r->proof_names);

	r->proofs++;
	r->used |= 1u << m;
	if (rc_snprintf(r->proof_names + len, sizeof(r->proof_names) - len, "%s%s",
			len > 0 ? "+" : "", method_id(m)) < 0)
		r->proof_names[len] = '\0';
	reset_audit(r, "reset-proof-ok", method_id(m), "");
	syslog(LOG_NOTICE, "reset: ruid=%ld user=%s proof by %s accepted", (long)r->h->ruid,
	       r->user, method_id(m));
}

/* After a proof: the keep-2FA step (once), then decide whether more proofs are needed. */
static int after_proof(struct reset *r)
{
	int rc;

	if (!r->enrolled)
		r->need = 1; /* two proofs are for accounts with 2-step verification */
	if (r->totp_asked || !r->enrolled || !r->cfg.reset_keep_2fa_with_code)
		return HX_OK;
	r->totp_asked = 1;
	if ((rc = reset_totp_step(r)) != HX_OK)
		return rc;
	if (r->keep_2fa)
		r->need = r->proofs; /* a current code is the second, independent proof */
	return HX_OK;
}

int reset_run(struct reset *r)
{
	char support[400];
	int rc;

	if ((rc = step_user(r)) != HX_OK)
		return rc;
	if ((rc = reset_methods(r)) != HX_OK)
		return rc;
	support_text(r, support, sizeof(support));
	if (r->cfg.reset_method_mask == 0) {
		reset_audit(r, "reset-refused", NULL, "reset_methods = none");
		reset_error(r, "disabled", 1, "Password reset is turned off on this host. %s",
			    support);
		return HX_NOPERM;
	}
	if (r->n_offers == 0) {
		/* Seeds 000/001: without a recovery e-mail or question, only support can help. */
		reset_audit(r, "reset-refused", NULL, "no usable recovery method");
		reset_error(r, "no_method", 1,
			    "This account has no way set up to prove that it is yours (a recovery "
			    "e-mail, phone, Telegram or security question). %s",
			    support);
		return HX_NOPERM;
	}
	/* proofs_needed is the same for every name (what the host may ask); whether a second
	 * proof is really needed shows only after a first proof (settle_need). */
	r->need = r->cfg.reset_require_two_proofs ? 2 : 1;

	if (r->code_mode) {
		int m = r->code_channel != NULL ? reset_method_parse(r->code_channel) : -1;
		rc = reset_code_step(r, m, 1);
		if (rc != HX_OK) {
			if (rc == HX_WRONG)
				reset_error(
					r, "not_proven", 1,
					"The code was not accepted; nothing changed. Start again "
					"with `pam-recover reset` to get a new code.");
			return rc;
		}
		note_proof(r, r->last_method);
		r->code_mode = 0; /* a second proof, if any, is a normal one */
		if ((rc = after_proof(r)) != HX_OK)
			return rc;
	}
	while (r->proofs < r->need) {
		int m = step_method(r, &rc);
		if (m < 0)
			return rc;
		rc = reset_prove(r, m);
		if (rc == HX_WRONG)
			continue; /* the method list again (bounded by RESET_MAX_ASKS) */
		if (rc != HX_OK)
			return rc;
		note_proof(r, m);
		if ((rc = after_proof(r)) != HX_OK)
			return rc;
	}
	return reset_password_step(r);
}
