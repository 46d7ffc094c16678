/*
 * Start-up hardening of the setuid helper, in the fixed order of HARDENING.md. Nothing here
 * reads the environment, allocates, or uses stdio: it runs before anything can be trusted.
 */
#include "harden.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXIT_NOARGV 64
#define EXIT_INTERNAL 70
#define NOFILE_SANE 1024

/* Best effort message on fd 2 (only once fd 2 is known to be open). */
static void say(const char *msg)
{
	if (fcntl(2, F_GETFD) == -1)
		return;
	ssize_t n = write(2, msg, strlen(msg));
	(void)n;
}

static void die(const char *msg)
{
	say(msg);
	_exit(EXIT_INTERNAL);
}

/* 0, 1 and 2 must be open, or the first files we open would become our stdout or stderr. */
static void fix_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		if (errno != EBADF)
			_exit(EXIT_INTERNAL);
		/* The lowest free number is fd itself, since all lower ones are open. */
		int n = open("/dev/null", O_RDWR | O_NOCTTY);
		if (n != fd)
			_exit(EXIT_INTERNAL);
	}
}

static void close_inherited_fds(void)
{
	if (close_range(3, ~0U, 0) == 0)
		return;
	/* Old kernel: close one by one up to the hard limit (capped, so this ends). */
	struct rlimit rl;
	long max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < (rlim_t)max)
		max = (long)rl.rlim_max;
	for (long fd = 3; fd < max; fd++)
		(void)close((int)fd);
}

static void fix_environment(void)
{
	if (clearenv() != 0)
		die("pam-recover: cannot clear the environment\n");
	if (setenv("PATH", HARDEN_PATH, 1) != 0)
		die("pam-recover: cannot set PATH\n");
}

static void fix_limits(void)
{
	const struct rlimit zero = {0, 0};
	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		die("pam-recover: cannot disable core dumps\n");

	/* A caller-set file size limit would truncate our writes (and raise SIGXFSZ). */
	const struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
	if (setrlimit(RLIMIT_FSIZE, &inf) != 0) {
		struct rlimit rl;
		if (geteuid() == 0 || getrlimit(RLIMIT_FSIZE, &rl) != 0)
			die("pam-recover: cannot lift the file size limit\n");
		/* Unprivileged test build: as far as we may. */
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_FSIZE, &rl);
	}

	/* Enough descriptors for SQLite (db, WAL, shm, journal) and friends; not absurdly many. */
	struct rlimit nf;
	if (getrlimit(RLIMIT_NOFILE, &nf) != 0)
		die("pam-recover: cannot read the descriptor limit\n");
	if (nf.rlim_max != RLIM_INFINITY && nf.rlim_max < NOFILE_SANE)
		nf.rlim_max = geteuid() == 0 ? NOFILE_SANE : nf.rlim_max;
	nf.rlim_cur = nf.rlim_max < NOFILE_SANE ? nf.rlim_max : NOFILE_SANE;
	if (setrlimit(RLIMIT_NOFILE, &nf) != 0 && geteuid() == 0)
		die("pam-recover: cannot set the descriptor limit\n");
}

static void fix_signals(void)
{
	sigset_t none;
	if (sigemptyset(&none) != 0 || sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		die("pam-recover: cannot reset the signal mask\n");
	/* Handlers do not survive exec, but "ignored" does: put every signal back to default.
	 * Some numbers are reserved by the C library; those fail with EINVAL, harmlessly. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, &sa, NULL) == 0 || errno != EINVAL)
			continue;
		/* The C library's own signals (32, 33: thread cancellation, setxid) are refused by
		 * sigaction(), yet an "ignored" inherited over exec sticks to them too. Ask the
		 * kernel directly: an all-zero kernel sigaction is SIG_DFL, no flags, empty mask,
		 * whatever the architecture's layout. The C library installs its own handlers
		 * when it needs them. */
		unsigned long dfl[8] = {0};
		(void)syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)((NSIG - 1) / 8));
	}
	/* A closed pipe must give EPIPE from write(), which we check, not kill us mid-way. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		die("pam-recover: cannot ignore SIGPIPE\n");
}

void harden_startup(int argc, char **argv)
{
	/* 1. argc == 0 (CVE-2021-4034): argv[1] would be the environment. */
	if (argc < 1 || argv == NULL || argv[0] == NULL) {
		say("pam-recover: refusing to run without argv[0]\n");
		_exit(EXIT_NOARGV);
	}
	/* 2. descriptors */
	fix_std_fds();
	close_inherited_fds();
	/* 3. environment: nothing the caller set reaches any library (LANG, TZ, proxies...) */
	fix_environment();
	/* 4. files and limits */
	umask(077);
	if (chdir("/") != 0)
		die("pam-recover: cannot change to /\n");
	fix_limits();
	/* 5. signals */
	fix_signals();
	/* 6. no core, no ptrace by the caller, no /proc/PID/mem */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("pam-recover: cannot make the process non-dumpable\n");
}

int harden_drop_privileges(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (geteuid() == 0 && setgroups(1, &gid) != 0)
		return -1;
	if (setresgid(gid, gid, gid) != 0)
		return -1;
	if (setresuid(uid, uid, uid) != 0)
		return -1;
	if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid)
		return -1;
	if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
		return -1;
	/* Prove it cannot be undone. */
	if (uid != 0 && (setresuid(0, 0, 0) == 0 || setegid(0) == 0))
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return 0;
}

static int tty_set(sigset_t *set)
{
	static const int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGHUP, SIGTERM, SIGTTIN, SIGTTOU};
	if (sigemptyset(set) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaddset(set, sigs[i]) != 0)
			return -1;
	return 0;
}

int harden_block_tty_signals(sigset_t *old)
{
	sigset_t set;
	if (tty_set(&set) != 0)
		return -1;
	return sigprocmask(SIG_BLOCK, &set, old) == 0 ? 0 : -1;
}

int harden_unblock_tty_signals(const sigset_t *old)
{
	return sigprocmask(SIG_SETMASK, old, NULL) == 0 ? 0 : -1;
}
