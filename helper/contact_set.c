/*
 * `contact set email|phone|telegram` and `contact verify`: a new contact counts only after
 * the user types a code that was sent through it.
 *
 * - No verified contact of that kind yet: the new value is stored unverified as soon as its
 *   code went out (purpose "verify"); typing the code, now or later with `contact verify`,
 *   marks it verified.
 * - A verified contact exists: the new value is kept in memory and replaces it only when its
 *   code is typed in the same run (purpose "verify-new"), so a typo never costs the user a
 *   working recovery address.
 * Telegram has no address to type: the user sends a start code to the bot, the helper finds
 * the chat with getUpdates, and then verifies it like the others.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "codes.h"
#include "contact_int.h"
#include "factor.h"
#include "identity.h"
#include "out.h"
#include "quota.h"
#include "channel/telegram.h"
#include "tty.h"

#define CODE_INPUT_MAX 64
#define LINK_ROUNDS 5

static const char set_usage[] =
	"Usage: pam-recover contact set email ADDRESS [--user USER] [--json]\n"
	"       pam-recover contact set phone NUMBER [--user USER] [--json]\n"
	"       pam-recover contact set telegram [--user USER] [--json]\n"
	"       pam-recover contact set question [--question TEXT] [--user USER] [--json]\n"
	"\n"
	"Set a recovery contact, after your password (and, while 2-step verification is on, a\n"
	"current code from the app). A code is sent to the new e-mail address\n"
	"or phone number (SMS), and you type it here; press Enter instead to finish later with\n"
	"`pam-recover contact verify email|phone`. NUMBER is in international form (+ and the\n"
	"country code). For Telegram you send a start code to the site's bot (a link is shown),\n"
	"then type the code the bot sends back. For the security question you pick one of the\n"
	"site's questions or write your own, then type the answer twice (case and extra spaces\n"
	"do not matter later).\n"
	"\n"
	"  --question TEXT  the question (or the number of one of the site's questions)\n"
	"  --user USER      act for USER (root only; no password is asked)\n"
	"  --json           steps as JSON objects on stdout, answers as JSON objects on stdin:\n"
	"                   {\"step\":\"code\",\"channel\":\"email\",\"sent_to\":MASKED} <- {\"code\":...}\n"
	"                   {\"step\":\"telegram\",\"bot\":NAME,\"link\":URL,\"start_code\":CODE}\n"
	"                       <- {\"ready\":\"yes\"}\n"
	"                   {\"step\":\"question\",\"questions\":[...]} <- {\"question\":TEXT or N}\n"
	"                   {\"step\":\"answer\"} <- {\"answer\":...}\n"
	"                   (and {\"password\":...} first, for a caller that is not root, then\n"
	"                   {\"current_code\":...} while 2-step verification is on)\n"
	"\n"
	"Exit status: 0 done (or saved, to be verified later), 1 wrong or expired code, 65 not\n"
	"a valid address or number, or on this host's own mail domain, 69 the message could\n"
	"not be sent (nothing changed), 75 too many codes or tries (try later), 78 not set up\n"
	"on this host.\n";

static const char verify_usage[] =
	"Usage: pam-recover contact verify email|phone|telegram [--resend] [--user USER] [--json]\n"
	"\n"
	"Type the code that was sent to your new recovery contact, to finish `contact set`.\n"
	"  --resend  send a new code first (the old one stops working)\n";

static int ttl_of(const struct cfg *c, int kind)
{
	return kind == METHOD_EMAIL ? c->email_code_ttl : c->sms_code_ttl;
}

/* The message that carries a verification code. */
static int compose(const struct uverb *u, int kind, const char *code, char *subject, size_t sn,
		   char *text, size_t tn)
{
	char site[256];
	const char *name = hx_issuer(&u->cfg, site, sizeof(site));
	int minutes = (ttl_of(&u->cfg, kind) + 59) / 60;

	if (rc_snprintf(subject, sn, "Confirm your %s for %s", method_label(kind), name) < 0)
		return -1;
	if (kind == METHOD_EMAIL)
		return rc_snprintf(text, tn,
				   "Hello,\n\n"
				   "someone, hopefully you, asked to use this address as the "
				   "recovery e-mail of the account %s on %s.\n\n"
				   "Your confirmation code: %s\n\n"
				   "Type it where pam-recover asks for it. It is valid for %d "
				   "minute%s and works once.\n\n"
				   "If this was not you, ignore this message: nothing changes "
				   "without the code.\n",
				   u->user, name, code, minutes, minutes == 1 ? "" : "s") < 0
			       ? -1
			       : 0;
	return rc_snprintf(text, tn,
			   "%s: your code to confirm this %s for the account %s is %s "
			   "(valid %d min). Not you? Ignore this message.",
			   name, kind == METHOD_SMS ? "phone" : "chat", u->user, code, minutes) < 0
		       ? -1
		       : 0;
}

