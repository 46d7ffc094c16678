/*
 * Waiting for the PostgreSQL server's answer. A login is two statements, each a round
 * trip. When the server is on the same machine and a core is free, its answer comes in
 * well under 0.2 ms; a sleep in poll() and the wake-up on the answer then cost about as
 * much again (on a virtual machine more: waking an idle core is a trip through the
 * hypervisor), once in this process and once in the server's. So a connection whose
 * answers have lately come that fast polls the socket for its next answer, yielding the
 * core at every turn to anything else runnable, for at most STORE_PG_POLL_NS, and sleeps
 * only after that. A connection whose answers are slower (a server across a network, or
 * cores busy with other logins, where polling would take a core from the server itself)
 * sleeps at once, as libpq's own wait does.
 *
 * Every wait, polled or asleep, ends at the connection's limit (the server's
 * statement_timeout plus a margin): a server process that stopped answering (SIGSTOP, a
 * hung disk, a frozen virtual machine whose kernel still answers TCP keepalives) is waited
 * for no longer. The connection is then given up (dead): it sends nothing more, the store
 * reports the error, and the caller opens a new connection next time. No cancel request is
 * sent: libpq's PQcancel connects to the server without any time limit (a frozen machine
 * would hold it as long as the statement), and closing the connection ends the session at
 * the server as soon as it runs again, rolling back whatever transaction was open.
 * Statements are sent in libpq's nonblocking mode, so a send buffer the server does not
 * read is waited on within the same limit.
 */
#include "store_pg_wait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_pg_lib.h"

/* The weight of a new sample in the moving average: 1/8. */
#define AVG_SHIFT 3

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void store_pg_wait_note(struct store_pg_wait *w, int64_t took_ns)
{
	/* One answer counts at most twice the bound: a page read from disk or a lock waited
	 * for now and then does not stop the polling; answers that are slow again and again
	 * (four in a row) do. */
	if (took_ns > 2 * (int64_t)STORE_PG_POLL_NS)
		took_ns = 2 * (int64_t)STORE_PG_POLL_NS;
	if (took_ns < 0)
		took_ns = 0;
	if (w->avg_ns <= 0)
		w->avg_ns = took_ns > 0 ? took_ns : 1;
	else
		w->avg_ns += (took_ns - w->avg_ns) / (1 << AVG_SHIFT);
	if (w->avg_ns <= 0)
		w->avg_ns = 1;
}

int store_pg_wait_polls(const struct store_pg_wait *w)
{
	return w->avg_ns > 0 && w->avg_ns < STORE_PG_POLL_NS;
}

void store_pg_wait_init(struct store_pg_wait *w, int stmt_ms)
{
	memset(w, 0, sizeof(*w));
	if (stmt_ms < 0)
		stmt_ms = 0;
	if (stmt_ms > INT_MAX - STORE_PG_WAIT_MARGIN_MS)
		stmt_ms = INT_MAX - STORE_PG_WAIT_MARGIN_MS;
	w->limit_ms = stmt_ms + STORE_PG_WAIT_MARGIN_MS;
}

int store_pg_wait_stmt_ms(const char *options, int dflt)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}};
	const char *p = options != NULL ? strstr(options, "statement_timeout") : NULL;
	char *end = NULL;
	long long v;
	size_t n;

	if (p == NULL)
		return dflt;
	p += strlen("statement_timeout");
	p += strspn(p, " ");
	if (*p != '=')
		return dflt;
	p++;
	p += strspn(p, " ");
	if (*p < '0' || *p > '9')
		return dflt;
	errno = 0;
	v = strtoll(p, &end, 10);
	if (errno != 0 || v <= 0)
		return dflt;
	n = strcspn(end, " \t'\"");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].unit) == n && strncmp(end, units[i].unit, n) == 0)
			return v > INT_MAX / units[i].ms ? INT_MAX : (int)(v * units[i].ms);
	return dflt;
}

