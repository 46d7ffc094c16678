/*
 * Unit tests for lib/addr.c (cmocka): the one e-mail address rule, and the three places that
 * use it: the configuration (cfg_check_email), user names that are addresses
 * (rc_user_name_ok) and the recovery addresses of the channels (addr_email_ok, which
 * channel_email_ok is). The "changed" tables are the addresses on which the copies that
 * addr.c replaced disagreed: each row says what the configuration and user-name checks did
 * before; the channels' check already answered as the rule does now.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "config_check.h"
#include "util.h"

/* What every check answers alike, before and now. */
static const char *const good[] = {
	"alice@example.com",
	"Alice.Smith+tag@mail.example.org",
	"a-b_c.d@sub-domain.example.co.uk",
	"x@xn--bcher-kva.example",
	"a@b.cd",
};

static const char *const bad[] = {
	"",
	"alice",
	"@example.com",
	"alice@",
	"alice@@example.com",
	"a@b@example.com",
	".alice@example.com",
	"-alice@example.com",
	"alice@-example.com",
	"alice@example.com.",
	"alice@ex..com",
	"al ice@example.com",
	"alice@exa mple.com",
	"alice@example.com\r\nBcc: x@example.org",
	"alice@example.com/x",
	"\"quoted\"@example.com",
	"caf\xc3\xa9@example.com",
};

/* Accepted before by the configuration and user-name checks, refused now (as the channels
 * did): what a mail host on the Internet would not take, or would read as routing. */
static const char *const now_refused[] = {
	"a_b%c@example.org",  /* '%': the percent hack routes to another host */
	"u@localhost",        /* one label: not a domain on the Internet */
	"root@1.2.3.4",       /* an all-digit last label: an IP address, not a domain */
	"a@x-.example.org",   /* a label ending in '-' */
	"a@x.-y.example.org", /* a label starting with '-' */
	"a.@example.org",     /* a local part ending in a dot */
	"a..b@example.org",   /* a doubled dot in the local part */
};

/* Refused before by the configuration and user-name checks, accepted now (as the channels
 * did): ordinary atext that mail hosts deliver. */
static const char *const now_accepted[] = {
	"o'brien@example.org",  /* an apostrophe */
	"bounce=x@example.org", /* '=' (SRS, VERP and BATV addresses) */
};

static int cfg_ok(const char *v)
{
	char why[128];

	return cfg_check_email(v, why, sizeof(why)) == NULL;
}

static void check_all(const char *v, int want)
{
	if (addr_email_ok(v) != want)
		fail_msg("addr_email_ok(\"%s\") is not %d", v, want);
	if (cfg_ok(v) != want)
		fail_msg("cfg_check_email(\"%s\") is not %s", v, want ? "ok" : "an error");
	/* user names have their own length cap (128), and names without '@' are Unix names */
	if (strchr(v, '@') != NULL && rc_user_name_ok(v) != want)
		fail_msg("rc_user_name_ok(\"%s\") is not %d", v, want);
}

static void test_same_everywhere(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		check_all(good[i], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_all(bad[i], 0);
	assert_false(addr_email_ok(NULL));
}

static void test_changed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(now_refused) / sizeof(now_refused[0]); i++)
		check_all(now_refused[i], 0);
	for (size_t i = 0; i < sizeof(now_accepted) / sizeof(now_accepted[0]); i++)
		check_all(now_accepted[i], 1);
}

static void test_lengths(void **state)
{
	char local[80], label[80], addr[300];

	(void)state;
	/* local part: 64 bytes, not 65 (the configuration check had no limit) */
	memset(local, 'a', 65);
	local[64] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.org", local);
	check_all(addr, 1);
	local[64] = 'a';
	local[65] = '\0';
	snprintf(addr, sizeof(addr), "%s@example.org", local);
	check_all(addr, 0);
	/* a label: 63 bytes, not 64 (the configuration check had no limit) */
	memset(label, 'b', 64);
	label[63] = '\0';
	snprintf(addr, sizeof(addr), "a@%s.org", label);
	check_all(addr, 1);
	label[63] = 'b';
	label[64] = '\0';
	snprintf(addr, sizeof(addr), "a@%s.org", label);
	check_all(addr, 0);
	/* the whole address: 254 bytes, not 255 (labels of 63) */
	snprintf(addr, sizeof(addr), "%.58s@%.63s.%.63s.%.63s.org", local, label, label, label);
	assert_int_equal(strlen(addr), 254);
	assert_true(addr_email_ok(addr));
	assert_true(cfg_ok(addr));
	snprintf(addr, sizeof(addr), "%.59s@%.63s.%.63s.%.63s.org", local, label, label, label);
	assert_int_equal(strlen(addr), 255);
	assert_false(addr_email_ok(addr));
	assert_false(cfg_ok(addr));
	/* the parts alone */
	assert_true(addr_local_ok("a.b", 3));
	assert_false(addr_local_ok("a.b", 0));
	assert_true(addr_domain_ok("example.org", 11));
	assert_false(addr_domain_ok("example.org", 7)); /* "example": one label */
	assert_true(addr_email_ok_n("a@example.orgXYZ", 13));
	assert_false(addr_email_ok_n("a@exa\0mple.org", 14));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_everywhere),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
