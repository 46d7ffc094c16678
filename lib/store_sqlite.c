/*
 * The SQLite backend (default). One connection per struct store; statements are prepared
 * once per connection and reused; every value is bound, never pasted into SQL.
 *
 * Atomicity: a function that runs more than one statement wraps them in BEGIN IMMEDIATE
 * (outside store_begin) or a SAVEPOINT (inside it), so it either happens whole or not at all;
 * single-statement functions are atomic by themselves. Waiting for other writers is
 * busy_wait's job (5 s in all).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strnlen */
#endif

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store_backend.h"
#include "store_sqlite.h"
#include "store_sqlite_schema.h"

#define BUSY_TIMEOUT_MS 5000
/*
 * The login path opens the store once per login in a fresh process. SQLite's default of
 * checkpointing when the last connection closes costs 3-4 fsyncs per login (WAL header,
 * WAL, database), which caps a disk at a few hundred logins a second. Without a
 * checkpoint on close, the WAL is checkpointed (with its fsyncs) once every
 * WAL_CHECKPOINT_FRAMES frames written. A login writes one transaction of one to six
 * pages, so that is every 10 to 60 logins: at 16 frames (every 5 logins) the checkpoints'
 * fsyncs were half the time of a login in a process that keeps its connection. The other
 * side: a process that opens the store when no other has it open (sshd's per-connection
 * process, pam-recover-check) first reads every frame of the WAL to rebuild its index, one
 * pread a page; at 256 frames that cost such an open 0.2 ms more than at 64
 * (bench/nonroot), for about 10% more logins a second in a kept connection. Durability is
 * unchanged: WAL with synchronous=NORMAL (or FULL). The helper (STORE_DURABLE) also
 * checkpoints on close, so the database file stays whole after an admin change.
 */
#define WAL_CHECKPOINT_FRAMES 64

/*
 * SQLite's own wal_autocheckpoint tries a checkpoint at every commit while the WAL holds
 * more than its limit. With parallel logins a reader often still needs the newest frames,
 * the checkpoint cannot finish, the WAL stays over the limit, and every following commit
 * tries again, each with its fsyncs: at 8 processes 366 fdatasync for 4,000 logins. Here
 * only the commit that carries the WAL across a multiple of WAL_CHECKPOINT_FRAMES tries
 * (commits are serialised, so one per multiple in all processes): 52 for the same logins.
 * written: the frames this commit appended (<= 0: not known, then any commit past the
 * limit tries, as SQLite's own rule).
 */
int store_sqlite_checkpoint_due(int frames, int written, int every)
{
	if (every <= 0 || frames < every)
		return 0;
	if (written <= 0)
		return 1;
	if (written > frames)
		written = frames;
	return frames / every != (frames - written) / every;
}

/* sqlite3_wal_hook: after each commit, with the WAL's size in frames. */
static int wal_committed(void *ctx, sqlite3 *db, const char *name, int frames)
{
	int written = 0, high = 0;

	(void)ctx;
	/* Pages this connection wrote to the WAL since the last call: this commit's frames. */
	if (sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &written, &high, 1) != SQLITE_OK)
		written = 0;
	/* PASSIVE waits for nobody; what it cannot copy now the next multiple's commit will. */
	if (store_sqlite_checkpoint_due(frames, written, WAL_CHECKPOINT_FRAMES))
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/*
 * Waiting for another writer: sqlite3_busy_timeout() sleeps 1, 2, 5, 10, 15, 20, 25, 25,
 * 25, 50, 50, 100 ms between tries, so a login that meets a writer (a transaction of a few
 * hundred microseconds) waits milliseconds, and at 8 parallel logins the 99th percentile
 * is tens of milliseconds. Here the pause starts at 50 us and doubles up to 2 ms; the total
 * stays bounded by BUSY_TIMEOUT_MS.
 */
static int busy_wait(void *ctx, int count)
{
	struct timespec pause;
	long us = count < 6 ? 50L << count : 2000;
	long *waited_us = ctx;

	if (count == 0)
		*waited_us = 0;
	if (*waited_us >= BUSY_TIMEOUT_MS * 1000L)
		return 0;
	pause.tv_sec = 0;
	pause.tv_nsec = us * 1000L;
	nanosleep(&pause, NULL);
	*waited_us += us;
	return 1;
}

enum sid {
	/* transaction control first: usable after an aborted transaction */
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_BEGIN_READ,
	S_TOTP_GET,
	S_TOTP_PUT,
	S_TOTP_DEL,
	S_PEND_GET,
	S_PEND_PUT,
	S_PEND_DEL,
	S_STATE_GET,
	S_STATE_INIT,
	S_STATE_CAS,
	S_STATE_FAIL,
	S_STATE_CLEAR,
	S_STATE_NEW,
	S_STATE_DEL,
	S_BACKUP_DEL,
	S_BACKUP_INS,
	S_BACKUP_USE,
	S_BACKUP_COUNT,
	S_APP_ADD,
	S_APP_DEL,
	S_APP_DEL_ALL,
	S_APP_STAMP,
	S_APP_GET,
	S_CONTACT_PUT,
	S_CONTACT_GET,
	S_CONTACT_VERIFY,
	S_CONTACT_DEL,
	S_CONTACT_DEL_ALL,
	S_Q_PUT,
	S_Q_GET,
	S_Q_DEL,
	S_TOKEN_PUT,
	S_TOKEN_GET,
	S_TOKEN_ATTEMPT,
	S_TOKEN_CONSUME,
	S_TOKEN_DEL_ALL,
	S_TOKEN_PRUNE,
	S_CTR_PRUNE_KEY,
	S_CTR_COUNT,
	S_CTR_ADD,
	S_CTR_CLEAR,
	S_CTR_RELEASE,
	S_CTR_PRUNE,
	S_AUDIT_ADD,
	S_AUDIT_PRUNE,
	S_KEYCHECK_GET,
	S_KEYCHECK_PUT,
	S_BACKUP_STATE,
	S_REUSE_PUT,
	S_REUSE_GET,
	S_REUSE_DEL,
	S_REUSE_PRUNE,
	S_DEV_LIST,
	S_DEV_EXISTS,
	S_DEV_COUNT,
	S_DEV_DEL,
	S_DEVSTEP_DEL,
	S_DEVSTEP_DEL1,
	S_DEVSTEP_NEW,
	S_DEV_CAS,
	S_LOGIN_READ,
	S_LOGIN_STEP,
	S_LOGIN_CAS,
	S_COUNT
};

#define TOTP_COLS "sealed, algorithm, digits, period, created"
#define TOTP_UPSERT(table)                                                                         \
	"INSERT INTO " table " (username, " TOTP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "         \
	"ON CONFLICT (username) DO UPDATE SET sealed = excluded.sealed, "                          \
	"algorithm = excluded.algorithm, digits = excluded.digits, "                               \
	"period = excluded.period, created = excluded.created"
#define TOKEN_KEY "username = ?1 AND channel = ?2 AND purpose = ?3"
/* A lock that has run out (0 < locked_until <= now) starts the count again. */
#define EXPIRED "(locked_until > 0 AND locked_until <= ?2)"
#define NEW_FAILURES "(CASE WHEN " EXPIRED " THEN 1 ELSE failures + 1 END)"
/* ?1 user, ?4 now, ?5 deny: the count with this attempt is within deny (no state row: a
 * clean one, the count 1). */
#define LOGIN_WITHIN                                                                               \
	"(?5 <= 0 OR coalesce((SELECT CASE WHEN locked_until > 0 AND locked_until <= ?4 THEN 1 "   \
	"ELSE failures + 1 END FROM login_state WHERE username = ?1), 1) <= ?5)"

