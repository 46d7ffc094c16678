/* RFC 6238 Appendix B vectors, window and base32/hex/URI handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rc_select.h"

#include "config.h"
#include "totp.h"

static const unsigned char key1[] = "12345678901234567890";
static const unsigned char key256[] = "12345678901234567890123456789012";
static const unsigned char key512[] =
	"1234567890123456789012345678901234567890123456789012345678901234";

struct vector {
	int64_t time;
	const char *sha1, *sha256, *sha512;
};

static const struct vector rfc6238[] = {
	{59, "94287082", "46119246", "90693936"},
	{1111111109, "07081804", "68084774", "25091201"},
	{1111111111, "14050471", "67062674", "99943326"},
	{1234567890, "89005924", "91819424", "93441116"},
	{2000000000, "69279037", "90698825", "38618901"},
	{20000000000, "65353130", "77737706", "47863826"},
};

static void check(const unsigned char *key, size_t len, int algo, int64_t t, const char *want)
{
	struct totp_params p = {algo, 8, 30};
	char got[16];
	int64_t step = -1;

	assert_int_equal(totp_generate(key, len, &p, totp_step(t, 30), got), 0);
	assert_string_equal(got, want);
	assert_int_equal(totp_verify(key, len, &p, t, 0, want, &step), 0);
	assert_int_equal(step, t / 30);
}

static void test_rfc6238_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
		check(key1, 20, CFG_ALGO_SHA1, rfc6238[i].time, rfc6238[i].sha1);
		check(key256, 32, CFG_ALGO_SHA256, rfc6238[i].time, rfc6238[i].sha256);
		check(key512, 64, CFG_ALGO_SHA512, rfc6238[i].time, rfc6238[i].sha512);
	}
}

static void test_window(void **state)
{
	struct totp_params p = {CFG_ALGO_SHA1, 6, 30};
	char prev[16], next2[16];
	int64_t now = 1700000000, step = 0;

	(void)state;
	assert_int_equal(totp_generate(key1, 20, &p, totp_step(now, 30) - 1, prev), 0);
	assert_int_equal(totp_generate(key1, 20, &p, totp_step(now, 30) + 2, next2), 0);
	assert_int_equal(totp_verify(key1, 20, &p, now, 1, prev, &step), 0);
	assert_int_equal(step, totp_step(now, 30) - 1);
	assert_int_equal(totp_verify(key1, 20, &p, now, 0, prev, &step), -1);
	assert_int_equal(totp_verify(key1, 20, &p, now, 1, next2, &step), -1);
	assert_int_equal(totp_verify(key1, 20, &p, now, 1, "12345", &step), -1);
	assert_int_equal(totp_verify(key1, 20, &p, now, 1, "", &step), -1);
	assert_int_equal(totp_verify(key1, 20, &p, now, 1, "1234567890123456789", &step), -1);
}

/*
 * A code that two steps in the window share is taken as the later step's (checked with
 * oathtool: 878577 at 1699999980 and at 1700000010). The store then refuses those six digits
 * until the step after: RFC 6238 5.2 accepts one OTP once.
 */
static void test_tie_takes_later_step(void **state)
{
	static const unsigned char tie[] = "tie-000000000305231";
	const size_t len = sizeof(tie) - 1;
	struct totp_params p = {CFG_ALGO_SHA1, 6, 30};
	int64_t now = 1700000000, here = totp_step(now, 30), step = -1;
	char at[16], next[16];

	(void)state;
	assert_int_equal(totp_generate(tie, len, &p, here, at), 0);
	assert_int_equal(totp_generate(tie, len, &p, here + 1, next), 0);
	assert_string_equal(at, "878577");
	assert_string_equal(next, "878577");
	assert_int_equal(totp_verify(tie, len, &p, now, 1, at, &step), 0);
	assert_int_equal(step, here + 1);
	assert_int_equal(totp_verify(tie, len, &p, now, 0, at, &step), 0);
	assert_int_equal(step, here);
}

static void test_bad_params(void **state)
{
	struct totp_params p = {CFG_ALGO_SHA1, 7, 30};
	char out[16];
	int64_t step;

	(void)state;
	assert_int_equal(totp_generate(key1, 20, &p, 1, out), -1);
	assert_int_equal(totp_verify(key1, 20, &p, 59, 1, "1234567", &step), -1);
	p.digits = 6;
	p.period = 0;
	assert_int_equal(totp_generate(key1, 20, &p, 1, out), -1);
}

static void test_base32(void **state)
{
	unsigned char out[64];
	char enc[64];
	size_t n = 0;

	(void)state;
	/* RFC 4648 section 10 */
	assert_int_equal(totp_base32_encode((const unsigned char *)"foobar", 6, enc, sizeof(enc)),
			 0);
	assert_string_equal(enc, "MZXW6YTBOI");
	assert_int_equal(totp_base32_decode("MZXW6YTBOI======", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(totp_base32_decode("mzxw 6ytb-oi", out, sizeof(out), &n), 0);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(totp_base32_decode("MZXW1", out, sizeof(out), &n), -1);
	assert_int_equal(totp_base32_decode("MZ=XW", out, sizeof(out), &n), -1);
	assert_int_equal(totp_base32_decode("", out, sizeof(out), &n), -1);
	assert_int_equal(totp_base32_decode("MZXW6YTBOI", out, 3, &n), -1);
	assert_int_equal(totp_base32_encode((const unsigned char *)"foobar", 6, enc, 5), -1);
}

static void test_hex(void **state)
{
	unsigned char out[8];
	size_t n;

	(void)state;
	assert_int_equal(totp_hex_decode("00fFa1", out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(totp_hex_decode("abc", out, sizeof(out), &n), -1);
	assert_int_equal(totp_hex_decode("zz", out, sizeof(out), &n), -1);
	assert_int_equal(totp_hex_decode("000000000000000000", out, sizeof(out), &n), -1);
}

static void test_uri(void **state)
{
	struct totp_params p = {CFG_ALGO_SHA256, 6, 30};
	char uri[512];

	(void)state;
	assert_int_equal(totp_uri("Mail Host", "alice@mx.example", (const unsigned char *)"foobar",
				  6, &p, uri, sizeof(uri)),
			 0);
	assert_string_equal(uri, "otpauth://totp/Mail%20Host:alice%40mx.example?secret=MZXW6YTBOI"
				 "&algorithm=SHA256");
	/* The defaults (SHA1, 6 digits, 30 s) are left out: a short URI, a small QR code. */
	p.algorithm = CFG_ALGO_SHA1;
	assert_int_equal(totp_uri("Mail Host", "alice", (const unsigned char *)"foobar", 6, &p, uri,
				  sizeof(uri)),
			 0);
	assert_string_equal(uri, "otpauth://totp/Mail%20Host:alice?secret=MZXW6YTBOI");
	p.digits = 8;
	p.period = 60;
	assert_int_equal(
		totp_uri("M", "a", (const unsigned char *)"foobar", 6, &p, uri, sizeof(uri)), 0);
	assert_string_equal(uri, "otpauth://totp/M:a?secret=MZXW6YTBOI&digits=8&period=60");
	assert_int_equal(totp_uri("x", "y", (const unsigned char *)"foobar", 6, &p, uri, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_tie_takes_later_step),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_uri),
	};

	if (totp_init() != 0)
		return 1;
	return rc_run_group_tests("totp", tests, NULL, NULL);
}
