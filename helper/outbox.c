/*
 * The outbox of resets (outbox.h): arming the rows, recovering those of a dead reset,
 * composing and delivering the notices, running post_reset_command, retries and receipts.
 */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "channel/channel.h"
#include "contacts.h"
#include "out.h"
#include "channel/privsep.h"
#include "reset/setpw.h"

#define NOTICE_SUBJECT "Your password was reset"
#define RECEIPT_DIR "outbox"
#define MAX_ROWS 256 /* rows handled in one pass (the rest waits for the next run) */

/* ---- owners ---- */

/* Field 22 of /proc/PID/stat (start time in clock ticks), or -1. */
static long long proc_start(long pid)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;
	char *p;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold spaces and brackets */
	if (p == NULL)
		return -1;
	/* after ")": field 3 is the state; the start time is field 22 */
	for (int field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return -1;
	return strtoll(p + 1, NULL, 10);
}

/* This host's name as an owner prefix (several hosts may share a PostgreSQL store). */
static void host_id(char *out, size_t n)
{
	char h[256];

	if (gethostname(h, sizeof(h)) != 0)
		h[0] = '\0';
	h[sizeof(h) - 1] = '\0';
	h[strcspn(h, "/: ")] = '\0';
	if (rc_snprintf(out, n, "%.24s", h[0] ? h : "localhost") < 0 && n > 0)
		out[0] = '\0';
}

int outbox_owner(char *out, size_t n)
{
	long pid = (long)getpid();
	long long start = proc_start(pid);
	char host[32];

	if (start < 0)
		return -1;
	host_id(host, sizeof(host));
	return rc_snprintf(out, n, "%s/%ld:%lld", host, pid, start) < 0 ? -1 : 0;
}

/* Is the process that wrote `owner` still running? 1, 0 (gone), or 1 when in doubt. A
 * process of another host sharing the store is that host's to judge: 1. */
static int owner_alive(const char *owner)
{
	long pid = 0;
	long long start = 0;
	char tail, host[32];
	const char *slash = strchr(owner, '/');

	if (slash != NULL) {
		host_id(host, sizeof(host));
		if ((size_t)(slash - owner) != strlen(host) ||
		    strncmp(owner, host, (size_t)(slash - owner)) != 0)
			return 1;
		owner = slash + 1;
	}
	if (sscanf(owner, "%ld:%lld%c", &pid, &start, &tail) != 2 || pid <= 0)
		return 0; /* not one of ours: nobody will come back for it */
	long long now = proc_start(pid);
	if (now < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : 1;
	return now == start;
}

/* ---- arming ---- */

int outbox_arm_reset(struct store *s, const struct cfg *c, const char *user, int64_t when,
		     const char *proofs, const char *caller, int flags, const char *owner)
{
	struct store_outbox o;
	int r = -1;

	memset(&o, 0, sizeof(o));
	if (rc_snprintf(o.user, sizeof(o.user), "%s", user) < 0 ||
	    rc_snprintf(o.proofs, sizeof(o.proofs), "%s", proofs) < 0 ||
	    rc_snprintf(o.owner, sizeof(o.owner), "%s", owner) < 0)
		goto out;
	rc_log_escape(caller, o.caller, sizeof(o.caller));
	o.time = when;
	o.flags = flags;
	o.state = STORE_OUTBOX_ARMED;
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++) {
		struct store_contact sc;
		int sr = store_contact_get(s, user, kind, &sc);
		if (sr == STORE_NOTFOUND || (sr == STORE_OK && !sc.verified))
			continue;
		if (sr != STORE_OK)
			goto out;
		o.kind = kind;
		memcpy(o.sealed, sc.sealed, sc.sealed_len);
		o.sealed_len = sc.sealed_len;
		rc_wipe(&sc, sizeof(sc));
		if (store_outbox_add(s, &o) != STORE_OK)
			goto out;
	}
	if (c->post_reset_command != NULL) {
		o.kind = OUTBOX_COMMAND;
		o.sealed_len = 0;
		if (store_outbox_add(s, &o) != STORE_OK)
			goto out;
	}
	r = 0;
out:
	rc_wipe(&o, sizeof(o));
	return r;
}

/* ---- composing a notice ---- */

