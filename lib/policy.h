/*
 * Password policy (password_min_length, password_require_upper/lower/digit/symbol of
 * pam_recover.conf) and strong-password suggestions ("Suggest a Strong Password", seed 004).
 *
 * Classes: upper and lower case are the ASCII letters; digits 0-9; a symbol is any other
 * printable character (ASCII punctuation, a space, or any non-ASCII character). Length counts
 * characters (UTF-8 code points). Always refused, whatever the configuration: more than
 * POLICY_MAX_BYTES bytes, control characters or invalid UTF-8, and the user name (or, for
 * "name@domain" users, the name before the '@') inside the password, in any letter case,
 * when that name has at least 3 characters.
 */
#ifndef RC_POLICY_H
#define RC_POLICY_H

#include <stddef.h>

#include "config.h"
#include "util.h"

#define POLICY_MAX_BYTES 256
#define POLICY_MSG_MAX 512     /* enough for any policy_message / policy_describe text */
#define POLICY_SUGGEST_MAX 160 /* buffer for policy_suggest (the longest minimum is 128) */

/* What a password lacks: bits, 0 = acceptable. */
enum policy_flaw {
	POLICY_SHORT = 1 << 0,
	POLICY_NO_UPPER = 1 << 1,
	POLICY_NO_LOWER = 1 << 2,
	POLICY_NO_DIGIT = 1 << 3,
	POLICY_NO_SYMBOL = 1 << 4,
	POLICY_HAS_USER = 1 << 5,
	POLICY_TOO_LONG = 1 << 6,
	POLICY_BAD_CHAR = 1 << 7, /* a control character or invalid UTF-8 */
};

/* Check pw for user (user may be NULL: no name check). Returns the flaws (0 = fine). */
unsigned policy_check(const struct cfg *c, const char *user, const char *pw) RC_MUST_CHECK;

/*
 * One sentence that lists exactly what is missing, e.g. "The password needs at least 8
 * characters, an upper-case letter and a symbol." and, where it applies, "It must not contain
 * the user name." Returns 0, or -1 when out is too small (then out holds "").
 */
int policy_message(const struct cfg *c, unsigned flaws, char *out, size_t n) RC_MUST_CHECK;

/* The rule as a sentence for prompts: "At least 8 characters, with upper- and lower-case
 * letters, a digit and a symbol; not containing the user name; at most 256 bytes." 0 or -1
 * (out = ""). */
int policy_describe(const struct cfg *c, char *out, size_t n) RC_MUST_CHECK;

/*
 * A strong random password (libsodium randomness) that passes policy_check for user:
 * groups of 4 letters and digits without look-alikes (no I, O, l, o, 0, 1) joined by '-',
 * at least 19 characters (about 90 bits) and at least password_min_length. 0, or -1 (out
 * wiped) when n is too small or no randomness is available.
 */
int policy_suggest(const struct cfg *c, const char *user, char *out, size_t n) RC_MUST_CHECK;

#endif
