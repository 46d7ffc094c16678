/*
 * Send quotas (lib/quota.c) against a real SQLite store: the caller's key (uid, IPv4,
 * IPv6 /64), each limit in its order, a refused reservation that writes nothing once
 * rolled back, the destination counted under a keyed hash (never the value), the SMS budget
 * checked for every SMS request and counted only for real ones, and quota_release. Runs as
 * root (the store must be root's).
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_select.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "quota.h"

struct fx {
	char dir[64];
	char spec[200];
	char db[160];
	struct cfg cfg;
	struct seal_key key;
	struct store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (scratch_make(f->dir, sizeof(f->dir), "test_quota") != 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/db/state.db", f->dir); /* read directly below */
	f->cfg.sends_per_hour = 3;
	f->cfg.destination_sends_per_day = 2;
	f->cfg.caller_requests_per_hour = 4;
	f->cfg.sms_daily_budget = 5;
	memset(f->key.hash, 0x42, sizeof(f->key.hash));
	if (scratch_store_open(f->dir, &f->cfg, f->spec, sizeof(f->spec), &f->s) != STORE_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	scratch_store_close(f->s, f->dir);
	free(f);
	return 0;
}

/* One reservation in its own transaction, committed only when allowed (as the helper). */
static int reserve(struct fx *f, const char *caller, const char *user, const char *chan,
		   const char *dest, int64_t now)
{
	const struct quota_req q = {caller, user, chan, dest};
	int r;

	assert_int_equal(store_begin(f->s), STORE_OK);
	r = quota_reserve(f->s, &f->cfg, &f->key, &q, now);
	if (r == QUOTA_OK)
		assert_int_equal(store_commit(f->s), STORE_OK);
	else
		store_rollback(f->s);
	return r;
}

static int count(struct fx *f, const char *key, int64_t now, int window)
{
	int n = -1;

	assert_int_equal(store_counter_get(f->s, key, now, window, &n), STORE_OK);
	return n;
}

