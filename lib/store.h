/*
 * The state store: one interface, several backends (sqlite: default; postgresql: clusters).
 * Callers never see SQL. Every function returns one of the STORE_* codes below.
 *
 * Secrets and enrolment (table totp) are kept apart from the state that changes at every
 * login (table login_state), so a failed state write can never damage a secret.
 *
 * Rules for callers:
 * - A struct store is one connection: use it from one thread at a time, and never across
 *   fork() (the child opens its own).
 * - Every function is atomic by itself. Inside store_begin()..store_commit() a function that
 *   fails undoes its own part; after any STORE_ERR the caller must store_rollback().
 * - List callbacks may call other store functions; a non-zero return stops the list.
 * - User names, keys and labels are bound as parameters (never pasted into SQL); the store
 *   still refuses empty or over-long ones (user: 1..128 bytes) with STORE_ERR.
 */
#ifndef RC_STORE_H
#define RC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

enum {
	STORE_OK = 0,
	STORE_NOTFOUND = 1, /* no such row; not an error */
	STORE_CONFLICT = 2, /* compare-and-set lost, or single-use item already used */
	STORE_ERR = -1,     /* I/O, corruption, bad schema: fail closed */
};

#define STORE_SEALED_MAX 512
#define STORE_HASH_LEN 32

struct store;

/* Open flags. */
#define STORE_CREATE 1  /* create directory, file and schema (admin init) */
#define STORE_DURABLE 2 /* fsync every commit (helper); the login path uses WAL's NORMAL */

/* Is cfg->store a database server (a connection that counts against the server's limit)
 * rather than a file? */
int store_is_server(const struct cfg *cfg);

/*
 * Open the store named by cfg->store. Checks the directory (root:root 0700, no symlink)
 * and the file (root 0600) unless the backend is remote. Migrates the schema forward.
 * On failure returns STORE_ERR with a reason in err.
 */
int store_open(const struct cfg *cfg, int flags, struct store **out, char *err,
	       size_t errlen) RC_MUST_CHECK;
void store_close(struct store *s);
/* The schema version of the store named by cfg->store, read without migrating it, and the
 * version this code writes (0 in *have: no pam_recover schema yet). STORE_OK, or STORE_ERR
 * with a reason in err (missing, unsafe owner or mode, another program's database). */
int store_schema_peek(const struct cfg *cfg, long long *have, long long *want, char *err,
		      size_t errlen) RC_MUST_CHECK;
/* 1 when `s` can serve another login as it is (no transaction open; a server backend still
 * connected), 0 when it must be closed and opened again. */
int store_alive(struct store *s);
/* The last backend error as text (never contains secrets). */
const char *store_errmsg(struct store *s);

/* Transactions for multi-step changes (import, enrol, reset). Nesting is not supported. */
int store_begin(struct store *s) RC_MUST_CHECK;
int store_commit(struct store *s) RC_MUST_CHECK;
void store_rollback(struct store *s);
/* A read transaction that sees one consistent snapshot of the whole store, from its first
 * read to its end (admin copy-store): every read inside it sees the same moment, while
 * logins and other writers go on and are not seen. It takes no write lock (SQLite: a
 * deferred transaction in WAL mode; PostgreSQL: REPEATABLE READ READ ONLY, without
 * store_begin's advisory lock). Write nothing inside it; end it with store_rollback(). */
int store_begin_snapshot(struct store *s) RC_MUST_CHECK;

/* ---- TOTP enrolment (secrets; written rarely) ---- */
/*
 * A user has one or more authenticator devices, each a name and its own secret (table totp,
 * one row per device) with its own replay state (table device_steps: the last accepted time
 * step and when). The user is enrolled while at least one device exists. Failure count and
 * lock stay per user (login_state).
 */
