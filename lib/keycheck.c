/* The key-check record (keycheck.h): sealed under user "*" (no user name can be "*") and
 * field "key_check", so it can never stand in for a user's record or be mistaken for one. */
#include "keycheck.h"

#include <string.h>

#include <sodium.h>

#define KC_USER "*"
#define KC_FIELD "key_check"
#define KC_VALUE "pam_recover key check 1"
#define KC_NAME_SIZE 129 /* store.h: user names are 1..128 bytes */

int keycheck_verify(struct store *s, const struct seal_key *k)
{
	unsigned char sealed[STORE_SEALED_MAX], plain[STORE_SEALED_MAX];
	size_t len = 0, plen = 0;
	int r;

	r = store_keycheck_get(s, sealed, sizeof(sealed), &len);
	if (r == STORE_NOTFOUND)
		return KEYCHECK_MISSING;
	if (r != STORE_OK)
		return KEYCHECK_ERR;
	if (len < SEAL_OVERHEAD)
		return KEYCHECK_ERR;
	if (seal_decrypt(k, KC_USER, KC_FIELD, sealed, len, plain, &plen) != 0)
		r = KEYCHECK_WRONG_KEY;
	else if (plen != sizeof(KC_VALUE) - 1 || sodium_memcmp(plain, KC_VALUE, plen) != 0)
		r = KEYCHECK_ERR; /* opens, but is not ours: damaged */
	else
		r = KEYCHECK_OK;
	RC_WIPE_ARRAY(plain);
	return r;
}

static int first_user(void *ctx, const char *user, int64_t created)
{
	(void)created;
	return rc_snprintf(ctx, KC_NAME_SIZE, "%s", user) < 0 ? -1 : 1;
}

/* A store made before the record existed: before sealing one, the key must open the
 * secret of an enrolled user (if there is one), or the record would bless the wrong key. */
static int opens_records(struct store *s, const struct seal_key *k)
{
	char user[KC_NAME_SIZE] = "";
	struct store_totp t;
	unsigned char secret[STORE_SEALED_MAX];
	size_t slen = 0;
	int r;

	if (store_totp_list(s, first_user, user) < 0)
		return KEYCHECK_ERR;
	if (user[0] == '\0')
		return KEYCHECK_OK;
	memset(&t, 0, sizeof(t));
	if (store_totp_get(s, user, &t) != STORE_OK || t.sealed_len < SEAL_OVERHEAD)
		return KEYCHECK_ERR;
	r = seal_decrypt(k, user, "totp", t.sealed, t.sealed_len, secret, &slen) == 0
		    ? KEYCHECK_OK
		    : KEYCHECK_WRONG_KEY;
	RC_WIPE_ARRAY(secret);
	rc_wipe(&t, sizeof(t));
	return r;
}

int keycheck_ensure(struct store *s, const struct seal_key *k, int64_t now, int *created)
{
	unsigned char sealed[sizeof(KC_VALUE) - 1 + SEAL_OVERHEAD];
	size_t len = 0;
	int r;

	*created = 0;
	r = keycheck_verify(s, k);
	if (r != KEYCHECK_MISSING)
		return r;
	r = opens_records(s, k);
	if (r != KEYCHECK_OK)
		return r;
	if (seal_encrypt(k, KC_USER, KC_FIELD, (const unsigned char *)KC_VALUE,
			 sizeof(KC_VALUE) - 1, sealed, &len) != 0)
		return KEYCHECK_ERR;
	r = store_keycheck_put(s, sealed, len, now);
	if (r == STORE_CONFLICT) /* another admin init was faster: check what it wrote */
		return keycheck_verify(s, k);
	if (r != STORE_OK)
		return KEYCHECK_ERR;
	*created = 1;
	return KEYCHECK_OK;
}
