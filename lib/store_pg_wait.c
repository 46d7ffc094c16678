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
 */
#include "store_pg_wait.h"

#include <sched.h>
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

/* Poll until the answer is complete or the time is up; then PQgetResult sleeps if needed. */
static void poll_answer(PGconn *c, int64_t start)
{
	while (PQconsumeInput(c) && PQisBusy(c) && now_ns() - start < STORE_PG_POLL_NS)
		sched_yield();
}

PGresult *store_pg_exec_prepared(PGconn *c, struct store_pg_wait *w, const char *name, int n,
				 const char *const *values, const int *lengths, const int *formats)
{
	PGresult *last = NULL, *res;
	int64_t start = now_ns();

	if (!PQsendQueryPrepared(c, name, n, values, lengths, formats, 1))
		return NULL;
	if (store_pg_wait_polls(w))
		poll_answer(c, start);
	/* As PQexec: every result of the statement read, the last one kept. */
	while ((res = PQgetResult(c)) != NULL) {
		PQclear(last);
		last = res;
		if (PQstatus(c) == CONNECTION_BAD)
			break;
	}
	store_pg_wait_note(w, now_ns() - start);
	return last;
}