#define STORE_DEVICE_MAX 32            /* a device name: 1..32 bytes, no control characters */
#define STORE_DEVICE_DEFAULT "default" /* the name of a device given none (and of upgrades) */
struct store_totp {
	unsigned char sealed[STORE_SEALED_MAX]; /* sealed secret (see seal.h) */
	size_t sealed_len;
	int algorithm; /* enum cfg_algo */
	int digits;
	int period;
	int64_t created;
	char device[STORE_DEVICE_MAX + 1]; /* the device's name ("" on put: the default) */
};
/* The user's first device (oldest, then by name); STORE_NOTFOUND if not enrolled. */
int store_totp_get(struct store *s, const char *user, struct store_totp *out) RC_MUST_CHECK;
/* Replace every device of the user with the one t (named t->device); also resets
 * login_state (last_step = -1, failures = 0), the devices' replay state, and ends the
 * user's reuse windows. */
int store_totp_put(struct store *s, const char *user, const struct store_totp *t) RC_MUST_CHECK;
/* Remove every device, the backup codes and reuse windows (2FA off). STORE_NOTFOUND if not
 * enrolled. */
int store_totp_delete(struct store *s, const char *user) RC_MUST_CHECK;

/* One device as listed: its secret and parameters, and its replay state. */
struct store_device {
	struct store_totp t; /* t.device is the name */
	int64_t last_step;   /* last accepted time step of this device, -1 if none */
	int64_t last_used;   /* when a code of this device was last accepted (0: never) */
};
/* The user's devices, oldest first (then by name); cb may call other store functions (not
 * store_device_list); non-zero stops. STORE_OK also when there is none. */
int store_device_list(struct store *s, const char *user,
		      int (*cb)(void *ctx, const struct store_device *d), void *ctx) RC_MUST_CHECK;
/* Add the device t (named t->device). An existing name: STORE_CONFLICT, unless `replace`,
 * which gives that device the new secret and a fresh replay state. The first device of a
 * user starts a clean login_state (as store_totp_put); a replaced secret ends the user's
 * reuse windows. */
int store_device_add(struct store *s, const char *user, const struct store_totp *t,
		     int replace) RC_MUST_CHECK;
/* Remove one device, its replay state and the user's reuse windows. When it was the last,
 * 2FA is off: the backup codes, a pending enrolment and the login state go too (as
 * store_totp_delete). STORE_NOTFOUND if the user has no device of that name. *left (may be
 * NULL) gets the number of devices left. */
int store_device_delete(struct store *s, const char *user, const char *name,
			int *left) RC_MUST_CHECK;
/*
 * Replay protection per device: atomically set the device's last_step = step and
 * last_used = now iff its last_step < step, and reset the user's failure count and lock (as
 * store_step_cas). STORE_OK when accepted, STORE_CONFLICT when this device's step (or a
 * later one) was already used. Another device's steps are never read or moved.
 */
int store_device_step_cas(struct store *s, const char *user, const char *name, int64_t step,
			  int64_t now) RC_MUST_CHECK;

/* A pending re-enrolment: kept apart until its first code verifies. */
int store_pending_put(struct store *s, const char *user, const struct store_totp *t) RC_MUST_CHECK;
int store_pending_get(struct store *s, const char *user, struct store_totp *out) RC_MUST_CHECK;
int store_pending_delete(struct store *s, const char *user) RC_MUST_CHECK;

/* List enrolled users (callback per name, with the creation of the first device); stops
 * early when cb returns non-zero. */
int store_totp_list(struct store *s, int (*cb)(void *ctx, const char *user, int64_t created),
		    void *ctx) RC_MUST_CHECK;

/* ---- login state (written at every login) ---- */
struct store_login_state {
	int64_t last_step;    /* last accepted TOTP step, -1 if none */
	int failures;         /* consecutive failures */
	int64_t locked_until; /* epoch seconds, 0 = not locked */
};
/* A user with no state row reads as {-1, 0, 0}. */
int store_state_get(struct store *s, const char *user, struct store_login_state *out) RC_MUST_CHECK;
/*
 * Replay protection: atomically set last_step = step iff last_step < step, and reset the
 * failure count. STORE_OK when accepted, STORE_CONFLICT when the step (or a later one) was
 * already used.
 */
