/*
 * The SQLite schema and its migrations. PRAGMA user_version holds the version; migration N
 * takes a database from N-1 to N and sets user_version = N itself, inside one transaction.
 * Append new migrations; never edit one that has shipped.
 *
 * One model for every backend: column types and constraints are kept to what PostgreSQL
 * also has (TEXT, INTEGER/BIGINT, BLOB/BYTEA, composite primary keys, ON CONFLICT). The user
 * column is called `username` because `user` is a reserved word in PostgreSQL.
 */
#include <string.h>

#include "store_backend.h"
#include "store_sqlite_schema.h"

struct migration {
	int version;
	const char *sql;
};

/* clang-format off */
static const struct migration migrations[] = {
	{1,
	 "CREATE TABLE totp ("
	 " username TEXT NOT NULL PRIMARY KEY,"
	 " sealed BLOB NOT NULL,"
	 " algorithm INTEGER NOT NULL,"
	 " digits INTEGER NOT NULL,"
	 " period INTEGER NOT NULL,"
	 " created INTEGER NOT NULL);"
	 "CREATE TABLE totp_pending ("
	 " username TEXT NOT NULL PRIMARY KEY,"
	 " sealed BLOB NOT NULL,"
	 " algorithm INTEGER NOT NULL,"
	 " digits INTEGER NOT NULL,"
	 " period INTEGER NOT NULL,"
	 " created INTEGER NOT NULL);"
	 "CREATE TABLE login_state ("
	 " username TEXT NOT NULL PRIMARY KEY,"
	 " last_step INTEGER NOT NULL DEFAULT -1,"
	 " failures INTEGER NOT NULL DEFAULT 0,"
	 " locked_until INTEGER NOT NULL DEFAULT 0);"
	 "CREATE TABLE backup_codes ("
	 " username TEXT NOT NULL,"
	 " hash BLOB NOT NULL,"
	 " used_at INTEGER,"
	 " PRIMARY KEY (username, hash));"
	 "CREATE TABLE app_passwords ("
	 " username TEXT NOT NULL,"
	 " name TEXT NOT NULL,"
	 " services TEXT NOT NULL DEFAULT '',"
	 " hash BLOB NOT NULL,"
	 " created INTEGER NOT NULL,"
	 " last_used INTEGER NOT NULL DEFAULT 0,"
	 " PRIMARY KEY (username, name),"
	 " UNIQUE (username, hash));"
	 "CREATE TABLE contacts ("
	 " username TEXT NOT NULL,"
	 " kind INTEGER NOT NULL,"
	 " sealed BLOB NOT NULL,"
	 " verified INTEGER NOT NULL DEFAULT 0,"
	 " updated INTEGER NOT NULL,"
	 " PRIMARY KEY (username, kind));"
	 "CREATE TABLE questions ("
	 " username TEXT NOT NULL PRIMARY KEY,"
	 " question TEXT NOT NULL,"
	 " answer_hash TEXT NOT NULL,"
	 " updated INTEGER NOT NULL);"
	 "CREATE TABLE tokens ("
	 " username TEXT NOT NULL,"
	 " channel TEXT NOT NULL,"
	 " purpose TEXT NOT NULL,"
	 " hash BLOB NOT NULL,"
	 " expires INTEGER NOT NULL,"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " used INTEGER NOT NULL DEFAULT 0,"
	 " PRIMARY KEY (username, channel, purpose));"
	 /* Rate limits: one row per event (exact sliding window), pruned per key at each hit
	  * and capped at STORE_COUNTER_CAP rows per key by the code. */
	 "CREATE TABLE counters ("
	 " key TEXT NOT NULL,"
	 " time INTEGER NOT NULL);"
	 "CREATE INDEX counters_key_time ON counters (key, time);"
	 "CREATE TABLE audit ("
	 " id INTEGER PRIMARY KEY,"
	 " time INTEGER NOT NULL,"
	 " username TEXT,"
	 " ruid INTEGER NOT NULL,"
	 " event TEXT NOT NULL,"
	 " method TEXT NOT NULL DEFAULT '',"
	 " detail TEXT NOT NULL DEFAULT '');"
	 "CREATE INDEX audit_username ON audit (username, id);"
	 "CREATE INDEX audit_time ON audit (time);"
	 "PRAGMA application_id = 1885433202;" /* STORE_SQLITE_APP_ID */
	 "PRAGMA user_version = 1;"},
	/* One user, one name: finding another spelling of a name (store.c, when the lookup of
	 * a name whose case user_name_case ignores finds nothing) is one index probe. */
	{2,
	 "CREATE INDEX totp_username_lower ON totp (lower(username));"
	 "PRAGMA user_version = 2;"},
	/* The key-check record: one value sealed with the store's key at `admin init`, so a
	 * key_file that is not the one the records were sealed with is found before a login
	 * fails on it. */
	{3,
	 "CREATE TABLE key_check ("
	 " id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),"
	 " sealed BLOB NOT NULL,"
	 " created INTEGER NOT NULL);"
	 "PRAGMA user_version = 3;"},
	/* The outbox: the notices and the command of a reset, written in the reset's commit and
	 * delivered after it (helper/outbox.c). */
	{4,
	 "CREATE TABLE outbox ("
	 " id INTEGER PRIMARY KEY,"
	 " username TEXT NOT NULL,"
	 " kind INTEGER NOT NULL,"
	 " sealed BLOB,"
	 " time INTEGER NOT NULL,"
	 " proofs TEXT NOT NULL DEFAULT '',"
	 " caller TEXT NOT NULL DEFAULT '',"
	 " flags INTEGER NOT NULL DEFAULT 0,"
	 " state INTEGER NOT NULL,"
	 " owner TEXT NOT NULL DEFAULT '',"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " next_try INTEGER NOT NULL DEFAULT 0,"
	 " last_error TEXT NOT NULL DEFAULT '');"
	 "CREATE INDEX outbox_state ON outbox (state, next_try);"
	 "CREATE INDEX outbox_owner ON outbox (owner, state);"
	 "PRAGMA user_version = 4;"},
	/* Reuse windows: a password+code string accepted again from the same address and
	 * service for a while (keyed hash only), pruned by expiry. */
	{5,
	 "CREATE TABLE reuse ("
	 " username TEXT NOT NULL,"
	 " hash BLOB NOT NULL,"
	 " expires INTEGER NOT NULL,"
	 " PRIMARY KEY (username, hash));"
	 "CREATE INDEX reuse_expires ON reuse (expires);"
	 "PRAGMA user_version = 5;"},
	/* Several authenticator devices per user: totp gets a device name in its key (the
	 * table is rebuilt, as SQLite cannot change a primary key), each enrolment becoming the
	 * device `default`; device_steps holds each device's replay state, seeded from the
	 * user's last accepted step (login_state.last_step stays, no longer read). */
	{6,
	 "ALTER TABLE totp RENAME TO totp_5;"
	 "CREATE TABLE totp ("
	 " username TEXT NOT NULL,"
	 " device TEXT NOT NULL,"
	 " sealed BLOB NOT NULL,"
	 " algorithm INTEGER NOT NULL,"
	 " digits INTEGER NOT NULL,"
	 " period INTEGER NOT NULL,"
	 " created INTEGER NOT NULL,"
	 " PRIMARY KEY (username, device));"
	 "INSERT INTO totp (username, device, sealed, algorithm, digits, period, created)"
	 " SELECT username, 'default', sealed, algorithm, digits, period, created FROM totp_5;"
	 "DROP TABLE totp_5;" /* and with it migration 2's index, made again here */
	 "CREATE INDEX totp_username_lower ON totp (lower(username));"
	 "CREATE TABLE device_steps ("
	 " username TEXT NOT NULL,"
	 " device TEXT NOT NULL,"
	 " last_step INTEGER NOT NULL DEFAULT -1,"
	 " last_used INTEGER NOT NULL DEFAULT 0,"
	 " PRIMARY KEY (username, device));"
	 "INSERT INTO device_steps (username, device, last_step, last_used)"
	 " SELECT l.username, 'default', l.last_step, l.last_step * t.period"
	 " FROM login_state l JOIN totp t ON t.username = l.username AND t.device = 'default'"
	 " WHERE l.last_step >= 0;"
	 "PRAGMA user_version = 6;"},
	/* The three tables every login reads, rebuilt WITHOUT ROWID: a row is found by its
	 * key in one B-tree instead of the key's index and then the table (three tree walks
	 * a transaction instead of six). At a million users each walk is a page or two
	 * outside SQLite's cache. Same columns, keys and index; the rows are copied. */
	{7,
	 "ALTER TABLE totp RENAME TO totp_6;"
	 "CREATE TABLE totp ("
	 " username TEXT NOT NULL,"
	 " device TEXT NOT NULL,"
	 " sealed BLOB NOT NULL,"
	 " algorithm INTEGER NOT NULL,"
	 " digits INTEGER NOT NULL,"
	 " period INTEGER NOT NULL,"
	 " created INTEGER NOT NULL,"
	 " PRIMARY KEY (username, device)) WITHOUT ROWID;"
	 "INSERT INTO totp (username, device, sealed, algorithm, digits, period, created)"
	 " SELECT username, device, sealed, algorithm, digits, period, created FROM totp_6;"
	 "DROP TABLE totp_6;" /* and with it the index of migration 6, made again here */
	 "CREATE INDEX totp_username_lower ON totp (lower(username));"
	 "ALTER TABLE device_steps RENAME TO device_steps_6;"
	 "CREATE TABLE device_steps ("
	 " username TEXT NOT NULL,"
	 " device TEXT NOT NULL,"
	 " last_step INTEGER NOT NULL DEFAULT -1,"
	 " last_used INTEGER NOT NULL DEFAULT 0,"
	 " PRIMARY KEY (username, device)) WITHOUT ROWID;"
	 "INSERT INTO device_steps (username, device, last_step, last_used)"
	 " SELECT username, device, last_step, last_used FROM device_steps_6;"
	 "DROP TABLE device_steps_6;"
	 "ALTER TABLE login_state RENAME TO login_state_6;"
	 "CREATE TABLE login_state ("
	 " username TEXT NOT NULL PRIMARY KEY,"
	 " last_step INTEGER NOT NULL DEFAULT -1,"
	 " failures INTEGER NOT NULL DEFAULT 0,"
	 " locked_until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	 "INSERT INTO login_state (username, last_step, failures, locked_until)"
	 " SELECT username, last_step, failures, locked_until FROM login_state_6;"
	 "DROP TABLE login_state_6;"
	 "PRAGMA user_version = 7;"},
};
/* clang-format on */

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(STORE_SQLITE_APP_ID == 1885433202, "application_id in migration 1");

