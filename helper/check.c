/*
 * `pam-recover check`: the back end of pam_recover.so when the module runs without root
 * (unix_chkpwd style). The protocol, its modes and exit statuses are defined once in
 * lib/check_proto.h: one request "MODE\nUSER\nSERVICE\nINPUT\n" on standard input, the
 * answer as the exit status; mode config prints the module's keys first, and mode hold
 * prints them, answers `enrolled` on a line and then takes one more request (a login's
 * first question before the prompt, its decision after it, in one exec).
 *
 * The same code runs as the verb `pam-recover check` and as pam-recover-check, the lean
 * setuid program the module execs (check_main.c: no network, JSON or QR code library).
 * A non-root caller may ask only about its own account, and is rate-limited per real uid.
 * Nothing is printed but mode config's keys (and hold's answer line); outcomes go to syslog
 * (authpriv), never the code.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check_proto.h"
#include "check_request.h"
#include "harden.h"
#include "helper.h"
#include "login.h"
#include "secret.h"
#include "totp.h"

#define CHECK_RATE_MAX 30    /* requests per real uid ... */
#define CHECK_RATE_WINDOW 60 /* ... per this many seconds */
/* Mode split with a tail: each answer says whether those 8 digits are an unused backup code,
 * and split_pass runs before any password is checked, so nothing counts them as failures.
 * A caller other than root gets this many look-ups an hour (a one-field login is one). */
#define CHECK_SPLIT_MAX 20
#define CHECK_SPLIT_WINDOW 3600
#define CHECK_READ_TIMEOUT 30 /* seconds to deliver the request */
#define CHECK_CAND_MAX 16     /* one forward_pass candidate code */

static const char check_help[] =
	"Usage: pam-recover check\n"
	"\n"
	"The back end of pam_recover.so when the module runs without root. Reads one request\n"
	"from a pipe on standard input (a terminal is refused):\n"
	"  MODE\\nUSER\\nSERVICE\\nINPUT\\n   (at most 1024 bytes, INPUT at most 512, no NUL)\n"
	"MODE is `enrolled` (INPUT empty), `code`, `app` or `split` (INPUT the last 8 digits\n"
	"of the field, or empty). `config` (INPUT empty) prints the keys the module needs\n"
	"from the configuration, and with a USER then answers as `enrolled` does. `hold`\n"
	"(USER given, INPUT empty) prints the keys and the line \"= N\" (N: the answer of\n"
	"`enrolled`), then waits up to 300 s for one more request and answers that one.\n"
	"A caller other than root may ask only about its own account. Nothing else is\n"
	"printed; the answer is the exit status:\n"
	"  0 ok, 1 ok (backup code), 2 wrong, 3 replayed code, 4 locked, 5 not enrolled,\n"
	"  6 error, 7 ok (app password), 8 not an app password, 9 permission denied,\n"
	"  10 malformed request, 11 hold ended without a second request.\n"
	"For `split`: 0 the code is the last 6 digits, 1 the last 8 (an unused backup code),\n"
	"  2 the last 8 (8-digit codes), 3 the last 8 (a used backup code), 5 not enrolled.\n";

static int load_config(const struct hctx *h, struct cfg *c)
{
	char err[512] = "";
	const char *path = h->config_path != NULL ? h->config_path : RC_CONFIG_PATH;

	if (cfg_init(c) != 0) {
		syslog(LOG_ERR, "check: out of memory");
		return -1;
	}
	if (cfg_load_file(c, path, h->config_path != NULL, err, sizeof(err)) != 0 ||
	    cfg_validate(c, err, sizeof(err)) != 0) {
		char esc[512];
		rc_log_escape(err, esc, sizeof(esc));
		syslog(LOG_ERR, "check: configuration error: %s", esc);
		cfg_free(c);
		return -1;
	}
	return 0;
}

