/* libpq, loaded on first use (store_pg_lib.h), and what its failures mean for the user. */
#include "store_pg_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store_backend.h"

/* libpq's soname: the one library of the package libpq5. */
#define PQ_SONAME "libpq.so.5"

struct store_pg_lib store_pg_lib;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_loaded;           /* 1 when every function was found */
static char pq_error[200] = ""; /* why not, for every later caller */

/* One function of libpq into its slot of store_pg_lib; *missing names the first absent. */
static void pq_resolve(void *h, const char *name, void *slot, const char **missing)
{
	void *sym = *missing == NULL ? dlsym(h, name) : NULL;

	if (sym == NULL && *missing == NULL)
		*missing = name;
	/* POSIX: a function's address comes back from dlsym as a void *. */
	memcpy(slot, &sym, sizeof(sym));
}

static void pq_load_once(void)
{
	/* RTLD_NOW: a missing symbol is found here, not in the middle of a login. */
	void *h = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (h == NULL) {
		const char *e = dlerror();

		snprintf(pq_error, sizeof(pq_error),
			 "cannot load %s (install the Debian package "
			 "libpq5): %.120s",
			 PQ_SONAME, e != NULL ? e : "not found");
		return;
	}
#define STORE_PG_RESOLVE(f, m) pq_resolve(h, #f, &store_pg_lib.m, &missing);
	STORE_PG_FUNCS(STORE_PG_RESOLVE)
#undef STORE_PG_RESOLVE
	if (missing != NULL) {
		snprintf(pq_error, sizeof(pq_error), "%s has no %s (too old a libpq5)", PQ_SONAME,
			 missing);
		memset(&store_pg_lib, 0, sizeof(store_pg_lib));
		dlclose(h);
		return;
	}
	pq_loaded = 1; /* the handle stays open for the life of the process */
}

int store_pg_load(char *err, size_t errlen)
{
	if (pthread_once(&pq_once, pq_load_once) != 0 || !pq_loaded) {
		store_put_err(err, errlen, "the PostgreSQL store: %s",
			      pq_error[0] ? pq_error : "cannot load libpq");
		return -1;
	}
	return 0;
}

const char *store_pg_why(PGconn *c, const PGresult *res)
{
	const char *m = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (c == NULL || PQstatus(c) == CONNECTION_BAD)
		return "the PostgreSQL server is unreachable or closed the connection (is it "
		       "running? see its log)";
	if (res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state != NULL && strcmp(state, "57014") == 0)
			return "the PostgreSQL server did not answer in time (statement_timeout)";
		if (state != NULL && strcmp(state, "55P03") == 0)
			return "a row stayed locked by another session for too long (lock_timeout)";
		if (state != NULL && strcmp(state, "25P02") == 0)
			return "the transaction was aborted by an earlier error; nothing was written "
			       "(roll back)";
	}
	if (m != NULL && m[0] != '\0')
		return m; /* the primary message names objects, never values */
	return "the PostgreSQL server gave no answer";
}