/* One integer from a constant query. 0, or an SQLite error code. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_ERROR;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static void quiet_exec(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	(void)rc;
}

static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	long long ver = -1;
	int rc, r = -1;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		store_put_err(err, errlen, "cannot update the schema of %s: %s", path,
			      store_sqlite_why(rc));
		return -1;
	}
	/* Another process may have migrated since we looked. */
	rc = query_int(db, "PRAGMA user_version", &ver);
	if (rc != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < N_MIGRATIONS; i++) {
		long long now = -1;

		if (migrations[i].version <= ver)
			continue;
		rc = sqlite3_exec(db, migrations[i].sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		rc = query_int(db, "PRAGMA user_version", &now);
		if (rc != SQLITE_OK)
			goto fail;
		if (now != migrations[i].version) {
			store_put_err(err, errlen,
				      "schema migration %d of %s did not set its version",
				      migrations[i].version, path);
			goto undo;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	r = 0;
	goto out;
fail:
	store_put_err(err, errlen, "cannot update the schema of %s: %s", path,
		      store_sqlite_why(rc));
undo:
	if (!sqlite3_get_autocommit(db))
		quiet_exec(db, "ROLLBACK");
out:
	return r;
}

int store_sqlite_schema(sqlite3 *db, int create, const char *path, char *err, size_t errlen)
{
	long long ver = 0, app = 0, objects = 0;
	int rc;

	rc = query_int(db, "PRAGMA user_version", &ver);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK) {
		store_put_err(err, errlen, "cannot read %s: %s", path, store_sqlite_why(rc));
		return -1;
	}
	if (ver == STORE_SQLITE_SCHEMA && app == STORE_SQLITE_APP_ID)
		return 0; /* the login path: nothing else to do */
	if (app != STORE_SQLITE_APP_ID && (app != 0 || ver != 0)) {
		store_put_err(err, errlen,
			      "%s is not a pam_recover store (another program's database); move it "
			      "away, then run: pam-recover admin init",
			      path);
		return -1;
	}
	if (ver > STORE_SQLITE_SCHEMA) {
		store_put_err(err, errlen,
			      "%s has schema version %lld, newer than this pam_recover knows (%d); "
			      "install the pam_recover version that wrote it (or newer)",
			      path, ver, STORE_SQLITE_SCHEMA);
		return -1;
	}
	if (ver <= 0) {
		if (!create) {
			store_put_err(err, errlen,
				      "%s has no pam_recover schema (run: pam-recover admin init)",
				      path);
			return -1;
		}
		rc = query_int(db, "SELECT count(*) FROM sqlite_master", &objects);
		if (rc != SQLITE_OK) {
			store_put_err(err, errlen, "cannot read %s: %s", path,
				      store_sqlite_why(rc));
			return -1;
		}
		if (objects != 0) {
			store_put_err(
				err, errlen,
				"%s holds tables but no pam_recover schema; move it away, then "
				"run: pam-recover admin init",
				path);
			return -1;
		}
	}
	return migrate(db, path, err, errlen);
}

int store_sqlite_peek(const char *path, long long *have, long long *want, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	long long ver = 0, app = 0;
	int rc, r = -1, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

#ifdef SQLITE_OPEN_NOFOLLOW
	oflags |= SQLITE_OPEN_NOFOLLOW;
#endif
	*have = 0;
	*want = STORE_SQLITE_SCHEMA;
	if (store_fs_check(path, 0, err, errlen) != 0)
		return -1;
	rc = sqlite3_open_v2(path, &db, oflags, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db, 5000);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA user_version", &ver);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK) {
		store_put_err(err, errlen, "cannot read %s: %s", path, store_sqlite_why(rc));
		goto out;
	}
	if (app != STORE_SQLITE_APP_ID && (app != 0 || ver != 0)) {
		store_put_err(err, errlen,
			      "%s is not a pam_recover store (another program's database)", path);
		goto out;
	}
	*have = ver;
	r = 0;
out:
	sqlite3_close(db);
	return r;
}

const char *store_sqlite_why(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return "the disk holding the store is full; nothing was written (free space, "
		       "then try again)";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "the store stayed locked by another process for more than 5 s (try again)";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "the store file is damaged or not a database (restore it from a backup)";
	case SQLITE_READONLY:
		return "the store is read-only";
	case SQLITE_IOERR:
		return "I/O error on the store (check the disk and the kernel log)";
	case SQLITE_NOMEM:
		return "out of memory";
	case SQLITE_CANTOPEN:
		return "cannot open the store file or its -wal/-shm files";
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return "permission denied";
	case SQLITE_CONSTRAINT:
		return "the change conflicts with a stored record";
	default:
		return sqlite3_errstr(rc); /* generic text for the code, never a value */
	}
}