static const char *const sql_text[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",
	/* store_begin_snapshot: no lock until the first read, then WAL keeps that read's
	 * snapshot to the end while writers go on. */
	[S_BEGIN_READ] = "BEGIN DEFERRED",

	/* The first device stands for the user where one secret is asked for. */
	[S_TOTP_GET] = "SELECT " TOTP_COLS ", device FROM totp WHERE username = ?1 "
		       "ORDER BY created, device LIMIT 1",
	[S_TOTP_PUT] = "INSERT INTO totp (username, " TOTP_COLS ", device) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_TOTP_DEL] = "DELETE FROM totp WHERE username = ?1",
	[S_PEND_GET] = "SELECT " TOTP_COLS ", '' FROM totp_pending WHERE username = ?1",
	[S_PEND_PUT] = TOTP_UPSERT("totp_pending"),
	[S_PEND_DEL] = "DELETE FROM totp_pending WHERE username = ?1",

	[S_STATE_GET] = "SELECT last_step, failures, locked_until FROM login_state "
			"WHERE username = ?1",
	[S_STATE_INIT] = "INSERT OR IGNORE INTO login_state (username) VALUES (?1)",
	/* DESIGN.md: the replay check is this one compare-and-set. */
	[S_STATE_CAS] = "UPDATE login_state SET last_step = ?1, failures = 0, locked_until = 0 "
			"WHERE username = ?2 AND last_step < ?1",
	/* ?1 user, ?2 now, ?3 deny, ?4 unlock_time */
	[S_STATE_FAIL] = "UPDATE login_state SET failures = " NEW_FAILURES ", "
			 "locked_until = CASE WHEN ?3 > 0 AND " NEW_FAILURES " >= ?3 THEN ?2 + ?4 "
			 "WHEN " EXPIRED " THEN 0 ELSE locked_until END "
			 "WHERE username = ?1",
	/* A clean row is not written again: most logins then write one page, not two. */
	[S_STATE_CLEAR] = "UPDATE login_state SET failures = 0, locked_until = 0 "
			  "WHERE username = ?1 AND (failures <> 0 OR locked_until <> 0)",
	[S_STATE_NEW] = "INSERT INTO login_state (username) VALUES (?1) ON CONFLICT (username) "
			"DO UPDATE SET last_step = -1, failures = 0, locked_until = 0",
	[S_STATE_DEL] = "DELETE FROM login_state WHERE username = ?1",

	[S_BACKUP_DEL] = "DELETE FROM backup_codes WHERE username = ?1",
	[S_BACKUP_INS] = "INSERT INTO backup_codes (username, hash) VALUES (?1, ?2) "
			 "ON CONFLICT DO NOTHING",
	[S_BACKUP_USE] = "UPDATE backup_codes SET used_at = ?3 "
			 "WHERE username = ?1 AND hash = ?2 AND used_at IS NULL",
	[S_BACKUP_COUNT] = "SELECT count(*) FROM backup_codes "
			   "WHERE username = ?1 AND used_at IS NULL",

	[S_APP_ADD] = "INSERT INTO app_passwords (username, name, services, hash, created, "
		      "last_used) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_APP_DEL] = "DELETE FROM app_passwords WHERE username = ?1 AND name = ?2",
	[S_APP_DEL_ALL] = "DELETE FROM app_passwords WHERE username = ?1",
	[S_APP_STAMP] = "UPDATE app_passwords SET last_used = ?3 WHERE username = ?1 AND hash = ?2",
	[S_APP_GET] = "SELECT name, services, hash, created, last_used FROM app_passwords "
		      "WHERE username = ?1 AND hash = ?2",

	[S_CONTACT_PUT] = "INSERT INTO contacts (username, kind, sealed, verified, updated) "
			  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (username, kind) DO UPDATE "
			  "SET sealed = excluded.sealed, verified = excluded.verified, "
			  "updated = excluded.updated",
	[S_CONTACT_GET] = "SELECT sealed, verified, updated FROM contacts "
			  "WHERE username = ?1 AND kind = ?2",
	[S_CONTACT_VERIFY] = "UPDATE contacts SET verified = 1, updated = ?3 "
			     "WHERE username = ?1 AND kind = ?2",
	[S_CONTACT_DEL] = "DELETE FROM contacts WHERE username = ?1 AND kind = ?2",
	[S_CONTACT_DEL_ALL] = "DELETE FROM contacts WHERE username = ?1",

	[S_Q_PUT] = "INSERT INTO questions (username, question, answer_hash, updated) "
		    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO UPDATE SET "
		    "question = excluded.question, answer_hash = excluded.answer_hash, "
		    "updated = excluded.updated",
	[S_Q_GET] = "SELECT question, answer_hash, updated FROM questions WHERE username = ?1",
	[S_Q_DEL] = "DELETE FROM questions WHERE username = ?1",

	[S_TOKEN_PUT] = "INSERT INTO tokens (username, channel, purpose, hash, expires, attempts, "
			"used) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0) "
			"ON CONFLICT (username, channel, purpose) DO UPDATE SET "
			"hash = excluded.hash, expires = excluded.expires, attempts = 0, used = 0",
	[S_TOKEN_GET] = "SELECT hash, expires, attempts, used FROM tokens WHERE " TOKEN_KEY,
	[S_TOKEN_ATTEMPT] = "UPDATE tokens SET attempts = attempts + 1 WHERE " TOKEN_KEY,
	[S_TOKEN_CONSUME] = "UPDATE tokens SET used = 1 WHERE " TOKEN_KEY " AND used = 0",
	[S_TOKEN_DEL_ALL] = "DELETE FROM tokens WHERE username = ?1",
	[S_TOKEN_PRUNE] = "DELETE FROM tokens WHERE expires < ?1 OR used <> 0",

	[S_CTR_PRUNE_KEY] = "DELETE FROM counters WHERE key = ?1 AND time < ?2",
	[S_CTR_COUNT] = "SELECT count(*) FROM counters WHERE key = ?1 AND time >= ?2",
	[S_CTR_ADD] = "INSERT INTO counters (key, time) VALUES (?1, ?2)",
	[S_CTR_CLEAR] = "DELETE FROM counters WHERE key = ?1",
	[S_CTR_RELEASE] = "DELETE FROM counters WHERE rowid = (SELECT rowid FROM counters "
			  "WHERE key = ?1 AND time = ?2 LIMIT 1)",
	[S_CTR_PRUNE] = "DELETE FROM counters WHERE rowid IN (SELECT rowid FROM counters "
			"WHERE time < ?1 LIMIT " STORE_PRUNE_BATCH_SQL ")",

	[S_AUDIT_ADD] = "INSERT INTO audit (time, username, ruid, event, method, detail) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_AUDIT_PRUNE] = "DELETE FROM audit WHERE id IN (SELECT id FROM audit "
			  "WHERE time < ?1 LIMIT " STORE_PRUNE_BATCH_SQL ")",

	[S_KEYCHECK_GET] = "SELECT sealed FROM key_check WHERE id = 1",
	[S_KEYCHECK_PUT] = "INSERT INTO key_check (id, sealed, created) VALUES (1, ?1, ?2) "
			   "ON CONFLICT (id) DO NOTHING",
	[S_BACKUP_STATE] = "SELECT used_at IS NOT NULL FROM backup_codes "
			   "WHERE username = ?1 AND hash = ?2",
	[S_REUSE_PUT] = "INSERT INTO reuse (username, hash, expires) VALUES (?1, ?2, ?3) "
			"ON CONFLICT (username, hash) DO UPDATE SET expires = excluded.expires",
	[S_REUSE_GET] = "SELECT expires FROM reuse WHERE username = ?1 AND hash = ?2 "
			"AND expires > ?3",
	[S_REUSE_DEL] = "DELETE FROM reuse WHERE username = ?1",
	[S_REUSE_PRUNE] = "DELETE FROM reuse WHERE expires <= ?1",

	[S_DEV_LIST] = "SELECT t.sealed, t.algorithm, t.digits, t.period, t.created, t.device, "
		       "coalesce(d.last_step, -1), coalesce(d.last_used, 0) FROM totp t "
		       "LEFT JOIN device_steps d ON d.username = t.username AND "
		       "d.device = t.device WHERE t.username = ?1 ORDER BY t.created, t.device",
	[S_DEV_EXISTS] = "SELECT 1 FROM totp WHERE username = ?1 AND device = ?2",
	[S_DEV_COUNT] = "SELECT count(*) FROM totp WHERE username = ?1",
	[S_DEV_DEL] = "DELETE FROM totp WHERE username = ?1 AND device = ?2",
	[S_DEVSTEP_DEL] = "DELETE FROM device_steps WHERE username = ?1",
	[S_DEVSTEP_DEL1] = "DELETE FROM device_steps WHERE username = ?1 AND device = ?2",
	/* A device's replay row, made with its totp row (same transaction). A row left by an
	 * earlier secret of the name starts over. */
	[S_DEVSTEP_NEW] = "INSERT INTO device_steps (username, device, last_step, last_used) "
			  "VALUES (?1, ?2, -1, 0) ON CONFLICT (username, device) DO UPDATE SET "
			  "last_step = -1, last_used = 0",
	/* DESIGN.md's compare-and-set, per device: a row changes iff the step is new for it. */
	[S_DEV_CAS] = "INSERT INTO device_steps (username, device, last_step, last_used) "
		      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username, device) DO UPDATE SET "
		      "last_step = excluded.last_step, last_used = excluded.last_used "
		      "WHERE device_steps.last_step < excluded.last_step",
	/* The login path: every device with its replay state and the user's login state in one
	 * read (the state repeated on each row). */
	[S_LOGIN_READ] = "SELECT t.sealed, t.algorithm, t.digits, t.period, t.created, t.device, "
			 "coalesce(d.last_step, -1), coalesce(d.last_used, 0), "
			 "coalesce(l.last_step, -1), coalesce(l.failures, 0), "
			 "coalesce(l.locked_until, 0) FROM totp t LEFT JOIN device_steps d "
			 "ON d.username = t.username AND d.device = t.device "
			 "LEFT JOIN login_state l ON l.username = t.username "
			 "WHERE t.username = ?1 ORDER BY t.created, t.device",
	/* ?1 user, ?2 device, ?3 step, ?4 now, ?5 deny: S_LOGIN_CAS for a device that has its
	 * replay row (every device enrolled since schema 6), in that row's tree alone. */
	[S_LOGIN_STEP] = "UPDATE device_steps SET last_step = ?3, last_used = ?4 "
			 "WHERE username = ?1 AND device = ?2 AND last_step < ?3 AND " LOGIN_WITHIN,
	/* ?1 user, ?2 device, ?3 step, ?4 now, ?5 deny: S_DEV_CAS, taken only while the device
	 * exists and the count with this attempt is not over deny. A row changes iff the step
	 * is accepted. */
	[S_LOGIN_CAS] = "INSERT INTO device_steps (username, device, last_step, last_used) "
			"SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM totp "
			"WHERE username = ?1 AND device = ?2) AND " LOGIN_WITHIN " "
			"ON CONFLICT (username, device) DO UPDATE SET "
			"last_step = excluded.last_step, last_used = excluded.last_used "
			"WHERE device_steps.last_step < excluded.last_step",
};

#define SQL_TOTP_LIST "SELECT username, min(created) FROM totp GROUP BY username ORDER BY username"
/* lower() folds ASCII only, as rc_user_name_canonical does; the index of migration 3. */
#define SQL_USER_SPELLING                                                                          \
	"SELECT username FROM totp WHERE lower(username) = lower(?1) AND username <> ?1 LIMIT 1"
#define SQL_USER_NAMES                                                                             \
	"SELECT username FROM totp UNION SELECT username FROM totp_pending "                       \
	"UNION SELECT username FROM login_state UNION SELECT username FROM backup_codes "          \
	"UNION SELECT username FROM app_passwords UNION SELECT username FROM contacts "            \
	"UNION SELECT username FROM questions UNION SELECT username FROM tokens "                  \
	"UNION SELECT username FROM device_steps ORDER BY 1"
#define SQL_APP_LIST                                                                               \
	"SELECT name, services, hash, created, last_used FROM app_passwords "                      \
	"WHERE username = ?1 ORDER BY name"
#define SQL_AUDIT_COLS "SELECT time, username, ruid, event, method, detail FROM audit "
#define SQL_AUDIT_USER SQL_AUDIT_COLS "WHERE username = ?1 ORDER BY id DESC LIMIT ?2"
#define SQL_AUDIT_ALL SQL_AUDIT_COLS "ORDER BY id DESC LIMIT ?2"

struct sq {
	struct store base; /* first: a struct store * is a struct sq * */
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	long waited_us; /* busy_wait's clock for the current wait */
};

static struct sq *SQ(struct store *s)
{
	return (struct sq *)s;
}

