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

#include "channel.h"

#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define LABEL_MAX 63

static const char *const names[] = {"email", "sms", "telegram"};

const char *channel_name(int kind)
{
	if (kind < CHANNEL_EMAIL || kind > CHANNEL_TELEGRAM)
		return NULL;
	return names[kind];
}

int channel_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = CHANNEL_EMAIL; i <= CHANNEL_TELEGRAM; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static int is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alnum(unsigned char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Local part: a dot-atom of a conservative set. No quoted strings, no '%' or '!' (old
 * routing tricks), no leading '-' (option injection should the address ever reach a
 * command), no leading, trailing or doubled dots. */
static int local_ok(const char *p, size_t len)
{
	if (len == 0 || len > EMAIL_LOCAL_MAX || p[0] == '.' || p[0] == '-' || p[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '.' && p[i + 1] == '.')
			return 0;
		if (!is_alnum(ch) && strchr("._+-='", ch) == NULL)
			return 0;
	}
	return 1;
}

/* Domain: ASCII labels (IDNs in their xn-- form) of letters, digits and inner dashes, at
 * least two of them, the last not all digits. */
static int domain_ok(const char *p, size_t len)
{
	size_t labels = 0, start = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.') {
			if (!is_alnum((unsigned char)p[i]) && p[i] != '-')
				return 0;
			continue;
		}
		size_t l = i - start;
		if (l == 0 || l > LABEL_MAX || p[start] == '-' || p[i - 1] == '-')
			return 0;
		labels++;
		if (i == len) {
			int digits = 1;
			for (size_t j = start; j < i; j++)
				digits = digits && is_digit((unsigned char)p[j]);
			if (digits)
				return 0;
		}
		start = i + 1;
	}
	return labels >= 2;
}

int channel_email_ok(const char *addr)
{
	const char *at;
	size_t len;

	if (addr == NULL)
		return 0;
	len = strnlen(addr, EMAIL_MAX + 1);
	if (len < 3 || len > EMAIL_MAX)
		return 0;
	at = strchr(addr, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	/* every byte is checked by the two parts: CR, LF, controls and spaces never pass */
	return local_ok(addr, (size_t)(at - addr)) && domain_ok(at + 1, strlen(at + 1));
}

int channel_phone_ok(const char *num)
{
	size_t n;

	if (num == NULL || num[0] != '+')
		return 0;
	for (n = 0; is_digit((unsigned char)num[1 + n]); n++)
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
	for (n = 0; is_digit((unsigned char)p[n]); n++)
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
	if (kind == CHANNEL_EMAIL && channel_email_ok(value)) {
		const char *at = strchr(value, '@');
		size_t ll = (size_t)(at - value);
		/* "alice@example.org" -> "a***e@example.org"; short local parts keep one letter */
		put(out, n, &o, value, 1);
		put(out, n, &o, "***", 3);
		if (ll >= 3)
			put(out, n, &o, at - 1, 1);
		put(out, n, &o, at, strlen(at));
	} else if (kind == CHANNEL_SMS && channel_phone_ok(value)) {
		/* "+37126123412" -> "+37*******12": country code hint and the last two digits */
		size_t len = strlen(value);
		put(out, n, &o, value, 3);
		put_stars(out, n, &o, len - 5);
		put(out, n, &o, value + len - 2, 2);
	} else if (kind == CHANNEL_TELEGRAM && channel_chat_ok(value)) {
		size_t len = strlen(value);
		put(out, n, &o, "chat \xe2\x80\xa6", 8); /* "chat …" */
		put(out, n, &o, value + (len > 2 ? len - 2 : len - 1), len > 2 ? 2 : 1);
	} else {
		put(out, n, &o, "***", 3);
	}
}
