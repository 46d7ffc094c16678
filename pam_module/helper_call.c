/* unix_chkpwd-style call of the privileged back end (pam-recover-check): fixed path, empty
 * envp, secret on a pipe. */
#include "helper_call.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "check_proto.h"
#include "login.h"
#include "util.h"

/* Where the build installs pam-recover-check (Makefile.am): no default, so that a build
 * that forgot it fails here instead of execing a path nothing installs. */
#ifndef RC_CHECK_PATH
/* cppcheck-suppress preprocessorErrorDirective ; the build always defines it */
#error "RC_CHECK_PATH (the installed path of pam-recover-check) is not defined"
#endif

/* Start the back end: rfd its standard input (the request), wfd its standard output (-1:
 * /dev/null), standard error /dev/null, nothing else open. posix_spawn rather than fork:
 * the application's address space is not copied for an exec (a login pays for each). 0 or
 * an errno value. */
static int spawn(pid_t *pid, int rfd, int wfd)
{
	static char *const argv[] = {"pam-recover-check", NULL};
	static char *const envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return r;
	r = posix_spawn_file_actions_adddup2(&fa, rfd, STDIN_FILENO);
	if (r == 0)
		r = wfd >= 0 ? posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO)
			     : posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
								O_WRONLY, 0);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* The back end closes everything above 2 itself; do it here too. */
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
	if (r == 0)
		r = posix_spawn(pid, RC_CHECK_PATH, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* Read fd to its end into out (cap bytes, NUL-terminated); -1 if more came or on error. */
static int read_answer(int fd, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;
	int r = 0;

	for (;;) {
		char *dst = out;
		char sink[256];
		size_t room = n + 1 < cap ? cap - 1 - n : 0;
		ssize_t got;

		if (room == 0) {
			dst = sink; /* drained, so the writer never blocks, but refused */
			room = sizeof(sink);
		} else {
			dst = out + n;
		}
		got = read(fd, dst, room);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -1;
			break;
		}
		if (got == 0)
			break;
		if (dst == sink)
			r = -1;
		else
			n += (size_t)got;
	}
	out[n] = '\0';
	*outlen = n;
	return r;
}

/* As pam_unix does around unix_chkpwd: the application's SIGCHLD handler must not reap
 * our child, and a dead reader must not kill the application with SIGPIPE. */
struct sigsave {
	struct sigaction chld, pipe;
};

static void signals_ours(struct sigsave *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, &old->chld);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old->pipe);
}

static void signals_theirs(const struct sigsave *old)
{
	sigaction(SIGCHLD, &old->chld, NULL);
	sigaction(SIGPIPE, &old->pipe, NULL);
}

/* The child's exit status as a LOGIN_* answer (CHECK_UNUSED passed through for the held
 * back end's caller, CHECK_OK_TAIL8 for backend_verify); LOGIN_ERROR with a log line
 * otherwise. */
static int reap(pam_handle_t *pamh, pid_t pid)
{
	int status = 0;
	pid_t w;

	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w != pid) {
		pam_syslog(pamh, LOG_ERR, "waitpid: %m");
		return LOGIN_ERROR;
	}
	if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) <= LOGIN_NO_APP || WEXITSTATUS(status) == CHECK_UNUSED ||
	     WEXITSTATUS(status) == CHECK_OK_TAIL8))
		return WEXITSTATUS(status);
	pam_syslog(pamh, LOG_ERR, "%s failed (status %d)", RC_CHECK_PATH,
		   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return LOGIN_ERROR;
}

static int make_request(pam_handle_t *pamh, char *req, size_t cap, const char *mode,
			const char *user, const char *service, const char *input)
{
	int len = snprintf(req, cap, "%s\n%s\n%s\n%s\n", mode, user, service, input);

	if (len < 0 || (size_t)len >= cap) {
		pam_syslog(pamh, LOG_ERR, "request to the helper is too long");
		return -1;
	}
	return len;
}