static int dberr(struct sq *q, int rc, const char *what)
{
	return store_set_err(&q->base, "%s: %s", what, store_sqlite_why(rc));
}

/* Inside store_begin(), SQLite may have rolled the whole transaction back after an error
 * (full disk, I/O); then nothing more may run as if it were still inside it. */
static int tx_alive(struct sq *q, const char *what)
{
	if (q->base.in_tx && sqlite3_get_autocommit(q->db))
		return store_set_err(&q->base,
				     "%s: the transaction was aborted by an earlier "
				     "error; nothing was written (roll back)",
				     what);
	return STORE_OK;
}

static void done(sqlite3_stmt *st)
{
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static int is_tx_end(enum sid id)
{
	return id == S_COMMIT || id == S_ROLLBACK || id == S_RELEASE || id == S_ROLLBACK_TO;
}

/* The cached statement `id`, prepared on first use. */
static sqlite3_stmt *get(struct sq *q, enum sid id, const char *what)
{
	if (!is_tx_end(id) && tx_alive(q, what) != STORE_OK)
		return NULL;
	if (q->st[id] == NULL) {
		int rc = sqlite3_prepare_v3(q->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &q->st[id], NULL);

		if (rc != SQLITE_OK) {
			sqlite3_finalize(q->st[id]);
			q->st[id] = NULL;
			dberr(q, rc, what);
			return NULL;
		}
	}
	return q->st[id];
}

/* A one-off statement (lists: their callbacks may use the cached ones). */
static sqlite3_stmt *prep_once(struct sq *q, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (tx_alive(q, what) != STORE_OK)
		return NULL;
	rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		dberr(q, rc, what);
		return NULL;
	}
	return st;
}

/* Statement `id` with ?1 bound to `text`. */
static sqlite3_stmt *get1(struct sq *q, enum sid id, const char *text, const char *what)
{
	sqlite3_stmt *st = get(q, id, what);
	int rc;

	if (st == NULL)
		return NULL;
	rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		done(st);
		dberr(q, rc, what);
		return NULL;
	}
	return st;
}

/* Bind failures: reset the statement and report. */
static int bind_fail(struct sq *q, sqlite3_stmt *st, int rc, const char *what)
{
	done(st);
	return dberr(q, rc, what);
}

/* Step a statement that returns no rows; *changes (optional) gets the rows it changed. */
static int run(struct sq *q, sqlite3_stmt *st, const char *what, int *changes)
{
	int rc = sqlite3_step(st);

	if (changes != NULL)
		*changes = sqlite3_changes(q->db);
	done(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dberr(q, rc, what);
	return STORE_OK;
}

/* Run a statement whose only parameter is ?1 = text. */
static int run1(struct sq *q, enum sid id, const char *text, const char *what, int *changes)
{
	sqlite3_stmt *st = get1(q, id, text, what);

	if (changes != NULL)
		*changes = 0;
	if (st == NULL)
		return STORE_ERR;
	return run(q, st, what, changes);
}

/* Run a statement whose only parameter is ?1 = number; *changes as run(). */
static int run_i64(struct sq *q, enum sid id, int64_t v, const char *what, int *changes)
{
	sqlite3_stmt *st = get(q, id, what);
	int rc;

	if (changes != NULL)
		*changes = 0;
	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, v);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, what);
	return run(q, st, what, changes);
}

/* Run a batched DELETE (STORE_PRUNE_BATCH rows, ?1 = time) until a batch falls short,
 * each batch its own statement, so that other writers get the store between batches;
 * max > 0: no new batch once max rows went. *removed: the rows of every batch. */
static int prune_batches(struct sq *q, enum sid id, int64_t before, int max, const char *what,
			 int *removed)
{
	int n = 0;

	*removed = 0;
	do {
		if (run_i64(q, id, before, what, &n) != STORE_OK)
			return STORE_ERR;
		*removed += n;
	} while (n >= STORE_PRUNE_BATCH && (max <= 0 || *removed < max));
	return STORE_OK;
}

/* Transaction control without touching s->err (used while undoing). */
static void quiet(struct sq *q, enum sid id)
{
	sqlite3_stmt *st = get(q, id, "rollback");

	if (st != NULL) {
		int rc = sqlite3_step(st);

		(void)rc;
		done(st);
	}
}

static int tx_run(struct sq *q, enum sid id, const char *what)
{
	sqlite3_stmt *st = get(q, id, what);

	if (st == NULL)
		return STORE_ERR;
	return run(q, st, what, NULL);
}

/* ---- a function's own atomic unit ---- */

static int op_begin(struct sq *q, const char *what)
{
	return tx_run(q, q->base.in_tx ? S_SAVEPOINT : S_BEGIN, what);
}

static void op_undo(struct sq *q)
{
	if (sqlite3_get_autocommit(q->db))
		return; /* SQLite already rolled everything back */
	if (q->base.in_tx) {
		quiet(q, S_ROLLBACK_TO);
		quiet(q, S_RELEASE);
	} else {
		quiet(q, S_ROLLBACK);
	}
}

/* Finish the unit: keep it unless r is STORE_ERR. Returns r, or STORE_ERR. */
static int op_end(struct sq *q, int r, const char *what)
{
	if (r != STORE_ERR) {
		if (tx_run(q, q->base.in_tx ? S_RELEASE : S_COMMIT, what) == STORE_OK)
			return r;
		r = STORE_ERR;
	}
	op_undo(q);
	return r;
}

/* ---- reading columns (a damaged row is an error, never a crash or a silent cut) ---- */

static int damaged(struct sq *q, const char *what)
{
	return store_set_err(&q->base,
			     "%s: a stored record is damaged (wrong type or size); "
			     "restore the store from a backup",
			     what);
}

static int col_blob(struct sq *q, sqlite3_stmt *st, int i, unsigned char *out, size_t max,
		    size_t *len, const char *what)
{
	const void *p;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return damaged(q, what);
	p = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	if (p == NULL || n <= 0 || (size_t)n > max)
		return damaged(q, what);
	memcpy(out, p, (size_t)n);
	*len = (size_t)n;
	return STORE_OK;
}

static int col_hash(struct sq *q, sqlite3_stmt *st, int i, unsigned char out[STORE_HASH_LEN],
		    const char *what)
{
	size_t n = 0;

	if (col_blob(q, st, i, out, STORE_HASH_LEN, &n, what) != STORE_OK)
		return STORE_ERR;
	return n == STORE_HASH_LEN ? STORE_OK : damaged(q, what);
}

/* Text that must fit (names, hashes): too long is damage. */
static int col_text(struct sq *q, sqlite3_stmt *st, int i, char *out, size_t size, const char *what)
{
	const unsigned char *p;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return damaged(q, what);
	p = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (p == NULL || n < 0 || (size_t)n >= size || memchr(p, '\0', (size_t)n) != NULL)
		return damaged(q, what);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return STORE_OK;
}

/* Text for display (audit): NULL reads as "", too long is cut. */
static void col_text_cut(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *p = sqlite3_column_text(st, i);
	size_t n = p ? strnlen((const char *)p, size - 1) : 0;

	if (n > 0)
		memcpy(out, p, n);
	out[n] = '\0';
}

static int col_int(struct sq *q, sqlite3_stmt *st, int i, int *out, const char *what)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	if (sqlite3_column_type(st, i) != SQLITE_INTEGER || v < INT_MIN || v > INT_MAX)
		return damaged(q, what);
	*out = (int)v;
	return STORE_OK;
}

static int clamp_int(sqlite3_int64 v)
{
	return v > INT_MAX ? INT_MAX : v < 0 ? 0 : (int)v;
}

/* Step a one-row query: STORE_OK on a row (left current), STORE_NOTFOUND, or STORE_ERR. */
static int row(struct sq *q, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	return dberr(q, rc, what);
}

/* ---- transactions ---- */

static int sq_begin(struct store *s)
{
	return tx_run(SQ(s), S_BEGIN, "store_begin");
}

static int sq_begin_snapshot(struct store *s)
{
	return tx_run(SQ(s), S_BEGIN_READ, "store_begin_snapshot");
}

static int sq_commit(struct store *s)
{
	struct sq *q = SQ(s);

	if (sqlite3_get_autocommit(q->db))
		return store_set_err(s, "store_commit: the transaction was aborted by an earlier "
					"error; nothing was written");
	if (tx_run(q, S_COMMIT, "store_commit") == STORE_OK)
		return STORE_OK;
	if (!sqlite3_get_autocommit(q->db))
		quiet(q, S_ROLLBACK);
	return STORE_ERR;
}

static void sq_rollback(struct store *s)
{
	struct sq *q = SQ(s);

	if (!sqlite3_get_autocommit(q->db))
		quiet(q, S_ROLLBACK);
}

/* ---- TOTP enrolment ---- */

static int read_totp(struct sq *q, enum sid id, const char *user, struct store_totp *out,
		     const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, what);
	if (r == STORE_OK && (col_blob(q, st, 0, out->sealed, sizeof(out->sealed), &out->sealed_len,
				       what) != STORE_OK ||
			      col_int(q, st, 1, &out->algorithm, what) != STORE_OK ||
			      col_int(q, st, 2, &out->digits, what) != STORE_OK ||
			      col_int(q, st, 3, &out->period, what) != STORE_OK))
		r = STORE_ERR;
	if (r == STORE_OK && col_text(q, st, 5, out->device, sizeof(out->device), what) != STORE_OK)
		r = STORE_ERR;
	if (r == STORE_OK)
		out->created = sqlite3_column_int64(st, 4);
	done(st);
	return r;
}

static int write_totp(struct sq *q, enum sid id, const char *user, const struct store_totp *t,
		      const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_blob(st, 2, t->sealed, (int)t->sealed_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, t->algorithm);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, t->digits);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 5, t->period);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, t->created);
	if (rc == SQLITE_OK && id == S_TOTP_PUT)
		rc = sqlite3_bind_text(st, 7, t->device, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, what);
	return run(q, st, what, NULL);
}

static int sq_totp_get(struct store *s, const char *user, struct store_totp *out)
{
	return read_totp(SQ(s), S_TOTP_GET, user, out, "totp_get");
}

static sqlite3_stmt *get_user_dev(struct sq *q, enum sid id, const char *user, const char *name,
				  const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int rc;

	if (st == NULL)
		return NULL;
	rc = sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		done(st);
		dberr(q, rc, what);
		return NULL;
	}
	return st;
}

