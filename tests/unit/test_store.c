/*
 * The store (SQLite backend) through its public interface: opening and the file checks,
 * schema versions, every function's found and not-found paths, compare-and-set, locks,
 * single use, transactions, and a full disk. Runs as root (the store must be root's).
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_select.h"
#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <sodium.h>

#include "keycheck.h"
#include "method.h"
#include "store.h"
#include "store_sqlite.h"
#include "store_sqlite_schema.h"

struct fx {
	char dir[64];   /* mkdtemp, 0700 */
	char sub[96];   /* the store's directory */
	char db[128];   /* the store's file */
	char spec[256]; /* "sqlite:" + db */
	struct cfg cfg;
	struct store *s;
	char err[256];
};

static void set_spec(struct fx *f, const char *spec)
{
	snprintf(f->spec, sizeof(f->spec), "%s", spec);
	f->cfg.store = f->spec;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (scratch_make(f->dir, sizeof(f->dir), "test_store") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->sub, sizeof(f->sub), "%s/db", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->sub);
	snprintf(f->spec, sizeof(f->spec), "sqlite:%s", f->db);
	f->cfg.store = f->spec;
	*state = f;
	return 0;
}

static int fx_setup_open(void **state)
{
	struct fx *f;

	if (fx_setup(state) != 0)
		return -1;
	f = *state;
	if (store_open(&f->cfg, STORE_CREATE, &f->s, f->err, sizeof(f->err)) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", f->err);
		return -1;
	}
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	scratch_store_close(f->s, f->dir);
	free(f);
	return 0;
}

/* Open without flags; returns the STORE_* code and leaves f->s open on success. */
static int reopen(struct fx *f, int flags)
{
	store_close(f->s);
	f->s = NULL;
	f->err[0] = '\0';
	return store_open(&f->cfg, flags, &f->s, f->err, sizeof(f->err));
}

static void make_store(struct fx *f)
{
	assert_int_equal(reopen(f, STORE_CREATE), STORE_OK);
	store_close(f->s);
	f->s = NULL;
}

#define assert_err_has(f, text)                                                                    \
	do {                                                                                       \
		if (strstr((f)->err, (text)) == NULL)                                              \
			fail_msg("error \"%s\" lacks \"%s\"", (f)->err, (text));                   \
	} while (0)

static void fill_hash(unsigned char h[STORE_HASH_LEN], int seed)
{
	for (int i = 0; i < STORE_HASH_LEN; i++)
		h[i] = (unsigned char)(seed * 31 + i);
}

static struct store_totp mk_totp(int seed)
{
	struct store_totp t;

	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 57; i++)
		t.sealed[i] = (unsigned char)(seed + i);
	t.sealed_len = 57;
	t.algorithm = seed % 3;
	t.digits = 6;
	t.period = 30;
	t.created = 1700000000 + seed;
	return t;
}

/* ================= opening ================= */

static void test_open_create(void **state)
{
	struct fx *f = *state;
	struct stat st;
	mode_t old = umask(0); /* the modes must not depend on the umask */

	assert_int_equal(reopen(f, STORE_CREATE), STORE_OK);
	umask(old);
	assert_non_null(f->s);
	assert_int_equal(stat(f->sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	/* reopen with and without CREATE (idempotent) */
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(reopen(f, STORE_CREATE | STORE_DURABLE), STORE_OK);
	assert_int_equal(reopen(f, STORE_DURABLE), STORE_OK);
}

static void test_open_schema_version(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	make_store(f);
	assert_int_equal(reopen(f, 0), STORE_OK);
	db = store_sqlite_db(f->s);
	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), STORE_SQLITE_SCHEMA);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
}

static void test_open_missing(void **state)
{
	struct fx *f = *state;

	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_null(f->s);
	assert_err_has(f, "does not exist");
	assert_err_has(f, "pam-recover admin init");
	/* the directory exists, the file does not */
	assert_int_equal(mkdir(f->sub, 0700), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, f->db);
	assert_err_has(f, "does not exist");
}

static void test_open_bad_dir_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;

	make_store(f);
	assert_int_equal(chmod(f->sub, 0755), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, f->sub);
	assert_err_has(f, "is mode 0755; it must be 0700 root:root");
	assert_err_has(f, "pam-recover admin init");
	assert_int_equal(chmod(f->sub, 0707), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	/* admin init (STORE_CREATE) tightens a root-owned directory */
	assert_int_equal(reopen(f, STORE_CREATE), STORE_OK);
	assert_int_equal(stat(f->sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(reopen(f, 0), STORE_OK);
}

static void test_open_bad_file_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;

	make_store(f);
	assert_int_equal(chmod(f->db, 0644), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "is mode 0644; it must be 0600 root:root");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_OK);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_open_bad_owner(void **state)
{
	struct fx *f = *state;

	make_store(f);
	assert_int_equal(chown(f->db, 65534, 65534), 0);
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR); /* never "fixed" */
	assert_err_has(f, "owned by uid 65534");
	assert_int_equal(chown(f->db, 0, 0), 0);
	assert_int_equal(chown(f->sub, 65534, 0), 0);
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "owned by uid 65534");
	assert_err_has(f, f->sub);
	assert_int_equal(chown(f->sub, 0, 0), 0);
	assert_int_equal(reopen(f, 0), STORE_OK);
}

static void test_open_symlink_file(void **state)
{
	struct fx *f = *state;
	char real[160];

	make_store(f);
	snprintf(real, sizeof(real), "%s/real.db", f->sub);
	assert_int_equal(rename(f->db, real), 0);
	assert_int_equal(symlink(real, f->db), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "is a symbolic link");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "is a symbolic link");
	/* a dangling link too */
	assert_int_equal(unlink(real), 0);
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "is a symbolic link");
}

static void test_open_symlink_dir(void **state)
{
	struct fx *f = *state;
	char link[128], spec[200];

	make_store(f);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->sub, link), 0);
	snprintf(spec, sizeof(spec), "sqlite:%s/state.db", link);
	set_spec(f, spec);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "is a symbolic link");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	/* a link higher up the path */
	snprintf(link, sizeof(link), "%s/up", f->dir);
	assert_int_equal(symlink(f->dir, link), 0);
	snprintf(spec, sizeof(spec), "sqlite:%s/db/state.db", link);
	set_spec(f, spec);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "a directory on its path is a symbolic link");
}

static void test_open_fifo_and_links(void **state)
{
	struct fx *f = *state;
	char other[160];

	make_store(f);
	snprintf(other, sizeof(other), "%s/other.db", f->sub);
	assert_int_equal(link(f->db, other), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "hard links");
	assert_int_equal(unlink(other), 0);
	assert_int_equal(unlink(f->db), 0);
	assert_int_equal(mkfifo(f->db, 0600), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR); /* and does not hang */
	assert_err_has(f, "not a regular file");
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_open_future_schema(void **state)
{
	struct fx *f = *state;

	make_store(f);
	exec_sql(f->db, "PRAGMA user_version = 99");
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "schema version 99, newer than this pam_recover knows");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "newer");
}

static void test_open_foreign_and_empty(void **state)
{
	struct fx *f = *state;
	int fd;

	/* an empty file (0 bytes): no schema without CREATE, fine with it */
	assert_int_equal(mkdir(f->sub, 0700), 0);
	fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "no pam_recover schema");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_OK);
	store_close(f->s);
	f->s = NULL;

	/* another program's database is never taken over */
	assert_int_equal(unlink(f->db), 0);
	exec_sql(f->db, "CREATE TABLE mine (x INTEGER)");
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "no pam_recover schema");
	exec_sql(f->db, "PRAGMA application_id = 42");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "not a pam_recover store");
}

static void test_open_garbage(void **state)
{
	struct fx *f = *state;
	char junk[8192];
	FILE *fp;

	assert_int_equal(mkdir(f->sub, 0700), 0);
	memset(junk, 'x', sizeof(junk));
	fp = fopen(f->db, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(chmod(f->db, 0600), 0);
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "damaged or not a database");
}

static void test_open_specs(void **state)
{
	struct fx *f = *state;
	struct store *s = (struct store *)1;

	assert_int_equal(store_open(NULL, 0, &s, f->err, sizeof(f->err)), STORE_ERR);
	assert_null(s);
	set_spec(f, "");
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "no store is configured");
	/* No server on port 1: refused at once, and the message never shows the password. */
	set_spec(f, "postgresql://u:secretpw@127.0.0.1:1/pam");
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "PostgreSQL");
	assert_null(strstr(f->err, "secretpw"));
	set_spec(f, "postgres://127.0.0.1:1/pam");
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "PostgreSQL");
	set_spec(f, "postgresq://u:secretpw@db");
	assert_int_equal(reopen(f, 0), STORE_ERR);
	assert_err_has(f, "unknown store type");
	assert_null(strstr(f->err, "secretpw"));
	set_spec(f, "sqlite:relative/state.db");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	assert_err_has(f, "absolute path");
	set_spec(f, "sqlite:/tmp/../tmp/x.db");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	set_spec(f, "sqlite:/tmp//x.db");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	set_spec(f, "sqlite:/tmp/dir/");
	assert_int_equal(reopen(f, STORE_CREATE), STORE_ERR);
	/* errlen 0 and unknown flags */
	assert_int_equal(store_open(&f->cfg, 0, &s, NULL, 0), STORE_ERR);
	assert_int_equal(store_open(&f->cfg, 0x100, &s, f->err, sizeof(f->err)), STORE_ERR);
	assert_string_equal(store_errmsg(NULL), "no store");
}

