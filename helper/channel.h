/*
 * Sending a message to a recovery contact: e-mail (SMTP), SMS (HTTP gateway), Telegram (Bot
 * API). All network I/O happens in a child that has dropped root for good (privilege
 * separation): the root part passes the request over a pipe and reads one status back.
 */
#ifndef RC_CHANNEL_H
#define RC_CHANNEL_H

#include <stddef.h>

#include "helper.h"

enum channel_kind { CHANNEL_EMAIL = 0, CHANNEL_SMS = 1, CHANNEL_TELEGRAM = 2 };

/* "email", "sms", "telegram" (also the JSON method ids and the store's channel names). */
const char *channel_name(int kind);
int channel_from_name(const char *name); /* -1 if unknown */

/*
 * Send `text` (and `subject`, e-mail only) to `to` (address, E.164 number, or chat id).
 * Returns HX_OK; HX_UNAVAIL when the server or gateway cannot be reached or refuses (err
 * says which and what to check, never a token or a code); HX_CONFIG when the channel is
 * not configured; HX_DATAERR when `to` is not valid for the channel.
 */
int channel_send(const struct cfg *c, int kind, const char *to, const char *subject,
		 const char *text, char *err, size_t errlen);

/* Validators (also fuzzed): 1 valid, 0 not. */
int channel_email_ok(const char *addr); /* no CR/LF/controls, one '@', sane length */
int channel_phone_ok(const char *num);  /* ^\+[0-9]{6,15}$ */
int channel_chat_ok(const char *id);    /* -?[0-9]{1,20} */
/* Is the address on one of cfg->local_domains (refused as a recovery address)? */
int channel_email_is_local(const struct cfg *c, const char *addr);

/* Masked forms for hints and status: "a***e@example.org", "+37*******12", "chat …89". */
void channel_mask(int kind, const char *value, char *out, size_t n);

#endif
