/*
 * Retention: what the store keeps only for a while is pruned on the live path, never on the
 * login path (the module and `check` do not call this).
 *
 * - audit events older than audit_retention_days (0 keeps them for ever);
 * - counter rows older than the longest window any counter is read with
 *   (retention_counter_horizon), which only keys no longer hit still hold: a key that is hit
 *   prunes its own old rows;
 * - one-time codes that were used, or expired.
 * Counter rows and expired codes are kept RETENTION_CLOCK_MARGIN longer than their window or
 * expiry: a host whose clock is ahead (hosts sharing a store, a clock set wrong for a while)
 * must not remove what the others still count or accept.
 *
 * `pam-recover admin prune` prunes now (the timer or cron job runs it daily); and every verb
 * of the helper, when it is done, prunes at most once per prune_interval seconds for all the
 * hosts that share the store (retention_maybe: the time of the last run is a counter row,
 * RETENTION_KEY, taken by a compare-and-count so that one caller of a busy host prunes and the
 * others go on), so a host without the timer stays bounded too. That pruning removes at most
 * RETENTION_AUTO_MAX rows (about) of each table, so that a backlog (a store from before
 * retention, with years of audit events) does not stall the verb; when it was cut short
 * the turn is given back, and the next verb goes on.
 */
#ifndef RC_RETENTION_H
#define RC_RETENTION_H

#include <stdint.h>

#include "config.h"
#include "helper.h"
#include "store.h"

/* The counter whose rows record when retention_maybe last pruned. */
#define RETENTION_KEY "prune:last"
#define RETENTION_CLOCK_MARGIN 86400 /* seconds */
#define RETENTION_AUTO_MAX 10000     /* rows of a table that retention_maybe removes per turn */

/* What one prune removed. */
struct retention_totals {
	int audit;               /* audit events */
	int counters;            /* counter rows */
	int tokens;              /* one-time codes */
	int cut;                 /* 1 when `max` stopped it with more left to remove */
	int64_t audit_before;    /* audit events older than this went (audit_retention_days > 0) */
	int64_t counters_before; /* counter rows older than this went */
	int64_t tokens_before;   /* codes that expired before this went (and every used one) */
};

/* Seconds of the longest window a counter is read with under `c`: at least a day. */
int retention_counter_horizon(const struct cfg *c);

/*
 * Prune the store as of `now` (see above); max > 0: about max audit events and max counter
 * rows at most (whole batches; t->cut says whether more were left). 0 with *t filled, or -1
 * on a store error (store_errmsg has it; what an earlier step removed stays removed, *t
 * counts it). When audit events were removed an audit event `prune` ("audit=N counters=N
 * tokens=N") records it, by `ruid`.
 */
int retention_prune(struct store *s, const struct cfg *c, long ruid, int64_t now, int max,
		    struct retention_totals *t) RC_MUST_CHECK;

/*
 * Prune if prune_interval > 0 and nobody sharing the store pruned within the last
 * prune_interval seconds. Never fails the caller: a store error is logged (LOG_ERR) and
 * nothing else happens. 1 if it pruned, 0 if it was not due (or off), -1 after an error.
 */
int retention_maybe(struct store *s, const struct cfg *c, long ruid, int64_t now);

/* `pam-recover admin prune` */
int admin_prune(struct hctx *h, int argc, char **argv);

#endif
