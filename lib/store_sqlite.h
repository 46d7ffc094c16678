/* The SQLite backend's connection, for tests and diagnostics (store_sqlite.c). */
#ifndef RC_STORE_SQLITE_H
#define RC_STORE_SQLITE_H

#include <stddef.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

/* The connection behind a sqlite store (tests and diagnostics), or NULL for another backend. */
sqlite3 *store_sqlite_db(struct store *s);

/* Whether a commit that left the WAL at `frames` frames, `written` of them its own, tries a
 * checkpoint, when one is due every `every` frames (exposed for tests). */
int store_sqlite_checkpoint_due(int frames, int written, int every);

#endif