static void proof_words(const struct store_outbox *o, char *out, size_t n)
{
	static const struct {
		const char *id, *words;
	} names[] = {{"email", "the recovery e-mail address"},
		     {"sms", "a code by SMS"},
		     {"telegram", "a code by Telegram"},
		     {"question", "the security question"}};
	size_t len = 0;

	out[0] = '\0';
	for (const char *p = o->proofs; *p != '\0';) {
		size_t l = strcspn(p, "+");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].id) != l || strncmp(p, names[i].id, l) != 0)
				continue;
			int w = rc_snprintf(out + len, n - len, "%s%s", len > 0 ? " and " : "",
					    names[i].words);
			if (w > 0)
				len += (size_t)w;
		}
		p += l + (p[l] == '+');
	}
	if ((o->flags & OUTBOX_F_KEPT_2FA) &&
	    rc_snprintf(out + len, n - len, "%sa current 2-step verification code",
			len > 0 ? " and " : "") < 0)
		out[len] = '\0';
	if (out[0] == '\0')
		snprintf(out, n, "a recovery method");
}

/* The long text (e-mail) or the short one (SMS, Telegram). Never a password or a code. */
static void compose(const struct cfg *c, const struct store_outbox *o, int kind, char *text,
		    size_t n)
{
	char host[256], when[64], how[256], support[300];
	int kept = (o->flags & OUTBOX_F_KEPT_2FA) != 0, apps = (o->flags & OUTBOX_F_APPS) != 0;
	int cut = (o->flags & OUTBOX_F_INTERRUPTED) != 0;
	int w;

	/* The site as the code and contact messages name it: the issuer, else the host name. */
	const char *site = hx_issuer(c, host, sizeof(host));
	if (site != host)
		snprintf(host, sizeof(host), "%s", site);
	hx_time_human(o->time, when, sizeof(when));
	proof_words(o, how, sizeof(how));
	snprintf(support, sizeof(support), "%s",
		 c->support_contact != NULL ? c->support_contact : "technical support");
	if (kind == METHOD_EMAIL && cut)
		w = rc_snprintf(
			text, n,
			"A password reset of the account %s on %s was started on %s with "
			"`pam-recover reset`, proven by %s (started by the local account "
			"%s), and was interrupted while the new password was being set: the "
			"password may have been changed.\n\n"
			"If you did not do this, contact %s at once.\n\n"
			"This message does not contain any password.\n",
			o->user, host, when, how, o->caller, support);
	else if (kind == METHOD_EMAIL)
		w = rc_snprintf(text, n,
				"The password of the account %s on %s was reset on %s with "
				"`pam-recover reset`, proven by %s (started by the local account "
				"%s).\n\n%s%s\n\n"
				"If you did not do this, contact %s at once.\n\n"
				"This message does not contain the new password.\n",
				o->user, host, when, how, o->caller,
				kept ? "2-step verification stays on."
				     : "2-step verification was turned off: every authenticator "
				       "device (app) was removed and the backup codes no longer "
				       "work.",
				apps ? " The app passwords were deleted." : "", support);
	else if (cut)
		w = rc_snprintf(
			text, n,
			"%s: a password reset of %s on %s was interrupted; the password may "
			"have been changed. Not you? Contact %s.",
			host, o->user, when, support);
	else
		w = rc_snprintf(text, n,
				"%s: the password of %s was reset on %s%s. Not you? Contact %s.",
				host, o->user, when,
				kept ? ""
				     : "; 2-step verification is off, every authenticator device "
				       "removed",
				support);
	if (w < 0)
		snprintf(text, n, "%s: the password of %s was reset.", host, o->user);
}

/* ---- receipts ---- */

/* The receipt directory beside an SQLite store (root 0700, made when missing), or -1: no
 * receipts (then a helper killed between a send and its record sends that notice again). */
