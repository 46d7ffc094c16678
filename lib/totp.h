/* RFC 6238 TOTP (via liboath), base32 and otpauth:// URIs. */
#ifndef RC_TOTP_H
#define RC_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define TOTP_SECRET_MAX 64

struct totp_params {
	int algorithm; /* enum cfg_algo */
	int digits;    /* 6 or 8 */
	int period;    /* seconds */
};

/* Global init of liboath, reference counted: before any other call here (liboath built
 * on a crypto library needs it). totp_done gives one reference back. */
int totp_init(void) RC_MUST_CHECK;
void totp_done(void);

/* Generate the code for time step `step` into out (digits + 1 bytes). */
int totp_generate(const unsigned char *secret, size_t len, const struct totp_params *p,
		  int64_t step, char *out) RC_MUST_CHECK;

/*
 * Check `code` against steps now_step-window .. now_step+window, comparing in constant
 * time and always computing every step. On a match returns 0 and sets *matched_step;
 * otherwise -1.
 */
int totp_verify(const unsigned char *secret, size_t len, const struct totp_params *p, int64_t now,
		int window, const char *code, int64_t *matched_step) RC_MUST_CHECK;

int64_t totp_step(int64_t now, int period);

/* RFC 4648 base32 without padding. Encode: out needs ((len*8+4)/5)+1 bytes. */
int totp_base32_encode(const unsigned char *in, size_t len, char *out, size_t outlen) RC_MUST_CHECK;
/* Decode, ignoring spaces, dashes and case; padding allowed. -1 on bad input. */
int totp_base32_decode(const char *in, unsigned char *out, size_t outmax,
		       size_t *outlen) RC_MUST_CHECK;
/* Hex (pam_oath usersfile). */
int totp_hex_decode(const char *in, unsigned char *out, size_t outmax,
		    size_t *outlen) RC_MUST_CHECK;

/* otpauth://totp/ISSUER:ACCOUNT?secret=...[&algorithm=...][&digits=...][&period=...], each
 * parameter only when it differs from SHA1, 6, 30 (a short URI, a small QR code); issuer and
 * account percent-encoded. 0 or -1 (too long). */
int totp_uri(const char *issuer, const char *label, const unsigned char *secret, size_t len,
	     const struct totp_params *p, char *out, size_t outlen) RC_MUST_CHECK;

#endif
