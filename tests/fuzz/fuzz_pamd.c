/*
 * libFuzzer harness: a PAM service file as `admin doctor` reads it: logical lines and tokens
 * (helper/doctor/doctor_pamd.c), the meaning of the control (dr_parse_control, dr_keyword_control)
 * and of the module and its arguments (dr_classify, dr_line_flag, dr_succeed_if_service in
 * helper/doctor/doctor_modules.c). Nothing here opens a file: includes are not followed.
 *
 * FUZZ_SOURCES: helper/doctor/doctor_pamd.c helper/doctor/doctor_modules.c helper/out.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium json-c
 *
 * Properties: logical lines start on increasing physical lines within the file, hold no
 * newline or '#' and are no longer than the file; tokens lie in
 * order inside their line, words are non-empty and blank-free, at most DR_PAMD_MAX_ARGS
 * arguments are kept; writing the tokens back out (brackets where needed, ']' escaped) and
 * reading that gives the same tokens. A control parses to a full table of known actions,
 * or to "every result is bad" with a reason; only the four keywords are keyword controls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../helper/doctor/doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void word_ok(const char *w, const char *line, size_t len)
{
	if (w == NULL)
		return;
	if (w < line || w > line + len || *w == '\0' || strpbrk(w, " \t\n") != NULL)
		abort();
}

static void inside(const char *t, const char *line, size_t len)
{
	if (t != NULL && (t < line || t > line + len))
		abort();
}

/* Append a token as the tokenizer reads it back: bracketed when it has to be. */
static void put(char *out, size_t *o, const char *tok, int brackets)
{
	if (*o > 0)
		out[(*o)++] = ' ';
	if (!brackets) {
		size_t n = strlen(tok);
		memcpy(out + *o, tok, n);
		*o += n;
		return;
	}
	out[(*o)++] = '[';
	for (const char *c = tok; *c; c++) {
		if (*c == ']')
			out[(*o)++] = '\\';
		out[(*o)++] = *c;
	}
	out[(*o)++] = ']';
}

static int needs_brackets(const char *a)
{
	return *a == '\0' || *a == '[' || strpbrk(a, " \t\n") != NULL;
}