static int receipt_dir(const struct cfg *c)
{
	char dir[4096];
	struct stat st;
	const char *path;
	char *slash;
	int dfd, fd;

	if (c->store == NULL || strncmp(c->store, "sqlite:", 7) != 0)
		return -1;
	path = c->store + 7;
	if (rc_snprintf(dir, sizeof(dir), "%s", path) < 0 || (slash = strrchr(dir, '/')) == NULL)
		return -1;
	*slash = '\0';
	dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	if (mkdirat(dfd, RECEIPT_DIR, 0700) != 0 && errno != EEXIST) {
		close(dfd);
		return -1;
	}
	fd = openat(dfd, RECEIPT_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open and lock the receipt of row id. The fd, -2 when another process holds it (a send
 * still running), -1 on error (then the row is sent without a receipt). */
static int receipt_open(int dfd, int64_t id, int wait_s)
{
	char name[32];
	struct stat st;
	int fd;

	if (dfd < 0)
		return -1;
	snprintf(name, sizeof(name), "%lld", (long long)id);
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		close(fd);
		return -1;
	}
	for (int64_t waited = 0;; waited += 100) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || waited >= (int64_t)wait_s * 1000) {
			close(fd);
			return errno == EWOULDBLOCK ? -2 : -1;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		(void)nanosleep(&ts, NULL);
	}
}

static int receipt_says_sent(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, PRIVSEP_RECEIPT) == 0;
}

static void receipt_drop(int dfd, int64_t id)
{
	char name[32];

	snprintf(name, sizeof(name), "%lld", (long long)id);
	(void)unlinkat(dfd, name, 0);
}

/* ---- delivering ---- */

struct flush {
	struct store *s;
	const struct seal_key *k;
	const struct cfg *c;
	int all;
	const char *owner;
	void (*cb)(void *ctx, const struct outbox_event *e);
	void *ctx;
	struct outbox_totals *t;
	int64_t ids[MAX_ROWS];
	size_t n;
	int dfd;
};

static const char *kind_name(int kind)
{
	static const char *const names[] = {"email", "sms", "telegram", "post-command"};
	return kind >= 0 && kind < STORE_OUTBOX_KINDS ? names[kind] : "?";
}

static int64_t backoff(int attempts)
{
	int64_t d = OUTBOX_RETRY_FIRST;

	for (int i = 1; i < attempts && d < OUTBOX_RETRY_MAX; i++)
		d *= 2;
	return d < OUTBOX_RETRY_MAX ? d : OUTBOX_RETRY_MAX;
}

/* Record one outcome with its audit event: one commit. 0 or -1. */
static int record(struct flush *f, const struct store_outbox *o, int status, const char *err,
		  int *state_out)
{
	const char *what = o->kind == OUTBOX_COMMAND ? "reset-post-command" : NULL;
	int attempts = o->attempts + 1, state;
	int64_t next = 0;
	int ok;

	if (status == HX_OK)
		state = STORE_OUTBOX_SENT;
	else if (attempts >= OUTBOX_MAX_ATTEMPTS)
		state = STORE_OUTBOX_GAVE_UP;
	else {
		state = STORE_OUTBOX_DUE;
		next = rc_now() + backoff(attempts);
	}
	if (what == NULL)
		what = state == STORE_OUTBOX_SENT      ? "reset-notice-sent"
		       : state == STORE_OUTBOX_GAVE_UP ? "reset-notice-given-up"
						       : "reset-notice-failed";
	*state_out = state;
	if (hx_txn_begin(f->s) != 0)
		return -1;
	ok = store_outbox_update(f->s, o->id, state, attempts, next, status == HX_OK ? "" : err) ==
		     STORE_OK &&
	     store_audit_add(f->s, o->user, 0, what,
			     o->kind == OUTBOX_COMMAND ? NULL : kind_name(o->kind),
			     status == HX_OK && o->kind == OUTBOX_COMMAND ? "ok" : err) == STORE_OK;
	return hx_txn_end(f->s, ok);
}

/* Unseal the destination of a notice. HX_OK or HX_SOFTWARE. */
static int destination(const struct flush *f, const struct store_outbox *o, char *out, size_t n)
{
	size_t len = 0;

	if (o->sealed_len <= SEAL_OVERHEAD || o->sealed_len - SEAL_OVERHEAD >= n ||
	    seal_decrypt(f->k, o->user, contact_seal_field(o->kind), o->sealed, o->sealed_len,
			 (unsigned char *)out, &len) != 0)
		return HX_SOFTWARE;
	out[len] = '\0';
	return HX_OK;
}

