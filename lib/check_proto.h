/*
 * The module -> helper protocol (`pam-recover check`, unix_chkpwd style), defined once for
 * pam_module/helper_call.c and helper/check.c:
 *
 *   argv {"pam-recover", "check", NULL}, empty environment, stdin a pipe (never a tty),
 *   request "MODE\nUSER\nSERVICE\nINPUT\n", at most CHECK_REQ_MAX bytes, INPUT at most
 *   CHECK_INPUT_MAX, no NUL. The exit status is the answer (enum login_result, or
 *   CHECK_DENIED / CHECK_MALFORMED of helper/helper.h).
 *
 *   enrolled  INPUT empty                      LOGIN_OK or LOGIN_NOT_ENROLLED
 *   code      one code, or "DDDDDD DDDDDDDD"    login_verify_codes (one attempt)
 *   app       the typed string                 LOGIN_OK_APP or LOGIN_NO_APP
 *   split     the field's last 8 digits, or "" how split_pass cuts the field (below)
 *   config    INPUT empty, USER empty or not  on standard output the keys of
 *                                              CHECK_CONFIG_KEYS as the system
 *                                              configuration sets them ("key = value"
 *                                              lines, cfg_dump's form, at most
 *                                              CHECK_CONFIG_MAX bytes); then LOGIN_OK
 *                                              without USER, or the answer of `enrolled`
 *                                              for USER (one exec for a login's first
 *                                              two questions)
 *
 * Mode `config` is how a module without root gets the part of the configuration it needs
 * (the file is 0600 root): the keys below decide what the module asks and when it passes
 * by (nullok, the prompt, the stack's shape), none of them is a secret or names where a
 * secret is. The checks that need anything else happen in the back end itself.
 */
#ifndef RC_CHECK_PROTO_H
#define RC_CHECK_PROTO_H

#include "login.h"

#define CHECK_REQ_MAX 1024
#define CHECK_INPUT_MAX 512

#define CHECK_MODE_ENROLLED "enrolled"
#define CHECK_MODE_CODE "code"
#define CHECK_MODE_APP "app"
#define CHECK_MODE_SPLIT "split"
#define CHECK_MODE_CONFIG "config"

/* Mode `config`: the keys sent, and the most the answer may hold. */
#define CHECK_CONFIG_KEYS                                                                    \
	"nullok", "enforce_after", "forward_pass", "split_pass", "forwarded_code",           \
		"try_first_pass", "use_first_pass", "app_passwords", "debug", "prompt",      \
		"user_name_case", "deny", "unlock_time"
#define CHECK_CONFIG_MAX 4096

/* Mode `split`: enum login_split <-> exit status (a login_result, so that the module's range
 * check stays one). */
static inline int check_split_status(int split)
{
	switch (split) {
	case LOGIN_SPLIT_6:
		return LOGIN_OK;
	case LOGIN_SPLIT_BACKUP:
		return LOGIN_OK_BACKUP;
	case LOGIN_SPLIT_8:
		return LOGIN_WRONG;
	case LOGIN_SPLIT_USED_BACKUP:
		return LOGIN_REPLAY;
	default:
		return LOGIN_NOT_ENROLLED;
	}
}

/* The inverse; -1 for a status that is not a split answer (LOGIN_ERROR included). */
static inline int check_split_from_status(int status)
{
	switch (status) {
	case LOGIN_OK:
		return LOGIN_SPLIT_6;
	case LOGIN_OK_BACKUP:
		return LOGIN_SPLIT_BACKUP;
	case LOGIN_WRONG:
		return LOGIN_SPLIT_8;
	case LOGIN_REPLAY:
		return LOGIN_SPLIT_USED_BACKUP;
	case LOGIN_NOT_ENROLLED:
		return LOGIN_SPLIT_NONE;
	default:
		return -1;
	}
}

#endif
