/*
 * The PostgreSQL backend (libpq), for several hosts that share one state. One connection per
 * struct store; statements are prepared once per connection and reused; every value is
 * bound (binary), never pasted into SQL.
 *
 * The same guarantees across hosts as SQLite gives across processes:
 * - replay protection is one statement (an upsert whose update only happens while
 *   last_step < step: accepted iff it returns a row);
 * - a failure is counted in one statement that returns the new count;
 * - single-use items (backup codes, reset codes) are spent by one UPDATE ... WHERE unused;
 * - a rate-limit hit counts, prunes and inserts under a transaction-level advisory lock on
 *   its key, so parallel hits on any host see each other (no two get the same count);
 * - store_begin() takes one transaction-level advisory lock, so multi-step changes (enrol,
 *   reset, import) run one at a time, as SQLite's BEGIN IMMEDIATE does.
 * A function that runs more than one statement runs them in a transaction (or a savepoint
 * inside store_begin), so it happens whole or not at all.
 *
 * A server that is down, unreachable or not answering: connect_timeout bounds a new
 * connection; statement_timeout and lock_timeout (enforced by the server process) end a
 * statement that runs or waits for a lock too long; TCP keepalives and tcp_user_timeout
 * notice a peer whose kernel stopped answering or acknowledging. None of these ends a wait
 * for a server process that stopped while its machine's kernel still answers (SIGSTOP, a
 * hung disk, a frozen VM): every wait for an answer is bounded by the client itself, at
 * statement_timeout plus a margin (store_pg_wait.c), and the connection is then given up.
 * Either way the caller gets STORE_ERR with one clear message and opens a new connection
 * next time (pg_alive says no).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strnlen */
#endif
#define _DEFAULT_SOURCE /* htobe64, be64toh */

#include <dlfcn.h>
#include <endian.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_backend.h"
#include "store_pg_lib.h"
#include "store_pg_schema.h"
#include "store_pg_wait.h"

/* Bounds on every wait (seconds / milliseconds); a URI may set its own connect_timeout. */
#define PG_CONNECT_TIMEOUT "5"
#define PG_STMT_TIMEOUT_MS "5000"
/* No parallel workers: every statement reads a user's few rows through an index, and a
 * generic plan made before the tables were analysed (a store just filled by copy-store or
 * an import) guessed thousands of rows and started two workers per login: 5 ms instead of
 * 0.1 ms at a million users. */
#define PG_SESSION_OPTIONS                                                                         \
	"-c statement_timeout=" PG_STMT_TIMEOUT_MS " -c lock_timeout=" PG_STMT_TIMEOUT_MS          \
	" -c idle_in_transaction_session_timeout=60000 -c max_parallel_workers_per_gather=0"
/* store_begin's lock (multi-step changes one at a time), distinct from the migration lock. */
#define PG_TX_LOCK "1885433203"

#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

enum sid {
	S_TOTP_GET,
	S_TOTP_PUT,
	S_TOTP_DEL,
	S_PEND_GET,
	S_PEND_PUT,
	S_PEND_DEL,
	S_TOTP_LIST,
	S_STATE_GET,
	S_STATE_CAS,
	S_STATE_FAIL,
	S_STATE_CLEAR,
	S_STATE_DEL,
	S_STATE_NEW,
	S_BACKUP_DEL,
	S_BACKUP_INS,
	S_BACKUP_USE,
	S_BACKUP_COUNT,
	S_APP_ADD,
	S_APP_DEL,
	S_APP_DEL_ALL,
	S_APP_MATCH,
	S_APP_LIST,
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
	S_CTR_LOCK,
	S_CTR_PRUNE_KEY,
	S_CTR_COUNT,
	S_CTR_ADD,
	S_CTR_CLEAR,
	S_CTR_RELEASE,
	S_CTR_PRUNE,
	S_AUDIT_ADD,
	S_AUDIT_USER,
	S_AUDIT_ALL,
	S_AUDIT_PRUNE,
	S_USER_SPELLING,
	S_USER_NAMES,
	S_KEYCHECK_GET,
	S_KEYCHECK_PUT,
	S_OUTBOX_ADD,
	S_OUTBOX_GET,
	S_OUTBOX_LIST,
	S_OUTBOX_RELEASE,
	S_OUTBOX_DISARM,
	S_OUTBOX_UPDATE,
	S_OUTBOX_CLAIM,
	S_APP_GET,
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
	S_DEVSTEP_FILL,
	S_DEV_CAS,
	S_LOGIN_READ,
	S_LOGIN_TRY,
	S_LOGIN_FAST,
	S_COUNT
};

struct stmt {
	const char *sql;
	const char *types; /* one letter per parameter: t text, b bytea, i bigint */
};

#define TOTP_COLS "sealed, algorithm, digits, period, created"
#define TOTP_UPSERT(table)                                                                         \
	"INSERT INTO " table " (username, " TOTP_COLS ") VALUES ($1, $2, $3, $4, $5, $6) "         \
	"ON CONFLICT (username) DO UPDATE SET sealed = excluded.sealed, "                          \
	"algorithm = excluded.algorithm, digits = excluded.digits, "                               \
	"period = excluded.period, created = excluded.created"
#define TOKEN_KEY "username = $1 AND channel = $2 AND purpose = $3"
/* A lock that has run out (0 < locked_until <= now) starts the count again. */
#define EXPIRED "(l.locked_until > 0 AND l.locked_until <= $2)"
#define NEW_FAILURES "(CASE WHEN " EXPIRED " THEN 1 ELSE l.failures + 1 END)"
/* The attempt's step is accepted (S_LOGIN_TRY): new for its device (excluded.failures 0),
 * and the count with this attempt not over deny. */
#define LOGIN_OK "(excluded.failures = 0 AND ($3 <= 0 OR " NEW_FAILURES " <= $3))"
#define APP_COLS "name, services, hash, created, last_used"
#define OUTBOX_COLS                                                                                \
	"SELECT id, username, kind, sealed, time, proofs, caller, flags, state, owner, "           \
	"attempts, next_try, last_error FROM outbox "