/*
 * Reserve the send under every quota (caller, account, destination, SMS budget) and issue
 * its code, in one transaction, before anything goes out: parallel runs cannot pass a limit.
 * `peek`: only look (roll back even when allowed). HX_OK, or an exit status after the message.
 */
static int reserve(struct hctx *h, struct uverb *u, int kind, const char *value,
		   const char *purpose, int peek, char *code, size_t n, int64_t now)
{
	char caller[QUOTA_CALLER_MAX];
	const char *chan = ct_channel(kind);
	int qr = QUOTA_ERROR, ok;

	if (quota_caller((long)h->ruid, NULL, caller, sizeof(caller)) != 0)
		return out_fail(HX_SOFTWARE, "%s: internal error (caller)", u->name);
	const struct quota_req q = {caller, u->user, chan, value};
	if (hx_txn_begin(u->store) != 0)
		return uv_store_fail(u);
	qr = quota_reserve(u->store, &u->cfg, &u->key, &q, now);
	ok = !peek && qr == QUOTA_OK &&
	     code_issue(u->store, &u->key, u->user, chan, purpose, ttl_of(&u->cfg, kind), now, code,
			n) == 0;
	if (hx_txn_end(u->store, ok) != 0 && !peek && qr == QUOTA_OK)
		return uv_store_fail(u);
	if (qr == QUOTA_ERROR)
		return uv_store_fail(u);
	if (qr != QUOTA_OK) {
		uv_log(h, u, "contact-send-limited", chan);
		return out_fail(HX_TEMPFAIL, "%s: %s; nothing was sent", u->name,
				quota_message(qr));
	}
	return HX_OK;
}

/* A reserved send that did not go out: its code void, its reservation given back. */
static void unsend(struct hctx *h, struct uverb *u, int kind, const char *value,
		   const char *purpose, int64_t now)
{
	char caller[QUOTA_CALLER_MAX];
	const struct quota_req q = {caller, u->user, ct_channel(kind), value};

	if (quota_caller((long)h->ruid, NULL, caller, sizeof(caller)) != 0 ||
	    hx_txn_begin(u->store) != 0 ||
	    hx_txn_end(u->store,
		       code_void(u->store, u->user, ct_channel(kind), purpose) == HX_OK &&
			       quota_release(u->store, &u->cfg, &u->key, &q, now) == QUOTA_OK) != 0)
		out_warn("%s: could not give back the unsent code: %s", u->name,
			 store_errmsg(u->store));
}

int ct_send_code(struct hctx *h, struct uverb *u, int kind, const char *value, const char *purpose)
{
	char code[SECRET_CODE_DIGITS + 1], subject[300], text[1200], err[512], masked[300];
	const char *chan = ct_channel(kind);
	int64_t now = rc_now();
	int r, ok;

	code[0] = text[0] = '\0';
	ct_mask(kind, value, masked, sizeof(masked));
	if ((r = reserve(h, u, kind, value, purpose, 0, code, sizeof(code), now)) != HX_OK)
		goto out;
	if (compose(u, kind, code, subject, sizeof(subject), text, sizeof(text)) != 0) {
		unsend(h, u, kind, value, purpose, now);
		r = out_fail(HX_SOFTWARE, "%s: the message does not fit; nothing was sent",
			     u->name);
		goto out;
	}
	r = channel_send_code(&u->cfg, kind, value, subject, text, code, err, sizeof(err));
	if (r != HX_OK) {
		/* Nothing went out: the code is void and the quota given back. */
		unsend(h, u, kind, value, purpose, now);
		uv_log(h, u, "contact-send-failed", chan);
		r = out_fail(r, "%s: could not send the code to %s: %s. Nothing changed.", u->name,
			     masked, err);
		goto out;
	}
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	ok = 1;
	if (strcmp(purpose, CODE_PURPOSE_VERIFY) == 0)
		ok = contact_write(u->store, &u->key, u->user, kind, value, 0) == HX_OK;
	char detail[320];
	if (rc_snprintf(detail, sizeof(detail), "%s %s", hx_contact_kind_name(kind), masked) < 0)
		detail[0] = '\0';
	ok = ok && uv_audit(h, u, "contact-code-sent", detail) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	uv_log(h, u, "contact-code-sent", detail);
	if (!out_json_mode())
		out_info("A code was sent to %s. It is valid for %d minute%s.", masked,
			 (ttl_of(&u->cfg, kind) + 59) / 60,
			 (ttl_of(&u->cfg, kind) + 59) / 60 == 1 ? "" : "s");
	r = HX_OK;
out:
	RC_WIPE_ARRAY(code);
	RC_WIPE_ARRAY(text);
	return r;
}