/* ================= TOTP enrolment ================= */

static int count_cb(void *ctx, const char *user, int64_t created)
{
	(void)user;
	(void)created;
	(*(int *)ctx)++;
	return 0;
}

static int first_cb(void *ctx, const char *user, int64_t created)
{
	(void)created;
	snprintf(ctx, 32, "%s", user);
	return 1; /* stop */
}

static void test_totp(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(1), t2 = mk_totp(2), g;
	int n = 0;
	char first[32] = "";

	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_int_equal(g.sealed_len, t.sealed_len);
	assert_memory_equal(g.sealed, t.sealed, t.sealed_len);
	assert_int_equal(g.algorithm, t.algorithm);
	assert_int_equal(g.digits, 6);
	assert_int_equal(g.period, 30);
	assert_int_equal(g.created, t.created);
	/* replace */
	assert_int_equal(store_totp_put(f->s, "alice", &t2), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_memory_equal(g.sealed, t2.sealed, t2.sealed_len);
	assert_int_equal(store_totp_put(f->s, "bob", &t), STORE_OK);
	assert_int_equal(store_totp_list(f->s, count_cb, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_totp_list(f->s, first_cb, first), STORE_OK);
	assert_string_equal(first, "alice");
	assert_int_equal(store_totp_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_totp_delete(f->s, "alice"), STORE_NOTFOUND);
	assert_int_equal(store_totp_get(f->s, "bob", &g), STORE_OK);
	/* bad arguments */
	t.sealed_len = STORE_SEALED_MAX + 1;
	assert_int_equal(store_totp_put(f->s, "carol", &t), STORE_ERR);
	t.sealed_len = 0;
	assert_int_equal(store_totp_put(f->s, "carol", &t), STORE_ERR);
}

struct dev_seen {
	int n;
	char names[4][STORE_DEVICE_MAX + 1];
	int64_t last_step[4];
	int64_t last_used[4];
};

static int dev_cb(void *ctx, const struct store_device *d)
{
	struct dev_seen *ds = ctx;

	if (ds->n < 4) {
		snprintf(ds->names[ds->n], sizeof(ds->names[0]), "%s", d->t.device);
		ds->last_step[ds->n] = d->last_step;
		ds->last_used[ds->n] = d->last_used;
	}
	ds->n++;
	return 0;
}

static struct dev_seen devices_of(struct store *s, const char *user)
{
	struct dev_seen ds;

	memset(&ds, 0, sizeof(ds));
	assert_int_equal(store_device_list(s, user, dev_cb, &ds), STORE_OK);
	return ds;
}

/* Several devices per user: names, replace, per-device replay state, removal. */
static void test_devices(void **state)
{
	struct fx *f = *state;
	struct store_totp a = mk_totp(1), b = mk_totp(2), g;
	struct store_login_state ls;
	struct dev_seen ds;
	int left = -1, fails = 0, locked = 0;

	snprintf(a.device, sizeof(a.device), "phone");
	snprintf(b.device, sizeof(b.device), "tablet");
	b.created = a.created + 1;
	assert_int_equal(store_device_add(f->s, "alice", &a, 0), STORE_OK);
	assert_int_equal(store_device_add(f->s, "alice", &b, 0), STORE_OK);
	assert_int_equal(store_device_add(f->s, "alice", &b, 0), STORE_CONFLICT);
	ds = devices_of(f->s, "alice");
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.names[0], "phone"); /* oldest first */
	assert_string_equal(ds.names[1], "tablet");
	assert_int_equal(ds.last_step[0], -1);
	assert_int_equal(ds.last_used[0], 0);
	/* each device has its replay row from when it was made (the login write only updates
	 * it); the copy-store table list holds device_steps */
	long long rows = 0;
	size_t ti;
	for (ti = 0; ti < store_n_tables; ti++)
		if (strcmp(store_tables[ti].name, "device_steps") == 0)
			break;
	assert_true(ti < store_n_tables);
	assert_int_equal(store_table_count(f->s, ti, &rows), STORE_OK);
	assert_int_equal(rows, 2);
	/* totp_get: the first device */
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_string_equal(g.device, "phone");
	/* replay per device: a step used on one device is still new on the other */
	assert_int_equal(store_fail(f->s, "alice", 1000, 5, 900, &fails, &locked), STORE_OK);
	assert_int_equal(store_device_step_cas(f->s, "alice", "phone", 50, 1500), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 0); /* a success resets the user's count */
	assert_int_equal(store_device_step_cas(f->s, "alice", "phone", 50, 1501), STORE_CONFLICT);
	assert_int_equal(store_device_step_cas(f->s, "alice", "phone", 49, 1501), STORE_CONFLICT);
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 50, 1502), STORE_OK);
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 50, 1502), STORE_CONFLICT);
	ds = devices_of(f->s, "alice");
	assert_int_equal(ds.last_step[0], 50);
	assert_int_equal(ds.last_used[0], 1500);
	assert_int_equal(ds.last_used[1], 1502);
	/* replace: a fresh replay state for that device only */
	assert_int_equal(store_device_add(f->s, "alice", &b, 1), STORE_OK);
	ds = devices_of(f->s, "alice");
	assert_int_equal(ds.n, 2);
	assert_int_equal(ds.last_step[0], 50);
	assert_int_equal(ds.last_step[1], -1);
	assert_int_equal(store_table_count(f->s, ti, &rows), STORE_OK);
	assert_int_equal(rows, 2); /* the replaced device's row made again, at -1 */
	/* removal: one, then the last one turns 2FA off */
	assert_int_equal(store_device_delete(f->s, "alice", "laptop", &left), STORE_NOTFOUND);
	assert_int_equal(store_device_delete(f->s, "alice", "phone", &left), STORE_OK);
	assert_int_equal(left, 1);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_string_equal(g.device, "tablet");
	unsigned char h[1][STORE_HASH_LEN];
	int codes = 0;
	memset(h, 7, sizeof(h));
	assert_int_equal(
		store_backup_replace(f->s, "alice", (const unsigned char(*)[STORE_HASH_LEN])h, 1),
		STORE_OK);
	assert_int_equal(store_device_delete(f->s, "alice", "tablet", &left), STORE_OK);
	assert_int_equal(left, 0);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_backup_count(f->s, "alice", &codes), STORE_OK);
	assert_int_equal(codes, 0);
	/* totp_put replaces every device with one, named "default" when unnamed */
	assert_int_equal(store_device_add(f->s, "bob", &a, 0), STORE_OK);
	assert_int_equal(store_device_add(f->s, "bob", &b, 0), STORE_OK);
	g = mk_totp(3);
	assert_int_equal(store_totp_put(f->s, "bob", &g), STORE_OK);
	ds = devices_of(f->s, "bob");
	assert_int_equal(ds.n, 1);
	assert_string_equal(ds.names[0], STORE_DEVICE_DEFAULT);
	assert_int_equal(store_table_count(f->s, ti, &rows), STORE_OK);
	assert_int_equal(rows, 1); /* the new device's row; alice's went with her devices */
	/* bad names */
	snprintf(a.device, sizeof(a.device), "a\tb");
	assert_int_equal(store_device_add(f->s, "bob", &a, 0), STORE_ERR);
	assert_int_equal(store_device_step_cas(f->s, "bob", "", 1, 1), STORE_ERR);
}

static void test_totp_put_resets_state(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(3);
	struct store_login_state ls;
	int fails, locked;

	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 100), STORE_OK);
	assert_int_equal(store_fail(f->s, "alice", 1000, 1, 60, &fails, &locked), STORE_OK);
	assert_int_equal(locked, 1);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, -1);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
}

static void test_totp_delete_clears_2fa(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(4), g;
	struct store_login_state ls;
	unsigned char h[2][STORE_HASH_LEN];
	int left = -1, fails, locked;

	fill_hash(h[0], 1);
	fill_hash(h[1], 2);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_pending_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_backup_replace(f->s, "alice", h, 2), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 7), STORE_OK);
	assert_int_equal(store_fail(f->s, "alice", 1000, 5, 60, &fails, &locked), STORE_OK);
	assert_int_equal(store_backup_replace(f->s, "bob", h, 2), STORE_OK);

	assert_int_equal(store_totp_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_pending_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 0);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, -1);
	assert_int_equal(ls.failures, 0);
	/* other users untouched */
	assert_int_equal(store_backup_count(f->s, "bob", &left), STORE_OK);
	assert_int_equal(left, 2);
}

static void test_pending(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(5), g;

	assert_int_equal(store_pending_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_pending_delete(f->s, "alice"), STORE_NOTFOUND);
	assert_int_equal(store_pending_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_pending_get(f->s, "alice", &g), STORE_OK);
	assert_memory_equal(g.sealed, t.sealed, t.sealed_len);
	assert_int_equal(g.created, t.created);
	/* pending is not enrolment */
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_pending_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(store_pending_get(f->s, "alice", &g), STORE_NOTFOUND);
}

/* ================= login state ================= */

static void test_state_cas(void **state)
{
	struct fx *f = *state;
	struct store_login_state ls;

	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, -1);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(store_step_cas(f->s, "alice", 0), STORE_OK); /* -1 < 0 */
	assert_int_equal(store_step_cas(f->s, "alice", 50), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 50), STORE_CONFLICT); /* equal: replay */
	assert_int_equal(store_step_cas(f->s, "alice", 49), STORE_CONFLICT); /* older */
	assert_int_equal(store_step_cas(f->s, "alice", 51), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, 51);
	/* per user */
	assert_int_equal(store_step_cas(f->s, "bob", 50), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", -5), STORE_ERR);
}

