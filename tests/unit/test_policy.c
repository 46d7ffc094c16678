/* Unit tests for lib/policy.c and lib/text.c (cmocka). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rc_select.h"

#include "config.h"
#include "policy.h"
#include "text.h"

static struct cfg cfg;

static int setup(void **state)
{
	(void)state;
	return cfg_init(&cfg);
}

static int teardown(void **state)
{
	(void)state;
	cfg_free(&cfg);
	return 0;
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(cfg.pw_min_length, 8);
	assert_int_equal(policy_check(&cfg, "alice", "Corr3ct-horse"), 0);
	assert_int_equal(policy_check(&cfg, "alice", "Ab1-xyzw"), 0); /* exactly 8 */
	assert_int_equal(policy_check(&cfg, "alice", "Ab1-xyz"), POLICY_SHORT);
	assert_int_equal(policy_check(&cfg, "alice", "ab1-xyzw"), POLICY_NO_UPPER);
	assert_int_equal(policy_check(&cfg, "alice", "AB1-XYZW"), POLICY_NO_LOWER);
	assert_int_equal(policy_check(&cfg, "alice", "Abc-xyzw"), POLICY_NO_DIGIT);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1xyzw"), POLICY_NO_SYMBOL);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1 xyzw"), 0); /* a space is a symbol */
	assert_int_equal(policy_check(&cfg, "alice", "Abc1\xc3\xa9xyzw"), 0); /* so is é */
	assert_int_equal(policy_check(&cfg, "alice", ""),
			 POLICY_SHORT | POLICY_NO_UPPER | POLICY_NO_LOWER | POLICY_NO_DIGIT |
				 POLICY_NO_SYMBOL);
	assert_int_equal(policy_check(&cfg, NULL, NULL), POLICY_SHORT);
}

static void test_user_name(void **state)
{
	(void)state;
	assert_int_equal(policy_check(&cfg, "alice", "xx-ALICE-99Z"), POLICY_HAS_USER);
	assert_int_equal(policy_check(&cfg, "alice", "xx-Alic-99Z"), 0);
	assert_int_equal(policy_check(&cfg, "bob@example.org", "I-am-Bob-42"), POLICY_HAS_USER);
	assert_int_equal(policy_check(&cfg, "bob@example.org", "I-am-B0b-42"), 0);
	/* two-letter names are not checked: they would forbid too much */
	assert_int_equal(policy_check(&cfg, "al", "Always-42"), 0);
	assert_int_equal(policy_check(&cfg, NULL, "alice-Ab1x"), 0);
}

static void test_limits(void **state)
{
	char pw[300];

	(void)state;
	memset(pw, 'a', sizeof(pw));
	memcpy(pw, "A1-", 3);
	pw[256] = '\0';
	assert_int_equal(policy_check(&cfg, "alice", pw), 0);
	pw[256] = 'a';
	pw[257] = '\0';
	assert_int_equal(policy_check(&cfg, "alice", pw), POLICY_TOO_LONG);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1-xyz\n"), POLICY_BAD_CHAR);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1-xyz\x7f"), POLICY_BAD_CHAR);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1-xyz\xff"), POLICY_BAD_CHAR);
	assert_int_equal(policy_check(&cfg, "alice", "Abc1-xyz\t"), POLICY_BAD_CHAR);
	/* length counts characters, not bytes: 7 characters, 14 bytes */
	assert_int_equal(policy_check(&cfg, "alice", "A1\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
			 POLICY_SHORT | POLICY_NO_LOWER);
}

static void test_config(void **state)
{
	struct cfg c;
	char err[256];
	static const char conf[] = "password_min_length = 12\n"
				   "password_require_symbol = no\n"
				   "password_require_upper = no\n";

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_parse_buffer(&c, "t", conf, sizeof(conf) - 1, err, sizeof(err)), 0);
	assert_int_equal(policy_check(&c, "alice", "abcdefgh1234"), 0);
	assert_int_equal(policy_check(&c, "alice", "abcdefgh123"), POLICY_SHORT);
	assert_int_equal(policy_check(&c, "alice", "abcdefghijkl"), POLICY_NO_DIGIT);
	cfg_free(&c);
}

