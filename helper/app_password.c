/*
 * `pam-recover app-password add NAME [--service LIST] | list | revoke NAME`: passwords for
 * mail programs that cannot ask for a code. Random (80 bits), shown once, stored only as a
 * keyed hash of the normalised form (so it may be typed with or without the dashes), limited
 * to the PAM services it was made for.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "chars.h"
#include "factor.h"
#include "helper.h"
#include "identity.h"
#include "out.h"
#include "uverb.h"

#define APP_NAME_MAX 63
#define APP_SERVICE_MAX 63
#define APP_PAMD_DIR "/etc/pam.d" /* where libpam reads the services */

static const char app_usage[] =
	"Usage: pam-recover app-password add NAME [--service SERVICE[,SERVICE...]] [--user USER]\n"
	"       pam-recover app-password list [--user USER]\n"
	"       pam-recover app-password revoke NAME [--user USER]\n"
	"\n"
	"App passwords let mail programs (IMAP, POP3, SMTP) log in where no code can be typed.\n"
	"Each is random, shown once, and works only on the services it was made for (PAM\n"
	"service names such as imap, pop3, smtp; without --service: every service where the\n"
	"administrator allows app passwords). Adding and revoking ask for your password;\n"
	"while 2-step verification is on, adding also asks for a current code from the app.\n"
	"\n"
	"  add NAME     make a new app password called NAME (letters, digits, . _ -)\n"
	"  list         name, services, created, last used\n"
	"  revoke NAME  the programs that use it can no longer log in\n"
	"  --service    comma-separated PAM services the password is for\n"
	"  --user USER  act for USER (root only; no password is asked)\n"
	"  --json       JSON output; input on stdin: {\"password\":\"...\"} (non-root), then\n"
	"               {\"current_code\":\"...\"} for add while 2-step verification is on\n"
	"\n"
	"Exit status: 0 ok, 1 wrong password, 64 usage, 65 bad name or service, or no such app\n"
	"password, 75 too many wrong passwords, 77 permission denied; see pam-recover(8).\n";

