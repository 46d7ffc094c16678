/*
 * Network I/O in an unprivileged child (HARDENING.md item 10), in the order of OpenSSH's
 * ssh-keysign: the root part has read every secret; the child fixes its descriptors, drops
 * to channel_user for good (setgroups, setresgid, setresuid, each checked, then proof that
 * setresuid(0,0,0) fails, then PR_SET_NO_NEW_PRIVS: harden_drop_privileges), and only then
 * reads and parses the request. It answers with one status and a short text, and exits.
 *
 * Wire format (both directions, little endian):
 *   request:  "PRS1" then fields: tag(1) len(4) bytes(len) NUL; each tag at most once
 *   response: status(4) errlen(2) err(errlen) reslen(2) result(reslen)
 */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "harden.h"
#include "helper.h"
#include "mail.h"
#include "sms.h"
#include "telegram.h"

#define MAGIC "PRS1"
#define NOBODY_ID 65534
#define RES_MAX (4 + 2 + PRIVSEP_ERR_MAX + 2 + PRIVSEP_RESULT_MAX)

enum tag {
	T_OP = 1, T_URL, T_TLS, T_CTYPE, T_USER, T_SECRET, T_CA, T_FROM, T_TO, T_SUBJECT,
	T_TEXT, T_BODY, T_CODE, T_LAST = T_CODE
};

/* ---- the request on the wire ---- */

struct wbuf {
	unsigned char *d;
	size_t len, cap;
	int bad;
};

static void wput(struct wbuf *b, const void *s, size_t n)
{
	if (b->bad)
		return;
	if (n > PRIVSEP_REQ_MAX || b->len + n > PRIVSEP_REQ_MAX) {
		b->bad = 1;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *d = malloc(cap);
		if (d == NULL) {
			b->bad = 1;
			return;
		}
		/* never realloc: the old buffer may hold secrets and must be wiped */
		if (b->d != NULL) {
			memcpy(d, b->d, b->len);
			rc_wipe(b->d, b->cap);
			free(b->d);
		}
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->len, s, n);
	b->len += n;
}

static void wfield(struct wbuf *b, int tag, const char *v)
{
	unsigned char h[5];
	size_t n;

	if (v == NULL)
		return;
	n = strlen(v);
	h[0] = (unsigned char)tag;
	h[1] = (unsigned char)(n & 0xff);
	h[2] = (unsigned char)((n >> 8) & 0xff);
	h[3] = (unsigned char)((n >> 16) & 0xff);
	h[4] = (unsigned char)((n >> 24) & 0xff);
	wput(b, h, sizeof(h));
	wput(b, v, n + 1);
}

static void wint(struct wbuf *b, int tag, int v)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", v);
	wfield(b, tag, s);
}

int privsep_encode(const struct privsep_req *req, unsigned char **out, size_t *len)
{
	struct wbuf b = {NULL, 0, 0, 0};

	*out = NULL;
	*len = 0;
	wput(&b, MAGIC, 4);
	wint(&b, T_OP, req->op);
	wfield(&b, T_URL, req->url);
	wint(&b, T_TLS, req->tls);
	wint(&b, T_CTYPE, req->content_type);
	wfield(&b, T_USER, req->user);
	wfield(&b, T_SECRET, req->secret);
	wfield(&b, T_CA, req->ca);
	wfield(&b, T_FROM, req->from);
	wfield(&b, T_TO, req->to);
	wfield(&b, T_SUBJECT, req->subject);
	wfield(&b, T_TEXT, req->text);
	wfield(&b, T_BODY, req->body);
	wfield(&b, T_CODE, req->code);
	if (b.bad) {
		if (b.d != NULL)
			rc_wipe(b.d, b.cap);
		free(b.d);
		return -1;
	}
	*out = b.d;
	*len = b.len;
	return 0;
}

