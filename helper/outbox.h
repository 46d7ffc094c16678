/*
 * The outbox: the consequences of a password reset that reach outside the store (a notice
 * to every verified recovery contact, post_reset_command) are rows of the store's outbox
 * table, written in the same commit that records the new password, 2FA cleared and the
 * codes revoked; they are delivered after that commit, outside any transaction, and retried
 * until they are done. Killing the helper at any point cannot make a reset silent:
 *
 * - Before the password is set the rows are written ARMED, owned by this process
 *   ("HOST/PID:START", START the process start time from /proc; only HOST judges whether
 *   its process died, when several hosts share a PostgreSQL store). If the password is refused they
 *   are deleted again; if it is set, the reset's commit makes them DUE. A later run that
 *   finds ARMED rows whose owner has died (killed while the password was being set) makes
 *   them DUE with OUTBOX_F_INTERRUPTED: their notice says the password may have been changed.
 * - A DUE row is delivered under an exclusive lock on its receipt file (state directory,
 *   outbox/ID, root 0600), which the sender inherits: a row whose sender still runs, even
 *   after its helper died, is left alone. The sender writes "sent" to the receipt once the
 *   server or gateway accepted the message; a row found DUE with such a receipt is recorded
 *   as SENT without sending again. Before sending, the row is taken in the store by a
 *   compare-and-set (store_outbox_claim: next_try moves OUTBOX_LEASE seconds ahead), so two
 *   hosts sharing the store never send it both. So each notice goes out once, also when the
 *   helper dies between the send and its record. (A mail also carries a fixed Message-ID,
 *   <outbox-ID-TIME@domain>.) A command has no receipt: one whose helper died while it ran
 *   runs again.
 * - A failed attempt is retried later (backoff from OUTBOX_RETRY_FIRST doubling up to
 *   OUTBOX_RETRY_MAX seconds) by any later run of the helper and by `pam-recover admin
 *   flush-notices` (which tries every due row at once); after OUTBOX_MAX_ATTEMPTS the row
 *   is GAVE_UP, logged at LOG_ERR and audited.
 */
#ifndef RC_OUTBOX_H
#define RC_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "helper.h"

#define OUTBOX_COMMAND 3 /* the kind of a post_reset_command row (0..2: contact kinds) */
#define OUTBOX_MAX_ATTEMPTS 10
#define OUTBOX_RETRY_FIRST 60  /* seconds after the first failure */
#define OUTBOX_RETRY_MAX 21600 /* longest wait between two attempts */
#define OUTBOX_WAIT_BUSY 60    /* seconds flush-notices waits for a sender still running */
#define OUTBOX_OWNER_MAX 64
#define OUTBOX_LEASE 900 /* seconds a row taken for delivery stays with its sender */

/* flags of a row */
#define OUTBOX_F_KEPT_2FA 1    /* 2FA stayed on (a current code was given) */
#define OUTBOX_F_APPS 2        /* the app passwords were deleted */
#define OUTBOX_F_INTERRUPTED 4 /* the reset died while the password was being set */

/* "HOST/PID:START" of this process (HOST: the host name, cut to 24 bytes). 0 or -1. */
int outbox_owner(char *out, size_t n) RC_MUST_CHECK;

/*
 * Inside the caller's transaction: an ARMED row for each verified recovery contact of user
 * (its sealed value copied) and one for post_reset_command when it is set, owned by owner.
 * 0, or -1 (store error).
 */
int outbox_arm_reset(struct store *s, const struct cfg *c, const char *user, int64_t when,
		     const char *proofs, const char *caller, int flags,
		     const char *owner) RC_MUST_CHECK;

/* What one delivery did, for the caller's report (the reset's done step). */
struct outbox_event {
	const struct store_outbox *row;
	int status;      /* HX_OK, or why it failed */
	const char *err; /* "" on success; never a secret */
};

struct outbox_totals {
	int delivered; /* sent now, or found sent by a receipt */
	int failed;    /* failed now; retried later */
	int gave_up;   /* failed for the last time */
	int busy;      /* a sender still runs for it */
	int recovered; /* ARMED rows of a dead process made DUE */
	int left;      /* DUE rows not tried (not yet due, or busy) */
};

/*
 * Deliver. all: every DUE row now (flush-notices; waits up to OUTBOX_WAIT_BUSY for busy
 * ones), else only those whose next_try has come. owner: only the rows of that owner (the
 * reset that just committed), or NULL. cb (may be NULL) hears about each attempt. Never
 * holds a transaction across a send or a command. 0, or -1 when the store failed.
 */
int outbox_flush(struct store *s, const struct seal_key *k, const struct cfg *c, int all,
		 const char *owner, void (*cb)(void *ctx, const struct outbox_event *e), void *ctx,
		 struct outbox_totals *t) RC_MUST_CHECK;

/* `pam-recover admin flush-notices` */
int admin_flush_notices(struct hctx *h, int argc, char **argv);

#endif
