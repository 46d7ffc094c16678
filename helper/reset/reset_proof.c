/*
 * The proofs of a reset: a code sent by e-mail (after the full recovery address is typed),
 * SMS or Telegram (reset_send.c, reset_code.c), or the security question.
 *
 * Unknown users and wrong addresses take the same path with nothing sent: the same
 * messages, the same counting of tries (in the run, and the same method lock), the same
 * hashing, and the step padded to RESET_SEND_FLOOR_MS either way.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "channel/channel.h"
#include "contacts.h"
#include "out.h"
#include "text.h"

/* The full recovery address, compared in constant time after normalising both sides. */
static int address_matches(struct reset *r, const char *typed, char *real_out, size_t n)
{
	char a[CONTACT_VALUE_MAX], b[CONTACT_VALUE_MAX];
	unsigned char ha[32], hb[32];
	int verified = 0, have = 0, match = 0;

	real_out[0] = '\0';
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	if (r->known &&
	    contact_read(r->store, &r->key, r->user, METHOD_EMAIL, b, sizeof(b), &verified) ==
		    HX_OK &&
	    verified)
		have = 1;
	if (!have)
		snprintf(b, sizeof(b), "nobody@invalid");
	if (text_normalise_email(typed, a, sizeof(a)) != 0)
		snprintf(a, sizeof(a), "-");
	char nb[CONTACT_VALUE_MAX];
	if (text_normalise_email(b, nb, sizeof(nb)) != 0)
		snprintf(nb, sizeof(nb), "nobody@invalid");
	crypto_generichash(ha, sizeof(ha), (const unsigned char *)a, strlen(a), NULL, 0);
	crypto_generichash(hb, sizeof(hb), (const unsigned char *)nb, strlen(nb), NULL, 0);
	match = sodium_memcmp(ha, hb, sizeof(ha)) == 0 && have;
	if (match)
		snprintf(real_out, n, "%s", b);
	RC_WIPE_ARRAY(a);
	RC_WIPE_ARRAY(b);
	RC_WIPE_ARRAY(nb);
	return match;
}

static int prove_email(struct reset *r)
{
	char typed[RESET_INPUT_MAX], real[CONTACT_VALUE_MAX];
	int rc = HX_WRONG, match;

	for (int bad = 0;; bad++) {
		struct json_object *st = reset_step(
			"email", "Enter the full recovery e-mail address of the account.");
		if ((rc = reset_ask(r, st, "email", "Recovery e-mail address: ", 0, typed,
				    sizeof(typed))) != HX_OK)
			goto out;
		char norm[CONTACT_VALUE_MAX];
		int ok = text_normalise_email(typed, norm, sizeof(norm)) == 0 &&
			 channel_email_ok(norm);
		RC_WIPE_ARRAY(norm);
		if (ok)
			break;
		if (bad + 1 >= RESET_BAD_REPLIES) {
			reset_error(r, "invalid_email", 1, "That is not an e-mail address.");
			rc = HX_DATAERR;
			goto out;
		}
		reset_error(r, "invalid_email", 0, "That is not an e-mail address.");
	}
	int64_t start = reset_clock_ms();
	match = address_matches(r, typed, real, sizeof(real));
	rc = reset_send_code(r, METHOD_EMAIL, match ? real : NULL);
	reset_pad(start, RESET_SEND_FLOOR_MS);
	if (rc == HX_OK)
		rc = reset_code_step(r, METHOD_EMAIL, match);
out:
	RC_WIPE_ARRAY(typed);
	RC_WIPE_ARRAY(real);
	return rc;
}

static int prove_phone(struct reset *r, int m)
{
	char value[CONTACT_VALUE_MAX];
	int verified = 0, have = 0, rc;
	int64_t start = reset_clock_ms();

	value[0] = '\0';
	if (r->known &&
	    contact_read(r->store, &r->key, r->user, m, value, sizeof(value), &verified) == HX_OK &&
	    verified)
		have = 1;
	rc = reset_send_code(r, m, have ? value : NULL);
	reset_pad(start, RESET_SEND_FLOOR_MS);
	if (rc == HX_OK)
		rc = reset_code_step(r, m, have);
	RC_WIPE_ARRAY(value);
	return rc;
}