static const struct stmt stmts[S_COUNT] = {
	/* The first device stands for the user where one secret is asked for. */
	[S_TOTP_GET] = {"SELECT " TOTP_COLS ", device FROM totp WHERE username = $1 "
			"ORDER BY created, device LIMIT 1",
			"t"},
	[S_TOTP_PUT] = {"INSERT INTO totp (username, " TOTP_COLS ", device) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7)",
			"tbiiiit"},
	[S_TOTP_DEL] = {"DELETE FROM totp WHERE username = $1", "t"},
	[S_PEND_GET] = {"SELECT " TOTP_COLS ", '' FROM totp_pending WHERE username = $1", "t"},
	[S_PEND_PUT] = {TOTP_UPSERT("totp_pending"), "tbiiii"},
	[S_PEND_DEL] = {"DELETE FROM totp_pending WHERE username = $1", "t"},
	[S_TOTP_LIST] = {"SELECT username, min(created) FROM totp GROUP BY username "
			 "ORDER BY username",
			 ""},

	[S_STATE_GET] = {"SELECT last_step, failures, locked_until FROM login_state "
			 "WHERE username = $1",
			 "t"},
	/* The replay check: one compare-and-set (a row comes back iff this step is new). */
	[S_STATE_CAS] = {"INSERT INTO login_state AS l (username, last_step) VALUES ($2, $1) "
			 "ON CONFLICT (username) DO UPDATE SET last_step = $1, failures = 0, "
			 "locked_until = 0 WHERE l.last_step < $1 RETURNING l.last_step",
			 "it"},
	/* $1 user, $2 now, $3 deny, $4 unlock_time: count and read back in one statement. */
	[S_STATE_FAIL] = {"INSERT INTO login_state AS l (username, failures, locked_until) "
			  "VALUES ($1, 1, CASE WHEN $3 > 0 AND 1 >= $3 THEN $2 + $4 ELSE 0 END) "
			  "ON CONFLICT (username) DO UPDATE SET failures = " NEW_FAILURES ", "
			  "locked_until = CASE WHEN $3 > 0 AND " NEW_FAILURES " >= $3 THEN $2 + $4 "
			  "WHEN " EXPIRED " THEN 0 ELSE l.locked_until END "
			  "RETURNING l.failures",
			  "tiii"},
	[S_STATE_CLEAR] = {"UPDATE login_state SET failures = 0, locked_until = 0 "
			   "WHERE username = $1",
			   "t"},
	[S_STATE_DEL] = {"DELETE FROM login_state WHERE username = $1", "t"},
	/* A clean state in a row of its own, as a new secret starts: the state of a user
	 * without a row, and the row that S_LOGIN_FAST locks for share. */
	[S_STATE_NEW] = {"INSERT INTO login_state (username, last_step, failures, locked_until) "
			 "VALUES ($1, -1, 0, 0) ON CONFLICT (username) DO UPDATE SET "
			 "last_step = -1, failures = 0, locked_until = 0",
			 "t"},

	[S_BACKUP_DEL] = {"DELETE FROM backup_codes WHERE username = $1", "t"},
	[S_BACKUP_INS] = {"INSERT INTO backup_codes (username, hash) VALUES ($1, $2) "
			  "ON CONFLICT DO NOTHING",
			  "tb"},
	[S_BACKUP_USE] = {"UPDATE backup_codes SET used_at = $3 "
			  "WHERE username = $1 AND hash = $2 AND used_at IS NULL",
			  "tbi"},
	[S_BACKUP_COUNT] = {"SELECT count(*) FROM backup_codes "
			    "WHERE username = $1 AND used_at IS NULL",
			    "t"},

	[S_APP_ADD] = {"INSERT INTO app_passwords (username, " APP_COLS ") "
		       "VALUES ($1, $2, $3, $4, $5, $6)",
		       "tttbii"},
	[S_APP_DEL] = {"DELETE FROM app_passwords WHERE username = $1 AND name = $2", "tt"},
	[S_APP_DEL_ALL] = {"DELETE FROM app_passwords WHERE username = $1", "t"},
	/* Stamp and read in one statement: a password revoked meanwhile reads as not found. */
	[S_APP_MATCH] = {"UPDATE app_passwords SET last_used = $3 WHERE username = $1 AND "
			 "hash = $2 RETURNING " APP_COLS,
			 "tbi"},
	[S_APP_LIST] = {"SELECT " APP_COLS " FROM app_passwords WHERE username = $1 "
			"ORDER BY name",
			"t"},

	[S_CONTACT_PUT] = {"INSERT INTO contacts (username, kind, sealed, verified, updated) "
			   "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username, kind) DO UPDATE "
			   "SET sealed = excluded.sealed, verified = excluded.verified, "
			   "updated = excluded.updated",
			   "tibii"},
	[S_CONTACT_GET] = {"SELECT sealed, verified, updated FROM contacts "
			   "WHERE username = $1 AND kind = $2",
			   "ti"},
	[S_CONTACT_VERIFY] = {"UPDATE contacts SET verified = 1, updated = $3 "
			      "WHERE username = $1 AND kind = $2",
			      "tii"},
	[S_CONTACT_DEL] = {"DELETE FROM contacts WHERE username = $1 AND kind = $2", "ti"},
	[S_CONTACT_DEL_ALL] = {"DELETE FROM contacts WHERE username = $1", "t"},

	[S_Q_PUT] = {"INSERT INTO questions (username, question, answer_hash, updated) "
		     "VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET "
		     "question = excluded.question, answer_hash = excluded.answer_hash, "
		     "updated = excluded.updated",
		     "ttti"},
	[S_Q_GET] = {"SELECT question, answer_hash, updated FROM questions WHERE username = $1",
		     "t"},
	[S_Q_DEL] = {"DELETE FROM questions WHERE username = $1", "t"},

	[S_TOKEN_PUT] = {"INSERT INTO tokens (username, channel, purpose, hash, expires, "
			 "attempts, used) VALUES ($1, $2, $3, $4, $5, 0, 0) "
			 "ON CONFLICT (username, channel, purpose) DO UPDATE SET "
			 "hash = excluded.hash, expires = excluded.expires, attempts = 0, used = 0",
			 "tttbi"},
	[S_TOKEN_GET] = {"SELECT hash, expires, attempts, used FROM tokens WHERE " TOKEN_KEY,
			 "ttt"},
	[S_TOKEN_ATTEMPT] = {"UPDATE tokens SET attempts = attempts + 1 WHERE " TOKEN_KEY
			     " RETURNING attempts",
			     "ttt"},
	[S_TOKEN_CONSUME] = {"UPDATE tokens SET used = 1 WHERE " TOKEN_KEY " AND used = 0", "ttt"},
	[S_TOKEN_DEL_ALL] = {"DELETE FROM tokens WHERE username = $1", "t"},
	[S_TOKEN_PRUNE] = {"DELETE FROM tokens WHERE expires < $1 OR used <> 0", "i"},

	/* The hits of one key are counted one transaction at a time, on every host. */
	[S_CTR_LOCK] = {"SELECT pg_advisory_xact_lock(hashtextextended($1, 0)) IS NULL", "t"},
	[S_CTR_PRUNE_KEY] = {"DELETE FROM counters WHERE key = $1 AND time < $2", "ti"},
	[S_CTR_COUNT] = {"SELECT count(*) FROM counters WHERE key = $1 AND time >= $2", "ti"},
	[S_CTR_ADD] = {"INSERT INTO counters (key, time) VALUES ($1, $2)", "ti"},
	[S_CTR_CLEAR] = {"DELETE FROM counters WHERE key = $1", "t"},
	[S_CTR_RELEASE] = {"DELETE FROM counters WHERE ctid = (SELECT ctid FROM counters "
			   "WHERE key = $1 AND time = $2 LIMIT 1 FOR UPDATE)",
			   "ti"},
	[S_CTR_PRUNE] = {"DELETE FROM counters WHERE ctid IN (SELECT ctid FROM counters "
			 "WHERE time < $1 LIMIT " STORE_PRUNE_BATCH_SQL ")",
			 "i"},

	[S_AUDIT_ADD] = {"INSERT INTO audit (time, username, ruid, event, method, detail) "
			 "VALUES ($1, $2, $3, $4, $5, $6)",
			 "itittt"},
	[S_AUDIT_USER] = {"SELECT time, username, ruid, event, method, detail FROM audit "
			  "WHERE username = $1 ORDER BY id DESC LIMIT $2",
			  "ti"},
	[S_AUDIT_ALL] = {"SELECT time, username, ruid, event, method, detail FROM audit "
			 "ORDER BY id DESC LIMIT $1",
			 "i"},
	[S_AUDIT_PRUNE] = {"DELETE FROM audit WHERE id IN (SELECT id FROM audit "
			   "WHERE time < $1 LIMIT " STORE_PRUNE_BATCH_SQL ")",
			   "i"},

	/* lower() of migration 2's index; names are ASCII (rc_user_name_canonical). */
	[S_USER_SPELLING] = {"SELECT username FROM totp WHERE lower(username) = lower($1) "
			     "AND username <> $1 LIMIT 1",
			     "t"},
	[S_USER_NAMES] = {"SELECT username FROM totp UNION SELECT username FROM totp_pending "
			  "UNION SELECT username FROM login_state UNION SELECT username FROM "
			  "backup_codes UNION SELECT username FROM app_passwords UNION SELECT "
			  "username FROM contacts UNION SELECT username FROM questions UNION "
			  "SELECT username FROM tokens UNION SELECT username FROM device_steps "
			  "ORDER BY 1",
			  ""},

	[S_KEYCHECK_GET] = {"SELECT sealed FROM key_check WHERE id = 1", ""},
	[S_KEYCHECK_PUT] = {"INSERT INTO key_check (id, sealed, created) VALUES (1, $1, $2) "
			    "ON CONFLICT (id) DO NOTHING",
			    "bi"},

	[S_OUTBOX_ADD] =
		{"INSERT INTO outbox (username, kind, sealed, time, proofs, caller, flags, "
		 "state, owner, attempts, next_try, last_error) "
		 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		 "tibittiitiit"},
	[S_OUTBOX_GET] = {OUTBOX_COLS "WHERE id = $1", "i"},
	[S_OUTBOX_LIST] = {OUTBOX_COLS "WHERE state = $1 AND ($1 <> 1 OR next_try <= $2) "
				       "ORDER BY id",
			   "ii"},
	[S_OUTBOX_RELEASE] = {"UPDATE outbox SET state = 1, flags = flags | $2 "
			      "WHERE owner = $1 AND state = 0",
			      "ti"},
	[S_OUTBOX_DISARM] = {"DELETE FROM outbox WHERE owner = $1 AND state = 0", "t"},
	[S_OUTBOX_UPDATE] = {"UPDATE outbox SET state = $2, attempts = $3, next_try = $4, "
			     "last_error = $5 WHERE id = $1",
			     "iiiit"},
	/* One delivery at a time across hosts: a compare-and-set on what was read. */
	[S_OUTBOX_CLAIM] = {"UPDATE outbox SET next_try = $4 WHERE id = $1 AND state = 1 "
			    "AND attempts = $2 AND next_try = $3",
			    "iiii"},
	[S_APP_GET] = {"SELECT " APP_COLS " FROM app_passwords WHERE username = $1 AND hash = $2",
		       "tb"},
	[S_BACKUP_STATE] = {"SELECT used_at IS NOT NULL FROM backup_codes "
			    "WHERE username = $1 AND hash = $2",
			    "tb"},
	[S_REUSE_PUT] = {"INSERT INTO reuse (username, hash, expires) VALUES ($1, $2, $3) "
			 "ON CONFLICT (username, hash) DO UPDATE SET expires = excluded.expires",
			 "tbi"},
	[S_REUSE_GET] = {"SELECT expires FROM reuse WHERE username = $1 AND hash = $2 "
			 "AND expires > $3",
			 "tbi"},
	[S_REUSE_DEL] = {"DELETE FROM reuse WHERE username = $1", "t"},
	[S_REUSE_PRUNE] = {"DELETE FROM reuse WHERE expires <= $1", "i"},

	[S_DEV_LIST] = {"SELECT t.sealed, t.algorithm, t.digits, t.period, t.created, t.device, "
			"coalesce(d.last_step, -1), coalesce(d.last_used, 0) FROM totp t "
			"LEFT JOIN device_steps d ON d.username = t.username AND "
			"d.device = t.device WHERE t.username = $1 ORDER BY t.created, t.device",
			"t"},
	[S_DEV_EXISTS] = {"SELECT 1 FROM totp WHERE username = $1 AND device = $2", "tt"},
	[S_DEV_COUNT] = {"SELECT count(*) FROM totp WHERE username = $1", "t"},
	[S_DEV_DEL] = {"DELETE FROM totp WHERE username = $1 AND device = $2", "tt"},
	[S_DEVSTEP_DEL] = {"DELETE FROM device_steps WHERE username = $1", "t"},
	[S_DEVSTEP_DEL1] = {"DELETE FROM device_steps WHERE username = $1 AND device = $2", "tt"},
	/* A device's replay row, made with its totp row (same transaction): the login write
	 * only ever updates it. A row left by an earlier secret of the name starts over. */
	[S_DEVSTEP_NEW] = {"INSERT INTO device_steps (username, device, last_step, last_used) "
			   "VALUES ($1, $2, -1, 0) ON CONFLICT (username, device) DO UPDATE SET "
			   "last_step = -1, last_used = 0",
			   "tt"},
	/* The rows of a user's devices that have none (enrolled before every device got one
	 * when made, and never used since): made at the read, on its own, before the write. */
	[S_DEVSTEP_FILL] = {"INSERT INTO device_steps (username, device, last_step, last_used) "
			    "SELECT username, device, -1, 0 FROM totp WHERE username = $1 "
			    "ON CONFLICT (username, device) DO NOTHING",
			    "t"},
	/* DESIGN.md's compare-and-set, per device, and on success the user's failure count
	 * and lock reset, in one statement: it answers 1 iff the step is new for the device. */
	[S_DEV_CAS] = {"WITH c AS (INSERT INTO device_steps AS d (username, device, last_step, "
		       "last_used) VALUES ($1, $2, $3, $4) ON CONFLICT (username, device) DO "
		       "UPDATE SET last_step = $3, last_used = $4 WHERE d.last_step < $3 "
		       "RETURNING 1), u AS (UPDATE login_state SET failures = 0, locked_until = 0 "
		       "WHERE username = $1 AND EXISTS (SELECT 1 FROM c)) SELECT count(*) FROM c",
		       "ttii"},
	/* The login path: every device with its replay state and the user's login state in one
	 * read (the state repeated on each row); the last column says whether the state has
	 * its row with no failure and no lock (S_LOGIN_FAST can then take the step). */
	[S_LOGIN_READ] =
		{"SELECT t.sealed, t.algorithm, t.digits, t.period, t.created, t.device, "
		 "coalesce(d.last_step, -1), coalesce(d.last_used, 0), "
		 "coalesce(l.last_step, -1), coalesce(l.failures, 0), "
		 "coalesce(l.locked_until, 0), CASE WHEN d.username IS NULL THEN 1::bigint "
		 "ELSE 0 END, CASE WHEN l.failures = 0 AND l.locked_until = 0 THEN 1::bigint "
		 "ELSE 0 END FROM totp t "
		 "LEFT JOIN device_steps d ON d.username = t.username AND "
		 "d.device = t.device LEFT JOIN login_state l ON l.username = t.username "
		 "WHERE t.username = $1 ORDER BY t.created, t.device",
		 "t"},
	/*
	 * $1 user, $2 now, $3 deny, $4 unlock_time, $5 step (-1: none), $6 device: one
	 * statement, one round trip. d locks the device's replay row first (the order of
	 * S_DEV_CAS: device_steps, then login_state) and reads its latest step; every device
	 * has its row from when it was made (S_DEVSTEP_NEW, S_DEVSTEP_FILL), so a device
	 * without one is taken as gone. fresh: the device exists and the step is new for it.
	 * w counts the failure (S_STATE_FAIL) unless the step is fresh and the count with this
	 * attempt not over deny, and then clears the count and lock instead; the upsert on
	 * login_state serialises a user's attempts, so parallel ones see each other's counts.
	 * Then the device's compare-and-set on the row d locked, which answers whether the step
	 * was taken; no other device's row is read or moved. Two attempts with the same step
	 * are serialised by d's lock: the second reads the first's step, is not fresh, and is
	 * counted.
	 */
	[S_LOGIN_TRY] = {"WITH d AS MATERIALIZED (SELECT last_step FROM device_steps "
			 "WHERE username = $1 AND device = $6 FOR UPDATE), "
			 "n AS (SELECT ($5 >= 0 AND EXISTS (SELECT 1 FROM totp WHERE username = $1 "
			 "AND device = $6) AND coalesce((SELECT last_step FROM d), $5) < $5) "
			 "AS fresh), "
			 "w AS (INSERT INTO login_state AS l (username, last_step, failures, "
			 "locked_until) SELECT $1, -1, CASE WHEN fresh THEN 0 ELSE 1 END, "
			 "CASE WHEN NOT fresh AND $3 > 0 AND 1 >= $3 THEN $2 + $4 ELSE 0 END "
			 "FROM n ON CONFLICT (username) DO UPDATE SET "
			 "failures = CASE WHEN " LOGIN_OK " THEN 0 ELSE " NEW_FAILURES " END, "
			 "locked_until = CASE WHEN " LOGIN_OK " THEN 0 "
			 "WHEN $3 > 0 AND " NEW_FAILURES " >= $3 THEN $2 + $4 "
			 "WHEN " EXPIRED " THEN 0 ELSE l.locked_until END "
			 "RETURNING l.failures, l.locked_until), "
			 "c AS (UPDATE device_steps AS s SET last_step = $5, last_used = $2 FROM w "
			 "WHERE s.username = $1 AND s.device = $6 AND w.failures = 0 AND $5 >= 0 "
			 "AND s.last_step < $5 AND EXISTS (SELECT 1 FROM d) RETURNING 1) "
			 "SELECT (SELECT count(*) FROM c), w.failures, w.locked_until FROM w",
			 "tiiiit"},
	/*
	 * $1 user, $2 device, $3 step, $4 now: S_LOGIN_TRY's success where the login state is
	 * clean (its row there, no failure, no lock), which then has nothing to write. In the
	 * same lock order: d locks the device's replay row and reads its step; l then takes
	 * the login state's row for share only if the step is new, the device exists and the
	 * row is clean, so a failure being counted in parallel (S_LOGIN_TRY's upsert, which
	 * needs the row exclusively) comes before (l finds the row no longer clean) or after
	 * (it counts on top of the clean row). The step is taken iff a row comes back; no row
	 * changes nothing, and S_LOGIN_TRY decides.
	 */
	[S_LOGIN_FAST] = {"WITH d AS MATERIALIZED (SELECT last_step FROM device_steps "
			  "WHERE username = $1 AND device = $2 FOR UPDATE), "
			  "l AS MATERIALIZED (SELECT 1 FROM login_state WHERE username = $1 "
			  "AND failures = 0 AND locked_until = 0 AND EXISTS (SELECT 1 FROM d "
			  "WHERE last_step < $3) AND EXISTS (SELECT 1 FROM totp WHERE "
			  "username = $1 AND device = $2) FOR SHARE) "
			  "UPDATE device_steps SET last_step = $3, last_used = $4 "
			  "WHERE username = $1 AND device = $2 AND last_step < $3 "
			  "AND EXISTS (SELECT 1 FROM l) RETURNING 1",
			  "ttii"},
};