int helper_call(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		const char *input)
{
	return helper_call_out(pamh, mode, user, service, input, NULL, 0, NULL);
}

int helper_call_out(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		    const char *input, char *out, size_t cap, size_t *outlen)
{
	char req[CHECK_REQ_MAX];
	struct sigsave old;
	int pfd[2] = {-1, -1}, ofd[2] = {-1, -1};
	int r = LOGIN_ERROR, len, answer_ok = 1;
	pid_t pid = -1;

	len = make_request(pamh, req, sizeof(req), mode, user, service, input);
	if (len < 0)
		goto out;
	signals_ours(&old);
	if (pipe2(pfd, O_CLOEXEC) != 0 || (out != NULL && pipe2(ofd, O_CLOEXEC) != 0)) {
		pam_syslog(pamh, LOG_ERR, "pipe: %m");
		goto restore;
	}
	errno = spawn(&pid, pfd[0], ofd[1]);
	if (errno != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot run %s: %m", RC_CHECK_PATH);
		pid = -1;
		goto restore;
	}
	close(pfd[0]);
	pfd[0] = -1;
	if (ofd[1] >= 0) {
		close(ofd[1]);
		ofd[1] = -1;
	}
	if (rc_write_all(pfd[1], req, (size_t)len) != 0)
		pam_syslog(pamh, LOG_ERR, "could not send the request to %s", RC_CHECK_PATH);
	close(pfd[1]);
	pfd[1] = -1;
	if (out != NULL && read_answer(ofd[0], out, cap, outlen) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s answered more than %zu bytes or could not be read",
			   RC_CHECK_PATH, cap > 0 ? cap - 1 : 0);
		answer_ok = 0;
	}
	r = reap(pamh, pid);
	if (!answer_ok || r == CHECK_UNUSED)
		r = LOGIN_ERROR; /* CHECK_UNUSED comes from mode hold only */
restore:
	signals_theirs(&old);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (ofd[0] >= 0)
		close(ofd[0]);
	if (ofd[1] >= 0)
		close(ofd[1]);
	RC_WIPE_ARRAY(req);
	return r;
}

/* Read the held back end's first answer: up to its "= N" line (it then waits, so there is no
 * end of input to wait for), or to the end of input when it ended instead. 1 with the line
 * taken off `out` and N in *answer; 0 at the end of input; -1 on error or overflow. */