int store_step_cas(struct store *s, const char *user, int64_t step) RC_MUST_CHECK;
/*
 * Count one failure atomically. When the count reaches `deny` (>0) set locked_until =
 * now + unlock_time. *failures_out gets the new count, *locked_out 1 if this call locked.
 * Once a lock has expired (0 < locked_until <= now) counting starts again at 1.
 */
int store_fail(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
	       int *failures_out, int *locked_out) RC_MUST_CHECK;
/*
 * The login path in two steps, each one statement (one round trip to a server):
 *
 * store_login_read: every device of the user (secret, parameters and its replay state, in
 * the order of store_device_list) and the user's login state in one read. cb is called once
 * per device (it may not call the store); non-zero stops. STORE_NOTFOUND when the user has
 * no device (st then reads {-1, 0, 0}); the same check of other spellings of the name as
 * store_totp_get.
 */
int store_login_read(struct store *s, const char *user,
		     int (*cb)(void *ctx, const struct store_device *d), void *ctx,
		     struct store_login_state *st) RC_MUST_CHECK;
/*
 * store_login_try: one attempt's write, atomic: the failure is counted as store_fail counts
 * it or, when `step` >= 0 (a TOTP code of that step of the device `device` matched), the
 * device still exists, the step is new for it and the count with this attempt is not over
 * `deny`, the step is accepted by the compare-and-set of store_device_step_cas on that
 * device's replay state alone, which also clears the user's count and any lock. So a
 * failure is counted before any answer is given, parallel attempts see each other's counts,
 * and a step is accepted once per device, across processes and hosts; another device's
 * steps are never read or moved. `step` -1 (device NULL): count only (no TOTP code
 * matched). On STORE_OK, *out says what happened.
 */
struct store_login_try {
	int accepted;         /* step >= 0 and recorded now (count and lock cleared) */
	int failures;         /* not accepted: the count with this attempt */
	int locked;           /* not accepted: this attempt reached deny (> 0) */
	int64_t locked_until; /* not accepted: the lock's end (0: none) */
};
int store_login_try(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
		    const char *device, int64_t step, struct store_login_try *out) RC_MUST_CHECK;
/* Success without a TOTP step (backup code, app password): reset failures and any lock
 * (as store_step_cas does on success). */
int store_reset_failures(struct store *s, const char *user) RC_MUST_CHECK;
/* Lift a lock, clear the failure count and end the user's reuse windows (admin unlock). */
int store_unlock(struct store *s, const char *user) RC_MUST_CHECK;

/* ---- backup codes (hashed, single use) ---- */
/* Replace the user's whole set with n hashes (old codes stop working). */
int store_backup_replace(struct store *s, const char *user,
			 const unsigned char (*hashes)[STORE_HASH_LEN], size_t n) RC_MUST_CHECK;
/* Mark one unused code used: STORE_OK if it was there and unused, STORE_NOTFOUND otherwise. */
int store_backup_use(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		     int64_t now) RC_MUST_CHECK;
int store_backup_count(struct store *s, const char *user, int *left) RC_MUST_CHECK;
/* Read only: STORE_OK if `hash` is an unused backup code of the user, STORE_CONFLICT if it is
 * one already used, STORE_NOTFOUND if it is none of the user's codes. */
int store_backup_state(struct store *s, const char *user,
		       const unsigned char hash[STORE_HASH_LEN]) RC_MUST_CHECK;

/* ---- app passwords (keyed hash; per service list) ---- */
struct store_app_password {
	char name[64];
	char services[256]; /* comma-separated PAM service names; "" = any app service */
	unsigned char hash[STORE_HASH_LEN];
	int64_t created;
	int64_t last_used; /* 0 = never */
};
int store_app_add(struct store *s, const char *user, const struct store_app_password *a)
	RC_MUST_CHECK; /* STORE_CONFLICT if the name exists */
int store_app_revoke(struct store *s, const char *user, const char *name) RC_MUST_CHECK;
int store_app_revoke_all(struct store *s, const char *user) RC_MUST_CHECK;
int store_app_list(struct store *s, const char *user,
		   int (*cb)(void *ctx, const struct store_app_password *a),
		   void *ctx) RC_MUST_CHECK;