static int dint(const char *s, int *out)
{
	long v;

	if (rc_parse_long(s, 0, 1000, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int privsep_decode(unsigned char *buf, size_t len, struct privsep_req *req)
{
	const char **slot[T_LAST + 1];
	const char *ints[T_LAST + 1];
	int seen[T_LAST + 1];
	size_t pos = 4;

	memset(req, 0, sizeof(*req));
	memset(seen, 0, sizeof(seen));
	memset(ints, 0, sizeof(ints));
	memset(slot, 0, sizeof(slot));
	slot[T_URL] = &req->url;
	slot[T_USER] = &req->user;
	slot[T_SECRET] = &req->secret;
	slot[T_CA] = &req->ca;
	slot[T_FROM] = &req->from;
	slot[T_TO] = &req->to;
	slot[T_SUBJECT] = &req->subject;
	slot[T_TEXT] = &req->text;
	slot[T_BODY] = &req->body;
	slot[T_CODE] = &req->code;
	if (buf == NULL || len < 4 || memcmp(buf, MAGIC, 4) != 0)
		return -1;
	while (pos < len) {
		size_t n;
		int tag;
		if (len - pos < 5)
			return -1;
		tag = buf[pos];
		n = (size_t)buf[pos + 1] | (size_t)buf[pos + 2] << 8 | (size_t)buf[pos + 3] << 16 |
		    (size_t)buf[pos + 4] << 24;
		pos += 5;
		if (tag < T_OP || tag > T_LAST || seen[tag] || n >= len - pos || buf[pos + n] != 0 ||
		    memchr(buf + pos, 0, n) != NULL)
			return -1;
		seen[tag] = 1;
		if (slot[tag] != NULL)
			*slot[tag] = (const char *)buf + pos;
		else
			ints[tag] = (const char *)buf + pos;
		pos += n + 1;
	}
	if (ints[T_OP] == NULL || dint(ints[T_OP], &req->op) != 0 || req->op < PRIVSEP_MAIL ||
	    req->op > PRIVSEP_TG_ME)
		return -1;
	if ((ints[T_TLS] != NULL && dint(ints[T_TLS], &req->tls) != 0) ||
	    (ints[T_CTYPE] != NULL && dint(ints[T_CTYPE], &req->content_type) != 0))
		return -1;
	return 0;
}

/* ---- the child ---- */

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replace every occurrence of secret in s by "[hidden]" (in place, s is NUL-terminated). */
static void redact(char *s, size_t size, const char *secret)
{
	static const char mark[] = "[hidden]";
	size_t sl;
	char *p;

	if (secret == NULL || (sl = strlen(secret)) < 4)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		size_t tail = strlen(p + sl);
		if (sl >= sizeof(mark) - 1) {
			memcpy(p, mark, sizeof(mark) - 1);
			memmove(p + sizeof(mark) - 1, p + sl, tail + 1);
		} else if ((size_t)(p - s) + sizeof(mark) + tail <= size) {
			memmove(p + sizeof(mark) - 1, p + sl, tail + 1);
			memcpy(p, mark, sizeof(mark) - 1);
		} else {
			*p = '\0';
		}
	}
}

static int respond(int fd, const struct privsep_res *res)
{
	unsigned char out[RES_MAX];
	size_t el = strnlen(res->err, sizeof(res->err) - 1);
	size_t rl = strnlen(res->result, sizeof(res->result) - 1);
	uint32_t st = (uint32_t)res->status;
	size_t o = 0;

	out[o++] = (unsigned char)(st & 0xff);
	out[o++] = (unsigned char)((st >> 8) & 0xff);
	out[o++] = (unsigned char)((st >> 16) & 0xff);
	out[o++] = (unsigned char)((st >> 24) & 0xff);
	out[o++] = (unsigned char)(el & 0xff);
	out[o++] = (unsigned char)(el >> 8);
	memcpy(out + o, res->err, el);
	o += el;
	out[o++] = (unsigned char)(rl & 0xff);
	out[o++] = (unsigned char)(rl >> 8);
	memcpy(out + o, res->result, rl);
	o += rl;
	return write_all(fd, out, o);
}

/* Descriptors: 0, 1, 2 on /dev/null, the request on 3, the answer on 4, nothing else. */
static int child_fds(int rfd, int wfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int a = fcntl(rfd, F_DUPFD, 10), b = fcntl(wfd, F_DUPFD, 10);

	if (null < 0 || a < 0 || b < 0)
		return -1;
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(a, 3) < 0 ||
	    dup2(b, 4) < 0)
		return -1;
	if (close_range(5, ~0U, 0) != 0) {
		for (int fd = 5; fd < 1024; fd++)
			(void)close(fd);
	}
	return 0;
}

static unsigned char *read_request(int fd, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	unsigned char *b = malloc(cap);

	if (b == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap >= PRIVSEP_REQ_MAX)
				goto fail;
			unsigned char *nb = malloc(cap * 2);
			if (nb == NULL)
				goto fail;
			memcpy(nb, b, n);
			rc_wipe(b, cap);
			free(b);
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
fail:
	rc_wipe(b, cap);
	free(b);
	return NULL;
}

static void child_main(int rfd, int wfd, uid_t uid, gid_t gid)
{
	static struct privsep_res res;
	struct privsep_req req;
	const struct rlimit nofiles = {0, 0};
	unsigned char *buf = NULL;
	size_t len = 0;

	memset(&res, 0, sizeof(res));
	res.status = HX_SOFTWARE;
	if (child_fds(rfd, wfd) != 0)
		_exit(HX_SOFTWARE);
	/* Drop for good before the first byte of the request is read; then not dumpable, no
	 * core, no file written; the environment was already cleared at start-up. */
	if (harden_drop_privileges(uid, gid) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &nofiles) != 0 || setrlimit(RLIMIT_FSIZE, &nofiles) != 0 ||
	    clearenv() != 0) {
		snprintf(res.err, sizeof(res.err),
			 "the network process could not drop its privileges; nothing was sent");
		(void)respond(4, &res);
		_exit(HX_SOFTWARE);
	}
	buf = read_request(3, &len);
	(void)close(3);
	if (buf == NULL || privsep_decode(buf, len, &req) != 0) {
		snprintf(res.err, sizeof(res.err), "the network process got a malformed request");
		goto out;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(res.err, sizeof(res.err), "cannot initialise the network libraries");
		goto out;
	}
	switch (req.op) {
	case PRIVSEP_MAIL:
		mail_send(&req, &res);
		break;
	case PRIVSEP_SMS:
		sms_send(&req, &res);
		break;
	default:
		tg_run(&req, &res);
		break;
	}
	redact(res.err, sizeof(res.err), req.secret);
	redact(res.err, sizeof(res.err), req.code);
out:
	if (buf != NULL) {
		rc_wipe(buf, len);
		free(buf);
	}
	(void)respond(4, &res);
	_exit(0);
}

