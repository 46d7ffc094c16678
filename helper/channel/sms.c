/* The SMS channel, child side: POST the rendered body to the gateway; success on 2xx. */
#include "sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "helper.h"
#include "net.h"

int sms_send(const struct privsep_req *r, struct privsep_res *res)
{
	char errbuf[CURL_ERROR_SIZE], why[160], host[128];
	char *bearer = NULL;
	struct curl_slist *hdr = NULL, *h2;
	struct net_buf body;
	struct sms_auth auth;
	CURL *e = NULL;
	CURLcode rc;
	long code = 0;
	int ok;

	memset(&body, 0, sizeof(body));
	memset(&auth, 0, sizeof(auth));
	res->status = HX_SOFTWARE;
	if (r->url == NULL || r->body == NULL)
		return net_fail(res, HX_SOFTWARE, "incomplete SMS request");
	if (r->secret != NULL && sms_auth_parse(r->secret, &auth, why, sizeof(why)) != 0) {
		net_fail(res, HX_CONFIG, "sms_auth_file %s", why);
		goto out;
	}
	e = net_easy(r->url, net_web_protocols(r->url), errbuf, &body);
	if (e == NULL) {
		net_fail(res, HX_SOFTWARE, "cannot set up the HTTP client (libcurl)");
		goto out;
	}
	hdr = curl_slist_append(NULL, r->content_type == CFG_SMS_JSON
					      ? "Content-Type: application/json; charset=utf-8"
					      : "Content-Type: application/x-www-form-urlencoded");
	if (hdr != NULL && (h2 = curl_slist_append(hdr, "Expect:")) != NULL)
		hdr = h2;
	else {
		net_fail(res, HX_SOFTWARE, "out of memory");
		goto out;
	}
	if (auth.kind == SMS_AUTH_BEARER) {
		size_t need = strlen(auth.user) + sizeof("Authorization: Bearer ");
		bearer = calloc(1, need);
		if (bearer == NULL ||
		    rc_snprintf(bearer, need, "Authorization: Bearer %s", auth.user) < 0 ||
		    (h2 = curl_slist_append(hdr, bearer)) == NULL) {
			net_fail(res, HX_SOFTWARE, "out of memory");
			goto out;
		}
		hdr = h2;
	}
	ok = curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body)) ==
		     CURLE_OK;
	if (ok && auth.kind == SMS_AUTH_BASIC)
		ok = curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_USERNAME, auth.user) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_PASSWORD, auth.pass) == CURLE_OK;
	if (!ok) {
		net_fail(res, HX_SOFTWARE, "cannot set up the HTTP client (libcurl options)");
		goto out;
	}
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body.over)) {
		net_curl_fail(res, rc, errbuf, "the SMS gateway", r->url, "sms_url");
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (code < 200 || code > 299) {
		/* The answer's body is not shown: a gateway may echo the message, code and all. */
		net_host(r->url, host, sizeof(host));
		net_fail(res, HX_UNAVAIL,
			 "the SMS gateway %s answered HTTP %ld; the message was not sent (%s)",
			 host, code,
			 code == 401 || code == 403
				 ? "check the credentials in sms_auth_file"
				 : (code >= 500 ? "the gateway has a problem; try later"
						: "check sms_url, sms_body and sms_content_type"));
		goto out;
	}
	res->status = HX_OK;
	res->err[0] = '\0';
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	if (bearer != NULL) {
		rc_wipe(bearer, strlen(bearer));
		free(bearer);
	}
	rc_wipe(&auth, sizeof(auth));
	net_buf_free(&body);
	return res->status;
}
