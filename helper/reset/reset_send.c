/*
 * Sending a reset code: the send reserved under the caller's, the account's and the
 * destination's limits before it happens (quota.h), the message (and for e-mail the
 * reset_url link), the code issued and sent through the channel, and on a failed send the
 * code voided with the same answer as a send that went out.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "channel/channel.h"
#include "codes.h"
#include "out.h"
#include "quota.h"
#include "text.h"

#define MAIL_SUBJECT "Reset your password"

/* reset_url with {code} and {user} filled in, URL-escaped. 0 or -1. */
static int make_link(const struct reset *r, const char *code, char *out, size_t n)
{
	char user_esc[HX_USER_MAX * 3 + 1];
	size_t o = 0;

	if (text_url_escape(r->user, user_esc, sizeof(user_esc)) != 0)
		return -1;
	for (const char *p = r->cfg.reset_url; *p != '\0';) {
		const char *put = NULL;
		size_t skip = 1;
		if (strncmp(p, "{code}", 6) == 0) {
			put = code; /* digits: nothing to escape */
			skip = 6;
		} else if (strncmp(p, "{user}", 6) == 0) {
			put = user_esc;
			skip = 6;
		}
		size_t len = put != NULL ? strlen(put) : 1;
		if (o + len + 1 > n)
			return -1;
		memcpy(out + o, put != NULL ? put : p, len);
		o += len;
		p += skip;
	}
	out[o] = '\0';
	return 0;
}

/* The site's name as every message gives it (the contact confirmations, the notices): the
 * configured issuer, else the host name. */
static void host_name(const struct reset *r, char *out, size_t n)
{
	const char *name = hx_issuer(&r->cfg, out, n);

	if (name != out)
		snprintf(out, n, "%s", name);
}

/* The message that carries the code. */
static int code_text(const struct reset *r, int m, const char *code, int ttl, char *out, size_t n)
{
	char host[256], link[1024];
	int minutes = (ttl + 59) / 60;

	host_name(r, host, sizeof(host));
	if (m != METHOD_EMAIL)
		return rc_snprintf(out, n,
				   "%s: your password reset code for %s is %s (valid %d min). "
				   "Never give it to anyone.",
				   host, r->user, code, minutes) < 0
			       ? -1
			       : 0;
	link[0] = '\0';
	if (r->cfg.reset_url != NULL && make_link(r, code, link, sizeof(link)) != 0)
		return -1;
	return rc_snprintf(
		       out, n,
		       "Someone, hopefully you, asked to reset the password of the account %s "
		       "on %s.\n\n"
		       "Your code: %s\n\n"
		       "Type it where you asked for it, or run `pam-recover reset --code`.%s%s%s\n"
		       "The code works once and for %d minute%s.\n\n"
		       "If you did not ask for this, ignore this message: your password has not "
		       "changed.\n",
		       r->user, host, code, link[0] ? "\nOr open this link:\n\n" : "", link,
		       link[0] ? "\n" : "", minutes, minutes == 1 ? "" : "s") < 0
		       ? -1
		       : 0;
}

/*
 * Reserve the send under every quota (quota.h) and, when a message will go out, issue its
 * code, in one transaction. *qr gets the QUOTA_* result. 0, or -1 (store).
 */
static int reserve(struct reset *r, const char *ch, const char *to, int ttl, int64_t now,
		   char *code, size_t n, int *qr)
{
	const struct quota_req q = {r->caller, r->user, ch, to};

	if (hx_txn_begin(r->store) != 0)
		return -1;
	*qr = quota_reserve(r->store, &r->cfg, &r->key, &q, now);
	int ok = *qr == QUOTA_OK &&
		 (to == NULL || code_issue(r->store, &r->key, r->user, ch, RESET_PURPOSE, ttl, now,
					   code, n) == 0);
	if (hx_txn_end(r->store, ok) != 0 && (*qr == QUOTA_OK || *qr == QUOTA_ERROR))
		return -1;
	return 0;
}

