/*
 * When a PostgreSQL connection polls for its next answer instead of sleeping
 * (store_pg_wait.c): only after answers that came fast, never for a connection without
 * one yet, and not while answers keep coming slowly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_select.h"

#include "store_pg_wait.h"

#define US 1000 /* ns */

static void note_n(struct store_pg_wait *w, int n, int64_t ns)
{
	for (int i = 0; i < n; i++)
		store_pg_wait_note(w, ns);
}

/* A new connection sleeps for its first answer: nothing says the server is close. */
static void test_new_connection_sleeps(void **state)
{
	struct store_pg_wait w = {0};

	(void)state;
	assert_false(store_pg_wait_polls(&w));
	store_pg_wait_note(&w, 80 * US);
	assert_true(store_pg_wait_polls(&w));
}

/* A server on the same machine with a core free: 60-120 us answers, polled for. */
static void test_fast_answers_poll(void **state)
{
	struct store_pg_wait w = {0};

	(void)state;
	for (int i = 0; i < 50; i++) {
		store_pg_wait_note(&w, (60 + (i % 7) * 10) * US);
		assert_true(store_pg_wait_polls(&w));
	}
}

/* Across a network, or with every core busy: never polled for. */
static void test_slow_answers_sleep(void **state)
{
	struct store_pg_wait w = {0};

	(void)state;
	note_n(&w, 50, 300 * US);
	assert_false(store_pg_wait_polls(&w));
	note_n(&w, 50, STORE_PG_POLL_NS);
	assert_false(store_pg_wait_polls(&w));
}

/* One answer of 5 ms (a page read from disk, a lock waited for) does not stop the polling;
 * a few slow ones in a row do (a machine that became busy), and once answers have been
 * slow for a while, about eight fast ones bring it back. */
static void test_slow_answers_stop_polling(void **state)
{
	struct store_pg_wait w = {0};
	int slow = 0, back = 0;

	(void)state;
	note_n(&w, 20, 80 * US);
	store_pg_wait_note(&w, 5000 * US);
	assert_true(store_pg_wait_polls(&w));
	note_n(&w, 20, 80 * US);
	while (store_pg_wait_polls(&w) && slow < 100) {
		store_pg_wait_note(&w, 5000 * US);
		slow++;
	}
	note_n(&w, 20, 5000 * US);
	while (!store_pg_wait_polls(&w) && back < 100) {
		store_pg_wait_note(&w, 80 * US);
		back++;
	}
	print_message("    %d slow answers stop the polling, %d fast ones bring it back\n", slow,
		      back);
	assert_in_range(slow, 3, 6);
	assert_in_range(back, 6, 12);
}

/* A clock that went back (or an answer of 0 ns) leaves a usable average. */
static void test_odd_samples(void **state)
{
	struct store_pg_wait w = {0};

	(void)state;
	store_pg_wait_note(&w, -5);
	assert_true(w.avg_ns > 0);
	note_n(&w, 10, 0);
	assert_true(w.avg_ns > 0);
	assert_true(store_pg_wait_polls(&w));
	note_n(&w, 10, INT64_MAX);
	assert_false(store_pg_wait_polls(&w));
	assert_true(w.avg_ns <= 2 * (int64_t)STORE_PG_POLL_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_connection_sleeps),
		cmocka_unit_test(test_fast_answers_poll),
		cmocka_unit_test(test_slow_answers_sleep),
		cmocka_unit_test(test_slow_answers_stop_polling),
		cmocka_unit_test(test_odd_samples),
	};

	return rc_run_group_tests("pg_wait", tests, NULL, NULL);
}
