/*
 * Unit tests for lib/config.c (cmocka): golden files (tests/unit/config/bad/X.conf with the
 * expected message in X.err; good/X.conf with the expected cfg_dump in X.dump), module
 * arguments, the file loader's safety checks, and the man page and sample config kept in
 * step with the key table.
 *
 * UPDATE_GOLDEN=1 rewrites the .err and .dump files from the current output (then review
 * the diff before keeping it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "config.h"
#include "hostmatch.h"
#include "method.h"
#include "util.h"

/* snprintf that must not truncate (a test path or message buffer that is too small). */
#define FMT(buf, n, ...) assert_true(rc_snprintf((buf), (n), __VA_ARGS__) >= 0)

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static char tmpdir[64];

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s != NULL && *s != '\0' ? s : TOP_SRCDIR;
}

static int setup(void **state)
{
	(void)state;
	FMT(tmpdir, sizeof(tmpdir), "/tmp/rc-config-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	FMT(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Whole file into a malloc'd buffer (may hold NUL bytes); NULL if missing. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spew(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
}

/* cfg_dump into a malloc'd string. */
static char *dump(const struct cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cfg_dump(c, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Replace every occurrence of `from` by `to` in s (malloc'd result; frees s). */
static char *replace(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from);
	size_t tl = strlen(to);
	size_t n = 0;
	char *p;
	char *out;
	char *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	out = malloc(strlen(s) + n * tl + 1);
	assert_non_null(out);
	o = out;
	for (p = s;;) {
		char *q = strstr(p, from);

		if (q == NULL)
			break;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
		p = q + fl;
	}
	strcpy(o, p);
	free(s);
	return out;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_conf(const struct dirent *d)
{
	size_t l = strlen(d->d_name);

	return l > 5 && strcmp(d->d_name + l - 5, ".conf") == 0;
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	assert_string_equal(c.store, RC_STORE_DEFAULT);
	assert_string_equal(c.key_file, RC_KEY_DEFAULT);
	assert_int_equal(c.window, 1);
	assert_int_equal(c.deny, 5);
	assert_int_equal(c.unlock_time, 900);
	assert_int_equal(c.algorithm, CFG_ALGO_SHA1);
	assert_int_equal(c.digits, 6);
	assert_int_equal(c.period, 30);
	assert_int_equal(c.backup_codes, 10);
	assert_null(c.issuer);
	assert_null(c.enforce_after);
	assert_null(c.enforce_after);
	assert_int_equal(c.nullok + c.forward_pass + c.try_first_pass + c.use_first_pass +
				 c.app_passwords + c.debug,
			 0);
	assert_string_equal(c.prompt, "Verification code: ");
	assert_int_equal(c.pw_min_length, 8);
	assert_int_equal(c.pw_require_upper + c.pw_require_lower + c.pw_require_digit +
				 c.pw_require_symbol,
			 4);
	assert_null(c.password_service);
	assert_null(c.password_command);
	assert_null(c.post_reset_command);
	assert_string_equal(c.reset_methods, "email,sms,telegram,question");
	assert_int_equal(c.reset_method_mask, METHOD_BIT(METHOD_EMAIL) | METHOD_BIT(METHOD_SMS) |
						      METHOD_BIT(METHOD_TELEGRAM) |
						      METHOD_BIT(METHOD_QUESTION));
	assert_int_equal(c.reset_require_two_proofs, 0);
	assert_int_equal(c.reset_keep_2fa_with_code, 0);
	assert_int_equal(c.reset_clear_app_passwords, 1);
	assert_int_equal(c.email_code_ttl, 3600);
	assert_int_equal(c.sms_code_ttl, 600);
	assert_int_equal(c.code_attempts, 5);
	assert_int_equal(c.sends_per_hour, 3);
	assert_int_equal(c.sms_daily_budget, 100);
	assert_int_equal(c.question_daily_attempts, 5);
	assert_null(c.questions);
	assert_null(c.smtp_url);
	assert_int_equal(c.smtp_tls, CFG_TLS_STARTTLS);
	assert_null(c.smtp_user);
	assert_null(c.smtp_password_file);
	assert_null(c.smtp_ca_file);
	assert_null(c.mail_from);
	assert_null(c.reset_url);
	assert_null(c.sms_url);
	assert_null(c.sms_auth_file);
	assert_null(c.sms_body);
	assert_string_equal(c.telegram_api, "https://api.telegram.org");
	assert_null(c.telegram_token_file);
	assert_null(c.local_domains);
	assert_null(c.support_contact);
	assert_int_equal(cfg_validate(&c, NULL, 0), 0);
	cfg_free(&c);
	assert_null(c.store);
	cfg_free(&c); /* twice is fine */
	cfg_free(NULL);
}

/* ---- golden files ---- */

static int run_bad(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[512];
	struct cfg c;
	size_t len = 0;
	char *buf;
	int r;

	FMT(path, sizeof(path), "%s/%s", dir, name);
	buf = slurp(path, &len);
	assert_non_null(buf);
	assert_int_equal(cfg_init(&c), 0);
	err[0] = '\0';
	r = cfg_parse_buffer(&c, name, buf, len, err, errlen);
	if (r == 0)
		r = cfg_validate(&c, err, errlen);
	cfg_free(&c);
	free(buf);
	return r;
}

static void test_golden_bad(void **state)
{
	char dir[512];
	struct dirent **ents = NULL;
	int update = getenv("UPDATE_GOLDEN") != NULL;
	int failures = 0;
	int n;
	int i;

	(void)state;
	FMT(dir, sizeof(dir), "%s/tests/unit/config/bad", srcdir());
	n = scandir(dir, &ents, is_conf, by_name);
	assert_true(n > 50);
	for (i = 0; i < n; i++) {
		char err[1024];
		char path[600];
		char *want;
		size_t len;

		if (run_bad(dir, ents[i]->d_name, err, sizeof(err)) == 0) {
			print_error("%s: accepted, expected an error\n", ents[i]->d_name);
			failures++;
			continue;
		}
		FMT(path, sizeof(path), "%s/%.*s.err", dir, (int)(strlen(ents[i]->d_name) - 5),
		    ents[i]->d_name);
		if (update) {
			char line[1100];

			FMT(line, sizeof(line), "%s\n", err);
			spew(path, line);
			continue;
		}
		want = slurp(path, &len);
		if (want == NULL) {
			print_error("%s: missing (got: %s)\n", path, err);
			failures++;
			continue;
		}
		if (len > 0 && want[len - 1] == '\n')
			want[len - 1] = '\0';
		if (strcmp(want, err) != 0) {
			print_error("%s:\n  want: %s\n  got:  %s\n", ents[i]->d_name, want, err);
			failures++;
		}
		/* every message names the file, and a line unless it is a cross-key check */
		if (strncmp(err, ents[i]->d_name, strlen(ents[i]->d_name)) != 0 &&
		    strncmp(ents[i]->d_name, "validate_", 9) != 0) {
			print_error("%s: message does not start with the file name\n",
				    ents[i]->d_name);
			failures++;
		}
		free(want);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	assert_int_equal(failures, 0);
}

/* Parse a good file; return its dump with the build-time paths replaced by placeholders. */
static char *good_dump(const char *dir, const char *name)
{
	char path[600];
	char err[512];
	struct cfg c;
	size_t len = 0;
	char *buf;
	char *d;

	FMT(path, sizeof(path), "%s/%s", dir, name);
	buf = slurp(path, &len);
	assert_non_null(buf);
	assert_int_equal(cfg_init(&c), 0);
	if (cfg_parse_buffer(&c, name, buf, len, err, sizeof(err)) != 0 ||
	    cfg_validate(&c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	d = dump(&c);
	cfg_free(&c);
	free(buf);
	d = replace(d, "store = " RC_STORE_DEFAULT "\n", "store = @RC_STORE_DEFAULT@\n");
	d = replace(d, "key_file = " RC_KEY_DEFAULT "\n", "key_file = @RC_KEY_DEFAULT@\n");
	return d;
}

static void test_golden_good(void **state)
{
	char dir[512];
	struct dirent **ents = NULL;
	int update = getenv("UPDATE_GOLDEN") != NULL;
	int failures = 0;
	int n;
	int i;

	(void)state;
	FMT(dir, sizeof(dir), "%s/tests/unit/config/good", srcdir());
	n = scandir(dir, &ents, is_conf, by_name);
	assert_true(n >= 5);
	for (i = 0; i < n; i++) {
		char path[600];
		char *got = good_dump(dir, ents[i]->d_name);
		char *want;
		size_t len;

		FMT(path, sizeof(path), "%s/%.*s.dump", dir, (int)(strlen(ents[i]->d_name) - 5),
		    ents[i]->d_name);
		if (update) {
			spew(path, got);
			free(got);
			continue;
		}
		want = slurp(path, &len);
		if (want == NULL || strcmp(want, got) != 0) {
			print_error("%s: dump differs from %s:\n%s\n", ents[i]->d_name, path, got);
			failures++;
		}
		free(want);
		free(got);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	assert_int_equal(failures, 0);
}

/* cfg_dump's output parses back into the same configuration. */
static void test_dump_round_trip(void **state)
{
	char dir[512];
	struct dirent **ents = NULL;
	int n;
	int i;

	(void)state;
	FMT(dir, sizeof(dir), "%s/tests/unit/config/good", srcdir());
	n = scandir(dir, &ents, is_conf, by_name);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		char path[600];
		char err[512];
		struct cfg a;
		struct cfg b;
		size_t len;
		char *buf;
		char *d1;
		char *d2;

		FMT(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		buf = slurp(path, &len);
		assert_non_null(buf);
		assert_int_equal(cfg_init(&a), 0);
		assert_int_equal(cfg_parse_buffer(&a, "a", buf, len, err, sizeof(err)), 0);
		d1 = dump(&a);
		assert_int_equal(cfg_init(&b), 0);
		if (cfg_parse_buffer(&b, "dump", d1, strlen(d1), err, sizeof(err)) != 0)
			fail_msg("%s: dump does not parse: %s", ents[i]->d_name, err);
		d2 = dump(&b);
		assert_string_equal(d1, d2);
		assert_int_equal(a.reset_method_mask, b.reset_method_mask);
		free(d1);
		free(d2);
		free(buf);
		cfg_free(&a);
		cfg_free(&b);
		free(ents[i]);
	}
	free(ents);
}

/* ---- limits the golden files cannot hold comfortably ---- */

static void test_line_and_file_limits(void **state)
{
	static char buf[CFG_MAX_FILE + 2];
	char err[512];
	struct cfg c;
	size_t n;

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	/* a line of exactly CFG_MAX_LINE bytes is fine (a comment) */
	buf[0] = '#';
	memset(buf + 1, 'x', CFG_MAX_LINE - 1);
	buf[CFG_MAX_LINE] = '\n';
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", buf, CFG_MAX_LINE + 1, err, sizeof(err)),
			 0);
	/* one more is not, on line 2 */
	memcpy(buf, "window = 1\n#", 12);
	memset(buf + 12, 'x', CFG_MAX_LINE);
	n = 12 + CFG_MAX_LINE;
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", buf, n, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: the line is longer than 4096 bytes");
	/* the file limit */
	memset(buf, '\n', sizeof(buf));
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", buf, CFG_MAX_FILE, err, sizeof(err)), 0);
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", buf, CFG_MAX_FILE + 1, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "t.conf: the file is larger than 262144 bytes");
	/* not NUL-terminated: only len bytes count */
	memcpy(buf, "window = 3", 10);
	buf[10] = '7';
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", buf, 10, err, sizeof(err)), 0);
	assert_int_equal(c.window, 3);
	/* empty buffer, NULL name */
	assert_int_equal(cfg_parse_buffer(&c, NULL, "", 0, err, sizeof(err)), 0);
	assert_int_equal(cfg_parse_buffer(&c, NULL, "x", 1, err, sizeof(err)), -1);
	assert_string_equal(err, "(config):1: expected 'key = value', found 'x'");
	/* a small error buffer truncates, never overflows */
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", "windw = 1", 9, err, 8), -1);
	assert_string_equal(err, "t.conf:");
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", "windw = 1", 9, NULL, 0), -1);
	cfg_free(&c);
}

static void test_long_value_in_message(void **state)
{
	char line[300];
	char err[512];
	struct cfg c;

	(void)state;
	memset(line, 0, sizeof(line));
	memcpy(line, "mail_from = ", 12);
	memset(line + 12, 'a', 200);
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_parse_buffer(&c, "t.conf", line, strlen(line), err, sizeof(err)), -1);
	assert_string_equal(err,
			    "t.conf:1: mail_from: "
			    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is "
			    "not an e-mail address (local@domain)");
	cfg_free(&c);
}

/* ---- module arguments ---- */

static void expect_arg_error(struct cfg *c, const char *arg, const char *want)
{
	char err[512];

	err[0] = '\0';
	assert_int_equal(cfg_apply_arg(c, arg, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_args(void **state)
{
	static const char *const flags[] = {"nullok",         "debug",          "forward_pass",
					    "try_first_pass", "use_first_pass", "app_passwords"};
	char err[512];
	struct cfg c;
	size_t i;

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_int_equal(cfg_apply_arg(&c, flags[i], err, sizeof(err)), 0);
	assert_int_equal(c.nullok + c.debug + c.forward_pass + c.try_first_pass + c.use_first_pass +
				 c.app_passwords,
			 6);
	assert_int_equal(cfg_apply_arg(&c, "nullok=no", err, sizeof(err)), 0);
	assert_int_equal(c.nullok, 0);
	assert_int_equal(cfg_apply_arg(&c, "password_require_symbol", err, sizeof(err)), 0);
	assert_int_equal(cfg_apply_arg(&c, "window=3", err, sizeof(err)), 0);
	assert_int_equal(c.window, 3);
	/* values are taken as given: PAM's [prompt=Two words: ] keeps the blanks */
	assert_int_equal(cfg_apply_arg(&c, "prompt=Your code: ", err, sizeof(err)), 0);
	assert_string_equal(c.prompt, "Your code: ");
	assert_int_equal(cfg_apply_arg(&c, "prompt=\"quoted\"", err, sizeof(err)), 0);
	assert_string_equal(c.prompt, "\"quoted\"");
	assert_int_equal(cfg_apply_arg(&c, "algorithm=sha256", err, sizeof(err)), 0);
	assert_int_equal(c.algorithm, CFG_ALGO_SHA256);
	assert_int_equal(cfg_apply_arg(&c, "reset_methods=sms,email", err, sizeof(err)), 0);
	assert_int_equal(c.reset_method_mask, METHOD_BIT(METHOD_SMS) | METHOD_BIT(METHOD_EMAIL));
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=1970-01-02", err, sizeof(err)), 0);
	assert_string_equal(c.enforce_after, "1970-01-02");

	expect_arg_error(&c, "deny=-3",
			 "module argument deny: '-3' is not a number between 0 and 1000");
	expect_arg_error(&c, "windw=2", "unknown module argument 'windw' (did you mean 'window'?)");
	expect_arg_error(&c, "nulok", "unknown module argument 'nulok' (did you mean 'nullok'?)");
	expect_arg_error(&c, "use_authtok",
			 "unknown module argument 'use_authtok' (see pam_recover.conf(5))");
	expect_arg_error(&c, "window", "module argument 'window' needs a value (window=VALUE)");
	expect_arg_error(&c, "window=", "module argument 'window=' has no value");
	expect_arg_error(&c, "", "empty module argument");
	expect_arg_error(&c, NULL, "empty module argument");
	expect_arg_error(&c, "=1", "unknown module argument '' (see pam_recover.conf(5))");
	expect_arg_error(&c, "config=/etc/x.conf",
			 "module argument 'config' cannot be used here (only as an argument of "
			 "the module itself)");
	expect_arg_error(&c, "config", "module argument 'config' needs a path (config=PATH)");
	expect_arg_error(&c, "debug=maybe",
			 "module argument debug: 'maybe' is not a boolean (yes/no, true/false, "
			 "on/off, 1/0)");
	expect_arg_error(&c, "prompt=a\nb",
			 "module argument prompt: 'a?b' contains a control "
			 "character");
	expect_arg_error(&c, "issuer=a\rb",
			 "module argument issuer: 'a?b' contains a control "
			 "character");
	expect_arg_error(&c, "digits=7", "module argument digits: '7' is not one of 6, 8");
	/* a failed argument leaves the old value */
	assert_int_equal(c.window, 3);
	assert_string_equal(c.prompt, "\"quoted\"");
	assert_int_equal(cfg_apply_arg(NULL, "debug", err, sizeof(err)), -1);
	cfg_free(&c);
}

/* ---- files on disk: cfg_load_file and cfg_load_module ---- */

static const char *tmpfile_with(const char *name, const char *data, mode_t mode)
{
	static char path[128];

	FMT(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	spew(path, data);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void expect_load_error(const char *path, int required, const char *suffix)
{
	char want[512];
	char err[512];
	struct cfg c;

	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_load_file(&c, path, required, err, sizeof(err)), -1);
	FMT(want, sizeof(want), "%s: %s", path, suffix);
	assert_string_equal(err, want);
	cfg_free(&c);
}

static void test_load_file(void **state)
{
	char err[512];
	char link[128];
	char want[300];
	char path[128];
	struct cfg c;
	const char *p;
	FILE *f;

	(void)state;
	need_root();
	p = tmpfile_with("ok.conf", "window = 4\n", 0644);
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_load_file(&c, p, 1, err, sizeof(err)), 0);
	assert_int_equal(c.window, 4);
	cfg_free(&c);

	/* errors carry the full path */
	p = tmpfile_with("bad.conf", "\nwindow = 11\n", 0644);
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_load_file(&c, p, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: window: '11' is not a number between 0 and 10"));
	assert_int_equal(strncmp(err, p, strlen(p)), 0);
	cfg_free(&c);

	/* missing: fine unless required */
	FMT(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_load_file(&c, path, 0, err, sizeof(err)), 0);
	cfg_free(&c);
	expect_load_error(path, 1, "does not exist");

	p = tmpfile_with("gw.conf", "window = 4\n", 0664);
	FMT(want, sizeof(want), "is writable by group or others (run: chmod go-w %s)", p);
	expect_load_error(p, 0, want);
	p = tmpfile_with("ow.conf", "window = 4\n", 0602);
	FMT(want, sizeof(want), "is writable by group or others (run: chmod go-w %s)", p);
	expect_load_error(p, 1, want);
	p = tmpfile_with("user.conf", "window = 4\n", 0644);
	assert_int_equal(chown(p, 65534, 65534), 0);
	FMT(want, sizeof(want), "is not owned by root (run: chown root:root %s)", p);
	expect_load_error(p, 0, want);
	p = tmpfile_with("real.conf", "window = 4\n", 0644);
	FMT(link, sizeof(link), "%s/link.conf", tmpdir);
	assert_int_equal(symlink(p, link), 0);
	expect_load_error(link, 0, "is a symbolic link (name the real file, not a link to it)");
	expect_load_error(tmpdir, 0, "is a directory, not a regular file");
	FMT(path, sizeof(path), "%s/fifo.conf", tmpdir);
	assert_int_equal(mkfifo(path, 0644), 0);
	expect_load_error(path, 0, "is not a regular file");
	expect_load_error("/dev/null", 0, "is not a regular file");
	/* a dangling symlink at the default path is still refused, not taken as missing */
	FMT(link, sizeof(link), "%s/dangling.conf", tmpdir);
	assert_int_equal(symlink("/nonexistent/x", link), 0);
	expect_load_error(link, 0, "is a symbolic link (name the real file, not a link to it)");

	/* NUL byte and size */
	FMT(path, sizeof(path), "%s/nul.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("window = 1\n\0\n", 1, 13, f), 13);
	fclose(f);
	expect_load_error(path, 0, "contains a NUL byte (is this a text file?)");
	FMT(path, sizeof(path), "%s/big.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i <= CFG_MAX_FILE; i++)
		fputc('\n', f);
	fclose(f);
	expect_load_error(path, 0, "the file is larger than 262144 bytes");

	/* relative paths are refused */
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_load_file(&c, "pam_recover.conf", 0, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "pam_recover.conf: the config file must be named by an absolute path");
	cfg_free(&c);
}

static int load_module(struct cfg *c, char *err, size_t n, int argc, ...)
{
	const char *argv[16];
	va_list ap;
	int i;

	assert_true(argc < 16);
	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, const char *);
	va_end(ap);
	argv[argc] = NULL;
	return cfg_load_module(c, argc, argv, err, n);
}

static void test_load_module(void **state)
{
	char carg[160];
	char carg2[160];
	char want[512];
	char err[512];
	struct cfg c;
	const char *p;

	(void)state;
	need_root();
	p = tmpfile_with("mod.conf", "window = 4\ndeny = 7\nprompt = \"File: \"\n", 0644);
	FMT(carg, sizeof(carg), "config=%s", p);

	/* arguments override the file, the file overrides the defaults */
	assert_int_equal(load_module(&c, err, sizeof(err), 3, "nullok", carg, "window=2"), 0);
	assert_int_equal(c.window, 2);
	assert_int_equal(c.deny, 7);
	assert_int_equal(c.nullok, 1);
	assert_string_equal(c.prompt, "File: ");
	cfg_free(&c);

	/* a named file must exist */
	FMT(carg2, sizeof(carg2), "config=%s/none.conf", tmpdir);
	assert_int_equal(load_module(&c, err, sizeof(err), 1, carg2), -1);
	FMT(want, sizeof(want), "%s/none.conf: does not exist", tmpdir);
	assert_string_equal(err, want);
	assert_null(c.store); /* freed on failure */
	cfg_free(&c);

	assert_int_equal(load_module(&c, err, sizeof(err), 2, carg, carg), -1);
	assert_string_equal(err, "module argument 'config' given twice");
	assert_int_equal(load_module(&c, err, sizeof(err), 1, "config=etc/x.conf"), -1);
	assert_string_equal(err, "module argument config: 'etc/x.conf' is not an absolute path");
	assert_int_equal(load_module(&c, err, sizeof(err), 1, "config="), -1);
	assert_string_equal(err, "module argument config: '' is not an absolute path");
	assert_int_equal(load_module(&c, err, sizeof(err), 3, carg, "debug", "debug"), -1);
	assert_string_equal(err, "module argument 'debug' given twice");
	assert_int_equal(load_module(&c, err, sizeof(err), 3, carg, "window=1", "window=2"), -1);
	assert_string_equal(err, "module argument 'window' given twice");
	assert_int_equal(load_module(&c, err, sizeof(err), 2, carg, "windw=1"), -1);
	assert_string_equal(err, "unknown module argument 'windw' (did you mean 'window'?)");

	/* the cross-key checks run last, over file and arguments together */
	p = tmpfile_with("svc.conf", "password_service = passwd\n", 0644);
	FMT(carg, sizeof(carg), "config=%s", p);
	assert_int_equal(load_module(&c, err, sizeof(err), 2, carg, "password_command=/bin/x %u"),
			 -1);
	assert_non_null(strstr(err, "password_service and password_command are both set"));

	/* a file error is reported as the file's */
	p = tmpfile_with("dup.conf", "deny = 1\ndeny = 2\n", 0644);
	FMT(carg, sizeof(carg), "config=%s", p);
	assert_int_equal(load_module(&c, err, sizeof(err), 1, carg), -1);
	FMT(want, sizeof(want), "%s:2: duplicate key 'deny' (already set on line 1)", p);
	assert_string_equal(err, want);

	assert_int_equal(cfg_load_module(&c, 1, NULL, err, sizeof(err)), -1);
	cfg_free(&c);
}

/* ---- accessors ---- */

static void test_questions(void **state)
{
	char q[CFG_MAX_LINE];
	char err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	assert_int_equal(cfg_question_count(&c), 0);
	assert_int_equal(cfg_question(&c, 0, q, sizeof(q)), -1);
	assert_int_equal(cfg_apply_arg(&c, "questions= First pet? |Town of birth?| Teacher ", err,
				       sizeof(err)),
			 0);
	assert_int_equal(cfg_question_count(&c), 3);
	assert_int_equal(cfg_question(&c, 0, q, sizeof(q)), 0);
	assert_string_equal(q, "First pet?");
	assert_int_equal(cfg_question(&c, 1, q, sizeof(q)), 0);
	assert_string_equal(q, "Town of birth?");
	assert_int_equal(cfg_question(&c, 2, q, sizeof(q)), 0);
	assert_string_equal(q, "Teacher");
	assert_int_equal(cfg_question(&c, 3, q, sizeof(q)), -1);
	assert_int_equal(cfg_question(&c, 0, q, 5), -1); /* too small */
	assert_int_equal(cfg_question_count(NULL), 0);
	cfg_free(&c);
}

static void test_dates(void **state)
{
	static const struct {
		const char *date;
	} v[] = {
		{"1970-01-01"}, {"2000-03-01"}, {"2024-02-29"},
		{"2038-01-19"}, {"2100-03-01"}, {"9999-12-31"},
	};
	char arg[64];
	char err[256];
	struct cfg c;
	size_t i;

	(void)state;
	assert_int_equal(cfg_init(&c), 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		FMT(arg, sizeof(arg), "enforce_after=%s", v[i].date);
		assert_int_equal(cfg_apply_arg(&c, arg, err, sizeof(err)), 0);
		assert_string_equal(c.enforce_after, v[i].date);
	}
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=1969-12-31", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2100-02-29", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2000-02-29", err, sizeof(err)), 0);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2024-04-31", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2024-00-10", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2024-1a-10", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=2024-+1-10", err, sizeof(err)), -1);
	assert_int_equal(cfg_apply_arg(&c, "enforce_after=+024-01-10", err, sizeof(err)), -1);
	cfg_free(&c);
}

static void test_loopback(void **state)
{
	static const char *const yes[] = {
		"http://127.0.0.1/",       "http://127.255.0.9:80/x", "smtp://localhost",
		"smtp://LocalHost:25",     "http://[::1]:8080/send",  "http://[0:0:0:0:0:0:0:1]/",
		"https://user@127.0.0.1/",
	};
	static const char *const no[] = {
		"http://128.0.0.1/",
		"http://localhost.example.com/",
		"http://[::2]/",
		"http://10.0.0.1/",
		"http://127.0.0.1.nip.io/",
		"http://0x7f000001/",
		"http://2130706433/",
		"not a url",
		"http://127.1/",
		"http://[::ffff:127.0.0.1]/",
		"",
		"http://evil.com@/",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!cfg_url_is_loopback(yes[i]))
			fail_msg("not loopback: %s", yes[i]);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (cfg_url_is_loopback(no[i]))
			fail_msg("loopback: %s", no[i]);
	}
	assert_false(cfg_url_is_loopback(NULL));
}

/* reuse_trusted_hosts: numeric addresses and CIDR ranges, never a name. */
static void test_host_in_list(void **state)
{
	static const char list[] = "192.0.2.7, 10.20.0.0/16 2001:db8::/32,198.51.100.128/25";

	(void)state;
	assert_true(host_list_ok(list));
	assert_true(host_in_list(list, "192.0.2.7"));
	assert_false(host_in_list(list, "192.0.2.8"));
	assert_true(host_in_list(list, "10.20.255.1"));
	assert_false(host_in_list(list, "10.21.0.1"));
	assert_true(host_in_list(list, "198.51.100.200"));
	assert_false(host_in_list(list, "198.51.100.127"));
	assert_true(host_in_list(list, "2001:db8:1::5"));
	assert_false(host_in_list(list, "2001:db9::5"));
	assert_true(host_in_list(list, "::ffff:192.0.2.7")); /* IPv4-mapped */
	assert_false(host_in_list(list, "webmail.example.org"));
	assert_false(host_in_list(list, ""));
	assert_false(host_in_list(list, NULL));
	assert_false(host_in_list(NULL, "192.0.2.7"));
	assert_true(host_in_list("0.0.0.0/0", "203.0.113.1"));
	assert_false(host_in_list("0.0.0.0/0", "2001:db8::1"));
	assert_false(host_list_ok(""));
	assert_false(host_list_ok(" , "));
	assert_false(host_list_ok("192.0.2.7/"));
	assert_false(host_list_ok("192.0.2.7/-1"));
	assert_false(host_list_ok("192.0.2.7/33"));
	assert_false(host_list_ok("2001:db8::/129"));
	assert_false(host_list_ok("localhost"));
	assert_false(host_list_ok("192.0.2.7/+8"));
}

/* ---- the man page and the sample config follow the table ---- */

static void test_man_page_lists_every_key(void **state)
{
	char path[512];
	char want[128];
	size_t len;
	size_t i;
	char *man;
	const char *k;

	(void)state;
	FMT(path, sizeof(path), "%s/man/pam_recover.conf.5", srcdir());
	man = slurp(path, &len);
	assert_non_null(man);
	for (i = 0; (k = cfg_key_name(i)) != NULL; i++) {
		FMT(want, sizeof(want), "\n.It Cm %s ", k);
		if (strstr(man, want) == NULL)
			fail_msg("man/pam_recover.conf.5 does not document '%s'", k);
	}
	assert_true(i > 40);
	free(man);
}

static void test_sample_config(void **state)
{
	char path[512];
	char err[512];
	char want[512];
	struct cfg c;
	size_t len;
	size_t i;
	char *sample;
	char *defaults;
	char *got;
	const char *k;

	(void)state;
	FMT(path, sizeof(path), "%s/conf/pam_recover.conf", srcdir());
	sample = slurp(path, &len);
	assert_non_null(sample);
	/* everything in it is commented out: parsing it leaves the defaults */
	assert_int_equal(cfg_init(&c), 0);
	defaults = dump(&c);
	if (cfg_parse_buffer(&c, "pam_recover.conf", sample, len, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	got = dump(&c);
	assert_string_equal(got, defaults);
	free(got);
	cfg_free(&c);
	/* and every key is there, shown with its default */
	for (i = 0; (k = cfg_key_name(i)) != NULL; i++) {
		char *line;
		char *end;

		FMT(want, sizeof(want), "\n#%s = ", k);
		if (strstr(sample, want) == NULL)
			fail_msg("conf/pam_recover.conf has no '#%s = ' line", k);
		if (strcmp(k, "store") == 0 || strcmp(k, "key_file") == 0)
			continue; /* build-time paths */
		FMT(want, sizeof(want), "\n%s = ", k);
		line = strstr(defaults, want);
		if (line == NULL && strncmp(defaults, want + 1, strlen(want) - 1) == 0)
			line = defaults - 1;
		if (line == NULL)
			continue; /* unset by default: the sample shows an example */
		end = strchr(line + 1, '\n');
		assert_non_null(end);
		FMT(want, sizeof(want), "\n#%.*s\n", (int)(end - line - 1), line + 1);
		if (strstr(sample, want) == NULL)
			fail_msg("conf/pam_recover.conf does not show the default: %s", want + 1);
	}
	free(defaults);
	free(sample);
}

/* Credentials in a refused value never reach a message (the messages go to syslog and, for
 * root, to the terminal): file lines and module arguments, as the user part of a URL or as
 * a password-like parameter, also past the 60 characters a message shows. */
static void test_messages_hide_credentials(void **state)
{
	static const char *const lines[] = {
		"smtp_url = smtp://mailer:S3cretPw@mail.example.org:587\n",
		"store = postgresql://pam:S3cretPw@db.example.org/pam\n",
		"store = postgresql://db.example.org/pam?sslmode=require&password=S3cretPw\n",
		"reset_url = https://S3cretPw@www.example.org/reset/{code}\n",
		"sms_url = http://gw.example.org/send?token=S3cretPw&to={to}\n",
		"sms_url = http://gw.example.org/a/very/long/path/to/the/gateway/send?Api-Key=S3cretPw\n",
		"smtp://mailer:S3cretPw@mail.example.org\n",
		"smtp_url = smtp://mailer:pa/S3cretPw@mail.example.org\n", /* '/' unencoded */
		"smtp_url = smtp://mailer:pa@S3cretPw@mail.example.org\n", /* '@' unencoded */
		"store = postgresql://db.example.org/pam?password=ab;S3cretPw#x\n",
	};
	static const char *const args[] = {
		"smtp_url=smtp://mailer:S3cretPw@mail.example.org",
		"store=postgres://x:S3cretPw@h/db",
	};
	char err[512];
	struct cfg c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(cfg_init(&c), 0);
		err[0] = '\0';
		assert_int_equal(cfg_parse_buffer(&c, "t.conf", lines[i], strlen(lines[i]), err,
						  sizeof(err)),
				 -1);
		if (strstr(err, "S3cret") != NULL ||
		    (strstr(err, "***") == NULL && strstr(err, "...") == NULL))
			fail_msg("line %zu: %s", i, err);
		cfg_free(&c);
	}
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		assert_int_equal(cfg_init(&c), 0);
		err[0] = '\0';
		assert_int_equal(cfg_apply_arg(&c, args[i], err, sizeof(err)), -1);
		if (strstr(err, "S3cret") != NULL || strstr(err, "***") == NULL)
			fail_msg("argument %zu: %s", i, err);
		cfg_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_golden_bad),
		cmocka_unit_test(test_golden_good),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_line_and_file_limits),
		cmocka_unit_test(test_long_value_in_message),
		cmocka_unit_test(test_messages_hide_credentials),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_module),
		cmocka_unit_test(test_questions),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_host_in_list),
		cmocka_unit_test(test_man_page_lists_every_key),
		cmocka_unit_test(test_sample_config),
	};

	return rc_run_group_tests("config", tests, setup, teardown);
}