/* "DDDDDD DDDDDDDD" (forward_pass: the 6- and the 8-digit tail) into two candidates. */
static int split_candidates(const char *in, char a[CHECK_CAND_MAX], char b[CHECK_CAND_MAX])
{
	const char *sp = strchr(in, ' ');

	if (sp == NULL || sp - in != 6 || strlen(sp + 1) != 8 || !check_digits_only(in, 6) ||
	    !check_digits_only(sp + 1, 8))
		return -1;
	memcpy(a, in, 6);
	a[6] = '\0';
	memcpy(b, sp + 1, 9);
	return 0;
}

/* Per real uid: a local user cannot hammer its own account (or the store) through us; once
 * over the limit, its requests write nothing at all. `count` 0: only look (a read-only
 * request is refused over the limit but not counted, so it writes nothing either). */
static int rate_limited(struct store *s, uid_t ruid, int64_t now, int count_it)
{
	char key[64];
	int count = 0;

	if (ruid == 0)
		return 0;
	if (rc_snprintf(key, sizeof(key), "check:uid:%ld", (long)ruid) < 0)
		return -1;
	if (!count_it) {
		if (store_counter_get(s, key, now, CHECK_RATE_WINDOW, &count) != STORE_OK)
			return -1;
		return count >= CHECK_RATE_MAX ? 1 : 0;
	}
	return hx_counter_take(s, key, now, CHECK_RATE_WINDOW, CHECK_RATE_MAX, &count);
}

/* Mode split with a tail, for a caller other than root: 1 over CHECK_SPLIT_MAX an hour (this
 * look-up not made, nothing more written), 0 counted, -1 store error. */
static int split_limited(struct store *s, uid_t ruid, int64_t now)
{
	char key[64];
	int count = 0;

	if (ruid == 0)
		return 0;
	if (rc_snprintf(key, sizeof(key), "check-split:uid:%ld", (long)ruid) < 0)
		return -1;
	return hx_counter_take(s, key, now, CHECK_SPLIT_WINDOW, CHECK_SPLIT_MAX, &count);
}

/* Mode config: the keys of CHECK_CONFIG_KEYS, as cfg_dump writes them (so that they parse
 * back), from the configuration loaded here; no key, no store. */
static int send_config(const struct cfg *c)
{
	static const char *const wanted[] = {CHECK_CONFIG_KEYS};
	char *dump = NULL, *line, *save = NULL;
	size_t len = 0, sent = 0;
	FILE *f = NULL;
	int r = LOGIN_ERROR;

	f = open_memstream(&dump, &len);
	if (f == NULL)
		goto out;
	cfg_dump(c, f);
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	for (line = strtok_r(dump, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t klen = strcspn(line, " =");

		for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
			if (strlen(wanted[i]) != klen || strncmp(line, wanted[i], klen) != 0)
				continue;
			sent += strlen(line) + 1;
			if (sent > CHECK_CONFIG_MAX || printf("%s\n", line) < 0)
				goto out;
		}
	}
	if (fflush(stdout) != 0)
		goto out;
	r = LOGIN_OK;
out:
	free(dump);
	return r;
}

/* With the request validated and allowed, and the configuration loaded: key (not for
 * `enrolled`), store (*sp: opened here when NULL or no longer usable, left open for the
 * caller, who closes it), then the decision. */
