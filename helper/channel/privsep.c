/*
 * The root side of privilege separation (privsep.h): start pam-recover-send by fork +
 * execve with an empty environment, hand it the request over a pipe, read its answer, and
 * wait for it within a time limit. The sender's own side is helper/channel/sender.c; the wire format
 * is privsep_wire.c.
 */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "helper.h"

#define NOBODY_ID 65534
#define SENDER_NAME "pam-recover-send"
#define EXEC_FAILED 127 /* the child's status when execve failed */

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

const char *privsep_sender_path(char *buf, size_t n)
{
	char self[PATH_MAX];
	ssize_t l;

	/* The caller, not the current uid: the helper runs as root all through. */
	if (harden_caller_uid() != 0)
		return RC_SENDER_PATH;
	l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return RC_SENDER_PATH;
	self[l] = '\0';
	if (strcmp(self, RC_HELPER_PATH) == 0)
		return RC_SENDER_PATH;
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return RC_SENDER_PATH;
	*slash = '\0';
	if (rc_snprintf(buf, n, "%s/%s", self, SENDER_NAME) < 0 || access(buf, X_OK) != 0)
		return RC_SENDER_PATH;
	return buf;
}

/* In the forked child: the sender's descriptors and signals, then execve. Never returns. */
static void exec_sender(const char *path, int rfd, int wfd, int receipt_fd, uid_t uid, gid_t gid)
{
	char su[24], sg[24];
	char *argv[] = {SENDER_NAME, su, sg, NULL};
	char *envp[] = {NULL};
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int a = fcntl(rfd, F_DUPFD, 10), b = fcntl(wfd, F_DUPFD, 10);
	int c = receipt_fd >= 0 ? fcntl(receipt_fd, F_DUPFD, 10) : fcntl(null, F_DUPFD, 10);

	if (null < 0 || a < 0 || b < 0 || c < 0)
		_exit(EXEC_FAILED);
	if (dup2(a, 0) < 0 || dup2(b, 1) < 0 || dup2(null, 2) < 0 || dup2(c, 3) < 0)
		_exit(EXEC_FAILED);
	if (close_range(4, ~0U, 0) != 0)
		for (int fd = 4; fd < 1024; fd++)
			(void)close(fd);
	for (int sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(su, sizeof(su), "%lu", (unsigned long)uid);
	snprintf(sg, sizeof(sg), "%lu", (unsigned long)gid);
	execve(path, argv, envp);
	_exit(EXEC_FAILED);
}

int privsep_run(const struct cfg *c, const struct privsep_req *req, int timeout_s, int receipt_fd,
		struct privsep_res *res)
{
	unsigned char answer[PRIVSEP_ANSWER_MAX];
	unsigned char *wire = NULL;
	char pathbuf[PATH_MAX];
	const char *path;
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
	path = privsep_sender_path(pathbuf, sizeof(pathbuf));
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
	if (pid == 0)
		exec_sender(path, to_child[0], from_child[1], receipt_fd, uid, gid);
	(void)close(to_child[0]);
	(void)close(from_child[1]);
	to_child[0] = from_child[1] = -1;
	deadline = now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : PRIVSEP_TIMEOUT) * 1000;

	if (send_request(to_child[1], wire, wlen, deadline) != 0) {
		/* the sender died early or hangs: its answer (if any) says why */
	}
	(void)close(to_child[1]);
	to_child[1] = -1;
	rc_wipe(wire, wlen);

	ar = read_answer(from_child[0], answer, sizeof(answer), &alen, deadline);
	int rr = reap(pid, ar == -2 ? now_ms() : deadline, &ws);
	pid = -1;
	if (ar == -2 || rr == -2) {
		bad(res, HX_UNAVAIL,
		    "the network request took too long and was stopped; try later");
		goto out;
	}
	if (ar == 0 && alen == 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == EXEC_FAILED) {
		char esc[128];
		rc_log_escape(path, esc, sizeof(esc));
		res->status = HX_SOFTWARE;
		snprintf(res->err, sizeof(res->err),
			 "cannot start the network process %s (is pam_recover completely "
			 "installed?); nothing was sent",
			 esc);
		goto out;
	}
	if (ar != 0 || privsep_answer_decode(answer, alen, res) != 0) {
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