static int read_held_answer(int fd, char *out, size_t cap, size_t *outlen, int *answer)
{
	size_t n = 0;

	for (;;) {
		ssize_t got;
		char *last;

		if (n + 1 >= cap)
			return -1;
		got = read(fd, out + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		out[n + (size_t)got] = '\0';
		if (got == 0) {
			*outlen = n;
			return 0;
		}
		n += (size_t)got;
		if (out[n - 1] != '\n')
			continue;
		/* the last complete line: config lines are "key = value", never "= ..." */
		out[n - 1] = '\0';
		last = strrchr(out, '\n');
		last = last != NULL ? last + 1 : out;
		out[n - 1] = '\n';
		if (strncmp(last, CHECK_HOLD_MARK, strlen(CHECK_HOLD_MARK)) != 0)
			continue;
		{
			const char *d = last + strlen(CHECK_HOLD_MARK);
			int v = 0;

			if (*d < '0' || *d > '9')
				return -1;
			for (; *d >= '0' && *d <= '9' && v <= LOGIN_NO_APP; d++)
				v = v * 10 + (*d - '0');
			if (*d != '\n' || v > LOGIN_NO_APP)
				return -1;
			*answer = v;
		}
		*last = '\0';
		*outlen = (size_t)(last - out);
		return 1;
	}
}

int helper_hold(pam_handle_t *pamh, const char *user, const char *service, char *out, size_t cap,
		size_t *outlen, struct helper_held *hh)
{
	char req[CHECK_REQ_MAX];
	struct sigsave old;
	int pfd[2] = {-1, -1}, ofd[2] = {-1, -1};
	int r = LOGIN_ERROR, len, got, answer = LOGIN_ERROR;
	pid_t pid = -1;

	hh->pid = -1;
	hh->wfd = -1;
	*outlen = 0;
	len = make_request(pamh, req, sizeof(req), CHECK_MODE_HOLD, user, service, "");
	if (len < 0)
		goto out;
	signals_ours(&old);
	if (pipe2(pfd, O_CLOEXEC) != 0 || pipe2(ofd, O_CLOEXEC) != 0) {
		pam_syslog(pamh, LOG_ERR, "pipe: %m");
		goto restore;
	}
	errno = spawn(&pid, pfd[0], ofd[1]);
	if (errno != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot run %s: %m", RC_CHECK_PATH);
		pid = -1;
		goto restore;
	}
	close(pfd[0]);
	close(ofd[1]);
	pfd[0] = ofd[1] = -1;
	if (rc_write_all(pfd[1], req, (size_t)len) != 0)
		pam_syslog(pamh, LOG_ERR, "could not send the request to %s", RC_CHECK_PATH);
	got = read_held_answer(ofd[0], out, cap, outlen, &answer);
	if (got == 1) {
		/* Held: the write end stays ours until the second request or the end. */
		hh->pid = pid;
		hh->wfd = pfd[1];
		pfd[1] = -1;
		r = answer;
		goto restore;
	}
	if (got < 0)
		pam_syslog(pamh, LOG_ERR,
			   "%s answered more than %zu bytes, or not as mode hold does",
			   RC_CHECK_PATH, cap > 0 ? cap - 1 : 0);
	close(pfd[1]);
	pfd[1] = -1;
	r = reap(pamh, pid); /* it ended before its answer line: the status says why */
	if (got < 0 || r == LOGIN_OK || r == CHECK_UNUSED)
		r = LOGIN_ERROR;
	*outlen = 0;
	out[0] = '\0';
restore:
	signals_theirs(&old);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (ofd[0] >= 0)
		close(ofd[0]);
	if (ofd[1] >= 0)
		close(ofd[1]);
	RC_WIPE_ARRAY(req);
	return r;
}

int helper_held_call(pam_handle_t *pamh, struct helper_held *hh, const char *mode, const char *user,
		     const char *service, const char *input)
{
	char req[CHECK_REQ_MAX];
	struct sigsave old;
	int r, len, sent;

	if (hh->pid <= 0)
		return helper_call(pamh, mode, user, service, input);
	len = make_request(pamh, req, sizeof(req), mode, user, service, input);
	signals_ours(&old);
	/* A write that fails (the back end gave up waiting: EPIPE) was never read. */
	sent = len >= 0 && rc_write_all(hh->wfd, req, (size_t)len) == 0;
	close(hh->wfd);
	hh->wfd = -1;
	r = reap(pamh, hh->pid);
	hh->pid = -1;
	signals_theirs(&old);
	RC_WIPE_ARRAY(req);
	if (len < 0)
		return LOGIN_ERROR;
	if (!sent || r == CHECK_UNUSED) /* nothing was decided: ask in a new exec */
		return helper_call(pamh, mode, user, service, input);
	return r;
}

void helper_held_end(pam_handle_t *pamh, struct helper_held *hh)
{
	static const char done[] = CHECK_MODE_DONE "\n\n\n\n";
	struct sigsave old;

	if (hh->pid <= 0)
		return;
	signals_ours(&old);
	/* `done` rather than only closing: a copy of the pipe in a child the application
	 * forked would keep the end of input from coming. */
	(void)rc_write_all(hh->wfd, done, sizeof(done) - 1);
	close(hh->wfd);
	hh->wfd = -1;
	(void)reap(pamh, hh->pid);
	hh->pid = -1;
	signals_theirs(&old);
}
