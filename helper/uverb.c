/* Plumbing of the user verbs: options, target account, config, key, store, audit. */
#include "uverb.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "identity.h"
#include "login.h"
#include "out.h"
#include "totp.h"
#include "tty.h"

int uv_parse(struct hctx *h, struct uverb *u, const char *usage, int argc, char **argv,
	     const struct hx_opt *opts, size_t nopts, char **pos, int minpos, int maxpos, int *npos,
	     int *done)
{
	struct hx_opt all[UV_MAX_OPTS + 1];
	int r;

	*npos = 0;
	if (nopts > UV_MAX_OPTS) {
		*done = out_fail(HX_SOFTWARE, "%s: internal error: too many options", u->name);
		return -1;
	}
	for (size_t i = 0; i < nopts; i++)
		all[i] = opts[i];
	all[nopts].name = "user";
	all[nopts].value = &u->opt_user;
	all[nopts].flag = NULL;
	r = hx_parse_opts(h, u->name, argc, argv, all, nopts + 1, pos, maxpos, npos);
	if (r == HX_PARSE_HELP) {
		out_text(usage);
		*done = HX_OK;
		return -1;
	}
	if (r != 0) {
		*done = r;
		return -1;
	}
	if (*npos < minpos) {
		*done = out_fail(HX_USAGE, "%s: missing argument (see `pam-recover %s --help`)",
				 u->name, u->name);
		return -1;
	}
	return 0;
}

int uv_open(struct hctx *h, struct uverb *u)
{
	int r;

	memset(&u->key, 0, sizeof(u->key));
	u->store = NULL;
	if ((r = identity_refuse_other(h, u->opt_user)) != HX_OK)
		return r;
	if ((r = hx_load_config(h, &u->cfg)) != 0)
		return r;
	u->have_cfg = 1;
	if ((r = identity_target(h, &u->cfg, u->opt_user, u->user, sizeof(u->user))) != HX_OK)
		return r;
	if (sodium_init() < 0 || totp_init() != 0)
		return out_fail(HX_SOFTWARE, "%s: cannot initialise the crypto libraries", u->name);
	return hx_open(h, &u->cfg, STORE_DURABLE, &u->key, &u->store);
}

void uv_close(struct uverb *u)
{
	tty_done();
	hx_close(&u->key, u->store);
	u->store = NULL;
	if (u->have_cfg)
		cfg_free(&u->cfg);
	u->have_cfg = 0;
}

const char *uv_method(const struct hctx *h)
{
	return h->ruid == 0 ? "root" : "self";
}

int uv_audit(const struct hctx *h, struct uverb *u, const char *event, const char *detail)
{
	char esc[256];

	rc_log_escape(detail != NULL ? detail : "", esc, sizeof(esc));
	return store_audit_add(u->store, u->user, (long)h->ruid, event, uv_method(h), esc) ==
			       STORE_OK
		       ? 0
		       : -1;
}

void uv_log(const struct hctx *h, const struct uverb *u, const char *event, const char *detail)
{
	char esc[256];

	rc_log_escape(detail != NULL ? detail : "", esc, sizeof(esc));
	syslog(LOG_NOTICE, "%s: user=%s ruid=%ld by=%s%s%s", event, u->user, (long)h->ruid,
	       uv_method(h), esc[0] ? " " : "", esc);
}

int uv_code_refused(const struct uverb *u, int lr, int locked_now, const char *reason,
		    const char *unchanged)
{
	int minutes = (u->cfg.unlock_time + 59) / 60;

	switch (lr) {
	case LOGIN_LOCKED:
		return out_fail(HX_TEMPFAIL,
				"%s: too many wrong codes: try again in up to %d "
				"minute%s, or ask the administrator (`pam-recover admin "
				"unlock`); %s",
				u->name, minutes, minutes == 1 ? "" : "s", unchanged);
	case LOGIN_REPLAY:
		return out_fail(HX_WRONG,
				"%s: that code was already used; wait for the next code "
				"in the app and run the command again; %s",
				u->name, unchanged);
	case LOGIN_WRONG:
		if (locked_now)
			return out_fail(HX_WRONG,
					"%s: wrong code; that was the last try: locked for "
					"%d minute%s; %s",
					u->name, minutes, minutes == 1 ? "" : "s", unchanged);
		return out_fail(HX_WRONG,
				"%s: wrong code; %s. Check that the time on your phone is "
				"right (set it automatically), or use one of your backup codes",
				u->name, unchanged);
	default:
		return out_fail(HX_IOERR, "%s: cannot check the code (%s); nothing changed",
				u->name, reason != NULL ? reason : "error");
	}
}

int uv_store_fail(struct uverb *u)
{
	return out_fail(HX_IOERR, "%s: nothing changed, store error: %s", u->name,
			store_errmsg(u->store));
}
