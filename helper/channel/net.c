/* libcurl options every channel shares (no proxy, limited protocols, TLS checked, timeouts); child side only. */
#include "net.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "helper.h"

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct net_buf *b = ud;
	size_t n;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return 0;
	n = size * nmemb;
	if (n > NET_BODY_MAX - b->data.len) {
		b->over = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return rc_buf_add(&b->data, ptr, n) == 0 ? n : 0;
}

void net_buf_free(struct net_buf *b)
{
	if (b == NULL)
		return;
	rc_buf_free(&b->data);
	b->over = 0;
}

const char *net_web_protocols(const char *url)
{
	return cfg_url_is_loopback(url) ? "http,https" : "https";
}

void net_host(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	if (n == 0)
		return;
	snprintf(out, n, "?");
	if (u == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		char tmp[300];
		if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
			port = NULL;
		if (rc_snprintf(tmp, sizeof(tmp), "%s%s%s", host, port ? ":" : "",
				port ? port : "") > 0)
			rc_log_escape(tmp, out, n);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

CURL *net_easy(const char *url, const char *protocols, char errbuf[CURL_ERROR_SIZE],
	       struct net_buf *body)
{
	CURL *e = curl_easy_init();
	int ok;

	if (e == NULL)
		return NULL;
	errbuf[0] = '\0';
	ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOPROXY, "*") == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, NET_CONNECT_TIMEOUT) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_TIMEOUT, NET_TOTAL_TIMEOUT) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_VERBOSE, 0L) == CURLE_OK;
	if (ok && body != NULL)
		ok = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_WRITEDATA, body) == CURLE_OK;
	if (!ok) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

int net_fail(struct privsep_res *res, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(res->err, sizeof(res->err), fmt, ap) < 0)
		snprintf(res->err, sizeof(res->err), "%s", "failed");
	va_end(ap);
	res->status = status;
	return status;
}

int net_curl_fail(struct privsep_res *res, CURLcode rc, const char *errbuf, const char *what,
		  const char *url, const char *key)
{
	char host[128], detail[CURL_ERROR_SIZE];

	net_host(url, host, sizeof(host));
	rc_log_escape(errbuf != NULL && errbuf[0] ? errbuf : curl_easy_strerror(rc), detail,
		      sizeof(detail));
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return net_fail(res, HX_UNAVAIL, "%s %s: the host name does not resolve (check %s)",
				what, host, key);
	case CURLE_COULDNT_CONNECT:
		return net_fail(res, HX_UNAVAIL,
				"cannot connect to %s %s (is it running and reachable? check %s)",
				what, host, key);
	case CURLE_OPERATION_TIMEDOUT:
		return net_fail(res, HX_UNAVAIL, "%s %s did not answer in time (%ld s); try later",
				what, host, NET_TOTAL_TIMEOUT);
	case CURLE_USE_SSL_FAILED:
		return net_fail(
			res, HX_UNAVAIL,
			"%s %s does not offer STARTTLS, which smtp_tls = starttls requires; "
			"nothing was sent (use smtps:// with smtp_tls = tls, or smtp_tls = "
			"none only for a server on this host)",
			what, host);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return net_fail(
			res, HX_UNAVAIL,
			"the TLS certificate of %s %s was not accepted (%s); nothing was sent "
			"(check that the certificate is signed by a CA in %s and names this "
			"host)",
			what, host, detail,
			strcmp(key, "smtp_url") == 0 ? "smtp_ca_file or the system store"
						     : "the system store");
	case CURLE_SSL_CACERT_BADFILE:
		return net_fail(res, HX_CONFIG, "the CA certificates for %s cannot be used (%s)",
				what, detail);
	case CURLE_SSL_CONNECT_ERROR:
		return net_fail(res, HX_UNAVAIL,
				"the TLS handshake with %s %s failed (%s); nothing was sent", what,
				host, detail);
	case CURLE_LOGIN_DENIED:
	case CURLE_AUTH_ERROR:
		return net_fail(res, HX_UNAVAIL,
				"%s %s refused the login (%s); check smtp_user and "
				"smtp_password_file",
				what, host, detail);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return net_fail(res, HX_CONFIG,
				"%s: this URL scheme is not allowed here (check %s)", what, key);
	default:
		return net_fail(res, HX_UNAVAIL, "%s %s failed: %s (check %s)", what, host, detail,
				key);
	}
}
