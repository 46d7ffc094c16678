/* The SQLite schema: its version and migrations, and what a result code means
 * (store_sqlite_schema.c), used by store_sqlite.c. */
#ifndef RC_STORE_SQLITE_SCHEMA_H
#define RC_STORE_SQLITE_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

#include "util.h"

/* PRAGMA application_id of a pam_recover store: "pamr". */
#define STORE_SQLITE_APP_ID 0x70616d72
/* The schema version this code writes (PRAGMA user_version). */
#define STORE_SQLITE_SCHEMA 7

/*
 * Bring the schema of an open database to STORE_SQLITE_SCHEMA. Reads user_version once; when
 * it is current nothing else runs. Refuses a newer version, a foreign database, and (without
 * `create`) an empty one. 0, or -1 with a message.
 */
int store_sqlite_schema(sqlite3 *db, int create, const char *path, char *err,
			size_t errlen) RC_MUST_CHECK;

/* What an SQLite result code means for the user (static text, never a value). */
const char *store_sqlite_why(int rc);

#endif
