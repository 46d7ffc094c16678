/*
 * pam-recover-send: the network side of privilege separation (privsep.h), a separate small
 * program exec'd by the setuid helper with an empty environment. The only program of
 * pam_recover that links libcurl.
 *
 * Order, in the manner of OpenSSH's ssh-keysign: descriptors checked (0 the request, 1 the
 * answer, 2 /dev/null, 3 the receipt; nothing else stays open), no core, limits set; then
 * the drop to channel_user (argv: UID GID) for good, proven, with PR_SET_NO_NEW_PRIVS and
 * not dumpable; only then the request is read (size-capped) and parsed, and the one
 * exchange done. Run by anyone else it can do no more than its caller could: it never
 * gains a privilege, and a caller who is not root can only "drop" to itself.
 *
 * Exit status 0 after an answer was written (the answer carries the outcome); 64 for a bad
 * command line, 70 when it could not start safely (after an answer saying so, when it can).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "harden.h"
#include "helper.h"
#include "mail.h"
#include "privsep.h"
#include "sms.h"
#include "telegram.h"

#define RECEIPT_FD 3
#define RECEIPT_FSIZE 4096 /* bytes the sender may write at all (the receipt) */

/* Replace every occurrence of secret in s by "[hidden]" (in place, s is NUL-terminated). */
static void redact(char *s, size_t size, const char *secret)
{
	static const char mark[] = "[hidden]";
	size_t sl;
	char *p;

	if (secret == NULL || (sl = strlen(secret)) < 4)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		size_t tail = strlen(p + sl);
		if (sl >= sizeof(mark) - 1) {
			memcpy(p, mark, sizeof(mark) - 1);
			memmove(p + sizeof(mark) - 1, p + sl, tail + 1);
		} else if ((size_t)(p - s) + sizeof(mark) + tail <= size) {
			memmove(p + sizeof(mark) - 1, p + sl, tail + 1);
			memcpy(p, mark, sizeof(mark) - 1);
		} else {
			*p = '\0';
		}
	}
}

static int respond(const struct privsep_res *res)
{
	unsigned char out[PRIVSEP_ANSWER_MAX];
	size_t n = privsep_answer_encode(res, out);

	return rc_write_all(1, out, n);
}

static unsigned char *read_request(int fd, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	unsigned char *b = malloc(cap);

	if (b == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap >= PRIVSEP_REQ_MAX)
				goto fail;
			unsigned char *nb = malloc(cap * 2);
			if (nb == NULL)
				goto fail;
			memcpy(nb, b, n);
			rc_wipe(b, cap);
			free(b);
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
fail:
	rc_wipe(b, cap);
	free(b);
	return NULL;
}

/* 0, 1, 2 and 3 must be open (the helper set them); everything above is closed. */
static int check_fds(void)
{
	for (int fd = 0; fd <= RECEIPT_FD; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return -1;
	if (close_range(RECEIPT_FD + 1, ~0U, 0) != 0)
		for (int fd = RECEIPT_FD + 1; fd < 1024; fd++)
			(void)close(fd);
	return 0;
}

static int parse_id(const char *s, unsigned long *out)
{
	long v;

	if (s == NULL || rc_parse_long(s, 0, INT_MAX, &v) != 0)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* Record a delivery in the receipt (fd 3, when it is a regular file). */
static void write_receipt(void)
{
	struct stat st;

	if (fstat(RECEIPT_FD, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if (rc_write_all(RECEIPT_FD, PRIVSEP_RECEIPT, strlen(PRIVSEP_RECEIPT)) == 0)
		(void)fsync(RECEIPT_FD);
}

int main(int argc, char **argv)
{
	static struct privsep_res res;
	const struct rlimit nocore = {0, 0}, fsize = {RECEIPT_FSIZE, RECEIPT_FSIZE};
	struct privsep_req req;
	unsigned long uid, gid;
	unsigned char *buf = NULL;
	size_t len = 0;

	if (argc != 3 || argv[0] == NULL || parse_id(argv[1], &uid) != 0 ||
	    parse_id(argv[2], &gid) != 0) {
		static const char usage[] = "pam-recover-send: started by pam-recover only\n";
		(void)rc_write_all(2, usage, sizeof(usage) - 1);
		return HX_USAGE;
	}
	memset(&res, 0, sizeof(res));
	res.status = HX_SOFTWARE;
	if (check_fds() != 0)
		return HX_SOFTWARE;
	umask(077);
	if (chdir("/") != 0)
		return HX_SOFTWARE;
	/* Nothing to drop to but uid 0 is refused; a caller who is not root can only be
	 * itself (harden_drop_privileges fails otherwise). */
	if (uid == 0 || gid == 0) {
		snprintf(res.err, sizeof(res.err),
			 "channel_user must not be root; nothing was sent");
		(void)respond(&res);
		return HX_SOFTWARE;
	}
	/* Drop for good before the first byte of the request is read; then not dumpable, no
	 * core, at most a receipt's worth written; the environment is already empty. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_CORE, &nocore) != 0 ||
	    harden_drop_privileges((uid_t)uid, (gid_t)gid) != 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
	    clearenv() != 0) {
		snprintf(res.err, sizeof(res.err),
			 "the network process could not drop its privileges; nothing was sent");
		(void)respond(&res);
		return HX_SOFTWARE;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	alarm(PRIVSEP_TIMEOUT + 15); /* whatever happens, it ends */
	buf = read_request(0, &len);
	(void)close(0);
	if (buf == NULL || privsep_decode(buf, len, &req) != 0) {
		snprintf(res.err, sizeof(res.err), "the network process got a malformed request");
		goto out;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(res.err, sizeof(res.err), "cannot initialise the network libraries");
		goto out;
	}
	switch (req.op) {
	case PRIVSEP_MAIL:
		mail_send(&req, &res);
		break;
	case PRIVSEP_SMS:
		sms_send(&req, &res);
		break;
	default:
		tg_run(&req, &res);
		break;
	}
	if (res.status == HX_OK && req.op != PRIVSEP_TG_UPDATES && req.op != PRIVSEP_TG_ME)
		write_receipt();
	redact(res.err, sizeof(res.err), req.secret);
	redact(res.err, sizeof(res.err), req.code);
out:
	if (buf != NULL) {
		rc_wipe(buf, len);
		free(buf);
	}
	(void)respond(&res);
	/* _exit: nothing is left to flush, and no exit handler (a sanitizer's leak check among
	 * them) runs in a process that can no longer inspect itself */
	_exit(0);
}