static int run_user_dev(struct sq *q, enum sid id, const char *user, const char *name,
			const char *what, int *changes)
{
	sqlite3_stmt *st = get_user_dev(q, id, user, name, what);

	if (changes != NULL)
		*changes = 0;
	if (st == NULL)
		return STORE_ERR;
	return run(q, st, what, changes);
}

static int sq_totp_put(struct store *s, const char *user, const struct store_totp *t)
{
	struct sq *q = SQ(s);
	int r = op_begin(q, "totp_put");

	if (r != STORE_OK)
		return r;
	/* Every earlier device goes: the one secret given replaces them all. */
	r = run1(q, S_TOTP_DEL, user, "totp_put", NULL);
	if (r == STORE_OK)
		r = run1(q, S_DEVSTEP_DEL, user, "totp_put", NULL);
	if (r == STORE_OK)
		r = write_totp(q, S_TOTP_PUT, user, t, "totp_put");
	if (r == STORE_OK)
		r = run_user_dev(q, S_DEVSTEP_NEW, user, t->device, "totp_put", NULL);
	if (r == STORE_OK) /* a new secret starts with a clean login state (its row made) */
		r = run1(q, S_STATE_NEW, user, "totp_put", NULL);
	if (r == STORE_OK) /* and with no string of the old secret accepted again */
		r = run1(q, S_REUSE_DEL, user, "totp_put", NULL);
	return op_end(q, r, "totp_put");
}

static int sq_totp_delete(struct store *s, const char *user)
{
	static const enum sid also[] = {S_PEND_DEL, S_BACKUP_DEL, S_STATE_DEL, S_REUSE_DEL,
					S_DEVSTEP_DEL};
	struct sq *q = SQ(s);
	int r = op_begin(q, "totp_delete"), n = 0;

	if (r != STORE_OK)
		return r;
	r = run1(q, S_TOTP_DEL, user, "totp_delete", &n);
	for (size_t i = 0; r == STORE_OK && i < sizeof(also) / sizeof(also[0]); i++)
		r = run1(q, also[i], user, "totp_delete", NULL);
	if (r == STORE_OK && n == 0)
		r = STORE_NOTFOUND;
	return op_end(q, r, "totp_delete");
}

static int sq_pending_put(struct store *s, const char *user, const struct store_totp *t)
{
	return write_totp(SQ(s), S_PEND_PUT, user, t, "pending_put");
}

static int sq_pending_get(struct store *s, const char *user, struct store_totp *out)
{
	return read_totp(SQ(s), S_PEND_GET, user, out, "pending_get");
}

static int sq_pending_delete(struct store *s, const char *user)
{
	int n = 0, r = run1(SQ(s), S_PEND_DEL, user, "pending_delete", &n);

	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int sq_totp_list(struct store *s, int (*cb)(void *ctx, const char *user, int64_t created),
			void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, SQL_TOTP_LIST, "totp_list");
	char user[STORE_USER_MAX + 1];
	int r = STORE_ERR;

	if (st == NULL)
		return STORE_ERR;
	while ((r = row(q, st, "totp_list")) == STORE_OK) {
		if (col_text(q, st, 0, user, sizeof(user), "totp_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, user, sqlite3_column_int64(st, 1)) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	sqlite3_finalize(st);
	return r;
}

/* ---- devices ---- */

static int count_query(struct sq *q, sqlite3_stmt *st, int *out, const char *what);

/* Statement `id` with ?1 = user, ?2 = device name. */
static int dev_count(struct sq *q, const char *user, int *n, const char *what)
{
	sqlite3_stmt *st = get1(q, S_DEV_COUNT, user, what);

	if (st == NULL)
		return STORE_ERR;
	return count_query(q, st, n, what);
}

static int sq_device_list(struct store *s, const char *user,
			  int (*cb)(void *ctx, const struct store_device *d), void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_DEV_LIST, user, "device_list");
	struct store_device d;
	int r;

	if (st == NULL)
		return STORE_ERR;
	memset(&d, 0, sizeof(d));
	while ((r = row(q, st, "device_list")) == STORE_OK) {
		memset(&d, 0, sizeof(d));
		if (col_blob(q, st, 0, d.t.sealed, sizeof(d.t.sealed), &d.t.sealed_len,
			     "device_list") != STORE_OK ||
		    col_int(q, st, 1, &d.t.algorithm, "device_list") != STORE_OK ||
		    col_int(q, st, 2, &d.t.digits, "device_list") != STORE_OK ||
		    col_int(q, st, 3, &d.t.period, "device_list") != STORE_OK ||
		    col_text(q, st, 5, d.t.device, sizeof(d.t.device), "device_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		d.t.created = sqlite3_column_int64(st, 4);
		d.last_step = sqlite3_column_int64(st, 6);
		d.last_used = sqlite3_column_int64(st, 7);
		if (cb(ctx, &d) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	done(st);
	rc_wipe(&d, sizeof(d));
	return r;
}

static int sq_device_add(struct store *s, const char *user, const struct store_totp *t, int replace)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	int r = op_begin(q, "device_add"), n = 0, exists = 0;

	if (r != STORE_OK)
		return r;
	r = dev_count(q, user, &n, "device_add");
	if (r == STORE_OK) {
		st = get_user_dev(q, S_DEV_EXISTS, user, t->device, "device_add");
		r = st == NULL ? STORE_ERR : row(q, st, "device_add");
		if (st != NULL)
			done(st);
		exists = r == STORE_OK;
		if (r == STORE_NOTFOUND)
			r = STORE_OK;
	}
	if (r == STORE_OK && exists && !replace)
		r = STORE_CONFLICT;
	if (r == STORE_OK && exists) /* the old secret of this device and its steps go */
		r = run_user_dev(q, S_DEV_DEL, user, t->device, "device_add", NULL);
	if (r == STORE_OK && exists)
		r = run_user_dev(q, S_DEVSTEP_DEL1, user, t->device, "device_add", NULL);
	if (r == STORE_OK && exists) /* no string of the old secret accepted again */
		r = run1(q, S_REUSE_DEL, user, "device_add", NULL);
	if (r == STORE_OK && n == 0) /* the first device starts with a clean login state */
		r = run1(q, S_STATE_NEW, user, "device_add", NULL);
	if (r == STORE_OK)
		r = write_totp(q, S_TOTP_PUT, user, t, "device_add");
	if (r == STORE_OK)
		r = run_user_dev(q, S_DEVSTEP_NEW, user, t->device, "device_add", NULL);
	return op_end(q, r, "device_add");
}

static int sq_device_delete(struct store *s, const char *user, const char *name, int *left)
{
	static const enum sid off[] = {S_PEND_DEL, S_BACKUP_DEL, S_STATE_DEL, S_DEVSTEP_DEL};
	struct sq *q = SQ(s);
	int r = op_begin(q, "device_delete"), n = 0;

	*left = 0;
	if (r != STORE_OK)
		return r;
	r = run_user_dev(q, S_DEV_DEL, user, name, "device_delete", &n);
	if (r == STORE_OK && n == 0)
		r = STORE_NOTFOUND;
	if (r == STORE_OK)
		r = run_user_dev(q, S_DEVSTEP_DEL1, user, name, "device_delete", NULL);
	if (r == STORE_OK)
		r = run1(q, S_REUSE_DEL, user, "device_delete", NULL);
	if (r == STORE_OK)
		r = dev_count(q, user, left, "device_delete");
	for (size_t i = 0; r == STORE_OK && *left == 0 && i < sizeof(off) / sizeof(off[0]); i++)
		r = run1(q, off[i], user, "device_delete", NULL);
	return op_end(q, r, "device_delete");
}

static int sq_device_step_cas(struct store *s, const char *user, const char *name, int64_t step,
			      int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	int r = op_begin(q, "device_step_cas"), n = 0, rc;

	if (r != STORE_OK)
		return r;
	st = get_user_dev(q, S_DEV_CAS, user, name, "device_step_cas");
	if (st == NULL) {
		r = STORE_ERR;
	} else {
		rc = sqlite3_bind_int64(st, 3, step);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(st, 4, now);
		r = rc == SQLITE_OK ? run(q, st, "device_step_cas", &n)
				    : bind_fail(q, st, rc, "device_step_cas");
	}
	if (r == STORE_OK && n != 1)
		r = STORE_CONFLICT; /* this device's step or a later one was already used */
	if (r == STORE_OK)          /* a success resets the user's failure count and lock */
		r = run1(q, S_STATE_CLEAR, user, "device_step_cas", NULL);
	return op_end(q, r, "device_step_cas");
}

/* ---- login state ---- */

static int sq_state_get(struct store *s, const char *user, struct store_login_state *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_STATE_GET, user, "state_get");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "state_get");
	if (r == STORE_OK) {
		out->last_step = sqlite3_column_int64(st, 0);
		out->failures = clamp_int(sqlite3_column_int64(st, 1));
		out->locked_until = sqlite3_column_int64(st, 2);
	} else if (r == STORE_NOTFOUND) {
		r = STORE_OK; /* no row reads as {-1, 0, 0} (set by store.c) */
	}
	done(st);
	return r;
}

static int cas_update(struct sq *q, const char *user, int64_t step, int *n)
{
	sqlite3_stmt *st = get(q, S_STATE_CAS, "step_cas");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, step);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "step_cas");
	return run(q, st, "step_cas", n);
}

static int sq_step_cas(struct store *s, const char *user, int64_t step)
{
	struct sq *q = SQ(s);
	int r, n = 0;

	r = op_begin(q, "step_cas");
	if (r != STORE_OK)
		return r;
	r = run1(q, S_STATE_INIT, user, "step_cas", NULL);
	if (r == STORE_OK)
		r = cas_update(q, user, step, &n);
	if (r == STORE_OK && n != 1)
		r = STORE_CONFLICT; /* this step or a later one was already used */
	return op_end(q, r, "step_cas");
}

static int fail_update(struct sq *q, const char *user, int64_t now, int deny, int unlock_time)
{
	sqlite3_stmt *st = get1(q, S_STATE_FAIL, user, "fail");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 2, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, deny);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, unlock_time);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "fail");
	return run(q, st, "fail", NULL);
}

