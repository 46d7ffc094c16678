/*
 * When the SQLite store checkpoints its WAL (store_sqlite.c, wal_committed): the rule for
 * one commit, and, on a real store with a counting VFS under it, how many fsyncs many
 * commits cost while a reader keeps a snapshot open (as parallel logins do), and that the
 * WAL stays short when nobody reads. Runs as root (the store must be root's).
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_select.h"
#include "scratch.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_sqlite.h"

#define EVERY 64    /* WAL_CHECKPOINT_FRAMES */
#define COMMITS 400 /* one audit row each */
#define FRAME 4120  /* a 4096-byte page and its 24-byte frame header */
#define WAL_HEADER 32

/* ---- a VFS that counts syncs and the pages written to WALs, then does the real thing ---- */

static sqlite3_vfs counting;
static sqlite3_vfs *real;
static int syncs, wal_pages, kinds_over;

/* Each kind of file the real VFS opens (its methods), wrapped twice: as a WAL and not. */
#define KINDS 8
static struct kind {
	const sqlite3_io_methods *real;
	sqlite3_io_methods wal, other;
} kinds[KINDS];
static int nkinds;

/* The real methods of a file: kept after the real VFS's own part of it (szOsFile). */
static const sqlite3_io_methods *real_of(sqlite3_file *f)
{
	const sqlite3_io_methods *m;

	memcpy(&m, (char *)f + real->szOsFile, sizeof(m));
	return m;
}

static int count_sync(sqlite3_file *f, int flags)
{
	syncs++;
	return real_of(f)->xSync(f, flags);
}

static int count_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (n == 4096)
		wal_pages++;
	return real_of(f)->xWrite(f, buf, n, off);
}

static struct kind *kind_of(const sqlite3_io_methods *m)
{
	for (int i = 0; i < nkinds; i++)
		if (kinds[i].real == m)
			return &kinds[i];
	if (nkinds == KINDS)
		return NULL;
	kinds[nkinds].real = m;
	kinds[nkinds].wal = *m;
	kinds[nkinds].wal.xSync = count_sync;
	kinds[nkinds].wal.xWrite = count_write;
	kinds[nkinds].other = *m;
	kinds[nkinds].other.xSync = count_sync;
	return &kinds[nkinds++];
}

static int count_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		      int *out_flags)
{
	int rc = real->xOpen(real, name, f, flags, out_flags);
	struct kind *k;

	(void)vfs;
	if (rc != SQLITE_OK || f->pMethods == NULL)
		return rc;
	k = kind_of(f->pMethods);
	if (k == NULL) { /* not counted, and said */
		kinds_over++;
		return rc;
	}
	memcpy((char *)f + real->szOsFile, &f->pMethods, sizeof(f->pMethods));
	f->pMethods = (flags & SQLITE_OPEN_WAL) ? &k->wal : &k->other;
	return rc;
}

static int vfs_setup(void **state)
{
	(void)state;
	real = sqlite3_vfs_find(NULL);
	if (real == NULL)
		return -1;
	counting = *real;
	counting.zName = "rc-counting";
	counting.szOsFile = real->szOsFile + (int)sizeof(const sqlite3_io_methods *);
	counting.xOpen = count_open;
	counting.pNext = NULL;
	return sqlite3_vfs_register(&counting, 1) == SQLITE_OK ? 0 : -1;
}

static int vfs_teardown(void **state)
{
	(void)state;
	sqlite3_vfs_unregister(&counting);
	return 0;
}

/* ---- a store in a scratch directory ---- */