const char *store_pg_wait_why(PGconn *c, const struct store_pg_wait *w, const PGresult *res)
{
	if (w != NULL && w->dead)
		return w->why;
	return store_pg_why(c, res);
}

/* Poll until the answer is complete or the time is up; then the wait sleeps if needed. */
static void poll_answer(PGconn *c, int64_t start)
{
	while (PQconsumeInput(c) && PQisBusy(c) && now_ns() - start < STORE_PG_POLL_NS)
		sched_yield();
}

/* No answer by the deadline: the connection is given up. */
static void give_up(struct store_pg_wait *w)
{
	w->dead = 1;
	snprintf(w->why, sizeof(w->why),
		 "the PostgreSQL server did not answer within %d s (connection given up)",
		 (w->limit_ms + 999) / 1000);
}

/* Sleep until the socket has `events` or the deadline passes: 1, or 0 when the time is up
 * (or the socket is gone). */
static int wait_socket(PGconn *c, short events, int64_t deadline)
{
	struct pollfd p = {.fd = PQsocket(c), .events = events};

	if (p.fd < 0)
		return 0;
	for (;;) {
		int64_t left = deadline - now_ns();
		int r;

		if (left <= 0)
			return 0;
		/* rounded up: a wait never ends a little before its deadline */
		r = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

/*
 * After a statement went into libpq's buffer: send it, then read every result (as PQexec:
 * the last one kept), each wait ending at start + w->limit_ms.
 */
static PGresult *finish(PGconn *c, struct store_pg_wait *w, int64_t start)
{
	PGresult *last = NULL, *res;
	int64_t deadline = start + (int64_t)w->limit_ms * 1000000;
	int f;

	/* Flushing: a server that reads nothing leaves the send buffer full. While waiting,
	 * what the server sent is read in (libpq's rule for nonblocking sends). */
	while ((f = PQflush(c)) == 1) {
		if (!wait_socket(c, POLLOUT | POLLIN, deadline)) {
			give_up(w);
			return NULL;
		}
		if (!PQconsumeInput(c))
			break;
	}
	if (f < 0)
		return NULL; /* the reason in PQerrorMessage(c) */
	if (store_pg_wait_polls(w))
		poll_answer(c, start);
	for (;;) {
		while (PQisBusy(c)) {
			if (!wait_socket(c, POLLIN, deadline)) {
				PQclear(last);
				give_up(w);
				return NULL;
			}
			if (!PQconsumeInput(c))
				break; /* a broken connection: PQgetResult reports it */
		}
		if (PQisBusy(c)) {
			/* input failed, yet libpq still waits: give up rather than block */
			PQclear(last);
			return NULL;
		}
		res = PQgetResult(c);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
		if (PQstatus(c) == CONNECTION_BAD)
			break;
	}
	store_pg_wait_note(w, now_ns() - start);
	return last;
}

/* Before a send: nonblocking mode (once per connection); nothing on a dead one. */
static int ready(PGconn *c, const struct store_pg_wait *w)
{
	if (w->dead)
		return 0;
	return PQisnonblocking(c) || PQsetnonblocking(c, 1) == 0;
}

PGresult *store_pg_exec_prepared(PGconn *c, struct store_pg_wait *w, const char *name, int n,
				 const char *const *values, const int *lengths, const int *formats)
{
	int64_t start = now_ns();

	if (!ready(c, w) || !PQsendQueryPrepared(c, name, n, values, lengths, formats, 1))
		return NULL;
	return finish(c, w, start);
}

PGresult *store_pg_exec(PGconn *c, struct store_pg_wait *w, const char *sql)
{
	int64_t start = now_ns();

	if (!ready(c, w) || !PQsendQuery(c, sql))
		return NULL;
	return finish(c, w, start);
}

PGresult *store_pg_prepare(PGconn *c, struct store_pg_wait *w, const char *name, const char *sql,
			   int n, const Oid *types)
{
	int64_t start = now_ns();

	if (!ready(c, w) || !PQsendPrepare(c, name, sql, n, types))
		return NULL;
	return finish(c, w, start);
}