/* NAME: 1..63 of [A-Za-z0-9._-], starting with a letter or digit. */
static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > APP_NAME_MAX || !rc_is_alnum((unsigned char)s[0]))
		return 0;
	for (; *s != '\0'; s++)
		if (!rc_is_alnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* "imap, POP3,smtp" -> "imap,pop3,smtp". Each a PAM service name. 0 or -1. */
static int services_normalise(const char *in, char *out, size_t n)
{
	size_t o = 0;
	const char *p = in;

	if (n == 0)
		return -1;
	out[0] = '\0';
	while (*p != '\0') {
		p += strspn(p, ", ");
		size_t len = strcspn(p, ", ");
		if (len == 0)
			break;
		if (len > APP_SERVICE_MAX || !rc_is_alnum((unsigned char)p[0]))
			return -1;
		for (size_t i = 0; i < len; i++)
			if (!rc_is_alnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '_' &&
			    p[i] != '-')
				return -1;
		if (o + (o > 0) + len + 1 > n)
			return -1;
		if (o > 0)
			out[o++] = ',';
		for (size_t i = 0; i < len; i++)
			out[o++] = (char)rc_to_lower((unsigned char)p[i]);
		out[o] = '\0';
		p += len;
	}
	return o > 0 ? 0 : -1;
}

static int bad_name(const char *verb, const char *name)
{
	char esc[APP_NAME_MAX + 2];
	rc_log_escape(name, esc, sizeof(esc));
	return out_fail(HX_DATAERR,
			"%s: \"%s%s\" is not a usable name: 1 to %d letters, digits, "
			"'.', '_' or '-', starting with a letter or digit",
			verb, esc, strlen(name) > APP_NAME_MAX ? "..." : "", APP_NAME_MAX);
}

struct name_ctx {
	const char *name;
	int taken;
};

static int name_one(void *vctx, const struct store_app_password *a)
{
	struct name_ctx *ctx = vctx;

	if (strcmp(a->name, ctx->name) == 0)
		ctx->taken = 1;
	return 0;
}

/* Does /etc/pam.d/SERVICE check app passwords (a pam_recover.so line with app_passwords)?
 * 1 yes, 0 no or unreadable. A plain read of root's files, for a warning only. */
static int service_checks_app_passwords(const char *service)
{
	char path[PATH_MAX], line[1024];
	int found = 0;
	FILE *f;

	if (rc_snprintf(path, sizeof(path), "%s/%s", APP_PAMD_DIR, service) < 0 ||
	    (f = fopen(path, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *tok;
		int module = 0;

		line[strcspn(line, "#\n")] = '\0';
		for (tok = strtok_r(line, " \t", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t", &save)) {
			const char *base = strrchr(tok, '/');
			base = base != NULL ? base + 1 : tok;
			if (strcmp(base, "pam_recover.so") == 0)
				module = 1;
			else if (module && (strcmp(tok, "app_passwords") == 0 ||
					    strcmp(tok, "app_passwords=yes") == 0 ||
					    strcmp(tok, "app_passwords=true") == 0 ||
					    strcmp(tok, "app_passwords=1") == 0))
				found = 1;
		}
	}
	fclose(f);
	return found;
}

/* Warn about each service in `list` ("imap,smtp") where no app password can ever log in. */
static void warn_services(const char *verb, const char *list)
{
	char svc[APP_SERVICE_MAX + 1];

	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len < sizeof(svc)) {
			memcpy(svc, p, len);
			svc[len] = '\0';
			if (!service_checks_app_passwords(svc))
				out_warn(
					"%s: no PAM service \"%s\" in %s checks app passwords (a "
					"pam_recover.so line with app_passwords): this app password "
					"cannot log in there. Dovecot's service is the name in its "
					"passdb's `args =` (default: dovecot); ask the administrator "
					"which name to use.",
					verb, svc, APP_PAMD_DIR);
		}
		p += len;
		p += *p == ',';
	}
}

static int app_add(const struct hctx *h, struct uverb *u, const char *name, const char *service_opt)
{
	struct name_ctx taken = {name, 0};
	struct store_app_password a;
	char pw[SECRET_APP_PW_LEN + 1], norm[SECRET_APP_PW_LEN + 1], detail[400];
	int r, ar = STORE_ERR;

	memset(&a, 0, sizeof(a));
	pw[0] = norm[0] = '\0';
	if (rc_snprintf(a.name, sizeof(a.name), "%s", name) < 0) {
		r = bad_name(u->name, name);
		goto out;
	}
	if (service_opt != NULL &&
	    services_normalise(service_opt, a.services, sizeof(a.services)) != 0) {
		char esc[80];
		rc_log_escape(service_opt, esc, sizeof(esc));
		r = out_fail(HX_DATAERR,
			     "%s: --service \"%s\" is not a list of PAM service names "
			     "such as imap,pop3,smtp",
			     u->name, esc);
		goto out;
	}
	/* A taken name is refused before the password is asked (the store refuses it again
	 * at the insert, should another run take it meanwhile). */
	if (store_app_list(u->store, u->user, name_one, &taken) < 0) {
		r = uv_store_fail(u);
		goto out;
	}
	if (taken.taken) {
		r = out_fail(HX_DATAERR,
			     "%s: an app password called \"%s\" exists already: "
			     "choose another name, or revoke it first "
			     "(`pam-recover app-password revoke %s`); nothing changed",
			     u->name, a.name, a.name);
		goto out;
	}
	if (a.services[0] != '\0')
		warn_services(u->name, a.services);
	if ((r = identity_confirm(h, &u->cfg, u->store, u->user)) != HX_OK ||
	    (r = factor_prove(h, u, "current_code", NULL, 0, "no app password was made", NULL)) !=
		    HX_OK)
		goto out;
	a.created = rc_now();
	if (secret_app_password(pw) != 0 || secret_normalise(pw, norm, sizeof(norm)) != 0 ||
	    secret_hash(&u->key, u->user, "app", norm, a.hash) != 0) {
		r = out_fail(HX_SOFTWARE, "%s: cannot make the password; nothing changed", u->name);
		goto out;
	}
	if (rc_snprintf(detail, sizeof(detail), "%s services=%s", a.name,
			a.services[0] != '\0' ? a.services : "any") < 0)
		detail[0] = '\0';
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	ar = store_app_add(u->store, u->user, &a);
	int ok = ar == STORE_OK && uv_audit(h, u, "app-password-add", detail) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		if (ar == STORE_CONFLICT)
			r = out_fail(HX_DATAERR,
				     "%s: an app password called \"%s\" exists already: "
				     "choose another name, or revoke it first "
				     "(`pam-recover app-password revoke %s`)",
				     u->name, a.name, a.name);
		else
			r = uv_store_fail(u);
		goto out;
	}
	uv_log(h, u, "app-password-add", detail);
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "name", a.name);
		oj_str(o, "services", a.services);
		oj_str(o, "password", pw);
		out_json(o);
	} else {
		out_info("App password \"%s\" for %s (services: %s):", a.name, u->user,
			 a.services[0] != '\0' ? a.services
					       : "every service that allows app passwords");
		out_info("%s", "");
		out_info("    %s", pw);
		out_info("%s", "");
		out_info("Enter it in the mail program in place of your password (with or without "
			 "the dashes).");
		out_info("It is shown only now. If it is lost, revoke it "
			 "(`pam-recover app-password revoke %s`) and make a new one.",
			 a.name);
	}
	r = HX_OK;
