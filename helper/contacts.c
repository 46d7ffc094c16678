/*
 * `pam-recover contact` with its sub-verbs: set and verify (contact_set.c), the question
 * (contact_question.c), list and remove (here). A contact's value, sealed at rest, and what
 * the sub-verbs share are in contact_value.c.
 */
#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "contact_int.h"
#include "factor.h"
#include "identity.h"
#include "out.h"
#include "text.h"

static const char contact_usage[] =
	"Usage: pam-recover contact set email ADDRESS | phone NUMBER | telegram | question\n"
	"       pam-recover contact verify email | phone | telegram [--resend]\n"
	"       pam-recover contact remove email | phone | telegram | question\n"
	"       pam-recover contact list\n"
	"  (each also takes --user USER (root only), --json and --help)\n"
	"\n"
	"Recovery contacts let you reset a forgotten password with `pam-recover reset`: a code\n"
	"goes to your recovery e-mail, your phone (SMS) or your Telegram chat, or you answer\n"
	"your security question. Changing them asks for your password first, and while\n"
	"2-step verification is on also for a current code from the app.\n"
	"\n"
	"A new e-mail address, phone number or Telegram chat counts only once you have typed\n"
	"the code sent to it. Press Enter at the code prompt to finish later with\n"
	"`pam-recover contact verify KIND`. While you already have a verified contact of that\n"
	"kind, the new one replaces it only when its code is typed in the same run.\n"
	"A recovery e-mail must not be on this host's own mail domains: you could not read it\n"
	"while locked out.\n"
	"\n"
	"Exit status: 0 done, 1 wrong or expired code, 64 usage, 65 not a valid address or\n"
	"number, or refused, 66 no such contact, 69 the mail server or gateway cannot be\n"
	"reached (nothing changed), 75 too many tries or sends (try later), 77 permission\n"
	"denied, 78 not set up on this host; see pam-recover(8).\n";

/* ---- contact list ---- */

static const char list_usage[] =
	"Usage: pam-recover contact list [--user USER] [--json]\n"
	"\n"
	"Your recovery contacts, masked, whether each is verified, and your security question.\n"
	"  --json  {\"user\":...,\"contacts\":[{\"kind\":\"email\",\"value\":\"a***e@example.org\",\n"
	"          \"verified\":true},...],\"security_question\":TEXT or null}\n";

static int ct_list(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	struct store_question q;
	struct json_object *o = NULL, *arr = NULL;
	char value[CONTACT_VALUE_MAX + 1], masked[CONTACT_VALUE_MAX + 16];
	int r, done = HX_USAGE, npos = 0, qr, count = 0;

	memset(&u, 0, sizeof(u));
	memset(&q, 0, sizeof(q));
	u.name = "contact list";
	if (uv_parse(h, &u, list_usage, argc, argv, NULL, 0, NULL, 0, 0, &npos, &done) != 0)
		return done;
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if (out_json_mode()) {
		o = oj_object();
		arr = oj_array();
		oj_str(o, "user", u.user);
		oj_put(o, "contacts", arr);
	} else
		out_info("Recovery contacts of %s:", u.user);
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++) {
		int verified = 0;
		int cr = contact_read(u.store, &u.key, u.user, kind, value, sizeof(value),
				      &verified);
		if (cr == HX_IOERR) {
			r = out_fail(HX_IOERR, "contact list: store error: %s",
				     store_errmsg(u.store));
			goto out;
		}
		if (cr == HX_NOUSER) {
			if (arr == NULL)
				out_info(HX_FIELD "none", hx_contact_field(kind));
			continue;
		}
		count++;
		if (cr == HX_OK)
			ct_mask(kind, value, masked, sizeof(masked));
		if (arr != NULL) {
			struct json_object *c = oj_object();
			oj_str(c, "kind", method_word(kind));
			oj_str(c, "value", cr == HX_OK ? masked : NULL);
			oj_bool(c, "verified", verified);
			oj_push(arr, c);
		} else if (cr != HX_OK)
			out_info(HX_FIELD "(unreadable: ask the administrator to set it again)",
				 hx_contact_field(kind));
		else if (verified)
			out_info(HX_FIELD "%s (verified)", hx_contact_field(kind), masked);
		else
			out_info(HX_FIELD "%s (not verified yet: `pam-recover contact verify %s`)",
				 hx_contact_field(kind), masked, method_word(kind));
	}
	qr = store_question_get(u.store, u.user, &q);
	if (qr != STORE_OK && qr != STORE_NOTFOUND) {
		r = out_fail(HX_IOERR, "contact list: store error: %s", store_errmsg(u.store));
		goto out;
	}
	if (qr == STORE_OK) {
		q.question[sizeof(q.question) - 1] = '\0';
		count++;
	}
	if (o != NULL) {
		oj_str(o, "security_question", qr == STORE_OK ? q.question : NULL);
		out_json(o);
		o = NULL;
	} else {
		char esc[sizeof(q.question)];
		if (text_utf8_ok(q.question, 0))
			memcpy(esc, q.question, sizeof(esc));
		else
			rc_log_escape(q.question, esc, sizeof(esc));
		if (qr == STORE_OK)
			out_info(HX_FIELD "\"%s\"", hx_contact_field(METHOD_QUESTION), esc);
		else
			out_info(HX_FIELD "not set", hx_contact_field(METHOD_QUESTION));
		if (count == 0)
			out_info("You have no way to reset a forgotten password yet: add one with "
				 "`pam-recover contact set email ADDRESS` (or phone, telegram, "
				 "question).");
	}
	r = HX_OK;
