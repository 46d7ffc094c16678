/* Configured commands, run without a shell (see runcmd.h). */
#include "runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"

int runcmd_split(const char *cmdline, const char *user, struct runcmd *out, const char **why)
{
	const char *p = cmdline;
	size_t o = 0;
	size_t ulen = user != NULL ? strlen(user) : 0;

	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (cmdline == NULL) {
		*why = "no command";
		return -1;
	}
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (out->argc >= RUNCMD_MAX_ARGS) {
			*why = "has too many words";
			return -1;
		}
		out->argv[out->argc++] = out->buf + o;
		char quote = '\0';
		for (; *p != '\0'; p++) {
			if (quote == '\0' && (*p == ' ' || *p == '\t'))
				break;
			if (quote == '\0' && (*p == '\'' || *p == '"')) {
				quote = *p;
				continue;
			}
			if (quote != '\0' && *p == quote) {
				quote = '\0';
				continue;
			}
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				*why = "holds a control character";
				return -1;
			}
			if (*p == '%') {
				if (p[1] == 'u') {
					if (user == NULL || o + ulen + 1 >= RUNCMD_BUF) {
						*why = user == NULL ? "uses %u without a user"
								    : "is too long";
						return -1;
					}
					memcpy(out->buf + o, user, ulen);
					o += ulen;
					p++;
					continue;
				}
				if (p[1] != '%') {
					*why = "has a '%' that is neither %u nor %%";
					return -1;
				}
				p++;
			}
			if (o + 2 >= RUNCMD_BUF) {
				*why = "is too long";
				return -1;
			}
			out->buf[o++] = *p;
		}
		if (quote != '\0') {
			*why = "has an unterminated quote";
			return -1;
		}
		out->buf[o++] = '\0';
	}
	out->argv[out->argc] = NULL;
	if (out->argc == 0 || out->argv[0][0] != '/') {
		*why = "must start with the absolute path of a program";
		return -1;
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_Noreturn static void child(const struct runcmd *cmd, int in_fd, int out_fd)
{
	static char *const envp[] = {"PATH=" HARDEN_PATH, "LC_ALL=C", "HOME=/", NULL};
	struct sigaction sa;
	sigset_t none;

	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	if (close_range(3, ~0U, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			(void)close(fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* Root all through: a command that checks its real uid (doveadm) sees root. */
	if (geteuid() == 0 && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
		_exit(126);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(126);
	execve(cmd->argv[0], cmd->argv, envp);
	{
		static const char msg[] = "cannot execute the program\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
	}
	_exit(127);
}

/* Keep what fits, escaped for messages. */
static void keep(char *raw, size_t *rlen, const char *data, size_t len)
{
	size_t room = RUNCMD_OUT_MAX - *rlen;
	if (len > room)
		len = room;
	memcpy(raw + *rlen, data, len);
	*rlen += len;
}

int runcmd_run(const struct runcmd *cmd, const char *input, int timeout_s, int *status,
	       char *output, size_t n)
{
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, null_fd = -1;
	char raw[RUNCMD_OUT_MAX + 1];
	size_t rlen = 0;
	pid_t pid = -1;
	int r = -1, wst = 0, done = 0;
	int64_t deadline = mono_ms() + (int64_t)(timeout_s > 0 ? timeout_s : RUNCMD_TIMEOUT) * 1000;

	*status = -1;
	if (n > 0)
		output[0] = '\0';
	if (pipe2(out_pipe, O_CLOEXEC) != 0)
		goto fail;
	if (input != NULL) {
		if (pipe2(in_pipe, O_CLOEXEC) != 0)
			goto fail;
	} else if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0)
		child(cmd, input != NULL ? in_pipe[0] : null_fd, out_pipe[1]);
	(void)close(out_pipe[1]);
	out_pipe[1] = -1;
	if (input != NULL) {
		(void)close(in_pipe[0]);
		in_pipe[0] = -1;
		/* Small (a password and a newline): fits the pipe buffer, never blocks. A program
		 * that does not read it gets EPIPE, which is its business. */
		size_t len = strlen(input), off = 0;
		while (off < len) {
			ssize_t w = write(in_pipe[1], input + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		(void)close(in_pipe[1]);
		in_pipe[1] = -1;
	}
	/* Read its output until EOF or the deadline. */
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {out_pipe[0], POLLIN, 0};
		int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		if (pr == 0)
			continue;
		char chunk[512];
		ssize_t got = read(out_pipe[0], chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		keep(raw, &rlen, chunk, (size_t)got);
	}
	/* Reap, killing it at the deadline. */
	for (;;) {
		pid_t w = waitpid(pid, &wst, WNOHANG);
		if (w == pid) {
			done = 1;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (mono_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
				;
			done = 1;
			break;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (!done)
		goto fail;
	if (WIFEXITED(wst))
		*status = WEXITSTATUS(wst);
	else if (WIFSIGNALED(wst))
		*status = 128 + WTERMSIG(wst);
	raw[rlen] = '\0';
	/* One line is enough for a message: newlines become spaces before escaping. */
	for (size_t i = 0; i < rlen; i++)
		if (raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t')
			raw[i] = ' ';
	while (rlen > 0 && raw[rlen - 1] == ' ')
		raw[--rlen] = '\0';
	if (n > 0)
		rc_log_escape(raw, output, n);
	r = 0;
	goto out;
fail:
	if (n > 0)
		snprintf(output, n, "%s", strerror(errno));
out:
	RC_WIPE_ARRAY(raw);
	for (int i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			(void)close(in_pipe[i]);
		if (out_pipe[i] >= 0)
			(void)close(out_pipe[i]);
	}
	if (null_fd >= 0)
		(void)close(null_fd);
	return r;
}