/* Find by hash; on STORE_OK fills *out and, when now > 0, stamps last_used = now (now == 0
 * only looks: the caller stamps once the password is accepted for the service). */
int store_app_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		    int64_t now, struct store_app_password *out) RC_MUST_CHECK;

/* ---- recovery contacts (sealed values) ---- */
struct store_contact {
	int kind; /* METHOD_EMAIL, METHOD_SMS or METHOD_TELEGRAM (method.h): stored as is */
	unsigned char sealed[STORE_SEALED_MAX];
	size_t sealed_len;
	int verified;
	int64_t updated;
};
int store_contact_put(struct store *s, const char *user,
		      const struct store_contact *c) RC_MUST_CHECK;
int store_contact_get(struct store *s, const char *user, int kind,
		      struct store_contact *out) RC_MUST_CHECK;
int store_contact_set_verified(struct store *s, const char *user, int kind) RC_MUST_CHECK;
int store_contact_delete(struct store *s, const char *user, int kind) RC_MUST_CHECK;

/* ---- security question (Argon2id hash of the normalised answer) ---- */
struct store_question {
	char question[512];
	char answer_hash[128]; /* crypto_pwhash_str output */
	int64_t updated;
};
int store_question_put(struct store *s, const char *user,
		       const struct store_question *q) RC_MUST_CHECK;
int store_question_get(struct store *s, const char *user, struct store_question *out) RC_MUST_CHECK;
int store_question_delete(struct store *s, const char *user) RC_MUST_CHECK;

/* ---- one-time codes: reset / contact verification (hashed, bound to user+channel+purpose) */
struct store_token {
	unsigned char hash[STORE_HASH_LEN];
	int64_t expires;
	int attempts;
	int used;
};
/* Insert a new live code, revoking any earlier one for the same (user, channel, purpose).
 * Only hash and expires are taken from *t: a new code starts with attempts 0, unused.
 * channel and purpose: 1..63 bytes. */
int store_token_put(struct store *s, const char *user, const char *channel, const char *purpose,
		    const struct store_token *t) RC_MUST_CHECK;
int store_token_get(struct store *s, const char *user, const char *channel, const char *purpose,
		    struct store_token *out) RC_MUST_CHECK;
/* attempts += 1 atomically; *attempts_out gets the new value. */
int store_token_attempt(struct store *s, const char *user, const char *channel, const char *purpose,
			int *attempts_out) RC_MUST_CHECK;
/* Mark used iff unused: STORE_OK, or STORE_CONFLICT if already used. */
int store_token_consume(struct store *s, const char *user, const char *channel,
			const char *purpose) RC_MUST_CHECK;
/* Revoke every live code of the user (after a reset). */
int store_token_revoke_all(struct store *s, const char *user) RC_MUST_CHECK;
/* Delete every code that expired before `now` or was used (housekeeping); *removed
 * (optional) gets how many went. */
int store_token_prune(struct store *s, int64_t now, int *removed) RC_MUST_CHECK;

/* ---- counters for rate limits (exact sliding windows) ---- */
/*
 * Count one event under `key` in the window [now - window_s, now]; STORE_OK with *count_out
 * the count including this one. Counting happens before the check it limits.
 * An exact sliding log: each hit is one row; rows older than the window are pruned at each
 * hit, and at most STORE_COUNTER_CAP rows are kept per key (beyond that the count reads
 * STORE_COUNTER_CAP + 1), so a flood cannot grow the store. Use one window per key.
 * key: 1..255 bytes; window_s > 0.
 */
#define STORE_COUNTER_CAP 1000
int store_counter_hit(struct store *s, const char *key, int64_t now, int window_s,
		      int *count_out) RC_MUST_CHECK;
int store_counter_get(struct store *s, const char *key, int64_t now, int window_s,
		      int *count_out) RC_MUST_CHECK;
