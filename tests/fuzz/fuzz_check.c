/*
 * libFuzzer harness: the request of pam-recover-check as the setuid back end reads it from
 * a caller without root (helper/check_request.c): hostile bytes through a pipe, then the
 * parser.
 *
 * FUZZ_SOURCES: helper/check_request.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium
 *
 * Properties: a request that is read holds exactly four newlines, no NUL, at most
 * CHECK_REQ_MAX bytes, and is the start of the input. One that parses has a known mode, its
 * lines inside the buffer, a service of 1..CHECK_SERVICE_MAX allowed characters, a user that
 * rc_user_name_ok takes (or empty where the mode allows it), and an input within
 * CHECK_INPUT_MAX that is empty where the mode takes none.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../helper/check_request.h"
#include "check_proto.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, const char *buf, size_t len)
{
	return p >= buf && p <= buf + len && memchr(p, '\0', (size_t)(buf + len + 1 - p)) != NULL;
}

static void check_parsed(const struct request *rq, const char *buf, size_t len)
{
	size_t sl = strlen(rq->service);
	int empty_user_ok = rq->mode == MODE_CONFIG || rq->mode == MODE_DONE;
	int no_input = rq->mode == MODE_ENROLLED || rq->mode == MODE_CONFIG ||
		       rq->mode == MODE_HOLD || rq->mode == MODE_DONE;

	if (rq->mode < MODE_ENROLLED || rq->mode > MODE_DONE)
		abort();
	if (!inside(rq->mode_name, buf, len) || !inside(rq->user, buf, len) ||
	    !inside(rq->service, buf, len) || !inside(rq->input, buf, len))
		abort();
	if (rq->mode == MODE_DONE) {
		if (rq->user[0] || rq->service[0] || rq->input[0])
			abort();
		return;
	}
	if (sl == 0 || sl > CHECK_SERVICE_MAX ||
	    strspn(rq->service,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != sl)
		abort();
	if (rq->user[0] == '\0' ? !empty_user_ok : !rc_user_name_ok(rq->user))
		abort();
	if (strlen(rq->input) > CHECK_INPUT_MAX || (no_input && rq->input[0] != '\0'))
		abort();
	if (rq->mode == MODE_SPLIT && rq->input[0] != '\0' &&
	    (strlen(rq->input) != 8 || !check_digits_only(rq->input, 8)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[CHECK_REQ_MAX + 1];
	struct request rq;
	const char *why = NULL;
	size_t len = 0, lines = 0;
	int p[2];

	if (size > 16384) /* well within a pipe's buffer: written whole before the read */
		return 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		abort();
	if (size > 0 && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	if (check_read_request(p[0], buf, CHECK_REQ_MAX, &len) != 0) {
		close(p[0]);
		if (len > size)
			abort();
		return 0;
	}
	close(p[0]);
	if (len > CHECK_REQ_MAX || len > size || buf[len] != '\0' || memchr(buf, '\0', len) ||
	    memcmp(buf, data, len) != 0)
		abort();
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if (lines != 4 || buf[len - 1] != '\n')
		abort();
	memset(&rq, 0, sizeof(rq));
	if (check_parse_request(buf, &rq, &why) == 0)
		check_parsed(&rq, buf, len);
	else if (why == NULL || why[0] == '\0')
		abort();
	return 0;
}