static void test_fail_lock_unlock(void **state)
{
	struct fx *f = *state;
	struct store_login_state ls;
	int fails = -1, locked = -1;

	assert_int_equal(store_fail(f->s, "alice", 1000, 3, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 1);
	assert_int_equal(locked, 0);
	assert_int_equal(store_fail(f->s, "alice", 1001, 3, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 2);
	assert_int_equal(locked, 0);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(store_fail(f->s, "alice", 1002, 3, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 3);
	assert_int_equal(locked, 1);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 3);
	assert_int_equal(ls.locked_until, 1062);

	assert_int_equal(store_unlock(f->s, "alice"), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(store_unlock(f->s, "nobody"), STORE_OK);

	/* a success (CAS) clears failures and lock */
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_fail(f->s, "alice", 2000, 3, 60, &fails, &locked), STORE_OK);
	assert_int_equal(locked, 1);
	assert_int_equal(store_step_cas(f->s, "alice", 9), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);

	/* backup/app success */
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_fail(f->s, "alice", 3000, 3, 60, &fails, &locked), STORE_OK);
	assert_int_equal(store_reset_failures(f->s, "alice"), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(ls.last_step, 9); /* kept */

	/* deny 0: never locks */
	for (int i = 0; i < 10; i++)
		assert_int_equal(store_fail(f->s, "bob", 1000, 0, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 10);
	assert_int_equal(locked, 0);
	assert_int_equal(store_state_get(f->s, "bob", &ls), STORE_OK);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(store_fail(f->s, "bob", 1000, -1, 60, &fails, &locked), STORE_ERR);
}

static void test_fail_after_lock_expiry(void **state)
{
	struct fx *f = *state;
	struct store_login_state ls;
	int fails, locked;

	for (int i = 0; i < 2; i++)
		assert_int_equal(store_fail(f->s, "alice", 1000, 2, 60, &fails, &locked), STORE_OK);
	assert_int_equal(locked, 1);
	/* still locked: counting goes on and the lock is renewed */
	assert_int_equal(store_fail(f->s, "alice", 1030, 2, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 3);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.locked_until, 1090);
	/* expired: counting starts again at 1 and the old lock is gone */
	assert_int_equal(store_fail(f->s, "alice", 1090, 2, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 1);
	assert_int_equal(locked, 0);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.locked_until, 0);
	assert_int_equal(store_fail(f->s, "alice", 1091, 2, 60, &fails, &locked), STORE_OK);
	assert_int_equal(fails, 2);
	assert_int_equal(locked, 1);
}

/* The login path's read and write: the same outcomes as store_fail + store_device_step_cas,
 * each device's steps its own. */
static struct dev_seen login_read_of(struct store *s, const char *user,
				     struct store_login_state *ls, int expect)
{
	struct dev_seen ds;

	memset(&ds, 0, sizeof(ds));
	assert_int_equal(store_login_read(s, user, dev_cb, &ds, ls), expect);
	return ds;
}

/* failures and locked_until of user's login_state row; -1: no row */
static int state_row(struct fx *f, const char *user, int64_t *locked_until)
{
	sqlite3_stmt *st;
	int failures = -1;

	assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(f->s),
					    "SELECT failures, locked_until FROM login_state "
					    "WHERE username = ?1",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		failures = sqlite3_column_int(st, 0);
		*locked_until = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return failures;
}

/* Enrolment makes the clean state row; an accepted login on a clean row writes one row (the
 * device's step), not the state again; after a failure it writes both and clears. */
static void test_login_clean_state(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(4);
	struct store_login_try tr;
	sqlite3 *db = store_sqlite_db(f->s);
	int64_t locked = -1;
	int before;

	snprintf(t.device, sizeof(t.device), "phone");
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(state_row(f, "alice", &locked), 0);
	assert_int_equal(locked, 0);
	before = sqlite3_total_changes(db);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, t.device, 50, &tr), STORE_OK);
	assert_true(tr.accepted);
	assert_int_equal(sqlite3_total_changes(db) - before, 1);
	/* a failure, then a right code: the count is cleared in the same transaction */
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, NULL, -1, &tr), STORE_OK);
	assert_int_equal(tr.failures, 1);
	before = sqlite3_total_changes(db);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, t.device, 51, &tr), STORE_OK);
	assert_true(tr.accepted);
	assert_int_equal(sqlite3_total_changes(db) - before, 2);
	assert_int_equal(state_row(f, "alice", &locked), 0);
	/* turned off and on again with a first device: a clean row again */
	assert_int_equal(store_login_try(f->s, "alice", 1000, 1, 60, NULL, -1, &tr), STORE_OK);
	assert_true(tr.locked);
	assert_int_equal(store_totp_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(state_row(f, "alice", &locked), -1);
	assert_int_equal(store_device_add(f->s, "alice", &t, 0), STORE_OK);
	assert_int_equal(state_row(f, "alice", &locked), 0);
	assert_int_equal(locked, 0);
}

static void test_login_read_try(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(4), u = mk_totp(5);
	struct store_login_state ls;
	struct store_login_try tr;
	struct dev_seen ds;

	/* not enrolled: not found, state at its defaults; nothing written */
	ds = login_read_of(f->s, "alice", &ls, STORE_NOTFOUND);
	assert_int_equal(ds.n, 0);
	assert_int_equal(ls.last_step, -1);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
	snprintf(t.device, sizeof(t.device), "phone");
	snprintf(u.device, sizeof(u.device), "tablet");
	u.created = t.created + 1;
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_device_add(f->s, "alice", &u, 0), STORE_OK);
	/* enrolled, two devices, a clean state row: every device in one read */
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.names[0], "phone");
	assert_string_equal(ds.names[1], "tablet");
	assert_int_equal(ds.last_step[0], -1);
	assert_int_equal(ds.last_step[1], -1);
	assert_int_equal(ls.failures, 0);

	/* a first step on a new row is accepted; the same step again is counted, not taken */
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "phone", 50, &tr), STORE_OK);
	assert_true(tr.accepted);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "phone", 50, &tr), STORE_OK);
	assert_false(tr.accepted);
	assert_int_equal(tr.failures, 1);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "phone", 49, &tr), STORE_OK);
	assert_false(tr.accepted); /* older */
	assert_int_equal(tr.failures, 2);
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.last_step[0], 50);
	assert_int_equal(ds.last_used[0], 1000);
	assert_int_equal(ds.last_step[1], -1); /* the other device's steps are not moved */
	assert_int_equal(ls.failures, 2);
	/* the third failure reaches deny: locked */
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, NULL, -1, &tr), STORE_OK);
	assert_false(tr.accepted);
	assert_int_equal(tr.failures, 3);
	assert_true(tr.locked);
	assert_int_equal(tr.locked_until, 1060);
	/* over deny: a new step is refused, counted, the lock renewed, the step not taken */
	assert_int_equal(store_login_try(f->s, "alice", 1010, 3, 60, "tablet", 51, &tr), STORE_OK);
	assert_false(tr.accepted);
	assert_int_equal(tr.failures, 4);
	assert_int_equal(tr.locked_until, 1070);
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.last_step[0], 50);
	assert_int_equal(ds.last_step[1], -1);
	assert_int_equal(ls.locked_until, 1070);
	/* the lock has run out: counting starts again at 1, so a new step passes and clears;
	 * the step 50 used on the phone is new on the tablet */
	assert_int_equal(store_login_try(f->s, "alice", 1070, 3, 60, "tablet", 50, &tr), STORE_OK);
	assert_true(tr.accepted);
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.last_step[0], 50);
	assert_int_equal(ds.last_step[1], 50);
	assert_int_equal(ds.last_used[1], 1070);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(ls.locked_until, 0);
	/* the deny-th attempt with a new step: counted within deny, accepted, lock cleared */
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, NULL, -1, &tr), STORE_OK);
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, NULL, -1, &tr), STORE_OK);
	assert_int_equal(tr.failures, 2);
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, "phone", 53, &tr), STORE_OK);
	assert_true(tr.accepted);
	assert_int_equal(tr.failures, 0);
	assert_false(tr.locked);
	/* a device that is not there (removed since the read) takes nothing: a failure */
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, "watch", 60, &tr), STORE_OK);
	assert_false(tr.accepted);
	assert_int_equal(tr.failures, 1);
	ds = devices_of(f->s, "alice");
	assert_int_equal(ds.n, 2);
	/* a device without its replay row (enrolled before schema 6) and a user without a state
	 * row (a clean count): the first step makes the device's row and is accepted once */
	assert_int_equal(sqlite3_exec(store_sqlite_db(f->s),
				      "DELETE FROM device_steps WHERE device = 'tablet';"
				      "DELETE FROM login_state WHERE username = 'alice'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, "tablet", 60, &tr), STORE_OK);
	assert_true(tr.accepted);
	assert_int_equal(tr.failures, 0);
	assert_int_equal(store_login_try(f->s, "alice", 2000, 3, 60, "tablet", 60, &tr), STORE_OK);
	assert_false(tr.accepted);
	assert_int_equal(tr.failures, 1);
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.last_step[1], 60);
	/* the device has its row now: without a state row the step is taken by the UPDATE */
	assert_int_equal(sqlite3_exec(store_sqlite_db(f->s),
				      "DELETE FROM login_state WHERE username = 'alice'", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_login_try(f->s, "alice", 2030, 3, 60, "tablet", 61, &tr), STORE_OK);
	assert_true(tr.accepted);
	ds = login_read_of(f->s, "alice", &ls, STORE_OK);
	assert_int_equal(ds.last_step[1], 61);
	assert_int_equal(ds.last_used[1], 2030);
	assert_int_equal(ls.failures, 0);
	/* deny 0 never locks; a first failure on a new row counts 1 (and locks at deny 1) */
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_login_try(f->s, "bob", 1000, 0, 60, NULL, -1, &tr),
				 STORE_OK);
	assert_int_equal(tr.failures, 5);
	assert_false(tr.locked);
	assert_int_equal(tr.locked_until, 0);
	assert_int_equal(store_login_try(f->s, "carol", 1000, 1, 60, NULL, -1, &tr), STORE_OK);
	assert_int_equal(tr.failures, 1);
	assert_true(tr.locked);
	assert_int_equal(tr.locked_until, 1060);
	/* bad arguments */
	assert_int_equal(store_login_try(f->s, "alice", 1000, -1, 60, "phone", 60, &tr), STORE_ERR);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "phone", -2, &tr), STORE_ERR);
	assert_int_equal(store_login_try(f->s, "", 1000, 3, 60, "phone", 60, &tr), STORE_ERR);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, NULL, 60, &tr), STORE_ERR);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "", 60, &tr), STORE_ERR);
	assert_int_equal(store_login_try(f->s, "alice", 1000, 3, 60, "phone", -1, &tr), STORE_ERR);
	assert_int_equal(store_login_read(f->s, "alice", NULL, NULL, &ls), STORE_ERR);
	assert_int_equal(store_login_read(f->s, "alice", dev_cb, &ds, NULL), STORE_ERR);
}

