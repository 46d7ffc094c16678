/* Sealing: round trip, tamper, swapped user or field, key file rules; secrets; splitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rc_select.h"

#include "seal.h"
#include "secret.h"
#include "split.h"

static char dir[] = "/tmp/rc-seal-XXXXXX";
static char keypath[256];

static int setup(void **state)
{
	char err[256];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(keypath, sizeof(keypath), "%s/key", dir);
	return seal_key_create(keypath, err, sizeof(err));
}

static int teardown(void **state)
{
	char p[300];

	(void)state;
	unlink(keypath);
	snprintf(p, sizeof(p), "%s/other", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

static void test_key_file(void **state)
{
	struct seal_key k;
	struct stat st;
	char err[256];

	(void)state;
	assert_int_equal(stat(keypath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_size, SEAL_KEY_LEN);
	assert_int_equal(seal_key_load(keypath, &k, err, sizeof(err)), 0);
	/* An existing key is never replaced. */
	assert_int_equal(seal_key_create(keypath, err, sizeof(err)), -1);
	assert_int_equal(seal_key_load("/nonexistent/key", &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "admin init"));
	assert_int_equal(chmod(keypath, 0444), 0);
	assert_int_equal(seal_key_load(keypath, &k, err, sizeof(err)), -1);
	assert_int_equal(chmod(keypath, 0400), 0);
}

static void test_round_trip_and_tamper(void **state)
{
	struct seal_key k, other;
	unsigned char sealed[128], plain[128];
	size_t slen, plen;
	char err[256], otherpath[300];

	(void)state;
	assert_int_equal(seal_key_load(keypath, &k, err, sizeof(err)), 0);
	assert_int_equal(seal_encrypt(&k, "alice", "totp", (const unsigned char *)"secret!", 7,
				      sealed, &slen),
			 0);
	assert_int_equal(slen, 7 + SEAL_OVERHEAD);
	assert_int_equal(seal_decrypt(&k, "alice", "totp", sealed, slen, plain, &plen), 0);
	assert_int_equal(plen, 7);
	assert_memory_equal(plain, "secret!", 7);
	/* Moved to another user or field: refused. */
	assert_int_equal(seal_decrypt(&k, "bob", "totp", sealed, slen, plain, &plen), -1);
	assert_int_equal(seal_decrypt(&k, "alice", "email", sealed, slen, plain, &plen), -1);
	/* "alice"+"xtotp" must not equal "alicex"+"totp". */
	assert_int_equal(seal_decrypt(&k, "alic", "etotp", sealed, slen, plain, &plen), -1);
	/* Any flipped byte: refused. */
	for (size_t i = 0; i < slen; i++) {
		sealed[i] ^= 0x01;
		assert_int_equal(seal_decrypt(&k, "alice", "totp", sealed, slen, plain, &plen), -1);
		sealed[i] ^= 0x01;
	}
	assert_int_equal(seal_decrypt(&k, "alice", "totp", sealed, SEAL_OVERHEAD - 1, plain, &plen),
			 -1);
	/* Another key: refused. */
	snprintf(otherpath, sizeof(otherpath), "%s/other", dir);
	assert_int_equal(seal_key_create(otherpath, err, sizeof(err)), 0);
	assert_int_equal(seal_key_load(otherpath, &other, err, sizeof(err)), 0);
	assert_int_equal(seal_decrypt(&other, "alice", "totp", sealed, slen, plain, &plen), -1);
}

static void test_secrets(void **state)
{
	struct seal_key k;
	unsigned char h1[STORE_HASH_LEN], h2[STORE_HASH_LEN], h3[STORE_HASH_LEN];
	char err[256], digits[9], app[SECRET_APP_PW_LEN + 1], norm[32];

	(void)state;
	assert_int_equal(seal_key_load(keypath, &k, err, sizeof(err)), 0);
	assert_int_equal(secret_hash(&k, "alice", "backup", "12345678", h1), 0);
	assert_int_equal(secret_hash(&k, "alice", "backup", "12345678", h2), 0);
	assert_true(secret_equal(h1, h2));
	assert_int_equal(secret_hash(&k, "bob", "backup", "12345678", h3), 0);
	assert_false(secret_equal(h1, h3));
	assert_int_equal(secret_hash(&k, "alice", "app", "12345678", h3), 0);
	assert_false(secret_equal(h1, h3));
	assert_int_equal(secret_digits(digits, 8), 0);
	assert_int_equal(strlen(digits), 8);
	assert_int_equal(strspn(digits, "0123456789"), 8);
	assert_int_equal(secret_app_password(app), 0);
	assert_int_equal(strlen(app), SECRET_APP_PW_LEN);
	assert_true(app[4] == '-' && app[9] == '-' && app[14] == '-');
	assert_int_equal(secret_normalise("AbCd-EfGh ijkm", norm, sizeof(norm)), 0);
	assert_string_equal(norm, "abcdefghijkm");
	assert_int_equal(secret_normalise("0123456789", norm, 5), -1);
}

static void test_split(void **state)
{
	char pw[32], code[16];

	(void)state;
	assert_int_equal(split_code("hunter2123456", 6, pw, sizeof(pw), code, sizeof(code)), 0);
	assert_string_equal(pw, "hunter2");
	assert_string_equal(code, "123456");
	assert_int_equal(split_code("123456", 6, pw, sizeof(pw), code, sizeof(code)), -1);
	assert_int_equal(split_code("pw12345", 6, pw, sizeof(pw), code, sizeof(code)), -1);
	assert_int_equal(split_code("pw12345a", 6, pw, sizeof(pw), code, sizeof(code)), -1);
	assert_int_equal(split_code("", 6, pw, sizeof(pw), code, sizeof(code)), -1);
	assert_int_equal(split_code("p12345678", 8, pw, sizeof(pw), code, sizeof(code)), 0);
	assert_string_equal(pw, "p");
	assert_int_equal(split_code("a-very-long-password123456", 6, pw, 8, code, sizeof(code)),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_round_trip_and_tamper),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_split),
	};

	return rc_run_group_tests("seal", tests, setup, teardown);
}
