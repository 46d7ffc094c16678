/* Unit tests for lib/util.c (cmocka). Safe-open tests that need root skip without it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rc_select.h"

#include "chars.h"
#include "util.h"

/* snprintf that must not truncate (a test path or message buffer that is too small). */
#define FMT(buf, n, ...) assert_true(rc_snprintf((buf), (n), __VA_ARGS__) >= 0)

static char dir[64];

static int setup(void **state)
{
	(void)state;
	FMT(dir, sizeof(dir), "/tmp/rc-util-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	FMT(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Create dir/name with the given contents and mode; returns the path (static). */
static const char *mkfile(const char *name, const char *data, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	FMT(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

/* ---- rc_wipe, RC_WIPE_ARRAY, rc_free_secret ---- */

static void test_wipe(void **state)
{
	unsigned char buf[32];
	char arr[16] = "secret";
	size_t i;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	rc_wipe(buf, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[10], 0xa5);
	RC_WIPE_ARRAY(arr);
	for (i = 0; i < sizeof(arr); i++)
		assert_int_equal(arr[i], 0);
	rc_wipe(NULL, 5); /* harmless */
	rc_wipe(buf, 0);
	rc_free_secret(NULL);
	rc_free_secret(strdup("hunter2"));
}

/* ---- rc_parse_long ---- */

static void test_parse_long(void **state)
{
	long v = 77;

	(void)state;
	assert_int_equal(rc_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rc_parse_long("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(rc_parse_long("-3", -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(rc_parse_long("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	v = 77;
	/* out of range, each side */
	assert_int_equal(rc_parse_long("11", 0, 10, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(rc_parse_long("-1", 0, 10, &v), -1);
	assert_int_equal(errno, ERANGE);
	/* not whole strings, or not plain decimal */
	assert_int_equal(rc_parse_long("", 0, 10, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rc_parse_long("-", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("5 ", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long(" 5", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("+5", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("0x5", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("5a", 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("1e3", 0, 10000, &v), -1);
	assert_int_equal(rc_parse_long("--5", -10, 10, &v), -1);
	assert_int_equal(rc_parse_long(NULL, 0, 10, &v), -1);
	assert_int_equal(rc_parse_long("5", 10, 0, &v), -1);
	/* overflow of long itself */
	assert_int_equal(rc_parse_long("99999999999999999999999", LONG_MIN, LONG_MAX, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(rc_parse_long("-99999999999999999999999", LONG_MIN, LONG_MAX, &v), -1);
	assert_int_equal(v, 77); /* untouched on every failure */
	assert_int_equal(rc_parse_long("9223372036854775807", LONG_MIN, LONG_MAX, &v), 0);
	assert_true(v == LONG_MAX);
}

/* ---- rc_open_trusted ---- */

static void test_open_ok(void **state)
{
	const char *why = "x";
	const char *p;
	int fd;
	int fl;

	(void)state;
	need_root();
	p = mkfile("ok", "abc", 3, 0644);
	fd = rc_open_trusted(p, 100, 0, &why);
	assert_true(fd >= 0);
	assert_null(why);
	fl = fcntl(fd, F_GETFL);
	assert_int_equal(fl & O_NONBLOCK, 0); /* cleared after the checks */
	assert_int_not_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	/* exactly max bytes is fine; why may be NULL */
	fd = rc_open_trusted(p, 3, 0, NULL);
	assert_true(fd >= 0);
	close(fd);
	/* secret files: 0600 and 0400 are fine */
	p = mkfile("s600", "k", 1, 0600);
	fd = rc_open_trusted(p, 100, 1, &why);
	assert_true(fd >= 0);
	close(fd);
	p = mkfile("s400", "k", 1, 0400);
	fd = rc_open_trusted(p, 100, 1, &why);
	assert_true(fd >= 0);
	close(fd);
}

static void expect_refused(const char *path, size_t max, int secret, int err, const char *why)
{
	const char *w = NULL;
	int fd = rc_open_trusted(path, max, secret, &w);

	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, err);
	assert_non_null(w);
	assert_string_equal(w, why);
}

static void test_open_refused(void **state)
{
	char path[128];
	char link[128];
	const char *p;

	(void)state;
	need_root();
	FMT(path, sizeof(path), "%s/missing", dir);
	expect_refused(path, 100, 0, ENOENT, "does not exist");
	expect_refused("", 100, 0, EINVAL, "is an empty path");

	p = mkfile("gw", "x", 1, 0664);
	expect_refused(p, 100, 0, EPERM, "is writable by group or others");
	p = mkfile("ow", "x", 1, 0646);
	expect_refused(p, 100, 0, EPERM, "is writable by group or others");
	p = mkfile("big", "0123456789", 10, 0644);
	expect_refused(p, 9, 0, EFBIG, "is too large");
	p = mkfile("sec", "x", 1, 0640);
	expect_refused(p, 100, 1, EPERM,
		       "is accessible by group or others (a secret needs mode 0600 or 0400)");
	p = mkfile("sec2", "x", 1, 0604);
	expect_refused(p, 100, 1, EPERM,
		       "is accessible by group or others (a secret needs mode 0600 or 0400)");

	p = mkfile("notroot", "x", 1, 0644);
	assert_int_equal(chown(p, 65534, 0), 0);
	expect_refused(p, 100, 0, EPERM, "is not owned by root");

	p = mkfile("target", "x", 1, 0644);
	FMT(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(p, link), 0);
	expect_refused(link, 100, 0, ELOOP, "is a symbolic link");

	expect_refused(dir, 1 << 20, 0, EINVAL, "is a directory, not a regular file");
	expect_refused("/dev/null", 100, 0, EINVAL, "is not a regular file");

	/* A FIFO with no writer must not hang the open (O_NONBLOCK). */
	FMT(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	alarm(10);
	expect_refused(path, 100, 0, EINVAL, "is not a regular file");
	alarm(0);
}

/* ---- rc_read_all ---- */

static int open_data(const char *data, size_t len)
{
	const char *p = mkfile("data", data, len, 0600);
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_read_all(void **state)
{
	char big[10000];
	char *out = (char *)1;
	size_t len = 99;
	int fd;

	(void)state;
	fd = open_data("hello\nworld", 11);
	assert_int_equal(rc_read_all(fd, 100, &out, &len), 0);
	assert_int_equal(len, 11);
	assert_string_equal(out, "hello\nworld");
	free(out);
	close(fd);

	/* empty */
	fd = open_data("", 0);
	assert_int_equal(rc_read_all(fd, 100, &out, NULL), 0);
	assert_string_equal(out, "");
	free(out);
	close(fd);

	/* exactly max, and one more */
	fd = open_data("12345", 5);
	assert_int_equal(rc_read_all(fd, 5, &out, &len), 0);
	assert_int_equal(len, 5);
	rc_free_secret(out);
	close(fd);
	fd = open_data("123456", 6);
	assert_int_equal(rc_read_all(fd, 5, &out, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(out);
	close(fd);

	/* max 0 */
	fd = open_data("", 0);
	assert_int_equal(rc_read_all(fd, 0, &out, &len), 0);
	assert_int_equal(len, 0);
	free(out);
	close(fd);

	/* NUL bytes are refused */
	fd = open_data("ab\0cd", 5);
	assert_int_equal(rc_read_all(fd, 100, &out, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(out);
	close(fd);

	/* larger than the first chunk: the buffer grows */
	memset(big, 'x', sizeof(big));
	fd = open_data(big, sizeof(big));
	assert_int_equal(rc_read_all(fd, sizeof(big), &out, &len), 0);
	assert_int_equal(len, sizeof(big));
	assert_int_equal(strlen(out), sizeof(big));
	free(out);
	close(fd);
	fd = open_data(big, sizeof(big));
	assert_int_equal(rc_read_all(fd, sizeof(big) - 1, &out, &len), -1);
	assert_int_equal(errno, EFBIG);
	close(fd);

	/* bad fd */
	assert_int_equal(rc_read_all(-1, 10, &out, &len), -1);
	assert_int_equal(errno, EBADF);
	assert_null(out);
}

static void test_read_all_pipe(void **state)
{
	int p[2];
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(write(p[1], "def", 3), 3);
	close(p[1]);
	assert_int_equal(rc_read_all(p[0], 6, &out, &len), 0);
	assert_string_equal(out, "abcdef");
	free(out);
	close(p[0]);
}

/* ---- rc_log_escape ---- */

static void test_log_escape(void **state)
{
	char out[16];

	(void)state;
	rc_log_escape("plain text", out, sizeof(out));
	assert_string_equal(out, "plain text");
	rc_log_escape("a\nb\rc\td\x1b[0m", out, sizeof(out));
	assert_string_equal(out, "a?b?c?d?[0m");
	rc_log_escape("caf\xc3\xa9\x7f", out, sizeof(out));
	assert_string_equal(out, "caf???");
	rc_log_escape("0123456789abcdefghij", out, sizeof(out));
	assert_string_equal(out, "0123456789abcde");
	rc_log_escape(NULL, out, sizeof(out));
	assert_string_equal(out, "(null)");
	out[0] = 'z';
	rc_log_escape("abc", out, 1);
	assert_string_equal(out, "");
	out[0] = 'z';
	rc_log_escape("abc", out, 0);
	assert_int_equal(out[0], 'z');
	rc_log_escape("abc", NULL, 5);
}

/* ---- rc_user_name_ok ---- */

static void test_user_name(void **state)
{
	static const char *const good[] = {
		"root",
		"alice",
		"_apt",
		"bob-smith",
		"j.doe",
		"a1",
		"x",
		"host$",
		"abcdefghijklmnopqrstuvwxyz012345", /* 32 */
		"abcdefghijklmnopqrstuvwxyz012345$",
		"alice@example.com",
		"Alice.Smith+tag@mail.example.org",
		"a_b@x.yz",
	};
	static const char *const bad[] = {
		"",
		"Root",
		"1abc",
		"-rf",
		".hidden",
		"a b",
		"a/b",
		"a:b",
		"a\nb",
		"..",
		".",
		"abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
		"ab$c",
		"$",
		"a$$",
		"caf\xc3\xa9",
		"@example.com",
		"alice@",
		"alice@@example.com",
		"alice@exa mple.com",
		"-alice@example.com",
		".alice@example.com",
		"alice@-example.com",
		"alice@example.com.",
		"alice@ex..com",
		"alice@example.com/x",
		"al ice@x.com",
		"a@b@c",
		/* the address rule of lib/addr.c (tests/unit/test_addr.c) */
		"a_b%c@x.y",
		"u@localhost",
	};
	char longmail[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!rc_user_name_ok(good[i]))
			fail_msg("refused good name '%s'", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rc_user_name_ok(bad[i]))
			fail_msg("accepted bad name '%s'", bad[i]);
	}
	assert_false(rc_user_name_ok(NULL));
	/* 128 is the limit for mail-style names (a local part of 64, the longest an address
	 * has, and a domain of 63) */
	memset(longmail, 'b', sizeof(longmail));
	memset(longmail, 'a', 64);
	longmail[64] = '@';
	memcpy(longmail + 128 - 4, ".com", 5);
	assert_int_equal(strlen(longmail), 128);
	assert_true(rc_user_name_ok(longmail));
	memset(longmail, 'b', sizeof(longmail));
	memset(longmail, 'a', 64);
	longmail[64] = '@';
	memcpy(longmail + 129 - 4, ".com", 5);
	assert_int_equal(strlen(longmail), 129);
	assert_false(rc_user_name_ok(longmail));
}

/* ---- rc_user_name_canonical ---- */

static void test_user_name_canonical(void **state)
{
	static const struct {
		int mode;
		const char *in, *out;
	} cases[] = {
		{RC_NAME_AUTO, "BOB@Example.COM", "bob@example.com"},
		{RC_NAME_AUTO, "bob@example.com", "bob@example.com"},
		{RC_NAME_AUTO, "Alice.Smith+Tag@Mail.example.org",
		 "alice.smith+tag@mail.example.org"},
		{RC_NAME_AUTO, "Root", "Root"}, /* plain names exact (then refused as malformed) */
		{RC_NAME_INSENSITIVE, "Root", "root"},
		{RC_NAME_INSENSITIVE, "BOB@X.Y", "bob@x.y"},
		{RC_NAME_EXACT, "BOB@Example.COM", "BOB@Example.COM"},
		{RC_NAME_AUTO, "caf\xc3\x89@x.y", "caf\xc3\x89@x.y"}, /* ASCII only */
	};
	char out[130], inplace[130];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
			rc_user_name_canonical(cases[i].mode, cases[i].in, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].out);
		/* in place, as the helper does with argv */
		strcpy(inplace, cases[i].in);
		assert_int_equal(rc_user_name_canonical(cases[i].mode, inplace, inplace,
							strlen(inplace) + 1),
				 0);
		assert_string_equal(inplace, cases[i].out);
		/* canonical twice is canonical once */
		assert_int_equal(
			rc_user_name_canonical(cases[i].mode, out, inplace, sizeof(inplace)), 0);
		assert_string_equal(inplace, out);
	}
	assert_true(rc_user_name_folds(RC_NAME_AUTO, "a@b"));
	assert_false(rc_user_name_folds(RC_NAME_AUTO, "ab"));
	assert_false(rc_user_name_folds(RC_NAME_EXACT, "a@b"));
	assert_true(rc_user_name_folds(RC_NAME_INSENSITIVE, "ab"));
	assert_false(rc_user_name_folds(RC_NAME_INSENSITIVE, NULL));
	/* does not fit: -1 and "" */
	assert_int_equal(rc_user_name_canonical(RC_NAME_AUTO, "ABCD@X.Y", out, 8), -1);
	assert_string_equal(out, "");
	assert_int_equal(rc_user_name_canonical(RC_NAME_AUTO, NULL, out, sizeof(out)), -1);
	assert_int_equal(rc_user_name_canonical(RC_NAME_AUTO, "a@b", NULL, 10), -1);
}

/* ---- rc_now, rc_snprintf ---- */

static void test_now(void **state)
{
	int64_t a = (int64_t)time(NULL);
	int64_t n = rc_now();
	int64_t b = (int64_t)time(NULL);

	(void)state;
	assert_true(n >= a && n <= b);
}

static void test_snprintf(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(rc_snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
	assert_string_equal(buf, "1234567");
	assert_int_equal(rc_snprintf(buf, sizeof(buf), "%s", "12345678"), -1);
	assert_int_equal(rc_snprintf(buf, sizeof(buf), "%d-%s", 42, "x"), 4);
	assert_string_equal(buf, "42-x");
	assert_int_equal(rc_snprintf(buf, 0, "%s", ""), -1);
	assert_int_equal(rc_snprintf(buf, sizeof(buf), "%s", ""), 0);
	assert_string_equal(buf, "");
}

/* chars.h answers as <ctype.h> does in the C locale, for every byte (this program never calls
 * setlocale, so ctype's answers here are the C locale's), and in any locale after that. */
static void test_chars(void **state)
{
	(void)state;
	for (int ch = 0; ch <= 255; ch++) {
		assert_int_equal(rc_is_digit(ch), !!isdigit(ch));
		assert_int_equal(rc_is_xdigit(ch), !!isxdigit(ch));
		assert_int_equal(rc_is_lower(ch), !!islower(ch));
		assert_int_equal(rc_is_upper(ch), !!isupper(ch));
		assert_int_equal(rc_is_alpha(ch), !!isalpha(ch));
		assert_int_equal(rc_is_alnum(ch), !!isalnum(ch));
		assert_int_equal(rc_is_space(ch), !!isspace(ch));
		assert_int_equal(rc_is_blank(ch), !!isblank(ch));
		assert_int_equal(rc_to_lower(ch), tolower(ch));
		assert_int_equal(rc_to_upper(ch), toupper(ch));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_open_ok),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_read_all_pipe),
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_user_name),
		cmocka_unit_test(test_user_name_canonical),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_snprintf),
		cmocka_unit_test(test_chars),
	};

	signal(SIGPIPE, SIG_IGN);
	return rc_run_group_tests("util", tests, setup, teardown);
}
