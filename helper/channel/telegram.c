/*
 * The Telegram channel, child side: sendMessage, getUpdates (for linking) and getMe (for the
 * deep link), POSTed as JSON to {telegram_api}/bot{token}/{method}. The URL carries the
 * token: it is never logged, shown, or put into an error message.
 */
#include "telegram.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "channel.h"
#include "helper.h"
#include "net.h"

/* POST body (JSON) to method; the answer's body in *out. Sets res on failure. */
static int call(const struct privsep_req *r, const char *method, const char *body,
		struct net_buf *out, struct privsep_res *res)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdr = NULL;
	char *url = NULL;
	size_t need;
	CURL *e = NULL;
	CURLcode rc;
	long code = 0;
	int ok;

	res->status = HX_SOFTWARE;
	if (r->url == NULL || !tg_token_ok(r->secret))
		return net_fail(res, HX_CONFIG,
				"the Telegram bot token (telegram_token_file) is "
				"missing or malformed");
	need = strlen(r->url) + strlen(r->secret) + strlen(method) + 8;
	url = calloc(1, need);
	if (url == NULL || rc_snprintf(url, need, "%s/bot%s/%s", r->url, r->secret, method) < 0) {
		net_fail(res, HX_SOFTWARE, "out of memory");
		goto out;
	}
	e = net_easy(url, net_web_protocols(r->url), errbuf, out);
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (e == NULL || hdr == NULL) {
		net_fail(res, HX_SOFTWARE, "cannot set up the HTTP client (libcurl)");
		goto out;
	}
	ok = curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) == CURLE_OK;
	if (!ok) {
		net_fail(res, HX_SOFTWARE, "cannot set up the HTTP client (libcurl options)");
		goto out;
	}
	rc = curl_easy_perform(e);
	if (rc != CURLE_OK) {
		/* r->url, not url: the message names the host only, never the token */
		net_curl_fail(res, rc, errbuf, "the Telegram Bot API", r->url, "telegram_api");
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	res->status = HX_OK;
	res->err[0] = '\0';
	if (code >= 500 || code == 0) {
		char host[128];
		net_host(r->url, host, sizeof(host));
		net_fail(res, HX_UNAVAIL, "the Telegram Bot API %s answered HTTP %ld; try later",
			 host, code);
	}
out:
	if (e != NULL)
		curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	if (url != NULL) {
		rc_wipe(url, strlen(url));
		free(url);
	}
	return res->status;
}

/* What the API said when "ok" was false, as a sentence with advice. */
static int refused(struct privsep_res *res, const char *what, const char *desc)
{
	const char *hint = "";

	if (strstr(desc, "Unauthorized") != NULL || strstr(desc, "error 401") != NULL)
		hint = " (the bot token in telegram_token_file is not valid)";
	else if (strstr(desc, "blocked") != NULL || strstr(desc, "chat not found") != NULL)
		hint = " (the user must open the bot in Telegram and press Start again)";
	else if (strstr(desc, "webhook") != NULL || strstr(desc, "error 409") != NULL)
		hint = " (the bot has a webhook or another program reads its updates; pam_recover "
		       "needs a bot of its own)";
	return net_fail(res, HX_UNAVAIL, "Telegram refused %s: %s%s", what, desc, hint);
}

static int tg_send(const struct privsep_req *r, struct privsep_res *res)
{
	struct json_object *o = NULL;
	struct net_buf body;
	char desc[200];
	long chat;

	memset(&body, 0, sizeof(body));
	if (r->to == NULL || !channel_chat_ok(r->to) ||
	    rc_parse_long(r->to, LONG_MIN, LONG_MAX, &chat) != 0)
		return net_fail(res, HX_DATAERR, "not a Telegram chat id");
	if (r->text == NULL || strlen(r->text) > TG_TEXT_MAX)
		return net_fail(res, HX_DATAERR, "the message is empty or longer than %d bytes",
				TG_TEXT_MAX);
	o = json_object_new_object();
	if (o == NULL || json_object_object_add(o, "chat_id", json_object_new_int64(chat)) != 0 ||
	    json_object_object_add(o, "text", json_object_new_string(r->text)) != 0) {
		net_fail(res, HX_SOFTWARE, "out of memory");
		goto out;
	}
	if (call(r, "sendMessage", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), &body,
		 res) != HX_OK)
		goto out;
	switch (tg_parse_ok(body.data.d, body.data.len, desc, sizeof(desc))) {
	case 1:
		res->status = HX_OK;
		break;
	case 0:
		refused(res, "the message", desc);
		break;
	default:
		net_fail(res, HX_UNAVAIL,
			 "the Telegram Bot API gave an answer that is not JSON "
			 "(check telegram_api)");
	}
out:
	if (o != NULL)
		json_object_put(o);
	net_buf_free(&body);
	return res->status;
}

static int tg_updates(const struct privsep_req *r, struct privsep_res *res)
{
	struct tg_candidate cand[TG_CANDIDATES_MAX];
	struct net_buf body;
	char desc[200];
	size_t count = 0, o = 0;

	memset(&body, 0, sizeof(body));
	/* The newest 100 updates, never confirmed: other link requests stay for their owners. */
	if (call(r, "getUpdates", "{\"offset\":-100,\"limit\":100,\"timeout\":0}", &body, res) !=
	    HX_OK)
		goto out;
	if (tg_parse_updates(body.data.d, body.data.len, cand, TG_CANDIDATES_MAX, &count, desc,
			     sizeof(desc)) != 0) {
		if (tg_parse_ok(body.data.d, body.data.len, desc, sizeof(desc)) == 0)
			refused(res, "to list the bot's messages", desc);
		else
			net_fail(res, HX_UNAVAIL,
				 "the Telegram Bot API gave an unexpected answer to "
				 "getUpdates (check telegram_api)");
		goto out;
	}
	res->result[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		int w = snprintf(res->result + o, sizeof(res->result) - o, "%s %s\n", cand[i].chat,
				 cand[i].code);
		if (w < 0 || (size_t)w >= sizeof(res->result) - o)
			break;
		o += (size_t)w;
	}
	res->status = HX_OK;
out:
	rc_wipe(cand, sizeof(cand));
	net_buf_free(&body);
	return res->status;
}

static int tg_me(const struct privsep_req *r, struct privsep_res *res)
{
	struct net_buf body;
	char desc[200];

	memset(&body, 0, sizeof(body));
	if (call(r, "getMe", "{}", &body, res) != HX_OK)
		goto out;
	if (tg_parse_me(body.data.d, body.data.len, res->result, sizeof(res->result)) != 0) {
		if (tg_parse_ok(body.data.d, body.data.len, desc, sizeof(desc)) == 0)
			refused(res, "to describe the bot", desc);
		else
			net_fail(res, HX_UNAVAIL,
				 "the Telegram Bot API gave an unexpected answer to "
				 "getMe (check telegram_api)");
		goto out;
	}
	res->status = HX_OK;
out:
	net_buf_free(&body);
	return res->status;
}

int tg_run(const struct privsep_req *r, struct privsep_res *res)
{
	switch (r->op) {
	case PRIVSEP_TG_SEND:
		return tg_send(r, res);
	case PRIVSEP_TG_UPDATES:
		return tg_updates(r, res);
	case PRIVSEP_TG_ME:
		return tg_me(r, res);
	default:
		return net_fail(res, HX_SOFTWARE, "unknown Telegram request");
	}
}
