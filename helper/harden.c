/*
 * Start-up hardening of the setuid helper, in the fixed order of doc/hardening.md. Nothing
 * here reads the environment, allocates, or uses stdio: it runs before anything can be
 * trusted.
 */
#include "harden.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
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

/* Which of 0, 1, 2 the caller left closed (bit fd): /dev/null stands in for them. */
static unsigned closed_std_fds;

/* 0, 1 and 2 must be open, or the first files we open would become our stdout or stderr. */
static void fix_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		if (errno != EBADF)
			_exit(EXIT_INTERNAL);
		closed_std_fds |= 1U << fd;
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

/*
 * Resource limits survive exec, so the caller chooses ours unless we set them. Each one a
 * caller could use against us, and what it becomes (hard limits raised where the process may
 * raise them, that is with CAP_SYS_RESOURCE; otherwise the soft limit goes as far as the
 * hard one lets it):
 *   RLIMIT_CORE     0 (no core file with secrets in it)
 *   RLIMIT_CPU      unlimited (SIGXCPU/SIGKILL in the middle of a change)
 *   RLIMIT_FSIZE    unlimited (truncated writes, SIGXFSZ)
 *   RLIMIT_DATA, RLIMIT_AS  unlimited (malloc failing wherever the caller likes)
 *   RLIMIT_STACK    8 MiB soft (the usual default), hard at least that
 *   RLIMIT_NOFILE   1024 soft, hard at least 1024 (enough for SQLite and a child's pipes)
 *   RLIMIT_NPROC    unlimited (a child for the network or a command must start)
 *   RLIMIT_MEMLOCK  at least 8 MiB (locked pages for secrets)
 *   RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE  at least their usual defaults
 *   RLIMIT_RTTIME   unlimited
 */
#define MIB ((rlim_t)1024 * 1024)
#define STACK_SOFT (8 * MIB)

struct limit_rule {
	int res;
	int at_least; /* soft limit: 1 = at least `soft` (a larger one stays), 0 = exactly */
	const char *name;
	rlim_t soft; /* the soft limit we run with (RLIM_INFINITY: unlimited) */
	rlim_t hard; /* the hard limit is raised to at least this */
};

static const struct limit_rule limit_rules[] = {
	{RLIMIT_CPU, 0, "RLIMIT_CPU", RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_FSIZE, 0, "RLIMIT_FSIZE", RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_DATA, 0, "RLIMIT_DATA", RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_AS, 0, "RLIMIT_AS", RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_STACK, 0, "RLIMIT_STACK", STACK_SOFT, STACK_SOFT},
	{RLIMIT_NOFILE, 0, "RLIMIT_NOFILE", NOFILE_SANE, NOFILE_SANE},
	{RLIMIT_NPROC, 0, "RLIMIT_NPROC", RLIM_INFINITY, RLIM_INFINITY},
	{RLIMIT_MEMLOCK, 1, "RLIMIT_MEMLOCK", 8 * MIB, 8 * MIB},
	{RLIMIT_SIGPENDING, 1, "RLIMIT_SIGPENDING", 4096, 4096},
	{RLIMIT_MSGQUEUE, 1, "RLIMIT_MSGQUEUE", 819200, 819200},
	{RLIMIT_RTTIME, 0, "RLIMIT_RTTIME", RLIM_INFINITY, RLIM_INFINITY},
};

static rlim_t rl_max(rlim_t a, rlim_t b)
{
	if (a == RLIM_INFINITY || b == RLIM_INFINITY)
		return RLIM_INFINITY;
	return a > b ? a : b;
}

static rlim_t rl_min(rlim_t a, rlim_t b)
{
	if (a == RLIM_INFINITY)
		return b;
	if (b == RLIM_INFINITY)
		return a;
	return a < b ? a : b;
}

static void fix_one_limit(const struct limit_rule *lr)
{
	struct rlimit cur, want;

	if (getrlimit(lr->res, &cur) != 0) {
		say("pam-recover: cannot read ");
		say(lr->name);
		die("\n");
	}
	want.rlim_max = rl_max(cur.rlim_max, lr->hard);
	want.rlim_cur = lr->at_least ? rl_max(cur.rlim_cur, lr->soft) : lr->soft;
	want.rlim_cur = rl_min(want.rlim_cur, want.rlim_max);
	if (setrlimit(lr->res, &want) == 0)
		return;
	/* Raising a hard limit takes CAP_SYS_RESOURCE, which a setuid-root program has on an
	 * ordinary host but not in every container (nor a test build without root): as far
	 * as the hard limit lets us. Setting the soft limit below the hard one cannot fail. */
	want.rlim_max = cur.rlim_max;
	want.rlim_cur = rl_min(want.rlim_cur, cur.rlim_max);
	if (setrlimit(lr->res, &want) != 0) {
		say("pam-recover: cannot set ");
		say(lr->name);
		die("\n");
	}
}

