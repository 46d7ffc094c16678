/*
 * Parsing one reply of the JSON reset protocol (see reset_json_parse.h).
 */
#include "reset_json_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/printbuf.h>

struct json_object *reset_json_parse(const char *line)
{
	struct json_tokener *tok = json_tokener_new_ex(RESET_JSON_DEPTH);
	struct json_object *o = NULL;

	if (tok == NULL)
		return NULL;
	size_t len = strlen(line);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
			  !json_object_is_type(o, json_type_object) ||
			  line[json_tokener_get_parse_end(tok) +
			       strspn(line + json_tokener_get_parse_end(tok), " \t\r")] != '\0')) {
		reset_json_drop(o);
		o = NULL;
	}
	if (tok->pb != NULL && tok->pb->buf != NULL)
		rc_wipe(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

void reset_json_drop(struct json_object *o)
{
	if (o == NULL)
		return;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			if (json_object_is_type(val, json_type_string))
				rc_wipe((char *)(uintptr_t)json_object_get_string(val),
					(size_t)json_object_get_string_len(val));
		}
	}
	json_object_put(o);
}

int reset_json_field(struct json_object *o, const char *name, char *out, size_t n)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', len) != NULL || len + 1 > n)
		return -1;
	memcpy(out, s, len + 1);
	return 1;
}

int reset_json_reply(const char *line, const char *name, char *out, size_t n, char *out2, size_t n2,
		     int *parsed)
{
	struct json_object *o = reset_json_parse(line);
	int got = 0, got2 = 0;

	*parsed = o != NULL;
	if (o != NULL) {
		got = reset_json_field(o, name, out, n);
		if (got == 1 && out2 != NULL) {
			got2 = reset_json_field(o, "confirm", out2, n2);
			if (got2 == 0)
				got2 = rc_snprintf(out2, n2, "%s", out) < 0 ? -1 : 1;
		}
	}
	reset_json_drop(o);
	if (got == 1 && (out2 == NULL || got2 == 1))
		return 1;
	rc_wipe(out, n);
	if (out2 != NULL)
		rc_wipe(out2, n2);
	return 0;
}
