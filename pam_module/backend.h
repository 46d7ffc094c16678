/* Where the module's answers come from: the store directly (root) or the helper (not root). */
#ifndef RC_BACKEND_H
#define RC_BACKEND_H

#include <security/pam_modules.h>

#include "config.h"
#include "helper_call.h"
#include "login.h"
#include "seal.h"
#include "store.h"

struct backend {
	int via_helper;
	int enrolled; /* without root: mode hold's answer for the user (LOGIN_*), or -1 */
	struct helper_held held; /* without root: the back end waiting for the decision */
	struct store *store;
	struct seal_key key;
	int kept;   /* store is the process's kept connection (backend.c) */
	int failed; /* a store error happened during this login: do not keep the connection */
};

/*
 * The configuration: as root cfg_load_module (file and arguments); without root the file's
 * part from pam-recover-check (mode config: the keys of CHECK_CONFIG_KEYS, the rest stays at
 * the defaults and is the back end's business) and the arguments over it. `user` (NULL:
 * none) is asked about in the same exec (mode hold answers as enrolled, then waits in
 * b->held for the login's next question): the answer is kept in b->enrolled for
 * backend_enrolled. `b` must be zeroed by the caller, and backend_close'd on every path
 * after this call (it ends a held back end). 0, or -1 with err and `c` freed (and no back
 * end held), as cfg_load_module.
 */
int backend_config(pam_handle_t *pamh, struct backend *b, struct cfg *c, int argc,
		   const char **argv, const char *user, const char *service, char *err,
		   size_t errlen);

/* PAM_SUCCESS, or PAM_AUTHINFO_UNAVAIL with a syslog line saying why (PAM_BUF_ERR when out
 * of memory). As root the store and key are the process's kept pair when still valid. */
int backend_open(pam_handle_t *pamh, const struct cfg *c, struct backend *b);
/* Safe on a backend that backend_open never opened. */
void backend_close(pam_handle_t *pamh, struct backend *b);

/* LOGIN_* results (lib/login.h). */
int backend_enrolled(pam_handle_t *pamh, struct backend *b, const char *user, const char *service);
int backend_verify(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		   const char *service, const char *const *codes, int n, int *which,
		   int *locked_now, const char **reason);
/* login_verify (root) or mode `code` of the helper (no reuse window there: a->reuse_hash
 * must be NULL, and locked_until stays 0). */
int backend_attempt(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		    const char *service, struct login_attempt *a);
/* split_pass's lookup: LOGIN_OK with *split (enum login_split), or LOGIN_ERROR. */
int backend_split(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		  const char *tail8, int *split);
/* `other` (n bytes): see login_app_password_other; filled when the store is read here (root);
 * through the helper, `pam-recover check` logs it. */
int backend_app(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		const char *typed, char *other, size_t n);

#endif