out:
	if (o != NULL)
		json_object_put(o);
	RC_WIPE_ARRAY(value);
	RC_WIPE_ARRAY(masked);
	rc_wipe(&q, sizeof(q));
	uv_close(&u);
	return r;
}

/* ---- contact remove ---- */

static const char remove_usage[] =
	"Usage: pam-recover contact remove email|phone|telegram|question [--user USER] [--json]\n"
	"\n"
	"Remove a recovery contact or the security question, after your password (and, while\n"
	"2-step verification is on, a current code from the app: JSON field \"current_code\").\n"
	"Codes sent to it for verification stop working.\n";

static int ct_remove(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	char *pos[1];
	int r, done = HX_USAGE, npos = 0, kind, dr = STORE_ERR, ok;

	memset(&u, 0, sizeof(u));
	u.name = "contact remove";
	if (uv_parse(h, &u, remove_usage, argc, argv, NULL, 0, pos, 1, 1, &npos, &done) != 0)
		return done;
	kind = contact_kind_parse(pos[0]);
	if (kind < 0) {
		char esc[40];
		rc_log_escape(pos[0], esc, sizeof(esc));
		return out_fail(HX_USAGE,
				"contact remove: \"%s\" is not email, phone, telegram or "
				"question",
				esc);
	}
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if ((r = identity_confirm(h, &u.cfg, u.store, u.user)) != HX_OK ||
	    (r = factor_prove(h, &u, "current_code", NULL, 0, "nothing changed", NULL)) != HX_OK)
		goto out;
	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	if (kind == METHOD_QUESTION)
		dr = store_question_delete(u.store, u.user);
	else
		dr = store_contact_delete(u.store, u.user, kind);
	ok = dr == STORE_OK || dr == STORE_NOTFOUND;
	if (ok && kind != METHOD_QUESTION)
		ok = code_void_verify(u.store, u.user, ct_channel(kind)) == HX_OK;
	if (ok && dr == STORE_OK)
		ok = uv_audit(h, &u, "contact-remove", method_word(kind)) == 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	if (dr == STORE_OK)
		uv_log(h, &u, "contact-remove", method_word(kind));
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u.user);
		oj_str(o, "kind", method_word(kind));
		oj_bool(o, "changed", dr == STORE_OK);
		out_json(o);
	} else if (dr == STORE_OK)
		out_info("The %s of %s is removed.", method_label(kind), u.user);
	else
		out_info("%s had no %s; nothing changed.", u.user, method_label(kind));
	r = HX_OK;
out:
	uv_close(&u);
	return r;
}

int cmd_contact(struct hctx *h, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL) {
		fputs(contact_usage, stderr);
		return HX_USAGE;
	}
	if (hx_is_help(sub)) {
		out_text(contact_usage);
		return HX_OK;
	}
	if (strcmp(sub, "set") == 0)
		return ct_set(h, argc - 1, argv + 1);
	if (strcmp(sub, "verify") == 0)
		return ct_verify(h, argc - 1, argv + 1);
	if (strcmp(sub, "remove") == 0)
		return ct_remove(h, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return ct_list(h, argc - 1, argv + 1);
	{
		char esc[40];
		rc_log_escape(sub, esc, sizeof(esc));
		fputs(contact_usage, stderr);
		return out_fail(HX_USAGE,
				"contact: unknown sub-command \"%s\" (set, verify, remove, "
				"list)",
				esc);
	}
}
