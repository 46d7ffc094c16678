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

#include "out.h"
#include "reset_json_parse.h"

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
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		rc_wipe((char *)(uintptr_t)s, strlen(s));
	}
	fflush(stdout);
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

static int json_ask(struct reset *r, struct json_object *step, const char *name, const char *prompt,
		    int secret, char *out, size_t n, const char *prompt2, char *out2, size_t n2)
{
	char line[RESET_JSON_MAX + 1], why[160];
	int rc = HX_DATAERR;

	(void)r;
	(void)prompt;
	(void)secret;
	(void)prompt2;
	for (int bad = 0;; bad++) {
		int ok = 0, parsed = 0;

		emit(step);
		int lr = read_line(line, sizeof(line));
		if (lr == LINE_EOF || lr == LINE_ERR) {
			rc = HX_DATAERR; /* the front end went away: nothing more to say */
			goto out;
		}
		if (lr == LINE_OK)
			ok = reset_json_reply(line, name, out, n, out2, n2, &parsed) == 1;
		RC_WIPE_ARRAY(line);
		if (ok) {
			rc = HX_OK;
			goto out;
		}
		if (lr == LINE_LONG)
			snprintf(why, sizeof(why), "the reply is longer than %d bytes",
				 RESET_JSON_MAX);
		else if (lr == LINE_NUL)
			snprintf(why, sizeof(why), "the reply holds a NUL byte");
		else if (!parsed)
			snprintf(why, sizeof(why), "expected one JSON object on one line");
		else
			snprintf(why, sizeof(why),
				 "expected one JSON object with a string field "
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
