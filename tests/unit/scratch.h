/*
 * A scratch directory for the C tests that need files (a store, its directory): made
 * under /tmp with mkdtemp (0700) and removed with everything in it; and a new SQLite
 * store in it.
 */
#ifndef RC_TESTS_SCRATCH_H
#define RC_TESTS_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "config.h"
#include "store.h"

static int scratch_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* dir: at least 64 bytes; name: the test's name, part of the directory's. 0 or -1. */
static inline int scratch_make(char *dir, size_t size, const char *name)
{
	if ((size_t)snprintf(dir, size, "/tmp/%s.XXXXXX", name) >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static inline void scratch_remove(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, scratch_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new store at DIR/db/state.db: spec (size n) holds its "sqlite:" spec, c->store points
 * at it. STORE_OK, or the error on stderr. */
static inline int scratch_store_open(const char *dir, struct cfg *c, char *spec, size_t n,
				     struct store **out)
{
	char err[256];

	if ((size_t)snprintf(spec, n, "sqlite:%s/db/state.db", dir) >= n)
		return STORE_ERR;
	c->store = spec;
	if (store_open(c, STORE_CREATE, out, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", err);
		return STORE_ERR;
	}
	return STORE_OK;
}

/* Close the store (NULL: none) and remove the directory. */
static inline void scratch_store_close(struct store *s, const char *dir)
{
	store_close(s);
	scratch_remove(dir);
}

#endif