/* ================= backup codes ================= */

static void test_backup(void **state)
{
	struct fx *f = *state;
	unsigned char h[3][STORE_HASH_LEN], n2[2][STORE_HASH_LEN], other[STORE_HASH_LEN];
	int left = -1;

	for (int i = 0; i < 3; i++)
		fill_hash(h[i], i + 1);
	fill_hash(n2[0], 10);
	fill_hash(n2[1], 11);
	fill_hash(other, 99);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 0);
	assert_int_equal(store_backup_use(f->s, "alice", h[0], 1000), STORE_NOTFOUND);
	assert_int_equal(store_backup_replace(f->s, "alice", h, 3), STORE_OK);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 3);
	assert_int_equal(store_backup_use(f->s, "alice", h[1], 1000), STORE_OK);
	assert_int_equal(store_backup_use(f->s, "alice", h[1], 1001), STORE_NOTFOUND); /* once */
	assert_int_equal(store_backup_use(f->s, "alice", other, 1001), STORE_NOTFOUND);
	assert_int_equal(store_backup_use(f->s, "bob", h[0], 1001), STORE_NOTFOUND);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 2);
	/* a new set: old codes stop working */
	assert_int_equal(store_backup_replace(f->s, "alice", n2, 2), STORE_OK);
	assert_int_equal(store_backup_use(f->s, "alice", h[0], 1002), STORE_NOTFOUND);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 2);
	assert_int_equal(store_backup_use(f->s, "alice", n2[1], 1002), STORE_OK);
	/* duplicates in a set are harmless */
	memcpy(h[1], h[0], STORE_HASH_LEN);
	assert_int_equal(store_backup_replace(f->s, "alice", h, 3), STORE_OK);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 2);
	assert_int_equal(store_backup_replace(f->s, "alice", NULL, 0), STORE_OK);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 0);
}

/* ================= app passwords ================= */

struct app_seen {
	int n;
	char names[4][64];
};

static int app_cb(void *ctx, const struct store_app_password *a)
{
	struct app_seen *s = ctx;

	if (s->n < 4)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", a->name);
	s->n++;
	return 0;
}

static void test_app_passwords(void **state)
{
	struct fx *f = *state;
	struct store_app_password a, b, g;
	struct app_seen seen;
	unsigned char unknown[STORE_HASH_LEN];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	snprintf(a.name, sizeof(a.name), "thunderbird");
	snprintf(a.services, sizeof(a.services), "dovecot,smtp");
	fill_hash(a.hash, 1);
	a.created = 1000;
	snprintf(b.name, sizeof(b.name), "phone");
	fill_hash(b.hash, 2);
	b.created = 1001;
	fill_hash(unknown, 3);

	assert_int_equal(store_app_add(f->s, "alice", &a), STORE_OK);
	assert_int_equal(store_app_add(f->s, "alice", &a), STORE_CONFLICT); /* same name */
	assert_null(strstr(store_errmsg(f->s), "thunderbird"));
	assert_int_equal(store_app_add(f->s, "alice", &b), STORE_OK);
	assert_int_equal(store_app_add(f->s, "bob", &a), STORE_OK); /* names are per user */

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_app_list(f->s, "alice", app_cb, &seen), STORE_OK);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "phone"); /* by name */
	assert_string_equal(seen.names[1], "thunderbird");

	assert_int_equal(store_app_match(f->s, "alice", unknown, 2000, &g), STORE_NOTFOUND);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 2000, &g), STORE_OK);
	assert_string_equal(g.name, "thunderbird");
	assert_string_equal(g.services, "dovecot,smtp");
	assert_memory_equal(g.hash, a.hash, STORE_HASH_LEN);
	assert_int_equal(g.created, 1000);
	assert_int_equal(g.last_used, 2000);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 2500, &g), STORE_OK);
	assert_int_equal(g.last_used, 2500);
	assert_int_equal(store_app_match(f->s, "carol", a.hash, 2500, &g), STORE_NOTFOUND);

	assert_int_equal(store_app_revoke(f->s, "alice", "thunderbird"), STORE_OK);
	assert_int_equal(store_app_revoke(f->s, "alice", "thunderbird"), STORE_NOTFOUND);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 3000, &g), STORE_NOTFOUND);
	assert_int_equal(store_app_match(f->s, "bob", a.hash, 3000, &g), STORE_OK);
	assert_int_equal(store_app_revoke_all(f->s, "alice"), STORE_OK);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_app_list(f->s, "alice", app_cb, &seen), STORE_OK);
	assert_int_equal(seen.n, 0);
	assert_int_equal(store_app_revoke_all(f->s, "alice"), STORE_OK);
	/* a name that does not fit */
	memset(a.name, 'x', sizeof(a.name));
	assert_int_equal(store_app_add(f->s, "alice", &a), STORE_ERR);
}

/* ================= contacts ================= */

/* split_pass looks backup codes up without using them: unused, used, none. */
static void test_backup_state(void **state)
{
	struct fx *f = *state;
	unsigned char h[2][STORE_HASH_LEN], other[STORE_HASH_LEN];

	fill_hash(h[0], 41);
	fill_hash(h[1], 42);
	fill_hash(other, 43);
	assert_int_equal(
		store_backup_replace(f->s, "alice", (const unsigned char(*)[STORE_HASH_LEN])h, 2),
		STORE_OK);
	assert_int_equal(store_backup_state(f->s, "alice", h[0]), STORE_OK);
	assert_int_equal(store_backup_state(f->s, "alice", h[0]), STORE_OK); /* read only */
	assert_int_equal(store_backup_state(f->s, "alice", other), STORE_NOTFOUND);
	assert_int_equal(store_backup_state(f->s, "bob", h[0]), STORE_NOTFOUND);
	assert_int_equal(store_backup_use(f->s, "alice", h[0], 5000), STORE_OK);
	assert_int_equal(store_backup_state(f->s, "alice", h[0]), STORE_CONFLICT);
	assert_int_equal(store_backup_state(f->s, "alice", h[1]), STORE_OK);
	assert_int_equal(store_backup_state(f->s, "alice", NULL), STORE_ERR);
}

/* An app password looked up with now == 0 is not stamped as used. */
static void test_app_match_look_only(void **state)
{
	struct fx *f = *state;
	struct store_app_password a, g;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "mail");
	fill_hash(a.hash, 7);
	a.created = 1000;
	assert_int_equal(store_app_add(f->s, "alice", &a), STORE_OK);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 0, &g), STORE_OK);
	assert_int_equal(g.last_used, 0);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 0, &g), STORE_OK);
	assert_int_equal(g.last_used, 0);
	assert_int_equal(store_app_match(f->s, "alice", a.hash, 2000, &g), STORE_OK);
	assert_int_equal(g.last_used, 2000);
}

/* Reuse windows: bound to user and hash, expire, pruned, ended by unlock, re-enrolment,
 * 2FA off, purge and reuse_clear. */
