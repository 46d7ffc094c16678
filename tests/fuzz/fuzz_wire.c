/*
 * libFuzzer harness: the wire format between the setuid helper and pam-recover-send
 * (helper/channel/privsep_wire.c): the request as the sender reads it (privsep_decode) and the
 * answer as the root helper reads it (privsep_answer_decode), both from hostile bytes.
 *
 * FUZZ_SOURCES: helper/channel/privsep_wire.c lib/addr.c lib/buf.c lib/util.c
 * FUZZ_PKGS: libsodium
 *
 * The first byte picks the parser. Properties: a request that decodes has a known op and
 * its strings lie inside the buffer, NUL-terminated; encoding it again and decoding that
 * gives the same fields (a fixed point). An answer that decodes has a known status, an
 * escaped error text without control characters and a printable result.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/helper.h"
#include "../../helper/channel/privsep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void inside(const char *s, const unsigned char *buf, size_t len)
{
	if (s == NULL)
		return;
	if ((const unsigned char *)s < buf || (const unsigned char *)s >= buf + len)
		abort();
	if (memchr(s, '\0', len - (size_t)((const unsigned char *)s - buf)) == NULL)
		abort();
}

static void request(const unsigned char *buf, size_t len)
{
	struct privsep_req a, b;
	unsigned char *again = NULL;
	size_t alen = 0;

	if (privsep_decode(buf, len, &a) != 0)
		return;
	if (a.op < PRIVSEP_MAIL || a.op > PRIVSEP_TG_ME)
		abort();
	const char *fields[] = {a.url,     a.user, a.secret, a.ca,   a.from, a.to,
				a.subject, a.text, a.body,   a.code, a.msgid};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		inside(fields[i], buf, len);
	if (privsep_encode(&a, &again, &alen) != 0)
		return; /* larger than the cap once the integers are written out: fine */
	if (privsep_decode(again, alen, &b) != 0)
		abort();
	if (a.op != b.op || a.tls != b.tls || a.content_type != b.content_type ||
	    !same(a.url, b.url) || !same(a.user, b.user) || !same(a.secret, b.secret) ||
	    !same(a.ca, b.ca) || !same(a.from, b.from) || !same(a.to, b.to) ||
	    !same(a.subject, b.subject) || !same(a.text, b.text) || !same(a.body, b.body) ||
	    !same(a.code, b.code) || !same(a.msgid, b.msgid))
		abort();
	free(again);
}

static void answer(const unsigned char *buf, size_t len)
{
	struct privsep_res r;
	unsigned char out[PRIVSEP_ANSWER_MAX];

	memset(&r, 0, sizeof(r));
	if (privsep_answer_decode(buf, len, &r) != 0)
		return;
	if (r.status != HX_OK && r.status != HX_DATAERR && r.status != HX_UNAVAIL &&
	    r.status != HX_SOFTWARE && r.status != HX_CONFIG)
		abort();
	for (const unsigned char *p = (const unsigned char *)r.err; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	for (const unsigned char *p = (const unsigned char *)r.result; *p != '\0'; p++)
		if (*p != '\n' && (*p < 0x20 || *p > 0x7e))
			abort();
	/* what the sender writes, the helper reads back */
	size_t n = privsep_answer_encode(&r, out);
	struct privsep_res r2;
	if (n > sizeof(out) || privsep_answer_decode(out, n, &r2) != 0 || r2.status != r.status ||
	    strcmp(r2.result, r.result) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy, so that ASan sees any read past the end */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		answer(copy, size - 1);
	else
		request(copy, size - 1);
	free(copy);
	return 0;
}