#define PP_MAX 16

/* Parameters of one statement, all in binary format. */
struct pp {
	int n;
	const char *v[PP_MAX];
	int len[PP_MAX];
	int fmt[PP_MAX];
	uint64_t i[PP_MAX];
};

struct pgs {
	struct store base; /* first: a struct store * is a struct pgs * */
	PGconn *c;
	unsigned char prepared[S_COUNT];
	struct store_pg_wait wait; /* how soon its answers come (store_pg_wait.h) */
	/* The last login read found the user's login state clean: the write tries
	 * S_LOGIN_FAST first (a hint only: that statement checks it again). */
	int read_clean;
};

static struct pgs *PG(struct store *s)
{
	return (struct pgs *)s;
}

static void p_text(struct pp *p, const char *v)
{
	p->v[p->n] = v;
	p->len[p->n] = v != NULL ? (int)strlen(v) : 0;
	p->fmt[p->n] = 1;
	p->n++;
}

static void p_bytes(struct pp *p, const void *v, size_t n)
{
	p->v[p->n] = v;
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1;
	p->n++;
}

static void p_i64(struct pp *p, int64_t v)
{
	p->i[p->n] = htobe64((uint64_t)v);
	p->v[p->n] = (const char *)&p->i[p->n];
	p->len[p->n] = 8;
	p->fmt[p->n] = 1;
	p->n++;
}

static int dberr(struct pgs *q, const PGresult *res, const char *what)
{
	return store_set_err(&q->base, "%s: %s", what, store_pg_wait_why(q->c, &q->wait, res));
}

static int damaged(struct pgs *q, const char *what)
{
	return store_set_err(&q->base,
			     "%s: a stored record is damaged (wrong type or size); "
			     "restore the store from a backup",
			     what);
}

static int is_unique_violation(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state != NULL && strcmp(state, "23505") == 0;
}

/* Prepare statement `id` on this connection (once). */
static int prepare(struct pgs *q, enum sid id, const char *what)
{
	Oid types[PP_MAX];
	char name[16];
	PGresult *res;
	int n = (int)strlen(stmts[id].types), ok;

	if (q->prepared[id])
		return STORE_OK;
	for (int i = 0; i < n && i < PP_MAX; i++)
		types[i] = stmts[id].types[i] == 't'   ? OID_TEXT
			   : stmts[id].types[i] == 'b' ? OID_BYTEA
						       : OID_INT8;
	snprintf(name, sizeof(name), "rc%d", (int)id);
	res = store_pg_prepare(q->c, &q->wait, name, stmts[id].sql, n, n > 0 ? types : NULL);
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		dberr(q, res, what);
	PQclear(res);
	if (!ok)
		return STORE_ERR;
	q->prepared[id] = 1;
	return STORE_OK;
}

/*
 * Run statement `id` with parameters p. Returns the result (rows in binary), or NULL with
 * s->err set; *unique (optional) is set when the failure was a unique-key violation.
 */
static PGresult *ex(struct pgs *q, enum sid id, const struct pp *p, const char *what, int *unique)
{
	char name[16];
	PGresult *res;
	ExecStatusType st;

	if (unique != NULL)
		*unique = 0;
	if (q->base.in_tx && PQtransactionStatus(q->c) == PQTRANS_INERROR) {
		store_set_err(&q->base,
			      "%s: the transaction was aborted by an earlier error; "
			      "nothing was written (roll back)",
			      what);
		return NULL;
	}
	if (prepare(q, id, what) != STORE_OK)
		return NULL;
	snprintf(name, sizeof(name), "rc%d", (int)id);
	res = store_pg_exec_prepared(q->c, &q->wait, name, p != NULL ? p->n : 0,
				     p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
				     p != NULL ? p->fmt : NULL);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	if (unique != NULL && res != NULL)
		*unique = is_unique_violation(res);
	dberr(q, res, what);
	PQclear(res);
	return NULL;
}

/* Run a statement for its effect; *changes (optional) gets the rows it changed. */
static int run(struct pgs *q, enum sid id, const struct pp *p, const char *what, int *changes)
{
	PGresult *res = ex(q, id, p, what, NULL);

	if (changes != NULL)
		*changes = 0;
	if (res == NULL)
		return STORE_ERR;
	if (changes != NULL) {
		const char *n = PQcmdTuples(res);

		*changes = n != NULL && n[0] != '\0' ? atoi(n) : PQntuples(res);
	}
	PQclear(res);
	return STORE_OK;
}

static int run1(struct pgs *q, enum sid id, const char *text, const char *what, int *changes)
{
	struct pp p = {0};

	p_text(&p, text);
	return run(q, id, &p, what, changes);
}

static int run_i64(struct pgs *q, enum sid id, int64_t v, const char *what, int *changes)
{
	struct pp p = {0};

	p_i64(&p, v);
	return run(q, id, &p, what, changes);
}

/* Run a batched DELETE (STORE_PRUNE_BATCH rows, $1 = time) until a batch falls short,
 * each batch its own statement, so that other writers get the store between batches;
 * max > 0: no new batch once max rows went. *removed: the rows of every batch. */
static int prune_batches(struct pgs *q, enum sid id, int64_t before, int max, const char *what,
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

/* Transaction control by plain text; quiet: no error message kept. */
static int tx_cmd(struct pgs *q, const char *sql, const char *what)
{
	PGresult *res = store_pg_exec(q->c, &q->wait, sql);
	int ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
				 PQresultStatus(res) == PGRES_TUPLES_OK);

	if (!ok && what != NULL)
		dberr(q, res, what);
	PQclear(res);
	return ok ? STORE_OK : STORE_ERR;
}

/* ---- reading columns (binary; a damaged row is an error, never a crash) ---- */

static int col_i64(struct pgs *q, const PGresult *res, int row, int col, int64_t *out,
		   const char *what)
{
	uint64_t v;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return damaged(q, what);
	memcpy(&v, PQgetvalue(res, row, col), 8);
	*out = (int64_t)be64toh(v);
	return STORE_OK;
}

static int col_int(struct pgs *q, const PGresult *res, int row, int col, int *out, const char *what)
{
	int64_t v = 0;

	if (col_i64(q, res, row, col, &v, what) != STORE_OK)
		return STORE_ERR;
	if (v < INT_MIN || v > INT_MAX)
		return damaged(q, what);
	*out = (int)v;
	return STORE_OK;
}

static int clamp_int(int64_t v)
{
	return v > INT_MAX ? INT_MAX : v < 0 ? 0 : (int)v;
}

static int col_blob(struct pgs *q, const PGresult *res, int row, int col, unsigned char *out,
		    size_t max, size_t *len, const char *what)
{
	int n = PQgetlength(res, row, col);

	if (PQgetisnull(res, row, col) || n <= 0 || (size_t)n > max)
		return damaged(q, what);
	memcpy(out, PQgetvalue(res, row, col), (size_t)n);
	*len = (size_t)n;
	return STORE_OK;
}

