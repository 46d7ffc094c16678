/*
 * `admin copy-store URI`: copy everything from the configured store into an empty store at
 * URI (any backend to any: sqlite:/PATH or postgresql://...), and check that every table
 * holds as many rows at URI as in the source. The destination is created (schema brought to
 * the current version) if needed and filled in one transaction that is committed only after
 * the check: any failure, the check's included, rolls it back and leaves it empty, so the
 * same command can simply be run again.
 * The source is read in one snapshot (store_begin_snapshot: SQLite's read transaction in
 * WAL mode, PostgreSQL's REPEATABLE READ READ ONLY), and its rows are counted in that same
 * snapshot: the copy is the store as it was at one moment. Logins do not wait for the copy
 * and go on writing the source; what they write after that moment is not in the copy (so
 * switch the hosts over right after it, or stop logins first to lose nothing). The sealed
 * values are copied as they are: every host that uses URI needs the same key_file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "helper.h"
#include "out.h"

struct copy {
	struct store *to;
	size_t table;
	long long rows;
	int failed;
};

static int copy_row(void *ctx, const struct store_val *v)
{
	struct copy *cp = ctx;

	if (store_table_put(cp->to, cp->table, v) != STORE_OK) {
		cp->failed = 1;
		return 1;
	}
	cp->rows++;
	return 0;
}

/* The destination must hold no row in any table. 0, or an exit status. */
static int dest_empty(struct store *to, const char *uri)
{
	for (size_t t = 0; t < store_n_tables; t++) {
		long long n = 0;

		if (store_table_count(to, t, &n) != STORE_OK)
			return out_fail(HX_IOERR, "admin copy-store: cannot read %s: %s", uri,
					store_errmsg(to));
		if (n != 0)
			return out_fail(
				HX_DATAERR,
				"admin copy-store: the destination %s is not empty (table %s "
				"holds %lld rows); copy only into a new, empty store",
				uri, store_tables[t].name, n);
	}
	return 0;
}

int admin_copy_store(struct hctx *h, int argc, char **argv)
{
	struct cfg c, dc;
	struct store *from = NULL, *to = NULL;
	char err[512] = "", why[256] = "";
	char *pos[1] = {NULL};
	long long total = 0;
	int done = HX_USAGE, r, from_tx = 0, to_tx = 0;

	if (admin_parse(h, "copy-store", argc, argv, NULL, 0, pos, 1, &done) != 0)
		return done;
	if (cfg_check_store(pos[0], why, sizeof(why)) != NULL)
		return out_fail(HX_USAGE, "admin copy-store: the destination %s",
				cfg_check_store(pos[0], why, sizeof(why)));
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	dc = c;
	dc.store = pos[0];
	if (strcmp(c.store, pos[0]) == 0) {
		r = out_fail(HX_USAGE, "admin copy-store: the destination is the configured store");
		goto out;
	}
	if (store_open(&c, STORE_DURABLE, &from, err, sizeof(err)) != STORE_OK) {
		from = NULL;
		r = out_fail(HX_IOERR, "admin copy-store: cannot open the store %s: %s", c.store,
			     err);
		goto out;
	}
	if (store_open(&dc, STORE_CREATE | STORE_DURABLE, &to, err, sizeof(err)) != STORE_OK) {
		to = NULL;
		r = out_fail(HX_CANTCREAT, "admin copy-store: cannot open or create %s: %s", pos[0],
			     err);
		goto out;
	}
	if (store_begin_snapshot(from) != STORE_OK) {
		r = out_fail(HX_IOERR, "admin copy-store: cannot read %s: %s", c.store,
			     store_errmsg(from));
		goto out;
	}
	from_tx = 1;
	if (store_begin(to) != STORE_OK) {
		r = out_fail(HX_IOERR, "admin copy-store: cannot write %s: %s", pos[0],
			     store_errmsg(to));
		goto out;
	}
	to_tx = 1;
	if ((r = dest_empty(to, pos[0])) != 0)
		goto out;
	/* Each table copied, then counted on both sides before anything is committed: in the
	 * source's snapshot (the rows just read) and at URI inside the copy's transaction. */
	for (size_t t = 0; t < store_n_tables; t++) {
		struct copy cp = {to, t, 0, 0};
		long long a = -1, b = -2;

		if (store_table_rows(from, t, copy_row, &cp) != STORE_OK || cp.failed) {
			r = out_fail(HX_IOERR,
				     "admin copy-store: copying table %s failed (nothing was "
				     "written to %s): %s",
				     store_tables[t].name, pos[0],
				     store_errmsg(cp.failed ? to : from));
			goto out;
		}
		total += cp.rows;
		if (store_table_count(from, t, &a) != STORE_OK ||
		    store_table_count(to, t, &b) != STORE_OK) {
			r = out_fail(HX_IOERR,
				     "admin copy-store: counting the rows of table %s failed "
				     "(nothing was written to %s): %s",
				     store_tables[t].name, pos[0], store_errmsg(a < 0 ? from : to));
			goto out;
		}
		if (a != cp.rows || b != cp.rows) {
			r = out_fail(HX_SOFTWARE,
				     "admin copy-store: table %s: %lld rows in the source (%lld "
				     "read), %lld at %s after the copy: the copy was rolled back "
				     "and nothing was written there; find what adds or drops rows "
				     "there (another writer, a trigger), then run the copy again",
				     store_tables[t].name, a, cp.rows, b, pos[0]);
			goto out;
		}
	}
	to_tx = 0;
	if (store_commit(to) != STORE_OK) {
		r = out_fail(HX_IOERR, "admin copy-store: cannot commit the copy to %s: %s", pos[0],
			     store_errmsg(to));
		goto out;
	}
	from_tx = 0;
	store_rollback(from); /* a read-only snapshot: nothing to commit */
	if (out_json_mode()) {
		struct json_object *o = oj_object();

		oj_bool(o, "ok", 1);
		oj_str(o, "store", pos[0]);
		oj_int(o, "rows", total);
		oj_int(o, "tables", (int64_t)store_n_tables);
		out_json(o);
	} else {
		out_info("copied %lld rows in %zu tables to %s; row counts checked", total,
			 store_n_tables, pos[0]);
		out_info("next: the same key_file on every host, store = %s in pam_recover.conf, "
			 "then `pam-recover admin doctor`",
			 pos[0]);
	}
	r = HX_OK;
out:
	if (to_tx)
		store_rollback(to);
	if (from_tx)
		store_rollback(from);
	store_close(to);
	store_close(from);
	cfg_free(&c);
	return r;
}