static int decide(const struct hctx *h, struct request *rq, const struct cfg *c, struct store **sp,
		  const char **reason)
{
	struct seal_key k;
	struct store *s;
	char err[512] = "";
	int locked_now = 0;
	int r = LOGIN_ERROR;
	int64_t now = rc_now();

	memset(&k, 0, sizeof(k));
	*reason = "configuration error";
	/* One user, one name: the store knows the user by the canonical form (same length). */
	if (rc_user_name_canonical(c->user_name_case, rq->user, rq->user, strlen(rq->user) + 1) !=
		    0 ||
	    !rc_user_name_ok(rq->user)) {
		*reason = "bad user name";
		goto out;
	}
	/* `enrolled` reads no sealed field and hashes nothing: no key to read for it. */
	if (rq->mode != MODE_ENROLLED && seal_key_load(c->key_file, &k, err, sizeof(err)) != 0) {
		*reason = "cannot load the key";
		syslog(LOG_ERR, "check: cannot load the key %s: %s", c->key_file, err);
		goto out;
	}
	/* A connection held across a prompt may have lost its server meanwhile. */
	if (*sp != NULL && !store_alive(*sp)) {
		store_close(*sp);
		*sp = NULL;
	}
	if (*sp == NULL && store_open(c, 0, sp, err, sizeof(err)) != STORE_OK) {
		*sp = NULL;
		*reason = "cannot open the store";
		syslog(LOG_ERR, "check: cannot open the store: %s", err);
		goto out;
	}
	s = *sp;
	if (rq->mode == MODE_CODE && totp_init() != 0) {
		*reason = "liboath initialisation failed";
		goto out;
	}
	switch (rate_limited(s, h->ruid, now, !rq->read_only)) {
	case 0:
		break;
	case 1:
		*reason = "rate limited (too many requests from this uid)";
		r = LOGIN_LOCKED;
		goto out;
	default:
		*reason = "store error while counting the request";
		goto out;
	}

	switch (rq->mode) {
	case MODE_ENROLLED:
		r = login_enrolled(s, rq->user);
		*reason = r == LOGIN_OK             ? "enrolled"
			  : r == LOGIN_NOT_ENROLLED ? "not enrolled"
						    : "store error";
		break;
	case MODE_CODE: {
		/* One code, or forward_pass's 6- and 8-digit tails separated by one
		 * space, checked as ONE attempt. Anything else is one code (spaces in a typed
		 * code are dropped by secret_normalise). */
		char cand[2][CHECK_CAND_MAX];
		const char *codes[2];
		struct login_attempt a;

		memset(&a, 0, sizeof(a));
		codes[0] = rq->input;
		a.n = 1;
		if (split_candidates(rq->input, cand[0], cand[1]) == 0) {
			codes[0] = cand[0];
			codes[1] = cand[1];
			a.n = 2;
		}
		a.codes = codes;
		a.service = rq->service;
		a.ruid = (long)h->ruid;
		r = login_verify(c, s, &k, rq->user, now, &a);
		*reason = a.reason;
		if (a.device[0] != '\0') { /* the device whose code it was */
			char dev[STORE_DEVICE_MAX * 4 + 1];

			rc_log_escape(a.device, dev, sizeof(dev));
			syslog(LOG_INFO, "check: user=%s %s device=%s", rq->user,
			       login_result_name(r), dev);
		}
		locked_now = a.locked_now;
		/* forward_pass hands on the password before the code that matched: say which
		 * when it was the 8-digit tail (a device with 8-digit codes). */
		if (r == LOGIN_OK && a.n == 2 && a.which == 1)
			r = CHECK_OK_TAIL8;
		RC_WIPE_ARRAY(cand);
		if (locked_now)
			syslog(LOG_WARNING, "check: user=%s locked after too many failures",
			       rq->user);
		break;
	}
	case MODE_SPLIT: {
		/* Nothing counted as a failure (split_pass runs before the password is
		 * verified); a look-up of a tail is counted per uid instead (CHECK_SPLIT_MAX). */
		int split = LOGIN_SPLIT_NONE;

		if (rq->input[0] != '\0') {
			int over = split_limited(s, h->ruid, now);

			if (over != 0) {
				r = over > 0 ? LOGIN_LOCKED : LOGIN_ERROR;
				*reason =
					over > 0
						? "rate limited (backup-code look-ups from this uid)"
						: "store error while counting the request";
				break;
			}
		}
		r = login_split_lookup(s, &k, rq->user, rq->input[0] ? rq->input : NULL, &split);
		if (r == LOGIN_OK)
			r = check_split_status(split);
		*reason = r == LOGIN_ERROR ? "store error" : "split answered";
		break;
	}
	case MODE_APP: {
		char other[200];
		r = login_app_password_other(s, &k, rq->user, rq->service, rq->input, now, other,
					     sizeof(other));
		*reason = r == LOGIN_OK_APP   ? "app password accepted"
			  : r == LOGIN_NO_APP ? "not an app password for this service"
					      : "store error";
		if (r == LOGIN_NO_APP && other[0] != '\0')
			syslog(LOG_NOTICE, "check: user=%s: refused: app password %s is not for %s",
			       rq->user, other, rq->service);
		break;
	}
	default:
		r = LOGIN_ERROR;
		break;
	}
out:
	seal_key_wipe(&k);
	if ((r < LOGIN_OK || r > LOGIN_NO_APP) && r != CHECK_OK_TAIL8)
		r = LOGIN_ERROR;
	return r;
}

