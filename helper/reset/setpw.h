/*
 * Setting a user's new password after a reset (or by an administrator), and the optional
 * post_reset_command.
 *
 * - password_command set: it runs (runcmd.h: no shell, %u = the user name) with the new
 *   password and a newline on its stdin; exit status 0 means set, 65 (EX_DATAERR) "this
 *   password is refused" (its output says why), anything else a failure.
 * - otherwise the PAM password stack of password_service (default "pam-recover") runs as
 *   root: pam_start(service, user) + pam_chauthtok(0), with a conversation that answers the
 *   new-password prompts (at most SETPW_MAX_PROMPTS) with the new password and refuses
 *   anything else (a stack that insists on the current password, or asks for visible input,
 *   is not one root can use to set a password). pam_unix, pam_pwquality, LDAP and SSSD work
 *   as they do for passwd(1) run by root.
 *
 * The messages (err) never contain the password; PAM's own complaint (e.g. pam_pwquality's
 * "BAD PASSWORD: ...") is passed on.
 */
#ifndef RC_SETPW_H
#define RC_SETPW_H

#include <stddef.h>

#include "config.h"

#define SETPW_DEFAULT_SERVICE CFG_PASSWORD_SERVICE_DEFAULT
#define SETPW_MAX_PROMPTS 4
#define SETPW_ERR_MAX 512

/*
 * HX_OK when the password is set. HX_DATAERR when the stack or the command refused this
 * password (quality checks; err says why and the user may choose another), HX_TEMPFAIL when
 * the password database is busy, HX_CONFIG when the service or command is unusable,
 * HX_SOFTWARE otherwise. Nothing is set on failure.
 */
int setpw_set(const struct cfg *c, const char *user, const char *password, char *err, size_t n);

/* post_reset_command for user, if one is configured: HX_OK (also when none is set), or
 * HX_SOFTWARE with err saying how it failed (its exit status and first output). */
int setpw_post_reset(const struct cfg *c, const char *user, char *err, size_t n);

/* The service setpw_set uses ("" when password_command is set). */
const char *setpw_service(const struct cfg *c);

#endif
