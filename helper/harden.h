/*
 * The setuid start-up order (../shared/HARDENING.md), run first thing in main(), and the
 * privilege tools the later verbs use.
 */
#ifndef RC_HARDEN_H
#define RC_HARDEN_H

#include <signal.h>
#include <sys/types.h>

#define HARDEN_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * argc/argv check, fds 0/1/2 valid and everything >= 3 closed, empty environment with a fixed
 * PATH, umask 077, cwd /, core dumps off, RLIMIT_FSIZE unlimited, sane RLIMIT_NOFILE, signal
 * mask and dispositions reset with SIGPIPE ignored, not dumpable. Never returns on failure:
 * exits 64 (no argv[0]) or 70.
 */
void harden_startup(int argc, char **argv);

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
