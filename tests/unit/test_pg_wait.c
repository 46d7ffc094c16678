/*
 * When a PostgreSQL connection polls for its next answer instead of sleeping
 * (store_pg_wait.c): only after answers that came fast, never for a connection without
 * one yet, and not while answers keep coming slowly. How long it waits at most: the
 * statement_timeout in force (read from libpq's options) plus a margin.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rc_select.h"

#include "store_pg_lib.h"
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

/* The limit of every wait: statement_timeout plus the margin, whatever the unit. */
static void test_limit_from_options(void **state)
{
	struct store_pg_wait w;

	(void)state;
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=5000 -c lock_timeout=5000", 1),
			 5000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=10s", 1), 10000);
	assert_int_equal(store_pg_wait_stmt_ms("-cstatement_timeout=250ms", 1), 250);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=2min", 1), 120000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=1h", 1), 3600000);
	/* none, 0 (no limit at the server), or unreadable: the default */
	assert_int_equal(store_pg_wait_stmt_ms("-c lock_timeout=9000", 5000), 5000);
	assert_int_equal(store_pg_wait_stmt_ms(NULL, 5000), 5000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=0", 5000), 5000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=5d", 5000), 5000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=x", 5000), 5000);
	assert_int_equal(store_pg_wait_stmt_ms("-c statement_timeout=99999999999h", 5000),
			 INT32_MAX);

	store_pg_wait_init(&w, 5000);
	assert_int_equal(w.limit_ms, 5000 + STORE_PG_WAIT_MARGIN_MS);
	assert_false(w.dead);
	assert_false(store_pg_wait_polls(&w));
	store_pg_wait_init(&w, INT32_MAX);
	assert_int_equal(w.limit_ms, INT32_MAX);
}

/* ---- a server that answers one statement, then stops answering ---- */

static int read_all(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One message's body after its length (the startup message has no type byte). */
static int skip_message(int fd, int typed)
{
	unsigned char h[5];
	uint32_t len;
	char body[4096];

	if (read_all(fd, h, typed ? 5 : 4) != 0)
		return -1;
	len = (uint32_t)h[typed] << 24 | (uint32_t)h[typed + 1] << 16 |
	      (uint32_t)h[typed + 2] << 8 | h[typed + 3];
	if (len < 4 || len - 4 > sizeof(body))
		return -1;
	return read_all(fd, body, len - 4);
}

static void fake_server(int lfd)
{
	/* AuthenticationOk, ReadyForQuery; then CommandComplete "SET", ReadyForQuery */
	static const char hello[] = "R\0\0\0\10\0\0\0\0Z\0\0\0\5I";
	static const char answer[] = "C\0\0\0\10SET\0Z\0\0\0\5I";
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0 || skip_message(fd, 0) != 0 || write(fd, hello, 15) != 15 ||
	    skip_message(fd, 1) != 0 || write(fd, answer, 15) != 15)
		_exit(1);
	/* the second statement is read, never answered (a server process that stopped) */
	skip_message(fd, 1);
	pause();
	_exit(0);
}

static int64_t ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* An answer that does not come: the wait ends at its limit, the connection is given up and
 * sends nothing more; the message says what happened. */
static void test_silent_server(void **state)
{
	char dir[] = "/tmp/rc-pgwait.XXXXXX", err[256];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct store_pg_wait w;
	const char *kw[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
	const char *val[] = {dir, "5432", "rc", "rc", "5", NULL};
	PGconn *c;
	PGresult *res;
	int64_t t0, took;
	pid_t pid;
	int lfd;

	(void)state;
	if (store_pg_load(err, sizeof(err)) != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/.s.PGSQL.5432", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fake_server(lfd);
	close(lfd);

	c = PQconnectdbParams(kw, val, 0);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	store_pg_wait_init(&w, 0); /* the margin alone: 2 s */
	res = store_pg_exec(c, &w, "SET x = 1");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_false(w.dead);

	t0 = ms_now();
	res = store_pg_exec(c, &w, "SELECT 1");
	took = ms_now() - t0;
	print_message("    no answer: given up after %lld ms\n", (long long)took);
	assert_null(res);
	assert_true(w.dead);
	/* at its limit, not before; the upper bound only says it ended (a loaded machine) */
	assert_in_range(took, STORE_PG_WAIT_MARGIN_MS, STORE_PG_WAIT_MARGIN_MS + 10000);
	assert_non_null(strstr(store_pg_wait_why(c, &w, NULL), "did not answer within 2 s"));

	t0 = ms_now();
	assert_null(store_pg_exec(c, &w, "ROLLBACK"));
	assert_null(store_pg_prepare(c, &w, "p", "SELECT 1", 0, NULL));
	assert_in_range(ms_now() - t0, 0, 1000); /* well under the 2 s a wait would take */

	PQfinish(c);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(a.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_connection_sleeps),
		cmocka_unit_test(test_fast_answers_poll),
		cmocka_unit_test(test_slow_answers_sleep),
		cmocka_unit_test(test_slow_answers_stop_polling),
		cmocka_unit_test(test_odd_samples),
		cmocka_unit_test(test_limit_from_options),
		cmocka_unit_test(test_silent_server),
	};

	return rc_run_group_tests("pg_wait", tests, NULL, NULL);
}
