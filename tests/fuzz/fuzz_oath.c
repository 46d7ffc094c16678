/*
 * libFuzzer harness: a pam_oath usersfile as `admin import-oath` reads it, line by line
 * (import_next_line, import_oath_line in helper/import_parse.c), under each user_name_case.
 *
 * FUZZ_SOURCES: helper/import_parse.c helper/algo.c lib/addr.c lib/util.c lib/totp.c
 * FUZZ_PKGS: libsodium liboath
 *
 * Properties: lines hold no newline; an entry has a period of 15..300 s,
 * 6 or 8 digits, a known hash, a 1..64-byte secret and a user name inside the line that
 * passes rc_user_name_ok and is already canonical; writing the entry back as a usersfile
 * line and reading that gives the same entry; the caller's user check is only asked about
 * such names, and when it refuses, the line is refused with its reason; a refused line
 * leaves the entry wiped; blank and '#' lines are skipped and nothing else is.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/helper.h"
#include "../../helper/import_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char refused[] = "refused by the caller";

static int check_yes(const char *user, void *arg, const char **why)
{
	(void)why;
	if (!rc_user_name_ok(user))
		abort();
	(*(int *)arg)++;
	return 1;
}

static int check_no(const char *user, void *arg, const char **why)
{
	(void)user;
	(void)arg;
	*why = refused;
	return 0;
}

static int wiped(const struct import_oath_entry *e)
{
	const unsigned char *p = (const unsigned char *)e;
	for (size_t i = 0; i < sizeof(*e); i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void check_entry(const struct import_oath_entry *e, const char *line, size_t len, int mode)
{
	struct import_oath_entry again;
	char canon[HX_USER_MAX], buf[600];
	const char *why = NULL;
	int o;

	if (e->p.period < IMPORT_PERIOD_MIN || e->p.period > IMPORT_PERIOD_MAX ||
	    (e->p.digits != 6 && e->p.digits != 8) || e->p.algorithm < CFG_ALGO_SHA1 ||
	    e->p.algorithm > CFG_ALGO_SHA512 || e->len < 1 || e->len > TOTP_SECRET_MAX ||
	    e->user < line || e->user >= line + len || !rc_user_name_ok(e->user))
		abort();
	if (rc_user_name_canonical(mode, e->user, canon, sizeof(canon)) != 0 ||
	    strcmp(canon, e->user) != 0)
		abort();
	/* written back as pam_oath writes it, read again: the same entry */
	o = snprintf(buf, sizeof(buf), "HOTP/T%d/%d/%s\t%s - ", e->p.period, e->p.digits,
		     hx_algo_name(e->p.algorithm), e->user);
	for (size_t i = 0; i < e->len; i++)
		o += snprintf(buf + o, sizeof(buf) - (size_t)o, "%02x", e->secret[i]);
	if (import_oath_line(buf, mode, NULL, NULL, &again, &why) != 1 ||
	    again.p.period != e->p.period || again.p.digits != e->p.digits ||
	    again.p.algorithm != e->p.algorithm || strcmp(again.user, canon) != 0 ||
	    again.len != e->len || memcmp(again.secret, e->secret, e->len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *cursor, *line;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	cursor = buf;
	while ((line = import_next_line(&cursor)) != NULL) {
		size_t len = strlen(line);

		if (strchr(line, '\n') != NULL)
			abort();
		for (int mode = RC_NAME_AUTO; mode <= RC_NAME_EXACT; mode++) {
			struct import_oath_entry e;
			const char *why = NULL;
			char *copy = strdup(line);
			int asked = 0;

			if (copy == NULL)
				abort();
			const char *lead = line + strspn(line, " \t");
			int r = import_oath_line(copy, mode, check_yes, &asked, &e, &why);
			if ((r == 0) != (*lead == '\0' || *lead == '#'))
				abort();
			if (r == 1) {
				check_entry(&e, copy, len, mode);
				if (asked != 1)
					abort();
				/* the caller's check refusing: the line is refused with its reason */
				memcpy(copy, line, len + 1);
				if (import_oath_line(copy, mode, check_no, NULL, &e, &why) != -1 ||
				    why != refused || !wiped(&e))
					abort();
			} else if (r == -1 && (!wiped(&e) || asked > 1))
				abort();
			else if (r != 0 && r != -1)
				abort();
			free(copy);
		}
	}
	free(buf);
	return 0;
}