static int sq_fail(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
		   int *failures_out, int *locked_out)
{
	struct sq *q = SQ(s);
	struct store_login_state ls = {-1, 0, 0};
	int r;

	r = op_begin(q, "fail");
	if (r != STORE_OK)
		return r;
	r = run1(q, S_STATE_INIT, user, "fail", NULL);
	if (r == STORE_OK)
		r = fail_update(q, user, now, deny, unlock_time);
	if (r == STORE_OK) /* same transaction: sees exactly this increment */
		r = sq_state_get(s, user, &ls);
	r = op_end(q, r, "fail");
	if (r == STORE_OK) {
		*failures_out = ls.failures;
		*locked_out = deny > 0 && ls.failures >= deny;
	}
	return r;
}

static int sq_login_read(struct store *s, const char *user,
			 int (*cb)(void *ctx, const struct store_device *d), void *ctx,
			 struct store_login_state *ls)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_LOGIN_READ, user, "login_read");
	struct store_device d;
	int r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	memset(&d, 0, sizeof(d));
	while ((r = row(q, st, "login_read")) == STORE_OK) {
		memset(&d, 0, sizeof(d));
		if (col_blob(q, st, 0, d.t.sealed, sizeof(d.t.sealed), &d.t.sealed_len,
			     "login_read") != STORE_OK ||
		    col_int(q, st, 1, &d.t.algorithm, "login_read") != STORE_OK ||
		    col_int(q, st, 2, &d.t.digits, "login_read") != STORE_OK ||
		    col_int(q, st, 3, &d.t.period, "login_read") != STORE_OK ||
		    col_text(q, st, 5, d.t.device, sizeof(d.t.device), "login_read") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		d.t.created = sqlite3_column_int64(st, 4);
		d.last_step = sqlite3_column_int64(st, 6);
		d.last_used = sqlite3_column_int64(st, 7);
		ls->last_step = sqlite3_column_int64(st, 8);
		ls->failures = clamp_int(sqlite3_column_int64(st, 9));
		ls->locked_until = sqlite3_column_int64(st, 10);
		n++;
		if (cb(ctx, &d) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = n > 0 ? STORE_OK : STORE_NOTFOUND;
	done(st);
	rc_wipe(&d, sizeof(d));
	return r;
}

/* S_LOGIN_STEP or S_LOGIN_CAS (same binds): *n 1 when the device took the step. */
static int login_step(struct sq *q, enum sid id, const char *user, const char *device, int64_t now,
		      int deny, int64_t step, int *n)
{
	sqlite3_stmt *st = get_user_dev(q, id, user, device, "login_try");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 3, step);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, now);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 5, deny);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "login_try");
	return run(q, st, "login_try", n);
}

/*
 * The device's compare-and-set. Its replay row is nearly always there: the UPDATE walks
 * that one tree. The upsert, which also looks the device up in totp (one more B-tree walk,
 * a page outside the cache at a million users), runs only when the UPDATE changed nothing:
 * a replay, a count over deny, or a device enrolled before schema 6 that has no row yet.
 * Both run in the caller's write transaction, so the outcome is the upsert's alone.
 */
static int login_cas(struct sq *q, const char *user, const char *device, int64_t now, int deny,
		     int64_t step, int *n)
{
	int r = login_step(q, S_LOGIN_STEP, user, device, now, deny, step, n);

	if (r == STORE_OK && *n == 0)
		r = login_step(q, S_LOGIN_CAS, user, device, now, deny, step, n);
	return r;
}

/* One write transaction: the device's compare-and-set (when a step is given), then the count
 * cleared (accepted) or the failure counted on the state row (made if missing) and the
 * outcome read back. An accepted step runs two statements under the write lock. */
static int sq_login_try(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
			const char *device, int64_t step, struct store_login_try *out)
{
	struct sq *q = SQ(s);
	struct store_login_state ls = {-1, 0, 0};
	int r, n = 0;

	r = op_begin(q, "login_try");
	if (r != STORE_OK)
		return r;
	if (step >= 0)
		r = login_cas(q, user, device, now, deny, step, &n);
	if (r == STORE_OK && n == 1) {
		r = run1(q, S_STATE_CLEAR, user, "login_try", NULL);
	} else if (r == STORE_OK) {
		r = run1(q, S_STATE_INIT, user, "login_try", NULL);
		if (r == STORE_OK)
			r = fail_update(q, user, now, deny, unlock_time);
		if (r == STORE_OK) /* same transaction: sees exactly this attempt */
			r = sq_state_get(s, user, &ls);
	}
	r = op_end(q, r, "login_try");
	if (r == STORE_OK) {
		out->accepted = n == 1;
		out->failures = out->accepted ? 0 : ls.failures;
		out->locked = !out->accepted && deny > 0 && ls.failures >= deny;
		out->locked_until = out->accepted ? 0 : ls.locked_until;
	}
	return r;
}

static int sq_reset_failures(struct store *s, const char *user)
{
	return run1(SQ(s), S_STATE_CLEAR, user, "reset_failures", NULL);
}

static int sq_unlock(struct store *s, const char *user)
{
	struct sq *q = SQ(s);
	int r = op_begin(q, "unlock");

	if (r != STORE_OK)
		return r;
	r = run1(q, S_STATE_CLEAR, user, "unlock", NULL);
	if (r == STORE_OK)
		r = run1(q, S_REUSE_DEL, user, "unlock", NULL);
	return op_end(q, r, "unlock");
}

/* ---- backup codes ---- */

static int sq_backup_replace(struct store *s, const char *user,
			     const unsigned char (*hashes)[STORE_HASH_LEN], size_t n)
{
	struct sq *q = SQ(s);
	int r = op_begin(q, "backup_replace");

	if (r != STORE_OK)
		return r;
	r = run1(q, S_BACKUP_DEL, user, "backup_replace", NULL);
	for (size_t i = 0; r == STORE_OK && i < n; i++) {
		sqlite3_stmt *st = get1(q, S_BACKUP_INS, user, "backup_replace");
		int rc;

		if (st == NULL) {
			r = STORE_ERR;
			break;
		}
		rc = sqlite3_bind_blob(st, 2, hashes[i], STORE_HASH_LEN, SQLITE_STATIC);
		r = rc == SQLITE_OK ? run(q, st, "backup_replace", NULL)
				    : bind_fail(q, st, rc, "backup_replace");
	}
	return op_end(q, r, "backup_replace");
}

static int sq_backup_use(struct store *s, const char *user,
			 const unsigned char hash[STORE_HASH_LEN], int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_BACKUP_USE, user, "backup_use");
	int rc, r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_blob(st, 2, hash, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, now);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "backup_use");
	r = run(q, st, "backup_use", &n);
	return r == STORE_OK && n != 1 ? STORE_NOTFOUND : r;
}

static int count_query(struct sq *q, sqlite3_stmt *st, int *out, const char *what)
{
	int r = row(q, st, what);

	if (r == STORE_OK)
		*out = clamp_int(sqlite3_column_int64(st, 0));
	else if (r == STORE_NOTFOUND)
		r = dberr(q, SQLITE_ERROR, what);
	done(st);
	return r;
}

static int sq_backup_count(struct store *s, const char *user, int *left)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_BACKUP_COUNT, user, "backup_count");

	if (st == NULL)
		return STORE_ERR;
	return count_query(q, st, left, "backup_count");
}

/* ---- app passwords ---- */

static int read_app(struct sq *q, sqlite3_stmt *st, struct store_app_password *a, const char *what)
{
	if (col_text(q, st, 0, a->name, sizeof(a->name), what) != STORE_OK ||
	    col_text(q, st, 1, a->services, sizeof(a->services), what) != STORE_OK ||
	    col_hash(q, st, 2, a->hash, what) != STORE_OK)
		return STORE_ERR;
	a->created = sqlite3_column_int64(st, 3);
	a->last_used = sqlite3_column_int64(st, 4);
	return STORE_OK;
}

static int sq_app_add(struct store *s, const char *user, const struct store_app_password *a)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_APP_ADD, user, "app_add");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, a->services, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 4, a->hash, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, a->created);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, a->last_used);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "app_add");
	rc = sqlite3_step(st);
	done(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		store_set_err(s, "app_add: the user already has an app password with that name "
				 "(or that value)");
		return STORE_CONFLICT;
	}
	if (rc != SQLITE_DONE)
		return dberr(q, rc, "app_add");
	return STORE_OK;
}

static int sq_app_revoke(struct store *s, const char *user, const char *name)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_APP_DEL, user, "app_revoke");
	int rc, r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "app_revoke");
	r = run(q, st, "app_revoke", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int sq_app_revoke_all(struct store *s, const char *user)
{
	return run1(SQ(s), S_APP_DEL_ALL, user, "app_revoke_all", NULL);
}

static int sq_app_list(struct store *s, const char *user,
		       int (*cb)(void *ctx, const struct store_app_password *a), void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, SQL_APP_LIST, "app_list");
	struct store_app_password a;
	int r, rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "app_list");
	}
	while ((r = row(q, st, "app_list")) == STORE_OK) {
		memset(&a, 0, sizeof(a));
		if (read_app(q, st, &a, "app_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, &a) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	sqlite3_finalize(st);
	return r;
}

/* Bind ?1 user, ?2 hash[, ?3 now] on statement id. */
static sqlite3_stmt *get_user_hash(struct sq *q, enum sid id, const char *user,
				   const unsigned char hash[STORE_HASH_LEN], const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int rc;

	if (st == NULL)
		return NULL;
	rc = sqlite3_bind_blob(st, 2, hash, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		bind_fail(q, st, rc, what);
		return NULL;
	}
	return st;
}

/*
 * Stamp first, then read: the stamp is one atomic statement, and a password revoked in
 * between reads as not found, which is the truth by then.
 */
static int sq_app_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
			int64_t now, struct store_app_password *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	int rc, r, n = 0;

	if (now > 0) {
		st = get_user_hash(q, S_APP_STAMP, user, hash, "app_match");
		if (st == NULL)
			return STORE_ERR;
		rc = sqlite3_bind_int64(st, 3, now);
		if (rc != SQLITE_OK)
			return bind_fail(q, st, rc, "app_match");
		r = run(q, st, "app_match", &n);
		if (r != STORE_OK)
			return r;
		if (n == 0)
			return STORE_NOTFOUND;
	}
	st = get_user_hash(q, S_APP_GET, user, hash, "app_match");
	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "app_match");
	if (r == STORE_OK)
		r = read_app(q, st, out, "app_match");
	done(st);
	return r;
}

