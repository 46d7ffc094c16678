/* Bot API answers, parsed with json-c; no I/O (the fuzzer calls these directly). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "channel.h"
#include "telegram.h"

#define TG_BODY_MAX (1024 * 1024)

int tg_token_ok(const char *t)
{
	size_t i = 0, n;

	if (t == NULL)
		return 0;
	n = strnlen(t, TG_TOKEN_MAX + 1);
	if (n == 0 || n > TG_TOKEN_MAX)
		return 0;
	while (t[i] >= '0' && t[i] <= '9')
		i++;
	if (i == 0 || t[i] != ':' || t[i + 1] == '\0')
		return 0;
	for (i++; t[i] != '\0'; i++) {
		char c = t[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Parse a whole buffer as one JSON value; NULL if it is not exactly that. */
static struct json_object *parse(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (body == NULL || len == 0 || len > TG_BODY_MAX || memchr(body, '\0', len) != NULL)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o != NULL) {
		/* trailing bytes after the value: only white space is fine */
		size_t end = json_tokener_get_parse_end(tok);
		while (end < len && strchr(" \t\r\n", body[end]) != NULL && body[end] != '\0')
			end++;
		if (end != len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static struct json_object *member(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static void description(struct json_object *o, char *desc, size_t n)
{
	struct json_object *d = member(o, "description", json_type_string);
	struct json_object *c = member(o, "error_code", json_type_int);
	char tmp[256];

	if (desc == NULL || n == 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s%s%lld", d ? json_object_get_string(d) : "no description",
		 c ? ", error " : "", c ? (long long)json_object_get_int64(c) : 0LL);
	if (c == NULL) /* drop the "0" printed for no code */
		tmp[strlen(tmp) - 1] = '\0';
	rc_log_escape(tmp, desc, n);
}

/* 1 ok:true, 0 ok:false, -1 not an answer; *root gets the object when >= 0. */
static int answer(const char *body, size_t len, struct json_object **root, char *desc, size_t n)
{
	struct json_object *o = parse(body, len), *ok;

	*root = NULL;
	if (desc != NULL && n > 0)
		desc[0] = '\0';
	if (o == NULL)
		return -1;
	ok = member(o, "ok", json_type_boolean);
	if (ok == NULL) {
		json_object_put(o);
		return -1;
	}
	*root = o;
	if (!json_object_get_boolean(ok)) {
		description(o, desc, n);
		return 0;
	}
	return 1;
}

int tg_parse_ok(const char *body, size_t len, char *desc, size_t n)
{
	struct json_object *o;
	int r = answer(body, len, &o, desc, n);

	if (o != NULL)
		json_object_put(o);
	return r;
}

/* "/start CODE", "/start@Bot CODE" or "CODE" (surrounding blanks ignored): the code, or
 * NULL. CODE is 6..12 ASCII digits. */
static int link_code(const char *text, char *code, size_t n)
{
	const char *p = text;
	size_t l;

	p += strspn(p, " \t\r\n");
	if (strncmp(p, "/start", 6) == 0) {
		p += 6;
		if (*p == '@')
			p += strcspn(p, " \t");
		if (*p != ' ' && *p != '\t')
			return -1;
		p += strspn(p, " \t");
	}
	l = strspn(p, "0123456789");
	if (l < 6 || l > 12 || l >= n || strspn(p + l, " \t\r\n") != strlen(p + l))
		return -1;
	memcpy(code, p, l);
	code[l] = '\0';
	return 0;
}

static int candidate(struct json_object *upd, struct tg_candidate *c)
{
	struct json_object *msg = member(upd, "message", json_type_object);
	struct json_object *chat = member(msg, "chat", json_type_object);
	struct json_object *from = member(msg, "from", json_type_object);
	struct json_object *text = member(msg, "text", json_type_string);
	struct json_object *id = member(chat, "id", json_type_int);
	struct json_object *type = member(chat, "type", json_type_string);
	struct json_object *bot = member(from, "is_bot", json_type_boolean);

	/* Private chats with a person only: a group must never become a recovery contact. */
	if (text == NULL || id == NULL || type == NULL ||
	    strcmp(json_object_get_string(type), "private") != 0 ||
	    (bot != NULL && json_object_get_boolean(bot)))
		return -1;
	errno = 0;
	int64_t v = json_object_get_int64(id);
	if (errno != 0 || v <= 0)
		return -1;
	if (snprintf(c->chat, sizeof(c->chat), "%lld", (long long)v) <= 0 ||
	    !channel_chat_ok(c->chat))
		return -1;
	return link_code(json_object_get_string(text), c->code, sizeof(c->code));
}

int tg_parse_updates(const char *body, size_t len, struct tg_candidate *out, size_t max,
		     size_t *count, char *desc, size_t n)
{
	struct json_object *o, *res;
	int r = -1;

	*count = 0;
	if (answer(body, len, &o, desc, n) != 1)
		goto out;
	res = member(o, "result", json_type_array);
	if (res == NULL) {
		if (desc != NULL && n > 0)
			snprintf(desc, n, "the answer has no result list");
		goto out;
	}
	for (size_t i = json_object_array_length(res); i > 0 && *count < max; i--) {
		struct json_object *u = json_object_array_get_idx(res, i - 1);
		if (u != NULL && json_object_is_type(u, json_type_object) &&
		    candidate(u, &out[*count]) == 0)
			(*count)++;
	}
	r = 0;
out:
	if (o != NULL)
		json_object_put(o);
	return r;
}

int tg_parse_me(const char *body, size_t len, char *name, size_t n)
{
	struct json_object *o, *u;
	const char *s;
	size_t l;
	int r = -1;

	if (n > 0)
		name[0] = '\0';
	if (answer(body, len, &o, NULL, 0) != 1)
		goto out;
	u = member(member(o, "result", json_type_object), "username", json_type_string);
	if (u == NULL)
		goto out;
	s = json_object_get_string(u);
	l = strlen(s);
	if (l < 5 || l > 32 || l >= n ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != l)
		goto out;
	memcpy(name, s, l + 1);
	r = 0;
out:
	if (o != NULL)
		json_object_put(o);
	return r;
}
