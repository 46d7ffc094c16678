/* The check request's reader and parser (check_request.h). */
#include "check_request.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check_proto.h"
#include "secret.h"
#include "util.h"

int check_read_request(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0, scanned = 0;
	int lines = 0;

	*len = 0;
	while (lines < 4) {
		if (n >= cap)
			return -1; /* more than CHECK_REQ_MAX bytes before the request ended */
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		*len = n;
		for (; scanned < n && lines < 4; scanned++) {
			if (buf[scanned] == '\0')
				return -1;
			if (buf[scanned] == '\n')
				lines++;
		}
	}
	n = scanned; /* the request ends at its fourth newline */
	buf[n] = '\0';
	*len = n;
	return lines == 4 ? 0 : -1;
}

static int service_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CHECK_SERVICE_MAX)
		return 0;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

int check_parse_request(char *buf, struct request *rq, const char **why)
{
	char *line[4];
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		char *nl = strchr(p, '\n');
		if (nl == NULL) {
			*why = "request has fewer than four lines";
			return -1;
		}
		*nl = '\0';
		line[i] = p;
		p = nl + 1;
	}
	if (strcmp(line[0], CHECK_MODE_ENROLLED) == 0)
		rq->mode = MODE_ENROLLED;
	else if (strcmp(line[0], CHECK_MODE_CODE) == 0)
		rq->mode = MODE_CODE;
	else if (strcmp(line[0], CHECK_MODE_APP) == 0)
		rq->mode = MODE_APP;
	else if (strcmp(line[0], CHECK_MODE_SPLIT) == 0)
		rq->mode = MODE_SPLIT;
	else if (strcmp(line[0], CHECK_MODE_CONFIG) == 0)
		rq->mode = MODE_CONFIG;
	else if (strcmp(line[0], CHECK_MODE_HOLD) == 0)
		rq->mode = MODE_HOLD;
	else if (strcmp(line[0], CHECK_MODE_DONE) == 0)
		rq->mode = MODE_DONE;
	else {
		*why = "unknown mode";
		return -1;
	}
	rq->mode_name = line[0];
	rq->user = line[1];
	rq->service = line[2];
	rq->input = line[3];
	if (rq->mode == MODE_DONE) {
		if (rq->user[0] != '\0' || rq->service[0] != '\0' || rq->input[0] != '\0') {
			*why = "mode done takes no user, service or input";
			return -1;
		}
		return 0;
	}
	if ((rq->mode == MODE_CONFIG || rq->mode == MODE_HOLD) && rq->input[0] != '\0') {
		*why = "input given with mode config or hold";
		return -1;
	}
	if (rq->mode == MODE_CONFIG && rq->user[0] == '\0') {
		/* About no user: the same answer for every caller. */
		if (!service_ok(rq->service)) {
			*why = "bad service name";
			return -1;
		}
		return 0;
	}
	if (!rc_user_name_ok(rq->user)) {
		*why = "bad user name";
		return -1;
	}
	if (!service_ok(rq->service)) {
		*why = "bad service name";
		return -1;
	}
	if (strlen(rq->input) > CHECK_INPUT_MAX) {
		*why = "input too long";
		return -1;
	}
	if (rq->mode == MODE_ENROLLED && rq->input[0] != '\0') {
		*why = "input given with mode enrolled";
		return -1;
	}
	if (rq->mode == MODE_SPLIT && rq->input[0] != '\0' &&
	    (strlen(rq->input) != SECRET_BACKUP_DIGITS ||
	     !check_digits_only(rq->input, SECRET_BACKUP_DIGITS))) {
		*why = "mode split takes 8 digits or nothing";
		return -1;
	}
	return 0;
}

int check_digits_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}
