/*
 * SMTP submission through libcurl (pam-recover-send only): smtp:// with STARTTLS required
 * (CURLUSESSL_ALL), smtps:// for implicit TLS, clear text only to a loopback server when
 * smtp_tls = none says so.
 */
#include "mail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "channel.h"
#include "config.h"
#include "helper.h"
#include "net.h"

/* Upload source for curl. */
struct upload {
	const char *d;
	size_t len, pos;
};

static size_t feed(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct upload *u = ud;
	size_t room = size * nmemb, left = u->len - u->pos;
	size_t n = left < room ? left : room;

	memcpy(buf, u->d + u->pos, n);
	u->pos += n;
	return n;
}

int mail_send(const struct privsep_req *r, struct privsep_res *res)
{
	char errbuf[CURL_ERROR_SIZE], berr[200];
	char envelope_from[300], envelope_to[300];
	struct curl_slist *rcpt = NULL;
	struct upload up = {NULL, 0, 0};
	char *msg = NULL;
	size_t msglen = 0;
	CURL *e = NULL;
	CURLcode rc;
	int ok;

	res->status = HX_SOFTWARE;
	if (r->url == NULL || r->from == NULL || r->to == NULL || r->subject == NULL ||
	    r->text == NULL)
		return net_fail(res, HX_SOFTWARE, "incomplete mail request");
	if (!channel_email_ok(r->to) || strpbrk(r->from, "<>\r\n") != NULL)
		return net_fail(res, HX_DATAERR, "not a valid e-mail address: refused");
	if (r->tls == CFG_TLS_NONE && !cfg_url_is_loopback(r->url))
		return net_fail(res, HX_CONFIG,
				"smtp_tls = none is only allowed for a mail server "
				"on this host");
	if (mail_build(r->from, r->to, r->subject, r->text, r->msgid, rc_now(), &msg, &msglen, berr,
		       sizeof(berr)) != 0)
		return net_fail(res, HX_DATAERR, "%s", berr);
	if (rc_snprintf(envelope_from, sizeof(envelope_from), "<%s>", r->from) < 0 ||
	    rc_snprintf(envelope_to, sizeof(envelope_to), "<%s>", r->to) < 0 ||
	    (rcpt = curl_slist_append(NULL, envelope_to)) == NULL) {
		net_fail(res, HX_DATAERR, "an address is too long");
		goto out;
	}
	e = net_easy(r->url, "smtp,smtps", errbuf, NULL);
	if (e == NULL) {
		net_fail(res, HX_SOFTWARE, "cannot set up the SMTP client (libcurl)");
		goto out;
	}
	up.d = msg;
	up.len = msglen;
	ok = curl_easy_setopt(e, CURLOPT_USE_SSL,
			      (long)(r->tls == CFG_TLS_NONE ? CURLUSESSL_NONE : CURLUSESSL_ALL)) ==
		     CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_MAIL_FROM, envelope_from) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_READFUNCTION, feed) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_READDATA, &up) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msglen) == CURLE_OK;
	if (ok && r->user != NULL)
		ok = curl_easy_setopt(e, CURLOPT_USERNAME, r->user) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_PASSWORD, r->secret != NULL ? r->secret : "") ==
			     CURLE_OK;
	if (ok && r->ca != NULL) {
		struct curl_blob blob;
		blob.data = (void *)(uintptr_t)r->ca;
		blob.len = strlen(r->ca);
		blob.flags = CURL_BLOB_COPY;
		ok = curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK;
	}
	if (!ok) {
		net_fail(res, HX_SOFTWARE, "cannot set up the SMTP client (libcurl options)");
		goto out;
	}
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		net_curl_fail(res, rc, errbuf, "the mail server", r->url, "smtp_url");
		goto out;
	}
	res->status = HX_OK;
	res->err[0] = '\0';
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(rcpt);
	if (msg != NULL) {
		rc_wipe(msg, msglen);
		free(msg);
	}
	return res->status;
}
