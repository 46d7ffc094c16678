/*
 * The JSON front end of `pam-recover reset --json`: each step is one JSON object on one line
 * of standard output; each reply is one JSON object on one line of standard input (at most
 * RESET_JSON_MAX bytes, no NUL). A reply that is not an object, or lacks the step's string
 * field, gets {"step":"error","code":"bad_request",...} and the step is sent again; after
 * RESET_BAD_REPLIES such replies to one step the run ends. End of input ends the run.
 */
#include "reset.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/printbuf.h>

#include "out.h"

#define RESET_JSON_MAX 4096

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL, LINE_ERR };

/* One line from fd 0, byte by byte (nothing after the newline is consumed). */
static int read_line(char *out, size_t n)
{
	size_t len = 0;
	int too_long = 0, nul = 0;

	for (;;) {
		char ch;
		ssize_t got = read(0, &ch, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return LINE_ERR;
		if (got == 0) {
			if (len == 0 && !too_long && !nul)
				return LINE_EOF;
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\0')
			nul = 1;
		if (len + 1 >= n) {
			too_long = 1;
			continue;
		}
		out[len++] = ch;
	}
	out[len] = '\0';
	if (nul)
		return LINE_NUL;
	return too_long ? LINE_LONG : LINE_OK;
}

/* Print one object as a line; wipe json-c's rendering of it (it may hold a suggestion). */
static void emit(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		rc_wipe((char *)(uintptr_t)s, strlen(s));
	}
	fflush(stdout);
}

/* Wipe every string value of a reply, then release it. */
static void drop(struct json_object *o)
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

static void bad_request(const char *msg, int final)
{
	struct json_object *e = oj_object();
	oj_str(e, "step", "error");
	oj_str(e, "code", "bad_request");
	oj_str(e, "message", msg);
	oj_bool(e, "final", final);
	emit(e);
	json_object_put(e);
}

/* Parse one line into an object; NULL if it is not exactly one JSON object. */
static struct json_object *parse(char *line)
{
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct json_object *o = NULL;

	if (tok == NULL)
		return NULL;
	size_t len = strlen(line);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
			  !json_object_is_type(o, json_type_object) ||
			  line[json_tokener_get_parse_end(tok) +
			       strspn(line + json_tokener_get_parse_end(tok), " \t\r")] != '\0')) {
		drop(o);
		o = NULL;
	}
	if (tok->pb != NULL && tok->pb->buf != NULL)
		rc_wipe(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return o;
}

/* Copy the string field `name` of o into out. 1 copied, 0 absent, -1 unusable. */
static int field(struct json_object *o, const char *name, char *out, size_t n)
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

static int json_ask(struct reset *r, struct json_object *step, const char *name,
		    const char *prompt, int secret, char *out, size_t n, const char *prompt2,
		    char *out2, size_t n2)
{
	char line[RESET_JSON_MAX + 1], why[160];
	int rc = HX_DATAERR;

	(void)r;
	(void)prompt;
	(void)secret;
	(void)prompt2;
	for (int bad = 0;; bad++) {
		struct json_object *o = NULL;
		int got = 0, got2 = 0, parsed = 0;

		emit(step);
		int lr = read_line(line, sizeof(line));
		if (lr == LINE_EOF || lr == LINE_ERR) {
			rc = HX_DATAERR; /* the front end went away: nothing more to say */
			goto out;
		}
		if (lr == LINE_OK && (o = parse(line)) != NULL) {
			parsed = 1;
			got = field(o, name, out, n);
			if (got == 1 && out2 != NULL) {
				got2 = field(o, "confirm", out2, n2);
				if (got2 == 0)
					got2 = rc_snprintf(out2, n2, "%s", out) < 0 ? -1 : 1;
			}
		}
		drop(o);
		RC_WIPE_ARRAY(line);
		if (got == 1 && (out2 == NULL || got2 == 1)) {
			rc = HX_OK;
			goto out;
		}
		if (lr == LINE_LONG)
			snprintf(why, sizeof(why), "the reply is longer than %d bytes", RESET_JSON_MAX);
		else if (lr == LINE_NUL)
			snprintf(why, sizeof(why), "the reply holds a NUL byte");
		else if (!parsed)
			snprintf(why, sizeof(why), "expected one JSON object on one line");
		else
			snprintf(why, sizeof(why), "expected one JSON object with a string field "
						   "\"%s\" (at most %zu bytes)",
				 name, n - 1);
		rc_wipe(out, n);
		if (out2 != NULL)
			rc_wipe(out2, n2);
		bad_request(why, bad + 1 >= RESET_BAD_REPLIES);
		if (bad + 1 >= RESET_BAD_REPLIES) {
			rc = HX_DATAERR;
			goto out;
		}
	}
out:
	RC_WIPE_ARRAY(line);
	json_object_put(step);
	return rc;
}

static void json_show(struct reset *r, struct json_object *step)
{
	(void)r;
	emit(step);
	json_object_put(step);
}

void reset_json_done(void)
{
	fflush(stdout);
}

const struct reset_ui reset_ui_json = {json_ask, json_show};
