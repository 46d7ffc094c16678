/*
 * The SMS gateway's request body and credentials, as pure functions (no I/O): rendering
 * sms_body with escaping for form or JSON bodies, and parsing the sms_auth_file line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "sms.h"

/*
 * Decode one UTF-8 sequence at s (at most left bytes): its length, or 0 when it is not
 * well-formed (overlong, surrogate, beyond U+10FFFF, truncated, stray continuation byte).
 */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned c = s[0], cp;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void add_form(struct rc_buf *b, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)v;
	size_t left = strlen(v);

	while (left > 0) {
		size_t l = utf8_seq(p, left);
		if (l == 0) {
			rc_buf_add(b, "%EF%BF%BD", 9); /* U+FFFD */
			p++;
			left--;
			continue;
		}
		for (size_t i = 0; i < l; i++) {
			unsigned char c = p[i];
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
			    c == '~') {
				rc_buf_add(b, (const char *)&p[i], 1);
			} else if (c == ' ') {
				rc_buf_add(b, "+", 1);
			} else {
				char e[3] = {'%', hex[c >> 4], hex[c & 15]};
				rc_buf_add(b, e, 3);
			}
		}
		p += l;
		left -= l;
	}
}

static void add_json(struct rc_buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t left = strlen(v);

	while (left > 0) {
		size_t l = utf8_seq(p, left);
		if (l == 0) {
			rc_buf_add(b, "\\ufffd", 6);
			p++;
			left--;
			continue;
		}
		unsigned char c = p[0];
		if (c == '"')
			rc_buf_add(b, "\\\"", 2);
		else if (c == '\\')
			rc_buf_add(b, "\\\\", 2);
		else if (c == '\n')
			rc_buf_add(b, "\\n", 2);
		else if (c == '\t')
			rc_buf_add(b, "\\t", 2);
		else if (c == '\r')
			rc_buf_add(b, "\\r", 2);
		else if (c < 0x20 || c == 0x7f) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", c);
			rc_buf_add(b, e, 6);
		} else
			rc_buf_add(b, (const char *)p, l);
		p += l;
		left -= l;
	}
}

int sms_render(const char *tmpl, int type, const char *to, const char *text, const char *code,
	       char **out, size_t *len)
{
	struct rc_buf b = RC_BUF_INIT(SMS_BODY_MAX);
	static const char *const names[] = {"{to}", "{text}", "{code}"};
	const char *vals[3];
	const char *p;

	*out = NULL;
	*len = 0;
	if (tmpl == NULL)
		tmpl = type == CFG_SMS_JSON ? SMS_JSON_DEFAULT : SMS_FORM_DEFAULT;
	vals[0] = to != NULL ? to : "";
	vals[1] = text != NULL ? text : "";
	vals[2] = code != NULL ? code : "";
	rc_buf_add(&b, "", 0);
	for (p = tmpl; *p != '\0';) {
		int hit = -1;
		if (*p == '{')
			for (int i = 0; i < 3 && hit < 0; i++)
				if (strncmp(p, names[i], strlen(names[i])) == 0)
					hit = i;
		if (hit < 0) {
			size_t l = strcspn(p + 1, "{") + 1;
			rc_buf_add(&b, p, l);
			p += l;
			continue;
		}
		if (type == CFG_SMS_JSON)
			add_json(&b, vals[hit]);
		else
			add_form(&b, vals[hit]);
		p += strlen(names[hit]);
	}
	if (b.bad) {
		rc_buf_free(&b);
		return -1;
	}
	*out = b.d;
	*len = b.len;
	return 0;
}

static int visible(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return *s != '\0';
}

int sms_auth_parse(const char *line, struct sms_auth *a, char *why, size_t n)
{
	const char *p;
	size_t kl;
	int r = -1;

	memset(a, 0, sizeof(*a));
	if (line == NULL) {
		snprintf(why, n, "is empty");
		goto out;
	}
	kl = strcspn(line, " \t");
	p = line + kl;
	p += strspn(p, " \t");
	if (strlen(p) >= SMS_AUTH_MAX) {
		snprintf(why, n, "has a credential longer than %d bytes", SMS_AUTH_MAX - 1);
		goto out;
	}
	if (kl == 6 && strncasecmp(line, "bearer", 6) == 0) {
		if (!visible(p)) {
			snprintf(why, n,
				 "must be \"bearer TOKEN\" (one word, no control "
				 "characters)");
			goto out;
		}
		a->kind = SMS_AUTH_BEARER;
		memcpy(a->user, p, strlen(p) + 1);
	} else if (kl == 5 && strncasecmp(line, "basic", 5) == 0) {
		const char *colon = strchr(p, ':');
		if (colon == NULL || colon == p || !visible(p)) {
			snprintf(why, n, "must be \"basic USER:PASSWORD\" (no spaces)");
			goto out;
		}
		a->kind = SMS_AUTH_BASIC;
		memcpy(a->user, p, (size_t)(colon - p));
		a->user[colon - p] = '\0';
		memcpy(a->pass, colon + 1, strlen(colon + 1) + 1);
	} else {
		snprintf(why, n, "must start with \"bearer\" or \"basic\"");
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		rc_wipe(a, sizeof(*a));
	return r;
}
