/*
 * One-time codes, backup codes, app passwords: make, hash, compare.
 * Hashes are keyed BLAKE2b-256 under the hash subkey, with user and purpose bound in, so a
 * stolen store does not reveal them and a hash cannot be moved between users or purposes.
 */
#ifndef RC_SECRET_H
#define RC_SECRET_H

#include <stddef.h>

#include "seal.h"
#include "store.h"
#include "util.h"

#define SECRET_BACKUP_DIGITS 8
#define SECRET_APP_PW_LEN 19 /* "xxxx-xxxx-xxxx-xxxx": 16 chars of a 32-symbol set = 80 bits */
#define SECRET_CODE_DIGITS 8 /* reset / verification codes */

/* Keyed hash of a code for a user and purpose ("backup", "app", "reset:email", ...). */
int secret_hash(const struct seal_key *k, const char *user, const char *purpose, const char *code,
		unsigned char out[STORE_HASH_LEN]) RC_MUST_CHECK;

/* n random decimal digits (uniform). out needs n + 1 bytes. */
int secret_digits(char *out, size_t n) RC_MUST_CHECK;
/* Random app password, grouped "abcd-efgh-jkmn-pqrs" (no look-alike letters). */
int secret_app_password(char out[SECRET_APP_PW_LEN + 1]) RC_MUST_CHECK;
/* Canonical form of typed input: strip spaces and dashes, lower-case. 0 or -1 if too long. */
int secret_normalise(const char *in, char *out, size_t outlen) RC_MUST_CHECK;

/* Constant-time equality of two fixed-length digests: 1 equal, 0 not. */
int secret_equal(const unsigned char a[STORE_HASH_LEN],
		 const unsigned char b[STORE_HASH_LEN]) RC_MUST_CHECK;

#endif
