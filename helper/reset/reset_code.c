/*
 * The code step of a reset: the typed code checked against the live code of the channel
 * (or of every channel, for `reset --code`), tries counted in the store and in the run, the
 * method locked after code_attempts wrong ones. Unknown users and wrong addresses take the
 * same path with nothing to match.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "codes.h"
#include "out.h"

/* Check a typed code against the live code of one method. */
static int check_one(struct reset *r, int m, const char *typed)
{
	int cr;

	if (hx_txn_begin(r->store) != 0)
		return CODE_ERROR;
	cr = code_check(r->store, &r->key, r->user, method_id(m), RESET_PURPOSE, typed,
			r->cfg.code_attempts, rc_now());
	if (hx_txn_end(r->store, cr != CODE_ERROR) != 0)
		return CODE_ERROR;
	return cr;
}

int reset_code_step(struct reset *r, int method, int real)
{
	char typed[RESET_INPUT_MAX];
	int tries = 0, rc = HX_WRONG;

	for (;;) {
		struct json_object *st = reset_step("code", NULL);
		char msg[512], hint[160] = "";
		int ttl = method == METHOD_EMAIL || method < 0 ? r->cfg.email_code_ttl
							       : r->cfg.sms_code_ttl;
		for (int i = 0; i < r->n_offers; i++)
			if (r->offers[i].method == method)
				snprintf(hint, sizeof(hint), "%s", r->offers[i].hint);
		oj_str(st, "channel", method >= 0 ? method_id(method) : "any");
		/* With --code nothing was sent in this run: no hint, no expiry to show. */
		if (hint[0] && !r->code_mode)
			oj_str(st, "hint", hint);
		if (method >= 0 && !r->code_mode)
			oj_int(st, "expires_in", ttl);
		if (method < 0 || r->code_mode)
			snprintf(msg, sizeof(msg), "Enter the code you received%s.",
				 method == METHOD_EMAIL      ? " by e-mail"
				 : method == METHOD_SMS      ? " by SMS"
				 : method == METHOD_TELEGRAM ? " by Telegram"
							     : "");
		else if (method == METHOD_EMAIL)
			snprintf(
				msg, sizeof(msg),
				"If the address matches the recovery address of the account, a code "
				"was sent to it; it is valid for %d minute%s. Enter the code (an empty "
				"line goes back to the methods). If nothing arrives within a few "
				"minutes, try again later or choose another method.",
				(ttl + 59) / 60, (ttl + 59) / 60 == 1 ? "" : "s");
		else
			snprintf(
				msg, sizeof(msg),
				"A code was sent by %s to %s; it is valid for %d minute%s. Enter the "
				"code (an empty line goes back to the methods). If nothing arrives "
				"within a few minutes, try again later or choose another method.",
				method == METHOD_SMS ? "SMS" : "Telegram", hint, (ttl + 59) / 60,
				(ttl + 59) / 60 == 1 ? "" : "s");
		oj_str(st, "message", msg);
		if ((rc = reset_ask(r, st, "code", "Code: ", 0, typed, sizeof(typed))) != HX_OK)
			goto out;
		if (typed[strspn(typed, " \t")] == '\0') {
			rc = HX_WRONG; /* back to the methods, nothing counted */
			goto out;
		}
		int cr = CODE_EXPIRED;
		if (real && r->known) {
			for (int m = METHOD_EMAIL; m <= METHOD_TELEGRAM; m++) {
				if (method >= 0 && m != method)
					continue;
				int one = check_one(r, m, typed);
				if (one == CODE_ERROR) {
					rc = reset_store_fail(r);
					goto out;
				}
				if (one == CODE_OK) {
					r->last_method = m;
					cr = CODE_OK;
					break;
				}
				if (one == CODE_LOCKED || (one == CODE_WRONG && cr != CODE_LOCKED))
					cr = one;
			}
		} else {
			/* Nothing to check against: the same hashing, the same answers. */
			unsigned char h[STORE_HASH_LEN];
			if (secret_hash(&r->key, r->user, "code:none:reset", typed, h) != 0)
				cr = CODE_ERROR;
			RC_WIPE_ARRAY(h);
		}
		tries++;
		if (cr == CODE_OK) {
			rc = HX_OK;
			goto out;
		}
		reset_audit(r, "reset-code-wrong", method >= 0 ? method_id(method) : "any", "");
		if (cr == CODE_LOCKED || tries >= r->cfg.code_attempts) {
			int m0 = method >= 0 ? method : METHOD_EMAIL;
			for (int m = METHOD_EMAIL; m <= METHOD_TELEGRAM; m++)
				if (m == m0 || method < 0)
					reset_lock_method(r, m);
			reset_locked_error(r, m0);
			rc = HX_WRONG;
			goto out;
		}
		reset_error(r, "wrong_code", 0, "The code is wrong or has expired (%d %s left).",
			    r->cfg.code_attempts - tries,
			    r->cfg.code_attempts - tries == 1 ? "try" : "tries");
	}
out:
	RC_WIPE_ARRAY(typed);
	return rc;
}
