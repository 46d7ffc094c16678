/*
 * The doctor's findings: what each check adds (dr_add, once per file, line and message) and
 * their release. Below every check and the verb (doctor.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "out.h"

void dr_add(struct doctor *d, int severity, const char *file, int line, const char *fix,
	    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r < 0)
		snprintf(msg, sizeof(msg), "(message lost)");
	for (size_t i = 0; i < d->n; i++) {
		const struct dr_finding *f = &d->v[i];
		if (f->line == line && strcmp(f->message, msg) == 0 &&
		    (f->file == NULL ? file == NULL : file != NULL && strcmp(f->file, file) == 0))
			return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct dr_finding *nv = xcalloc(cap, sizeof(*nv));
		if (d->n > 0)
			memcpy(nv, d->v, d->n * sizeof(*nv));
		free(d->v);
		d->v = nv;
		d->cap = cap;
	}
	d->v[d->n].severity = severity;
	d->v[d->n].file = file != NULL ? xstrdup(file) : NULL;
	d->v[d->n].line = line;
	d->v[d->n].message = xstrdup(msg);
	d->v[d->n].fix = xstrdup(fix != NULL ? fix : "");
	d->n++;
}

void dr_free_findings(struct doctor *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
		free(d->v[i].fix);
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}