static void test_reuse(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(1);
	unsigned char h1[STORE_HASH_LEN], h2[STORE_HASH_LEN];
	int64_t exp = 0;

	fill_hash(h1, 51);
	fill_hash(h2, 52);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 1000, &exp), STORE_NOTFOUND);
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 1000, 1120), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 1000, &exp), STORE_OK);
	assert_int_equal(exp, 1120);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 1119, NULL), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 1120, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_match(f->s, "alice", h2, 1000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_match(f->s, "bob", h1, 1000, NULL), STORE_NOTFOUND);
	/* a later put of the same hash moves the expiry */
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 1100, 1300), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 1200, &exp), STORE_OK);
	assert_int_equal(exp, 1300);
	/* a put prunes every user's expired entries */
	assert_int_equal(store_reuse_put(f->s, "bob", h2, 1000, 1010), STORE_OK);
	assert_int_equal(store_reuse_put(f->s, "carol", h2, 2000, 9000), STORE_OK);
	{
		sqlite3 *db = store_sqlite_db(f->s);
		sqlite3_stmt *st;

		assert_int_equal(
			sqlite3_prepare_v2(db, "SELECT count(*) FROM reuse", -1, &st, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1); /* only carol's is left */
		sqlite3_finalize(st);
	}
	/* bad arguments */
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 1000, 1000), STORE_ERR);
	assert_int_equal(store_reuse_put(f->s, "alice", NULL, 1000, 1100), STORE_ERR);
	assert_int_equal(store_reuse_match(f->s, "alice", NULL, 1000, NULL), STORE_ERR);
	/* what ends a window */
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 3000, 3100), STORE_OK);
	assert_int_equal(store_reuse_clear(f->s, "alice"), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 3000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 3000, 3100), STORE_OK);
	assert_int_equal(store_unlock(f->s, "alice"), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 3000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 3000, 3100), STORE_OK);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 3000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 3000, 3100), STORE_OK);
	assert_int_equal(store_totp_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 3000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_put(f->s, "alice", h1, 3000, 3100), STORE_OK);
	assert_int_equal(store_user_purge(f->s, "alice"), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h1, 3000, NULL), STORE_NOTFOUND);
	assert_int_equal(store_reuse_match(f->s, "carol", h2, 2050, NULL), STORE_OK);
}

/* What every migration after 1 added, undone: a store as the first release left it. */
#define SCHEMA_1_SQL                                                                               \
	"DROP INDEX totp_username_lower; DROP TABLE key_check; DROP TABLE outbox; "                \
	"DROP TABLE reuse; DROP TABLE device_steps; DROP TABLE totp; "                             \
	"CREATE TABLE totp (username TEXT NOT NULL PRIMARY KEY, sealed BLOB NOT NULL, "            \
	"algorithm INTEGER NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL, "           \
	"created INTEGER NOT NULL); PRAGMA user_version = 1"

/* A store of schema 1 (the first release) is brought to the current schema on open. */
static void test_migrate_from_1(void **state)
{
	struct fx *f = *state;
	unsigned char h[STORE_HASH_LEN];
	sqlite3 *db;

	make_store(f);
	assert_int_equal(reopen(f, 0), STORE_OK);
	db = store_sqlite_db(f->s);
	assert_int_equal(sqlite3_exec(db, SCHEMA_1_SQL, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(reopen(f, 0), STORE_OK); /* the login path migrates too */
	fill_hash(h, 61);
	assert_int_equal(store_reuse_put(f->s, "alice", h, 1000, 1100), STORE_OK);
	assert_int_equal(store_reuse_match(f->s, "alice", h, 1050, NULL), STORE_OK);
}

/* Migration 7 undone: the login's three tables as rowid tables, as schema 6 had them. */
#define SCHEMA_6_SQL                                                                               \
	"ALTER TABLE totp RENAME TO t7; CREATE TABLE totp (username TEXT NOT NULL, "               \
	"device TEXT NOT NULL, sealed BLOB NOT NULL, algorithm INTEGER NOT NULL, "                 \
	"digits INTEGER NOT NULL, period INTEGER NOT NULL, created INTEGER NOT NULL, "             \
	"PRIMARY KEY (username, device)); INSERT INTO totp SELECT * FROM t7; DROP TABLE t7; "      \
	"CREATE INDEX totp_username_lower ON totp (lower(username)); "                             \
	"ALTER TABLE device_steps RENAME TO d7; CREATE TABLE device_steps (username TEXT NOT "     \
	"NULL, device TEXT NOT NULL, last_step INTEGER NOT NULL DEFAULT -1, last_used INTEGER "    \
	"NOT NULL DEFAULT 0, PRIMARY KEY (username, device)); INSERT INTO device_steps SELECT * "  \
	"FROM d7; DROP TABLE d7; ALTER TABLE login_state RENAME TO l7; CREATE TABLE login_state "  \
	"(username TEXT NOT NULL PRIMARY KEY, last_step INTEGER NOT NULL DEFAULT -1, failures "    \
	"INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0); INSERT INTO "       \
	"login_state SELECT * FROM l7; DROP TABLE l7; PRAGMA user_version = 6"

/* How many of the login's three tables are WITHOUT ROWID (PRAGMA table_list's wr). */
static int without_rowid(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM pragma_table_list WHERE wr = 1 "
					    "AND name IN ('totp', 'device_steps', 'login_state')",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A store of schema 6 keeps every device, replay step and failure count through migration 7,
 * which rebuilds the login's tables WITHOUT ROWID. */
static void test_migrate_from_6(void **state)
{
	struct fx *f = *state;
	struct store_totp a = mk_totp(1), b = mk_totp(2), g;
	struct store_login_state ls;
	struct dev_seen ds;
	int fails = 0, locked = 0;

	make_store(f);
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(without_rowid(store_sqlite_db(f->s)), 3);
	snprintf(a.device, sizeof(a.device), "phone");
	snprintf(b.device, sizeof(b.device), "tablet");
	b.created = a.created + 1;
	assert_int_equal(store_device_add(f->s, "alice", &a, 0), STORE_OK);
	assert_int_equal(store_device_add(f->s, "alice", &b, 0), STORE_OK);
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 70, 2100), STORE_OK);
	assert_int_equal(store_fail(f->s, "alice", 2200, 5, 900, &fails, &locked), STORE_OK);
	assert_int_equal(sqlite3_exec(store_sqlite_db(f->s), SCHEMA_6_SQL, NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(without_rowid(store_sqlite_db(f->s)), 0);
	assert_int_equal(reopen(f, 0), STORE_OK); /* the login path migrates */
	assert_int_equal(without_rowid(store_sqlite_db(f->s)), 3);
	ds = devices_of(f->s, "alice");
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.names[0], "phone");
	assert_int_equal(ds.last_step[0], -1);
	assert_string_equal(ds.names[1], "tablet");
	assert_int_equal(ds.last_step[1], 70);
	assert_int_equal(ds.last_used[1], 2100);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_memory_equal(g.sealed, a.sealed, a.sealed_len);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 1);
	/* the step taken before the migration is still taken; a new one is accepted once */
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 70, 2300), STORE_CONFLICT);
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 71, 2300), STORE_OK);
	assert_int_equal(store_device_step_cas(f->s, "alice", "tablet", 71, 2300), STORE_CONFLICT);
}

static void test_contacts(void **state)
{
	struct fx *f = *state;
	struct store_contact c, g;
	time_t before = time(NULL);

	memset(&c, 0, sizeof(c));
	c.kind = METHOD_EMAIL;
	memset(c.sealed, 0xab, 80);
	c.sealed_len = 80;
	c.updated = 1234;
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &g), STORE_NOTFOUND);
	assert_int_equal(store_contact_set_verified(f->s, "alice", METHOD_EMAIL), STORE_NOTFOUND);
	assert_int_equal(store_contact_delete(f->s, "alice", METHOD_EMAIL), STORE_NOTFOUND);
	assert_int_equal(store_contact_put(f->s, "alice", &c), STORE_OK);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &g), STORE_OK);
	assert_int_equal(g.kind, METHOD_EMAIL);
	assert_int_equal(g.sealed_len, 80);
	assert_memory_equal(g.sealed, c.sealed, 80);
	assert_int_equal(g.verified, 0);
	assert_int_equal(g.updated, 1234);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_SMS, &g), STORE_NOTFOUND);
	assert_int_equal(store_contact_set_verified(f->s, "alice", METHOD_EMAIL), STORE_OK);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &g), STORE_OK);
	assert_int_equal(g.verified, 1);
	assert_true(g.updated >= before && g.updated <= time(NULL) + 1);
	/* a new value replaces the old one, unverified again */
	c.sealed[0] = 1;
	assert_int_equal(store_contact_put(f->s, "alice", &c), STORE_OK);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &g), STORE_OK);
	assert_int_equal(g.verified, 0);
	assert_int_equal(g.sealed[0], 1);
	c.kind = METHOD_TELEGRAM;
	assert_int_equal(store_contact_put(f->s, "alice", &c), STORE_OK);
	assert_int_equal(store_contact_delete(f->s, "alice", METHOD_EMAIL), STORE_OK);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &g), STORE_NOTFOUND);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_TELEGRAM, &g), STORE_OK);
	/* kinds are checked */
	assert_int_equal(store_contact_get(f->s, "alice", 7, &g), STORE_ERR);
	c.kind = -1;
	assert_int_equal(store_contact_put(f->s, "alice", &c), STORE_ERR);
}

/* ================= security question ================= */

static void test_question(void **state)
{
	struct fx *f = *state;
	struct store_question q, g;

	memset(&q, 0, sizeof(q));
	snprintf(q.question, sizeof(q.question), "Name of your first teacher?");
	snprintf(q.answer_hash, sizeof(q.answer_hash), "$argon2id$v=19$m=65536,t=2,p=1$abc$def");
	q.updated = 77;
	assert_int_equal(store_question_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_question_delete(f->s, "alice"), STORE_NOTFOUND);
	assert_int_equal(store_question_put(f->s, "alice", &q), STORE_OK);
	assert_int_equal(store_question_get(f->s, "alice", &g), STORE_OK);
	assert_string_equal(g.question, q.question);
	assert_string_equal(g.answer_hash, q.answer_hash);
	assert_int_equal(g.updated, 77);
	snprintf(q.question, sizeof(q.question), "Another?");
	assert_int_equal(store_question_put(f->s, "alice", &q), STORE_OK);
	assert_int_equal(store_question_get(f->s, "alice", &g), STORE_OK);
	assert_string_equal(g.question, "Another?");
	assert_int_equal(store_question_delete(f->s, "alice"), STORE_OK);
	assert_int_equal(store_question_get(f->s, "alice", &g), STORE_NOTFOUND);
	q.question[0] = '\0';
	assert_int_equal(store_question_put(f->s, "alice", &q), STORE_ERR);
}

