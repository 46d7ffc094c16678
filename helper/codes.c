/*
 * One-time codes sent through a channel: SECRET_CODE_DIGITS random digits, stored only as a
 * keyed hash bound to user, channel and purpose; one live code per (user, channel, purpose);
 * the try is counted before the compare; constant-time compare; single use. (The send
 * quotas that go with them are in lib/quota.c.)
 */
#include "codes.h"

#include <stdio.h>
#include <string.h>

#include "helper.h"

/* "code:CHANNEL:PURPOSE": what the hash is bound to besides the user. */
static int bound_purpose(const char *channel, const char *purpose, char *out, size_t n)
{
	return rc_snprintf(out, n, "code:%s:%s", channel, purpose) < 0 ? -1 : 0;
}

int code_issue(struct store *s, const struct seal_key *k, const char *user, const char *channel,
	       const char *purpose, int ttl, int64_t now, char *out, size_t outlen)
{
	char code[SECRET_CODE_DIGITS + 1], bp[160];
	struct store_token t;
	int r = -1;

	memset(&t, 0, sizeof(t));
	if (s == NULL || k == NULL || user == NULL || channel == NULL || purpose == NULL ||
	    out == NULL || outlen < sizeof(code) || ttl <= 0)
		goto out;
	if (bound_purpose(channel, purpose, bp, sizeof(bp)) != 0 ||
	    secret_digits(code, SECRET_CODE_DIGITS) != 0 ||
	    secret_hash(k, user, bp, code, t.hash) != 0)
		goto out;
	t.expires = now + ttl;
	/* store_token_put revokes the earlier code of the same (user, channel, purpose) */
	if (store_token_put(s, user, channel, purpose, &t) != STORE_OK)
		goto out;
	memcpy(out, code, sizeof(code));
	r = 0;
out:
	RC_WIPE_ARRAY(code);
	rc_wipe(&t, sizeof(t));
	return r;
}

int code_check(struct store *s, const struct seal_key *k, const char *user, const char *channel,
	       const char *purpose, const char *typed, int max_tries, int64_t now)
{
	unsigned char h[STORE_HASH_LEN];
	char norm[64], bp[160];
	struct store_token t;
	int r = CODE_ERROR, tr, tries = 0, match;

	memset(&t, 0, sizeof(t));
	memset(h, 0, sizeof(h));
	norm[0] = '\0';
	if (s == NULL || k == NULL || user == NULL || channel == NULL || purpose == NULL ||
	    typed == NULL || max_tries < 1 || bound_purpose(channel, purpose, bp, sizeof(bp)) != 0)
		goto out;
	/* The typed form may have spaces or dashes ("1234 5678"); anything else must be the
	 * digits. The hash is computed in every case, so a missing code costs the same. */
	int well_formed = secret_normalise(typed, norm, sizeof(norm)) == 0 &&
			  strlen(norm) == SECRET_CODE_DIGITS &&
			  strspn(norm, "0123456789") == SECRET_CODE_DIGITS;
	if (secret_hash(k, user, bp, well_formed ? norm : "-", h) != 0)
		goto out;
	tr = store_token_get(s, user, channel, purpose, &t);
	if (tr == STORE_NOTFOUND) {
		r = CODE_EXPIRED;
		goto out;
	}
	if (tr != STORE_OK)
		goto out;
	if (t.used || t.expires <= now) {
		r = CODE_EXPIRED;
		goto out;
	}
	if (t.attempts >= max_tries) {
		r = CODE_LOCKED;
		goto out;
	}
	/* Count the try before comparing: parallel guesses each take a try of their own. */
	if (store_token_attempt(s, user, channel, purpose, &tries) != STORE_OK)
		goto out;
	if (tries > max_tries) {
		r = CODE_LOCKED;
		goto out;
	}
	match = secret_equal(h, t.hash);
	if (!match || !well_formed) {
		r = tries >= max_tries ? CODE_LOCKED : CODE_WRONG;
		goto out;
	}
	tr = store_token_consume(s, user, channel, purpose);
	if (tr == STORE_CONFLICT) {
		r = CODE_EXPIRED; /* used by a parallel run a moment ago */
		goto out;
	}
	if (tr != STORE_OK)
		goto out;
	r = CODE_OK;
out:
	RC_WIPE_ARRAY(h);
	RC_WIPE_ARRAY(norm);
	rc_wipe(&t, sizeof(t));
	return r;
}

int code_void(struct store *s, const char *user, const char *channel, const char *purpose)
{
	int r = store_token_consume(s, user, channel, purpose);

	return r == STORE_OK || r == STORE_CONFLICT || r == STORE_NOTFOUND ? HX_OK : HX_IOERR;
}

int code_void_verify(struct store *s, const char *user, const char *channel)
{
	int r = code_void(s, user, channel, CODE_PURPOSE_VERIFY);

	return r == HX_OK ? code_void(s, user, channel, CODE_PURPOSE_VERIFY_NEW) : r;
}
