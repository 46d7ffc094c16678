/*
 * Privilege separation for network I/O (doc/hardening.md).
 *
 * privsep_run() starts the sender, a separate small program (pam-recover-send, installed at
 * RC_SENDER_PATH, the only program of pam_recover that links libcurl), by fork + execve with
 * an empty environment, so it holds nothing of the helper's memory: no key, no store, no
 * configuration. Its descriptors: 0 the request (a pipe), 1 the answer (a pipe), 2
 * /dev/null, 3 a receipt file or /dev/null. argv: "pam-recover-send UID GID", the ids of
 * channel_user. The sender drops to them for good (setgroups, setresgid, setresuid, proof
 * that root cannot be regained, PR_SET_NO_NEW_PRIVS, not dumpable) before it reads a byte
 * of the request, then does the one SMTP / HTTP exchange and answers with one status and a
 * short error text (plus a small result for Telegram look-ups). After a successful send it
 * writes "sent\n" to the receipt and fsyncs it: the outbox (outbox.h) learns from it that a
 * message went out even when the helper died before it could record that.
 *
 * The root part reads every secret the request needs (SMTP password, SMS gateway auth, bot
 * token, CA file) from its root-only file beforehand and passes only those. The parent waits
 * at most `timeout_s` seconds and kills the sender when it overruns. No store transaction
 * may be open across privsep_run.
 *
 * Wire format (little endian; privsep_wire.c):
 *   request: "PRS1", then fields: tag(1) len(4) bytes(len) NUL; each tag at most once, the
 *            bytes hold no NUL; at most PRIVSEP_REQ_MAX bytes in all. Tags: 1 op (decimal),
 *            2 url, 3 tls (decimal), 4 content type (decimal), 5 user, 6 secret, 7 CA (PEM),
 *            8 from, 9 to, 10 subject, 11 text, 12 body, 13 code, 14 Message-ID.
 *   answer:  status(4) errlen(2) err(errlen) reslen(2) result(reslen); at most
 *            PRIVSEP_ANSWER_MAX bytes; status one of HX_OK, HX_DATAERR, HX_UNAVAIL,
 *            HX_SOFTWARE, HX_CONFIG; result printable ASCII and newlines.
 */
#ifndef RC_PRIVSEP_H
#define RC_PRIVSEP_H

#include <stddef.h>

#include "config.h"

#define PRIVSEP_REQ_MAX (1024 * 1024) /* request, CA bundle included */
#define PRIVSEP_ERR_MAX 384
#define PRIVSEP_RESULT_MAX 4096
#define PRIVSEP_TIMEOUT 45 /* seconds the parent waits (curl's own limits are lower) */
#define PRIVSEP_ANSWER_MAX (4 + 2 + PRIVSEP_ERR_MAX + 2 + PRIVSEP_RESULT_MAX)
#define PRIVSEP_RECEIPT "sent\n" /* what the sender writes to its receipt after a send */

enum privsep_op {
	PRIVSEP_MAIL = 1,       /* SMTP submission */
	PRIVSEP_SMS = 2,        /* HTTP gateway POST */
	PRIVSEP_TG_SEND = 3,    /* Bot API sendMessage */
	PRIVSEP_TG_UPDATES = 4, /* Bot API getUpdates: result "CHAT CODE\n" lines */
	PRIVSEP_TG_ME = 5,      /* Bot API getMe: result the bot's user name */
};

/* One request. Strings may be NULL (absent). The same structure is rebuilt in the child,
 * pointing into its copy of the request. */
struct privsep_req {
	int op;
	const char *url;    /* smtp_url, sms_url or telegram_api */
	int tls;            /* enum cfg_smtp_tls */
	int content_type;   /* enum cfg_sms_type */
	const char *user;   /* smtp_user */
	const char *secret; /* SMTP password, SMS auth line, Telegram token */
	const char *ca;     /* PEM contents of smtp_ca_file */
	const char *from;   /* mail_from */
	const char *to;     /* address, E.164 number or chat id */
	const char *subject;
	const char *text;
	const char *body;  /* sms_body template */
	const char *code;  /* the one-time code, for {code} in sms_body */
	const char *msgid; /* Message-ID for mail (without <>), or NULL: a random one */
};

struct privsep_res {
	int status;                      /* HX_OK, HX_UNAVAIL, HX_CONFIG, HX_DATAERR, ... */
	char err[PRIVSEP_ERR_MAX];       /* what went wrong and what to check; never a secret */
	char result[PRIVSEP_RESULT_MAX]; /* op-specific answer */
};

/*
 * Run one request in the sender. receipt_fd: an open, writable file that becomes the
 * sender's fd 3 (-1: none). Returns res->status (also on internal failure, then
 * HX_SOFTWARE or HX_CONFIG with res->err set). The caller wipes its own copies of the
 * secrets; the serialised request is wiped here.
 */
int privsep_run(const struct cfg *c, const struct privsep_req *req, int timeout_s, int receipt_fd,
		struct privsep_res *res);

/* The sender's path: RC_SENDER_PATH; when root runs a helper that is not the installed one
 * (a build tree), the pam-recover-send beside it. */
const char *privsep_sender_path(char *buf, size_t n);

/* Serialise / parse a request (the wire format of the pipe; also unit-testable).
 * privsep_encode: malloc'd buffer in *out (free with rc_wipe + free). 0 or -1. */
int privsep_encode(const struct privsep_req *req, unsigned char **out, size_t *len);
/* Rebuild a request pointing into buf (which must stay alive). 0 or -1 on any malformation. */
int privsep_decode(const unsigned char *buf, size_t len, struct privsep_req *req);
/* The answer: encode into out (returns its length); decode untrusted bytes (lengths, status
 * and characters checked, err escaped): 0 or -1. */
size_t privsep_answer_encode(const struct privsep_res *res, unsigned char out[PRIVSEP_ANSWER_MAX]);
int privsep_answer_decode(const unsigned char *b, size_t n, struct privsep_res *res);

#endif
