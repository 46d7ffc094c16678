/* E-mail channel: the RFC 5322 message and its SMTP submission through libcurl. */
#ifndef RC_MAIL_H
#define RC_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "privsep.h"
#include "util.h"

#define MAIL_SUBJECT_MAX 200
#define MAIL_TEXT_MAX (32 * 1024)
#define MAIL_LINE_MAX 998 /* RFC 5322 2.1.1 */

/* A header value may go out as is: no CR, LF or other control character, at most 998
 * bytes. 1 or 0. */
int mail_header_ok(const char *v);

/*
 * Build the message: Date, Message-ID (<msgid@domain of from> when msgid is given: letters,
 * digits, '.', '-', at most 64; else a random one), From, To, Subject (RFC 2047 encoded when it is not
 * ASCII), MIME-Version, Content-Type text/plain; charset=UTF-8, Content-Transfer-Encoding
 * 8bit, Auto-Submitted: auto-generated; CRLF line endings; text's LF become CRLF.
 * *out is malloc'd (free it). 0, or -1 with a reason in err (a header value with CR/LF, a
 * text line over 998 bytes, a CR or NUL in the text, or out of memory).
 */
int mail_build(const char *from, const char *to, const char *subject, const char *text,
	       const char *msgid, int64_t now, char **out, size_t *len, char *err,
	       size_t n) RC_MUST_CHECK;

/* Submit r->text to r->to over SMTP (pam-recover-send, mail_smtp.c). Sets res; returns
 * res->status. */
int mail_send(const struct privsep_req *r, struct privsep_res *res);

#endif
