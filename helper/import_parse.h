/*
 * Reading the files that `admin import-oath` and `admin import-google-authenticator` bring
 * in (import_parse.c), apart from opening them and from the store: a pam_oath usersfile one
 * line at a time, a ~/.google_authenticator file as a whole. The verbs (admin_import.c) and
 * the fuzz harness tests/fuzz/fuzz_import.c call these. Nothing here looks a user up, opens
 * a file or logs; `why` is a fixed message that never holds a secret.
 */
#ifndef RC_IMPORT_PARSE_H
#define RC_IMPORT_PARSE_H

#include <stddef.h>

#include "secret.h"
#include "totp.h"
#include "util.h"

#define IMPORT_BACKUP_MAX 50 /* scratch codes taken from one google-authenticator file */
#define IMPORT_PERIOD_MIN 15 /* seconds, both formats */
#define IMPORT_PERIOD_MAX 300

/* Next line of *cursor (NUL-terminated in place, a trailing '\r' cut); NULL at the end. */
char *import_next_line(char **cursor);

/* One TOTP entry of a usersfile. */
struct import_oath_entry {
	struct totp_params p;
	char *user; /* inside the line, in the canonical form of name_case */
	unsigned char secret[TOTP_SECRET_MAX];
	size_t len; /* 1..TOTP_SECRET_MAX */
};

/* A further check of a user name (the user database, say): 1 fine, or 0 with *why. */
typedef int (*import_user_fn)(const char *user, void *arg, const char **why);

/*
 * One usersfile line, "HOTP/T30[/6|/8[/SHA256|/SHA512]] USER - HEXSECRET [...]" (columns
 * after the fourth are ignored), cut in place. Checked in this order: the type, the user
 * name (made canonical by rc_user_name_canonical(name_case), then rc_user_name_ok, then
 * `check` when not NULL), the PIN column ("-" or "+"), the hex secret. Returns 1 with *e
 * filled (wipe e->secret), 0 for a blank or '#' line, -1 with *why (NULL when the name
 * cannot be made canonical). *e is wiped on every return other than 1.
 */
int import_oath_line(char *line, int name_case, import_user_fn check, void *arg,
		     struct import_oath_entry *e, const char **why) RC_MUST_CHECK;

/* A ~/.google_authenticator file: the base32 secret on line 1, then `" OPTION [ARG]` lines,
 * then 8-digit scratch codes, one a line (blank lines skipped). */
struct import_ga {
	unsigned char secret[TOTP_SECRET_MAX];
	size_t len; /* 1..TOTP_SECRET_MAX */
	int period; /* STEP_SIZE, IMPORT_PERIOD_MIN..IMPORT_PERIOD_MAX, default 30 */
	int ncodes; /* 0..IMPORT_BACKUP_MAX */
	char codes[IMPORT_BACKUP_MAX][SECRET_BACKUP_DIGITS + 1];
};

/* Parse buf (cut in place). 0, or -1 with *why and *line_no at the bad line (0: empty
 * file). Only TOTP files: HOTP_COUNTER and unknown options are refused; WINDOW_SIZE,
 * RATE_LIMIT and DISALLOW_REUSE are read and left to the site's settings. */
int import_ga_parse(char *buf, struct import_ga *g, int *line_no, const char **why) RC_MUST_CHECK;

#endif
