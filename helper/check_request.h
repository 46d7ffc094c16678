/*
 * The request of `pam-recover check` (lib/check_proto.h) as the back end reads it: four
 * lines from a pipe, split in place and checked line by line. Pure parsing, no store and no
 * configuration, so that the fuzz harness (tests/fuzz/fuzz_check.c) runs exactly this code.
 */
#ifndef RC_CHECK_REQUEST_H
#define RC_CHECK_REQUEST_H

#include <stddef.h>

#define CHECK_SERVICE_MAX 64

enum check_mode {
	MODE_ENROLLED,
	MODE_CODE,
	MODE_APP,
	MODE_SPLIT,
	MODE_CONFIG,
	MODE_HOLD,
	MODE_DONE
};

struct request {
	int mode;
	int read_only; /* config with a user: checked against the rate limit, not counted */
	const char *mode_name;
	char *user; /* made canonical in place (user_name_case) once the config is loaded */
	const char *service;
	const char *input;
};

/* Read one request from fd: up to its fourth newline or the end of input, never more than
 * cap bytes (buf holds cap + 1). Read in pieces (the module writes the whole request at
 * once); what follows the fourth newline is not part of it and is dropped. 0 with the
 * request NUL-terminated in buf and its length in *len; -1 when it is longer than cap, ends
 * early, cannot be read or holds a NUL byte, *len then saying how many bytes came (0: none
 * at all, the end of input). */
int check_read_request(int fd, char *buf, size_t cap, size_t *len);

/* Split the four lines of buf in place into rq and check each: the mode known, the user
 * name as rc_user_name_ok takes it (empty only for config and done), the service 1 to
 * CHECK_SERVICE_MAX of [A-Za-z0-9_.-], the input as the mode allows. 0, or -1 with *why. */
int check_parse_request(char *buf, struct request *rq, const char **why);

/* 1 when the n bytes of s are all ASCII digits. */
int check_digits_only(const char *s, size_t n);

#endif
