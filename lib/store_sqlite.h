/* The SQLite backend's connection, for tests and diagnostics (store_sqlite.c). */
#ifndef RC_STORE_SQLITE_H
#define RC_STORE_SQLITE_H

#include <stddef.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

/* The connection behind a sqlite store (tests and diagnostics), or NULL for another backend. */
sqlite3 *store_sqlite_db(struct store *s);

#endif
