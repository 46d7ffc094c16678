/* Retention (see retention.h) and `pam-recover admin prune`. */
#include "retention.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "helper.h"
#include "out.h"

#define DAY 86400

int retention_counter_horizon(const struct cfg *c)
{
	/* The windows counters are read with: 60 s (check), an hour and a day (send quotas,
	 * question tries), unlock_time or 900 s (locks), prune_interval (RETENTION_KEY, which
	 * prunes its own rows at each hit). A counter that is read with a longer window must
	 * be added here. */
	return c->unlock_time > DAY ? c->unlock_time : DAY;
}

int retention_prune(struct store *s, const struct cfg *c, long ruid, int64_t now, int max,
		    struct retention_totals *t)
{
	char detail[96];
	int r = -1;

	memset(t, 0, sizeof(*t));
	t->counters_before = now - retention_counter_horizon(c) - RETENTION_CLOCK_MARGIN;
	t->tokens_before = now - RETENTION_CLOCK_MARGIN;
	if (c->audit_retention_days > 0) {
		t->audit_before = now - (int64_t)c->audit_retention_days * DAY;
		if (store_audit_prune(s, t->audit_before, max, &t->audit) != STORE_OK)
			goto out;
	}
	if (store_counter_prune(s, t->counters_before, max, &t->counters) != STORE_OK ||
	    store_token_prune(s, t->tokens_before, &t->tokens) != STORE_OK)
		goto out;
	/* A batch that reached max may have left rows: the next turn finds out. */
	t->cut = max > 0 && (t->audit >= max || t->counters >= max);
	r = 0;
out:
	/* Audit history going is itself audited, also when a later step failed. */
	if (t->audit > 0 && (rc_snprintf(detail, sizeof(detail), "audit=%d counters=%d tokens=%d",
					 t->audit, t->counters, t->tokens) < 0 ||
			     store_audit_add(s, NULL, ruid, "prune", NULL, detail) != STORE_OK))
		r = -1;
	return r;
}

/* Take the turn to prune: 1 if this caller is the first within prune_interval, 0 if
 * not, -1 on a store error. */
static int take_turn(struct store *s, const struct cfg *c, int64_t now)
{
	int n = 0;

	if (store_counter_get(s, RETENTION_KEY, now, c->prune_interval, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0; /* read only: the common case writes nothing */
	if (store_counter_hit(s, RETENTION_KEY, now, c->prune_interval, &n) != STORE_OK)
		return -1;
	return n == 1; /* a parallel caller hit first: it prunes */
}

int retention_maybe(struct store *s, const struct cfg *c, long ruid, int64_t now)
{
	struct retention_totals t;
	int r;

	if (c->prune_interval <= 0)
		return 0;
	r = take_turn(s, c, now);
	if (r <= 0) {
		if (r < 0)
			syslog(LOG_ERR, "prune: store error: %s", store_errmsg(s));
		return r;
	}
	if (retention_prune(s, c, ruid, now, RETENTION_AUTO_MAX, &t) != 0) {
		syslog(LOG_ERR, "prune: store error: %s", store_errmsg(s));
		return -1;
	}
	/* Cut short: give the turn back, so that the next verb goes on with the backlog. */
	if (t.cut && store_counter_clear(s, RETENTION_KEY) != STORE_OK)
		syslog(LOG_ERR, "prune: store error: %s", store_errmsg(s));
	if (t.audit > 0 || t.counters > 0 || t.tokens > 0)
		syslog(LOG_INFO, "prune: removed %d audit events, %d counter rows, %d codes",
		       t.audit, t.counters, t.tokens);
	return 1;
}

/* ---- pam-recover admin prune ---- */

static const char prune_usage[] =
	"Usage: pam-recover admin prune [--json]\n"
	"  Remove now what the store keeps only for a while: audit events older than\n"
	"  audit_retention_days (none when it is 0); one-time codes that were used; counter\n"
	"  rows of rate limits and locks, and one-time codes, a day after their window or\n"
	"  expiry has passed (a margin for clocks that differ).\n"
	"  Prints what it removed. Exit status 0, or 74 on a store error (what was removed\n"
	"  before it stays removed).\n";

int admin_prune(struct hctx *h, int argc, char **argv)
{
	char *pos[1] = {NULL};
	char when[40] = "";
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;
	struct retention_totals t;
	int64_t now = rc_now();
	int npos = 0, r;

	memset(&k, 0, sizeof(k));
	r = hx_parse_opts(h, "admin prune", argc, argv, NULL, 0, pos, 0, &npos);
	if (r == HX_PARSE_HELP) {
		out_text(prune_usage);
		return HX_OK;
	}
	if (r != 0)
		return r;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;
	if (retention_prune(s, &c, h->ruid, now, 0, &t) != 0) {
		r = out_fail(HX_IOERR,
			     "admin prune: store error: %s (removed %d audit events, %d counter "
			     "rows, %d codes before it)",
			     store_errmsg(s), t.audit, t.counters, t.tokens);
		goto out;
	}
	/* The helper's own pruning after this verb need not run again so soon. */
	if (c.prune_interval > 0 && take_turn(s, &c, now) < 0)
		syslog(LOG_ERR, "prune: store error: %s", store_errmsg(s));
	int kept = c.audit_retention_days == 0; /* audit_before means nothing then */

	if (!kept)
		hx_time_iso(t.audit_before, when, sizeof(when));
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_int(o, "audit", t.audit);
		oj_int(o, "counters", t.counters);
		oj_int(o, "tokens", t.tokens);
		oj_str(o, "audit_before", kept ? NULL : when);
		out_json(o);
	} else {
		printf("%d audit events", t.audit);
		if (!kept)
			printf(" (older than %s)", when);
		else
			printf(" (audit_retention_days = 0: kept for ever)");
		printf(", %d counter rows, %d one-time codes removed\n", t.counters, t.tokens);
	}
	r = HX_OK;
out:
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
	return r;
}
