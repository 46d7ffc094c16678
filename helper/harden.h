/*
 * The setuid start-up order (doc/hardening.md), run first thing in main(), and the
 * privilege tools the later verbs use.
 */
#ifndef RC_HARDEN_H
#define RC_HARDEN_H

#include <signal.h>
#include <sys/types.h>

#include "util.h"

#define HARDEN_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * argc/argv check, fds 0/1/2 valid and everything >= 3 closed, empty environment with a fixed
 * PATH, umask 077, cwd /, resource limits reset (core dumps off; the table in harden.c),
 * scheduling reset (policy, nice, I/O priority, CPU affinity, timer slack), signal mask and
 * dispositions reset with SIGPIPE, SIGTSTP, SIGTTIN and SIGTTOU ignored, not dumpable. Never
 * returns on failure: exits 64 (no argv[0]) or 70.
 */
void harden_startup(int argc, char **argv);

/*
 * Become root all through: no supplementary groups, real, effective and saved gid and uid 0
 * (each checked), so that the caller can no longer signal, renice or trace the process.
 * Called right after main() recorded the caller's uid, gid and name. 0 done, 1 when the
 * effective uid is not 0 (not installed setuid: nothing to become), -1 on failure (the
 * caller must exit).
 */
int harden_become_root(void) RC_MUST_CHECK;

/* The caller's real uid as it was at start-up (before harden_become_root made every uid 0);
 * (uid_t)-1 if harden_startup has not run. */
uid_t harden_caller_uid(void);

/* Was fd (0, 1 or 2) closed when we started (so /dev/null stands in for it)? */
int harden_std_fd_was_closed(int fd);

/*
 * Drop to uid/gid for good: setgroups, setresgid, setresuid (each checked), prove that
 * setresuid(0,0,0) now fails, then PR_SET_NO_NEW_PRIVS. 0 or -1 (the caller must exit).
 */
int harden_drop_privileges(uid_t uid, gid_t gid);

/* Block SIGINT, SIGQUIT, SIGTSTP, SIGHUP, SIGTERM, SIGTTIN, SIGTTOU around a state write,
 * saving the old mask in *old; unblock restores it. 0 or -1. */
int harden_block_tty_signals(sigset_t *old);
int harden_unblock_tty_signals(const sigset_t *old);

#endif