static void test_message(void **state)
{
	char msg[POLICY_MSG_MAX];

	(void)state;
	assert_int_equal(policy_message(&cfg, policy_check(&cfg, "alice", "abc"), msg, sizeof(msg)),
			 0);
	assert_string_equal(msg, "The password needs at least 8 characters, an upper-case "
				 "letter, a digit and a symbol.");
	assert_int_equal(policy_message(&cfg, POLICY_NO_SYMBOL, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "The password needs a symbol.");
	assert_int_equal(policy_message(&cfg, POLICY_NO_DIGIT | POLICY_NO_SYMBOL, msg, sizeof(msg)),
			 0);
	assert_string_equal(msg, "The password needs a digit and a symbol.");
	assert_int_equal(policy_message(&cfg, POLICY_HAS_USER, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "It must not contain the user name.");
	assert_int_equal(policy_message(&cfg, POLICY_HAS_USER | POLICY_SHORT, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "The password needs at least 8 characters. It must not contain "
				 "the user name.");
	assert_int_equal(policy_message(&cfg, POLICY_TOO_LONG, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "The password is longer than 256 bytes.");
	assert_int_equal(policy_message(&cfg, POLICY_BAD_CHAR, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "control character"));
	assert_int_equal(policy_message(&cfg, POLICY_SHORT, msg, 10), -1);
	assert_string_equal(msg, "");
	assert_int_equal(policy_describe(&cfg, msg, sizeof(msg)), 0);
	assert_string_equal(msg,
			    "At least 8 characters, with upper- and lower-case letters, a "
			    "digit and a symbol; not containing the user name; at most 256 bytes.");
}

static void test_suggest(void **state)
{
	char pw[POLICY_SUGGEST_MAX], prev[POLICY_SUGGEST_MAX] = "";
	struct cfg c;
	char err[256];
	static const char conf[] = "password_min_length = 40\n";

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(policy_suggest(&cfg, "alice", pw, sizeof(pw)), 0);
		assert_int_equal(strlen(pw), 19);
		assert_int_equal(policy_check(&cfg, "alice", pw), 0);
		assert_string_not_equal(pw, prev);
		assert_null(strpbrk(pw, "IOlo01"));
		memcpy(prev, pw, sizeof(pw));
	}
	assert_int_equal(policy_suggest(&cfg, "alice", pw, 10), -1);
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_parse_buffer(&c, "t", conf, sizeof(conf) - 1, err, sizeof(err)), 0);
	assert_int_equal(policy_suggest(&c, "alice", pw, sizeof(pw)), 0);
	assert_true(strlen(pw) >= 40);
	assert_int_equal(policy_check(&c, "alice", pw), 0);
	cfg_free(&c);
}

static void test_answer(void **state)
{
	char out[TEXT_ANSWER_MAX + 1];
	char big[TEXT_ANSWER_MAX + 10];

	(void)state;
	assert_int_equal(text_normalise_answer("  New \t  York  ", out, sizeof(out)), 0);
	assert_string_equal(out, "new york");
	assert_int_equal(text_normalise_answer("new york", out, sizeof(out)), 0);
	assert_string_equal(out, "new york");
	assert_int_equal(text_normalise_answer("Z\xc3\xbcrich", out, sizeof(out)), 0);
	assert_string_equal(out, "z\xc3\xbcrich"); /* non-ASCII kept as typed */
	assert_int_equal(text_normalise_answer("   ", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_answer("", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_answer("a\nb", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_answer("a\xc0\xaf", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_answer("abcdef", out, 4), -1);
	memset(big, 'x', sizeof(big));
	big[TEXT_ANSWER_MAX] = '\0';
	assert_int_equal(text_normalise_answer(big, out, sizeof(out)), 0);
	big[TEXT_ANSWER_MAX] = 'x';
	big[TEXT_ANSWER_MAX + 1] = '\0';
	assert_int_equal(text_normalise_answer(big, out, sizeof(out)), -1);
}

static void test_email(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(text_normalise_email("  Alice@Example.ORG ", out, sizeof(out)), 0);
	assert_string_equal(out, "alice@example.org");
	assert_int_equal(text_normalise_email("a b@example.org", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_email("a@example.org\r\nBcc: x", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_email("", out, sizeof(out)), -1);
	assert_int_equal(text_normalise_email("abcdef@example.org", out, 8), -1);
}

static void test_url_utf8(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(text_url_escape("a b&c=d/é~", out, sizeof(out)), 0);
	assert_string_equal(out, "a%20b%26c%3Dd%2F%C3%A9~");
	assert_int_equal(text_url_escape("abc", out, 4), 0);
	assert_int_equal(text_url_escape("ab ", out, 4), -1);
	assert_string_equal(out, "");
	assert_true(text_utf8_ok("plain", 0));
	assert_false(text_utf8_ok("tab\there", 0));
	assert_true(text_utf8_ok("tab\there", 1));
	assert_false(text_utf8_ok("\xed\xa0\x80", 0)); /* a surrogate */
	assert_false(text_utf8_ok("\xe0\x80\xaf", 0)); /* overlong */
	assert_false(text_utf8_ok(NULL, 0));
	assert_false(text_utf8_ok("csi\xc2\x9b"
				  "2J",
				  0)); /* C1 control U+009B */
	assert_false(text_utf8_ok("abc\xe2\x80\xae"
				  "evil",
				  0)); /* RIGHT-TO-LEFT OVERRIDE */
	assert_false(text_utf8_ok("a\xe2\x81\xa6"
				  "b",
				  0)); /* LEFT-TO-RIGHT ISOLATE */
	assert_false(text_utf8_ok("a\xe2\x80\xa8"
				  "b",
				  0)); /* LINE SEPARATOR */
	assert_true(text_utf8_ok("\xc2\xa0nbsp \xe2\x82\xac", 0));
	assert_int_equal(policy_check(&cfg, "alice", "Abc1-xyz\xc2\x9b"), POLICY_BAD_CHAR);
	assert_int_equal(text_utf8_len("a\xc3\xa9\xe2\x82\xac"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_user_name),
		cmocka_unit_test(test_limits),   cmocka_unit_test(test_config),
		cmocka_unit_test(test_message),  cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_answer),   cmocka_unit_test(test_email),
		cmocka_unit_test(test_url_utf8),
	};

	return rc_run_group_tests("policy", tests, setup, teardown);
}
