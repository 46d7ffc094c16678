/* Send quotas and per-caller limits, reserved atomically before a send (see quota.h). */
#include "quota.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "secret.h"

#define HOUR 3600
#define DAY 86400
#define KEY_MAX 300

int quota_caller(long ruid, const char *client, char *out, size_t n)
{
	unsigned char a6[16];
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];

	if (n == 0)
		return -1;
	out[0] = '\0';
	if (client == NULL) {
		if (ruid == 0)
			return 0;
		return rc_snprintf(out, n, "uid:%ld", ruid) < 0 ? -1 : 0;
	}
	if (inet_pton(AF_INET, client, &a4) == 1) {
		if (inet_ntop(AF_INET, &a4, text, sizeof(text)) == NULL)
			return -1;
		return rc_snprintf(out, n, "ip:%s", text) < 0 ? -1 : 0;
	}
	if (inet_pton(AF_INET6, client, a6) == 1) {
		/* One client holds a whole /64: limit the prefix, not each address in it. */
		memset(a6 + 8, 0, 8);
		if (inet_ntop(AF_INET6, a6, text, sizeof(text)) == NULL)
			return -1;
		return rc_snprintf(out, n, "ip6:%s/64", text) < 0 ? -1 : 0;
	}
	return -1;
}

/* Read the count of `key`; *over = 1 when it has reached `limit` (limit <= 0: no limit). */
static int over(struct store *s, const char *key, int64_t now, int window, int limit, int *res)
{
	int count = 0;

	*res = 0;
	if (limit <= 0)
		return 0;
	if (store_counter_get(s, key, now, window, &count) != STORE_OK)
		return -1;
	*res = count >= limit;
	return 0;
}

static int hit(struct store *s, const char *key, int64_t now, int window)
{
	int count = 0;

	return store_counter_hit(s, key, now, window, &count) == STORE_OK ? 0 : -1;
}

/* "send-dest:CHANNEL:HEX" with HEX a keyed hash of the destination. */
static int dest_key(const struct seal_key *k, const char *channel, const char *dest, char *out,
		    size_t n)
{
	unsigned char h[STORE_HASH_LEN];
	char hex[2 * 16 + 1], purpose[80];
	int r = -1;

	if (rc_snprintf(purpose, sizeof(purpose), "dest:%s", channel) < 0 ||
	    secret_hash(k, "*", purpose, dest, h) != 0)
		goto out;
	sodium_bin2hex(hex, sizeof(hex), h, 16);
	r = rc_snprintf(out, n, "send-dest:%s:%s", channel, hex) < 0 ? -1 : 0;
out:
	RC_WIPE_ARRAY(h);
	return r;
}

int quota_reserve(struct store *s, const struct cfg *c, const struct seal_key *k,
		  const struct quota_req *q, int64_t now)
{
	char ckey[KEY_MAX], akey[KEY_MAX], dkey[KEY_MAX];
	int caller = q->caller != NULL && q->caller[0] != '\0';
	int send = q->user != NULL && q->channel != NULL;
	int dest = send && q->dest != NULL;
	int sms = send && strcmp(q->channel, "sms") == 0;
	int res = 0;

	ckey[0] = akey[0] = dkey[0] = '\0';
	if (caller && rc_snprintf(ckey, sizeof(ckey), "send-caller:%s", q->caller) < 0)
		return QUOTA_ERROR;
	/* The account key is the one the quota always had: "send:CHANNEL:USER". */
	if (send && rc_snprintf(akey, sizeof(akey), "send:%s:%s", q->channel, q->user) < 0)
		return QUOTA_ERROR;
	if (dest && dest_key(k, q->channel, q->dest, dkey, sizeof(dkey)) != 0)
		return QUOTA_ERROR;

	/* Look first: a request over any limit writes nothing. */
	if (caller) {
		if (over(s, ckey, now, HOUR, c->caller_requests_per_hour, &res) != 0)
			return QUOTA_ERROR;
		if (res)
			return QUOTA_CALLER;
	}
	if (send) {
		if (over(s, akey, now, HOUR, c->sends_per_hour, &res) != 0)
			return QUOTA_ERROR;
		if (res)
			return QUOTA_ACCOUNT;
	}
	if (dest) {
		if (over(s, dkey, now, DAY, c->destination_sends_per_day, &res) != 0)
			return QUOTA_ERROR;
		if (res)
			return QUOTA_DESTINATION;
	}
	if (sms) {
		/* Checked for every SMS request, real or not, so that an exhausted budget looks
		 * the same for every name. */
		if (over(s, "sms:budget", now, DAY, c->sms_daily_budget, &res) != 0)
			return QUOTA_ERROR;
		if (res)
			return QUOTA_BUDGET;
	}

	/* Then count under every limit, in the same transaction. */
	if ((caller && hit(s, ckey, now, HOUR) != 0) || (send && hit(s, akey, now, HOUR) != 0) ||
	    (dest && hit(s, dkey, now, DAY) != 0) ||
	    (sms && dest && c->sms_daily_budget > 0 && hit(s, "sms:budget", now, DAY) != 0))
		return QUOTA_ERROR;
	return QUOTA_OK;
}

static int unhit(struct store *s, const char *key, int64_t when)
{
	int r = store_counter_release(s, key, when);

	return r == STORE_OK || r == STORE_NOTFOUND ? 0 : -1;
}

int quota_release(struct store *s, const struct cfg *c, const struct seal_key *k,
		  const struct quota_req *q, int64_t now)
{
	char ckey[KEY_MAX], akey[KEY_MAX], dkey[KEY_MAX];
	int caller = q->caller != NULL && q->caller[0] != '\0';
	int send = q->user != NULL && q->channel != NULL;
	int dest = send && q->dest != NULL;
	int sms = send && strcmp(q->channel, "sms") == 0;

	if ((caller && rc_snprintf(ckey, sizeof(ckey), "send-caller:%s", q->caller) < 0) ||
	    (send && rc_snprintf(akey, sizeof(akey), "send:%s:%s", q->channel, q->user) < 0) ||
	    (dest && dest_key(k, q->channel, q->dest, dkey, sizeof(dkey)) != 0))
		return QUOTA_ERROR;
	if ((caller && unhit(s, ckey, now) != 0) || (send && unhit(s, akey, now) != 0) ||
	    (dest && unhit(s, dkey, now) != 0) ||
	    (sms && dest && c->sms_daily_budget > 0 && unhit(s, "sms:budget", now) != 0))
		return QUOTA_ERROR;
	return QUOTA_OK;
}

const char *quota_message(int result)
{
	switch (result) {
	case QUOTA_CALLER:
		return "too many codes or answers were asked for from here in the last hour; "
		       "try again later";
	case QUOTA_ACCOUNT:
		return "as many codes were sent this way for this account in the last hour as "
		       "this host allows; try again in an hour";
	case QUOTA_DESTINATION:
		return "as many codes were sent to this address or number today as this host "
		       "allows; try again tomorrow";
	case QUOTA_BUDGET:
		return "this host has sent as many SMS today as it may (sms_daily_budget); try "
		       "again tomorrow or use another method";
	default:
		return "the send quota cannot be read (store error)";
	}
}
