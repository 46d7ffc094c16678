/*
 * What every user verb (enable, disable, backup-codes, app-password, status) shares: its
 * options (--user for root, --json, --help), the account it acts on, the configuration, the
 * sealing key and the store, and the audit trail of its changes.
 */
#ifndef RC_UVERB_H
#define RC_UVERB_H

#include <stddef.h>

#include "helper.h"

#define UV_MAX_OPTS 8

struct uverb {
	const char *name;       /* "enable", "app-password add", ...: the prefix of messages */
	const char *opt_user;   /* --user USER (root only) */
	char user[HX_USER_MAX]; /* the target account (after uv_open) */
	struct cfg cfg;
	int have_cfg;
	struct seal_key key;
	struct store *store;
};

/*
 * Parse argv (argv[0] is the verb) with the verb's options plus --user, and between minpos
 * and maxpos positional arguments. Returns 0 to go on, or -1 with the exit status in *done
 * (after printing `usage` for --help, or what was wrong).
 */
int uv_parse(struct hctx *h, struct uverb *u, const char *usage, int argc, char **argv,
	     const struct hx_opt *opts, size_t nopts, char **pos, int minpos, int maxpos, int *npos,
	     int *done);

/* The target account (identity_target), the configuration, libsodium and liboath, the key
 * and the store. 0, or an exit status after printing why; uv_close is still due. */
int uv_open(struct hctx *h, struct uverb *u);
void uv_close(struct uverb *u);

/* "self" (the caller's own account, password confirmed) or "root". */
const char *uv_method(const struct hctx *h);

/* Record a change as an audit event in the store, inside the caller's transaction. detail:
 * never a secret (control bytes are escaped). 0 or -1. */
int uv_audit(const struct hctx *h, struct uverb *u, const char *event,
	     const char *detail) RC_MUST_CHECK;
/* The same event as a syslog line (authpriv), once the change is committed. */
void uv_log(const struct hctx *h, const struct uverb *u, const char *event, const char *detail);

/* A current code (or backup code) that login_verify_code did not accept: what happened and
 * what to do next, ending with `unchanged` ("2-step verification stays on"). HX_WRONG,
 * HX_TEMPFAIL (locked) or HX_IOERR. */
int uv_code_refused(const struct uverb *u, int lr, int locked_now, const char *reason,
		    const char *unchanged);

/* A store error as an exit status: "VERB: nothing changed, store error: ..." (HX_IOERR). */
int uv_store_fail(struct uverb *u);

#endif
