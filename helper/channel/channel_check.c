/*
 * What may be sent to: the validators of recovery addresses, phone numbers and Telegram chat
 * ids, the local-domain check, the masked forms shown to people, and the channel names.
 * No I/O here: the fuzzer (tests/fuzz/fuzz_validators.c) calls all of it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "channel.h"
#include "chars.h"

const char *channel_name(int kind)
{
	return method_is_channel(kind) ? method_id(kind) : NULL;
}

int channel_from_name(const char *name)
{
	int m = method_parse(name);

	return method_is_channel(m) ? m : -1;
}

int channel_email_ok(const char *addr)
{
	return addr_email_ok(addr);
}
int channel_phone_ok(const char *num)
{
	size_t n;

	if (num == NULL || num[0] != '+')
		return 0;
	for (n = 0; rc_is_digit((unsigned char)num[1 + n]); n++)
		if (n > 15)
			return 0;
	return num[1 + n] == '\0' && n >= 6 && n <= 15;
}

int channel_chat_ok(const char *id)
{
	const char *p = id;
	size_t n;

	if (id == NULL)
		return 0;
	if (*p == '-')
		p++;
	if (*p < '1' || *p > '9')
		return 0;
	for (n = 0; rc_is_digit((unsigned char)p[n]); n++)
		if (n >= 19)
			return 0;
	if (p[n] != '\0')
		return 0;
	if (n == 19) {
		/* 19 digits: compare with INT64_MAX's digits (and one more for the minimum) */
		const char *max = *id == '-' ? "9223372036854775808" : "9223372036854775807";
		if (strcmp(p, max) > 0)
			return 0;
	}
	return 1;
}

int channel_phone_normalise(const char *in, char *out, size_t n)
{
	size_t o = 0;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (in == NULL)
		return -1;
	for (const char *p = in; *p != '\0'; p++) {
		if (strchr(" \t-.()", *p) != NULL)
			continue;
		if (o + 1 >= n || o > 16) {
			out[0] = '\0';
			return -1;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	if (!channel_phone_ok(out)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* Compare a domain with one list item, ignoring case and one trailing dot on either. */
static int same_domain(const char *d, size_t dl, const char *item, size_t il)
{
	if (dl > 0 && d[dl - 1] == '.')
		dl--;
	if (il > 0 && item[il - 1] == '.')
		il--;
	return dl == il && dl > 0 && strncasecmp(d, item, dl) == 0;
}

int channel_email_is_local(const struct cfg *c, const char *addr)
{
	const char *at, *p;

	if (c == NULL || c->local_domains == NULL || addr == NULL)
		return 0;
	at = strrchr(addr, '@');
	if (at == NULL)
		return 0;
	at++;
	p = c->local_domains;
	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return 0;
		size_t l = strcspn(p, ", \t");
		if (same_domain(at, strlen(at), p, l))
			return 1;
		p += l;
	}
}

/* Append s (len bytes) to out at *o, keeping room for the NUL; silently stops when full. */
static void put(char *out, size_t n, size_t *o, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *o + 1 < n; i++)
		out[(*o)++] = s[i];
	out[*o] = '\0';
}

static void put_stars(char *out, size_t n, size_t *o, size_t count)
{
	for (size_t i = 0; i < count; i++)
		put(out, n, o, "*", 1);
}

void channel_mask(int kind, const char *value, char *out, size_t n)
{
	size_t o = 0;

	if (out == NULL || n == 0)
		return;
	out[0] = '\0';
	if (kind == METHOD_EMAIL && channel_email_ok(value)) {
		const char *at = strchr(value, '@');
		size_t ll = (size_t)(at - value);
		/* "alice@example.org" -> "a***e@example.org"; short local parts keep one letter */
		put(out, n, &o, value, 1);
		put(out, n, &o, "***", 3);
		if (ll >= 3)
			put(out, n, &o, at - 1, 1);
		put(out, n, &o, at, strlen(at));
	} else if (kind == METHOD_SMS && channel_phone_ok(value)) {
		/* "+37126123412" -> "+37*******12": country code hint and the last two digits */
		size_t len = strlen(value);
		put(out, n, &o, value, 3);
		put_stars(out, n, &o, len - 5);
		put(out, n, &o, value + len - 2, 2);
	} else if (kind == METHOD_TELEGRAM && channel_chat_ok(value)) {
		size_t len = strlen(value);
		put(out, n, &o, "chat \xe2\x80\xa6", 8); /* "chat …" */
		put(out, n, &o, value + (len > 2 ? len - 2 : len - 1), len > 2 ? 2 : 1);
	} else {
		put(out, n, &o, "***", 3);
	}
}
