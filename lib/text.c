/* Normalising typed answers and addresses, URL escaping, UTF-8 checks. */
#include "text.h"

#include <string.h>

#include "chars.h"

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not a valid one; *cp_out gets
 * the code point. */
static size_t utf8_seq(const unsigned char *p, unsigned long *cp_out)
{
	unsigned char c = p[0];
	size_t len, i;
	unsigned long cp;

	*cp_out = c;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_out = cp;
	return len;
}

/* C1 controls (a terminal may act on them), line/paragraph separators, and the bidi
 * embedding, override and isolate marks that make text show as something else. */
static int is_format_control(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int text_utf8_ok(const char *s, int allow_tab)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			if (!(allow_tab && *p == '\t'))
				return 0;
		}
		unsigned long cp = 0;
		size_t len = utf8_seq(p, &cp);
		if (len == 0 || is_format_control(cp))
			return 0;
		p += len;
	}
	return 1;
}

size_t text_utf8_len(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

int text_normalise_answer(const char *in, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	int pending_space = 0;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (in == NULL || !text_utf8_ok(in, 1))
		return -1;
	while (rc_is_blank(*p))
		p++;
	for (; *p != '\0'; p++) {
		if (rc_is_blank(*p)) {
			pending_space = 1;
			continue;
		}
		if (pending_space) {
			if (o + 1 >= n || o >= TEXT_ANSWER_MAX)
				goto fail;
			out[o++] = ' ';
			pending_space = 0;
		}
		if (o + 1 >= n || o >= TEXT_ANSWER_MAX)
			goto fail;
		out[o++] = (char)lower(*p);
	}
	out[o] = '\0';
	if (o == 0)
		goto fail;
	return 0;
fail:
	rc_wipe(out, n);
	return -1;
}

int text_normalise_email(const char *in, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t len, o = 0;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (in == NULL || !text_utf8_ok(in, 1))
		return -1;
	while (rc_is_blank(*p))
		p++;
	len = strlen((const char *)p);
	while (len > 0 && rc_is_blank(p[len - 1]))
		len--;
	if (len == 0 || len >= n)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (rc_is_blank(p[i])) {
			out[0] = '\0';
			return -1;
		}
		out[o++] = (char)lower(p[i]);
	}
	out[o] = '\0';
	return 0;
}

int text_url_escape(const char *in, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (out == NULL || n == 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		unsigned char c = *p;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (o + (plain ? 1 : 3) >= n) {
			out[0] = '\0';
			return -1;
		}
		if (plain)
			out[o++] = (char)c;
		else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