/*
 * Send a reset code by method m to `to` (NULL: nothing is sent, the unknown-user and
 * wrong-address path). Every request is reserved first, real or not, under the caller's and
 * the account's limits (and the host's SMS budget is checked), so that an unknown name, a
 * wrong address and a real one meet the same limits; only a real send counts under its
 * destination and the budget. A destination over its own limit, a send that fails, and a
 * wrong address all give the answer of a send that went out (the audit and syslog say
 * what happened). HX_OK, HX_WRONG (the account's quota or the budget: choose another
 * method), or an exit status that ends the run.
 */
int reset_send_code(struct reset *r, int m, const char *to)
{
	const char *ch = method_id(m);
	int ttl = m == METHOD_EMAIL ? r->cfg.email_code_ttl : r->cfg.sms_code_ttl;
	char code[SECRET_CODE_DIGITS + 16], text[2048], err[512];
	int rc, qr = QUOTA_ERROR;
	int64_t now = rc_now();

	code[0] = '\0';
	if (reserve(r, ch, to, ttl, now, code, sizeof(code), &qr) != 0) {
		rc = reset_store_fail(r);
		goto out;
	}
	if (qr == QUOTA_DESTINATION) {
		/* Counted like a wrong address (caller and account), and nothing is sent. */
		syslog(LOG_NOTICE,
		       "reset: user=%s code by %s not sent: destination_sends_per_day "
		       "reached",
		       r->user, ch);
		reset_audit(r, "reset-rate-limited", ch, quota_message(qr));
		to = NULL;
		if (reserve(r, ch, NULL, ttl, now, code, sizeof(code), &qr) != 0) {
			rc = reset_store_fail(r);
			goto out;
		}
	}
	if (qr == QUOTA_CALLER) {
		syslog(LOG_NOTICE, "reset: caller %s refused: caller_requests_per_hour reached",
		       r->caller);
		reset_error(r, "rate_limited", 1,
			    "Too many codes were requested from here in the last hour; nothing was "
			    "sent. Try again later.");
		rc = HX_TEMPFAIL;
		goto out;
	}
	if (qr == QUOTA_ACCOUNT || qr == QUOTA_BUDGET) {
		reset_audit(r, "reset-rate-limited", ch, quota_message(qr));
		reset_error(r, "rate_limited", 0,
			    "Too many codes were sent this way for this "
			    "account: %s.",
			    quota_message(qr));
		rc = HX_WRONG;
		goto out;
	}
	if (qr != QUOTA_OK) {
		rc = reset_store_fail(r);
		goto out;
	}
	if (to == NULL) {
		reset_audit(r, "reset-code-not-sent", ch,
			    r->known ? "the address typed does not match" : "unknown user");
		rc = HX_OK;
		goto out;
	}
	if (code_text(r, m, code, ttl, text, sizeof(text)) != 0) {
		rc = HX_SOFTWARE;
		reset_error(r, "internal", 1, "The message could not be made; nothing was sent.");
		goto void_code;
	}
	rc = channel_send_code(&r->cfg, m, to, MAIL_SUBJECT, text, code, err, sizeof(err));
	if (rc != HX_OK) {
		/* The answer stays that of a send that went out: an outage must not tell a right
		 * address from a wrong one. The administrator sees it in syslog and the audit. */
		syslog(LOG_WARNING, "reset: user=%s code by %s not sent: %s", r->user, ch, err);
		reset_audit(r, "reset-send-failed", ch, err);
		rc = HX_OK;
		goto void_code;
	}
	reset_audit(r, "reset-code-sent", ch, "");
	syslog(LOG_INFO, "reset: ruid=%ld user=%s code by %s sent", (long)r->h->ruid, r->user, ch);
	rc = HX_OK;
	goto out;
void_code:
	/* The code never reached anyone: void it, so nothing half-done is left behind. */
	if (hx_txn_begin(r->store) != 0 ||
	    hx_txn_end(r->store, code_void(r->store, r->user, ch, RESET_PURPOSE) == HX_OK) != 0)
		syslog(LOG_ERR, "reset: user=%s could not void an unsent code", r->user);
out:
	RC_WIPE_ARRAY(code);
	RC_WIPE_ARRAY(text);
	return rc;
}
