/*
 * libFuzzer harness: a ~/.google_authenticator file as `admin import-google-authenticator`
 * reads it (import_ga_parse in helper/import_parse.c).
 *
 * FUZZ_SOURCES: helper/import_parse.c helper/algo.c lib/addr.c lib/util.c lib/totp.c
 * FUZZ_PKGS: libsodium liboath
 *
 * Properties: a file that parses gives a 1..64-byte secret, a step of 15..300 s and at most
 * IMPORT_BACKUP_MAX scratch codes of exactly 8 digits; writing it back in the same format
 * (base32 secret, options, codes) and reading that gives the same result; a file that does
 * not parse says why, at a line that is in the file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/import_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct import_ga *g)
{
	struct import_ga h;
	char buf[2048];
	const char *why = NULL;
	int o, line_no = 0;

	if (totp_base32_encode(g->secret, g->len, buf, sizeof(buf)) != 0)
		abort();
	o = (int)strlen(buf);
	o += snprintf(buf + o, sizeof(buf) - (size_t)o,
		      "\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n"
		      "\" STEP_SIZE %d\n\" TOTP_AUTH\n",
		      g->period);
	for (int i = 0; i < g->ncodes; i++)
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%s\n", g->codes[i]);
	memset(&h, 0, sizeof(h));
	if (import_ga_parse(buf, &h, &line_no, &why) != 0 || h.len != g->len ||
	    memcmp(h.secret, g->secret, g->len) != 0 || h.period != g->period ||
	    h.ncodes != g->ncodes || memcmp(h.codes, g->codes, sizeof(h.codes)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_ga g;
	const char *why = NULL;
	char *buf = malloc(size + 1);
	int line_no = -1, lines = 1;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (const char *c = buf; *c; c++)
		lines += *c == '\n';
	memset(&g, 0, sizeof(g));
	if (import_ga_parse(buf, &g, &line_no, &why) == 0) {
		if (g.len < 1 || g.len > TOTP_SECRET_MAX || g.period < IMPORT_PERIOD_MIN ||
		    g.period > IMPORT_PERIOD_MAX || g.ncodes < 0 || g.ncodes > IMPORT_BACKUP_MAX ||
		    line_no < 1 || line_no > lines)
			abort();
		for (int i = 0; i < g.ncodes; i++)
			if (strlen(g.codes[i]) != SECRET_BACKUP_DIGITS ||
			    strspn(g.codes[i], "0123456789") != SECRET_BACKUP_DIGITS)
				abort();
		round_trip(&g);
	} else if (why == NULL || line_no < 0 || line_no > lines)
		abort();
	free(buf);
	return 0;
}