static void deliver(struct flush *f, int64_t id)
{
	struct store_outbox o;
	char err[512], to[CONTACT_VALUE_MAX], text[2048], msgid[96];
	int rfd = -1, status = HX_SOFTWARE, state = STORE_OUTBOX_DUE;

	err[0] = to[0] = '\0';
	if (f->dfd == -1)
		f->dfd = receipt_dir(f->c); /* made only when there is something to deliver */
	rfd = receipt_open(f->dfd, id, f->all ? OUTBOX_WAIT_BUSY : 0);
	if (rfd == -2) {
		f->t->busy++;
		return;
	}
	/* Under the lock: someone else may have finished it since the list was read. */
	if (store_outbox_get(f->s, id, &o) != STORE_OK)
		goto out;
	if (o.state != STORE_OUTBOX_DUE) {
		if (rfd >= 0 && o.state != STORE_OUTBOX_ARMED)
			receipt_drop(f->dfd, id); /* a receipt opened after its row was done */
		goto out;
	}
	/* Another host sharing the store may be at the same row: one takes it, for a lease of
	 * OUTBOX_LEASE seconds (its sender dying leaves the row due again after that). */
	if (!(rfd >= 0 && receipt_says_sent(rfd))) {
		int cr = store_outbox_claim(f->s, id, o.attempts, o.next_try,
					    rc_now() + OUTBOX_LEASE);

		if (cr == STORE_CONFLICT) {
			f->t->busy++;
			goto out;
		}
		if (cr != STORE_OK) {
			syslog(LOG_ERR, "outbox: cannot take row %lld: %s", (long long)id,
			       store_errmsg(f->s));
			goto out;
		}
	}
	if (rfd >= 0 && receipt_says_sent(rfd)) {
		status = HX_OK;
		snprintf(err, sizeof(err), "sent before the helper stopped");
	} else if (o.kind == OUTBOX_COMMAND) {
		if (f->c->post_reset_command == NULL) {
			status = HX_OK; /* no longer configured: nothing to run */
		} else {
			status = setpw_post_reset(f->c, o.user, err, sizeof(err));
			if (status != HX_OK)
				syslog(LOG_WARNING, "reset: user=%s post_reset_command: %s", o.user,
				       err);
		}
	} else if (destination(f, &o, to, sizeof(to)) != HX_OK) {
		snprintf(err, sizeof(err),
			 "the stored recovery contact does not open (key changed?)");
	} else {
		compose(f->c, &o, o.kind, text, sizeof(text));
		snprintf(msgid, sizeof(msgid), "outbox-%lld-%lld", (long long)o.id,
			 (long long)o.time);
		status = channel_deliver(f->c, o.kind, to, NOTICE_SUBJECT, text, msgid, rfd, err,
					 sizeof(err));
		if (status != HX_OK)
			syslog(LOG_WARNING, "reset: user=%s notice by %s not sent: %s", o.user,
			       kind_name(o.kind), err);
	}
	if (record(f, &o, status, err, &state) != 0) {
		syslog(LOG_ERR, "outbox: cannot record the delivery of row %lld: %s", (long long)id,
		       store_errmsg(f->s));
		goto out; /* the receipt stays: the next run records it without sending again */
	}
	if (rfd >= 0)
		receipt_drop(f->dfd, id);
	if (state == STORE_OUTBOX_SENT)
		f->t->delivered++;
	else if (state == STORE_OUTBOX_GAVE_UP) {
		f->t->gave_up++;
		syslog(LOG_ERR, "reset: user=%s %s given up after %d attempts: %s", o.user,
		       kind_name(o.kind), OUTBOX_MAX_ATTEMPTS, err);
	} else
		f->t->failed++;
	if (f->cb != NULL) {
		struct outbox_event e = {&o, status, status == HX_OK ? "" : err};
		f->cb(f->ctx, &e);
	}
out:
	if (rfd >= 0)
		close(rfd); /* releases the lock */
	RC_WIPE_ARRAY(to);
	rc_wipe(&o, sizeof(o));
}

static int collect(void *ctx, const struct store_outbox *o)
{
	struct flush *f = ctx;

	if (f->owner != NULL && strcmp(o->owner, f->owner) != 0)
		return 0;
	if (f->n >= MAX_ROWS) {
		f->t->left++;
		return 0;
	}
	f->ids[f->n++] = o->id;
	return 0;
}

/* ARMED rows whose owner died: their reset stopped while setting the password. */
struct dead {
	char owners[16][OUTBOX_OWNER_MAX];
	size_t n;
};

