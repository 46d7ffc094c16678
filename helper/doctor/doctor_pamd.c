/*
 * The syntax of a PAM service file as libpam (Linux-PAM 1.5, Debian) reads it, apart from
 * what the lines mean: logical lines (_pam_assemble_line) and the tokens of one line
 * (_pam_parse_line's tokenizer). doctor_pam.c gives the lines their meaning; the fuzz
 * harness tests/fuzz/fuzz_pamd.c reads arbitrary files through the same functions.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor.h"
#include "out.h"

void dr_pamd_begin(struct dr_pamd_reader *r, char *buf)
{
	memset(r, 0, sizeof(*r));
	r->p = buf;
}

void dr_pamd_end(struct dr_pamd_reader *r)
{
	free(r->line);
	memset(r, 0, sizeof(*r));
}

/* Append n bytes to the growing logical line. */
static void append(struct dr_pamd_reader *r, const char *s, size_t n)
{
	if (r->len + n + 2 > r->cap) {
		size_t ncap = (r->len + n + 2) * 2;
		char *nb = xcalloc(ncap, 1);
		if (r->len > 0)
			memcpy(nb, r->line, r->len);
		free(r->line);
		r->line = nb;
		r->cap = ncap;
	}
	memcpy(r->line + r->len, s, n);
	r->len += n;
	r->line[r->len] = '\0';
}

/*
 * Blank and comment-only lines are skipped (even inside a continued line), a '#' elsewhere
 * ends the logical line, and a backslash at the end (trailing blanks allowed) joins the next
 * line with a space.
 */
int dr_pamd_next(struct dr_pamd_reader *r, int *start)
{
	r->len = 0;
	while (r->p != NULL && *r->p != '\0') {
		char *p = r->p;
		char *nl = strchr(p, '\n');
		char *next = nl != NULL ? nl + 1 : p + strlen(p);
		char *s = p + strspn(p, " \t");
		char *e = nl != NULL ? nl : next;
		char *hash;

		r->lineno++;
		r->p = next;
		if (s >= e || *s == '#')
			continue;
		if (r->len == 0)
			*start = r->lineno;
		hash = memchr(s, '#', (size_t)(e - s));
		if (hash == NULL) {
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e > s && e[-1] == '\\') {
				append(r, s, (size_t)(e - s - 1));
				append(r, " ", 1);
				continue;
			}
		}
		append(r, s, (size_t)((hash != NULL ? hash : e) - s));
		return 1;
	}
	return r->len > 0; /* a continued line at the end of the file */
}

/* Next token of *p, NUL-terminated in place: a word, or with `brackets` a "[...]" group
 * (brackets removed, "\]" read as ']'). *bracketed tells which. NULL at the end. */
static char *next_token(char **p, int brackets, int *bracketed)
{
	char *s = *p + strspn(*p, " \t\n");
	char *tok;

	if (bracketed != NULL)
		*bracketed = 0;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	if (brackets && *s == '[') {
		char *out;
		tok = out = ++s;
		while (*s != '\0' && *s != ']') {
			if (*s == '\\' && s[1] == ']')
				s++;
			*out++ = *s++;
		}
		if (*s == ']')
			s++;
		*out = '\0';
		if (bracketed != NULL)
			*bracketed = 1;
		*p = s;
		return tok;
	}
	tok = s;
	s += strcspn(s, " \t\n");
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return tok;
}

void dr_pamd_tokens(char *line, struct dr_pamd_rule *t)
{
	char *p = line, *arg;

	memset(t, 0, sizeof(*t));
	t->type = next_token(&p, 0, NULL);
	if (t->type == NULL)
		return;
	if (strcasecmp(t->type, "@include") == 0) {
		t->module = next_token(&p, 0, NULL);
		return;
	}
	t->control = next_token(&p, 1, &t->bracketed);
	if (t->control == NULL)
		return;
	t->module = next_token(&p, 0, NULL);
	if (t->module == NULL)
		return;
	while (t->argc < DR_PAMD_MAX_ARGS && (arg = next_token(&p, 1, NULL)) != NULL)
		t->argv[t->argc++] = arg;
}