/* The change a matching code allows, with its audit event, in one transaction. */
static int commit_verified(struct hctx *h, struct uverb *u, int kind, const char *value,
			   const char *purpose)
{
	char masked[300], detail[320];
	int ok;

	ct_mask(kind, value, masked, sizeof(masked));
	if (rc_snprintf(detail, sizeof(detail), "%s %s", hx_contact_kind_name(kind), masked) < 0)
		detail[0] = '\0';
	if (hx_txn_begin(u->store) != 0)
		return uv_store_fail(u);
	if (strcmp(purpose, CODE_PURPOSE_VERIFY) == 0) {
		ok = store_contact_set_verified(u->store, u->user, kind) == STORE_OK;
	} else
		ok = contact_write(u->store, &u->key, u->user, kind, value, 1) == HX_OK;
	ok = ok && code_void_verify(u->store, u->user, ct_channel(kind)) == HX_OK &&
	     uv_audit(h, u, "contact-verified", detail) == 0;
	if (hx_txn_end(u->store, ok) != 0)
		return uv_store_fail(u);
	uv_log(h, u, "contact-verified", detail);
	return HX_OK;
}

static int tries_left(struct uverb *u, const char *chan, const char *purpose)
{
	struct store_token t;
	int left = 0;

	if (store_token_get(u->store, u->user, chan, purpose, &t) == STORE_OK)
		left = u->cfg.code_attempts - t.attempts;
	rc_wipe(&t, sizeof(t));
	return left > 0 ? left : 0;
}

static void say_done(const struct uverb *u, int kind, const char *value, int verified)
{
	char masked[300];

	ct_mask(kind, value, masked, sizeof(masked));
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "kind", hx_contact_kind_name(kind));
		oj_str(o, "value", masked);
		oj_bool(o, "verified", verified);
		out_json(o);
	} else if (verified)
		out_info(
			"Done: %s is now the verified %s of %s. It can be used to reset a forgotten "
			"password with `pam-recover reset`.",
			masked, method_label(kind), u->user);
}