int store_counter_clear(struct store *s, const char *key) RC_MUST_CHECK;
/* Take back one hit of `key` made at `when` (a reservation whose send never happened).
 * STORE_OK, or STORE_NOTFOUND when there is no such hit (pruned, or never made). */
int store_counter_release(struct store *s, const char *key, int64_t when) RC_MUST_CHECK;
/* Delete every counter row older than `before` (housekeeping for keys no longer hit), in
 * statements of a bounded number of rows each; max > 0: stop once at least max rows went
 * (a bounded piece of a backlog). *removed (optional) gets how many went. */
int store_counter_prune(struct store *s, int64_t before, int max, int *removed) RC_MUST_CHECK;

/* ---- reuse windows: a password+code login accepted again (keyed hash, expiry) ---- */
/* Record `hash` for the user until `expires` (a later put of the same hash moves the
 * expiry); entries of every user that expired before `now` are pruned in the same call.
 * Written inside the transaction of the step compare-and-set it belongs to. */
int store_reuse_put(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		    int64_t now, int64_t expires) RC_MUST_CHECK;
/* STORE_OK with *expires_out if the user has `hash` with expires > now, else STORE_NOTFOUND. */
int store_reuse_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		      int64_t now, int64_t *expires_out) RC_MUST_CHECK;
/* End every reuse window of the user (password reset, 2FA off or re-enrolled, unlock). */
int store_reuse_clear(struct store *s, const char *user) RC_MUST_CHECK;

/* ---- audit (never a secret) ---- */
struct store_audit {
	int64_t time;
	char user[129];
	long ruid;
	char event[48];
	char method[32];
	char detail[256];
};
/* time = rc_now(). user may be NULL (lists as ""); method and detail may be NULL (""). event
 * and method must fit their fields; a longer detail is cut to fit. */
int store_audit_add(struct store *s, const char *user, long ruid, const char *event,
		    const char *method, const char *detail) RC_MUST_CHECK;
/* Newest first; user NULL = all users; limit <= 0 = no limit. */
int store_audit_list(struct store *s, const char *user, int limit,
		     int (*cb)(void *ctx, const struct store_audit *a), void *ctx) RC_MUST_CHECK;
/* Delete audit events older than `before`, as store_counter_prune deletes counter rows. */
int store_audit_prune(struct store *s, int64_t before, int max, int *removed) RC_MUST_CHECK;

/* ---- the key-check record (one per store, sealed with the store's key at admin init) ---- */
/* STORE_NOTFOUND when the store has none (made before the record existed). */
int store_keycheck_get(struct store *s, unsigned char *sealed, size_t cap,
		       size_t *len) RC_MUST_CHECK;
/* Insert the record: STORE_CONFLICT if the store has one already (it is never replaced). */
int store_keycheck_put(struct store *s, const unsigned char *sealed, size_t len,
		       int64_t created) RC_MUST_CHECK;

/* ---- copying a whole store (admin copy-store): every table, row by row ---- */
/* One column value: integers in i, text and bytes in (p, len); null for SQL NULL. */
struct store_val {
	int null;
	int64_t i;
	const void *p;
	size_t len;
};
/* Every table of the schema, in the order they are copied. A migration that adds a table
 * adds it here, with its columns (types: one letter each, i integer, t text, b bytes).
 * `order`: the column that keeps rows in order (audit's id, not copied), or NULL.
 * `serial`: the first column is a generated id that is copied as it is (outbox rows are
 * known by it); the backend moves its generator past the copied ids. */
struct store_table {
	const char *name;
	const char *cols;
	const char *types;
	const char *order;
	int serial;
};
#define STORE_TABLE_COLS_MAX 16
extern const struct store_table store_tables[];
extern const size_t store_n_tables;
/* Every row of table t (index into store_tables), to cb with one value per column; the
 * values live until cb returns. cb may not call the store; non-zero stops. */
int store_table_rows(struct store *s, size_t t, int (*cb)(void *ctx, const struct store_val *v),
		     void *ctx) RC_MUST_CHECK;
