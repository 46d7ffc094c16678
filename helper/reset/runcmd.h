/*
 * Running a configured command (password_command, post_reset_command) without a shell:
 * the command line is split into words here, %u inside a word becomes the (allowlisted)
 * user name and %% a '%', so a name can never add or split words. The program runs as root
 * with a fixed environment (PATH, LC_ALL=C, HOME=/), no inherited descriptors, default
 * signals, PR_SET_NO_NEW_PRIVS; its stdin is the given input (or /dev/null), its stdout and
 * stderr are captured together (bounded), and it is killed when it overruns its time.
 */
#ifndef RC_RUNCMD_H
#define RC_RUNCMD_H

#include <stddef.h>

#include "util.h"

#define RUNCMD_MAX_ARGS 32
#define RUNCMD_BUF 4096
#define RUNCMD_OUT_MAX 1024 /* captured output kept for messages */
#define RUNCMD_TIMEOUT 60   /* seconds */

struct runcmd {
	char buf[RUNCMD_BUF];
	char *argv[RUNCMD_MAX_ARGS + 1];
	int argc;
};

/*
 * Split `cmdline` into words: separated by spaces and tabs; '...' and "..." group (no escapes
 * inside, quotes are removed); nothing else is special (no $, `, ;, |, globbing). The first
 * word must be an absolute path. %u is replaced by `user`, %% by '%'; any other % is an error.
 * 0, or -1 with a reason in why (static text).
 */
int runcmd_split(const char *cmdline, const char *user, struct runcmd *out,
		 const char **why) RC_MUST_CHECK;

/*
 * Run it. `input` (may be NULL: stdin is /dev/null) is written to its stdin, then stdin is
 * closed. On return *status is the exit status (0..255) or 128 + the signal that ended it
 * (the timeout kills with SIGKILL: 137), and output (n bytes) holds the start of what it
 * printed, control characters escaped. Returns 0 when the program ran (whatever its status),
 * -1 (errno set, output holds the reason) when it could not be started.
 */
int runcmd_run(const struct runcmd *cmd, const char *input, int timeout_s, int *status,
	       char *output, size_t n) RC_MUST_CHECK;

#endif
