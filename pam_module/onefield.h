/*
 * One-field services (IMAP, POP3, SMTP AUTH): `split_pass` before the password module cuts
 * the code off the field and keeps it in PAM data; `forwarded_code` after the password
 * module takes it from there. So the password is verified before any code failure counts.
 */
#ifndef RC_ONEFIELD_H
#define RC_ONEFIELD_H

#include <security/pam_modules.h>

#include "backend.h"
#include "config.h"

/* The PAM data split_pass leaves for forwarded_code (wiped when the handle ends). */
struct onefield_code {
	int split;     /* enum login_split */
	char code[16]; /* the typed code; "" = no code given */
};

/*
 * split_pass: read the field (PAM_AUTHTOK, asking if unset), split it, set PAM_AUTHTOK to
 * the password part and keep the code in PAM data. Writes nothing to the store and counts
 * nothing; does the same lookups for every name. PAM_IGNORE when done (the password module
 * and forwarded_code decide), or an error code.
 */
int onefield_split(pam_handle_t *pamh, const struct cfg *c, struct backend *b, const char *user,
		   const char *service);

/* forwarded_code: the code split_pass kept, or NULL (no split_pass line ran before). The
 * data stays owned by the handle. */
const struct onefield_code *onefield_get(pam_handle_t *pamh);

/*
 * forwarded_code: the keyed hash of (typed string, PAM_RHOST, service) for the reuse window,
 * and its length in seconds (reuse_window, or reuse_window_trusted for reuse_trusted_hosts).
 * 0, or -1 when no window applies: a backup code, no PAM_RHOST, a window of 0, or the helper
 * path (no key). *rhost_out points at PAM_RHOST (owned by the handle).
 */
int onefield_reuse_hash(pam_handle_t *pamh, const struct cfg *c, struct backend *b,
			const char *user, const char *service, const struct onefield_code *fwd,
			unsigned char hash[STORE_HASH_LEN], int *seconds, const char **rhost_out);

/* Drop the kept code (wiped) once forwarded_code has used it. */
void onefield_drop(pam_handle_t *pamh);

#endif
