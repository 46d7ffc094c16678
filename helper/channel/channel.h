/*
 * Sending a message to a recovery contact: e-mail (SMTP), SMS (HTTP gateway), Telegram (Bot
 * API). All network I/O happens in pam-recover-send, a separate program exec'd by the helper
 * that drops root for good (privilege separation, privsep.h): the root part passes the
 * request over a pipe and reads one status back.
 */
#ifndef RC_CHANNEL_H
#define RC_CHANNEL_H

#include <stddef.h>

#include "helper.h"
#include "method.h"

/* A channel kind is a recovery method that sends a code (method.h): METHOD_EMAIL,
 * METHOD_SMS or METHOD_TELEGRAM. */

/* "email", "sms", "telegram" (method_id), NULL for anything but a channel. */
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

/*
 * The same, naming the one-time code that `text` carries, for sms_body templates that use
 * {code} (channel_send finds it as the first run of SECRET_CODE_DIGITS digits in text).
 * code may be NULL.
 */
int channel_send_code(const struct cfg *c, int kind, const char *to, const char *subject,
		      const char *text, const char *code, char *err, size_t errlen);

/*
 * The same for the outbox (outbox.h): `msgid` (NULL: random) becomes the Message-ID of a
 * mail, so a message sent again after a crash can be recognised; receipt_fd (-1: none) is
 * an open file the sender writes PRIVSEP_RECEIPT to after the message went out.
 */
int channel_deliver(const struct cfg *c, int kind, const char *to, const char *subject,
		    const char *text, const char *msgid, int receipt_fd, char *err, size_t errlen);

/* Is the channel configured (smtp_url; sms_url; telegram_token_file)? 1 or 0;
 * when 0, why gets the sentence that says which key to set. */
int channel_configured(const struct cfg *c, int kind, char *why, size_t n);

/* Validators (also fuzzed): 1 valid, 0 not. */
int channel_email_ok(const char *addr); /* no CR/LF/controls, one '@', sane length */
int channel_phone_ok(const char *num);  /* ^\+[0-9]{6,15}$ */
int channel_chat_ok(const char *id);    /* -?[1-9][0-9]{0,18}, fits in int64 */
/* Is the address on one of cfg->local_domains (refused as a recovery address)? */
int channel_email_is_local(const struct cfg *c, const char *addr);

/* Masked forms for hints and status: "a***e@example.org", "+37*******12", "chat …89".
 * Always NUL-terminated (n > 0); a value that is not valid for the kind gives "***". */
void channel_mask(int kind, const char *value, char *out, size_t n);

/* A phone number as people type it ("+371 2612-3456", "(+1) 555.123.4567") in E.164 form
 * ("+37126123456"): drops spaces, dashes, dots and brackets. 0, or -1 if it is still not
 * E.164 after that (out is then ""). */
int channel_phone_normalise(const char *in, char *out, size_t n);

#endif