/* ================= the key-check record ================= */

static void test_keycheck_store(void **state)
{
	struct fx *f = *state;
	unsigned char a[40], b[40], got[STORE_SEALED_MAX];
	size_t n = 0;

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	assert_int_equal(store_keycheck_get(f->s, got, sizeof(got), &n), STORE_NOTFOUND);
	assert_int_equal(store_keycheck_put(f->s, a, sizeof(a), 5), STORE_OK);
	/* written once: never replaced */
	assert_int_equal(store_keycheck_put(f->s, b, sizeof(b), 6), STORE_CONFLICT);
	assert_int_equal(store_keycheck_get(f->s, got, sizeof(got), &n), STORE_OK);
	assert_int_equal(n, sizeof(a));
	assert_memory_equal(got, a, sizeof(a));
	assert_int_equal(store_keycheck_get(f->s, got, 8, &n), STORE_ERR); /* does not fit */
	assert_int_equal(store_keycheck_put(f->s, a, 0, 5), STORE_ERR);
}

static void fill_key(struct seal_key *k, int seed)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < SEAL_KEY_LEN; i++) {
		k->seal[i] = (unsigned char)(seed + i);
		k->hash[i] = (unsigned char)(seed * 3 + i);
	}
}

static void test_keycheck_keys(void **state)
{
	struct fx *f = *state;
	struct seal_key k1, k2;
	struct store_totp t;
	const unsigned char secret[20] = "12345678901234567890";
	int created = -1;

	assert_true(sodium_init() >= 0);
	fill_key(&k1, 1);
	fill_key(&k2, 2);
	assert_int_equal(keycheck_verify(f->s, &k1), KEYCHECK_MISSING);
	/* a store made before the record existed, with an enrolled user sealed under k1 */
	memset(&t, 0, sizeof(t));
	assert_int_equal(
		seal_encrypt(&k1, "alice", "totp", secret, sizeof(secret), t.sealed, &t.sealed_len),
		0);
	t.algorithm = 0;
	t.digits = 6;
	t.period = 30;
	t.created = 1;
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	/* another key is refused, and nothing is sealed with it */
	assert_int_equal(keycheck_ensure(f->s, &k2, 10, &created), KEYCHECK_WRONG_KEY);
	assert_int_equal(created, 0);
	assert_int_equal(keycheck_verify(f->s, &k2), KEYCHECK_MISSING);
	/* the store's own key seals the record, once */
	assert_int_equal(keycheck_ensure(f->s, &k1, 10, &created), KEYCHECK_OK);
	assert_int_equal(created, 1);
	assert_int_equal(keycheck_ensure(f->s, &k1, 11, &created), KEYCHECK_OK);
	assert_int_equal(created, 0);
	assert_int_equal(keycheck_verify(f->s, &k1), KEYCHECK_OK);
	assert_int_equal(keycheck_verify(f->s, &k2), KEYCHECK_WRONG_KEY);
	assert_int_equal(keycheck_ensure(f->s, &k2, 12, &created), KEYCHECK_WRONG_KEY);
	seal_key_wipe(&k1);
	seal_key_wipe(&k2);
}

/* A store of schema 1 (before the key-check record) is brought up to date when opened,
 * and its version can be read before that without changing it. */
static void test_schema_migrates(void **state)
{
	struct fx *f = *state;
	long long have = -1, want = -1;
	unsigned char got[STORE_SEALED_MAX];
	size_t n = 0;

	make_store(f);
	exec_sql(f->db, SCHEMA_1_SQL);
	assert_int_equal(store_schema_peek(&f->cfg, &have, &want, f->err, sizeof(f->err)),
			 STORE_OK);
	assert_int_equal(have, 1);
	assert_int_equal(want, STORE_SQLITE_SCHEMA);
	assert_int_equal(store_schema_peek(&f->cfg, &have, &want, f->err, sizeof(f->err)),
			 STORE_OK);
	assert_int_equal(have, 1); /* peeking changed nothing */
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(store_keycheck_get(f->s, got, sizeof(got), &n), STORE_NOTFOUND);
	assert_int_equal(store_schema_peek(&f->cfg, &have, &want, f->err, sizeof(f->err)),
			 STORE_OK);
	assert_int_equal(have, STORE_SQLITE_SCHEMA);
	exec_sql(f->db, "PRAGMA application_id = 7");
	assert_int_equal(store_schema_peek(&f->cfg, &have, &want, f->err, sizeof(f->err)),
			 STORE_ERR);
	assert_err_has(f, "not a pam_recover store");
}

/* ================= one-time codes ================= */

static void test_tokens(void **state)
{
	struct fx *f = *state;
	struct store_token t1, t2, g;
	int att = -1;

	memset(&t1, 0, sizeof(t1));
	fill_hash(t1.hash, 1);
	t1.expires = 5000;
	t1.attempts = 9; /* ignored: a new code starts fresh */
	t1.used = 1;
	t2 = t1;
	fill_hash(t2.hash, 2);
	t2.expires = 6000;

	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_attempt(f->s, "alice", "email", "reset", &att),
			 STORE_NOTFOUND);
	assert_int_equal(store_token_consume(f->s, "alice", "email", "reset"), STORE_NOTFOUND);
	assert_int_equal(store_token_put(f->s, "alice", "email", "reset", &t1), STORE_OK);
	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &g), STORE_OK);
	assert_memory_equal(g.hash, t1.hash, STORE_HASH_LEN);
	assert_int_equal(g.expires, 5000);
	assert_int_equal(g.attempts, 0);
	assert_int_equal(g.used, 0);
	/* bound to channel and purpose */
	assert_int_equal(store_token_get(f->s, "alice", "sms", "reset", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "alice", "email", "verify", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "bob", "email", "reset", &g), STORE_NOTFOUND);

	assert_int_equal(store_token_attempt(f->s, "alice", "email", "reset", &att), STORE_OK);
	assert_int_equal(att, 1);
	assert_int_equal(store_token_attempt(f->s, "alice", "email", "reset", &att), STORE_OK);
	assert_int_equal(att, 2);
	/* a new code revokes the old one and starts over */
	assert_int_equal(store_token_put(f->s, "alice", "email", "reset", &t2), STORE_OK);
	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &g), STORE_OK);
	assert_memory_equal(g.hash, t2.hash, STORE_HASH_LEN);
	assert_int_equal(g.expires, 6000);
	assert_int_equal(g.attempts, 0);

	assert_int_equal(store_token_consume(f->s, "alice", "email", "reset"), STORE_OK);
	assert_int_equal(store_token_consume(f->s, "alice", "email", "reset"), STORE_CONFLICT);
	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &g), STORE_OK);
	assert_int_equal(g.used, 1);

	assert_int_equal(store_token_put(f->s, "alice", "sms", "reset", &t1), STORE_OK);
	assert_int_equal(store_token_put(f->s, "bob", "sms", "reset", &t1), STORE_OK);
	assert_int_equal(store_token_revoke_all(f->s, "alice"), STORE_OK);
	assert_int_equal(store_token_get(f->s, "alice", "sms", "reset", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "bob", "sms", "reset", &g), STORE_OK);

	/* housekeeping: expired or used codes go */
	assert_int_equal(store_token_put(f->s, "carol", "sms", "reset", &t2), STORE_OK);
	assert_int_equal(store_token_prune(f->s, 5500, &att), STORE_OK);
	assert_int_equal(att, 1); /* bob's: carol's lives until 6000 */
	assert_int_equal(store_token_get(f->s, "bob", "sms", "reset", &g), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "carol", "sms", "reset", &g), STORE_OK);

	assert_int_equal(store_token_put(f->s, "alice", "", "reset", &t1), STORE_ERR);
	assert_int_equal(store_token_put(f->s, "alice", "email", NULL, &t1), STORE_ERR);
}

/* ================= counters ================= */