struct fx {
	char dir[64];
	char spec[160];
	struct cfg cfg;
	struct store *s;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (scratch_make(f->dir, sizeof(f->dir), "test_checkpoint") != 0 ||
	    scratch_store_open(f->dir, &f->cfg, f->spec, sizeof(f->spec), &f->s) != STORE_OK) {
		scratch_remove(f->dir); /* a no-op when it was not made */
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	scratch_store_close(f->s, f->dir);
	free(f);
	return 0;
}

static void add_row(struct fx *f, int i)
{
	char detail[32];

	snprintf(detail, sizeof(detail), "row %d", i);
	assert_int_equal(store_audit_add(f->s, "alice", 0, "test", NULL, detail), STORE_OK);
}

static long wal_size(const struct fx *f)
{
	char wal[160];
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", f->spec + strlen("sqlite:"));
	return stat(wal, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- the tests ---- */

static void test_rule(void **state)
{
	(void)state;
	assert_false(store_sqlite_checkpoint_due(63, 3, EVERY)); /* under the limit */
	assert_true(store_sqlite_checkpoint_due(64, 3, EVERY));  /* reaches it */
	assert_true(store_sqlite_checkpoint_due(66, 3, EVERY));  /* crosses it */
	assert_false(store_sqlite_checkpoint_due(67, 3, EVERY)); /* already past: not again */
	assert_false(store_sqlite_checkpoint_due(127, 6, EVERY));
	assert_true(store_sqlite_checkpoint_due(130, 6, EVERY)); /* the next multiple */
	assert_true(store_sqlite_checkpoint_due(640, 1, EVERY));
	assert_true(store_sqlite_checkpoint_due(300, 0, EVERY)); /* unknown: SQLite's rule */
	assert_true(store_sqlite_checkpoint_due(300, -1, EVERY));
	assert_false(store_sqlite_checkpoint_due(10, 20, EVERY)); /* more written than there */
	assert_true(store_sqlite_checkpoint_due(70, 80, EVERY));
	assert_false(store_sqlite_checkpoint_due(1000, 3, 0)); /* no limit: never */
}

/*
 * A reader that always holds the snapshot of the commit before (what parallel logins
 * do): every checkpoint can copy a little more and never finish. SQLite's own
 * wal_autocheckpoint then tried at every commit past its limit, two fsyncs each (about
 * 2 x COMMITS here); one try per EVERY frames written costs at most two per multiple.
 */
static void test_lagging_reader(void **state)
{
	struct fx *f = *state;
	sqlite3 *reader = NULL;
	int bound;

	assert_int_equal(
		sqlite3_open_v2(f->spec + strlen("sqlite:"), &reader, SQLITE_OPEN_READONLY, NULL),
		SQLITE_OK);
	syncs = wal_pages = 0;
	for (int i = 0; i < COMMITS; i++) {
		if (!sqlite3_get_autocommit(reader))
			assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL),
					 SQLITE_OK);
		assert_int_equal(
			sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM audit", NULL, NULL, NULL),
			SQLITE_OK);
		add_row(f, i);
	}
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	assert_int_equal(kinds_over, 0);
	bound = 2 * (wal_pages / EVERY + 1);
	print_message("    %d commits, %d pages to the WAL: %d fsyncs (at most %d)\n", COMMITS,
		      wal_pages, syncs, bound);
	assert_true(wal_pages >= COMMITS);
	assert_true(syncs <= bound);
}

/* Nobody reading: every checkpoint finishes and the WAL starts over, so it never holds
 * much more than EVERY frames (plus the commit that crossed). */
static void test_wal_stays_short(void **state)
{
	struct fx *f = *state;
	long size;

	for (int i = 0; i < COMMITS; i++)
		add_row(f, i);
	size = wal_size(f);
	print_message("    %d commits: the WAL file is %ld bytes\n", COMMITS, size);
	assert_true(size > 0);
	assert_true(size <= WAL_HEADER + (long)(EVERY + 16) * FRAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test_setup_teardown(test_lagging_reader, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_wal_stays_short, fx_setup, fx_teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr,
			"test_checkpoint: needs root (the store must be root's); skipped\n");
		return 77; /* automake: skipped */
	}
	return rc_run_group_tests("checkpoint", tests, vfs_setup, vfs_teardown);
}