/* ---- contacts ---- */

static sqlite3_stmt *get_user_kind(struct sq *q, enum sid id, const char *user, int kind,
				   const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int rc;

	if (st == NULL)
		return NULL;
	rc = sqlite3_bind_int(st, 2, kind);
	if (rc != SQLITE_OK) {
		bind_fail(q, st, rc, what);
		return NULL;
	}
	return st;
}

static int sq_contact_put(struct store *s, const char *user, const struct store_contact *c)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_kind(q, S_CONTACT_PUT, user, c->kind, "contact_put");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_blob(st, 3, c->sealed, (int)c->sealed_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, c->verified ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, c->updated);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "contact_put");
	return run(q, st, "contact_put", NULL);
}

static int sq_contact_get(struct store *s, const char *user, int kind, struct store_contact *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_kind(q, S_CONTACT_GET, user, kind, "contact_get");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "contact_get");
	if (r == STORE_OK && col_blob(q, st, 0, out->sealed, sizeof(out->sealed), &out->sealed_len,
				      "contact_get") != STORE_OK)
		r = STORE_ERR;
	if (r == STORE_OK) {
		out->kind = kind;
		out->verified = sqlite3_column_int64(st, 1) != 0;
		out->updated = sqlite3_column_int64(st, 2);
	}
	done(st);
	return r;
}

static int sq_contact_set_verified(struct store *s, const char *user, int kind, int64_t now)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_kind(q, S_CONTACT_VERIFY, user, kind, "contact_set_verified");
	int rc, r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 3, now);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "contact_set_verified");
	r = run(q, st, "contact_set_verified", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int sq_contact_delete(struct store *s, const char *user, int kind)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_kind(q, S_CONTACT_DEL, user, kind, "contact_delete");
	int r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	r = run(q, st, "contact_delete", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

/* ---- security question ---- */

static int sq_question_put(struct store *s, const char *user, const struct store_question *qq)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_Q_PUT, user, "question_put");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 2, qq->question, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, qq->answer_hash, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, qq->updated);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "question_put");
	return run(q, st, "question_put", NULL);
}

static int sq_question_get(struct store *s, const char *user, struct store_question *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get1(q, S_Q_GET, user, "question_get");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "question_get");
	if (r == STORE_OK &&
	    (col_text(q, st, 0, out->question, sizeof(out->question), "question_get") != STORE_OK ||
	     col_text(q, st, 1, out->answer_hash, sizeof(out->answer_hash), "question_get") !=
		     STORE_OK))
		r = STORE_ERR;
	if (r == STORE_OK)
		out->updated = sqlite3_column_int64(st, 2);
	done(st);
	return r;
}

static int sq_question_delete(struct store *s, const char *user)
{
	int n = 0, r = run1(SQ(s), S_Q_DEL, user, "question_delete", &n);

	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

/* ---- one-time codes ---- */

static sqlite3_stmt *get_token(struct sq *q, enum sid id, const char *user, const char *channel,
			       const char *purpose, const char *what)
{
	sqlite3_stmt *st = get1(q, id, user, what);
	int rc;

	if (st == NULL)
		return NULL;
	rc = sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, purpose, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		bind_fail(q, st, rc, what);
		return NULL;
	}
	return st;
}

static int sq_token_put(struct store *s, const char *user, const char *channel, const char *purpose,
			const struct store_token *t)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_token(q, S_TOKEN_PUT, user, channel, purpose, "token_put");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_blob(st, 4, t->hash, STORE_HASH_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, t->expires);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "token_put");
	return run(q, st, "token_put", NULL);
}

static int sq_token_get(struct store *s, const char *user, const char *channel, const char *purpose,
			struct store_token *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_token(q, S_TOKEN_GET, user, channel, purpose, "token_get");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "token_get");
	if (r == STORE_OK && col_hash(q, st, 0, out->hash, "token_get") != STORE_OK)
		r = STORE_ERR;
	if (r == STORE_OK) {
		out->expires = sqlite3_column_int64(st, 1);
		out->attempts = clamp_int(sqlite3_column_int64(st, 2));
		out->used = sqlite3_column_int64(st, 3) != 0;
	}
	done(st);
	return r;
}

static int sq_token_attempt(struct store *s, const char *user, const char *channel,
			    const char *purpose, int *attempts_out)
{
	struct sq *q = SQ(s);
	struct store_token t;
	sqlite3_stmt *st;
	int r = op_begin(q, "token_attempt"), n = 0;

	if (r != STORE_OK)
		return r;
	st = get_token(q, S_TOKEN_ATTEMPT, user, channel, purpose, "token_attempt");
	r = st ? run(q, st, "token_attempt", &n) : STORE_ERR;
	if (r == STORE_OK && n == 0)
		r = STORE_NOTFOUND;
	if (r == STORE_OK) /* same transaction: exactly this increment */
		r = sq_token_get(s, user, channel, purpose, &t);
	r = op_end(q, r, "token_attempt");
	if (r == STORE_OK)
		*attempts_out = t.attempts;
	return r;
}

static int sq_token_consume(struct store *s, const char *user, const char *channel,
			    const char *purpose)
{
	struct sq *q = SQ(s);
	struct store_token t;
	sqlite3_stmt *st = get_token(q, S_TOKEN_CONSUME, user, channel, purpose, "token_consume");
	int r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	r = run(q, st, "token_consume", &n);
	if (r != STORE_OK || n == 1)
		return r;
	/* Not consumed now: tell "already used" from "no such code". */
	r = sq_token_get(s, user, channel, purpose, &t);
	return r == STORE_OK ? STORE_CONFLICT : r;
}

static int sq_token_revoke_all(struct store *s, const char *user)
{
	return run1(SQ(s), S_TOKEN_DEL_ALL, user, "token_revoke_all", NULL);
}

static int sq_token_prune(struct store *s, int64_t now, int *removed)
{
	return run_i64(SQ(s), S_TOKEN_PRUNE, now, "token_prune", removed);
}

/* ---- counters ---- */

static int ctr_run(struct sq *q, enum sid id, const char *key, int64_t t, const char *what,
		   int *count)
{
	sqlite3_stmt *st = get1(q, id, key, what);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 2, t);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, what);
	return count ? count_query(q, st, count, what) : run(q, st, what, NULL);
}

static int sq_counter_hit(struct store *s, const char *key, int64_t now, int window_s,
			  int *count_out)
{
	struct sq *q = SQ(s);
	int64_t since = now - window_s;
	int r = op_begin(q, "counter_hit"), n = 0;

	if (r != STORE_OK)
		return r;
	r = ctr_run(q, S_CTR_PRUNE_KEY, key, since, "counter_hit", NULL);
	if (r == STORE_OK)
		r = ctr_run(q, S_CTR_COUNT, key, since, "counter_hit", &n);
	if (r == STORE_OK && n < STORE_COUNTER_CAP)
		r = ctr_run(q, S_CTR_ADD, key, now, "counter_hit", NULL);
	r = op_end(q, r, "counter_hit");
	if (r == STORE_OK)
		*count_out = n < STORE_COUNTER_CAP ? n + 1 : STORE_COUNTER_CAP + 1;
	return r;
}

static int sq_counter_get(struct store *s, const char *key, int64_t now, int window_s,
			  int *count_out)
{
	int n = 0, r = ctr_run(SQ(s), S_CTR_COUNT, key, now - window_s, "counter_get", &n);

	if (r == STORE_OK)
		*count_out = n <= STORE_COUNTER_CAP ? n : STORE_COUNTER_CAP + 1;
	return r;
}

static int sq_counter_clear(struct store *s, const char *key)
{
	return run1(SQ(s), S_CTR_CLEAR, key, "counter_clear", NULL);
}

static int sq_counter_release(struct store *s, const char *key, int64_t when)
{
	struct sq *q = SQ(s);
	int r = ctr_run(q, S_CTR_RELEASE, key, when, "counter_release", NULL);

	if (r == STORE_OK && sqlite3_changes(q->db) == 0)
		r = STORE_NOTFOUND;
	return r;
}

static int sq_counter_prune(struct store *s, int64_t before, int max, int *removed)
{
	return prune_batches(SQ(s), S_CTR_PRUNE, before, max, "counter_prune", removed);
}

/* ---- audit ---- */

static int sq_audit_add(struct store *s, int64_t now, const char *user, long ruid,
			const char *event, const char *method, const char *detail)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get(q, S_AUDIT_ADD, "audit_add");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, now);
	if (rc == SQLITE_OK)
		rc = user ? sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC)
			  : sqlite3_bind_null(st, 2);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, ruid);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, method, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "audit_add");
	return run(q, st, "audit_add", NULL);
}

static int sq_audit_list(struct store *s, const char *user, int limit,
			 int (*cb)(void *ctx, const struct store_audit *a), void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, user ? SQL_AUDIT_USER : SQL_AUDIT_ALL, "audit_list");
	struct store_audit a;
	int r, rc = SQLITE_OK;

	if (st == NULL)
		return STORE_ERR;
	if (user != NULL)
		rc = sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK) /* a negative LIMIT is no limit in SQLite */
		rc = sqlite3_bind_int(st, 2, limit > 0 ? limit : -1);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "audit_list");
	}
	while ((r = row(q, st, "audit_list")) == STORE_OK) {
		memset(&a, 0, sizeof(a));
		a.time = sqlite3_column_int64(st, 0);
		col_text_cut(st, 1, a.user, sizeof(a.user));
		a.ruid = (long)sqlite3_column_int64(st, 2);
		col_text_cut(st, 3, a.event, sizeof(a.event));
		col_text_cut(st, 4, a.method, sizeof(a.method));
		col_text_cut(st, 5, a.detail, sizeof(a.detail));
		if (cb(ctx, &a) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	sqlite3_finalize(st);
	return r;
}

static int sq_audit_prune(struct store *s, int64_t before, int max, int *removed)
{
	return prune_batches(SQ(s), S_AUDIT_PRUNE, before, max, "audit_prune", removed);
}

static int sq_user_purge(struct store *s, const char *user)
{
	static const enum sid dels[] = {
		S_TOTP_DEL,        S_PEND_DEL, S_STATE_DEL,     S_BACKUP_DEL, S_APP_DEL_ALL,
		S_CONTACT_DEL_ALL, S_Q_DEL,    S_TOKEN_DEL_ALL, S_REUSE_DEL,  S_DEVSTEP_DEL};
	struct sq *q = SQ(s);
	int r = op_begin(q, "user_purge"), total = 0;

	if (r != STORE_OK)
		return r;
	for (size_t i = 0; r == STORE_OK && i < sizeof(dels) / sizeof(dels[0]); i++) {
		int n = 0;

		r = run1(q, dels[i], user, "user_purge", &n);
		total += n;
	}
	if (r == STORE_OK && total == 0)
		r = STORE_NOTFOUND;
	return op_end(q, r, "user_purge");
}

static int sq_user_spelling(struct store *s, const char *user, char *out, size_t n)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, SQL_USER_SPELLING, "user_spelling");
	int r, rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "user_spelling");
	}
	r = row(q, st, "user_spelling");
	if (r == STORE_OK)
		r = col_text(q, st, 0, out, n, "user_spelling");
	sqlite3_finalize(st);
	return r;
}

