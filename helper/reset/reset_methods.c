/*
 * The proof methods an account offers: a verified recovery e-mail, phone (SMS) or Telegram
 * chat whose channel is set up on this host, and the security question, each only when
 * reset_methods allows it.
 *
 * Unknown user names, and accounts without a usable method, get a plausible list instead,
 * derived from a keyed hash of the name (so the same name always shows the same list, and
 * nobody without the key can tell it from a real one): the e-mail method whenever it is available, the others now and then,
 * with made-up masked hints and a question from the configured list.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>

#include "channel/channel.h"
#include "contacts.h"
#include "out.h"

int reset_method_parse(const char *id)
{
	int m = method_parse(id);

	if (m >= 0)
		return m;
	if (strcmp(id, "phone") == 0)
		return METHOD_SMS;
	if (strcmp(id, "e-mail") == 0)
		return METHOD_EMAIL;
	return -1;
}

/* Is the method allowed by reset_methods and (for channels) set up? */
static int available(const struct reset *r, int m)
{
	if (!(r->cfg.reset_method_mask & method_bit(m)))
		return 0;
	return m == METHOD_QUESTION || channel_configured(&r->cfg, m, NULL, 0);
}

static void add(struct reset *r, int m, const char *hint)
{
	struct reset_offer *o = &r->offers[r->n_offers++];

	o->method = m;
	snprintf(o->hint, sizeof(o->hint), "%s", hint);
}

static const char *const default_questions[] = {
	"What was the name of your first pet?",
	"In what city were you born?",
	"What was the name of your first school?",
	"What is your mother's maiden name?",
};
#define N_DEFAULT_Q (sizeof(default_questions) / sizeof(default_questions[0]))

/* A question for an unknown user: from the configured list, else a common one. */
static void fake_question(struct reset *r, unsigned pick)
{
	size_t nq = cfg_question_count(&r->cfg);

	if (nq > 0 && cfg_question(&r->cfg, pick % nq, r->question, sizeof(r->question)) == 0)
		return;
	snprintf(r->question, sizeof(r->question), "%s", default_questions[pick % N_DEFAULT_Q]);
}

static const char *const domains[] = {"gmail.com", "outlook.com", "yahoo.com",   "gmx.net",
				      "proton.me", "icloud.com",  "hotmail.com", "mail.com"};
static const char *const prefixes[] = {"+1", "+44", "+49", "+33", "+371", "+31", "+39", "+34"};

static void fake_offers(struct reset *r)
{
	unsigned char h[STORE_HASH_LEN];
	char value[64], hint[128];

	if (secret_hash(&r->key, r->user, "reset:unknown-user", "", h) != 0)
		memset(h, 0, sizeof(h));
	if (available(r, METHOD_EMAIL)) {
		snprintf(value, sizeof(value), "%c%c%c%c@%s", 'a' + h[1] % 26, 'a' + h[2] % 26,
			 'a' + h[3] % 26, 'a' + h[4] % 26, domains[h[5] % 8]);
		channel_mask(METHOD_EMAIL, value, hint, sizeof(hint));
		add(r, METHOD_EMAIL, hint);
	}
	if (available(r, METHOD_SMS) && (h[0] & 3) == 0) {
		size_t o = (size_t)snprintf(value, sizeof(value), "%s", prefixes[h[6] % 8]);
		for (int i = 0; o < 12 && i < 12; i++, o++)
			value[o] = (char)('0' + h[7 + i] % 10);
		value[o] = '\0';
		channel_mask(METHOD_SMS, value, hint, sizeof(hint));
		add(r, METHOD_SMS, hint);
	}
	if (available(r, METHOD_TELEGRAM) && (h[0] & 12) == 0) {
		snprintf(value, sizeof(value), "%u%u", 1u + h[20] % 9,
			 (unsigned)h[21] * 3917u + h[22]);
		channel_mask(METHOD_TELEGRAM, value, hint, sizeof(hint));
		add(r, METHOD_TELEGRAM, hint);
	}
	if (available(r, METHOD_QUESTION) && ((h[0] & 16) == 0 || r->n_offers == 0)) {
		fake_question(r, h[23]);
		add(r, METHOD_QUESTION, "");
	}
	RC_WIPE_ARRAY(h);
	RC_WIPE_ARRAY(value);
}

int reset_methods(struct reset *r)
{
	char value[CONTACT_VALUE_MAX], hint[128];
	int rc = HX_OK;

	r->n_offers = 0;
	r->question[0] = '\0';
	if (r->known || (strchr(r->user, '@') != NULL && !r->superuser)) {
		for (int m = METHOD_EMAIL; m <= METHOD_TELEGRAM; m++) {
			int verified = 0;
			if (!available(r, m))
				continue;
			/* contact kinds and channel kinds share their numbers (email, phone, tg) */
			int cr = contact_read(r->store, &r->key, r->user, m, value, sizeof(value),
					      &verified);
			if (cr == HX_NOUSER || (cr == HX_OK && !verified))
				continue;
			if (cr != HX_OK) {
				reset_error(r, "store", 1,
					    "The recovery contacts of this account cannot be read; "
					    "nothing changed.");
				rc = cr == HX_SOFTWARE ? HX_SOFTWARE : HX_IOERR;
				goto out;
			}
			channel_mask(m, value, hint, sizeof(hint));
			add(r, m, hint);
		}
		if (available(r, METHOD_QUESTION)) {
			struct store_question q;
			int qr = store_question_get(r->store, r->user, &q);
			if (qr == STORE_OK && q.answer_hash[0] != '\0') {
				snprintf(r->question, sizeof(r->question), "%s", q.question);
				add(r, METHOD_QUESTION, "");
			} else if (qr != STORE_OK && qr != STORE_NOTFOUND) {
				rc_wipe(&q, sizeof(q));
				reset_error(r, "store", 1,
					    "The state store cannot be used; nothing changed.");
				rc = HX_IOERR;
				goto out;
			}
			rc_wipe(&q, sizeof(q));
		}
		/* A virtual mail user (name@domain) with recovery data is a known account. */
		if (!r->known && r->n_offers > 0)
			r->known = 1;
	}
	if (!r->known)
		fake_offers(r);
	else if (r->n_offers == 0) {
		/* A real account without a usable recovery method gets the same kind of answer as
		 * an unknown name (a plausible list; nothing is ever sent): the answer must not
		 * tell which names are accounts. The code steps point to support. */
		reset_audit(r, "reset-no-method", NULL, "no usable recovery method");
		fake_offers(r);
	}
out:
	RC_WIPE_ARRAY(value);
	return rc;
}
