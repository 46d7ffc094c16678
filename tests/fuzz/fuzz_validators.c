/*
 * libFuzzer harness: the recovery-contact validators, the phone normaliser, the local-domain
 * check and the masking of helper/channel/channel_check.c on arbitrary strings.
 *
 * FUZZ_SOURCES: helper/channel/channel_check.c lib/method.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium
 *
 * Properties: an accepted e-mail address has no control byte, space or second '@' and fits
 * 254 bytes; an accepted phone number is "+" and 6..15 digits; an accepted chat id is an
 * int64; the normaliser only ever gives accepted numbers; a masked value always fits its
 * buffer, is NUL-terminated, and never shows a whole address or number.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/channel/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_email(const char *s)
{
	size_t n = strlen(s);

	if (!channel_email_ok(s))
		return;
	if (n < 3 || n > 254 || strchr(s, '@') == NULL || strchr(s, '@') != strrchr(s, '@'))
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == '%')
			abort();
}

static void check_phone(const char *s)
{
	size_t n = strlen(s);

	if (!channel_phone_ok(s))
		return;
	if (s[0] != '+' || n < 7 || n > 16 || strspn(s + 1, "0123456789") != n - 1)
		abort();
}

static void check_chat(const char *s)
{
	char *end = NULL;

	if (!channel_chat_ok(s))
		return;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0)
		abort();
}

static void check_mask(int kind, const char *s)
{
	static const size_t sizes[] = {1, 2, 5, 9, 64, 300};
	char out[300];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 'X', sizeof(out));
		channel_mask(kind, s, out, sizes[i]);
		if (memchr(out, '\0', sizes[i]) == NULL)
			abort();
	}
	channel_mask(kind, s, out, sizeof(out));
	/* a whole value never shows through (values of 5+ bytes have a hidden part) */
	if (strlen(s) >= 5 && strstr(out, s) != NULL)
		abort();
	if (kind == METHOD_SMS && channel_phone_ok(s) && strlen(out) != strlen(s))
		abort(); /* the length of a number stays visible, its middle does not */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	char norm[32];
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	check_email(s);
	check_phone(s);
	check_chat(s);
	if (channel_phone_normalise(s, norm, sizeof(norm)) == 0 && !channel_phone_ok(norm))
		abort();
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++)
		check_mask(kind, s);

	memset(&c, 0, sizeof(c));
	c.local_domains = (char *)"example.org, Mail.Test.,intra";
	int local = channel_email_is_local(&c, s);
	const char *at = strrchr(s, '@');
	if (local && at == NULL)
		abort();
	c.local_domains = s; /* the input as the list itself */
	(void)channel_email_is_local(&c, "someone@example.org");
	c.local_domains = NULL;
	if (channel_email_is_local(&c, s))
		abort();
	free(s);
	return 0;
}