static int sq_user_names(struct store *s, int (*cb)(void *ctx, const char *user), void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, SQL_USER_NAMES, "user_names");
	char user[STORE_USER_MAX + 1];
	int r;

	if (st == NULL)
		return STORE_ERR;
	while ((r = row(q, st, "user_names")) == STORE_OK) {
		if (col_text(q, st, 0, user, sizeof(user), "user_names") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, user) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	sqlite3_finalize(st);
	return r;
}

/* ---- backup code state, reuse windows ---- */

static int sq_backup_state(struct store *s, const char *user,
			   const unsigned char hash[STORE_HASH_LEN])
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_hash(q, S_BACKUP_STATE, user, hash, "backup_state");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "backup_state");
	if (r == STORE_OK && sqlite3_column_int64(st, 0) != 0)
		r = STORE_CONFLICT;
	done(st);
	return r;
}

static int sq_reuse_put(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
			int64_t now, int64_t expires)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	int r = op_begin(q, "reuse_put"), rc;

	if (r != STORE_OK)
		return r;
	r = run_i64(q, S_REUSE_PRUNE, now, "reuse_put", NULL);
	if (r == STORE_OK) {
		st = get_user_hash(q, S_REUSE_PUT, user, hash, "reuse_put");
		if (st == NULL) {
			r = STORE_ERR;
		} else {
			rc = sqlite3_bind_int64(st, 3, expires);
			r = rc == SQLITE_OK ? run(q, st, "reuse_put", NULL)
					    : bind_fail(q, st, rc, "reuse_put");
		}
	}
	return op_end(q, r, "reuse_put");
}

static int sq_reuse_match(struct store *s, const char *user,
			  const unsigned char hash[STORE_HASH_LEN], int64_t now,
			  int64_t *expires_out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get_user_hash(q, S_REUSE_GET, user, hash, "reuse_match");
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 3, now);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "reuse_match");
	r = row(q, st, "reuse_match");
	if (r == STORE_OK)
		*expires_out = sqlite3_column_int64(st, 0);
	done(st);
	return r;
}

static int sq_reuse_clear(struct store *s, const char *user)
{
	return run1(SQ(s), S_REUSE_DEL, user, "reuse_clear", NULL);
}

/* ---- open and close ---- */

/* ---- outbox (one-off statements: rare, and kept apart from the login path's cache) ---- */

#define OUTBOX_COLS                                                                                \
	"SELECT id, username, kind, sealed, time, proofs, caller, flags, state, owner, "           \
	"attempts, next_try, last_error FROM outbox "

static int outbox_row(struct sq *q, sqlite3_stmt *st, struct store_outbox *o, const char *what)
{
	memset(o, 0, sizeof(*o));
	o->id = sqlite3_column_int64(st, 0);
	if (col_text(q, st, 1, o->user, sizeof(o->user), what) != STORE_OK ||
	    col_int(q, st, 2, &o->kind, what) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
	    col_blob(q, st, 3, o->sealed, sizeof(o->sealed), &o->sealed_len, what) != STORE_OK)
		return STORE_ERR;
	o->time = sqlite3_column_int64(st, 4);
	col_text_cut(st, 5, o->proofs, sizeof(o->proofs));
	col_text_cut(st, 6, o->caller, sizeof(o->caller));
	if (col_int(q, st, 7, &o->flags, what) != STORE_OK ||
	    col_int(q, st, 8, &o->state, what) != STORE_OK)
		return STORE_ERR;
	col_text_cut(st, 9, o->owner, sizeof(o->owner));
	o->attempts = clamp_int(sqlite3_column_int64(st, 10));
	o->next_try = sqlite3_column_int64(st, 11);
	col_text_cut(st, 12, o->last_error, sizeof(o->last_error));
	if (o->kind < 0 || o->kind >= STORE_OUTBOX_KINDS || o->state < STORE_OUTBOX_ARMED ||
	    o->state > STORE_OUTBOX_GAVE_UP)
		return damaged(q, what);
	return STORE_OK;
}

static int sq_outbox_add(struct store *s, const struct store_outbox *o)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q,
				     "INSERT INTO outbox (username, kind, sealed, time, proofs, "
				     "caller, flags, state, owner, attempts, next_try, last_error) "
				     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				     "outbox_add");
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 1, o->user, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, o->kind);
	if (rc == SQLITE_OK)
		rc = o->sealed_len > 0 ? sqlite3_bind_blob(st, 3, o->sealed, (int)o->sealed_len,
							   SQLITE_STATIC)
				       : sqlite3_bind_null(st, 3);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, o->time);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, o->proofs, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, o->caller, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 7, o->flags);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 8, o->state);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 9, o->owner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 10, o->attempts);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 11, o->next_try);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 12, o->last_error, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "outbox_add");
	}
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? STORE_OK : dberr(q, rc, "outbox_add");
	sqlite3_finalize(st);
	return r;
}

static int sq_outbox_get(struct store *s, int64_t id, struct store_outbox *out)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q, OUTBOX_COLS "WHERE id = ?1", "outbox_get");
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, id);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "outbox_get");
	}
	r = row(q, st, "outbox_get");
	if (r == STORE_OK)
		r = outbox_row(q, st, out, "outbox_get");
	sqlite3_finalize(st);
	return r;
}

static int sq_outbox_list(struct store *s, int state, int64_t due_by,
			  int (*cb)(void *ctx, const struct store_outbox *o), void *ctx)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q,
				     OUTBOX_COLS "WHERE state = ?1 AND (?1 <> 1 OR next_try <= ?2) "
						 "ORDER BY id",
				     "outbox_list");
	struct store_outbox o;
	int r, rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int(st, 1, state);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, due_by);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "outbox_list");
	}
	while ((r = row(q, st, "outbox_list")) == STORE_OK) {
		if (outbox_row(q, st, &o, "outbox_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, &o) != 0) {
			r = STORE_NOTFOUND;
			break;
		}
	}
	sqlite3_finalize(st);
	rc_wipe(&o, sizeof(o));
	return r == STORE_NOTFOUND ? STORE_OK : r;
}

/* A statement with ?1 = text and optional ?2, ?3 numbers; *changed gets the rows changed. */
static int outbox_exec(struct sq *q, const char *sql, const char *text, int64_t a, int64_t b,
		       int *changed, const char *what)
{
	sqlite3_stmt *st = prep_once(q, sql, what);
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 2)
		rc = sqlite3_bind_int64(st, 2, a);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 3)
		rc = sqlite3_bind_int64(st, 3, b);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, what);
	}
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? STORE_OK : dberr(q, rc, what);
	if (changed != NULL)
		*changed = r == STORE_OK ? sqlite3_changes(q->db) : 0;
	sqlite3_finalize(st);
	return r;
}

static int sq_outbox_release(struct store *s, const char *owner, int add_flags, int *changed)
{
	return outbox_exec(SQ(s),
			   "UPDATE outbox SET state = 1, flags = flags | ?2 "
			   "WHERE owner = ?1 AND state = 0",
			   owner, add_flags, 0, changed, "outbox_release");
}

static int sq_outbox_disarm(struct store *s, const char *owner)
{
	return outbox_exec(SQ(s), "DELETE FROM outbox WHERE owner = ?1 AND state = 0", owner, 0, 0,
			   NULL, "outbox_disarm");
}

static int sq_outbox_update(struct store *s, int64_t id, int state, int attempts, int64_t next_try,
			    const char *last_error)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q,
				     "UPDATE outbox SET state = ?2, attempts = ?3, next_try = ?4, "
				     "last_error = ?5 WHERE id = ?1",
				     "outbox_update");
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, state);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, attempts);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, next_try);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, last_error, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "outbox_update");
	}
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? (sqlite3_changes(q->db) > 0 ? STORE_OK : STORE_NOTFOUND)
			      : dberr(q, rc, "outbox_update");
	sqlite3_finalize(st);
	return r;
}

static int sq_outbox_claim(struct store *s, int64_t id, int attempts, int64_t seen_next_try,
			   int64_t until)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = prep_once(q,
				     "UPDATE outbox SET next_try = ?4 WHERE id = ?1 AND state = 1 "
				     "AND attempts = ?2 AND next_try = ?3",
				     "outbox_claim");
	int rc, r;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, attempts);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, seen_next_try);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, until);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "outbox_claim");
	}
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? (sqlite3_changes(q->db) == 1 ? STORE_OK : STORE_CONFLICT)
			      : dberr(q, rc, "outbox_claim");
	sqlite3_finalize(st);
	return r;
}

static void sq_close(struct store *s)
{
	struct sq *q = SQ(s);

	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close_v2(q->db);
	free(q);
}

/* ---- the key-check record ---- */

static int sq_keycheck_get(struct store *s, unsigned char *sealed, size_t cap, size_t *len)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get(q, S_KEYCHECK_GET, "keycheck_get");
	int r;

	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "keycheck_get");
	if (r == STORE_OK && col_blob(q, st, 0, sealed, cap, len, "keycheck_get") != STORE_OK)
		r = STORE_ERR;
	done(st);
	return r;
}

