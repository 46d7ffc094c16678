/*
 * The wire format between the setuid helper and pam-recover-send (privsep.h): one request
 * one way, one answer the other. Shared by both programs, the unit test and the fuzzer, so
 * it is defined once. Pure functions: no I/O, no global state.
 */
#include "privsep.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "helper.h"

#define MAGIC "PRS1"

enum tag {
	T_OP = 1,
	T_URL,
	T_TLS,
	T_CTYPE,
	T_USER,
	T_SECRET,
	T_CA,
	T_FROM,
	T_TO,
	T_SUBJECT,
	T_TEXT,
	T_BODY,
	T_CODE,
	T_MSGID,
	T_LAST = T_MSGID
};

/* ---- the request on the wire ---- */

static void wfield(struct rc_buf *b, int tag, const char *v)
{
	unsigned char h[5];
	size_t n;

	if (v == NULL)
		return;
	n = strlen(v);
	h[0] = (unsigned char)tag;
	h[1] = (unsigned char)(n & 0xff);
	h[2] = (unsigned char)((n >> 8) & 0xff);
	h[3] = (unsigned char)((n >> 16) & 0xff);
	h[4] = (unsigned char)((n >> 24) & 0xff);
	rc_buf_add(b, h, sizeof(h));
	rc_buf_add(b, v, n + 1);
}

static void wint(struct rc_buf *b, int tag, int v)
{
	char s[16];

	snprintf(s, sizeof(s), "%d", v);
	wfield(b, tag, s);
}

int privsep_encode(const struct privsep_req *req, unsigned char **out, size_t *len)
{
	struct rc_buf b = RC_BUF_INIT(PRIVSEP_REQ_MAX);

	*out = NULL;
	*len = 0;
	rc_buf_add(&b, MAGIC, 4);
	wint(&b, T_OP, req->op);
	wfield(&b, T_URL, req->url);
	wint(&b, T_TLS, req->tls);
	wint(&b, T_CTYPE, req->content_type);
	wfield(&b, T_USER, req->user);
	wfield(&b, T_SECRET, req->secret);
	wfield(&b, T_CA, req->ca);
	wfield(&b, T_FROM, req->from);
	wfield(&b, T_TO, req->to);
	wfield(&b, T_SUBJECT, req->subject);
	wfield(&b, T_TEXT, req->text);
	wfield(&b, T_BODY, req->body);
	wfield(&b, T_CODE, req->code);
	wfield(&b, T_MSGID, req->msgid);
	if (b.bad) {
		rc_buf_free(&b);
		return -1;
	}
	*out = (unsigned char *)b.d;
	*len = b.len;
	return 0;
}

static int dint(const char *s, int *out)
{
	long v;

	if (rc_parse_long(s, 0, 1000, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int privsep_decode(const unsigned char *buf, size_t len, struct privsep_req *req)
{
	const char **slot[T_LAST + 1];
	const char *ints[T_LAST + 1];
	int seen[T_LAST + 1];
	size_t pos = 4;

	memset(req, 0, sizeof(*req));
	memset(seen, 0, sizeof(seen));
	memset(ints, 0, sizeof(ints));
	memset(slot, 0, sizeof(slot));
	slot[T_URL] = &req->url;
	slot[T_USER] = &req->user;
	slot[T_SECRET] = &req->secret;
	slot[T_CA] = &req->ca;
	slot[T_FROM] = &req->from;
	slot[T_TO] = &req->to;
	slot[T_SUBJECT] = &req->subject;
	slot[T_TEXT] = &req->text;
	slot[T_BODY] = &req->body;
	slot[T_CODE] = &req->code;
	slot[T_MSGID] = &req->msgid;
	if (buf == NULL || len < 4 || len > PRIVSEP_REQ_MAX || memcmp(buf, MAGIC, 4) != 0)
		return -1;
	while (pos < len) {
		size_t n;
		int tag;
		if (len - pos < 5)
			return -1;
		tag = buf[pos];
		n = (size_t)buf[pos + 1] | (size_t)buf[pos + 2] << 8 | (size_t)buf[pos + 3] << 16 |
		    (size_t)buf[pos + 4] << 24;
		pos += 5;
		if (tag < T_OP || tag > T_LAST || seen[tag] || n >= len - pos ||
		    buf[pos + n] != 0 || memchr(buf + pos, 0, n) != NULL)
			return -1;
		seen[tag] = 1;
		if (slot[tag] != NULL)
			*slot[tag] = (const char *)buf + pos;
		else
			ints[tag] = (const char *)buf + pos;
		pos += n + 1;
	}
	if (ints[T_OP] == NULL || dint(ints[T_OP], &req->op) != 0 || req->op < PRIVSEP_MAIL ||
	    req->op > PRIVSEP_TG_ME)
		return -1;
	if ((ints[T_TLS] != NULL && dint(ints[T_TLS], &req->tls) != 0) ||
	    (ints[T_CTYPE] != NULL && dint(ints[T_CTYPE], &req->content_type) != 0))
		return -1;
	return 0;
}

/* ---- the answer ---- */

size_t privsep_answer_encode(const struct privsep_res *res, unsigned char out[PRIVSEP_ANSWER_MAX])
{
	size_t el = strnlen(res->err, sizeof(res->err) - 1);
	size_t rl = strnlen(res->result, sizeof(res->result) - 1);
	uint32_t st = (uint32_t)res->status;
	size_t o = 0;

	out[o++] = (unsigned char)(st & 0xff);
	out[o++] = (unsigned char)((st >> 8) & 0xff);
	out[o++] = (unsigned char)((st >> 16) & 0xff);
	out[o++] = (unsigned char)((st >> 24) & 0xff);
	out[o++] = (unsigned char)(el & 0xff);
	out[o++] = (unsigned char)(el >> 8);
	memcpy(out + o, res->err, el);
	o += el;
	out[o++] = (unsigned char)(rl & 0xff);
	out[o++] = (unsigned char)(rl >> 8);
	memcpy(out + o, res->result, rl);
	o += rl;
	return o;
}

int privsep_answer_decode(const unsigned char *b, size_t n, struct privsep_res *res)
{
	char tmp[PRIVSEP_RESULT_MAX];
	size_t el, rl;
	uint32_t st;

	if (n < 8)
		return -1;
	st = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	el = (size_t)b[4] | (size_t)b[5] << 8;
	if (el >= PRIVSEP_ERR_MAX || n < 6 + el + 2)
		return -1;
	rl = (size_t)b[6 + el] | (size_t)b[7 + el] << 8;
	if (rl >= PRIVSEP_RESULT_MAX || n != 8 + el + rl)
		return -1;
	if (st != HX_OK && st != HX_DATAERR && st != HX_UNAVAIL && st != HX_SOFTWARE &&
	    st != HX_CONFIG)
		return -1;
	memcpy(tmp, b + 6, el);
	tmp[el] = '\0';
	/* result: printable ASCII and newlines only */
	for (size_t i = 0; i < rl; i++) {
		unsigned char ch = b[8 + el + i];
		if (ch != '\n' && (ch < 0x20 || ch > 0x7e))
			return -1;
	}
	rc_log_escape(tmp, res->err, sizeof(res->err));
	memcpy(res->result, b + 8 + el, rl);
	res->result[rl] = '\0';
	res->status = (int)st;
	return 0;
}