static long long count_rows(struct fx *f, const char *key)
{
	sqlite3 *db = store_sqlite_db(f->s);
	sqlite3_stmt *st;
	long long n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM counters WHERE key = ?1", -1,
					    &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void test_counters(void **state)
{
	struct fx *f = *state;
	int n = -1;

	assert_int_equal(store_counter_get(f->s, "send:alice", 1000, 60, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1000, 60, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1030, 60, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_counter_hit(f->s, "send:bob", 1030, 60, &n), STORE_OK);
	assert_int_equal(n, 1); /* keys are independent */
	assert_int_equal(store_counter_get(f->s, "send:alice", 1059, 60, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_counter_get(f->s, "send:alice", 1060, 60, &n), STORE_OK);
	assert_int_equal(n, 2); /* [now - window, now] includes 1000 */
	assert_int_equal(store_counter_get(f->s, "send:alice", 1061, 60, &n), STORE_OK);
	assert_int_equal(n, 1); /* 1000 slid out */
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1091, 60, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(count_rows(f, "send:alice"), 1); /* pruned */
	/* release takes back exactly one hit made at that time */
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1091, 60, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_counter_release(f->s, "send:alice", 1091), STORE_OK);
	assert_int_equal(store_counter_get(f->s, "send:alice", 1091, 60, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_counter_release(f->s, "send:alice", 1090), STORE_NOTFOUND);
	assert_int_equal(store_counter_release(f->s, "send:bob", 1091), STORE_NOTFOUND);
	assert_int_equal(store_counter_clear(f->s, "send:alice"), STORE_OK);
	assert_int_equal(store_counter_get(f->s, "send:alice", 1091, 60, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_counter_prune(f->s, 2000, 0, &n), STORE_OK);
	assert_int_equal(n, 1); /* send:bob's one hit */
	assert_int_equal(count_rows(f, "send:bob"), 0);

	/* bounded under a flood */
	assert_int_equal(store_begin(f->s), STORE_OK);
	for (int i = 0; i < STORE_COUNTER_CAP + 20; i++)
		assert_int_equal(store_counter_hit(f->s, "flood", 5000, 3600, &n), STORE_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(n, STORE_COUNTER_CAP + 1);
	assert_int_equal(count_rows(f, "flood"), STORE_COUNTER_CAP);
	assert_int_equal(store_counter_get(f->s, "flood", 5000, 3600, &n), STORE_OK);
	assert_true(n >= STORE_COUNTER_CAP);

	assert_int_equal(store_counter_hit(f->s, "k", 1000, 0, &n), STORE_ERR);
	assert_int_equal(store_counter_hit(f->s, "", 1000, 10, &n), STORE_ERR);
	assert_int_equal(store_counter_hit(f->s, "k", INT64_MIN, 10, &n), STORE_ERR);
}

/* ================= audit ================= */

struct audit_seen {
	int n;
	struct store_audit a[8];
};

static int audit_cb(void *ctx, const struct store_audit *a)
{
	struct audit_seen *s = ctx;

	if (s->n < 8)
		s->a[s->n] = *a;
	s->n++;
	return 0;
}

static void test_audit(void **state)
{
	struct fx *f = *state;
	struct audit_seen s;
	char longdetail[600];
	time_t before = time(NULL);
	int n;

	memset(longdetail, 'd', sizeof(longdetail) - 1);
	longdetail[sizeof(longdetail) - 1] = '\0';
	assert_int_equal(store_audit_add(f->s, "alice", 1000, "enrol", "totp", "first"), STORE_OK);
	assert_int_equal(store_audit_add(f->s, "bob", 0, "reset", "email", NULL), STORE_OK);
	assert_int_equal(store_audit_add(f->s, "alice", 1000, "login", NULL, longdetail), STORE_OK);
	assert_int_equal(store_audit_add(f->s, NULL, 0, "admin-init", "", ""), STORE_OK);

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_audit_list(f->s, NULL, 0, audit_cb, &s), STORE_OK);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.a[0].event, "admin-init"); /* newest first */
	assert_string_equal(s.a[0].user, "");
	assert_string_equal(s.a[3].event, "enrol");
	assert_true(s.a[3].time >= before && s.a[3].time <= time(NULL) + 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_audit_list(f->s, "alice", 0, audit_cb, &s), STORE_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.a[0].event, "login");
	assert_string_equal(s.a[0].method, "");
	assert_int_equal(strlen(s.a[0].detail), sizeof(s.a[0].detail) - 1); /* cut to fit */
	assert_int_equal(s.a[0].ruid, 1000);
	assert_string_equal(s.a[1].event, "enrol");
	assert_string_equal(s.a[1].method, "totp");
	assert_string_equal(s.a[1].detail, "first");

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_audit_list(f->s, NULL, 1, audit_cb, &s), STORE_OK);
	assert_int_equal(s.n, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_audit_list(f->s, "nobody", 0, audit_cb, &s), STORE_OK);
	assert_int_equal(s.n, 0);

	n = -1;
	assert_int_equal(store_audit_prune(f->s, (int64_t)time(NULL) + 10, 0, &n), STORE_OK);
	assert_int_equal(n, 4);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_audit_list(f->s, NULL, 0, audit_cb, &s), STORE_OK);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_audit_add(f->s, "alice", 0, "", NULL, NULL), STORE_ERR);
	assert_int_equal(store_audit_add(f->s, "alice", 0, NULL, NULL, NULL), STORE_ERR);
}

/* ================= purge ================= */

static void populate(struct fx *f, const char *user)
{
	struct store_totp t = mk_totp(7);
	unsigned char h[1][STORE_HASH_LEN];
	struct store_app_password a;
	struct store_contact c;
	struct store_question q;
	struct store_token tk;
	int fails, locked;

	fill_hash(h[0], 5);
	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "mail");
	fill_hash(a.hash, 6);
	memset(&c, 0, sizeof(c));
	c.sealed_len = 10;
	memset(&q, 0, sizeof(q));
	snprintf(q.question, sizeof(q.question), "q?");
	snprintf(q.answer_hash, sizeof(q.answer_hash), "h");
	memset(&tk, 0, sizeof(tk));
	assert_int_equal(store_totp_put(f->s, user, &t), STORE_OK);
	assert_int_equal(store_pending_put(f->s, user, &t), STORE_OK);
	assert_int_equal(store_fail(f->s, user, 10, 5, 60, &fails, &locked), STORE_OK);
	assert_int_equal(store_backup_replace(f->s, user, h, 1), STORE_OK);
	assert_int_equal(store_app_add(f->s, user, &a), STORE_OK);
	assert_int_equal(store_contact_put(f->s, user, &c), STORE_OK);
	assert_int_equal(store_question_put(f->s, user, &q), STORE_OK);
	assert_int_equal(store_token_put(f->s, user, "email", "reset", &tk), STORE_OK);
	assert_int_equal(store_audit_add(f->s, user, 0, "enrol", "totp", ""), STORE_OK);
}

/* Pruning deletes in batches of STORE_PRUNE_BATCH (1000) rows: more than two batches all
 * go, the count is the sum of the batches, what is not old enough stays, and a max stops
 * after the batch that reached it. */
static void test_prune_batches(void **state)
{
	struct fx *f = *state;
	char key[32];
	int n = -1;

	assert_int_equal(store_begin(f->s), STORE_OK);
	for (int i = 0; i < 2 * 1000 + 5; i++)
		assert_int_equal(store_audit_add(f->s, "alice", 0, "login", NULL, NULL), STORE_OK);
	for (int k = 0; k < 3; k++) {
		snprintf(key, sizeof(key), "send:k%d", k);
		for (int i = 0; i < 900; i++)
			assert_int_equal(store_counter_hit(f->s, key, 1000 + i, 100000, &n),
					 STORE_OK);
	}
	/* one that stays: hit at 5000, and the prune takes what is older than 4000 */
	assert_int_equal(store_counter_hit(f->s, "send:late", 5000, 100000, &n), STORE_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);

	/* max: whole batches until max went */
	assert_int_equal(store_counter_prune(f->s, 4000, 1500, &n), STORE_OK);
	assert_int_equal(n, 2000);
	assert_int_equal(store_counter_prune(f->s, 4000, 0, &n), STORE_OK);
	assert_int_equal(n, 3 * 900 - 2000);
	assert_int_equal(count_rows(f, "send:k0") + count_rows(f, "send:k2"), 0);
	assert_int_equal(count_rows(f, "send:late"), 1);
	assert_int_equal(store_audit_prune(f->s, (int64_t)time(NULL) - 3600, 0, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_audit_prune(f->s, (int64_t)time(NULL) + 10, 1000, &n), STORE_OK);
	assert_int_equal(n, 1000);
	assert_int_equal(store_audit_prune(f->s, (int64_t)time(NULL) + 10, 0, &n), STORE_OK);
	assert_int_equal(n, 1000 + 5);
	assert_int_equal(store_audit_prune(f->s, (int64_t)time(NULL) + 10, 0, &n), STORE_OK);
	assert_int_equal(n, 0);
}

static void test_user_purge(void **state)
{
	struct fx *f = *state;
	struct store_totp g;
	struct store_login_state ls;
	struct store_contact c;
	struct store_question q;
	struct store_token tk;
	struct app_seen seen;
	struct audit_seen as;
	int left;

	populate(f, "alice");
	populate(f, "bob");
	assert_int_equal(store_user_purge(f->s, "alice"), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_pending_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.failures, 0);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_app_list(f->s, "alice", app_cb, &seen), STORE_OK);
	assert_int_equal(seen.n, 0);
	assert_int_equal(store_contact_get(f->s, "alice", METHOD_EMAIL, &c), STORE_NOTFOUND);
	assert_int_equal(store_question_get(f->s, "alice", &q), STORE_NOTFOUND);
	assert_int_equal(store_token_get(f->s, "alice", "email", "reset", &tk), STORE_NOTFOUND);
	assert_int_equal(store_user_purge(f->s, "alice"), STORE_NOTFOUND);
	/* the audit trail stays; bob is untouched */
	memset(&as, 0, sizeof(as));
	assert_int_equal(store_audit_list(f->s, "alice", 0, audit_cb, &as), STORE_OK);
	assert_int_equal(as.n, 1);
	assert_int_equal(store_totp_get(f->s, "bob", &g), STORE_OK);
	assert_int_equal(store_backup_count(f->s, "bob", &left), STORE_OK);
	assert_int_equal(left, 1);
	assert_int_equal(store_question_get(f->s, "bob", &q), STORE_OK);
}

/* One user, one name: a name whose case is ignored and which has no row of its own, while
 * another spelling of it is enrolled, is an error, never "not enrolled". */