static int sq_keycheck_put(struct store *s, const unsigned char *sealed, size_t len,
			   int64_t created)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st = get(q, S_KEYCHECK_PUT, "keycheck_put");
	int rc, r, n = 0;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_bind_blob(st, 1, sealed, (int)len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, created);
	if (rc != SQLITE_OK)
		return bind_fail(q, st, rc, "keycheck_put");
	r = run(q, st, "keycheck_put", &n);
	return r == STORE_OK && n == 0 ? STORE_CONFLICT : r;
}

/* ---- copying whole tables (admin copy-store) ---- */

static int sq_table_rows(struct store *s, const struct store_table *t,
			 int (*cb)(void *ctx, const struct store_val *v), void *ctx)
{
	struct sq *q = SQ(s);
	struct store_val v[STORE_TABLE_COLS_MAX];
	sqlite3_stmt *st;
	char sql[512];
	size_t n = strlen(t->types);
	int r;

	if (n > STORE_TABLE_COLS_MAX || store_table_sql(t, STORE_SQL_SELECT, '?', sql, sizeof(sql)))
		return store_set_err(s, "table_rows: %s: bad table description", t->name);
	st = prep_once(q, sql, "table_rows");
	if (st == NULL)
		return STORE_ERR;
	while ((r = row(q, st, "table_rows")) == STORE_OK) {
		memset(v, 0, sizeof(v));
		for (size_t i = 0; i < n; i++) {
			int ty = sqlite3_column_type(st, (int)i);

			v[i].null = ty == SQLITE_NULL;
			if (t->types[i] == 'i') {
				v[i].i = sqlite3_column_int64(st, (int)i);
			} else if (!v[i].null) {
				v[i].p = t->types[i] == 't'
						 ? (const void *)sqlite3_column_text(st, (int)i)
						 : sqlite3_column_blob(st, (int)i);
				v[i].len = (size_t)sqlite3_column_bytes(st, (int)i);
				if (v[i].p == NULL)
					v[i].p = "";
			}
		}
		if (cb(ctx, v) != 0)
			break;
	}
	if (r == STORE_NOTFOUND)
		r = STORE_OK;
	sqlite3_finalize(st);
	return r;
}

static int sq_table_put(struct store *s, const struct store_table *t, const struct store_val *v)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	char sql[512];
	size_t n = strlen(t->types);
	int rc = SQLITE_OK, r;

	if (n > STORE_TABLE_COLS_MAX || store_table_sql(t, STORE_SQL_INSERT, '?', sql, sizeof(sql)))
		return store_set_err(s, "table_put: %s: bad table description", t->name);
	st = prep_once(q, sql, "table_put");
	if (st == NULL)
		return STORE_ERR;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		int k = (int)i + 1;

		if (v[i].null)
			rc = sqlite3_bind_null(st, k);
		else if (t->types[i] == 'i')
			rc = sqlite3_bind_int64(st, k, v[i].i);
		else if (t->types[i] == 't')
			rc = sqlite3_bind_text(st, k, v[i].p, (int)v[i].len, SQLITE_STATIC);
		else
			rc = sqlite3_bind_blob(st, k, v[i].p, (int)v[i].len, SQLITE_STATIC);
	}
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(q, rc, "table_put");
	}
	rc = sqlite3_step(st);
	r = rc == SQLITE_DONE ? STORE_OK : dberr(q, rc, "table_put");
	sqlite3_finalize(st);
	return r;
}

static int sq_table_count(struct store *s, const struct store_table *t, long long *n)
{
	struct sq *q = SQ(s);
	sqlite3_stmt *st;
	char sql[256];
	int r;

	if (store_table_sql(t, STORE_SQL_COUNT, '?', sql, sizeof(sql)))
		return store_set_err(s, "table_count: %s: bad table description", t->name);
	st = prep_once(q, sql, "table_count");
	if (st == NULL)
		return STORE_ERR;
	r = row(q, st, "table_count");
	if (r == STORE_OK)
		*n = sqlite3_column_int64(st, 0);
	else if (r == STORE_NOTFOUND)
		r = dberr(q, SQLITE_ERROR, "table_count");
	sqlite3_finalize(st);
	return r;
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.begin_snapshot = sq_begin_snapshot,
	.totp_get = sq_totp_get,
	.totp_put = sq_totp_put,
	.totp_delete = sq_totp_delete,
	.pending_put = sq_pending_put,
	.pending_get = sq_pending_get,
	.pending_delete = sq_pending_delete,
	.totp_list = sq_totp_list,
	.device_list = sq_device_list,
	.device_add = sq_device_add,
	.device_delete = sq_device_delete,
	.device_step_cas = sq_device_step_cas,
	.state_get = sq_state_get,
	.step_cas = sq_step_cas,
	.fail = sq_fail,
	.reset_failures = sq_reset_failures,
	.login_read = sq_login_read,
	.login_try = sq_login_try,
	.unlock = sq_unlock,
	.backup_replace = sq_backup_replace,
	.backup_use = sq_backup_use,
	.backup_count = sq_backup_count,
	.backup_state = sq_backup_state,
	.app_add = sq_app_add,
	.app_revoke = sq_app_revoke,
	.app_revoke_all = sq_app_revoke_all,
	.app_list = sq_app_list,
	.app_match = sq_app_match,
	.contact_put = sq_contact_put,
	.contact_get = sq_contact_get,
	.contact_set_verified = sq_contact_set_verified,
	.contact_delete = sq_contact_delete,
	.question_put = sq_question_put,
	.question_get = sq_question_get,
	.question_delete = sq_question_delete,
	.token_put = sq_token_put,
	.token_get = sq_token_get,
	.token_attempt = sq_token_attempt,
	.token_consume = sq_token_consume,
	.token_revoke_all = sq_token_revoke_all,
	.token_prune = sq_token_prune,
	.counter_hit = sq_counter_hit,
	.counter_get = sq_counter_get,
	.counter_clear = sq_counter_clear,
	.counter_release = sq_counter_release,
	.counter_prune = sq_counter_prune,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.audit_prune = sq_audit_prune,
	.user_purge = sq_user_purge,
	.user_spelling = sq_user_spelling,
	.user_names = sq_user_names,
	.keycheck_get = sq_keycheck_get,
	.keycheck_put = sq_keycheck_put,
	.outbox_add = sq_outbox_add,
	.outbox_get = sq_outbox_get,
	.outbox_list = sq_outbox_list,
	.outbox_release = sq_outbox_release,
	.outbox_disarm = sq_outbox_disarm,
	.outbox_update = sq_outbox_update,
	.reuse_put = sq_reuse_put,
	.reuse_match = sq_reuse_match,
	.reuse_clear = sq_reuse_clear,
	.outbox_claim = sq_outbox_claim,
	.table_rows = sq_table_rows,
	.table_put = sq_table_put,
	.table_count = sq_table_count,
};

sqlite3 *store_sqlite_db(struct store *s)
{
	return s != NULL && s->ops == &sqlite_ops ? SQ(s)->db : NULL;
}

static int want_wal(void *ctx, int n, char **vals, char **names)
{
	(void)names;
	*(int *)ctx = n == 1 && vals[0] != NULL && strcmp(vals[0], "wal") == 0;
	return 0;
}

/* Connection settings; every value is a constant of this file. */
static int configure(sqlite3 *db, int flags, const char *path, long *waited_us, char *err,
		     size_t errlen)
{
	int rc, wal = 0;

	rc = sqlite3_extended_result_codes(db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_handler(db, busy_wait, waited_us);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
	if (rc == SQLITE_OK && !(flags & STORE_DURABLE))
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
#endif
	if (rc == SQLITE_OK) {
		sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
		sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 20);
		rc = sqlite3_exec(
			db,
			(flags & STORE_DURABLE)
				? "PRAGMA trusted_schema = OFF; PRAGMA foreign_keys = ON; "
				  "PRAGMA synchronous = FULL"
				: "PRAGMA trusted_schema = OFF; PRAGMA foreign_keys = ON; "
				  "PRAGMA synchronous = NORMAL",
			NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", want_wal, &wal, NULL);
	/* Replaces wal_autocheckpoint (which is a wal hook too). */
	if (rc == SQLITE_OK)
		(void)sqlite3_wal_hook(db, wal_committed, NULL);
	if (rc != SQLITE_OK) {
		store_put_err(err, errlen, "cannot set up %s: %s", path, store_sqlite_why(rc));
		return -1;
	}
	if (!wal) {
		store_put_err(err, errlen,
			      "cannot switch %s to WAL mode (is the file system local?)", path);
		return -1;
	}
	return 0;
}

int store_sqlite_open(const char *path, int flags, struct store **out, char *err, size_t errlen)
{
	struct sq *q = NULL;
	int r = STORE_ERR, rc;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

#ifdef SQLITE_OPEN_NOFOLLOW
	oflags |= SQLITE_OPEN_NOFOLLOW;
#endif
	if (flags & STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	*out = NULL;
	if (store_fs_check(path, flags & STORE_CREATE, err, errlen) != 0)
		goto out;
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		store_put_err(err, errlen, "cannot open %s: out of memory", path);
		goto out;
	}
	q->base.ops = &sqlite_ops;
	rc = sqlite3_open_v2(path, &q->db, oflags, NULL);
	if (rc != SQLITE_OK) {
#ifdef SQLITE_CANTOPEN_SYMLINK
		if (q->db != NULL && sqlite3_extended_errcode(q->db) == SQLITE_CANTOPEN_SYMLINK) {
			store_put_err(err, errlen,
				      "cannot open %s: a directory on its path is a symbolic link; "
				      "name the real path in store = sqlite:PATH",
				      path);
			goto out;
		}
#endif
		store_put_err(err, errlen, "cannot open %s: %s", path, store_sqlite_why(rc));
		goto out;
	}
	if (configure(q->db, flags, path, &q->waited_us, err, errlen) != 0)
		goto out;
	if (store_sqlite_schema(q->db, flags & STORE_CREATE, path, err, errlen) != 0)
		goto out;
	*out = &q->base;
	r = STORE_OK;
out:
	if (r != STORE_OK && q != NULL)
		sq_close(&q->base);
	return r;
}