int ct_ask_code(struct hctx *h, struct uverb *u, int kind, const char *value, const char *purpose,
		int *later)
{
	char typed[CODE_INPUT_MAX], masked[300];
	const char *chan = ct_channel(kind);
	int r = HX_SOFTWARE;

	(void)h;
	*later = 0;
	typed[0] = '\0';
	ct_mask(kind, value, masked, sizeof(masked));
	for (;;) {
		if (out_json_mode()) {
			struct json_object *o = oj_object();
			oj_str(o, "step", "code");
			oj_str(o, "channel", chan);
			oj_str(o, "sent_to", masked);
			out_json(o);
		}
		r = tty_ask("code", "Code (or press Enter to finish later): ", 0, typed,
			    sizeof(typed));
		if (r != HX_OK || typed[strspn(typed, " \t")] == '\0') {
			*later = 1;
			goto out;
		}
		/* One transaction, as a reset code's check: a new code sent meanwhile can neither
		 * be voided by this check's consume nor let the code it replaced pass. */
		int cr = CODE_ERROR;

		if (hx_txn_begin(u->store) == 0) {
			cr = code_check(u->store, &u->key, u->user, chan, purpose, typed,
					u->cfg.code_attempts, rc_now());
			if (hx_txn_end(u->store, cr != CODE_ERROR) != 0)
				cr = CODE_ERROR;
		}
		RC_WIPE_ARRAY(typed);
		switch (cr) {
		case CODE_OK:
			r = commit_verified(h, u, kind, value, purpose);
			if (r == HX_OK)
				say_done(u, kind, value, 1);
			goto out;
		case CODE_WRONG: {
			int left = tries_left(u, chan, purpose);
			uv_log(h, u, "contact-code-wrong", chan);
			if (out_json_mode() || left <= 0) {
				r = out_fail(HX_WRONG, "%s: wrong code (%d %s left)", u->name, left,
					     left == 1 ? "try" : "tries");
				if (out_json_mode())
					continue; /* the front end may send another code */
				goto out;
			}
			out_warn("wrong code; %d %s left", left, left == 1 ? "try" : "tries");
			continue;
		}
		case CODE_LOCKED:
			uv_log(h, u, "contact-code-locked", chan);
			r = out_fail(
				HX_TEMPFAIL,
				"%s: too many wrong codes: this code no longer works. Ask for a "
				"new one with `pam-recover contact %s` (at most %d codes an hour)",
				u->name,
				strcmp(purpose, CODE_PURPOSE_VERIFY) == 0
					? (kind == METHOD_EMAIL ? "verify email --resend"
					   : kind == METHOD_SMS ? "verify phone --resend"
								: "verify telegram --resend")
					: "set ... again",
				u->cfg.sends_per_hour);
			goto out;
		case CODE_EXPIRED:
			r = out_fail(
				HX_WRONG,
				"%s: the code has expired or was already used; ask for a new one "
				"(`pam-recover contact verify %s --resend`, or `contact set` again)",
				u->name, hx_contact_kind_name(kind));
			goto out;
		default:
			r = uv_store_fail(u);
			goto out;
		}
	}
out:
	RC_WIPE_ARRAY(typed);
	return r;
}

/* After the code prompt was left: what is kept, and how to finish. */
static int finish_later(const struct uverb *u, int kind, const char *value, const char *purpose,
			int ask_status)
{
	char masked[300];

	ct_mask(kind, value, masked, sizeof(masked));
	if (strcmp(purpose, CODE_PURPOSE_VERIFY) == 0) {
		if (out_json_mode())
			say_done(u, kind, value, 0);
		else
			out_info("%s is saved as your %s but does not count until it is verified: "
				 "run `pam-recover contact verify %s` and type the code within %d "
				 "minute%s.",
				 masked, method_label(kind), hx_contact_kind_name(kind),
				 (ttl_of(&u->cfg, kind) + 59) / 60,
				 (ttl_of(&u->cfg, kind) + 59) / 60 == 1 ? "" : "s");
		(void)ask_status; /* saved and sent: a consistent state however the prompt ended */
		return HX_OK;
	}
	return out_fail(ask_status == HX_OK ? HX_WRONG : ask_status,
			"%s: no code was typed: %s was not saved, and your verified %s stays as "
			"it was",
			u->name, masked, method_label(kind));
}

/* Send a code to value and ask for it; the common tail of set email/phone/telegram. */
static int verify_value(struct hctx *h, struct uverb *u, int kind, const char *value,
			int have_verified)
{
	const char *purpose = have_verified ? CODE_PURPOSE_VERIFY_NEW : CODE_PURPOSE_VERIFY;
	int r, later = 0;

	if ((r = ct_send_code(h, u, kind, value, purpose)) != HX_OK)
		return r;
	r = ct_ask_code(h, u, kind, value, purpose, &later);
	if (later)
		r = finish_later(u, kind, value, purpose, r);
	return r;
}

/* ---- Telegram: find the chat that sent the start code ---- */

