/*
 * libcurl plumbing shared by the channels (runs only in the unprivileged child, see
 * privsep.h): one place that sets the options every transfer needs.
 */
#ifndef RC_NET_H
#define RC_NET_H

#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "privsep.h"
#include "util.h"

#define NET_CONNECT_TIMEOUT 10L    /* seconds to connect (and TLS handshake) */
#define NET_TOTAL_TIMEOUT 30L      /* seconds for the whole exchange */
#define NET_BODY_MAX (1024 * 1024) /* largest response body kept */

/* A response body (data.d, data.len; d is NULL until something came), capped at NET_BODY_MAX. */
struct net_buf {
	struct rc_buf data;
	int over; /* more than NET_BODY_MAX arrived (the transfer was cut) */
};

/*
 * A curl handle for url with: no proxy (CURLOPT_PROXY ""), CURLOPT_NOSIGNAL, connect and
 * total timeouts, no redirects, certificate and host checks on, TLS 1.2 or later, the
 * given protocols only (`protocols`, e.g. "smtp,smtps" or "https"; "http" is added by the
 * caller only for loopback targets), the error buffer, and (when body != NULL) the body
 * collected into body. NULL when curl cannot make a handle.
 */
CURL *net_easy(const char *url, const char *protocols, char errbuf[CURL_ERROR_SIZE],
	       struct net_buf *body);

/* "https" or "http,https" when url's host is loopback (cfg_url_is_loopback). */
const char *net_web_protocols(const char *url);

/* Host (and port) of url for messages, escaped; "?" when it does not parse. */
void net_host(const char *url, char *out, size_t n);

void net_buf_free(struct net_buf *b);

/* Set res->status and res->err (printf style); returns status. */
int net_fail(struct privsep_res *res, int status, const char *fmt, ...) RC_PRINTF(3, 4);

/*
 * The common transport failures as a sentence for people: `what` names the peer ("the
 * mail server", "the SMS gateway", "the Telegram Bot API") and `key` the setting to check.
 * Returns HX_UNAVAIL (or HX_CONFIG for a certificate file problem).
 */
int net_curl_fail(struct privsep_res *res, CURLcode rc, const char *errbuf, const char *what,
		  const char *url, const char *key);

#endif