static int col_hash(struct pgs *q, const PGresult *res, int row, int col,
		    unsigned char out[STORE_HASH_LEN], const char *what)
{
	size_t n = 0;

	if (col_blob(q, res, row, col, out, STORE_HASH_LEN, &n, what) != STORE_OK)
		return STORE_ERR;
	return n == STORE_HASH_LEN ? STORE_OK : damaged(q, what);
}

/* Text that must fit: too long is damage. */
static int col_text(struct pgs *q, const PGresult *res, int row, int col, char *out, size_t size,
		    const char *what)
{
	const char *p = PQgetvalue(res, row, col);
	int n = PQgetlength(res, row, col);

	if (PQgetisnull(res, row, col) || n < 0 || (size_t)n >= size ||
	    memchr(p, '\0', (size_t)n) != NULL)
		return damaged(q, what);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return STORE_OK;
}

/* Text for display (audit): NULL reads as "", too long is cut. */
static void col_text_cut(const PGresult *res, int row, int col, char *out, size_t size)
{
	const char *p = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
	size_t n = strnlen(p, size - 1);

	if ((size_t)PQgetlength(res, row, col) < n)
		n = (size_t)PQgetlength(res, row, col);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The one-row result of `id`: STORE_OK with *res, STORE_NOTFOUND, or STORE_ERR. */
static int row1(struct pgs *q, enum sid id, const struct pp *p, const char *what, PGresult **out)
{
	PGresult *res = ex(q, id, p, what, NULL);

	*out = NULL;
	if (res == NULL)
		return STORE_ERR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STORE_NOTFOUND;
	}
	*out = res;
	return STORE_OK;
}

static int count_query(struct pgs *q, enum sid id, const struct pp *p, int *out, const char *what)
{
	PGresult *res = NULL;
	int64_t v = 0;
	int r = row1(q, id, p, what, &res);

	if (r == STORE_NOTFOUND)
		r = damaged(q, what);
	if (r == STORE_OK && col_i64(q, res, 0, 0, &v, what) == STORE_OK)
		*out = clamp_int(v);
	else
		r = STORE_ERR;
	PQclear(res);
	return r;
}

/* ---- transactions ---- */

/* A function's own atomic unit: a transaction, or a savepoint inside store_begin. */
static int op_begin(struct pgs *q, const char *what)
{
	if (q->base.in_tx && PQtransactionStatus(q->c) == PQTRANS_INERROR)
		return store_set_err(&q->base,
				     "%s: the transaction was aborted by an earlier "
				     "error; nothing was written (roll back)",
				     what);
	return tx_cmd(q, q->base.in_tx ? "SAVEPOINT store_op" : "BEGIN", what);
}

static void op_undo(struct pgs *q)
{
	if (PQtransactionStatus(q->c) == PQTRANS_IDLE)
		return;
	if (q->base.in_tx) {
		tx_cmd(q, "ROLLBACK TO store_op", NULL);
		tx_cmd(q, "RELEASE store_op", NULL);
	} else {
		tx_cmd(q, "ROLLBACK", NULL);
	}
}

/* Finish the unit: keep it unless r is STORE_ERR. Returns r, or STORE_ERR. */
static int op_end(struct pgs *q, int r, const char *what)
{
	if (r != STORE_ERR) {
		if (tx_cmd(q, q->base.in_tx ? "RELEASE store_op" : "COMMIT", what) == STORE_OK &&
		    (q->base.in_tx || PQtransactionStatus(q->c) == PQTRANS_IDLE))
			return r;
		r = STORE_ERR;
	}
	op_undo(q);
	return r;
}

static int pg_begin(struct store *s)
{
	struct pgs *q = PG(s);

	if (tx_cmd(q, "BEGIN", "store_begin") != STORE_OK)
		return STORE_ERR;
	if (tx_cmd(q, "SELECT pg_advisory_xact_lock(" PG_TX_LOCK ")", "store_begin") != STORE_OK) {
		tx_cmd(q, "ROLLBACK", NULL);
		return STORE_ERR;
	}
	return STORE_OK;
}

/* One snapshot for the whole transaction, taken at its first statement. No advisory lock:
 * it reads only, so it needs no turn among the writers, and it holds none of them up. */
static int pg_begin_snapshot(struct store *s)
{
	return tx_cmd(PG(s), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		      "store_begin_snapshot");
}

static int pg_commit(struct store *s)
{
	struct pgs *q = PG(s);
	PGresult *res;
	int ok;

	if (PQtransactionStatus(q->c) == PQTRANS_INERROR) {
		tx_cmd(q, "ROLLBACK", NULL);
		return store_set_err(s, "store_commit: the transaction was aborted by an earlier "
					"error; nothing was written");
	}
	res = store_pg_exec(q->c, &q->wait, "COMMIT");
	/* A COMMIT of an aborted transaction answers ROLLBACK: that is not a commit. */
	ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK &&
	     strcmp(PQcmdStatus(res), "COMMIT") == 0;
	if (!ok)
		dberr(q, res, "store_commit");
	PQclear(res);
	if (!ok && PQtransactionStatus(q->c) != PQTRANS_IDLE)
		tx_cmd(q, "ROLLBACK", NULL);
	return ok ? STORE_OK : STORE_ERR;
}

static void pg_rollback(struct store *s)
{
	struct pgs *q = PG(s);

	if (PQtransactionStatus(q->c) != PQTRANS_IDLE)
		tx_cmd(q, "ROLLBACK", NULL);
}

static int run_user_dev(struct pgs *q, enum sid id, const char *user, const char *name,
			const char *what, int *changes)
{
	struct pp p = {0};

	p_text(&p, user);
	p_text(&p, name);
	return run(q, id, &p, what, changes);
}

/* ---- TOTP enrolment ---- */

static int read_totp(struct pgs *q, enum sid id, const char *user, struct store_totp *out,
		     const char *what)
{
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	r = row1(q, id, &p, what, &res);
	if (r == STORE_OK &&
	    (col_blob(q, res, 0, 0, out->sealed, sizeof(out->sealed), &out->sealed_len, what) !=
		     STORE_OK ||
	     col_int(q, res, 0, 1, &out->algorithm, what) != STORE_OK ||
	     col_int(q, res, 0, 2, &out->digits, what) != STORE_OK ||
	     col_int(q, res, 0, 3, &out->period, what) != STORE_OK ||
	     col_i64(q, res, 0, 4, &out->created, what) != STORE_OK ||
	     col_text(q, res, 0, 5, out->device, sizeof(out->device), what) != STORE_OK))
		r = STORE_ERR;
	PQclear(res);
	return r;
}

static int write_totp(struct pgs *q, enum sid id, const char *user, const struct store_totp *t,
		      const char *what)
{
	struct pp p = {0};

	p_text(&p, user);
	p_bytes(&p, t->sealed, t->sealed_len);
	p_i64(&p, t->algorithm);
	p_i64(&p, t->digits);
	p_i64(&p, t->period);
	p_i64(&p, t->created);
	if (id == S_TOTP_PUT)
		p_text(&p, t->device);
	return run(q, id, &p, what, NULL);
}

static int pg_totp_get(struct store *s, const char *user, struct store_totp *out)
{
	return read_totp(PG(s), S_TOTP_GET, user, out, "totp_get");
}

static int pg_totp_put(struct store *s, const char *user, const struct store_totp *t)
{
	struct pgs *q = PG(s);
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
	if (r == STORE_OK) /* a new secret starts with a clean login state */
		r = run1(q, S_STATE_NEW, user, "totp_put", NULL);
	if (r == STORE_OK) /* and with no string of the old secret accepted again */
		r = run1(q, S_REUSE_DEL, user, "totp_put", NULL);
	return op_end(q, r, "totp_put");
}

