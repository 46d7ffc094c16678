/* Plumbing every verb shares: config, key and store, target users, names and dates. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "helper.h"
#include "out.h"

int hx_load_config(const struct hctx *h, struct cfg *c)
{
	char err[512] = "";
	const char *path = h->config_path != NULL ? h->config_path : RC_CONFIG_PATH;

	if (cfg_init(c) != 0)
		return out_fail(HX_SOFTWARE, "out of memory");
	if (cfg_load_file(c, path, h->config_path != NULL, err, sizeof(err)) != 0 ||
	    cfg_validate(c, err, sizeof(err)) != 0) {
		cfg_free(c);
		if (h->ruid != 0) {
			/* The text names keys, values and paths of a file the caller may not read
			 * (credentials are redacted by the parser): the log gets it, not them. */
			char esc[512];

			rc_log_escape(err[0] ? err : "configuration error", esc, sizeof(esc));
			syslog(LOG_ERR, "ruid=%ld: configuration error: %s", (long)h->ruid, esc);
			return out_fail(HX_CONFIG,
					"the configuration has an error; the administrator "
					"can run `pam-recover --check-config`");
		}
		return out_fail(HX_CONFIG, "%s", err[0] ? err : "configuration error");
	}
	return 0;
}

int hx_open(const struct hctx *h, const struct cfg *c, int store_flags, struct seal_key *k,
	    struct store **s)
{
	char err[512] = "";

	*s = NULL;
	if (seal_key_load(c->key_file, k, err, sizeof(err)) != 0) {
		seal_key_wipe(k);
		if (h->ruid != 0) {
			char esc[512];

			rc_log_escape(err[0] ? err : "error", esc, sizeof(esc));
			syslog(LOG_ERR, "ruid=%ld: cannot load the key: %s", (long)h->ruid, esc);
			return out_fail(HX_CONFIG, "pam_recover is not set up correctly (the key "
						   "cannot be used); the administrator can run "
						   "`pam-recover admin doctor`");
		}
		/* The reason names the fix when it knows it (a missing file: admin init). */
		return out_fail(HX_CONFIG, "cannot load the key %s: %s%s", c->key_file,
				err[0] ? err : "error",
				strstr(err, "admin init") != NULL
					? ""
					: " (has `pam-recover admin init` run?)");
	}
	if (store_open(c, store_flags, s, err, sizeof(err)) != STORE_OK) {
		seal_key_wipe(k);
		*s = NULL;
		return out_fail(HX_IOERR, "cannot open the store: %s", err[0] ? err : "error");
	}
	return 0;
}

void hx_close(struct seal_key *k, struct store *s)
{
	if (s != NULL)
		store_close(s);
	seal_key_wipe(k);
}

int hx_check_target_user(const char *verb, const char *user)
{
	if (user == NULL || !rc_user_name_ok(user)) {
		char esc[HX_USER_MAX];
		rc_log_escape(user != NULL ? user : "", esc, sizeof(esc));
		return out_fail(HX_DATAERR, "%s: not a valid user name: \"%s\"", verb, esc);
	}
	if (strchr(user, '@') == NULL && getpwnam(user) == NULL)
		return out_fail(HX_NOUSER, "%s: no such user: %s", verb, user);
	return 0;
}

int hx_user_canonical(const struct cfg *c, char *user)
{
	if (c == NULL || user == NULL)
		return -1;
	return rc_user_name_canonical(c->user_name_case, user, user, strlen(user) + 1);
}

int hx_totp_label(const char *user, char *out, size_t n)
{
	char host[256];

	if (strchr(user, '@') != NULL)
		return rc_snprintf(out, n, "%s", user) < 0 ? -1 : 0;
	if (gethostname(host, sizeof(host)) != 0)
		return -1;
	host[sizeof(host) - 1] = '\0';
	return rc_snprintf(out, n, "%s@%s", user, host) < 0 ? -1 : 0;
}

const char *hx_issuer(const struct cfg *c, char *buf, size_t n)
{
	if (c->issuer != NULL && c->issuer[0] != '\0')
		return c->issuer;
	if (n == 0 || gethostname(buf, n) != 0)
		return "pam_recover";
	buf[n - 1] = '\0';
	return buf;
}

static int fmt_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;
	return t > 0 && gmtime_r(&tt, tm) != NULL;
}

void hx_time_human(int64_t t, char *out, size_t n)
{
	struct tm tm;
	if (!fmt_tm(t, &tm) || strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, n, "-");
}

void hx_time_iso(int64_t t, char *out, size_t n)
{
	struct tm tm;
	if (!fmt_tm(t, &tm) || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "-");
}

static sigset_t txn_old_mask;
static int txn_blocked;

int hx_txn_begin(struct store *s)
{
	if (harden_block_tty_signals(&txn_old_mask) != 0)
		return -1;
	txn_blocked = 1;
	if (store_begin(s) != STORE_OK) {
		txn_blocked = 0;
		(void)harden_unblock_tty_signals(&txn_old_mask);
		return -1;
	}
	return 0;
}

int hx_txn_end(struct store *s, int ok)
{
	int r = -1;

	if (ok && store_commit(s) == STORE_OK)
		r = 0;
	else
		store_rollback(s);
	if (txn_blocked) {
		txn_blocked = 0;
		(void)harden_unblock_tty_signals(&txn_old_mask);
	}
	return r;
}

int hx_stdout_usable(void)
{
	struct stat st;
	struct pollfd p = {1, POLLOUT, 0};

	if (harden_std_fd_was_closed(1) || fstat(1, &st) != 0)
		return 0;
	/* A pipe or socket whose reader is gone says so at once (POLLERR / POLLHUP). */
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		int n;
		do
			n = poll(&p, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
			return 0;
	}
	return 1;
}

int hx_parse_opts(struct hctx *h, const char *verb, int argc, char **argv,
		  const struct hx_opt *opts, size_t nopts, char **pos, int maxpos, int *npos)
{
	int only_pos = 0;

	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (*npos >= maxpos)
				return out_fail(HX_USAGE, "%s: too many arguments (see --help)",
						verb);
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (hx_is_help(a))
			return HX_PARSE_HELP;
		if (strcmp(a, "--json") == 0) {
			h->json = 1;
			out_set_json(1);
			continue;
		}
		const struct hx_opt *o = NULL;
		const char *val = NULL;
		if (a[1] == '-') {
			for (size_t k = 0; k < nopts && o == NULL; k++) {
				size_t n = strlen(opts[k].name);
				if (strncmp(a + 2, opts[k].name, n) != 0)
					continue;
				if (a[2 + n] == '\0')
					o = &opts[k];
				else if (a[2 + n] == '=' && opts[k].value != NULL) {
					o = &opts[k];
					val = a + 3 + n;
				}
			}
		}
		if (o == NULL) {
			char esc[64];
			rc_log_escape(a, esc, sizeof(esc));
			return out_fail(HX_USAGE, "%s: unknown option %s (see --help)", verb, esc);
		}
		if (o->value != NULL) {
			if (val == NULL) {
				if (i + 1 >= argc)
					return out_fail(HX_USAGE, "%s: --%s needs a value", verb,
							o->name);
				val = argv[++i];
			}
			*o->value = val;
		} else {
			*o->flag = 1;
		}
	}
	return 0;
}
