/* A statement's answer from the server, waited for without a sleep when it comes soon, and
 * never longer than the connection's limit. */
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
	int limit_ms; /* the longest wait for one answer (store_pg_wait_init) */
	int dead;     /* an answer did not come within limit_ms: the connection is given up */
	char why[96]; /* what happened, when dead */
};

/*
 * A wait's limit is the server's statement_timeout plus this margin. statement_timeout is
 * enforced by the server process itself, and TCP keepalives are answered by the server
 * machine's kernel: neither ends a wait for a server process that stopped (SIGSTOP, a hung
 * disk, a frozen VM). The margin lets the server's own timeout error come first.
 */
#define STORE_PG_WAIT_MARGIN_MS 2000

/* A connection's wait: no answer times yet, limit stmt_ms + STORE_PG_WAIT_MARGIN_MS. */
void store_pg_wait_init(struct store_pg_wait *w, int stmt_ms);

/*
 * The statement_timeout (ms) that libpq's `options` (e.g. "-c statement_timeout=10s") set:
 * a number with no unit or ms, s, min, h; dflt when options set none, set 0 (no limit at
 * the server: the client still bounds its waits) or set something unreadable.
 */
int store_pg_wait_stmt_ms(const char *options, int dflt);

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
 * result if the statement failed), or NULL with the reason in PQerrorMessage(c), or NULL
 * with w->dead set when no answer came within w->limit_ms (store_pg_wait_why). A dead
 * connection sends nothing more: every later call returns NULL at once.
 */
PGresult *store_pg_exec_prepared(PGconn *c, struct store_pg_wait *w, const char *name, int n,
				 const char *const *values, const int *lengths, const int *formats);
/* PQexec (text; several statements: the last result) and PQprepare, with the same wait. */
PGresult *store_pg_exec(PGconn *c, struct store_pg_wait *w, const char *sql);
PGresult *store_pg_prepare(PGconn *c, struct store_pg_wait *w, const char *name, const char *sql,
			   int n, const Oid *types);

/* Why a call above failed: the time-out when w->dead, else store_pg_why(c, res). Static,
 * connection-owned or w-owned text. */
const char *store_pg_wait_why(PGconn *c, const struct store_pg_wait *w, const PGresult *res);

#endif