out:
	RC_WIPE_ARRAY(pw);
	RC_WIPE_ARRAY(norm);
	rc_wipe(&a, sizeof(a));
	return r;
}

struct list_ctx {
	struct json_object *arr;
	int count;
};

static int list_one(void *vctx, const struct store_app_password *a)
{
	struct list_ctx *ctx = vctx;
	char created[40], used[40];

	ctx->count++;
	if (ctx->arr != NULL) {
		oj_push(ctx->arr, hx_app_password_json(a));
		return 0;
	}
	if (ctx->count == 1)
		out_info("%-20s %-20s %-22s %s", "NAME", "SERVICES", "CREATED", "LAST USED");
	hx_time_human(a->created, created, sizeof(created));
	hx_time_human(a->last_used, used, sizeof(used));
	out_info("%-20s %-20s %-22s %s", a->name, a->services[0] != '\0' ? a->services : "(any)",
		 created, a->last_used > 0 ? used : "never");
	return 0;
}

static int app_list(struct uverb *u)
{
	struct list_ctx ctx = {NULL, 0};
	struct json_object *o = NULL;

	if (out_json_mode()) {
		o = oj_object();
		ctx.arr = oj_array();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_put(o, "app_passwords", ctx.arr);
	}
	if (store_app_list(u->store, u->user, list_one, &ctx) < 0) {
		if (o != NULL)
			json_object_put(o);
		return out_fail(HX_IOERR, "%s: store error: %s", u->name, store_errmsg(u->store));
	}
	if (o != NULL)
		out_json(o);
	else if (ctx.count == 0)
		out_info(
			"%s has no app passwords. Make one with `pam-recover app-password add NAME`.",
			u->user);
	return HX_OK;
}

static int app_revoke(const struct hctx *h, struct uverb *u, const char *name)
{
	int r, rr = STORE_ERR;

	if ((r = identity_confirm(h, &u->cfg, u->store, u->user)) != HX_OK)
		return r;
	if (hx_txn_begin(u->store) != 0)
		return uv_store_fail(u);
	rr = store_app_revoke(u->store, u->user, name);
	int ok = rr == STORE_OK && uv_audit(h, u, "app-password-revoke", name) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		if (rr == STORE_NOTFOUND)
			return out_fail(HX_DATAERR,
					"%s: %s has no app password called \"%s\" (see "
					"`pam-recover app-password list`); nothing changed",
					u->name, u->user, name);
		return uv_store_fail(u);
	}
	uv_log(h, u, "app-password-revoke", name);
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "name", name);
		oj_bool(o, "revoked", 1);
		out_json(o);
	} else
		out_info("App password \"%s\" of %s is revoked: programs that use it can no longer "
			 "log in.",
			 name, u->user);
	return HX_OK;
}

int cmd_app_password(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	const char *service = NULL;
	const struct hx_opt opts[] = {{"service", &service, NULL}};
	char *pos[2] = {NULL, NULL};
	int r, done = HX_USAGE, npos = 0, want;

	memset(&u, 0, sizeof(u));
	u.name = "app-password";
	if (uv_parse(h, &u, app_usage, argc, argv, opts, 1, pos, 1, 2, &npos, &done) != 0)
		return done;
	if (strcmp(pos[0], "add") == 0) {
		u.name = "app-password add";
		want = 2;
	} else if (strcmp(pos[0], "revoke") == 0) {
		u.name = "app-password revoke";
		want = 2;
	} else if (strcmp(pos[0], "list") == 0) {
		u.name = "app-password list";
		want = 1;
	} else {
		char esc[64];
		rc_log_escape(pos[0], esc, sizeof(esc));
		return out_fail(HX_USAGE,
				"app-password: unknown command \"%s\": add, list or revoke "
				"(see --help)",
				esc);
	}
	if (npos != want)
		return out_fail(HX_USAGE, "%s: %s (see --help)", u.name,
				want == 2 ? "needs a NAME" : "takes no NAME");
	if (service != NULL && strcmp(pos[0], "add") != 0)
		return out_fail(HX_USAGE, "%s: --service goes with add", u.name);
	if (want == 2 && !name_ok(pos[1]))
		return bad_name(u.name, pos[1]);
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if (strcmp(pos[0], "add") == 0)
		r = app_add(h, &u, pos[1], service);
	else if (strcmp(pos[0], "revoke") == 0)
		r = app_revoke(h, &u, pos[1]);
	else
		r = app_list(&u);
out:
	uv_close(&u);
	return r;
}
