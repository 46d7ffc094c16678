/* One-time codes, backup codes and app passwords: make, hash (keyed), compare. */
#include "secret.h"
#include "chars.h"

#include <string.h>

#include <sodium.h>

int secret_hash(const struct seal_key *k, const char *user, const char *purpose, const char *code,
		unsigned char out[STORE_HASH_LEN])
{
	crypto_generichash_state st;
	int r = -1;

	/* NUL separators keep (user, purpose, code) unambiguous. */
	if (crypto_generichash_init(&st, k->hash, sizeof(k->hash), STORE_HASH_LEN) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)purpose, strlen(purpose) + 1) !=
		    0 ||
	    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)code, strlen(code)) != 0 ||
	    crypto_generichash_final(&st, out, STORE_HASH_LEN) != 0)
		goto out;
	r = 0;
out:
	rc_wipe(&st, sizeof(st));
	return r;
}

int secret_digits(char *out, size_t n)
{
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[n] = '\0';
	return 0;
}

/* 32 symbols without l, o, 0, 1 (read aloud and typed on phones): 5 bits each. */
static const char app_alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";

int secret_app_password(char out[SECRET_APP_PW_LEN + 1])
{
	size_t o = 0;

	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < 16; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = app_alphabet[randombytes_uniform(32)];
	}
	out[o] = '\0';
	return 0;
}

int secret_normalise(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '\t')
			continue;
		if (o + 1 >= outlen) {
			rc_wipe(out, outlen);
			return -1;
		}
		out[o++] = (char)rc_to_lower(*p);
	}
	out[o] = '\0';
	return 0;
}

int secret_equal(const unsigned char a[STORE_HASH_LEN], const unsigned char b[STORE_HASH_LEN])
{
	return sodium_memcmp(a, b, STORE_HASH_LEN) == 0;
}
