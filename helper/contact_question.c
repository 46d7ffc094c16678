/*
 * `contact set question`: a question from the site's list (`questions`) or the user's own,
 * and the answer, normalised (text_normalise_answer: case, surrounding and repeated spaces)
 * and stored only as an Argon2id hash (crypto_pwhash_str, interactive limits).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "contact_int.h"
#include "out.h"
#include "text.h"
#include "tty.h"

#define QUESTION_MIN 5
#define QUESTION_MAX 200 /* bytes, as for the site's questions */
#define ANSWER_MIN 2     /* code points of the normalised answer */

/* A question as typed: trimmed, one line of valid UTF-8, a sane length. */
static int question_ok(const char *in, char *out, size_t n)
{
	size_t l;

	in += strspn(in, " \t");
	l = strlen(in);
	while (l > 0 && (in[l - 1] == ' ' || in[l - 1] == '\t'))
		l--;
	if (l >= n || l > QUESTION_MAX)
		return -1;
	memcpy(out, in, l);
	out[l] = '\0';
	return text_utf8_ok(out, 0) && text_utf8_len(out) >= QUESTION_MIN ? 0 : -1;
}

/* The question: --question (text, or a number of the site's list), else asked. */
static int choose(struct uverb *u, const char *opt, char *q, size_t n)
{
	char typed[TTY_LINE_MAX];
	size_t count = cfg_question_count(&u->cfg);
	long num;
	int r;

	typed[0] = '\0';
	if (opt == NULL) {
		if (out_json_mode()) {
			struct json_object *o = oj_object(), *arr = oj_array();
			oj_str(o, "step", "question");
			for (size_t i = 0; i < count; i++)
				if (cfg_question(&u->cfg, i, q, n) == 0)
					oj_push_str(arr, q);
			oj_put(o, "questions", arr);
			out_json(o);
		} else if (count > 0) {
			tty_note(
				"Choose a security question (type its number), or write your own:");
			for (size_t i = 0; i < count; i++) {
				char line[QUESTION_MAX + 16];
				if (cfg_question(&u->cfg, i, q, n) == 0 &&
				    rc_snprintf(line, sizeof(line), "  %zu) %s", i + 1, q) > 0)
					tty_note(line);
			}
		} else
			tty_note(
				"Write a security question that only you can answer, and whose answer "
				"does not change (avoid what others can look up).");
		if ((r = tty_ask("question", "Question: ", 0, typed, sizeof(typed))) != HX_OK)
			goto out;
		opt = typed;
	}
	if (count > 0 && rc_parse_long(opt, 1, (long)count, &num) == 0) {
		r = cfg_question(&u->cfg, (size_t)num - 1, q, n) == 0 ? HX_OK : HX_SOFTWARE;
		if (r != HX_OK)
			r = out_fail(r, "%s: cannot read question %ld of the configuration",
				     u->name, num);
		goto out;
	}
	if (question_ok(opt, q, n) != 0) {
		r = out_fail(HX_DATAERR,
			     "%s: a question must be one line of %d to %d characters%s; nothing "
			     "changed",
			     u->name, QUESTION_MIN, QUESTION_MAX,
			     count > 0 ? " (or the number of one of the listed questions)" : "");
		goto out;
	}
	r = HX_OK;
out:
	RC_WIPE_ARRAY(typed);
	return r;
}

/* The answer, normalised; asked twice on a terminal (it cannot be shown later). */
static int answer(struct uverb *u, char *norm, size_t n)
{
	char a1[TTY_LINE_MAX], a2[TTY_LINE_MAX], n2[TEXT_ANSWER_MAX + 1];
	int r;

	a1[0] = a2[0] = n2[0] = '\0';
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_str(o, "step", "answer");
		out_json(o);
	}
	if ((r = tty_ask("answer", "Answer: ", 1, a1, sizeof(a1))) != HX_OK)
		goto out;
	if (text_normalise_answer(a1, norm, n) != 0 || text_utf8_len(norm) < ANSWER_MIN) {
		r = out_fail(HX_DATAERR,
			     "%s: the answer must be %d to %d bytes of text on one line; nothing "
			     "changed",
			     u->name, ANSWER_MIN, TEXT_ANSWER_MAX);
		goto out;
	}
	if (!out_json_mode()) {
		if ((r = tty_ask("answer_again", "Answer again: ", 1, a2, sizeof(a2))) != HX_OK)
			goto out;
		if (text_normalise_answer(a2, n2, sizeof(n2)) != 0 || strcmp(norm, n2) != 0) {
			r = out_fail(HX_DATAERR, "%s: the two answers differ; nothing changed",
				     u->name);
			goto out;
		}
	}
	r = HX_OK;
out:
	if (r != HX_OK)
		rc_wipe(norm, n);
	RC_WIPE_ARRAY(a1);
	RC_WIPE_ARRAY(a2);
	RC_WIPE_ARRAY(n2);
	return r;
}

int ct_set_question(struct hctx *h, struct uverb *u, const char *opt_question)
{
	struct store_question q;
	char norm[TEXT_ANSWER_MAX + 1];
	int r, ok;

	memset(&q, 0, sizeof(q));
	norm[0] = '\0';
	if ((r = choose(u, opt_question, q.question, sizeof(q.question))) != HX_OK)
		goto out;
	if ((r = answer(u, norm, sizeof(norm))) != HX_OK)
		goto out;
	if (sizeof(q.answer_hash) < crypto_pwhash_STRBYTES ||
	    crypto_pwhash_str_alg(
		    q.answer_hash, norm, strlen(norm), crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		r = out_fail(HX_SOFTWARE,
			     "%s: cannot hash the answer (out of memory?); nothing "
			     "changed",
			     u->name);
		goto out;
	}
	q.updated = rc_now();
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	ok = store_question_put(u->store, u->user, &q) == STORE_OK &&
	     uv_audit(h, u, "question-set", NULL) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	uv_log(h, u, "question-set", NULL);
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "kind", "question");
		oj_str(o, "question", q.question);
		out_json(o);
	} else {
		/* one line of valid UTF-8 without control characters (question_ok, config) */
		out_info(
			"Done: your security question is \"%s\". Case and extra spaces in the answer "
			"do not matter when you reset your password.",
			q.question);
	}
	r = HX_OK;
out:
	RC_WIPE_ARRAY(norm);
	rc_wipe(&q, sizeof(q));
	return r;
}
