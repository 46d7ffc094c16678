/*
 * Secrets at rest: XChaCha20-Poly1305 (libsodium AEAD) under a key derived from key_file,
 * with "user" and "field" bound in as associated data, so a record copied to another user
 * or another field does not open. Format: version(1) || nonce(24) || ciphertext+tag.
 */
#ifndef RC_SEAL_H
#define RC_SEAL_H

#include <stddef.h>

#include "util.h"

#define SEAL_KEY_LEN 32
#define SEAL_OVERHEAD (1 + 24 + 16)

struct seal_key {
	unsigned char seal[SEAL_KEY_LEN]; /* AEAD key */
	unsigned char hash[SEAL_KEY_LEN]; /* key for keyed hashes of codes and app passwords */
};

/* Load and derive from key_file (exactly 32 bytes, root-owned, mode 0400/0600). */
int seal_key_load(const char *path, struct seal_key *k, char *err, size_t errlen) RC_MUST_CHECK;
/* Create key_file with 32 random bytes, 0400 root, atomically; fails if it exists. */
int seal_key_create(const char *path, char *err, size_t errlen) RC_MUST_CHECK;
void seal_key_wipe(struct seal_key *k);

/* out must hold len + SEAL_OVERHEAD bytes. 0 or -1. */
int seal_encrypt(const struct seal_key *k, const char *user, const char *field,
		 const unsigned char *in, size_t len, unsigned char *out,
		 size_t *outlen) RC_MUST_CHECK;
/* out must hold inlen - SEAL_OVERHEAD bytes. -1 on tamper, wrong user/field, or bad format. */
int seal_decrypt(const struct seal_key *k, const char *user, const char *field,
		 const unsigned char *in, size_t inlen, unsigned char *out,
		 size_t *outlen) RC_MUST_CHECK;

#endif