struct names_seen {
	char all[512];
};

static int names_cb(void *ctx, const char *user)
{
	struct names_seen *ns = ctx;
	size_t l = strlen(ns->all);

	snprintf(ns->all + l, sizeof(ns->all) - l, "%s%s", l ? " " : "", user);
	return 0;
}

static void test_user_spellings(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(3), g;
	struct store_contact c;
	struct names_seen ns;
	sqlite3_stmt *st = NULL;

	memset(&c, 0, sizeof(c));
	c.sealed_len = 10;
	assert_int_equal(store_totp_put(f->s, "Bob@Example.com", &t), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "Bob@Example.com", &g), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "bob@example.com", &g), STORE_ERR);
	assert_non_null(strstr(store_errmsg(f->s), "another spelling"));
	assert_non_null(strstr(store_errmsg(f->s), "canonicalise-names"));
	assert_null(strstr(store_errmsg(f->s), "Bob@")); /* never a value from a row */
	{ /* the login path's read fails closed the same way */
		struct store_login_state ls;

		struct dev_seen ds;

		memset(&ds, 0, sizeof(ds));
		assert_int_equal(store_login_read(f->s, "bob@example.com", dev_cb, &ds, &ls),
				 STORE_ERR);
		assert_non_null(strstr(store_errmsg(f->s), "another spelling"));
		assert_int_equal(store_login_read(f->s, "carol@example.com", dev_cb, &ds, &ls),
				 STORE_NOTFOUND);
		assert_int_equal(ds.n, 0);
	}
	assert_int_equal(store_totp_get(f->s, "carol@example.com", &g), STORE_NOTFOUND);
	/* plain names are exact under auto: no other spelling is looked for */
	assert_int_equal(store_totp_put(f->s, "Dave", &t), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "dave", &g), STORE_NOTFOUND);
	/* exact: names as typed */
	f->cfg.user_name_case = RC_NAME_EXACT;
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "bob@example.com", &g), STORE_NOTFOUND);
	/* insensitive: plain names too */
	f->cfg.user_name_case = RC_NAME_INSENSITIVE;
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "dave", &g), STORE_ERR);
	/* every name that holds data, once, in order; audit rows do not count */
	assert_int_equal(store_contact_put(f->s, "erin@example.com", &c), STORE_OK);
	assert_int_equal(store_audit_add(f->s, "frank@example.com", 0, "x", "", ""), STORE_OK);
	populate(f, "alice");
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_user_names(f->s, names_cb, &ns), STORE_OK);
	assert_string_equal(ns.all, "Bob@Example.com Dave alice erin@example.com");
	/* the lookup is an index probe (migration 3) */
	assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(f->s),
					    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND "
					    "name = 'totp_username_lower'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	sqlite3_finalize(st);
}

/* ================= transactions, errors ================= */

static void test_transactions(void **state)
{
	struct fx *f = *state;
	struct store_totp t = mk_totp(8), g;
	struct store_login_state ls;

	assert_int_equal(store_commit(f->s), STORE_ERR); /* none open */
	store_rollback(f->s);                            /* harmless */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_begin(f->s), STORE_ERR); /* no nesting */
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 3), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 3), STORE_CONFLICT);
	store_rollback(f->s);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, -1);

	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 3), STORE_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, 3);

	/* seen by another connection only after commit */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 4), STORE_OK);
	{
		struct store *o = NULL;

		assert_int_equal(store_open(&f->cfg, 0, &o, f->err, sizeof(f->err)), STORE_OK);
		assert_int_equal(store_state_get(o, "alice", &ls), STORE_OK);
		assert_int_equal(ls.last_step, 3);
		assert_int_equal(store_commit(f->s), STORE_OK);
		assert_int_equal(store_state_get(o, "alice", &ls), STORE_OK);
		assert_int_equal(ls.last_step, 4);
		store_close(o);
	}
	/* closing with an open transaction rolls it back */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 10), STORE_OK);
	assert_int_equal(reopen(f, 0), STORE_OK);
	assert_int_equal(store_state_get(f->s, "alice", &ls), STORE_OK);
	assert_int_equal(ls.last_step, 4);
}

/* store_begin_snapshot (admin copy-store's source): one snapshot to its end, and writers
 * on other connections go on meanwhile (no write lock: they do not wait 5 s and fail). */
static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct store *o = NULL;
	size_t ti = 0;
	long long rows = -1;
	int n = 0;

	while (ti < store_n_tables && strcmp(store_tables[ti].name, "counters") != 0)
		ti++;
	assert_true(ti < store_n_tables);
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1000, 60, &n), STORE_OK);
	assert_int_equal(store_open(&f->cfg, 0, &o, f->err, sizeof(f->err)), STORE_OK);
	assert_int_equal(store_begin_snapshot(o), STORE_OK);
	assert_int_equal(store_begin_snapshot(o), STORE_ERR); /* no nesting */
	assert_int_equal(store_begin(o), STORE_ERR);
	assert_int_equal(store_table_count(o, ti, &rows), STORE_OK);
	assert_int_equal(rows, 1);
	assert_int_equal(store_counter_hit(f->s, "send:alice", 1001, 60, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_begin(f->s), STORE_OK); /* a writer's transaction too */
	assert_int_equal(store_counter_hit(f->s, "send:bob", 1001, 60, &n), STORE_OK);
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(store_table_count(o, ti, &rows), STORE_OK);
	assert_int_equal(rows, 1); /* still the snapshot's moment */
	store_rollback(o);
	assert_int_equal(store_table_count(o, ti, &rows), STORE_OK);
	assert_int_equal(rows, 3);
	store_close(o);
}

static void test_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct store_totp g;
	struct store_login_state ls;
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_totp_get(f->s, NULL, &g), STORE_ERR);
	assert_int_equal(store_totp_get(f->s, "", &g), STORE_ERR);
	assert_int_equal(store_totp_get(f->s, longname, &g), STORE_ERR);
	assert_null(strstr(store_errmsg(f->s), "aaaa"));
	assert_int_equal(store_totp_get(f->s, "alice", NULL), STORE_ERR);
	assert_int_equal(store_state_get(NULL, "alice", &ls), STORE_ERR);
	assert_int_equal(store_totp_list(f->s, NULL, NULL), STORE_ERR);
	longname[128] = '\0'; /* 128 bytes is the limit, and fine */
	assert_int_equal(store_step_cas(f->s, longname, 1), STORE_OK);
	/* names are data, not SQL */
	assert_int_equal(store_step_cas(f->s, "x'; DROP TABLE totp; --", 1), STORE_OK);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_NOTFOUND);
	store_close(NULL);
}

/* A full disk (here: a page limit) fails cleanly and writes nothing half. */
static void test_disk_full(void **state)
{
	struct fx *f = *state;
	unsigned char(*many)[STORE_HASH_LEN] = calloc(600, STORE_HASH_LEN);
	unsigned char old[2][STORE_HASH_LEN];
	struct store_totp t = mk_totp(9), g;
	sqlite3 *db = store_sqlite_db(f->s);
	sqlite3_stmt *st;
	long long pages;
	int left = -1;

	assert_non_null(many);
	fill_hash(old[0], 1);
	fill_hash(old[1], 2);
	for (int i = 0; i < 600; i++) {
		fill_hash(many[i], 100);
		many[i][0] = (unsigned char)i;
		many[i][1] = (unsigned char)(i >> 8);
	}
	assert_int_equal(store_backup_replace(f->s, "alice", old, 2), STORE_OK);
	assert_int_equal(store_totp_put(f->s, "alice", &t), STORE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	pages = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	/* 600 codes need new pages: the whole replacement fails, the old set stays */
	assert_int_equal(store_backup_replace(f->s, "alice", many, 600), STORE_ERR);
	assert_non_null(strstr(store_errmsg(f->s), "full"));
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 2);
	assert_int_equal(store_backup_use(f->s, "alice", old[0], 5), STORE_OK);

	/* inside a transaction: the failed step is undone, the caller rolls back */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_step_cas(f->s, "alice", 77), STORE_OK);
	assert_int_equal(store_backup_replace(f->s, "alice", many, 600), STORE_ERR);
	store_rollback(f->s);
	assert_int_equal(store_backup_count(f->s, "alice", &left), STORE_OK);
	assert_int_equal(left, 1);
	assert_int_equal(store_totp_get(f->s, "alice", &g), STORE_OK);
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_create, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_schema_version, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_missing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_dir_mode, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_file_mode, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_owner, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_symlink_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_symlink_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_fifo_and_links, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_future_schema, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_foreign_and_empty, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_garbage, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_open_specs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_totp, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_devices, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_totp_put_resets_state, fx_setup_open,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_totp_delete_clears_2fa, fx_setup_open,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_state_cas, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fail_lock_unlock, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_fail_after_lock_expiry, fx_setup_open,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_login_read_try, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_login_clean_state, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_app_passwords, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_backup_state, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_app_match_look_only, fx_setup_open,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_reuse, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_6, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_1, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_contacts, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_question, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keycheck_store, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_keycheck_keys, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_schema_migrates, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tokens, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_counters, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_audit, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_prune_batches, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_user_purge, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_user_spellings, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_transactions, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, fx_setup_open, fx_teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, fx_setup_open, fx_teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_store: needs root (the store must be root's); skipped\n");
		return 77; /* automake: skipped */
	}
	return rc_run_group_tests("store", tests, NULL, NULL);
}