static int pg_totp_delete(struct store *s, const char *user)
{
	/* The replay rows before the login state: a login's order (S_LOGIN_TRY), so a login at
	 * the same moment is waited for instead of deadlocking with this. */
	static const enum sid also[] = {S_DEVSTEP_DEL, S_PEND_DEL, S_BACKUP_DEL, S_STATE_DEL,
					S_REUSE_DEL};
	struct pgs *q = PG(s);
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

static int pg_pending_put(struct store *s, const char *user, const struct store_totp *t)
{
	return write_totp(PG(s), S_PEND_PUT, user, t, "pending_put");
}

static int pg_pending_get(struct store *s, const char *user, struct store_totp *out)
{
	return read_totp(PG(s), S_PEND_GET, user, out, "pending_get");
}

static int pg_pending_delete(struct store *s, const char *user)
{
	int n = 0, r = run1(PG(s), S_PEND_DEL, user, "pending_delete", &n);

	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int pg_totp_list(struct store *s, int (*cb)(void *ctx, const char *user, int64_t created),
			void *ctx)
{
	struct pgs *q = PG(s);
	PGresult *res = ex(q, S_TOTP_LIST, NULL, "totp_list", NULL);
	char user[STORE_USER_MAX + 1];
	int64_t created = 0;
	int r = STORE_OK;

	if (res == NULL)
		return STORE_ERR;
	for (int i = 0; i < PQntuples(res); i++) {
		if (col_text(q, res, i, 0, user, sizeof(user), "totp_list") != STORE_OK ||
		    col_i64(q, res, i, 1, &created, "totp_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, user, created) != 0)
			break;
	}
	PQclear(res);
	return r;
}

/* ---- devices ---- */

static int pg_device_list(struct store *s, const char *user,
			  int (*cb)(void *ctx, const struct store_device *d), void *ctx)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	struct store_device d;
	PGresult *res;
	int r = STORE_OK;

	p_text(&p, user);
	res = ex(q, S_DEV_LIST, &p, "device_list", NULL);
	if (res == NULL)
		return STORE_ERR;
	for (int i = 0; i < PQntuples(res); i++) {
		memset(&d, 0, sizeof(d));
		if (col_blob(q, res, i, 0, d.t.sealed, sizeof(d.t.sealed), &d.t.sealed_len,
			     "device_list") != STORE_OK ||
		    col_int(q, res, i, 1, &d.t.algorithm, "device_list") != STORE_OK ||
		    col_int(q, res, i, 2, &d.t.digits, "device_list") != STORE_OK ||
		    col_int(q, res, i, 3, &d.t.period, "device_list") != STORE_OK ||
		    col_i64(q, res, i, 4, &d.t.created, "device_list") != STORE_OK ||
		    col_text(q, res, i, 5, d.t.device, sizeof(d.t.device), "device_list") !=
			    STORE_OK ||
		    col_i64(q, res, i, 6, &d.last_step, "device_list") != STORE_OK ||
		    col_i64(q, res, i, 7, &d.last_used, "device_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, &d) != 0)
			break;
	}
	PQclear(res);
	rc_wipe(&d, sizeof(d));
	return r;
}

static int pg_device_add(struct store *s, const char *user, const struct store_totp *t, int replace)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r = op_begin(q, "device_add"), n = 0, exists = 0;

	if (r != STORE_OK)
		return r;
	p_text(&p, user);
	r = count_query(q, S_DEV_COUNT, &p, &n, "device_add");
	if (r == STORE_OK) {
		p_text(&p, t->device);
		r = row1(q, S_DEV_EXISTS, &p, "device_add", &res);
		PQclear(res);
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

static int pg_device_delete(struct store *s, const char *user, const char *name, int *left)
{
	static const enum sid off[] = {S_PEND_DEL, S_BACKUP_DEL, S_STATE_DEL, S_DEVSTEP_DEL};
	struct pgs *q = PG(s);
	struct pp p = {0};
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
	if (r == STORE_OK) {
		p_text(&p, user);
		r = count_query(q, S_DEV_COUNT, &p, left, "device_delete");
	}
	for (size_t i = 0; r == STORE_OK && *left == 0 && i < sizeof(off) / sizeof(off[0]); i++)
		r = run1(q, off[i], user, "device_delete", NULL);
	return op_end(q, r, "device_delete");
}

static int pg_device_step_cas(struct store *s, const char *user, const char *name, int64_t step,
			      int64_t now)
{
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, user);
	p_text(&p, name);
	p_i64(&p, step);
	p_i64(&p, now);
	r = count_query(PG(s), S_DEV_CAS, &p, &n, "device_step_cas");
	if (r == STORE_OK && n != 1)
		r = STORE_CONFLICT; /* this device's step or a later one was already used */
	return r;
}

/* ---- login state ---- */

static int pg_state_get(struct store *s, const char *user, struct store_login_state *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t f = 0;
	int r;

	p_text(&p, user);
	r = row1(q, S_STATE_GET, &p, "state_get", &res);
	if (r == STORE_OK) {
		if (col_i64(q, res, 0, 0, &out->last_step, "state_get") != STORE_OK ||
		    col_i64(q, res, 0, 1, &f, "state_get") != STORE_OK ||
		    col_i64(q, res, 0, 2, &out->locked_until, "state_get") != STORE_OK)
			r = STORE_ERR;
		out->failures = clamp_int(f);
	} else if (r == STORE_NOTFOUND) {
		r = STORE_OK; /* no row reads as {-1, 0, 0} (set by store.c) */
	}
	PQclear(res);
	return r;
}

static int pg_step_cas(struct store *s, const char *user, int64_t step)
{
	struct pp p = {0};
	int r, n = 0;

	p_i64(&p, step);
	p_text(&p, user);
	r = run(PG(s), S_STATE_CAS, &p, "step_cas", &n);
	if (r == STORE_OK && n != 1)
		r = STORE_CONFLICT; /* this step or a later one was already used */
	return r;
}

static int pg_fail(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
		   int *failures_out, int *locked_out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t f = 0;
	int r;

	p_text(&p, user);
	p_i64(&p, now);
	p_i64(&p, deny);
	p_i64(&p, unlock_time);
	r = row1(q, S_STATE_FAIL, &p, "fail", &res);
	if (r == STORE_NOTFOUND)
		r = damaged(q, "fail");
	if (r == STORE_OK && col_i64(q, res, 0, 0, &f, "fail") != STORE_OK)
		r = STORE_ERR;
	PQclear(res);
	if (r == STORE_OK) {
		*failures_out = clamp_int(f);
		*locked_out = deny > 0 && *failures_out >= deny;
	}
	return r;
}

static int pg_login_read(struct store *s, const char *user,
			 int (*cb)(void *ctx, const struct store_device *d), void *ctx,
			 struct store_login_state *ls)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	struct store_device d;
	PGresult *res;
	int64_t f = 0, missing = 0, clean = 0;
	int r = STORE_OK, n;

	q->read_clean = 0;
	p_text(&p, user);
	res = ex(q, S_LOGIN_READ, &p, "login_read", NULL);
	if (res == NULL)
		return STORE_ERR;
	n = PQntuples(res);
	memset(&d, 0, sizeof(d));
	for (int i = 0; i < n; i++) {
		memset(&d, 0, sizeof(d));
		if (col_blob(q, res, i, 0, d.t.sealed, sizeof(d.t.sealed), &d.t.sealed_len,
			     "login_read") != STORE_OK ||
		    col_int(q, res, i, 1, &d.t.algorithm, "login_read") != STORE_OK ||
		    col_int(q, res, i, 2, &d.t.digits, "login_read") != STORE_OK ||
		    col_int(q, res, i, 3, &d.t.period, "login_read") != STORE_OK ||
		    col_i64(q, res, i, 4, &d.t.created, "login_read") != STORE_OK ||
		    col_text(q, res, i, 5, d.t.device, sizeof(d.t.device), "login_read") !=
			    STORE_OK ||
		    col_i64(q, res, i, 6, &d.last_step, "login_read") != STORE_OK ||
		    col_i64(q, res, i, 7, &d.last_used, "login_read") != STORE_OK ||
		    col_i64(q, res, i, 8, &ls->last_step, "login_read") != STORE_OK ||
		    col_i64(q, res, i, 9, &f, "login_read") != STORE_OK ||
		    col_i64(q, res, i, 10, &ls->locked_until, "login_read") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		ls->failures = clamp_int(f);
		if (cb(ctx, &d) != 0)
			break;
	}
	/* A device without its replay row would be refused by the write (S_LOGIN_TRY): the
	 * rows of such devices are made here, in a statement of their own that holds no lock
	 * past it, so that parallel attempts on the device meet on its row. */
	for (int i = 0; r == STORE_OK && i < n && !missing; i++)
		if (col_i64(q, res, i, 11, &missing, "login_read") != STORE_OK)
			r = STORE_ERR;
	if (r == STORE_OK && n > 0 && col_i64(q, res, 0, 12, &clean, "login_read") != STORE_OK)
		r = STORE_ERR;
	PQclear(res);
	q->read_clean = r == STORE_OK && clean == 1 && !missing;
	rc_wipe(&d, sizeof(d));
	if (r == STORE_OK && missing)
		r = run1(q, S_DEVSTEP_FILL, user, "login_read", NULL);
	if (r == STORE_OK && n == 0)
		r = STORE_NOTFOUND;
	return r;
}

/* S_LOGIN_FAST: 1 when it took the step, 0 when S_LOGIN_TRY must decide, -1 on error. */
static int login_fast(struct pgs *q, const char *user, const char *device, int64_t step,
		      int64_t now)
{
	struct pp p = {0};
	PGresult *res;
	int n;

	p_text(&p, user);
	p_text(&p, device);
	p_i64(&p, step);
	p_i64(&p, now);
	res = ex(q, S_LOGIN_FAST, &p, "login_try", NULL);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n == 1 ? 1 : 0;
}

static int pg_login_try(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
			const char *device, int64_t step, struct store_login_try *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t taken = 0, f = 0, until = 0;
	int r, clean = q->read_clean;

	q->read_clean = 0;
	if (clean && step >= 0 && device != NULL) {
		r = login_fast(q, user, device, step, now);
		if (r < 0)
			return STORE_ERR;
		if (r == 1) {
			out->accepted = 1;
			out->failures = 0;
			out->locked = 0;
			out->locked_until = 0;
			return STORE_OK;
		}
	}
	p_text(&p, user);
	p_i64(&p, now);
	p_i64(&p, deny);
	p_i64(&p, unlock_time);
	p_i64(&p, step);
	p_text(&p, device);
	r = row1(q, S_LOGIN_TRY, &p, "login_try", &res);
	if (r == STORE_NOTFOUND)
		r = damaged(q, "login_try");
	if (r == STORE_OK && (col_i64(q, res, 0, 0, &taken, "login_try") != STORE_OK ||
			      col_i64(q, res, 0, 1, &f, "login_try") != STORE_OK ||
			      col_i64(q, res, 0, 2, &until, "login_try") != STORE_OK))
		r = STORE_ERR;
	PQclear(res);
	if (r == STORE_OK) {
		out->accepted = step >= 0 && taken == 1;
		out->failures = out->accepted ? 0 : clamp_int(f);
		out->locked = !out->accepted && deny > 0 && out->failures >= deny;
		out->locked_until = out->accepted ? 0 : until;
	}
	return r;
}

static int pg_reset_failures(struct store *s, const char *user)
{
	return run1(PG(s), S_STATE_CLEAR, user, "reset_failures", NULL);
}

static int pg_unlock(struct store *s, const char *user)
{
	struct pgs *q = PG(s);
	int r = op_begin(q, "unlock");

	if (r != STORE_OK)
		return r;
	r = run1(q, S_STATE_CLEAR, user, "unlock", NULL);
	if (r == STORE_OK)
		r = run1(q, S_REUSE_DEL, user, "unlock", NULL);
	return op_end(q, r, "unlock");
}

/* ---- backup codes ---- */

static int pg_backup_replace(struct store *s, const char *user,
			     const unsigned char (*hashes)[STORE_HASH_LEN], size_t n)
{
	struct pgs *q = PG(s);
	int r = op_begin(q, "backup_replace");

	if (r != STORE_OK)
		return r;
	r = run1(q, S_BACKUP_DEL, user, "backup_replace", NULL);
	for (size_t i = 0; r == STORE_OK && i < n; i++) {
		struct pp p = {0};

		p_text(&p, user);
		p_bytes(&p, hashes[i], STORE_HASH_LEN);
		r = run(q, S_BACKUP_INS, &p, "backup_replace", NULL);
	}
	return op_end(q, r, "backup_replace");
}

static int pg_backup_use(struct store *s, const char *user,
			 const unsigned char hash[STORE_HASH_LEN], int64_t now)
{
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, user);
	p_bytes(&p, hash, STORE_HASH_LEN);
	p_i64(&p, now);
	r = run(PG(s), S_BACKUP_USE, &p, "backup_use", &n);
	return r == STORE_OK && n != 1 ? STORE_NOTFOUND : r;
}

static int pg_backup_count(struct store *s, const char *user, int *left)
{
	struct pp p = {0};

	p_text(&p, user);
	return count_query(PG(s), S_BACKUP_COUNT, &p, left, "backup_count");
}

/* ---- app passwords ---- */

static int read_app(struct pgs *q, const PGresult *res, int row, struct store_app_password *a,
		    const char *what)
{
	if (col_text(q, res, row, 0, a->name, sizeof(a->name), what) != STORE_OK ||
	    col_text(q, res, row, 1, a->services, sizeof(a->services), what) != STORE_OK ||
	    col_hash(q, res, row, 2, a->hash, what) != STORE_OK ||
	    col_i64(q, res, row, 3, &a->created, what) != STORE_OK ||
	    col_i64(q, res, row, 4, &a->last_used, what) != STORE_OK)
		return STORE_ERR;
	return STORE_OK;
}

static int pg_app_add(struct store *s, const char *user, const struct store_app_password *a)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res;
	int r = op_begin(q, "app_add"), unique = 0;

	if (r != STORE_OK)
		return r;
	p_text(&p, user);
	p_text(&p, a->name);
	p_text(&p, a->services);
	p_bytes(&p, a->hash, STORE_HASH_LEN);
	p_i64(&p, a->created);
	p_i64(&p, a->last_used);
	res = ex(q, S_APP_ADD, &p, "app_add", &unique);
	PQclear(res);
	if (res != NULL)
		return op_end(q, STORE_OK, "app_add");
	op_undo(q); /* a conflict must not leave store_begin's transaction aborted */
	if (!unique)
		return STORE_ERR;
	store_set_err(s, "app_add: the user already has an app password with that name "
			 "(or that value)");
	return STORE_CONFLICT;
}

static int pg_app_revoke(struct store *s, const char *user, const char *name)
{
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, user);
	p_text(&p, name);
	r = run(PG(s), S_APP_DEL, &p, "app_revoke", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int pg_app_revoke_all(struct store *s, const char *user)
{
	return run1(PG(s), S_APP_DEL_ALL, user, "app_revoke_all", NULL);
}

static int pg_app_list(struct store *s, const char *user,
		       int (*cb)(void *ctx, const struct store_app_password *a), void *ctx)
{
	struct pgs *q = PG(s);
	struct store_app_password a;
	struct pp p = {0};
	PGresult *res;
	int r = STORE_OK;

	p_text(&p, user);
	res = ex(q, S_APP_LIST, &p, "app_list", NULL);
	if (res == NULL)
		return STORE_ERR;
	for (int i = 0; i < PQntuples(res); i++) {
		memset(&a, 0, sizeof(a));
		if (read_app(q, res, i, &a, "app_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, &a) != 0)
			break;
	}
	PQclear(res);
	return r;
}

static int pg_app_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
			int64_t now, struct store_app_password *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	p_bytes(&p, hash, STORE_HASH_LEN);
	if (now > 0)
		p_i64(&p, now);
	/* now == 0 only looks: the caller stamps once the password is accepted */
	r = row1(q, now > 0 ? S_APP_MATCH : S_APP_GET, &p, "app_match", &res);
	if (r == STORE_OK)
		r = read_app(q, res, 0, out, "app_match");
	PQclear(res);
	return r;
}

/* ---- contacts ---- */

static int pg_contact_put(struct store *s, const char *user, const struct store_contact *c)
{
	struct pp p = {0};

	p_text(&p, user);
	p_i64(&p, c->kind);
	p_bytes(&p, c->sealed, c->sealed_len);
	p_i64(&p, c->verified ? 1 : 0);
	p_i64(&p, c->updated);
	return run(PG(s), S_CONTACT_PUT, &p, "contact_put", NULL);
}

static int pg_contact_get(struct store *s, const char *user, int kind, struct store_contact *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t v = 0;
	int r;

	p_text(&p, user);
	p_i64(&p, kind);
	r = row1(q, S_CONTACT_GET, &p, "contact_get", &res);
	if (r == STORE_OK && (col_blob(q, res, 0, 0, out->sealed, sizeof(out->sealed),
				       &out->sealed_len, "contact_get") != STORE_OK ||
			      col_i64(q, res, 0, 1, &v, "contact_get") != STORE_OK ||
			      col_i64(q, res, 0, 2, &out->updated, "contact_get") != STORE_OK))
		r = STORE_ERR;
	if (r == STORE_OK) {
		out->kind = kind;
		out->verified = v != 0;
	}
	PQclear(res);
	return r;
}

static int pg_contact_set_verified(struct store *s, const char *user, int kind, int64_t now)
{
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, user);
	p_i64(&p, kind);
	p_i64(&p, now);
	r = run(PG(s), S_CONTACT_VERIFY, &p, "contact_set_verified", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int pg_contact_delete(struct store *s, const char *user, int kind)
{
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, user);
	p_i64(&p, kind);
	r = run(PG(s), S_CONTACT_DEL, &p, "contact_delete", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

/* ---- security question ---- */

static int pg_question_put(struct store *s, const char *user, const struct store_question *qq)
{
	struct pp p = {0};

	p_text(&p, user);
	p_text(&p, qq->question);
	p_text(&p, qq->answer_hash);
	p_i64(&p, qq->updated);
	return run(PG(s), S_Q_PUT, &p, "question_put", NULL);
}

static int pg_question_get(struct store *s, const char *user, struct store_question *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	r = row1(q, S_Q_GET, &p, "question_get", &res);
	if (r == STORE_OK && (col_text(q, res, 0, 0, out->question, sizeof(out->question),
				       "question_get") != STORE_OK ||
			      col_text(q, res, 0, 1, out->answer_hash, sizeof(out->answer_hash),
				       "question_get") != STORE_OK ||
			      col_i64(q, res, 0, 2, &out->updated, "question_get") != STORE_OK))
		r = STORE_ERR;
	PQclear(res);
	return r;
}

static int pg_question_delete(struct store *s, const char *user)
{
	int n = 0, r = run1(PG(s), S_Q_DEL, user, "question_delete", &n);

	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

/* ---- one-time codes ---- */

static void p_token(struct pp *p, const char *user, const char *channel, const char *purpose)
{
	p_text(p, user);
	p_text(p, channel);
	p_text(p, purpose);
}

static int pg_token_put(struct store *s, const char *user, const char *channel, const char *purpose,
			const struct store_token *t)
{
	struct pp p = {0};

	p_token(&p, user, channel, purpose);
	p_bytes(&p, t->hash, STORE_HASH_LEN);
	p_i64(&p, t->expires);
	return run(PG(s), S_TOKEN_PUT, &p, "token_put", NULL);
}

static int pg_token_get(struct store *s, const char *user, const char *channel, const char *purpose,
			struct store_token *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t a = 0, u = 0;
	int r;

	p_token(&p, user, channel, purpose);
	r = row1(q, S_TOKEN_GET, &p, "token_get", &res);
	if (r == STORE_OK && (col_hash(q, res, 0, 0, out->hash, "token_get") != STORE_OK ||
			      col_i64(q, res, 0, 1, &out->expires, "token_get") != STORE_OK ||
			      col_i64(q, res, 0, 2, &a, "token_get") != STORE_OK ||
			      col_i64(q, res, 0, 3, &u, "token_get") != STORE_OK))
		r = STORE_ERR;
	if (r == STORE_OK) {
		out->attempts = clamp_int(a);
		out->used = u != 0;
	}
	PQclear(res);
	return r;
}

static int pg_token_attempt(struct store *s, const char *user, const char *channel,
			    const char *purpose, int *attempts_out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int64_t a = 0;
	int r;

	p_token(&p, user, channel, purpose);
	r = row1(q, S_TOKEN_ATTEMPT, &p, "token_attempt", &res);
	if (r == STORE_OK && col_i64(q, res, 0, 0, &a, "token_attempt") != STORE_OK)
		r = STORE_ERR;
	PQclear(res);
	if (r == STORE_OK)
		*attempts_out = clamp_int(a);
	return r;
}

static int pg_token_consume(struct store *s, const char *user, const char *channel,
			    const char *purpose)
{
	struct store_token t;
	struct pp p = {0};
	int r, n = 0;

	p_token(&p, user, channel, purpose);
	r = run(PG(s), S_TOKEN_CONSUME, &p, "token_consume", &n);
	if (r != STORE_OK || n == 1)
		return r;
	/* Not consumed now: tell "already used" from "no such code". */
	r = pg_token_get(s, user, channel, purpose, &t);
	return r == STORE_OK ? STORE_CONFLICT : r;
}

static int pg_token_revoke_all(struct store *s, const char *user)
{
	return run1(PG(s), S_TOKEN_DEL_ALL, user, "token_revoke_all", NULL);
}

static int pg_token_prune(struct store *s, int64_t now, int *removed)
{
	return run_i64(PG(s), S_TOKEN_PRUNE, now, "token_prune", removed);
}

/* ---- counters ---- */

static int ctr_run(struct pgs *q, enum sid id, const char *key, int64_t t, const char *what,
		   int *count)
{
	struct pp p = {0};

	p_text(&p, key);
	p_i64(&p, t);
	return count ? count_query(q, id, &p, count, what) : run(q, id, &p, what, NULL);
}

static int pg_counter_hit(struct store *s, const char *key, int64_t now, int window_s,
			  int *count_out)
{
	struct pgs *q = PG(s);
	int64_t since = now - window_s;
	int r = op_begin(q, "counter_hit"), n = 0;

	if (r != STORE_OK)
		return r;
	r = run1(q, S_CTR_LOCK, key, "counter_hit", NULL);
	if (r == STORE_OK)
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

static int pg_counter_get(struct store *s, const char *key, int64_t now, int window_s,
			  int *count_out)
{
	int n = 0, r = ctr_run(PG(s), S_CTR_COUNT, key, now - window_s, "counter_get", &n);

	if (r == STORE_OK)
		*count_out = n <= STORE_COUNTER_CAP ? n : STORE_COUNTER_CAP + 1;
	return r;
}

static int pg_counter_clear(struct store *s, const char *key)
{
	return run1(PG(s), S_CTR_CLEAR, key, "counter_clear", NULL);
}

static int pg_counter_release(struct store *s, const char *key, int64_t when)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	int r, n = 0;

	p_text(&p, key);
	p_i64(&p, when);
	r = run(q, S_CTR_RELEASE, &p, "counter_release", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int pg_counter_prune(struct store *s, int64_t before, int max, int *removed)
{
	return prune_batches(PG(s), S_CTR_PRUNE, before, max, "counter_prune", removed);
}

/* ---- audit ---- */

static int pg_audit_add(struct store *s, int64_t now, const char *user, long ruid,
			const char *event, const char *method, const char *detail)
{
	struct pp p = {0};

	p_i64(&p, now);
	p_text(&p, user); /* NULL binds SQL NULL */
	p_i64(&p, ruid);
	p_text(&p, event);
	p_text(&p, method);
	p_text(&p, detail);
	return run(PG(s), S_AUDIT_ADD, &p, "audit_add", NULL);
}

static int pg_audit_list(struct store *s, const char *user, int limit,
			 int (*cb)(void *ctx, const struct store_audit *a), void *ctx)
{
	struct pgs *q = PG(s);
	struct store_audit a;
	struct pp p = {0};
	PGresult *res;
	int64_t v = 0;
	int r = STORE_OK;

	if (user != NULL)
		p_text(&p, user);
	p_i64(&p, limit > 0 ? limit : INT64_MAX);
	res = ex(q, user != NULL ? S_AUDIT_USER : S_AUDIT_ALL, &p, "audit_list", NULL);
	if (res == NULL)
		return STORE_ERR;
	for (int i = 0; i < PQntuples(res); i++) {
		memset(&a, 0, sizeof(a));
		if (col_i64(q, res, i, 0, &a.time, "audit_list") != STORE_OK ||
		    col_i64(q, res, i, 2, &v, "audit_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		a.ruid = (long)v;
		col_text_cut(res, i, 1, a.user, sizeof(a.user));
		col_text_cut(res, i, 3, a.event, sizeof(a.event));
		col_text_cut(res, i, 4, a.method, sizeof(a.method));
		col_text_cut(res, i, 5, a.detail, sizeof(a.detail));
		if (cb(ctx, &a) != 0)
			break;
	}
	PQclear(res);
	return r;
}

static int pg_audit_prune(struct store *s, int64_t before, int max, int *removed)
{
	return prune_batches(PG(s), S_AUDIT_PRUNE, before, max, "audit_prune", removed);
}

static int pg_user_purge(struct store *s, const char *user)
{
	static const enum sid dels[] = {
		S_TOTP_DEL,        S_PEND_DEL, S_STATE_DEL,     S_BACKUP_DEL, S_APP_DEL_ALL,
		S_CONTACT_DEL_ALL, S_Q_DEL,    S_TOKEN_DEL_ALL, S_REUSE_DEL,  S_DEVSTEP_DEL};
	struct pgs *q = PG(s);
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

static int pg_user_spelling(struct store *s, const char *user, char *out, size_t n)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	r = row1(q, S_USER_SPELLING, &p, "user_spelling", &res);
	if (r == STORE_OK)
		r = col_text(q, res, 0, 0, out, n, "user_spelling");
	PQclear(res);
	return r;
}

static int pg_user_names(struct store *s, int (*cb)(void *ctx, const char *user), void *ctx)
{
	struct pgs *q = PG(s);
	PGresult *res = ex(q, S_USER_NAMES, NULL, "user_names", NULL);
	char user[STORE_USER_MAX + 1];
	int r = STORE_OK;

	if (res == NULL)
		return STORE_ERR;
	for (int i = 0; i < PQntuples(res); i++) {
		if (col_text(q, res, i, 0, user, sizeof(user), "user_names") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, user) != 0)
			break;
	}
	PQclear(res);
	return r;
}

/* ---- the key-check record ---- */

static int pg_keycheck_get(struct store *s, unsigned char *sealed, size_t cap, size_t *len)
{
	struct pgs *q = PG(s);
	PGresult *res = NULL;
	int r = row1(q, S_KEYCHECK_GET, NULL, "keycheck_get", &res);

	if (r == STORE_OK && col_blob(q, res, 0, 0, sealed, cap, len, "keycheck_get") != STORE_OK)
		r = STORE_ERR;
	PQclear(res);
	return r;
}

static int pg_keycheck_put(struct store *s, const unsigned char *sealed, size_t len,
			   int64_t created)
{
	struct pp p = {0};
	int r, n = 0;

	p_bytes(&p, sealed, len);
	p_i64(&p, created);
	r = run(PG(s), S_KEYCHECK_PUT, &p, "keycheck_put", &n);
	return r == STORE_OK && n == 0 ? STORE_CONFLICT : r;
}

/* ---- outbox ---- */

static int outbox_row(struct pgs *q, const PGresult *res, int row, struct store_outbox *o,
		      const char *what)
{
	int64_t v = 0;

	memset(o, 0, sizeof(*o));
	if (col_i64(q, res, row, 0, &o->id, what) != STORE_OK ||
	    col_text(q, res, row, 1, o->user, sizeof(o->user), what) != STORE_OK ||
	    col_int(q, res, row, 2, &o->kind, what) != STORE_OK)
		return STORE_ERR;
	if (!PQgetisnull(res, row, 3) && col_blob(q, res, row, 3, o->sealed, sizeof(o->sealed),
						  &o->sealed_len, what) != STORE_OK)
		return STORE_ERR;
	if (col_i64(q, res, row, 4, &o->time, what) != STORE_OK)
		return STORE_ERR;
	col_text_cut(res, row, 5, o->proofs, sizeof(o->proofs));
	col_text_cut(res, row, 6, o->caller, sizeof(o->caller));
	if (col_int(q, res, row, 7, &o->flags, what) != STORE_OK ||
	    col_int(q, res, row, 8, &o->state, what) != STORE_OK)
		return STORE_ERR;
	col_text_cut(res, row, 9, o->owner, sizeof(o->owner));
	if (col_i64(q, res, row, 10, &v, what) != STORE_OK ||
	    col_i64(q, res, row, 11, &o->next_try, what) != STORE_OK)
		return STORE_ERR;
	o->attempts = clamp_int(v);
	col_text_cut(res, row, 12, o->last_error, sizeof(o->last_error));
	if (o->kind < 0 || o->kind >= STORE_OUTBOX_KINDS || o->state < STORE_OUTBOX_ARMED ||
	    o->state > STORE_OUTBOX_GAVE_UP)
		return damaged(q, what);
	return STORE_OK;
}

static int pg_outbox_add(struct store *s, const struct store_outbox *o)
{
	struct pp p = {0};

	p_text(&p, o->user);
	p_i64(&p, o->kind);
	if (o->sealed_len > 0) {
		p_bytes(&p, o->sealed, o->sealed_len);
	} else {
		p_text(&p, NULL); /* SQL NULL */
	}
	p_i64(&p, o->time);
	p_text(&p, o->proofs);
	p_text(&p, o->caller);
	p_i64(&p, o->flags);
	p_i64(&p, o->state);
	p_text(&p, o->owner);
	p_i64(&p, o->attempts);
	p_i64(&p, o->next_try);
	p_text(&p, o->last_error);
	return run(PG(s), S_OUTBOX_ADD, &p, "outbox_add", NULL);
}

static int pg_outbox_get(struct store *s, int64_t id, struct store_outbox *out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_i64(&p, id);
	r = row1(q, S_OUTBOX_GET, &p, "outbox_get", &res);
	if (r == STORE_OK)
		r = outbox_row(q, res, 0, out, "outbox_get");
	PQclear(res);
	return r;
}

static int pg_outbox_list(struct store *s, int state, int64_t due_by,
			  int (*cb)(void *ctx, const struct store_outbox *o), void *ctx)
{
	struct pgs *q = PG(s);
	struct store_outbox o;
	struct pp p = {0};
	PGresult *res;
	int r = STORE_OK;

	p_i64(&p, state);
	p_i64(&p, due_by);
	res = ex(q, S_OUTBOX_LIST, &p, "outbox_list", NULL);
	if (res == NULL)
		return STORE_ERR;
	memset(&o, 0, sizeof(o));
	for (int i = 0; i < PQntuples(res); i++) {
		if (outbox_row(q, res, i, &o, "outbox_list") != STORE_OK) {
			r = STORE_ERR;
			break;
		}
		if (cb(ctx, &o) != 0)
			break;
	}
	PQclear(res);
	rc_wipe(&o, sizeof(o));
	return r;
}

static int pg_outbox_release(struct store *s, const char *owner, int add_flags, int *changed)
{
	struct pp p = {0};

	p_text(&p, owner);
	p_i64(&p, add_flags);
	return run(PG(s), S_OUTBOX_RELEASE, &p, "outbox_release", changed);
}

static int pg_outbox_disarm(struct store *s, const char *owner)
{
	return run1(PG(s), S_OUTBOX_DISARM, owner, "outbox_disarm", NULL);
}

static int pg_outbox_update(struct store *s, int64_t id, int state, int attempts, int64_t next_try,
			    const char *last_error)
{
	struct pp p = {0};
	int r, n = 0;

	p_i64(&p, id);
	p_i64(&p, state);
	p_i64(&p, attempts);
	p_i64(&p, next_try);
	p_text(&p, last_error);
	r = run(PG(s), S_OUTBOX_UPDATE, &p, "outbox_update", &n);
	return r == STORE_OK && n == 0 ? STORE_NOTFOUND : r;
}

static int pg_outbox_claim(struct store *s, int64_t id, int attempts, int64_t seen_next_try,
			   int64_t until)
{
	struct pp p = {0};
	int r, n = 0;

	p_i64(&p, id);
	p_i64(&p, attempts);
	p_i64(&p, seen_next_try);
	p_i64(&p, until);
	r = run(PG(s), S_OUTBOX_CLAIM, &p, "outbox_claim", &n);
	return r == STORE_OK && n != 1 ? STORE_CONFLICT : r;
}

/* ---- backup code state, reuse windows ---- */

static int pg_backup_state(struct store *s, const char *user,
			   const unsigned char hash[STORE_HASH_LEN])
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	p_bytes(&p, hash, STORE_HASH_LEN);
	r = row1(q, S_BACKUP_STATE, &p, "backup_state", &res);
	if (r == STORE_OK && (PQgetlength(res, 0, 0) != 1 || PQgetisnull(res, 0, 0)))
		r = damaged(q, "backup_state");
	else if (r == STORE_OK && PQgetvalue(res, 0, 0)[0] != 0) /* binary bool */
		r = STORE_CONFLICT;
	PQclear(res);
	return r;
}

static int pg_reuse_put(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
			int64_t now, int64_t expires)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	int r = op_begin(q, "reuse_put");

	if (r != STORE_OK)
		return r;
	r = run_i64(q, S_REUSE_PRUNE, now, "reuse_put", NULL);
	if (r == STORE_OK) {
		p_text(&p, user);
		p_bytes(&p, hash, STORE_HASH_LEN);
		p_i64(&p, expires);
		r = run(q, S_REUSE_PUT, &p, "reuse_put", NULL);
	}
	return op_end(q, r, "reuse_put");
}

static int pg_reuse_match(struct store *s, const char *user,
			  const unsigned char hash[STORE_HASH_LEN], int64_t now,
			  int64_t *expires_out)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res = NULL;
	int r;

	p_text(&p, user);
	p_bytes(&p, hash, STORE_HASH_LEN);
	p_i64(&p, now);
	r = row1(q, S_REUSE_GET, &p, "reuse_match", &res);
	if (r == STORE_OK && col_i64(q, res, 0, 0, expires_out, "reuse_match") != STORE_OK)
		r = STORE_ERR;
	PQclear(res);
	return r;
}

static int pg_reuse_clear(struct store *s, const char *user)
{
	return run1(PG(s), S_REUSE_DEL, user, "reuse_clear", NULL);
}

/* ---- copying whole tables (admin copy-store) ---- */

static PGresult *ex_sql(struct pgs *q, const char *sql, const struct pp *p, const char *types,
			const char *what)
{
	Oid oids[PP_MAX];
	PGresult *res;
	ExecStatusType st;

	if (q->base.in_tx && PQtransactionStatus(q->c) == PQTRANS_INERROR) {
		store_set_err(&q->base,
			      "%s: the transaction was aborted by an earlier error; "
			      "nothing was written (roll back)",
			      what);
		return NULL;
	}
	for (int i = 0; p != NULL && i < p->n; i++)
		oids[i] = types[i] == 't' ? OID_TEXT : types[i] == 'b' ? OID_BYTEA : OID_INT8;
	res = PQexecParams(q->c, sql, p != NULL ? p->n : 0, p != NULL ? oids : NULL,
			   p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
			   p != NULL ? p->fmt : NULL, 1);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	dberr(q, res, what);
	PQclear(res);
	return NULL;
}

static int pg_table_rows(struct store *s, const struct store_table *t,
			 int (*cb)(void *ctx, const struct store_val *v), void *ctx)
{
	struct pgs *q = PG(s);
	struct store_val v[STORE_TABLE_COLS_MAX];
	PGresult *res;
	char sql[512];
	size_t n = strlen(t->types);
	int r = STORE_OK;

	if (n > STORE_TABLE_COLS_MAX || store_table_sql(t, STORE_SQL_SELECT, '$', sql, sizeof(sql)))
		return store_set_err(s, "table_rows: %s: bad table description", t->name);
	res = ex_sql(q, sql, NULL, NULL, "table_rows");
	if (res == NULL)
		return STORE_ERR;
	for (int row = 0; r == STORE_OK && row < PQntuples(res); row++) {
		memset(v, 0, sizeof(v));
		for (size_t i = 0; r == STORE_OK && i < n; i++) {
			v[i].null = PQgetisnull(res, row, (int)i);
			if (v[i].null)
				continue;
			if (t->types[i] == 'i') {
				r = col_i64(q, res, row, (int)i, &v[i].i, "table_rows");
			} else {
				v[i].p = PQgetvalue(res, row, (int)i);
				v[i].len = (size_t)PQgetlength(res, row, (int)i);
			}
		}
		if (r == STORE_OK && cb(ctx, v) != 0)
			break;
	}
	PQclear(res);
	return r;
}

static int pg_table_put(struct store *s, const struct store_table *t, const struct store_val *v)
{
	struct pgs *q = PG(s);
	struct pp p = {0};
	PGresult *res;
	char sql[512];
	size_t n = strlen(t->types);

	if (n > STORE_TABLE_COLS_MAX || n > PP_MAX ||
	    store_table_sql(t, STORE_SQL_INSERT, '$', sql, sizeof(sql)))
		return store_set_err(s, "table_put: %s: bad table description", t->name);
	for (size_t i = 0; i < n; i++) {
		if (v[i].null) {
			p.v[p.n] = NULL;
			p.len[p.n] = 0;
			p.fmt[p.n] = 1;
			p.n++;
		} else if (t->types[i] == 'i') {
			p_i64(&p, v[i].i);
		} else {
			p_bytes(&p, v[i].p, v[i].len);
		}
	}
	res = ex_sql(q, sql, &p, t->types, "table_put");
	PQclear(res);
	if (res != NULL && t->serial) { /* the next generated id comes after the copied ones */
		if (rc_snprintf(sql, sizeof(sql),
				"SELECT setval(pg_get_serial_sequence('%s', 'id'), "
				"(SELECT max(id) FROM %s))",
				t->name, t->name) < 0)
			return store_set_err(s, "table_put: %s: bad table description", t->name);
		res = ex_sql(q, sql, NULL, NULL, "table_put");
		PQclear(res);
	}
	return res != NULL ? STORE_OK : STORE_ERR;
}

static int pg_table_count(struct store *s, const struct store_table *t, long long *n)
{
	struct pgs *q = PG(s);
	PGresult *res;
	char sql[256];
	int64_t v = 0;
	int r;

	if (store_table_sql(t, STORE_SQL_COUNT, '$', sql, sizeof(sql)))
		return store_set_err(s, "table_count: %s: bad table description", t->name);
	res = ex_sql(q, sql, NULL, NULL, "table_count");
	if (res == NULL)
		return STORE_ERR;
	r = PQntuples(res) == 1 ? col_i64(q, res, 0, 0, &v, "table_count")
				: damaged(q, "table_count");
	PQclear(res);
	if (r == STORE_OK)
		*n = v;
	return r;
}

/* ---- open and close ---- */

/*
 * Before a kept connection serves another login: an idle session gets nothing from the
 * server unless it is being ended (a restart, an administrator, idle_session_timeout): then
 * the farewell or the end of the stream is waiting on the socket. A socket with anything to
 * read (one poll, no wait) is given up, so the next login reconnects instead of failing once
 * on a dead session. So is a connection whose server did not answer in time (wait.dead).
 */
static int pg_alive(struct store *s)
{
	struct pgs *q = PG(s);
	struct pollfd p;

	if (q->wait.dead || PQstatus(q->c) != CONNECTION_OK ||
	    PQtransactionStatus(q->c) != PQTRANS_IDLE)
		return 0;
	p.fd = PQsocket(q->c);
	p.events = POLLIN;
	p.revents = 0;
	return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

static void pg_close(struct store *s)
{
	struct pgs *q = PG(s);

	PQfinish(q->c);
	free(q);
}

static const struct store_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.begin_snapshot = pg_begin_snapshot,
	.totp_get = pg_totp_get,
	.totp_put = pg_totp_put,
	.totp_delete = pg_totp_delete,
	.pending_put = pg_pending_put,
	.pending_get = pg_pending_get,
	.pending_delete = pg_pending_delete,
	.totp_list = pg_totp_list,
	.device_list = pg_device_list,
	.device_add = pg_device_add,
	.device_delete = pg_device_delete,
	.device_step_cas = pg_device_step_cas,
	.state_get = pg_state_get,
	.step_cas = pg_step_cas,
	.fail = pg_fail,
	.reset_failures = pg_reset_failures,
	.login_read = pg_login_read,
	.login_try = pg_login_try,
	.unlock = pg_unlock,
	.backup_replace = pg_backup_replace,
	.backup_use = pg_backup_use,
	.backup_count = pg_backup_count,
	.app_add = pg_app_add,
	.app_revoke = pg_app_revoke,
	.app_revoke_all = pg_app_revoke_all,
	.app_list = pg_app_list,
	.app_match = pg_app_match,
	.contact_put = pg_contact_put,
	.contact_get = pg_contact_get,
	.contact_set_verified = pg_contact_set_verified,
	.contact_delete = pg_contact_delete,
	.question_put = pg_question_put,
	.question_get = pg_question_get,
	.question_delete = pg_question_delete,
	.token_put = pg_token_put,
	.token_get = pg_token_get,
	.token_attempt = pg_token_attempt,
	.token_consume = pg_token_consume,
	.token_revoke_all = pg_token_revoke_all,
	.token_prune = pg_token_prune,
	.counter_hit = pg_counter_hit,
	.counter_get = pg_counter_get,
	.counter_clear = pg_counter_clear,
	.counter_release = pg_counter_release,
	.counter_prune = pg_counter_prune,
	.audit_add = pg_audit_add,
	.audit_list = pg_audit_list,
	.audit_prune = pg_audit_prune,
	.user_purge = pg_user_purge,
	.user_spelling = pg_user_spelling,
	.user_names = pg_user_names,
	.keycheck_get = pg_keycheck_get,
	.keycheck_put = pg_keycheck_put,
	.outbox_add = pg_outbox_add,
	.outbox_get = pg_outbox_get,
	.outbox_list = pg_outbox_list,
	.outbox_release = pg_outbox_release,
	.outbox_disarm = pg_outbox_disarm,
	.outbox_update = pg_outbox_update,
	.outbox_claim = pg_outbox_claim,
	.backup_state = pg_backup_state,
	.reuse_put = pg_reuse_put,
	.reuse_match = pg_reuse_match,
	.reuse_clear = pg_reuse_clear,
	.table_rows = pg_table_rows,
	.table_put = pg_table_put,
	.table_count = pg_table_count,
	.alive = pg_alive,
};

/* libpq's notices (NOTICE, WARNING) are not for a login's output. */
static void no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Connect with bounded waits. Our defaults come before the URI, so a URI's own
 * connect_timeout or options win; statement_timeout is set by SET when the URI replaced
 * the options. *w gets the limit of every later wait on the connection (the
 * statement_timeout in force plus a margin). NULL with a message in err.
 */
static PGconn *connect_uri(const char *uri, struct store_pg_wait *w, char *err, size_t errlen)
{
	static const char *const kw[] = {
		"connect_timeout",  "keepalives_idle",  "keepalives_interval",
		"keepalives_count", "tcp_user_timeout", "options",
		"application_name", "dbname",           NULL};
	const char *val[] = {PG_CONNECT_TIMEOUT, "5",           "2", "2", "5000",
			     PG_SESSION_OPTIONS, "pam_recover", uri, NULL};
	PQconninfoOption *info = NULL;
	PGconn *c;
	int timeouts = 0, stmt_ms = atoi(PG_STMT_TIMEOUT_MS);

	if (store_pg_load(err, errlen) != 0)
		return NULL;
	c = PQconnectdbParams(kw, val, 1);
	if (c == NULL) {
		store_put_err(err, errlen, "cannot connect to the PostgreSQL store: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names host and port, never a password (none is in the URI). */
		const char *m = PQerrorMessage(c);
		size_t n = strcspn(m, "\n");

		store_put_err(err, errlen, "cannot connect to the PostgreSQL store: %.*s",
			      (int)(n > 200 ? 200 : n), m);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, no_notice, NULL);
	info = PQconninfo(c);
	for (PQconninfoOption *o = info; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "options") == 0 && o->val != NULL &&
		    strstr(o->val, "statement_timeout") != NULL) {
			timeouts = 1;
			stmt_ms = store_pg_wait_stmt_ms(o->val, stmt_ms);
		}
	PQconninfoFree(info);
	store_pg_wait_init(w, stmt_ms);
	if (!timeouts) {
		PGresult *res = store_pg_exec(c, w,
					      "SET statement_timeout = " PG_STMT_TIMEOUT_MS
					      "; SET lock_timeout = " PG_STMT_TIMEOUT_MS
					      "; SET max_parallel_workers_per_gather = 0");
		int ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;

		if (!ok)
			store_put_err(err, errlen, "cannot set up the PostgreSQL store: %s",
				      store_pg_wait_why(c, w, res));
		PQclear(res);
		if (!ok) {
			PQfinish(c);
			return NULL;
		}
	}
	return c;
}

int store_pg_open(const char *uri, int flags, struct store **out, char *err, size_t errlen)
{
	struct pgs *q = NULL;
	int r = STORE_ERR;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL) {
		store_put_err(err, errlen, "cannot open the PostgreSQL store: out of memory");
		goto out;
	}
	q->base.ops = &pg_ops;
	q->c = connect_uri(uri, &q->wait, err, errlen);
	if (q->c == NULL)
		goto out;
	if (store_pg_schema(q->c, &q->wait, flags & STORE_CREATE, err, errlen) != 0)
		goto out;
	*out = &q->base;
	r = STORE_OK;
out:
	if (r != STORE_OK && q != NULL)
		pg_close(&q->base);
	return r;
}

int store_pg_peek_uri(const char *uri, long long *have, long long *want, char *err, size_t errlen)
{
	struct store_pg_wait w;
	PGconn *c = connect_uri(uri, &w, err, errlen);
	int r;

	*have = 0;
	*want = STORE_PG_SCHEMA;
	if (c == NULL)
		return -1;
	r = store_pg_peek(c, &w, have, want, err, errlen);
	PQfinish(c);
	return r;
}
