/*
 * The e-mail channel. The message is built here (RFC 5322 + MIME, CRLF); mail_smtp.c (in
 * pam-recover-send only) submits it with libcurl: smtp:// with STARTTLS required (CURLUSESSL_ALL: TRY would fall back to clear text
 * silently), smtps:// for implicit TLS, clear text only for a loopback server and only when
 * smtp_tls = none says so (cfg_validate enforces the loopback part).
 */
#include "mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "channel.h"
#include "config.h"
#include "helper.h"

int mail_header_ok(const char *v)
{
	size_t n = 0;

	if (v == NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++, n++)
		if (*p < 0x20 || *p == 0x7f || n >= MAIL_LINE_MAX - 80)
			return 0;
	return 1;
}

static int is_ascii(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x80)
			return 0;
	return 1;
}

/* Length of the UTF-8 sequence starting with lead byte c (1 for a stray byte). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* Subject: as is when ASCII, else RFC 2047 "=?UTF-8?B?...?=" words of at most 45 input
 * bytes each (60 base64 characters), never splitting a UTF-8 sequence, folded with CRLF SP. */
static void add_subject(struct rc_buf *b, const char *s)
{
	if (is_ascii(s)) {
		rc_buf_adds(b, s);
		return;
	}
	size_t len = strlen(s), i = 0;
	int first = 1;
	while (i < len) {
		size_t take = 0;
		while (i + take < len) {
			size_t l = utf8_len((unsigned char)s[i + take]);
			if (take + l > 45 || i + take + l > len)
				break;
			take += l;
		}
		if (take == 0)
			take = 1; /* a broken sequence at the end: send the byte */
		char enc[sodium_base64_ENCODED_LEN(45, sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)s + i, take,
				  sodium_base64_VARIANT_ORIGINAL);
		if (!first)
			rc_buf_adds(b, "\r\n ");
		rc_buf_adds(b, "=?UTF-8?B?");
		rc_buf_adds(b, enc);
		rc_buf_adds(b, "?=");
		first = 0;
		i += take;
	}
}

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL && at[1] != '\0' ? at + 1 : "localhost";
}

int mail_build(const char *from, const char *to, const char *subject, const char *text,
	       const char *msgid, int64_t now, char **out, size_t *len, char *err, size_t n)
{
	struct rc_buf b = RC_BUF_INIT(0);
	char date[64], id[80];
	unsigned char rnd[16];
	char hex[sizeof(rnd) * 2 + 1];
	struct tm tm;
	time_t t = (time_t)now;
	int r = -1;

	*out = NULL;
	*len = 0;
	if (!mail_header_ok(from) || !mail_header_ok(to) || !mail_header_ok(subject) ||
	    strlen(subject) > MAIL_SUBJECT_MAX) {
		snprintf(err, n,
			 "a header (From, To or Subject) contains a line break or a "
			 "control character, or is too long: refused");
		goto out;
	}
	if (text == NULL || strlen(text) > MAIL_TEXT_MAX) {
		snprintf(err, n, "the message text is missing or too long");
		goto out;
	}
	/* Date in the "C" locale (the helper never calls setlocale), always UTC. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0) {
		snprintf(err, n, "cannot format the date");
		goto out;
	}
	if (msgid != NULL) {
		size_t ml = strlen(msgid);
		if (ml == 0 || ml > 64 ||
		    strspn(msgid,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
			    ml ||
		    rc_snprintf(id, sizeof(id), "<%s@", msgid) < 0) {
			snprintf(err, n, "the Message-ID is not usable");
			goto out;
		}
	} else {
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		if (rc_snprintf(id, sizeof(id), "<%s.%lld@", hex, (long long)now) < 0)
			goto out;
	}

	rc_buf_adds(&b, "Date: ");
	rc_buf_adds(&b, date);
	rc_buf_adds(&b, "\r\nMessage-ID: ");
	rc_buf_adds(&b, id);
	rc_buf_adds(&b, domain_of(from));
	rc_buf_adds(&b, ">\r\nFrom: ");
	rc_buf_adds(&b, from);
	rc_buf_adds(&b, "\r\nTo: ");
	rc_buf_adds(&b, to);
	rc_buf_adds(&b, "\r\nSubject: ");
	add_subject(&b, subject);
	rc_buf_adds(&b, "\r\nMIME-Version: 1.0\r\n"
			"Content-Type: text/plain; charset=UTF-8\r\n"
			"Content-Transfer-Encoding: 8bit\r\n"
			"Auto-Submitted: auto-generated\r\n"
			"\r\n");
	/* Body: LF -> CRLF; a CR of the caller's is refused (no bare CR in 8bit text). */
	for (const char *p = text; *p != '\0';) {
		size_t l = strcspn(p, "\n");
		if (memchr(p, '\r', l) != NULL || l > MAIL_LINE_MAX) {
			snprintf(err, n,
				 "the message text has a carriage return or a line over %d "
				 "bytes",
				 MAIL_LINE_MAX);
			goto out;
		}
		rc_buf_add(&b, p, l);
		rc_buf_adds(&b, "\r\n");
		p += l;
		if (*p == '\n')
			p++;
	}
	if (b.bad) {
		snprintf(err, n, "out of memory");
		goto out;
	}
	*out = b.d;
	*len = b.len;
	b.d = NULL;
	r = 0;
out:
	rc_buf_free(&b);
	return r;
}