/* Insert one row as read by store_table_rows (another store's). */
int store_table_put(struct store *s, size_t t, const struct store_val *v) RC_MUST_CHECK;
int store_table_count(struct store *s, size_t t, long long *n) RC_MUST_CHECK;

/* Remove everything about a user (admin); audit events stay. STORE_NOTFOUND if there was
 * nothing. */
int store_user_purge(struct store *s, const char *user) RC_MUST_CHECK;

/*
 * One user, one name. Callers pass canonical names (rc_user_name_canonical with the
 * user_name_case the store was opened with). A store written before names were canonical
 * may still hold a row under another spelling: then store_totp_get of a name whose case is
 * ignored, which finds no row of its own, fails with STORE_ERR ("another spelling ...: run
 * `pam-recover admin canonicalise-names`") instead of STORE_NOTFOUND, so a login never
 * passes as "not enrolled" (nullok) for an enrolled user.
 */
/* Every name that holds user data (not audit, not counters), in order; cb may not call the
 * store. Stops early when cb returns non-zero. */
int store_user_names(struct store *s, int (*cb)(void *ctx, const char *user),
		     void *ctx) RC_MUST_CHECK;
/* ---- outbox: the consequences of a reset, recorded in the reset's own commit ---- */
/*
 * One row per notice (a recovery contact's sealed value, copied as it was sealed) or per
 * command to run. A row is ARMED while its reset is setting the password (owner: the
 * process, "PID:START"), DUE once the reset committed (or once an interrupted reset was
 * found), then SENT, or GAVE_UP after too many attempts. Rows are kept as a record.
 */
enum store_outbox_state {
	STORE_OUTBOX_ARMED = 0,
	STORE_OUTBOX_DUE = 1,
	STORE_OUTBOX_SENT = 2,
	STORE_OUTBOX_GAVE_UP = 3,
};
#define STORE_OUTBOX_KINDS 4 /* 0..2 the contact kinds, 3 a command */
struct store_outbox {
	int64_t id;
	char user[129];
	int kind;
	unsigned char sealed[STORE_SEALED_MAX]; /* the destination; sealed_len 0: none */
	size_t sealed_len;
	int64_t time;     /* of the reset */
	char proofs[64];  /* "email+question" */
	char caller[129]; /* who started it */
	int flags;        /* the caller's own bits (outbox.h) */
	int state;
	char owner[64];
	int attempts;
	int64_t next_try;
	char last_error[256];
};
/* Insert o (its id is ignored; last_error cut to fit). */
int store_outbox_add(struct store *s, const struct store_outbox *o) RC_MUST_CHECK;
int store_outbox_get(struct store *s, int64_t id, struct store_outbox *out) RC_MUST_CHECK;
/* Rows in `state`, oldest first; for STORE_OUTBOX_DUE only those with next_try <= due_by. */
int store_outbox_list(struct store *s, int state, int64_t due_by,
		      int (*cb)(void *ctx, const struct store_outbox *o), void *ctx) RC_MUST_CHECK;
/* The ARMED rows of owner become DUE, flags |= add_flags; *changed gets their number. */
int store_outbox_release(struct store *s, const char *owner, int add_flags,
			 int *changed) RC_MUST_CHECK;
/* Delete the ARMED rows of owner (the password was not set). */
int store_outbox_disarm(struct store *s, const char *owner) RC_MUST_CHECK;
/* Take a DUE row for one delivery attempt, on this host or any other sharing the store: iff
 * it is still DUE with `attempts` and `seen_next_try` as read, set next_try = until (a lease:
 * if the sender dies, the row is due again then). STORE_OK, or STORE_CONFLICT when another
 * process took it or it changed since it was read. */
int store_outbox_claim(struct store *s, int64_t id, int attempts, int64_t seen_next_try,
		       int64_t until) RC_MUST_CHECK;
/* After an attempt. STORE_NOTFOUND if there is no such row. */
int store_outbox_update(struct store *s, int64_t id, int state, int attempts, int64_t next_try,
			const char *last_error) RC_MUST_CHECK;

#endif
