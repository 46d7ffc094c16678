/* Unit tests for the helper <-> pam-recover-send wire format (helper/channel/privsep_wire.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rc_select.h"

#include "../../helper/helper.h"
#include "../../helper/channel/privsep.h"

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	p[2] = (unsigned char)((v >> 16) & 0xff);
	p[3] = (unsigned char)((v >> 24) & 0xff);
}

static void roundtrip(void **state)
{
	struct privsep_req in, out;
	unsigned char *w = NULL;
	size_t n = 0;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = PRIVSEP_MAIL;
	in.url = "smtp://127.0.0.1:25";
	in.tls = 2;
	in.user = "mailer";
	in.secret = "s3cret pw";
	in.from = "recover@example.net";
	in.to = "alice@example.org";
	in.subject = "Your password was reset";
	in.text = "line one\nline two\n";
	in.msgid = "outbox-7-1700000000";
	assert_int_equal(privsep_encode(&in, &w, &n), 0);
	assert_memory_equal(w, "PRS1", 4);
	assert_int_equal(privsep_decode(w, n, &out), 0);
	assert_int_equal(out.op, PRIVSEP_MAIL);
	assert_int_equal(out.tls, 2);
	assert_string_equal(out.url, in.url);
	assert_string_equal(out.secret, in.secret);
	assert_string_equal(out.to, in.to);
	assert_string_equal(out.text, in.text);
	assert_string_equal(out.msgid, in.msgid);
	assert_null(out.ca);
	assert_null(out.code);
	assert_null(out.body);
	/* a request cut inside a field (a pipe closed early) is refused, never shortened */
	assert_int_equal(privsep_decode(w, n - 1, &out), -1);
	assert_int_equal(privsep_decode(w, 4 + 5, &out), -1);
	assert_int_equal(privsep_decode(w, 3, &out), -1);
	free(w);
}

static void refused(void **state)
{
	unsigned char b[64];
	struct privsep_req r;
	size_t o = 0;

	(void)state;
	/* no op */
	memcpy(b, "PRS1", 4);
	o = 4;
	b[o++] = 9;
	put32(b + o, 3);
	o += 4;
	memcpy(b + o, "a@b", 4);
	o += 4;
	assert_int_equal(privsep_decode(b, o, &r), -1);
	/* op, then the same tag twice */
	o = 4;
	b[o++] = 1;
	put32(b + o, 1);
	o += 4;
	memcpy(b + o, "1", 2);
	o += 2;
	for (int i = 0; i < 2; i++) {
		b[o++] = 9;
		put32(b + o, 3);
		o += 4;
		memcpy(b + o, "a@b", 4);
		o += 4;
	}
	assert_int_equal(privsep_decode(b, o, &r), -1);
	assert_int_equal(privsep_decode(b, o - 9, &r), 0); /* one is fine */
	/* a NUL inside a value */
	b[o - 9 - 2] = '\0';
	assert_int_equal(privsep_decode(b, o - 9, &r), -1);
	/* a length past the end */
	o = 4;
	b[o++] = 1;
	put32(b + o, 0xffffffffu);
	o += 4;
	b[o++] = '1';
	b[o++] = '\0';
	assert_int_equal(privsep_decode(b, o, &r), -1);
	/* unknown op and tag, wrong magic */
	o = 4;
	b[o++] = 1;
	put32(b + o, 1);
	o += 4;
	memcpy(b + o, "7", 2);
	o += 2;
	assert_int_equal(privsep_decode(b, o, &r), -1);
	b[9] = '1';
	assert_int_equal(privsep_decode(b, o, &r), 0);
	b[o] = 99;
	put32(b + o + 1, 0);
	b[o + 5] = '\0';
	assert_int_equal(privsep_decode(b, o + 6, &r), -1);
	b[3] = '0';
	assert_int_equal(privsep_decode(b, o, &r), -1);
}

static void size_cap(void **state)
{
	struct privsep_req in;
	unsigned char *w = NULL;
	size_t n = 0;
	char *big = malloc(PRIVSEP_REQ_MAX + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', PRIVSEP_REQ_MAX);
	big[PRIVSEP_REQ_MAX] = '\0';
	memset(&in, 0, sizeof(in));
	in.op = PRIVSEP_SMS;
	in.body = big;
	assert_int_equal(privsep_encode(&in, &w, &n), -1);
	assert_null(w);
	free(big);
}

static void answers(void **state)
{
	struct privsep_res in, out;
	unsigned char b[PRIVSEP_ANSWER_MAX];
	size_t n;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.status = HX_UNAVAIL;
	strcpy(in.err, "cannot connect\x1b[31m");
	strcpy(in.result, "123 45678901\n");
	n = privsep_answer_encode(&in, b);
	assert_int_equal(privsep_answer_decode(b, n, &out), 0);
	assert_int_equal(out.status, HX_UNAVAIL);
	assert_string_equal(out.err, "cannot connect?[31m"); /* escaped */
	assert_string_equal(out.result, in.result);
	assert_int_equal(privsep_answer_decode(b, n - 1, &out), -1); /* short */
	b[n] = 'x';
	assert_int_equal(privsep_answer_decode(b, n + 1, &out), -1); /* trailing */
	b[0] = 1; /* HX_WRONG is not an answer the sender gives */
	assert_int_equal(privsep_answer_decode(b, n, &out), -1);
	b[0] = 0;
	b[n - 2] = 0x01; /* a control character in the result */
	assert_int_equal(privsep_answer_decode(b, n, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(refused),
		cmocka_unit_test(size_cap),
		cmocka_unit_test(answers),
	};
	return rc_run_group_tests("wire", tests, NULL, NULL);
}
