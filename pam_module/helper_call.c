/* unix_chkpwd-style call of the privileged helper: fixed path, empty envp, secret on a pipe. */
#include "helper_call.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "check_proto.h"
#include "login.h"
#include "util.h"

#ifndef RC_HELPER_PATH
#define RC_HELPER_PATH "/usr/bin/pam-recover"
#endif

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void child(int rfd)
{
	static char *const argv[] = {"pam-recover", "check", NULL};
	static char *const envp[] = {NULL};
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (rfd != STDIN_FILENO && dup2(rfd, STDIN_FILENO) < 0)
		_exit(LOGIN_ERROR);
	if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
		_exit(LOGIN_ERROR);
	/* The helper closes everything above 2 itself; do it here too for older kernels. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	execve(RC_HELPER_PATH, argv, envp);
	_exit(LOGIN_ERROR);
}

int helper_call(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		const char *input)
{
	char req[CHECK_REQ_MAX];
	struct sigaction sa, old_chld, old_pipe;
	int pfd[2] = {-1, -1};
	int r = LOGIN_ERROR, status = 0, len;
	pid_t pid = -1, w;

	len = snprintf(req, sizeof(req), "%s\n%s\n%s\n%s\n", mode, user, service, input);
	if (len < 0 || (size_t)len >= sizeof(req)) {
		pam_syslog(pamh, LOG_ERR, "request to the helper is too long");
		goto out;
	}
	/* As pam_unix does around unix_chkpwd: the application's SIGCHLD handler must not reap
	 * our child, and a dead reader must not kill the application with SIGPIPE. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, &old_chld);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		pam_syslog(pamh, LOG_ERR, "pipe: %m");
		goto restore;
	}
	pid = fork();
	if (pid < 0) {
		pam_syslog(pamh, LOG_ERR, "fork: %m");
		goto restore;
	}
	if (pid == 0) {
		close(pfd[1]);
		child(pfd[0]);
	}
	close(pfd[0]);
	pfd[0] = -1;
	if (write_all(pfd[1], req, (size_t)len) != 0)
		pam_syslog(pamh, LOG_ERR, "could not send the request to %s", RC_HELPER_PATH);
	close(pfd[1]);
	pfd[1] = -1;
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w != pid) {
		pam_syslog(pamh, LOG_ERR, "waitpid: %m");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) <= LOGIN_NO_APP) {
		r = WEXITSTATUS(status);
	} else {
		pam_syslog(pamh, LOG_ERR, "%s check failed (status %d)", RC_HELPER_PATH,
			   WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
restore:
	sigaction(SIGCHLD, &old_chld, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	RC_WIPE_ARRAY(req);
	return r;
}
