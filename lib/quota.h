/*
 * Send quotas and per-caller limits that parallel callers cannot race past: every send of a
 * code (reset, contact verification) is reserved in the store BEFORE it happens, in one
 * transaction that reads every limit that applies and counts the send under each of them.
 * A request over any limit writes nothing (the caller rolls back).
 *
 * The limits (pam_recover.conf(5)), each an exact sliding window in the store's counters:
 *   caller       caller_requests_per_hour: codes sent and security-question answers checked
 *                for one caller (a real uid, or the client address a front end passes) over
 *                every account and channel; root without a client address is not limited
 *   account      sends_per_hour per account and channel (also counted when nothing goes out:
 *                an unknown name or a wrong address meets the same limit as a real one)
 *   destination  destination_sends_per_day per recovery address, number or chat, over every
 *                account (keyed by a keyed hash of the value, never the value itself)
 *   SMS budget   sms_daily_budget for the whole host: checked for every SMS request, counted
 *                only for an SMS that really goes out
 * During a reset a reservation stays counted when the send then fails: the counts must not
 * show whether anything was sent. Contact verification (the caller's own address) gives a
 * failed send back (quota_release), so that an outage does not use up the user's quota.
 */
#ifndef RC_QUOTA_H
#define RC_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "seal.h"
#include "store.h"
#include "util.h"

#define QUOTA_CALLER_MAX 96

enum quota_result {
	QUOTA_OK = 0,          /* reserved (counted); commit the transaction */
	QUOTA_CALLER = 1,      /* caller_requests_per_hour reached; nothing written */
	QUOTA_ACCOUNT = 2,     /* sends_per_hour for this account and channel reached */
	QUOTA_DESTINATION = 3, /* destination_sends_per_day reached */
	QUOTA_BUDGET = 4,      /* the host's sms_daily_budget reached */
	QUOTA_ERROR = -1,      /* store error: roll back */
};

/* One request to reserve. */
struct quota_req {
	const char *caller;  /* quota_caller() text; "" or NULL: not limited per caller */
	const char *user;    /* the account; NULL for an answer check (caller limit only) */
	const char *channel; /* "email", "sms", "telegram"; NULL for an answer check */
	const char *dest;    /* the address, number or chat a message goes to; NULL: nothing is
			      * sent (unknown name, wrong address): no destination, no budget */
};

/*
 * The caller's identity for the per-caller limit: "uid:N" for a non-root caller, "" for root
 * (not limited), or, when `client` is non-NULL, "ip:ADDRESS" (IPv4) / "ip6:PREFIX/64" (IPv6,
 * one /64 per client). 0, or -1 when `client` is not an IPv4 or IPv6 address.
 */
int quota_caller(long ruid, const char *client, char *out, size_t n) RC_MUST_CHECK;

/*
 * Check every limit of `q` and count the request under each; call it between store_begin()
 * and store_commit() and commit only on QUOTA_OK (on any other result roll back: nothing is
 * written then). The first limit reached is returned, in the order caller, account,
 * destination, budget. `k` keys the destination hash.
 */
int quota_reserve(struct store *s, const struct cfg *c, const struct seal_key *k,
		  const struct quota_req *q, int64_t now) RC_MUST_CHECK;

/* Take back what quota_reserve(q, now) counted (one hit under each of its limits), inside
 * the caller's transaction. QUOTA_OK or QUOTA_ERROR. */
int quota_release(struct store *s, const struct cfg *c, const struct seal_key *k,
		  const struct quota_req *q, int64_t now) RC_MUST_CHECK;

/* A sentence for people about a refused reservation ("... try again in an hour"). */
const char *quota_message(int result);

#endif
