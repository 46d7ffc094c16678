/* Ask the setuid back end (pam-recover-check) when the module runs without root. */
#ifndef RC_HELPER_CALL_H
#define RC_HELPER_CALL_H

#include <security/pam_modules.h>

#include <stddef.h>
#include <sys/types.h>

/*
 * Run RC_CHECK_PATH with an empty environment, send "MODE\nUSER\nSERVICE\nINPUT\n" on a
 * pipe and return its exit status as a LOGIN_* result (LOGIN_ERROR if it could not run, was
 * killed, or answered out of range). Its standard output goes to /dev/null.
 */
int helper_call(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		const char *input);

/* The same, with its standard output read into out (cap bytes with the NUL, length in
 * *outlen); more than cap - 1 bytes is LOGIN_ERROR. */
int helper_call_out(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		    const char *input, char *out, size_t cap, size_t *outlen);

/*
 * Mode hold (lib/check_proto.h): one back end for a login's question before the prompt and
 * its decision after it. helper_hold sends "hold" for USER and returns the answer of
 * `enrolled` (or LOGIN_LOCKED), with the configuration's keys in out as helper_call_out
 * gives them; the back end then waits in *hh (pid > 0). LOGIN_ERROR (hh->pid -1) when it
 * could not run or refused.
 */
struct helper_held {
	pid_t pid; /* -1: none */
	int wfd;   /* its standard input */
};

int helper_hold(pam_handle_t *pamh, const char *user, const char *service, char *out, size_t cap,
		size_t *outlen, struct helper_held *hh);

/* helper_call through the held back end, which then ends; in a new exec when none is held or
 * it ended before it read the request (it waits CHECK_HOLD_TIMEOUT seconds at most). */
int helper_held_call(pam_handle_t *pamh, struct helper_held *hh, const char *mode, const char *user,
		     const char *service, const char *input);

/* End a held back end that was not asked (`done`), and reap it. No-op when none is held. */
void helper_held_end(pam_handle_t *pamh, struct helper_held *hh);

#endif
