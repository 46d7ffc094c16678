/*
 * The inside of the store: what a backend implements. Callers use store.h only.
 *
 * store.c checks every argument (NULL pointers, lengths, ranges) and the transaction state
 * before it calls a backend, so a backend may assume valid input. A backend allocates its own
 * structure with `struct store` as its first member and fills in `ops`.
 */
#ifndef RC_STORE_BACKEND_H
#define RC_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

/* Limits checked by store.c (they match the fixed-size fields of store.h). */
#define STORE_USER_MAX 128
#define STORE_KEY_MAX 255
#define STORE_LABEL_MAX 63 /* token channel and purpose */

/* audit_prune and counter_prune delete at most this many rows per statement, and go on
 * until a statement deletes fewer (or `max` rows went): a large backlog never holds the
 * store's write lock for longer than one batch (SQLite: logins wait for it). The same
 * number as SQL text. */
#define STORE_PRUNE_BATCH 1000
#define STORE_PRUNE_BATCH_SQL "1000"

struct store_ops {
	const char *name;
	void (*close)(struct store *s);
	int (*begin)(struct store *s);
	int (*commit)(struct store *s);
	void (*rollback)(struct store *s);
	/* store_begin_snapshot: a read-only transaction on one snapshot (no write lock). */
	int (*begin_snapshot)(struct store *s);

	int (*totp_get)(struct store *s, const char *user, struct store_totp *out);
	int (*totp_put)(struct store *s, const char *user, const struct store_totp *t);
	int (*totp_delete)(struct store *s, const char *user);
	int (*pending_put)(struct store *s, const char *user, const struct store_totp *t);
	int (*pending_get)(struct store *s, const char *user, struct store_totp *out);
	int (*pending_delete)(struct store *s, const char *user);
	int (*totp_list)(struct store *s, int (*cb)(void *ctx, const char *user, int64_t created),
			 void *ctx);

	int (*state_get)(struct store *s, const char *user, struct store_login_state *out);
	int (*step_cas)(struct store *s, const char *user, int64_t step);
	int (*fail)(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
		    int *failures_out, int *locked_out);
	int (*reset_failures)(struct store *s, const char *user);
	/* store_login_read: STORE_OK or STORE_NOTFOUND (no device); st preset to {-1, 0, 0}. */
	int (*login_read)(struct store *s, const char *user,
			  int (*cb)(void *ctx, const struct store_device *d), void *ctx,
			  struct store_login_state *st);
	/* store_login_try, with the arguments checked; device is "" when step is -1. */
	int (*login_try)(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
			 const char *device, int64_t step, struct store_login_try *out);
	int (*unlock)(struct store *s, const char *user);

	int (*backup_replace)(struct store *s, const char *user,
			      const unsigned char (*hashes)[STORE_HASH_LEN], size_t n);
	int (*backup_use)(struct store *s, const char *user,
			  const unsigned char hash[STORE_HASH_LEN], int64_t now);
	int (*backup_count)(struct store *s, const char *user, int *left);
	int (*backup_state)(struct store *s, const char *user,
			    const unsigned char hash[STORE_HASH_LEN]);

	int (*app_add)(struct store *s, const char *user, const struct store_app_password *a);
	int (*app_revoke)(struct store *s, const char *user, const char *name);
	int (*app_revoke_all)(struct store *s, const char *user);
	int (*app_list)(struct store *s, const char *user,
			int (*cb)(void *ctx, const struct store_app_password *a), void *ctx);
	int (*app_match)(struct store *s, const char *user,
			 const unsigned char hash[STORE_HASH_LEN], int64_t now,
			 struct store_app_password *out);

	int (*contact_put)(struct store *s, const char *user, const struct store_contact *c);
	int (*contact_get)(struct store *s, const char *user, int kind, struct store_contact *out);
	int (*contact_set_verified)(struct store *s, const char *user, int kind, int64_t now);
	int (*contact_delete)(struct store *s, const char *user, int kind);

	int (*question_put)(struct store *s, const char *user, const struct store_question *q);
	int (*question_get)(struct store *s, const char *user, struct store_question *out);
	int (*question_delete)(struct store *s, const char *user);

	int (*token_put)(struct store *s, const char *user, const char *channel,
			 const char *purpose, const struct store_token *t);
	int (*token_get)(struct store *s, const char *user, const char *channel,
			 const char *purpose, struct store_token *out);
	int (*token_attempt)(struct store *s, const char *user, const char *channel,
			     const char *purpose, int *attempts_out);
	int (*token_consume)(struct store *s, const char *user, const char *channel,
			     const char *purpose);
	int (*token_revoke_all)(struct store *s, const char *user);
	int (*token_prune)(struct store *s, int64_t now, int *removed);

	int (*counter_hit)(struct store *s, const char *key, int64_t now, int window_s,
			   int *count_out);
	int (*counter_get)(struct store *s, const char *key, int64_t now, int window_s,
			   int *count_out);
	int (*counter_clear)(struct store *s, const char *key);
	int (*counter_release)(struct store *s, const char *key, int64_t when);
	int (*counter_prune)(struct store *s, int64_t before, int max, int *removed);

	int (*audit_add)(struct store *s, int64_t now, const char *user, long ruid,
			 const char *event, const char *method, const char *detail);
	int (*audit_list)(struct store *s, const char *user, int limit,
			  int (*cb)(void *ctx, const struct store_audit *a), void *ctx);
	int (*audit_prune)(struct store *s, int64_t before, int max, int *removed);