static int find_dead(void *ctx, const struct store_outbox *o)
{
	struct dead *d = ctx;

	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->owners[i], o->owner) == 0)
			return 0;
	if (d->n < sizeof(d->owners) / sizeof(d->owners[0]) && !owner_alive(o->owner))
		snprintf(d->owners[d->n++], OUTBOX_OWNER_MAX, "%s", o->owner);
	return 0;
}

static int recover_dead(struct flush *f)
{
	struct dead d;

	memset(&d, 0, sizeof(d));
	if (store_outbox_list(f->s, STORE_OUTBOX_ARMED, 0, find_dead, &d) != STORE_OK)
		return -1;
	for (size_t i = 0; i < d.n; i++) {
		int changed = 0, ok;
		if (hx_txn_begin(f->s) != 0)
			return -1;
		ok = store_outbox_release(f->s, d.owners[i], OUTBOX_F_INTERRUPTED, &changed) ==
			     STORE_OK &&
		     store_audit_add(
			     f->s, NULL, 0, "reset-interrupted", NULL,
			     "notices of a reset that stopped while setting the password") ==
			     STORE_OK;
		if (hx_txn_end(f->s, ok) != 0)
			return -1;
		f->t->recovered += changed;
		syslog(LOG_WARNING,
		       "reset: %d notice(s) of a reset that stopped while setting the password are "
		       "sent now",
		       changed);
	}
	return 0;
}

int outbox_flush(struct store *s, const struct seal_key *k, const struct cfg *c, int all,
		 const char *owner, void (*cb)(void *ctx, const struct outbox_event *e), void *ctx,
		 struct outbox_totals *t)
{
	struct flush *f = calloc(1, sizeof(*f));
	int r = -1;

	memset(t, 0, sizeof(*t));
	if (f == NULL)
		return -1;
	f->s = s;
	f->k = k;
	f->c = c;
	f->all = all;
	f->owner = owner;
	f->cb = cb;
	f->ctx = ctx;
	f->t = t;
	f->dfd = -1;
	if (owner == NULL && recover_dead(f) != 0)
		goto out;
	if (store_outbox_list(s, STORE_OUTBOX_DUE, all ? INT64_MAX : rc_now(), collect, f) !=
	    STORE_OK)
		goto out;
	for (size_t i = 0; i < f->n; i++)
		deliver(f, f->ids[i]);
	r = 0;
out:
	if (f->dfd >= 0)
		close(f->dfd);
	free(f);
	return r;
}

/* ---- pam-recover admin flush-notices ---- */

static const char flush_usage[] =
	"Usage: pam-recover admin flush-notices [--json]\n"
	"  Deliver every notice and post_reset_command of a reset that is still waiting (also\n"
	"  those of a reset that stopped while it was setting the password), now, whatever\n"
	"  their retry time. Waits up to 60 s for a message still being sent. Exit status 0\n"
	"  when nothing is left to deliver, 75 when something failed and will be retried.\n";

int admin_flush_notices(struct hctx *h, int argc, char **argv)
{
	char *pos[1] = {NULL};
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;
	struct outbox_totals t;
	int npos = 0, r;

	memset(&k, 0, sizeof(k));
	r = hx_parse_opts(h, "admin flush-notices", argc, argv, NULL, 0, pos, 0, &npos);
	if (r == HX_PARSE_HELP) {
		out_text(flush_usage);
		return HX_OK;
	}
	if (r != 0)
		return r;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;
	if (outbox_flush(s, &k, &c, 1, NULL, NULL, NULL, &t) != 0) {
		r = out_fail(HX_IOERR, "admin flush-notices: store error: %s", store_errmsg(s));
		goto out;
	}
	int waiting = t.failed + t.busy + t.left;
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", waiting == 0);
		oj_int(o, "delivered", t.delivered);
		oj_int(o, "failed", t.failed);
		oj_int(o, "gave_up", t.gave_up);
		oj_int(o, "busy", t.busy + t.left);
		oj_int(o, "recovered", t.recovered);
		out_json(o);
	} else {
		printf("%d delivered, %d failed (retried later), %d given up, %d still being sent",
		       t.delivered, t.failed, t.gave_up, t.busy + t.left);
		if (t.recovered > 0)
			printf("; %d from a reset that stopped while setting the password",
			       t.recovered);
		printf("\n");
	}
	r = waiting == 0 ? HX_OK : HX_TEMPFAIL;
out:
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
	return r;
}
