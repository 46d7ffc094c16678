/*
 * libFuzzer harness: what comes back from (or goes to) the gateways, without the network:
 * Bot API answers (tg_parse_ok, tg_parse_updates, tg_parse_me), the SMS body rendering for
 * form and JSON bodies (sms_render) and the sms_auth_file line (sms_auth_parse).
 *
 * FUZZ_SOURCES: helper/channel/telegram_parse.c helper/channel/sms_body.c helper/channel/channel_check.c lib/method.c lib/addr.c lib/buf.c lib/util.c
 * FUZZ_PKGS: libsodium json-c
 *
 * Properties: candidates are private-chat ids that pass channel_chat_ok with 6..12 digit
 * codes; a bot name is [A-Za-z0-9_]{5,32}; a rendered JSON body always parses and gives back
 * the text (valid UTF-8 in, the same out); a form body holds only form-safe bytes and
 * decodes back to the text.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../helper/channel/channel.h"
#include "../../helper/channel/sms.h"
#include "../../helper/channel/telegram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 without NUL (sms_render keeps such text as it is). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp;
		size_t l;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			l = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			l = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			l = 4, cp = c & 0x07;
		else
			return 0;
		if (n - i < l)
			return 0;
		for (size_t j = 1; j < l; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += l;
	}
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_render(const char *text, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	int valid = utf8_ok((const unsigned char *)text, len);

	/* JSON: parses, and "text" is the input when the input was valid UTF-8 */
	if (sms_render(NULL, CFG_SMS_JSON, "+37126123456", text, "12345678", &out, &olen) == 0) {
		struct json_object *o = json_tokener_parse(out), *t = NULL;
		if (o == NULL || !json_object_object_get_ex(o, "text", &t))
			abort();
		if (valid && strcmp(json_object_get_string(t), text) != 0)
			abort();
		json_object_put(o);
		free(out);
	}
	/* form: only unreserved, '+', '%XX', '&', '='; decodes back to the input */
	if (sms_render("text={text}", CFG_SMS_FORM, NULL, text, NULL, &out, &olen) == 0) {
		char *dec = malloc(olen + 1);
		size_t d = 0;
		if (dec == NULL || strncmp(out, "text=", 5) != 0)
			abort();
		for (size_t i = 5; i < olen; i++) {
			char c = out[i];
			if (c == '+')
				dec[d++] = ' ';
			else if (c == '%') {
				if (i + 2 >= olen || hexval(out[i + 1]) < 0 ||
				    hexval(out[i + 2]) < 0)
					abort();
				dec[d++] = (char)(hexval(out[i + 1]) * 16 + hexval(out[i + 2]));
				i += 2;
			} else if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789-._~",
					  c) == NULL ||
				   c == '\0')
				abort();
			else
				dec[d++] = c;
		}
		dec[d] = '\0';
		if (valid && strcmp(dec, text) != 0)
			abort();
		free(dec);
		free(out);
	}
	/* the input as a template: whatever it holds, rendering ends cleanly */
	if (sms_render(text, CFG_SMS_JSON, "+1555123456", "x\"y\\z\n", NULL, &out, &olen) == 0) {
		if (strlen(out) != olen)
			abort();
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_candidate cand[TG_CANDIDATES_MAX];
	struct sms_auth auth;
	char desc[200], name[TG_NAME_MAX], why[160];
	size_t count = 0;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	(void)tg_parse_ok(s, size, desc, sizeof(desc));
	if (strlen(desc) >= sizeof(desc))
		abort();
	if (tg_parse_updates(s, size, cand, TG_CANDIDATES_MAX, &count, desc, sizeof(desc)) == 0) {
		if (count > TG_CANDIDATES_MAX)
			abort();
		for (size_t i = 0; i < count; i++) {
			size_t l = strlen(cand[i].code);
			if (!channel_chat_ok(cand[i].chat) || cand[i].chat[0] == '-' || l < 6 ||
			    l > 12 || strspn(cand[i].code, "0123456789") != l)
				abort();
		}
	}
	if (tg_parse_me(s, size, name, sizeof(name)) == 0) {
		size_t l = strlen(name);
		if (l < 5 || l > 32)
			abort();
	}
	(void)tg_token_ok(s);
	if (sms_auth_parse(s, &auth, why, sizeof(why)) == 0 &&
	    (auth.kind != SMS_AUTH_BEARER && auth.kind != SMS_AUTH_BASIC))
		abort();
	check_render(s, strlen(s));
	free(s);
	return 0;
}
