/* Ask the setuid back end (pam-recover-check) when the module runs without root. */
#ifndef RC_HELPER_CALL_H
#define RC_HELPER_CALL_H

#include <security/pam_modules.h>

#include <stddef.h>

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

#endif