/* The real uid decides: root, or the owner of USER. */
static int allowed(const struct hctx *h, const struct request *rq)
{
	const struct passwd *pw;

	if (h->ruid == 0)
		return 1;
	pw = getpwnam(rq->user);
	if (pw != NULL && pw->pw_uid == h->ruid)
		return 1;
	syslog(LOG_WARNING, "check: ruid=%ld user=%s: permission denied", (long)h->ruid, rq->user);
	return 0;
}

/* decide, with no tty signal in the middle of the state it writes (step, failures,
 * counters), and its log line. */
static int decide_logged(const struct hctx *h, struct request *rq, const struct cfg *c,
			 struct store **sp)
{
	const char *reason = "";
	sigset_t old;
	int blocked = harden_block_tty_signals(&old) == 0;
	int r = decide(h, rq, c, sp, &reason);

	if (blocked)
		(void)harden_unblock_tty_signals(&old);
	syslog(r == LOGIN_ERROR ? LOG_ERR : LOG_INFO,
	       "check: ruid=%ld user=%s service=%s mode=%s result=%s (%s)", (long)h->ruid, rq->user,
	       rq->service, rq->mode_name, login_result_name(r == CHECK_OK_TAIL8 ? LOGIN_OK : r),
	       reason);
	return r;
}

/* Mode hold, after its first answer: wait for the one request that the prompt's answer
 * makes, and decide it with the same configuration and store. CHECK_UNUSED (nothing
 * decided) for `done`, end of input, or no request in time. */
static int hold_second(const struct hctx *h, const struct cfg *c, struct store **sp)
{
	char buf[CHECK_REQ_MAX + 1];
	struct request rq;
	struct pollfd p;
	const char *why = "malformed request";
	int64_t deadline = rc_now() + CHECK_HOLD_TIMEOUT;
	size_t len = 0;
	int r = CHECK_MALFORMED, n;

	memset(&rq, 0, sizeof(rq));
	for (;;) {
		int64_t left = deadline - rc_now();

		p.fd = 0;
		p.events = POLLIN;
		p.revents = 0;
		n = left > 0 ? poll(&p, 1, (int)left * 1000) : 0;
		if (n >= 0 || errno != EINTR)
			break;
	}
	if (n == 0) {
		syslog(LOG_INFO, "check: ruid=%ld mode=hold: no second request within %d s",
		       (long)h->ruid, CHECK_HOLD_TIMEOUT);
		return CHECK_UNUSED;
	}
	alarm(CHECK_READ_TIMEOUT);
	n = check_read_request(0, buf, CHECK_REQ_MAX, &len);
	alarm(0);
	if (n != 0 && len == 0)
		return CHECK_UNUSED; /* end of input: the login ended without asking */
	if (n != 0) {
		why = "second request too long, truncated, unreadable or containing NUL";
		goto malformed;
	}
	if (check_parse_request(buf, &rq, &why) != 0)
		goto malformed;
	if (rq.mode == MODE_DONE) {
		r = CHECK_UNUSED;
		goto out;
	}
	if (rq.mode == MODE_CONFIG || rq.mode == MODE_HOLD) {
		why = "second request of mode hold is config or hold";
		goto malformed;
	}
	if (!allowed(h, &rq)) {
		r = CHECK_DENIED;
		goto out;
	}
	r = decide_logged(h, &rq, c, sp);
	goto out;
malformed:
	syslog(LOG_WARNING, "check: ruid=%ld: malformed request: %s", (long)h->ruid, why);
	r = CHECK_MALFORMED;
out:
	RC_WIPE_ARRAY(buf);
	return r;
}

