/* The PostgreSQL schema: its version and migrations (store_pg_schema.c), used by store_pg.c. */
#ifndef RC_STORE_PG_SCHEMA_H
#define RC_STORE_PG_SCHEMA_H

#include <stddef.h>

#include <libpq-fe.h>

#include "store_pg_wait.h"
#include "util.h"

/* pam_recover_schema.app_id of a pam_recover store: "pamr", as SQLite's application_id. */
#define STORE_PG_APP_ID 1885433202
#define STORE_PG_APP_ID_TEXT "1885433202"
/* The schema version this code writes; the same number as STORE_SQLITE_SCHEMA. */
#define STORE_PG_SCHEMA 7

/*
 * Bring the schema of a connected database to STORE_PG_SCHEMA (under an advisory lock, in
 * one transaction). Reads the version once; when it is current nothing else runs. Refuses a
 * newer version, another program's database, and (without `create`) an empty one.
 * Every statement waits for its answer as w says (store_pg_wait.h). 0, or -1 with a message.
 */
int store_pg_schema(PGconn *c, struct store_pg_wait *w, int create, char *err,
		    size_t errlen) RC_MUST_CHECK;
/* The version in the database (0: none yet) and the one this code writes. 0, or -1. */
int store_pg_peek(PGconn *c, struct store_pg_wait *w, long long *have, long long *want, char *err,
		  size_t errlen) RC_MUST_CHECK;

#endif
