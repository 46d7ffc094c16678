/*
 * `pam-recover reset [--json] [--code [--channel email|sms|telegram]]`: options, set-up and
 * tear-down around the step engine (reset_steps.c). Open to every caller: the caller proves
 * itself only through a recovery channel.
 */
#include "reset.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "out.h"
#include "totp.h"
#include "tty.h"

static const char reset_usage[] =
	"Usage: pam-recover reset [--json]\n"
	"       pam-recover reset --code [--channel email|sms|telegram] [--json]\n"
	"       (both also take --client ADDRESS)\n"
	"\n"
	"Reset a forgotten password: give the user name, choose how to prove the account is\n"
	"yours (a code to the recovery e-mail address, which you type in full; a code by SMS or\n"
	"Telegram; or the answer to the security question), then choose a new password.\n"
	"The new password is set, 2-step verification is turned off (unless the site keeps it\n"
	"for users who can still give a code) and the recovery contacts get a notice.\n"
	"\n"
	"  --code     you already have a code (from the e-mail, SMS or Telegram message):\n"
	"             enter the user name and the code, then go on with the new password.\n"
	"             The code is asked for, never taken from the command line.\n"
	"  --channel  with --code: the channel the code came by (default: any).\n"
	"  --client ADDRESS\n"
	"             the IP address of the client a web front end serves, so that the\n"
	"             per-caller limit (caller_requests_per_hour) applies per client (root\n"
	"             and the accounts in frontend_users only).\n"
	"  --json     one JSON object per line each way, for a web front end (see\n"
	"             pam-recover(8), \"RESET PROTOCOL\").\n"
	"\n"
	"Exit status: 0 the password was reset, 1 the proof failed, 64 usage, 65 input ended\n"
	"or was unusable, 74 store error, 75 too many tries or requests (try later), 77 no\n"
	"usable recovery method, reset is off, or --client not allowed, 78 configuration\n"
	"error.\n";

/* Report a set-up failure in the run's own format (the helper's plumbing printed details
 * on stderr). */
static int setup_error(struct reset *r, int status, const char *code, const char *msg)
{
	reset_error(r, code, 1, "%s", msg);
	return status;
}

/* Is the caller's real uid one of frontend_users? */
static int is_frontend(const struct reset *r)
{
	const char *p = r->cfg.frontend_users;
	char name[HX_USER_MAX];

	for (; p != NULL && *p != '\0';) {
		p += strspn(p, ", ");
		size_t len = strcspn(p, ", ");
		if (len == 0)
			break;
		if (len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			const struct passwd *pw = getpwnam(name);
			if (pw != NULL && pw->pw_uid == r->h->ruid)
				return 1;
		}
		p += len;
	}
	return 0;
}

/* The key of the per-caller limit: the caller's uid, or the client address a front end
 * passes with --client (root or a frontend_users account only). HX_OK or an exit status. */
static int reset_caller(struct reset *r, const char *client)
{
	if (client != NULL && r->h->ruid != 0 && !is_frontend(r)) {
		syslog(LOG_WARNING, "reset: ruid=%ld refused: --client without frontend_users",
		       (long)r->h->ruid);
		return setup_error(r, HX_NOPERM, "not_allowed",
				   "--client is for a web front end: only root and the accounts "
				   "named in frontend_users may pass a client address.");
	}
	if (quota_caller((long)r->h->ruid, client, r->caller, sizeof(r->caller)) != 0)
		return setup_error(r, HX_USAGE, "invalid_client",
				   "--client takes the client's IPv4 or IPv6 address.");
	return HX_OK;
}

int cmd_reset(struct hctx *h, int argc, char **argv)
{
	const char *channel = NULL, *client = NULL;
	int code_flag = 0, npos = 0, rc;
	char *pos[2];
	const struct hx_opt opts[] = {
		{"code", NULL, &code_flag},
		{"channel", &channel, NULL},
		{"client", &client, NULL},
	};
	struct reset r;

	memset(&r, 0, sizeof(r));
	rc = hx_parse_opts(h, "reset", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), pos, 2,
			   &npos);
	if (rc == HX_PARSE_HELP) {
		out_text(reset_usage);
		return HX_OK;
	}
	if (rc != 0)
		return rc;
	if (npos > 0)
		return out_fail(HX_USAGE,
				"reset takes no arguments: the user name and the code are "
				"asked for, never taken from the command line (other users "
				"could read them there)");
	if (channel != NULL && (!code_flag || reset_method_parse(channel) < 0 ||
				reset_method_parse(channel) == METHOD_QUESTION))
		return out_fail(HX_USAGE, "reset: --channel goes with --code and is one of email, "
					  "sms, telegram");
	/* The run speaks its own protocol; the shared plumbing only writes to stderr. */
	r.h = h;
	r.ui = h->json ? &reset_ui_json : &reset_ui_tty;
	out_set_json(0);
	r.code_mode = code_flag;
	r.code_channel = channel;
	r.last_method = -1;

	if (hx_load_config(h, &r.cfg) != 0) {
		rc = setup_error(
			&r, HX_CONFIG, "config",
			"The configuration of pam_recover has an error; nothing changed. The "
			"administrator can run `pam-recover --check-config`.");
		goto out;
	}
	r.have_cfg = 1;
	if (sodium_init() < 0 || totp_init() != 0) {
		rc = setup_error(&r, HX_SOFTWARE, "internal",
				 "The crypto libraries cannot be initialised; nothing changed.");
		goto out;
	}
	if ((rc = reset_caller(&r, client)) != HX_OK)
		goto out;
	if ((rc = hx_open(h, &r.cfg, STORE_DURABLE, &r.key, &r.store)) != 0) {
		r.store = NULL;
		rc = setup_error(&r, rc, rc == HX_CONFIG ? "config" : "store",
				 "The state of pam_recover cannot be opened; nothing changed.");
		goto out;
	}
	rc = reset_run(&r);
	syslog(rc == HX_OK ? LOG_NOTICE : LOG_INFO, "reset: ruid=%ld user=%s ended with status %d",
	       (long)h->ruid, r.user[0] ? r.user : "-", rc);
out:
	tty_done();
	reset_json_done();
	hx_close(&r.key, r.store);
	if (r.have_cfg)
		cfg_free(&r.cfg);
	rc_wipe(&r, sizeof(r));
	out_set_json(h->json);
	return rc;
}
