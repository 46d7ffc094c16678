/*
 * One-time codes sent through a channel (reset, contact verification): made here, stored
 * only as a keyed hash bound to user + channel + purpose, one live code per (user, channel,
 * purpose) — a new one revokes the old — limited tries, expiry, single use.
 */
#ifndef RC_CODES_H
#define RC_CODES_H

#include <stddef.h>
#include <stdint.h>

#include "helper.h"
#include "secret.h"

enum code_result {
	CODE_OK = 0,      /* matched, now used */
	CODE_WRONG = 1,   /* no match; a try was counted */
	CODE_EXPIRED = 2, /* no live code, or expired, or already used */
	CODE_LOCKED = 3,  /* too many tries on this code: the method is locked for this code */
	CODE_ERROR = -1,
};

/* Make a SECRET_CODE_DIGITS code, store its hash with expiry now + ttl. out: 9+ bytes. */
int code_issue(struct store *s, const struct seal_key *k, const char *user, const char *channel,
	       const char *purpose, int ttl, int64_t now, char *out, size_t outlen) RC_MUST_CHECK;

/* Check a typed code: counts the try first (max_tries per code), compares in constant time,
 * consumes on success. */
int code_check(struct store *s, const struct seal_key *k, const char *user, const char *channel,
	       const char *purpose, const char *typed, int max_tries, int64_t now) RC_MUST_CHECK;

/* Purposes of the contact verbs: "verify" confirms the stored (unverified) contact;
 * "verify-new" confirms a value not stored yet (it replaces a verified contact only once its
 * code is typed). */
#define CODE_PURPOSE_VERIFY "verify"
#define CODE_PURPOSE_VERIFY_NEW "verify-new"

/* Void the live code of (user, channel, purpose), e.g. after its message could not be sent.
 * HX_OK (also when there was none) or HX_IOERR. */
int code_void(struct store *s, const char *user, const char *channel, const char *purpose);

/* Void both verification codes of a channel (the contact was removed or replaced). */
int code_void_verify(struct store *s, const char *user, const char *channel);

/* Send quotas are reserved before a send: see quota.h (lib/). */

#endif
