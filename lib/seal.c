/* Secrets at rest: libsodium XChaCha20-Poly1305 with user and field as associated data. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define SEAL_VERSION 1
#define SEAL_AD_MAX 200
#define SEAL_KDF_CONTEXT "pamrecov"

/* "pam_recover" NUL user NUL field: unambiguous because neither part may hold a NUL. */
static int seal_ad(const char *user, const char *field, unsigned char *ad, size_t *adlen)
{
	static const char tag[] = "pam_recover";
	size_t u = strlen(user), f = strlen(field);

	if (sizeof(tag) + u + 1 + f > SEAL_AD_MAX)
		return -1;
	memcpy(ad, tag, sizeof(tag));
	memcpy(ad + sizeof(tag), user, u + 1);
	/* binary associated data, its length in *adlen: no NUL after the field */
	memcpy(ad + sizeof(tag) + u + 1, field, f); // NOLINT(bugprone-not-null-terminated-result)
	*adlen = sizeof(tag) + u + 1 + f;
	return 0;
}

int seal_key_load(const char *path, struct seal_key *k, char *err, size_t errlen)
{
	unsigned char master[SEAL_KEY_LEN + 1];
	const char *why = NULL;
	ssize_t n;
	int r = -1;
	int fd = -1;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		goto out;
	}
	fd = rc_open_trusted(path, SEAL_KEY_LEN, 1, &why);
	if (fd < 0) {
		snprintf(err, errlen, "key file %s %s%s", path, why ? why : strerror(errno),
			 errno == ENOENT ? " (run: pam-recover admin init)" : "");
		goto out;
	}
	do
		n = read(fd, master, sizeof(master));
	while (n < 0 && errno == EINTR);
	if (n != SEAL_KEY_LEN) {
		snprintf(err, errlen, "key file %s must hold exactly %d bytes", path, SEAL_KEY_LEN);
		goto out;
	}
	if (crypto_kdf_derive_from_key(k->seal, sizeof(k->seal), 1, SEAL_KDF_CONTEXT, master) !=
		    0 ||
	    crypto_kdf_derive_from_key(k->hash, sizeof(k->hash), 2, SEAL_KDF_CONTEXT, master) !=
		    0) {
		snprintf(err, errlen, "key derivation failed");
		goto out;
	}
	r = 0;
out:
	RC_WIPE_ARRAY(master);
	if (fd >= 0)
		close(fd);
	if (r != 0)
		seal_key_wipe(k);
	return r;
}

static int fsync_parent(const char *path)
{
	char copy[4096];
	int fd, r;

	if (rc_snprintf(copy, sizeof(copy), "%s", path) < 0)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Write to a fresh temporary name, fsync, then link() into place: atomic, never overwrites. */
int seal_key_create(const char *path, char *err, size_t errlen)
{
	unsigned char key[SEAL_KEY_LEN];
	char tmp[4096];
	unsigned char rnd[8];
	int fd = -1, r = -1, linked = 0;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	randombytes_buf(rnd, sizeof(rnd));
	if (rc_snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0],
			rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]) < 0) {
		snprintf(err, errlen, "key file path is too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	randombytes_buf(key, sizeof(key));
	if (fchmod(fd, 0400) != 0 || fchown(fd, 0, 0) != 0 ||
	    write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	linked = 1;
	if (fsync_parent(path) != 0) {
		snprintf(err, errlen, "cannot sync the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	RC_WIPE_ARRAY(key);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (r != 0 && linked)
		unlink(path);
	return r;
}

void seal_key_wipe(struct seal_key *k)
{
	rc_wipe(k, sizeof(*k));
}

int seal_encrypt(const struct seal_key *k, const char *user, const char *field,
		 const unsigned char *in, size_t len, unsigned char *out, size_t *outlen)
{
	unsigned char ad[SEAL_AD_MAX];
	unsigned long long clen = 0;
	size_t adlen;

	if (seal_ad(user, field, ad, &adlen) != 0)
		return -1;
	out[0] = SEAL_VERSION;
	randombytes_buf(out + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		    out + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, in, len, ad,
		    adlen, NULL, out + 1, k->seal) != 0)
		return -1;
	*outlen = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return 0;
}

int seal_decrypt(const struct seal_key *k, const char *user, const char *field,
		 const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen)
{
	unsigned char ad[SEAL_AD_MAX];
	unsigned long long mlen = 0;
	size_t adlen;

	*outlen = 0;
	if (inlen < SEAL_OVERHEAD || in[0] != SEAL_VERSION || seal_ad(user, field, ad, &adlen) != 0)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, &mlen, NULL, in + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		    inlen - 1 - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad, adlen, in + 1,
		    k->seal) != 0)
		return -1;
	*outlen = (size_t)mlen;
	return 0;
}
