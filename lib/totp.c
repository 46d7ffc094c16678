/* RFC 6238 codes through liboath; our own constant-time comparison and base32. */
#include "totp.h"

#include <stdio.h>
#include <string.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "chars.h"
#include "config.h"

int totp_init(void)
{
	/* Reference counted: a program calls it once; the module once per login, with
	 * totp_done at the login's end (it lives in processes that never exit). */
	return oath_init() == OATH_OK ? 0 : -1;
}

void totp_done(void)
{
	(void)oath_done();
}

int64_t totp_step(int64_t now, int period)
{
	return period > 0 ? now / period : 0;
}

static int oath_flags(int algorithm)
{
	switch (algorithm) {
	case CFG_ALGO_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case CFG_ALGO_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	default:
		return 0;
	}
}

int totp_generate(const unsigned char *secret, size_t len, const struct totp_params *p,
		  int64_t step, char *out)
{
	if (p->period <= 0 || (p->digits != 6 && p->digits != 8) || step < 0)
		return -1;
	/* liboath counts steps from start_offset 0: the step's first second gives that step. */
	if (oath_totp_generate2((const char *)secret, len, (time_t)(step * p->period),
				(unsigned)p->period, 0, (unsigned)p->digits,
				oath_flags(p->algorithm), out) != OATH_OK)
		return -1;
	return 0;
}

int totp_verify(const unsigned char *secret, size_t len, const struct totp_params *p, int64_t now,
		int window, const char *code, int64_t *matched_step)
{
	char want[16];
	char typed[16] = {0};
	int64_t step = totp_step(now, p->period);
	int64_t found = -1;
	size_t n = strlen(code);
	int ok_len = n == (size_t)p->digits;

	if (p->digits != 6 && p->digits != 8)
		return -1;
	/* Compare against a fixed-size copy so the work does not depend on the input. */
	memcpy(typed, code, ok_len ? n : 0);
	for (int64_t i = -window; i <= window; i++) {
		if (step + i < 0)
			continue;
		if (totp_generate(secret, len, p, step + i, want) != 0) {
			RC_WIPE_ARRAY(want);
			RC_WIPE_ARRAY(typed);
			return -1;
		}
		/* Later steps win a (rare) tie so replay checks see the newest step. */
		if (sodium_memcmp(want, typed, (size_t)p->digits) == 0 && ok_len)
			found = step + i;
	}
	RC_WIPE_ARRAY(want);
	RC_WIPE_ARRAY(typed);
	if (found < 0)
		return -1;
	*matched_step = found;
	return 0;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int totp_base32_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t need = (len * 8 + 4) / 5 + 1, o = 0;
	unsigned buf = 0;
	int bits = 0;

	if (outlen < need)
		return -1;
	for (size_t i = 0; i < len; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

int totp_base32_decode(const char *in, unsigned char *out, size_t outmax, size_t *outlen)
{
	unsigned buf = 0;
	int bits = 0, pad = 0;
	size_t o = 0;

	for (const char *p = in; *p; p++) {
		int c = rc_to_upper((unsigned char)*p), v;
		const char *hit;

		if (c == ' ' || c == '-')
			continue;
		if (c == '=') {
			pad = 1;
			continue;
		}
		hit = c ? strchr(b32_alphabet, c) : NULL;
		if (hit == NULL || pad)
			return -1; /* a bad character, or data after padding */
		v = (int)(hit - b32_alphabet);
		buf = (buf << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			if (o >= outmax)
				return -1;
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
		buf &= 0xff;
	}
	*outlen = o;
	return o > 0 ? 0 : -1;
}

int totp_hex_decode(const char *in, unsigned char *out, size_t outmax, size_t *outlen)
{
	size_t n = strlen(in);

	if (n == 0 || n % 2 != 0 || n / 2 > outmax)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		unsigned hi, lo;

		if (!rc_is_xdigit((unsigned char)in[i]) || !rc_is_xdigit((unsigned char)in[i + 1]))
			return -1;
		hi = (unsigned)(rc_is_digit((unsigned char)in[i])
					? in[i] - '0'
					: rc_to_lower((unsigned char)in[i]) - 'a' + 10);
		lo = (unsigned)(rc_is_digit((unsigned char)in[i + 1])
					? in[i + 1] - '0'
					: rc_to_lower((unsigned char)in[i + 1]) - 'a' + 10);
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*outlen = n / 2;
	return 0;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static int uri_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (rc_is_alnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)*p;
		} else {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int totp_uri(const char *issuer, const char *label, const unsigned char *secret, size_t len,
	     const struct totp_params *p, char *out, size_t outlen)
{
	static const char *const names[] = {"SHA1", "SHA256", "SHA512"};
	char b32[TOTP_SECRET_MAX * 2], iss[256], lab[512], algo[32], digits[16], period[16];
	int r = -1;

	if (p->algorithm < 0 || p->algorithm > 2 || len > TOTP_SECRET_MAX)
		goto out;
	if (totp_base32_encode(secret, len, b32, sizeof(b32)) != 0 ||
	    uri_escape(issuer, iss, sizeof(iss)) != 0 || uri_escape(label, lab, sizeof(lab)) != 0)
		goto out;
	/* Minimal, so that its QR code fits a terminal: the issuer is the label's prefix (which
	 * every app reads as the issuer; no issuer= parameter repeating it), and parameters at
	 * the defaults every app assumes (SHA1, 6 digits, 30 s) are left out. */
	algo[0] = digits[0] = period[0] = '\0';
	if ((p->algorithm != 0 &&
	     rc_snprintf(algo, sizeof(algo), "&algorithm=%s", names[p->algorithm]) < 0) ||
	    (p->digits != 6 && rc_snprintf(digits, sizeof(digits), "&digits=%d", p->digits) < 0) ||
	    (p->period != 30 && rc_snprintf(period, sizeof(period), "&period=%d", p->period) < 0))
		goto out;
	if (rc_snprintf(out, outlen, "otpauth://totp/%s:%s?secret=%s%s%s%s", iss, lab, b32, algo,
			digits, period) < 0)
		goto out;
	r = 0;
out:
	RC_WIPE_ARRAY(b32);
	return r;
}
