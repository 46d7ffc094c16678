/*
 * libFuzzer harness: sshd_config as `admin doctor` reads it (dr_sshd_line in
 * helper/doctor/doctor_conf.c), line by line as fgets hands the lines over (at most 4095 bytes),
 * and the ways in that the settings leave open (helper/doctor/doctor_sshd_ways.c). Include lines
 * are not followed (nothing here opens a file).
 *
 * FUZZ_SOURCES: helper/doctor/doctor_conf.c helper/doctor/doctor_sshd_ways.c helper/out.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium json-c
 *
 * Properties: a setting taken holds at most 250 bytes, comes from a line that was read and
 * from the file being read; Match settings are at most DR_SSHD_MATCH_MAX, each after the
 * Match line that began its block; an Include's words lie inside their line; reading the
 * same file a second time changes no setting (the first value wins). A method switched off
 * is never a way in; without AuthenticationMethods (or with "any") the ways in are the
 * switches themselves; a list of keyboard-interactive alone is the code's way in.
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

#define LINE_MAX_BYTES 4096 /* doctor_conf.c's CONF_MAX_LINE */

static const char path[] = "/etc/ssh/sshd_config";

/* Feed every line of data through dr_sshd_line; the number of lines read. */
static int read_all(struct doctor *d, const uint8_t *data, size_t size)
{
	struct dr_sshd_where w;
	char line[LINE_MAX_BYTES];
	int lineno = 0;
	size_t i = 0;

	memset(&w, 0, sizeof(w));
	while (i < size) {
		size_t n = 0;
		char *include = NULL;

		/* fgets: up to a newline (kept) or LINE_MAX_BYTES - 1 bytes */
		while (i < size && n < sizeof(line) - 1) {
			line[n++] = (char)data[i++];
			if (line[n - 1] == '\n')
				break;
		}
		line[n] = '\0';
		lineno++;
		int r = dr_sshd_line(d, path, lineno, line, &w, &include);
		if (r != 0 && r != 1)
			abort();
		if ((r == 1) != (include != NULL))
			abort();
		if (include != NULL && (include < line || include > line + n))
			abort();
		if (w.in_match && (w.line < 1 || w.line > lineno || strcmp(w.file, path) != 0))
			abort();
	}
	return lineno;
}

static void check_ways(const struct dr_sshd *x)
{
	struct dr_sshd_ways p;
	const int key = dr_sshd_flag(x, DR_SSHD_PUBKEY, 1);
	const int pw = dr_sshd_flag(x, DR_SSHD_PASSWORD, 1);
	const int kbd = dr_sshd_flag(x, DR_SSHD_KBDINT, 1);
	const struct dr_sshd_opt *m = &x->opt[DR_SSHD_METHODS];

	for (int i = 0; i < DR_SSHD_NOPT; i++) {
		int f = dr_sshd_flag(x, i, 7);
		if (f != 0 && f != 1 && f != 7)
			abort();
		if (f == 7 && x->opt[i].set &&
		    (strcasecmp(x->opt[i].value, "yes") == 0 ||
		     strcasecmp(x->opt[i].value, "no") == 0))
			abort();
	}
	memset(&p, 'X', sizeof(p));
	dr_sshd_ways(x, &p);
	if ((p.code != 0 && p.code != 1) || (p.password != 0 && p.password != 1) ||
	    (p.keyonly != 0 && p.keyonly != 1))
		abort();
	if ((p.code && !kbd) || (p.password && !pw))
		abort(); /* a method switched off is no way in */
	if (!m->set || strcasecmp(m->value, "any") == 0) {
		if (p.code != kbd || p.password != pw || p.keyonly != key)
			abort();
		return;
	}
	/* only keyboard-interactive lists (with or without ":pam"): the code's way, if on */
	size_t n = strlen(m->value);
	char *v = malloc(n + 2), *save = NULL;
	int only_kbd = 1, lists = 0;
	if (v == NULL)
		abort();
	memcpy(v, m->value, n + 1);
	for (char *l = strtok_r(v, " \t", &save); l != NULL; l = strtok_r(NULL, " \t", &save)) {
		lists++;
		char *save2 = NULL;
		for (char *meth = strtok_r(l, ",", &save2); meth != NULL;
		     meth = strtok_r(NULL, ",", &save2)) {
			if (strcmp(meth, "keyboard-interactive") != 0 &&
			    strncmp(meth, "keyboard-interactive:", 21) != 0)
				only_kbd = 0;
		}
	}
	free(v);
	if (lists > 0 && only_kbd && strchr(m->value, ',') == NULL &&
	    (p.code != kbd || p.password || p.keyonly))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct doctor d;
	struct dr_sshd_opt before[DR_SSHD_NOPT];
	int lines;

	memset(&d, 0, sizeof(d));
	lines = read_all(&d, data, size);
	for (int i = 0; i < DR_SSHD_NOPT; i++) {
		const struct dr_sshd_opt *o = &d.sshd.opt[i];
		if (dr_sshd_keyword(i) == NULL)
			abort();
		if (!o->set)
			continue;
		if (strlen(o->value) > 250 || o->file == NULL || strcmp(o->file, path) != 0 ||
		    o->line < 1 || o->line > lines)
			abort();
	}
	if (d.sshd.nmatch > DR_SSHD_MATCH_MAX)
		abort();
	for (size_t i = 0; i < d.sshd.nmatch; i++) {
		const struct dr_sshd_match *m = &d.sshd.match[i];
		if (m->opt < 0 || m->opt >= DR_SSHD_NOPT || strlen(m->value) > 120 ||
		    m->match_line < 1 || m->match_line >= m->line || m->line > lines ||
		    strcmp(m->match_file, path) != 0 || strcmp(m->file, path) != 0)
			abort();
	}
	/* the same file again: the first value still wins, every setting stays as it was */
	memcpy(before, d.sshd.opt, sizeof(before));
	(void)read_all(&d, data, size);
	for (int i = 0; i < DR_SSHD_NOPT; i++) {
		const struct dr_sshd_opt *o = &d.sshd.opt[i];
		if (o->set != before[i].set || o->line != before[i].line ||
		    strcmp(o->value, before[i].value) != 0 || o->file != before[i].file)
			abort();
	}
	check_ways(&d.sshd);
	dr_sshd_free(&d);
	return 0;
}
