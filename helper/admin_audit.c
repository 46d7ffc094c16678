/* `pam-recover admin audit [USER] [--limit N]`: the audit events, newest first (root only). */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "out.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 1000000

static const char audit_usage[] =
	"Usage: pam-recover admin audit [USER] [--limit N] [--json]\n"
	"  The audit events (enrolments, backup codes, app passwords, resets, admin changes),\n"
	"  newest first: time, user, the caller (by account name; #UID for a uid without\n"
	"  one), event, method, detail. Never a secret. USER: only that user's events.\n"
	"  --limit N: at most N events (default 100, 0 = all).\n";

struct audit_ctx {
	struct json_object *arr;
	int count;
};

/* The caller's account name for a real uid ("#UID" when it has none now). */
static void caller_name(long ruid, char *out, size_t n)
{
	const struct passwd *pw = ruid >= 0 ? getpwuid((uid_t)ruid) : NULL;

	if (pw == NULL || rc_snprintf(out, n, "%s", pw->pw_name) < 0)
		snprintf(out, n, "#%ld", ruid);
}

static int audit_one(void *vctx, const struct store_audit *a)
{
	struct audit_ctx *ctx = vctx;
	char when[40], user[HX_USER_MAX], detail[256], by[HX_USER_MAX], byesc[HX_USER_MAX];

	ctx->count++;
	if (ctx->arr != NULL) {
		struct json_object *o = oj_object();
		hx_time_iso(a->time, when, sizeof(when));
		oj_str(o, "time", when);
		oj_str(o, "user", a->user);
		oj_int(o, "ruid", a->ruid);
		caller_name(a->ruid, by, sizeof(by));
		oj_str(o, "caller", by[0] != '#' ? by : NULL);
		oj_str(o, "event", a->event);
		oj_str(o, "method", a->method);
		oj_str(o, "detail", a->detail);
		oj_push(ctx->arr, o);
		return 0;
	}
	if (ctx->count == 1)
		printf("%-20s %-24s %-12s %-20s %-8s %s\n", "TIME", "USER", "BY", "EVENT", "METHOD",
		       "DETAIL");
	hx_time_human(a->time, when, sizeof(when));
	rc_log_escape(a->user, user, sizeof(user));
	rc_log_escape(a->detail, detail, sizeof(detail));
	caller_name(a->ruid, by, sizeof(by));
	rc_log_escape(by, byesc, sizeof(byesc));
	printf("%-20s %-24s %-12s %-20s %-8s %s\n", when, user[0] != '\0' ? user : "-", byesc,
	       a->event, a->method[0] != '\0' ? a->method : "-", detail);
	return 0;
}

int admin_audit(struct hctx *h, int argc, char **argv)
{
	const char *limit_s = NULL;
	const struct hx_opt opts[] = {{"limit", &limit_s, NULL}};
	char *pos[1] = {NULL};
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct audit_ctx ctx = {NULL, 0};
	struct json_object *o = NULL;
	long limit = AUDIT_LIMIT_DEFAULT;
	int npos = 0, r;

	memset(&k, 0, sizeof(k));
	r = hx_parse_opts(h, "admin audit", argc, argv, opts, 1, pos, 1, &npos);
	if (r == HX_PARSE_HELP) {
		out_text(audit_usage);
		return HX_OK;
	}
	if (r != 0)
		return r;
	if (limit_s != NULL && rc_parse_long(limit_s, 0, AUDIT_LIMIT_MAX, &limit) != 0)
		return out_fail(HX_USAGE, "admin audit: --limit must be a number from 0 to %d",
				AUDIT_LIMIT_MAX);
	const char *user = npos == 1 ? pos[0] : NULL;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if (user != NULL && (hx_user_canonical(&c, pos[0]) != 0 || !rc_user_name_ok(user))) {
		char esc[HX_USER_MAX];
		rc_log_escape(user, esc, sizeof(esc));
		r = out_fail(HX_DATAERR, "admin audit: not a valid user name: \"%s\"", esc);
		goto out_cfg;
	}
	if ((r = hx_open(h, &c, 0, &k, &s)) != 0)
		goto out_cfg;
	if (out_json_mode()) {
		o = oj_object();
		ctx.arr = oj_array();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_put(o, "events", ctx.arr);
	}
	if (store_audit_list(s, user, (int)limit, audit_one, &ctx) < 0) {
		if (o != NULL)
			json_object_put(o);
		r = out_fail(HX_IOERR, "admin audit: store error: %s", store_errmsg(s));
		goto out;
	}
	if (o != NULL)
		out_json(o);
	else if (ctx.count == 0)
		out_info(user != NULL ? "(no audit events for this user)" : "(no audit events)");
	r = HX_OK;
out:
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
	return r;
}