/* ---- the parent ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {fd, ev, 0};
		if (left <= 0)
			return -1;
		int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
	}
}

static int send_request(int fd, const unsigned char *b, size_t n, int64_t deadline)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	while (n > 0) {
		if (wait_fd(fd, POLLOUT, deadline) != 0)
			return -1;
		ssize_t w = write(fd, b, n);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read the whole answer (until EOF); -2 on timeout, -1 on error or overflow. */
static int read_answer(int fd, unsigned char *b, size_t cap, size_t *n, int64_t deadline)
{
	*n = 0;
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) != 0)
			return -2;
		ssize_t r = read(fd, b + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		*n += (size_t)r;
		if (*n == cap) {
			unsigned char extra;
			if (read(fd, &extra, 1) > 0)
				return -1;
			return 0;
		}
	}
}

static int reap(pid_t pid, int64_t deadline, int *wstatus)
{
	for (;;) {
		pid_t w = waitpid(pid, wstatus, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
				;
			return -2;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		(void)nanosleep(&ts, NULL);
	}
}

static int channel_ids(const struct cfg *c, uid_t *uid, gid_t *gid, struct privsep_res *res)
{
	const char *name = c->channel_user != NULL ? c->channel_user : "nobody";
	const struct passwd *pw;

	if (geteuid() != 0) {
		/* Not running as root (a test without setuid): there is nothing to drop to but
		 * ourselves; the drop still proves that root cannot be regained. */
		*uid = getuid();
		*gid = getgid();
		return 0;
	}
	if (!rc_user_name_ok(name) || strchr(name, '@') != NULL) {
		snprintf(res->err, sizeof(res->err), "channel_user is not a valid user name");
		return -1;
	}
	pw = getpwnam(name);
	if (pw == NULL && strcmp(name, "nobody") == 0) {
		*uid = NOBODY_ID;
		*gid = NOBODY_ID;
		return 0;
	}
	if (pw == NULL) {
		snprintf(res->err, sizeof(res->err),
			 "channel_user %s does not exist (create a system user for it, or leave "
			 "the default nobody)",
			 name);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(res->err, sizeof(res->err),
			 "channel_user %s has uid or gid 0; the network process must not run as "
			 "root",
			 name);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int bad(struct privsep_res *res, int status, const char *msg)
{
	res->status = status;
	snprintf(res->err, sizeof(res->err), "%s", msg);
	return status;
}

/* Take the child's answer apart; untrusted: lengths checked, text escaped. */
static int parse_answer(const unsigned char *b, size_t n, struct privsep_res *res)
{
	char tmp[PRIVSEP_RESULT_MAX];
	size_t el, rl;
	uint32_t st;

	if (n < 8)
		return -1;
	st = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	el = (size_t)b[4] | (size_t)b[5] << 8;
	if (el >= PRIVSEP_ERR_MAX || n < 6 + el + 2)
		return -1;
	rl = (size_t)b[6 + el] | (size_t)b[7 + el] << 8;
	if (rl >= PRIVSEP_RESULT_MAX || n != 8 + el + rl)
		return -1;
	if (st != HX_OK && st != HX_DATAERR && st != HX_UNAVAIL && st != HX_SOFTWARE &&
	    st != HX_CONFIG)
		return -1;
	memcpy(tmp, b + 6, el);
	tmp[el] = '\0';
	rc_log_escape(tmp, res->err, sizeof(res->err));
	/* result: printable ASCII and newlines only */
	for (size_t i = 0; i < rl; i++) {
		unsigned char ch = b[8 + el + i];
		if (ch != '\n' && (ch < 0x20 || ch > 0x7e))
			return -1;
	}
	memcpy(res->result, b + 8 + el, rl);
	res->result[rl] = '\0';
	res->status = (int)st;
	return 0;
}

int privsep_run(const struct cfg *c, const struct privsep_req *req, int timeout_s,
		struct privsep_res *res)
{
	unsigned char answer[RES_MAX];
	unsigned char *wire = NULL;
	size_t wlen = 0, alen = 0;
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
	int64_t deadline;
	uid_t uid;
	gid_t gid;
	pid_t pid = -1;
	int ws = 0, ar;

	memset(res, 0, sizeof(*res));
	res->status = HX_SOFTWARE;
	if (channel_ids(c, &uid, &gid, res) != 0) {
		res->status = HX_CONFIG;
		goto out;
	}
	if (privsep_encode(req, &wire, &wlen) != 0) {
		bad(res, HX_DATAERR, "the message is too large to send");
		goto out;
	}
	if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) {
		bad(res, HX_SOFTWARE, "cannot create a pipe for the network process");
		goto out;
	}
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0) {
		bad(res, HX_SOFTWARE, "cannot start the network process (fork failed)");
		goto out;
	}
	if (pid == 0) {
		rc_wipe(wire, wlen); /* the child reads its copy from the pipe, like a stranger */
		child_main(to_child[0], from_child[1], uid, gid);
		_exit(HX_SOFTWARE);
	}
	(void)close(to_child[0]);
	(void)close(from_child[1]);
	to_child[0] = from_child[1] = -1;
	deadline = now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : PRIVSEP_TIMEOUT) * 1000;

	if (send_request(to_child[1], wire, wlen, deadline) != 0) {
		/* the child died early or hangs: its answer (if any) says why */
	}
	(void)close(to_child[1]);
	to_child[1] = -1;
	rc_wipe(wire, wlen);

	ar = read_answer(from_child[0], answer, sizeof(answer), &alen, deadline);
	int rr = reap(pid, ar == -2 ? now_ms() : deadline, &ws);
	pid = -1;
	if (ar == -2 || rr == -2) {
		bad(res, HX_UNAVAIL, "the network request took too long and was stopped; try later");
		goto out;
	}
	if (ar != 0 || parse_answer(answer, alen, res) != 0) {
		bad(res, HX_SOFTWARE, "the network process ended without a valid answer");
		goto out;
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		if (res->status == HX_OK)
			bad(res, HX_SOFTWARE, "the network process failed");
	}
out:
	if (pid > 0) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		if (to_child[i] >= 0)
			(void)close(to_child[i]);
		if (from_child[i] >= 0)
			(void)close(from_child[i]);
	}
	if (wire != NULL) {
		rc_wipe(wire, wlen);
		free(wire);
	}
	rc_wipe(answer, sizeof(answer));
	return res->status;
}
