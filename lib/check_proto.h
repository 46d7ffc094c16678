/*
 * The module -> helper protocol (`pam-recover check`, unix_chkpwd style), defined once for
 * pam_module/helper_call.c and helper/check.c:
 *
 *   argv {"pam-recover-check", NULL}, empty environment, stdin a pipe (never a tty),
 *   request "MODE\nUSER\nSERVICE\nINPUT\n", at most CHECK_REQ_MAX bytes, INPUT at most
 *   CHECK_INPUT_MAX, no NUL. The exit status is the answer (enum login_result, or one of the
 *   CHECK_* statuses below).
 *
 *   enrolled  INPUT empty                      LOGIN_OK or LOGIN_NOT_ENROLLED
 *   code      one code, or "DDDDDD DDDDDDDD"    login_verify_codes (one attempt); for the
 *                                              pair, CHECK_OK_TAIL8 when the 8-digit
 *                                              tail was the current code (the module
 *                                              then hands on the shorter password)
 *   app       the typed string                 LOGIN_OK_APP or LOGIN_NO_APP
 *   split     the field's last 8 digits, or "" how split_pass cuts the field (below)
 *   config    INPUT empty, USER empty or not  on standard output the keys of
 *                                              CHECK_CONFIG_KEYS as the system
 *                                              configuration sets them ("key = value"
 *                                              lines, cfg_dump's form, at most
 *                                              CHECK_CONFIG_MAX bytes); then LOGIN_OK
 *                                              without USER, or the answer of `enrolled`
 *                                              for USER
 *   hold      INPUT empty, USER required       a login's whole conversation in one exec:
 *                                              the keys as `config` prints them, then the
 *                                              line "= N" (N the answer of `enrolled`,
 *                                              LOGIN_LOCKED over the rate limit); then it
 *                                              waits, with the configuration and the store
 *                                              still open (a PostgreSQL store's connection
 *                                              closed meanwhile, opened again for the
 *                                              request), for ONE more request (enrolled,
 *                                              code, app or split) and answers it by its
 *                                              exit status. The request `done` (four
 *                                              lines, the rest empty), end of input, or
 *                                              CHECK_HOLD_TIMEOUT seconds without a request
 *                                              end it with CHECK_UNUSED, having decided
 *                                              nothing: the module then asks in a new exec.
 *                                              An error before "= N": no such line, the
 *                                              status says what went wrong.
 *
 * Mode `config` is how a module without root gets the part of the configuration it needs
 * (the file is 0600 root): the keys below decide what the module asks and when it passes
 * by (nullok, the prompt, the stack's shape), none of them is a secret or names where a
 * secret is. The checks that need anything else happen in the back end itself. Mode `hold`
 * saves a login the second exec (pam_recover(8), the non-root path): the user's answer to
 * the prompt goes to the process that read the configuration before it.
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
#define CHECK_MODE_HOLD "hold"
#define CHECK_MODE_DONE "done"

/* Exit statuses beyond enum login_result (0..LOGIN_NO_APP). */
#define CHECK_DENIED 9     /* a caller other than root asked about another account */
#define CHECK_MALFORMED 10 /* the request broke the rules above */
#define CHECK_UNUSED 11    /* mode hold ended without a second request: nothing decided */
#define CHECK_OK_TAIL8 12  /* mode code, a pair: LOGIN_OK by its 8-digit tail (8-digit codes) */

/* Mode hold: how long the back end waits for the answer to the prompt (then CHECK_UNUSED),
 * and the line that ends its first answer. */
#define CHECK_HOLD_TIMEOUT 300
#define CHECK_HOLD_MARK "= "

/* Mode `config`: the keys sent, and the most the answer may hold. */
#define CHECK_CONFIG_KEYS                                                                          \
	"nullok", "enforce_after", "forward_pass", "split_pass", "forwarded_code",                 \
		"try_first_pass", "use_first_pass", "app_passwords", "debug", "prompt",            \
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
