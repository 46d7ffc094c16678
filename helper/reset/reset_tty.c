/*
 * The terminal front end of `pam-recover reset`: the same steps as the JSON protocol,
 * shown as text on the terminal (/dev/tty; without one, stderr) and read with tty_ask
 * (echo off for secrets). Usable as the forced command of a `recover` account over SSH.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>

#include "out.h"
#include "tty.h"

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void line(const char *a, const char *b, const char *c)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%s%s\n", a, b != NULL ? b : "", c != NULL ? c : "");
	tty_note(buf);
}

static const char *label(const char *id)
{
	if (strcmp(id, "email") == 0)
		return "Recovery e-mail";
	if (strcmp(id, "sms") == 0)
		return "Mobile phone (SMS)";
	if (strcmp(id, "telegram") == 0)
		return "Telegram";
	if (strcmp(id, "question") == 0)
		return "Security question";
	return id;
}

/* The method list, numbered; a typed number becomes the method's id. */
static int ask_method(struct json_object *methods, const char *prompt, char *out, size_t n)
{
	size_t count = json_object_array_length(methods);
	char buf[256];
	long pick;
	int rc;

	for (size_t i = 0; i < count; i++) {
		struct json_object *m = json_object_array_get_idx(methods, i);
		const char *id = str(m, "id"), *hint = str(m, "hint");
		if (id == NULL)
			continue;
		snprintf(buf, sizeof(buf), "  %zu) %s%s%s\n", i + 1, label(id),
			 hint != NULL && hint[0] ? "  " : "", hint != NULL ? hint : "");
		tty_note(buf);
	}
	/* "Method (1-3): "; with one method only, "Method (1): ". */
	size_t plen = strlen(prompt);
	while (plen > 0 && (prompt[plen - 1] == ' ' || prompt[plen - 1] == ':'))
		plen--;
	if (count == 1)
		snprintf(buf, sizeof(buf), "%.*s (1): ", (int)plen, prompt);
	else
		snprintf(buf, sizeof(buf), "%.*s (1-%zu): ", (int)plen, prompt, count);
	if ((rc = tty_ask("method", buf, 0, out, n)) != HX_OK)
		return rc;
	if (rc_parse_long(out, 1, (long)count, &pick) == 0) {
		const char *id = str(json_object_array_get_idx(methods, (size_t)pick - 1), "id");
		snprintf(out, n, "%s", id != NULL ? id : "");
	}
	return HX_OK;
}

static char last_msg[2048]; /* the paragraph of the step asked last */

static int tty_ask_step(struct reset *r, struct json_object *step, const char *field,
			const char *prompt, int secret, char *out, size_t n, const char *prompt2,
			char *out2, size_t n2)
{
	struct json_object *methods = NULL;
	const char *msg = str(step, "message"), *question = str(step, "question");
	int rc;

	(void)r;
	/* A step asked again (after a wrong code or answer) does not repeat its paragraph: the
	 * error said what went wrong, the prompt is enough. */
	if (msg != NULL && strcmp(msg, last_msg) != 0) {
		line("", msg, NULL);
		snprintf(last_msg, sizeof(last_msg), "%s", msg);
	}
	if (question != NULL)
		line("Security question: ", question, NULL);
	if (json_object_object_get_ex(step, "methods", &methods) &&
	    json_object_is_type(methods, json_type_array))
		rc = ask_method(methods, prompt, out, n);
	else
		rc = tty_ask(field, prompt, secret, out, n);
	if (rc == HX_OK && out2 != NULL && prompt2 != NULL)
		rc = tty_ask(field, prompt2, secret, out2, n2);
	json_object_put(step);
	return rc;
}

static void tty_show(struct reset *r, struct json_object *step)
{
	const char *name = str(step, "step"), *msg = str(step, "message");

	(void)r;
	if (name != NULL && strcmp(name, "done") == 0) {
		struct json_object *failed = NULL;
		line("\n", msg, NULL);
		if (json_object_object_get_ex(step, "notice_failed", &failed) &&
		    json_object_array_length(failed) > 0)
			line("Some recovery contacts could not be told about the reset; the "
			     "administrator can see which in the audit log.",
			     NULL, NULL);
	} else if (msg != NULL)
		line("", msg, NULL);
	json_object_put(step);
}

const struct reset_ui reset_ui_tty = {tty_ask_step, tty_show};