/* Rows in the counters table whose key contains `needle`. */
static int rows_like(struct fx *f, const char *needle)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char like[200];
	int n = -1;

	snprintf(like, sizeof(like), "%%%s%%", needle);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM counters WHERE key LIKE ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, like, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void test_caller_ids(void **state)
{
	char out[QUOTA_CALLER_MAX];

	(void)state;
	assert_int_equal(quota_caller(0, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, ""); /* root: not limited */
	assert_int_equal(quota_caller(1000, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "uid:1000");
	assert_int_equal(quota_caller(33, "198.51.100.7", out, sizeof(out)), 0);
	assert_string_equal(out, "ip:198.51.100.7");
	assert_int_equal(quota_caller(0, "2001:db8:1:2:abcd::1", out, sizeof(out)), 0);
	assert_string_equal(out, "ip6:2001:db8:1:2::/64");
	assert_int_equal(quota_caller(0, "2001:0db8:0001:0002:ffff:0:0:9", out, sizeof(out)), 0);
	assert_string_equal(out, "ip6:2001:db8:1:2::/64"); /* the same /64 */
	assert_int_equal(quota_caller(33, "example.org", out, sizeof(out)), -1);
	assert_int_equal(quota_caller(33, "1.2.3.4; rm", out, sizeof(out)), -1);
	assert_int_equal(quota_caller(33, "", out, sizeof(out)), -1);
}

static void test_account_limit_writes_nothing_when_refused(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 3; i++)
		assert_int_equal(reserve(f, "uid:7", "bob", "email", NULL, 1000 + i), QUOTA_OK);
	assert_int_equal(count(f, "send:email:bob", 1003, 3600), 3);
	assert_int_equal(count(f, "send-caller:uid:7", 1003, 3600), 3);
	assert_int_equal(reserve(f, "uid:7", "bob", "email", "b@example.org", 1004), QUOTA_ACCOUNT);
	/* nothing written: neither the caller's count nor the destination's */
	assert_int_equal(count(f, "send-caller:uid:7", 1004, 3600), 3);
	assert_int_equal(rows_like(f, "send-dest:"), 0);
	/* another channel and another account have their own counts */
	assert_int_equal(reserve(f, "uid:7", "bob", "sms", NULL, 1005), QUOTA_OK);
	assert_int_equal(reserve(f, "uid:8", "ann", "email", NULL, 1005), QUOTA_OK);
	/* an hour later the window has slid */
	assert_int_equal(reserve(f, "uid:9", "bob", "email", NULL, 1000 + 3601), QUOTA_OK);
}

static void test_caller_limit_first(void **state)
{
	struct fx *f = *state;
	const struct quota_req answer = {"ip:192.0.2.1", NULL, NULL, NULL};

	for (int i = 0; i < 4; i++) {
		char user[16];
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(reserve(f, "ip:192.0.2.1", user, "sms", NULL, 2000), QUOTA_OK);
	}
	assert_int_equal(reserve(f, "ip:192.0.2.1", "u9", "sms", NULL, 2000), QUOTA_CALLER);
	assert_int_equal(count(f, "send:sms:u9", 2000, 3600), 0);
	/* an answer check counts under the caller only */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(quota_reserve(f->s, &f->cfg, &f->key, &answer, 2000), QUOTA_CALLER);
	store_rollback(f->s);
	/* root (no caller key) and another client are not held back */
	assert_int_equal(reserve(f, "", "u9", "sms", NULL, 2000), QUOTA_OK);
	assert_int_equal(reserve(f, NULL, "u8", "sms", NULL, 2000), QUOTA_OK);
	assert_int_equal(reserve(f, "ip:192.0.2.2", "u7", "sms", NULL, 2000), QUOTA_OK);
}

static void test_destination_hashed_and_limited(void **state)
{
	struct fx *f = *state;

	assert_int_equal(reserve(f, NULL, "a", "sms", "+37126000001", 3000), QUOTA_OK);
	assert_int_equal(reserve(f, NULL, "b", "sms", "+37126000001", 3000), QUOTA_OK);
	assert_int_equal(reserve(f, NULL, "c", "sms", "+37126000001", 3000), QUOTA_DESTINATION);
	assert_int_equal(reserve(f, NULL, "c", "sms", "+37126000002", 3000), QUOTA_OK);
	assert_int_equal(rows_like(f, "send-dest:sms:"), 3);
	assert_int_equal(rows_like(f, "37126000001"), 0); /* never the number itself */
	/* the same number by another channel is another destination */
	assert_int_equal(reserve(f, NULL, "c", "telegram", "+37126000001", 3000), QUOTA_OK);
	/* a day later it may be used again */
	assert_int_equal(reserve(f, NULL, "d", "sms", "+37126000001", 3000 + 86401), QUOTA_OK);
}

static void test_sms_budget(void **state)
{
	struct fx *f = *state;
	char user[16], num[24];

	f->cfg.destination_sends_per_day = 100;
	for (int i = 0; i < 5; i++) {
		snprintf(user, sizeof(user), "s%d", i);
		snprintf(num, sizeof(num), "+3712600010%d", i);
		/* requests that send nothing do not use the budget */
		assert_int_equal(reserve(f, NULL, user, "sms", NULL, 4000), QUOTA_OK);
		assert_int_equal(reserve(f, NULL, user, "sms", num, 4000), QUOTA_OK);
	}
	assert_int_equal(count(f, "sms:budget", 4000, 86400), 5);
	/* spent: refused for a real send and for one that sends nothing alike */
	assert_int_equal(reserve(f, NULL, "s9", "sms", "+37126000199", 4000), QUOTA_BUDGET);
	assert_int_equal(reserve(f, NULL, "s9", "sms", NULL, 4000), QUOTA_BUDGET);
	/* e-mail has no budget */
	assert_int_equal(reserve(f, NULL, "s9", "email", "x@example.org", 4000), QUOTA_OK);
	f->cfg.sms_daily_budget = 0; /* 0 = no budget */
	assert_int_equal(reserve(f, NULL, "s8", "sms", "+37126000198", 4000), QUOTA_OK);
}

static void test_release(void **state)
{
	struct fx *f = *state;
	const struct quota_req q = {"uid:5", "rel", "sms", "+37126000300"};

	assert_int_equal(reserve(f, "uid:5", "rel", "sms", "+37126000300", 5000), QUOTA_OK);
	assert_int_equal(count(f, "send:sms:rel", 5000, 3600), 1);
	assert_int_equal(count(f, "sms:budget", 5000, 86400), 1);
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(quota_release(f->s, &f->cfg, &f->key, &q, 5000), QUOTA_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(count(f, "send:sms:rel", 5000, 3600), 0);
	assert_int_equal(count(f, "send-caller:uid:5", 5000, 3600), 0);
	assert_int_equal(count(f, "sms:budget", 5000, 86400), 0);
	assert_int_equal(rows_like(f, "send-dest:"), 0);
	/* releasing what is not there is harmless */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(quota_release(f->s, &f->cfg, &f->key, &q, 5000), QUOTA_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);
}

static void test_messages(void **state)
{
	(void)state;
	assert_non_null(strstr(quota_message(QUOTA_ACCOUNT), "hour"));
	assert_non_null(strstr(quota_message(QUOTA_DESTINATION), "today"));
	assert_non_null(strstr(quota_message(QUOTA_BUDGET), "sms_daily_budget"));
	assert_non_null(strstr(quota_message(QUOTA_CALLER), "from here"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caller_ids),
		cmocka_unit_test_setup_teardown(test_account_limit_writes_nothing_when_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_limit_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destination_hashed_and_limited, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sms_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release, setup, teardown),
		cmocka_unit_test(test_messages),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_quota: needs root (the store must be root's); skipped\n");
		return 77;
	}
	return rc_run_group_tests("quota", tests, NULL, NULL);
}