static int find_chat(const struct uverb *u, const char *start, const char *bot, char *chat,
		     size_t n)
{
	struct tg_candidate cand[TG_CANDIDATES_MAX];
	char ready[16], err[512];
	size_t count = 0;
	int r = HX_WRONG;

	for (int round = 0; round < LINK_ROUNDS; round++) {
		if ((r = tty_ask("ready", "Press Enter once you have sent it to the bot: ", 0,
				 ready, sizeof(ready))) != HX_OK)
			goto out;
		if ((r = channel_tg_updates(&u->cfg, cand, TG_CANDIDATES_MAX, &count, err,
					    sizeof(err))) != HX_OK) {
			r = out_fail(r, "%s: %s; nothing changed", u->name, err);
			goto out;
		}
		for (size_t i = 0; i < count; i++) {
			if (strlen(cand[i].code) == strlen(start) &&
			    sodium_memcmp(cand[i].code, start, strlen(start)) == 0 &&
			    rc_snprintf(chat, n, "%s", cand[i].chat) > 0) {
				r = HX_OK;
				goto out;
			}
		}
		if (out_json_mode()) {
			struct json_object *o = oj_object();
			oj_str(o, "step", "telegram");
			oj_str(o, "status", "not received yet");
			out_json(o);
		} else
			out_info(
				"The bot has not received the code yet. Send /start %s to @%s, then "
				"press Enter again.",
				start, bot);
	}
	r = out_fail(HX_WRONG,
		     "%s: the bot did not receive the start code; nothing changed. Run "
		     "`pam-recover contact set telegram` again",
		     u->name);
out:
	rc_wipe(cand, sizeof(cand));
	return r;
}

static int link_telegram(struct hctx *h, struct uverb *u, const char *old, int old_verified)
{
	char start[SECRET_CODE_DIGITS + 1], bot[TG_NAME_MAX], link[200], chat[32], err[512];
	int r;

	start[0] = chat[0] = '\0';
	/* Over a limit already: say so before the user links a chat (nothing counted yet; the
	 * code sent to the chat is reserved when it goes out). */
	if ((r = reserve(h, u, METHOD_TELEGRAM, NULL, CODE_PURPOSE_VERIFY, 1, start, sizeof(start),
			 rc_now())) != HX_OK)
		return r;
	if ((r = channel_tg_botname(&u->cfg, bot, sizeof(bot), err, sizeof(err))) != HX_OK)
		return out_fail(r, "%s: %s; nothing changed", u->name, err);
	if (secret_digits(start, SECRET_CODE_DIGITS) != 0 ||
	    rc_snprintf(link, sizeof(link), "https://t.me/%s?start=%s", bot, start) < 0) {
		r = out_fail(HX_SOFTWARE, "%s: cannot make a start code", u->name);
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_str(o, "step", "telegram");
		oj_str(o, "bot", bot);
		oj_str(o, "link", link);
		oj_str(o, "start_code", start);
		out_json(o);
	} else {
		out_info("Link your Telegram account to %s:", u->user);
		out_info("  open %s in Telegram and press Start,", link);
		out_info("  or find @%s in Telegram and send it:  /start %s", bot, start);
	}
	if ((r = find_chat(u, start, bot, chat, sizeof(chat))) != HX_OK)
		goto out;
	if (old != NULL && old_verified && strcmp(old, chat) == 0) {
		if (out_json_mode())
			say_done(u, METHOD_TELEGRAM, chat, 1);
		else
			out_info(
				"This Telegram chat is already your verified recovery chat; nothing "
				"changed.");
		r = HX_OK;
		goto out;
	}
	r = verify_value(h, u, METHOD_TELEGRAM, chat, old != NULL && old_verified);
out:
	RC_WIPE_ARRAY(start);
	return r;
}

/* ---- contact set ---- */