static int ends_in_backslash(const char *a)
{
	size_t n = strlen(a);
	return n > 0 && a[n - 1] == '\\';
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void round_trip(const struct dr_pamd_rule *t, size_t len)
{
	struct dr_pamd_rule u;
	char *out;
	size_t o = 0;
	int include = strcasecmp(t->type, "@include") == 0;

	if (t->control != NULL && t->bracketed && ends_in_backslash(t->control))
		return; /* "[a\" with no ']': written back, "\]" would read as ']' */
	for (int i = 0; i < t->argc; i++)
		if (needs_brackets(t->argv[i]) && ends_in_backslash(t->argv[i]))
			return;
	out = malloc(2 * len + 4 * (DR_PAMD_MAX_ARGS + 4));
	if (out == NULL)
		abort();
	put(out, &o, t->type, 0);
	if (!include && t->control != NULL)
		put(out, &o, t->control, t->bracketed);
	if (t->module != NULL)
		put(out, &o, t->module, 0);
	for (int i = 0; i < t->argc; i++)
		put(out, &o, t->argv[i], needs_brackets(t->argv[i]));
	out[o] = '\0';
	dr_pamd_tokens(out, &u);
	if (!same(t->type, u.type) || !same(t->control, u.control) ||
	    (t->control != NULL && t->bracketed != u.bracketed) || !same(t->module, u.module) ||
	    t->argc != u.argc)
		abort();
	for (int i = 0; i < t->argc; i++)
		if (!same(t->argv[i], u.argv[i]))
			abort();
	free(out);
}

static void check_control(const struct dr_pamd_rule *t)
{
	int actions[DR_NRET + 1];
	char err[160];

	for (int i = 0; i < DR_NRET; i++)
		actions[i] = DR_ACT_UNDEF;
	if (t->bracketed) {
		err[0] = '\0';
		int r = dr_parse_control(actions, t->control, err, sizeof(err));
		for (int i = 0; i < DR_NRET; i++) {
			/* a known action or a jump (DR_ACT_UNDEF lies below DR_ACT_RESET) */
			if (actions[i] < DR_ACT_RESET || actions[i] > 999)
				abort();
			if (r != 0 && actions[i] != DR_ACT_BAD)
				abort();
		}
		if (r != 0 && (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL))
			abort();
		return;
	}
	int kw = strcasecmp(t->control, "required") == 0 ||
		 strcasecmp(t->control, "requisite") == 0 ||
		 strcasecmp(t->control, "sufficient") == 0 ||
		 strcasecmp(t->control, "optional") == 0;
	if ((dr_keyword_control(actions, t->control) == 0) != kw)
		abort();
	for (int i = 0; kw && i < DR_NRET; i++)
		if (actions[i] == DR_ACT_UNDEF || actions[i] > 0)
			abort();
}

static void check_module(struct dr_pamd_rule *t)
{
	struct dr_line l;

	memset(&l, 0, sizeof(l));
	l.module = t->module;
	l.argc = t->argc;
	l.argv = t->argv;
	enum dr_kind k = dr_classify(&l);
	if (k < DR_K_RECOVER || k > DR_K_COND)
		abort();
	int f = dr_line_flag(&l, "split_pass");
	int s = dr_succeed_if_service(&l, "sshd");
	if (f < -1 || f > 1 || s < -1 || s > 1)
		abort();
	if (s >= 0 && strcmp(dr_line_module_name(&l), "pam_succeed_if.so") != 0)
		abort();
	for (int i = 0; i < t->argc; i++)
		if (!dr_line_has_arg(&l, t->argv[i]))
			abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Known answers, before any input: what the properties cannot tell by themselves (the
 * tokenizer agreeing with itself would not notice "\]" read the wrong way). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char file[] = "# c\n -auth [a\\]b  c=d] pam_x.so [e f\\]] g\\\n  h # i\nauth x y\n";
	struct dr_pamd_reader r;
	struct dr_pamd_rule t;
	int start = 0;

	(void)argc;
	(void)argv;
	dr_pamd_begin(&r, file);
	if (!dr_pamd_next(&r, &start) || start != 2)
		abort();
	dr_pamd_tokens(r.line, &t);
	if (strcmp(t.type, "-auth") != 0 || strcmp(t.control, "a]b  c=d") != 0 || !t.bracketed ||
	    strcmp(t.module, "pam_x.so") != 0 || t.argc != 3 || strcmp(t.argv[0], "e f]") != 0 ||
	    strcmp(t.argv[1], "g") != 0 || strcmp(t.argv[2], "h") != 0)
		abort();
	if (!dr_pamd_next(&r, &start) || start != 4 || strcmp(r.line, "auth x y") != 0 ||
	    dr_pamd_next(&r, &start))
		abort();
	dr_pamd_end(&r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_pamd_reader r;
	char *buf = malloc(size + 1);
	int start = 0, last = 0, lines = 1;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (const char *c = buf; *c; c++)
		lines += *c == '\n';
	dr_pamd_begin(&r, buf);
	while (dr_pamd_next(&r, &start)) {
		struct dr_pamd_rule t;
		size_t len = strlen(r.line);

		if (start <= last || start > lines || len != r.len || len > size ||
		    strpbrk(r.line, "\n#") != NULL)
			abort();
		last = start;
		dr_pamd_tokens(r.line, &t);
		if (t.type == NULL)
			continue;
		if (t.argc < 0 || t.argc > DR_PAMD_MAX_ARGS)
			abort();
		word_ok(t.type, r.line, len);
		word_ok(t.module, r.line, len);
		if (!t.bracketed)
			word_ok(t.control, r.line, len);
		inside(t.control, r.line, len);
		const char *prev = t.module;
		for (int i = 0; i < t.argc; i++) {
			inside(t.argv[i], r.line, len);
			if (t.argv[i] <= prev)
				abort();
			prev = t.argv[i];
		}
		round_trip(&t, len);
		if (strcasecmp(t.type, "@include") == 0 || t.control == NULL)
			continue;
		check_control(&t);
		if (t.module != NULL)
			check_module(&t);
	}
	dr_pamd_end(&r);
	free(buf);
	return 0;
}