	int (*user_purge)(struct store *s, const char *user);
	/* Another spelling of `user` (same name but for ASCII case) that holds a TOTP row,
	 * into out (n >= STORE_USER_MAX + 1): STORE_OK, or STORE_NOTFOUND. */
	int (*user_spelling)(struct store *s, const char *user, char *out, size_t n);
	/* Every name that holds a row of user data (not audit, not counters), in order. */
	int (*user_names)(struct store *s, int (*cb)(void *ctx, const char *user), void *ctx);

	int (*keycheck_get)(struct store *s, unsigned char *sealed, size_t cap, size_t *len);
	int (*keycheck_put)(struct store *s, const unsigned char *sealed, size_t len,
			    int64_t created);

	int (*outbox_add)(struct store *s, const struct store_outbox *o);
	int (*outbox_get)(struct store *s, int64_t id, struct store_outbox *out);
	int (*outbox_list)(struct store *s, int state, int64_t due_by,
			   int (*cb)(void *ctx, const struct store_outbox *o), void *ctx);
	int (*outbox_release)(struct store *s, const char *owner, int add_flags, int *changed);
	int (*outbox_disarm)(struct store *s, const char *owner);
	int (*outbox_update)(struct store *s, int64_t id, int state, int attempts, int64_t next_try,
			     const char *last_error);

	int (*reuse_put)(struct store *s, const char *user,
			 const unsigned char hash[STORE_HASH_LEN], int64_t now, int64_t expires);
	int (*reuse_match)(struct store *s, const char *user,
			   const unsigned char hash[STORE_HASH_LEN], int64_t now,
			   int64_t *expires_out);
	int (*reuse_clear)(struct store *s, const char *user);
	int (*outbox_claim)(struct store *s, int64_t id, int attempts, int64_t seen_next_try,
			    int64_t until);

	/* Devices (store.c checks the name: 1..STORE_DEVICE_MAX bytes, no control bytes). */
	int (*device_list)(struct store *s, const char *user,
			   int (*cb)(void *ctx, const struct store_device *d), void *ctx);
	int (*device_add)(struct store *s, const char *user, const struct store_totp *t,
			  int replace);
	int (*device_delete)(struct store *s, const char *user, const char *name, int *left);
	int (*device_step_cas)(struct store *s, const char *user, const char *name, int64_t step,
			       int64_t now);

	/* admin copy-store: SQL built from the constant store_tables[] only. */
	int (*table_rows)(struct store *s, const struct store_table *t,
			  int (*cb)(void *ctx, const struct store_val *v), void *ctx);
	int (*table_put)(struct store *s, const struct store_table *t, const struct store_val *v);
	int (*table_count)(struct store *s, const struct store_table *t, long long *n);

	/* Optional: 1 when the connection is still usable (a server backend: connected, no
	 * transaction open), 0 when it must be reopened. NULL: always usable. */
	int (*alive)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	char err[256]; /* last error, never a value from a row or an argument */
	int in_tx;     /* inside store_begin()..store_commit()/store_rollback() */
	int name_case; /* cfg->user_name_case (enum rc_name_case), set by store_open */
};

/* The SQL of store_tables[] for a backend: "SELECT cols FROM name [ORDER BY order]",
 * "INSERT INTO name (cols) VALUES (<p>1, ...)" with <p> '?' or '$', "SELECT count(*) ...".
 * 0, or -1 when buf is too small. */
int store_table_sql(const struct store_table *t, int what, char p, char *buf,
		    size_t n) RC_MUST_CHECK;
enum { STORE_SQL_SELECT, STORE_SQL_INSERT, STORE_SQL_COUNT };

/* Set s->err (printf style). Returns STORE_ERR for `return store_set_err(...)`. */
int store_set_err(struct store *s, const char *fmt, ...) RC_PRINTF(2, 3);
/* Write a message into a caller's (err, errlen); either may be NULL/0. */
void store_put_err(char *err, size_t errlen, const char *fmt, ...) RC_PRINTF(3, 4);

/*
 * Check the store's directory and file before a local backend opens it: the directory
 * (opened O_DIRECTORY|O_NOFOLLOW) owned by uid 0 with no group/other bits, the file a
 * regular file with one link, owned by uid 0, no group/other bits, not a symlink.
 * With `create`, a missing directory (0700) or file (0600) is made and a root-owned one
 * with looser bits is tightened. 0, or -1 with a message that says what to do.
 */
int store_fs_check(const char *path, int create, char *err, size_t errlen) RC_MUST_CHECK;

/* Backends. `path` / `uri` is cfg->store without the scheme prefix (sqlite) or whole. */
int store_sqlite_open(const char *path, int flags, struct store **out, char *err,
		      size_t errlen) RC_MUST_CHECK;
/* store_schema_peek for sqlite (store_sqlite_schema.c). */
int store_sqlite_peek(const char *path, long long *have, long long *want, char *err,
		      size_t errlen) RC_MUST_CHECK;

#ifdef HAVE_LIBPQ
/* The PostgreSQL backend (store_pg.c); `uri` is cfg->store whole. */
int store_pg_open(const char *uri, int flags, struct store **out, char *err,
		  size_t errlen) RC_MUST_CHECK;
/* store_schema_peek for postgresql. 0, or -1 with a message. */
int store_pg_peek_uri(const char *uri, long long *have, long long *want, char *err,
		      size_t errlen) RC_MUST_CHECK;
#endif

#endif