int cmd_check(struct hctx *h, int argc, char **argv)
{
	char buf[CHECK_REQ_MAX + 1];
	struct request rq;
	struct cfg conf;
	struct store *s = NULL;
	const char *why = "malformed request";
	size_t len = 0;
	int r = CHECK_MALFORMED, loaded = 0, held = 0;

	memset(&rq, 0, sizeof(rq));
	if (argc == 2 && hx_is_help(argv[1])) {
		fputs(check_help, stdout);
		return fflush(stdout) == 0 ? HX_OK : HX_IOERR;
	}
	if (argc != 1) {
		syslog(LOG_WARNING, "check: ruid=%ld: unexpected arguments", (long)h->ruid);
		return CHECK_MALFORMED;
	}
	if (isatty(0)) {
		syslog(LOG_WARNING, "check: ruid=%ld: standard input is a terminal", (long)h->ruid);
		fprintf(stderr, "pam-recover: check is for pam_recover.so, not for terminals\n");
		return CHECK_MALFORMED;
	}
	/* A caller that never finishes its request does not keep us waiting (SIGALRM's default
	 * action ends the process; nothing has been written yet). */
	alarm(CHECK_READ_TIMEOUT);
	int rr = check_read_request(0, buf, CHECK_REQ_MAX, &len);
	alarm(0);
	if (rr != 0) {
		why = "request too long, truncated, unreadable or containing NUL";
		goto malformed;
	}
	if (check_parse_request(buf, &rq, &why) != 0)
		goto malformed;
	if (rq.mode == MODE_DONE) {
		why = "mode done outside mode hold";
		goto malformed;
	}

	if (rq.mode == MODE_CONFIG && rq.user[0] == '\0') {
		r = LOGIN_ERROR;
		if (load_config(h, &conf) == 0) {
			r = send_config(&conf);
			cfg_free(&conf);
		}
		if (r != LOGIN_OK)
			syslog(LOG_ERR, "check: ruid=%ld mode=config: no answer", (long)h->ruid);
		goto out;
	}
	if (!allowed(h, &rq)) {
		r = CHECK_DENIED;
		goto out;
	}
	r = LOGIN_ERROR;
	if (load_config(h, &conf) != 0)
		goto out;
	loaded = 1;
	/* config or hold with a user: the keys, then the answer of `enrolled` (the first
	 * question of every login), from the one configuration read. */
	if (rq.mode == MODE_CONFIG || rq.mode == MODE_HOLD) {
		if (send_config(&conf) != LOGIN_OK) {
			syslog(LOG_ERR, "check: ruid=%ld mode=%s: no answer", (long)h->ruid,
			       rq.mode_name);
			goto out;
		}
		held = rq.mode == MODE_HOLD;
		rq.mode = MODE_ENROLLED;
		rq.read_only = 1;
	}
	r = decide_logged(h, &rq, &conf, &s);
	if (!held || r == LOGIN_ERROR)
		goto out;
	/* Held: the answer on a line (the exit status is for the second request), then the
	 * second request. */
	if (printf("%s%d\n", CHECK_HOLD_MARK, r) < 0 || fflush(stdout) != 0) {
		r = LOGIN_ERROR;
		goto out;
	}
	/* The prompt may wait CHECK_HOLD_TIMEOUT seconds: a server's connection is not kept
	 * meanwhile (a user could hold one per login started), the second request opens it. */
	if (s != NULL && store_is_server(&conf)) {
		store_close(s);
		s = NULL;
	}
	r = hold_second(h, &conf, &s);
	goto out;

malformed:
	syslog(LOG_WARNING, "check: ruid=%ld: malformed request: %s", (long)h->ruid, why);
	r = CHECK_MALFORMED;
out:
	if (s != NULL)
		store_close(s);
	if (loaded)
		cfg_free(&conf);
	RC_WIPE_ARRAY(buf);
	return r;
}