static void fix_limits(void)
{
	const struct rlimit zero = {0, 0};

	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		die("pam-recover: cannot disable core dumps\n");
	for (size_t i = 0; i < sizeof(limit_rules) / sizeof(limit_rules[0]); i++)
		fix_one_limit(&limit_rules[i]);
}

/*
 * Scheduling survives exec too: a caller could start us at nice 19, as SCHED_IDLE, in the
 * idle I/O class, pinned to one busy CPU, with a long timer slack, and so stretch the few
 * milliseconds in which we hold the store's write lock into minutes. Back to the defaults.
 * Best effort: lowering the nice value takes CAP_SYS_NICE, which a setuid-root program has
 * on an ordinary host; where it is missing the helper still runs, as it was started.
 */
static void fix_scheduling(void)
{
	const struct sched_param zero = {0};
	cpu_set_t all;

	(void)sched_setscheduler(0, SCHED_OTHER, &zero);
	(void)setpriority(PRIO_PROCESS, 0, 0);
	/* ioprio_set(IOPRIO_WHO_PROCESS, self, class NONE): I/O priority follows the nice
	 * value again (no wrapper in the C library). */
	(void)syscall(SYS_ioprio_set, 1, 0, 0);
	/* Every CPU (the kernel keeps the cpuset's own bounds). */
	CPU_ZERO(&all);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &all);
	(void)sched_setaffinity(0, sizeof(all), &all);
	(void)prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0); /* 0: back to the default slack */
}

/*
 * Interval timers survive exec as well: a caller could arm SIGALRM (or SIGVTALRM, SIGPROF,
 * whose default is to end the process) to fire at a moment of its choosing, e.g. after a
 * change is committed and before its notice is sent. Disarmed before the signals are reset.
 */
static void fix_timers(void)
{
	static const int which[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};
	const struct itimerval off = {{0, 0}, {0, 0}};

	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		if (setitimer(which[i], &off, NULL) != 0)
			die("pam-recover: cannot disarm the interval timers\n");
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
	/* No stop from the terminal (^Z, a background read or write): a stopped helper would
	 * keep whatever store lock it holds. A prompt waiting for input (tty.c) lets them
	 * through while it waits, when nothing is held. */
	static const int stops[] = {SIGTSTP, SIGTTIN, SIGTTOU};
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (sigaction(stops[i], &sa, NULL) != 0)
			die("pam-recover: cannot ignore the terminal stop signals\n");
}

/* The real uid at start-up: after harden_become_root every uid is 0, and the caller is who
 * decides what the process may do for it. (uid_t)-1 until harden_startup has run. */
static uid_t startup_ruid = (uid_t)-1;

uid_t harden_caller_uid(void)
{
	return startup_ruid;
}

void harden_startup(int argc, char **argv)
{
	startup_ruid = getuid();
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
	fix_scheduling();
	/* 5. timers and signals */
	fix_timers();
	fix_signals();
	/* 6. no core, no ptrace by the caller, no /proc/PID/mem */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("pam-recover: cannot make the process non-dumpable\n");
}

int harden_become_root(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (geteuid() != 0)
		return 1; /* not setuid root (a test build run by a user): nothing to become */
	/* The caller's supplementary groups go too: nothing of the caller's identity is kept
	 * in the credentials, only in what main() recorded. */
	if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
		return -1;
	if (getresuid(&ru, &eu, &su) != 0 || ru != 0 || eu != 0 || su != 0)
		return -1;
	if (getresgid(&rg, &eg, &sg) != 0 || rg != 0 || eg != 0 || sg != 0)
		return -1;
	/* The kernel clears "dumpable" on a credential change only for a lower uid; keep the
	 * caller out of /proc/PID/mem and ptrace whatever the kernel does. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	return 0;
}

int harden_std_fd_was_closed(int fd)
{
	return fd >= 0 && fd <= 2 && (closed_std_fds & (1U << fd)) != 0;
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