int ct_set(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	const char *opt_question = NULL;
	const struct hx_opt opts[] = {{"question", &opt_question, NULL}};
	char *pos[2];
	char value[CONTACT_VALUE_MAX + 1], old[CONTACT_VALUE_MAX + 1];
	int r, done = HX_USAGE, npos = 0, kind, old_verified = 0, orr;

	memset(&u, 0, sizeof(u));
	value[0] = old[0] = '\0';
	u.name = "contact set";
	if (uv_parse(h, &u, set_usage, argc, argv, opts, 1, pos, 1, 2, &npos, &done) != 0)
		return done;
	kind = contact_kind_parse(pos[0]);
	if (kind < 0 || (kind != METHOD_QUESTION && opt_question != NULL) ||
	    ((kind == METHOD_EMAIL || kind == METHOD_SMS) && npos != 2) ||
	    ((kind == METHOD_TELEGRAM || kind == METHOD_QUESTION) && npos != 1)) {
		fputs(set_usage, stderr);
		return out_fail(HX_USAGE, "contact set: expected `email ADDRESS`, `phone NUMBER`, "
					  "`telegram` or `question`");
	}
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if ((r = ct_available(&u, kind)) != HX_OK)
		goto out;
	if (kind == METHOD_EMAIL || kind == METHOD_SMS) {
		if ((r = ct_value(&u.cfg, u.name, kind, pos[1], value, sizeof(value))) != HX_OK)
			goto out;
	}
	if ((r = identity_confirm(h, &u.cfg, u.store, u.user)) != HX_OK ||
	    (r = factor_prove(h, &u, "current_code", NULL, 0, "nothing changed", NULL)) != HX_OK)
		goto out;
	if (kind == METHOD_QUESTION) {
		r = ct_set_question(h, &u, opt_question);
		goto out;
	}
	orr = contact_read(u.store, &u.key, u.user, kind, old, sizeof(old), &old_verified);
	if (orr == HX_IOERR) {
		r = uv_store_fail(&u);
		goto out;
	}
	if (orr != HX_OK) { /* none, or unreadable: nothing worth keeping */
		old[0] = '\0';
		old_verified = 0;
	}
	if (kind == METHOD_TELEGRAM) {
		r = link_telegram(h, &u, orr == HX_OK ? old : NULL, old_verified);
		goto out;
	}
	if (old_verified && strcmp(old, value) == 0) {
		if (out_json_mode())
			say_done(&u, kind, value, 1);
		else
			out_info("That is already your verified %s; nothing changed.",
				 method_label(kind));
		r = HX_OK;
		goto out;
	}
	r = verify_value(h, &u, kind, value, old_verified);
out:
	RC_WIPE_ARRAY(value);
	RC_WIPE_ARRAY(old);
	uv_close(&u);
	return r;
}

/* ---- contact verify ---- */

int ct_verify(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	int resend = 0;
	const struct hx_opt opts[] = {{"resend", NULL, &resend}};
	char *pos[1];
	char value[CONTACT_VALUE_MAX + 1];
	int r, done = HX_USAGE, npos = 0, kind, verified = 0, later = 0;

	memset(&u, 0, sizeof(u));
	value[0] = '\0';
	u.name = "contact verify";
	if (uv_parse(h, &u, verify_usage, argc, argv, opts, 1, pos, 1, 1, &npos, &done) != 0)
		return done;
	kind = contact_kind_parse(pos[0]);
	if (kind < 0 || kind == METHOD_QUESTION) {
		fputs(verify_usage, stderr);
		return out_fail(HX_USAGE, "contact verify: expected email, phone or telegram");
	}
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if ((r = identity_confirm(h, &u.cfg, u.store, u.user)) != HX_OK)
		goto out;
	r = contact_read(u.store, &u.key, u.user, kind, value, sizeof(value), &verified);
	if (r == HX_NOUSER) {
		r = out_fail(HX_NOUSER,
			     "contact verify: %s has no %s to verify; set one with "
			     "`pam-recover contact set %s`",
			     u.user, method_label(kind), hx_contact_kind_name(kind));
		goto out;
	}
	if (r != HX_OK) {
		r = r == HX_IOERR ? uv_store_fail(&u)
				  : out_fail(r,
					     "contact verify: the stored %s cannot be read; set it "
					     "again",
					     method_label(kind));
		goto out;
	}
	if (verified) {
		if (out_json_mode())
			say_done(&u, kind, value, 1);
		else
			out_info("Your %s is already verified; nothing to do.", method_label(kind));
		r = HX_OK;
		goto out;
	}
	if (resend) {
		if ((r = ct_available(&u, kind)) != HX_OK ||
		    (r = ct_send_code(h, &u, kind, value, CODE_PURPOSE_VERIFY)) != HX_OK)
			goto out;
	}
	r = ct_ask_code(h, &u, kind, value, CODE_PURPOSE_VERIFY, &later);
	if (later)
		r = finish_later(&u, kind, value, CODE_PURPOSE_VERIFY, r);
out:
	RC_WIPE_ARRAY(value);
	uv_close(&u);
	return r;
}
