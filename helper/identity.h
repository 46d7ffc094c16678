/* Who the verb acts on, and proof that the caller is that person. */
#ifndef RC_IDENTITY_H
#define RC_IDENTITY_H

#include <stddef.h>

#include "helper.h"

/* HX_OK unless a caller other than root names an account not its own with --user: then
 * root is dropped for good and the refusal (HX_NOPERM) is printed. Before anything is read,
 * so that the answer never depends on the configuration. */
int identity_refuse_other(const struct hctx *h, const char *opt_user);

/*
 * The account a user verb acts on: the caller's own (getpwuid(getuid())), or, for root only,
 * the one named by `--user USER` (opt_user non-NULL). A non-root caller naming anyone else
 * gets HX_NOPERM. Returns HX_OK and writes the canonical form of the name (user_name_case
 * of c) into out.
 */
int identity_target(const struct hctx *h, const struct cfg *c, const char *opt_user, char *out,
		    size_t n);

/*
 * "Enter your password and press Confirm" (seed 002): a non-root caller types its current
 * password, checked through the PAM auth+account stack of the service `pam-recover`.
 * Root (and root acting with --user) passes without a password. Failures are counted per
 * user (store counter "confirm:USER", `deny` per unlock_time) before checking.
 * Returns HX_OK, HX_WRONG (wrong password), HX_TEMPFAIL (too many tries), or HX_SOFTWARE;
 * also HX_NOPERM (the account stack refuses: expired password or account), HX_DATAERR
 * (the typed input was refused: too long, NUL byte, end of input) and HX_IOERR (store). A
 * message has been printed for every status but HX_OK. With --json the password is the
 * "password" field of the request on standard input (see tty.h).
 */
int identity_confirm(const struct hctx *h, const struct cfg *c, struct store *s, const char *user);

#endif
