/*
 * The formats `admin import-oath` and `admin import-google-authenticator` read (see
 * import_parse.h): pam_oath's usersfile and google-authenticator's per-user file.
 */
#include "import_parse.h"

#include <string.h>

#include "helper.h"

char *import_next_line(char **cursor)
{
	char *p = *cursor, *nl;

	if (p == NULL || *p == '\0')
		return NULL;
	nl = strchr(p, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*cursor = nl + 1;
	} else
		*cursor = p + strlen(p);
	size_t n = strlen(p);
	if (n > 0 && p[n - 1] == '\r')
		p[n - 1] = '\0';
	return p;
}

/* ---- pam_oath usersfile ---- */

/* "HOTP/T30", "HOTP/T30/6", "HOTP/T60/8" (optionally "/SHA256" or "/SHA512" after the digits). */
static int parse_oath_type(char *type, struct totp_params *p, const char **why)
{
	char *parts[5];
	int n = 0;
	long v;

	for (char *save = NULL, *t = strtok_r(type, "/", &save); t != NULL;
	     t = strtok_r(NULL, "/", &save)) {
		if (n == 5) {
			*why = "unknown token type";
			return -1;
		}
		parts[n++] = t;
	}
	if (n == 0 || strcmp(parts[0], "HOTP") != 0) {
		*why = "unknown token type (expected HOTP/T30...)";
		return -1;
	}
	if (n == 1 || parts[1][0] == 'E') {
		*why = "event-based HOTP is not supported: only TOTP (HOTP/T30...) entries can be "
		       "imported";
		return -1;
	}
	if (n > 4 || parts[1][0] != 'T' ||
	    rc_parse_long(parts[1] + 1, IMPORT_PERIOD_MIN, IMPORT_PERIOD_MAX, &v) != 0) {
		*why = "bad TOTP type (expected HOTP/T<seconds>[/<digits>], seconds 15..300)";
		return -1;
	}
	p->period = (int)v;
	p->digits = 6;
	p->algorithm = CFG_ALGO_SHA1;
	if (n >= 3) {
		if (rc_parse_long(parts[2], 6, 8, &v) != 0 || v == 7) {
			*why = "only 6- and 8-digit codes are supported";
			return -1;
		}
		p->digits = (int)v;
	}
	if (n == 4 && (p->algorithm = hx_algo_parse(parts[3])) < 0) {
		*why = "unknown hash (expected SHA1, SHA256 or SHA512)";
		return -1;
	}
	return 0;
}

int import_oath_line(char *line, int name_case, import_user_fn check, void *arg,
		     struct import_oath_entry *e, const char **why)
{
	char *save = NULL, *f[4];
	int nf = 0, r = -1;

	rc_wipe(e, sizeof(*e));
	*why = NULL;
	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#')
		return 0;
	for (char *t = strtok_r(line, " \t", &save); t != NULL && nf < 4;
	     t = strtok_r(NULL, " \t", &save))
		f[nf++] = t; /* further columns (counter, time) are ignored */
	if (nf < 4) {
		*why = "expected TYPE USER PIN SECRET";
		goto out;
	}
	if (parse_oath_type(f[0], &e->p, why) != 0)
		goto out;
	/* One user, one name: two spellings of a name are the same user (a duplicate). */
	if (rc_user_name_canonical(name_case, f[1], f[1], strlen(f[1]) + 1) != 0)
		goto out;
	if (!rc_user_name_ok(f[1])) {
		*why = "not a valid user name";
		goto out;
	}
	if (check != NULL && !check(f[1], arg, why))
		goto out;
	if (strcmp(f[2], "-") != 0 && strcmp(f[2], "+") != 0) {
		*why = "a PIN in the password column is not supported (use - ; the password "
		       "is checked by the module before pam_recover)";
		goto out;
	}
	if (totp_hex_decode(f[3], e->secret, sizeof(e->secret), &e->len) != 0 || e->len == 0) {
		*why = "the secret is not a hex string of at most 64 bytes";
		goto out;
	}
	e->user = f[1];
	r = 1;
out:
	if (r != 1)
		rc_wipe(e, sizeof(*e));
	return r;
}

/* ---- ~/.google_authenticator ---- */

static int all_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int parse_ga_option(char *opt, struct import_ga *g, const char **why)
{
	char *save = NULL;
	char *name = strtok_r(opt, " \t", &save);
	char *arg = strtok_r(NULL, " \t", &save);
	long v;

	if (name == NULL) {
		*why = "empty option line";
		return -1;
	}
	if (strcmp(name, "TOTP_AUTH") == 0)
		return 0;
	if (strcmp(name, "HOTP_COUNTER") == 0) {
		*why = "counter-based HOTP is not supported: only time-based (TOTP) secrets can be "
		       "imported";
		return -1;
	}
	if (strcmp(name, "STEP_SIZE") == 0) {
		if (arg == NULL ||
		    rc_parse_long(arg, IMPORT_PERIOD_MIN, IMPORT_PERIOD_MAX, &v) != 0) {
			*why = "STEP_SIZE must be 15..300 seconds";
			return -1;
		}
		g->period = (int)v;
		return 0;
	}
	if (strcmp(name, "WINDOW_SIZE") == 0) {
		if (arg == NULL || rc_parse_long(arg, 1, 100, &v) != 0) {
			*why = "bad WINDOW_SIZE";
			return -1;
		}
		return 0; /* the site's `window` applies */
	}
	if (strcmp(name, "RATE_LIMIT") == 0 || strcmp(name, "DISALLOW_REUSE") == 0)
		return 0; /* `deny` and replay protection apply */
	*why = "unknown option";
	return -1;
}

int import_ga_parse(char *buf, struct import_ga *g, int *line_no, const char **why)
{
	char *cursor = buf, *line;
	int in_codes = 0;

	*line_no = 0;
	g->period = 30;
	g->ncodes = 0;
	g->len = 0;
	while ((line = import_next_line(&cursor)) != NULL) {
		(*line_no)++;
		if (*line_no == 1) {
			if (totp_base32_decode(line, g->secret, sizeof(g->secret), &g->len) != 0 ||
			    g->len == 0) {
				*why = "the first line must be the base32 secret";
				return -1;
			}
			continue;
		}
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if (line[0] == '"') {
			if (in_codes) {
				*why = "option after the scratch codes";
				return -1;
			}
			if (parse_ga_option(line + 1, g, why) != 0)
				return -1;
			continue;
		}
		in_codes = 1;
		if (!all_digits(line, SECRET_BACKUP_DIGITS)) {
			*why = "a scratch code must be 8 digits";
			return -1;
		}
		if (g->ncodes == IMPORT_BACKUP_MAX) {
			*why = "too many scratch codes";
			return -1;
		}
		memcpy(g->codes[g->ncodes++], line, SECRET_BACKUP_DIGITS + 1);
	}
	if (*line_no == 0) {
		*why = "the file is empty";
		return -1;
	}
	return 0;
}
