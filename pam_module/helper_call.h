/* Ask the setuid helper (`pam-recover check`) when the module runs without root. */
#ifndef RC_HELPER_CALL_H
#define RC_HELPER_CALL_H

#include <security/pam_modules.h>

/*
 * Run RC_HELPER_PATH check with an empty environment, send "MODE\nUSER\nSERVICE\nINPUT\n"
 * on a pipe and return its exit status as a LOGIN_* result (LOGIN_ERROR if it could not
 * run, was killed, or answered out of range).
 */
int helper_call(pam_handle_t *pamh, const char *mode, const char *user, const char *service,
		const char *input);

#endif
