/*
 * One recovery contact's value, below the contact verbs, the second-factor proof and the
 * reset: sealed at rest (seal field "contact:KIND", so a sealed e-mail copied into the phone
 * slot or to another user does not open), the kind words, and what the sub-verbs share
 * (labels, availability on this host, the check of a new value, masking). Contracts in
 * contacts.h and contact_int.h.
 */
#include <stdio.h>
#include <string.h>

#include "contact_int.h"
#include "out.h"
#include "text.h"

static const char *const fields[] = {"contact:email", "contact:phone", "contact:telegram"};

const char *contact_seal_field(int kind)
{
	if (kind < METHOD_EMAIL || kind > METHOD_TELEGRAM)
		return NULL;
	return fields[kind];
}

int contact_kind_parse(const char *word)
{
	int m = method_parse_word(word);

	if (m >= 0 || word == NULL)
		return m;
	if (strcmp(word, "e-mail") == 0 || strcmp(word, "mail") == 0)
		return METHOD_EMAIL;
	if (strcmp(word, "sms") == 0)
		return METHOD_SMS;
	return -1;
}

int contact_read(struct store *s, const struct seal_key *k, const char *user, int kind, char *out,
		 size_t n, int *verified)
{
	struct store_contact sc;
	unsigned char plain[STORE_SEALED_MAX];
	size_t plen = 0;
	int r = HX_SOFTWARE, gr;

	memset(&sc, 0, sizeof(sc));
	if (out != NULL && n > 0)
		out[0] = '\0';
	if (verified != NULL)
		*verified = 0;
	if (s == NULL || k == NULL || user == NULL || contact_seal_field(kind) == NULL ||
	    out == NULL || n == 0)
		goto out;
	gr = store_contact_get(s, user, kind, &sc);
	if (gr == STORE_NOTFOUND) {
		r = HX_NOUSER;
		goto out;
	}
	if (gr != STORE_OK) {
		r = HX_IOERR;
		goto out;
	}
	if (seal_decrypt(k, user, contact_seal_field(kind), sc.sealed, sc.sealed_len, plain,
			 &plen) != 0 ||
	    plen == 0 || plen >= n || memchr(plain, '\0', plen) != NULL)
		goto out; /* tampered, moved, or not ours */
	memcpy(out, plain, plen);
	out[plen] = '\0';
	if (verified != NULL)
		*verified = sc.verified != 0;
	r = HX_OK;
out:
	RC_WIPE_ARRAY(plain);
	rc_wipe(&sc, sizeof(sc));
	return r;
}

int contact_write(struct store *s, const struct seal_key *k, const char *user, int kind,
		  const char *value, int verified)
{
	struct store_contact sc;
	size_t len;
	int r = HX_SOFTWARE;

	memset(&sc, 0, sizeof(sc));
	if (s == NULL || k == NULL || user == NULL || value == NULL ||
	    contact_seal_field(kind) == NULL)
		goto out;
	len = strlen(value);
	if (len == 0 || len > CONTACT_VALUE_MAX || len + SEAL_OVERHEAD > sizeof(sc.sealed)) {
		r = HX_DATAERR;
		goto out;
	}
	sc.kind = kind;
	sc.verified = verified != 0;
	sc.updated = rc_now();
	if (seal_encrypt(k, user, contact_seal_field(kind), (const unsigned char *)value, len,
			 sc.sealed, &sc.sealed_len) != 0)
		goto out;
	r = store_contact_put(s, user, &sc) == STORE_OK ? HX_OK : HX_IOERR;
out:
	rc_wipe(&sc, sizeof(sc));
	return r;
}

/* ---- shared by the sub-verbs ---- */

const char *ct_channel(int kind)
{
	return channel_name(kind);
}

int ct_available(const struct uverb *u, int kind)
{
	char why[256];

	if ((u->cfg.reset_method_mask & method_bit(kind)) == 0)
		return out_fail(
			HX_CONFIG,
			"%s: resets by %s are turned off on this host (reset_methods = %s); "
			"ask the administrator",
			u->name, method_label(kind),
			u->cfg.reset_methods != NULL ? u->cfg.reset_methods : "none");
	if (kind != METHOD_QUESTION && !channel_configured(&u->cfg, kind, why, sizeof(why)))
		return out_fail(HX_CONFIG, "%s: %s", u->name, why);
	return HX_OK;
}

void ct_mask(int kind, const char *value, char *out, size_t n)
{
	channel_mask(kind, value, out, n);
}

int ct_value(const struct cfg *c, const char *verb, int kind, const char *in, char *out, size_t n)
{
	char esc[80];

	rc_log_escape(in != NULL ? in : "", esc, sizeof(esc));
	switch (kind) {
	case METHOD_EMAIL:
		if (in == NULL || text_normalise_email(in, out, n) != 0 || !channel_email_ok(out))
			return out_fail(
				HX_DATAERR,
				"%s: \"%s\" is not an e-mail address this tool accepts (one "
				"address, local@domain.tld, no spaces, quotes or line breaks)",
				verb, esc);
		if (channel_email_is_local(c, out)) {
			const char *dom = strrchr(out, '@') + 1;
			return out_fail(
				HX_DATAERR,
				"%s: %s is on this host's own mail domain (%s). A reset code "
				"sent there lands in the mailbox you cannot open while you are "
				"locked out; give an address at another provider",
				verb, esc, dom);
		}
		return HX_OK;
	case METHOD_SMS:
		if (channel_phone_normalise(in, out, n) != 0)
			return out_fail(
				HX_DATAERR,
				"%s: \"%s\" is not a phone number in international form: write "
				"+, the country code and the number, e.g. +37126123456",
				verb, esc);
		return HX_OK;
	case METHOD_TELEGRAM:
		if (in == NULL || !channel_chat_ok(in) || rc_snprintf(out, n, "%s", in) < 0)
			return out_fail(HX_DATAERR, "%s: \"%s\" is not a Telegram chat id (digits)",
					verb, esc);
		return HX_OK;
	default:
		return out_fail(HX_USAGE, "%s: unknown contact kind", verb);
	}
}
