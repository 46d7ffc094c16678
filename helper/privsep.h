/*
 * Privilege separation for network I/O (HARDENING.md item 10).
 *
 * privsep_run() forks a child that drops to an unprivileged system user (channel_user,
 * default `nobody`) for good, proves root cannot be regained, sets PR_SET_NO_NEW_PRIVS, and
 * only then reads the request from a pipe (size-capped), does the SMTP / HTTP exchange and
 * writes back one status and a short error text (plus a small result for Telegram look-ups).
 * The root part reads every secret from its root-only file beforehand and passes it along;
 * the child never opens the store, the key or a configuration file. The parent waits at most
 * `timeout_s` seconds and kills the child when it overruns.
 */
#ifndef RC_PRIVSEP_H
#define RC_PRIVSEP_H

#include <stddef.h>

#include "config.h"

#define PRIVSEP_REQ_MAX (1024 * 1024) /* request, CA bundle included */
#define PRIVSEP_ERR_MAX 384
#define PRIVSEP_RESULT_MAX 4096
#define PRIVSEP_TIMEOUT 45 /* seconds the parent waits (curl's own limits are lower) */

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
	const char *url;     /* smtp_url, sms_url or telegram_api */
	int tls;             /* enum cfg_smtp_tls */
	int content_type;    /* enum cfg_sms_type */
	const char *user;    /* smtp_user */
	const char *secret;  /* SMTP password, SMS auth line, Telegram token */
	const char *ca;      /* PEM contents of smtp_ca_file */
	const char *from;    /* mail_from */
	const char *to;      /* address, E.164 number or chat id */
	const char *subject;
	const char *text;
	const char *body;    /* sms_body template */
	const char *code;    /* the one-time code, for {code} in sms_body */
};

struct privsep_res {
	int status;                      /* HX_OK, HX_UNAVAIL, HX_CONFIG, HX_DATAERR, ... */
	char err[PRIVSEP_ERR_MAX];       /* what went wrong and what to check; never a secret */
	char result[PRIVSEP_RESULT_MAX]; /* op-specific answer */
};

/*
 * Run one request in the unprivileged child. Returns res->status (also on internal
 * failure, then HX_SOFTWARE or HX_CONFIG with res->err set). The caller wipes its own
 * copies of the secrets; the serialised request is wiped here.
 */
int privsep_run(const struct cfg *c, const struct privsep_req *req, int timeout_s,
		struct privsep_res *res);

/* Serialise / parse a request (the wire format of the pipe; also unit-testable).
 * privsep_encode: malloc'd buffer in *out (free with rc_wipe + free). 0 or -1. */
int privsep_encode(const struct privsep_req *req, unsigned char **out, size_t *len);
/* Rebuild a request pointing into buf (which must stay alive). 0 or -1 on any malformation. */
int privsep_decode(unsigned char *buf, size_t len, struct privsep_req *req);

#endif
