/*
 * libFuzzer harness: sshd_config as `admin doctor` reads it (dr_sshd_line in
 * helper/doctor_conf.c), line by line as fgets hands the lines over (at most 4095 bytes).
 * Include lines are not followed (nothing here opens a file).
 *
 * FUZZ_SOURCES: helper/doctor_conf.c helper/out.c lib/util.c
 * FUZZ_PKGS: libsodium json-c
 *
 * Properties: a setting taken holds at most 250 bytes, comes from a line that was read and
 * from the file being read; Match settings are at most DR_SSHD_MATCH_MAX, each after the
 * Match line that began its block; an Include's words lie inside their line; reading the
 * same file a second time changes no setting (the first value wins).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/doctor.h"

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
	dr_sshd_free(&d);
	return 0;
}