/* One answer checked, under caller_requests_per_hour. HX_OK, or an exit status. */
static int caller_answer(struct reset *r)
{
	const struct quota_req q = {r->caller, NULL, NULL, NULL};
	int qr = QUOTA_ERROR;

	if (r->caller[0] == '\0')
		return HX_OK;
	if (hx_txn_begin(r->store) != 0)
		return reset_store_fail(r);
	qr = quota_reserve(r->store, &r->cfg, &r->key, &q, rc_now());
	if (hx_txn_end(r->store, qr == QUOTA_OK) != 0 && qr == QUOTA_OK)
		return reset_store_fail(r);
	if (qr == QUOTA_CALLER) {
		syslog(LOG_NOTICE, "reset: caller %s refused: caller_requests_per_hour reached",
		       r->caller);
		reset_error(r, "rate_limited", 1,
			    "Too many answers were checked from here in the last hour. Try again "
			    "later.");
		return HX_TEMPFAIL;
	}
	return qr == QUOTA_OK ? HX_OK : reset_store_fail(r);
}

static int prove_question(struct reset *r)
{
	char typed[RESET_INPUT_MAX], norm[TEXT_ANSWER_MAX + 1], key[HX_USER_MAX + 16];
	char dummy[crypto_pwhash_STRBYTES];
	struct store_question q;
	int rc = HX_WRONG, have = 0, count = 0;

	memset(&q, 0, sizeof(q));
	typed[0] = norm[0] = dummy[0] = '\0';
	if (r->known) {
		int qr = store_question_get(r->store, r->user, &q);
		if (qr == STORE_OK && q.answer_hash[0] != '\0')
			have = 1;
		else if (qr != STORE_OK && qr != STORE_NOTFOUND) {
			rc = reset_store_fail(r);
			goto out;
		}
	}
	if (rc_snprintf(key, sizeof(key), "question:%s", r->user) < 0) {
		rc = HX_SOFTWARE;
		goto out;
	}
	for (;;) {
		struct json_object *st =
			reset_step("answer", "Answer the security question of the account (an "
					     "empty line goes back to the methods).");
		oj_str(st, "question", r->question);
		if ((rc = reset_ask(r, st, "answer", "Answer: ", 1, typed, sizeof(typed))) != HX_OK)
			goto out;
		if (typed[strspn(typed, " \t")] == '\0') {
			rc = HX_WRONG;
			goto out;
		}
		/* Count the try before checking it: the caller's limit (nothing written when it
		 * is reached), then the daily cap per account. */
		if ((rc = caller_answer(r)) != HX_OK)
			goto out;
		if (store_counter_hit(r->store, key, rc_now(), 86400, &count) != STORE_OK) {
			rc = reset_store_fail(r);
			goto out;
		}
		if (count > r->cfg.question_daily_attempts) {
			reset_lock_method(r, METHOD_QUESTION);
			reset_locked_error(r, METHOD_QUESTION);
			rc = HX_WRONG;
			goto out;
		}
		if (text_normalise_answer(typed, norm, sizeof(norm)) != 0)
			snprintf(norm, sizeof(norm), "-");
		int ok = 0;
		if (have) {
			ok = crypto_pwhash_str_verify(q.answer_hash, norm, strlen(norm)) == 0;
		} else {
			/* The same work as a real check (contact_question.c: interactive limits). */
			int unused = crypto_pwhash_str_alg(
				dummy, norm, strlen(norm), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13);
			(void)unused;
		}
		RC_WIPE_ARRAY(norm);
		RC_WIPE_ARRAY(typed);
		if (ok) {
			rc = HX_OK;
			goto out;
		}
		reset_audit(r, "reset-answer-wrong", "question", "");
		if (count >= r->cfg.question_daily_attempts) {
			reset_lock_method(r, METHOD_QUESTION);
			reset_locked_error(r, METHOD_QUESTION);
			rc = HX_WRONG;
			goto out;
		}
		reset_error(r, "wrong_answer", 0, "The answer is wrong (%d %s left today).",
			    r->cfg.question_daily_attempts - count,
			    r->cfg.question_daily_attempts - count == 1 ? "try" : "tries");
	}
out:
	RC_WIPE_ARRAY(typed);
	RC_WIPE_ARRAY(norm);
	RC_WIPE_ARRAY(dummy);
	rc_wipe(&q, sizeof(q));
	return rc;
}

int reset_prove(struct reset *r, int m)
{
	int locked = reset_method_locked(r, m);

	if (locked < 0)
		return reset_store_fail(r);
	reset_audit(r, "reset-method", method_id(m), "");
	if (locked) {
		reset_locked_error(r, m);
		return HX_WRONG;
	}
	switch (m) {
	case METHOD_EMAIL:
		return prove_email(r);
	case METHOD_SMS:
	case METHOD_TELEGRAM:
		return prove_phone(r, m);
	case METHOD_QUESTION:
		return prove_question(r);
	default:
		return HX_WRONG;
	}
}
