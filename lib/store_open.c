/*
 * store_open and store_schema_peek: the one place that picks a backend from cfg->store
 * (above the backends, which sit below store.c).
 */
#include <string.h>

#include "store.h"
#include "store_backend.h"

#define SCHEME_SQLITE "sqlite:"
#define SCHEME_PG1 "postgresql://"
#define SCHEME_PG2 "postgres://"

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int store_is_server(const struct cfg *cfg)
{
	return cfg != NULL && cfg->store != NULL &&
	       (has_prefix(cfg->store, SCHEME_PG1) || has_prefix(cfg->store, SCHEME_PG2));
}

int store_open(const struct cfg *cfg, int flags, struct store **out, char *err, size_t errlen)
{
	int r = STORE_ERR;

	store_put_err(err, errlen, "store_open: unknown error");
	if (out == NULL) {
		store_put_err(err, errlen, "store_open: no place for the result");
		goto out;
	}
	*out = NULL;
	if (cfg == NULL || cfg->store == NULL || cfg->store[0] == '\0') {
		store_put_err(err, errlen, "no store is configured (set store = sqlite:/PATH)");
		goto out;
	}
	if ((flags & ~(STORE_CREATE | STORE_DURABLE)) != 0) {
		store_put_err(err, errlen, "store_open: unknown flags");
		goto out;
	}
	if (has_prefix(cfg->store, SCHEME_SQLITE)) {
		r = store_sqlite_open(cfg->store + strlen(SCHEME_SQLITE), flags, out, err, errlen);
	} else if (has_prefix(cfg->store, SCHEME_PG1) || has_prefix(cfg->store, SCHEME_PG2)) {
#ifdef HAVE_LIBPQ
		r = store_pg_open(cfg->store, flags, out, err, errlen);
#else
		store_put_err(err, errlen,
			      "this pam_recover was built without the PostgreSQL backend "
			      "(configure --with-postgresql; use store = sqlite:/PATH)");
#endif
	} else {
		/* The value is not echoed: a mistyped URI may carry a password. */
		store_put_err(err, errlen,
			      "unknown store type in 'store' (expected sqlite:/absolute/path or "
			      "postgresql://...)");
	}
	if (r == STORE_OK && *out != NULL)
		(*out)->name_case = cfg->user_name_case;
	if (r != STORE_OK && *out != NULL) {
		store_close(*out);
		*out = NULL;
	}
out:
	if (r != STORE_OK)
		r = STORE_ERR;
	return r;
}

int store_schema_peek(const struct cfg *cfg, long long *have, long long *want, char *err,
		      size_t errlen)
{
	if (have == NULL || want == NULL) {
		store_put_err(err, errlen, "store_schema_peek: no place for the result");
		return STORE_ERR;
	}
	*have = *want = 0;
#ifdef HAVE_LIBPQ
	if (cfg != NULL && cfg->store != NULL &&
	    (has_prefix(cfg->store, SCHEME_PG1) || has_prefix(cfg->store, SCHEME_PG2)))
		return store_pg_peek_uri(cfg->store, have, want, err, errlen) == 0 ? STORE_OK
										   : STORE_ERR;
#endif
	if (cfg == NULL || cfg->store == NULL || !has_prefix(cfg->store, SCHEME_SQLITE)) {
		store_put_err(err, errlen,
			      "only an sqlite: or postgresql:// store has a schema "
			      "version to read");
		return STORE_ERR;
	}
	return store_sqlite_peek(cfg->store + strlen(SCHEME_SQLITE), have, want, err, errlen) == 0
		       ? STORE_OK
		       : STORE_ERR;
}
