/* A statement's answer from the server, waited for without a sleep when it comes soon. */
#ifndef RC_STORE_PG_WAIT_H
#define RC_STORE_PG_WAIT_H

#include <stdint.h>

#include <libpq-fe.h>

/*
 * How long this connection's answers took lately: a moving average of the time from
 * sending a statement to having its whole answer, each counted at most twice
 * STORE_PG_POLL_NS (0: none yet). A connection starts without one, so its first answers
 * are always waited for by sleeping.
 */
struct store_pg_wait {
	int64_t avg_ns;
};

/*
 * The longest a wait polls the socket before it sleeps, and the average above which it
 * does not poll at all (a server across a network, or a machine whose cores are busy).
 */
#define STORE_PG_POLL_NS 200000

/* Note how long one answer took; would the next one be polled for? (The rule, apart for
 * its tests.) */
void store_pg_wait_note(struct store_pg_wait *w, int64_t took_ns);
int store_pg_wait_polls(const struct store_pg_wait *w);

/*
 * PQexecPrepared (results in binary) with the wait above: the last result (an error
 * result if the statement failed), or NULL with the reason in PQerrorMessage(c).
 */
PGresult *store_pg_exec_prepared(PGconn *c, struct store_pg_wait *w, const char *name, int n,
				 const char *const *values, const int *lengths, const int *formats);

#endif
