/*
 * The doctor reads two other daemons' settings, only as far as the checks need:
 * Dovecot's auth_cache_size (and the PAM service of its pam passdb), following !include and
 * !include_try; sshd's PAM and authentication settings (the first value wins, as in sshd),
 * following Include, with what Match blocks set kept apart (they apply to some connections).
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chars.h"
#include "doctor.h"
#include "out.h"

#define CONF_MAX_DEPTH 8
#define CONF_MAX_LINE 4096
#define SECTION_MAX 16

static void trim(char *s)
{
	size_t n = strlen(s), k = 0;

	while (n > 0 && rc_is_space((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (rc_is_space((unsigned char)s[k]))
		k++;
	if (k > 0)
		memmove(s, s + k, n - k + 1);
}

/* Relative include paths are taken from the including file's directory. */
static int include_pattern(const char *from, const char *name, char *out, size_t n)
{
	const char *slash = strrchr(from, '/');

	if (name[0] == '/' || slash == NULL)
		return rc_snprintf(out, n, "%s", name) < 0 ? -1 : 0;
	return rc_snprintf(out, n, "%.*s/%s", (int)(slash - from), from, name) < 0 ? -1 : 0;
}

/* ---- Dovecot ---- */

struct dove {
	struct doctor *d;
	char sections[SECTION_MAX][32];
	int depth;
	int passdb_pam; /* inside a passdb section whose driver is pam */
	char passdb_args[256];
};

/* auth_cache_size = 0 (or "0 M") turns the cache off; any other size turns it on. */
static int size_nonzero(const char *v)
{
	if (!rc_is_digit((unsigned char)v[0]))
		return 0; /* not a plain size: not judged */
	for (; rc_is_digit((unsigned char)*v); v++)
		if (*v != '0')
			return 1;
	return 0;
}

static void unquote(char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
}

/* The PAM service from passdb args: the last word that is not an option. */
static void passdb_service(struct dove *x, const char *args)
{
	char buf[256], *save = NULL, *w, *last = NULL;

	if (rc_snprintf(buf, sizeof(buf), "%s", args) < 0)
		return;
	for (w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		if (strchr(w, '=') == NULL)
			last = w;
	if (last != NULL && strchr(last, '%') == NULL) {
		free(x->d->dovecot_service);
		x->d->dovecot_service = xstrdup(last);
	}
}

static int dovecot_file(struct dove *x, const char *path, int depth, int required);

static void dovecot_line(struct dove *x, const char *path, int lineno, char *s, int depth)
{
	char *eq, *open;

	trim(s);
	if (s[0] == '\0' || s[0] == '#')
		return;
	if (strncmp(s, "!include", 8) == 0) {
		int try = strncmp(s, "!include_try", 12) == 0;
		char *name = s + (try ? 12 : 8), pat[4096];
		glob_t g;

		trim(name);
		unquote(name);
		if (include_pattern(path, name, pat, sizeof(pat)) != 0)
			return;
		if (glob(pat, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				(void)dovecot_file(x, g.gl_pathv[i], depth + 1, 0);
		}
		globfree(&g);
		return;
	}
	if (strcmp(s, "}") == 0) {
		if (x->depth > 0 && strcmp(x->sections[x->depth - 1], "passdb") == 0) {
			if (x->passdb_pam && x->passdb_args[0] != '\0')
				passdb_service(x, x->passdb_args);
			x->passdb_pam = 0;
			x->passdb_args[0] = '\0';
		}
		if (x->depth > 0)
			x->depth--;
		return;
	}
	eq = strchr(s, '=');
	open = strrchr(s, '{');
	if (open != NULL && (eq == NULL || eq > open) && open[1] == '\0') {
		/* "name {" or "name arg {" */
		size_t n = strcspn(s, " \t{");
		if (x->depth < SECTION_MAX) {
			snprintf(x->sections[x->depth], sizeof(x->sections[0]), "%.*s", (int)n, s);
			x->depth++;
		}
		if (n == 6 && strncmp(s, "passdb", 6) == 0) {
			char rest[64];
			snprintf(rest, sizeof(rest), "%.*s", (int)(open - s - n), s + n);
			trim(rest);
			x->passdb_pam = strcmp(rest, "pam") == 0; /* Dovecot 2.4: passdb pam { } */
			x->passdb_args[0] = '\0';
		}
		return;
	}
	if (eq == NULL)
		return;
	*eq = '\0';
	char *key = s, *val = eq + 1;
	trim(key);
	trim(val);
	unquote(val);
	if (x->depth == 0 && strcmp(key, "auth_cache_size") == 0) {
		x->d->dovecot_cache_on = size_nonzero(val);
		free(x->d->dovecot_cache_file);
		x->d->dovecot_cache_file = xstrdup(path);
		x->d->dovecot_cache_line = lineno;
		snprintf(x->d->dovecot_cache_value, sizeof(x->d->dovecot_cache_value), "%.60s",
			 val);
	} else if (x->depth > 0 && strcmp(x->sections[x->depth - 1], "passdb") == 0) {
		if (strcmp(key, "driver") == 0)
			x->passdb_pam = strcmp(val, "pam") == 0;
		else if (strcmp(key, "args") == 0)
			snprintf(x->passdb_args, sizeof(x->passdb_args), "%.250s", val);
	} else if (strcmp(key, "passdb_pam_service_name") == 0 && val[0] != '\0') {
		free(x->d->dovecot_service);
		x->d->dovecot_service = xstrdup(val);
	}
}

static int dovecot_file(struct dove *x, const char *path, int depth, int required)
{
	FILE *f;
	char line[CONF_MAX_LINE];
	int lineno = 0;

	if (depth > CONF_MAX_DEPTH)
		return 0;
	f = fopen(path, "re");
	if (f == NULL)
		return required ? -1 : 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		dovecot_line(x, path, lineno, line, depth);
	}
	fclose(f);
	return 0;
}

int dr_read_dovecot(struct doctor *d, const char *path)
{
	struct dove x;

	memset(&x, 0, sizeof(x));
	x.d = d;
	return dovecot_file(&x, path, 0, 1);
}

int dr_dovecot_service(const struct doctor *d, const char *service)
{
	static const char *const names[] = {"dovecot",     "imap",  "pop3", "submission",
					    "managesieve", "sieve", "lmtp", "smtp"};

	if (d->dovecot_service != NULL && strcmp(service, d->dovecot_service) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(service, names[i]) == 0)
			return 1;
	return 0;
}

/* ---- sshd ---- */

static const char *const sshd_keywords[DR_SSHD_NOPT] = {
	[DR_SSHD_USEPAM] = "UsePAM",
	[DR_SSHD_KBDINT] = "KbdInteractiveAuthentication",
	[DR_SSHD_PASSWORD] = "PasswordAuthentication",
	[DR_SSHD_PUBKEY] = "PubkeyAuthentication",
	[DR_SSHD_METHODS] = "AuthenticationMethods",
	[DR_SSHD_ROOT] = "PermitRootLogin",
};

const char *dr_sshd_keyword(int opt)
{
	return opt >= 0 && opt < DR_SSHD_NOPT ? sshd_keywords[opt] : "?";
}

/* The option a keyword sets, or -1 (ChallengeResponseAuthentication is sshd's old name for
 * KbdInteractiveAuthentication). */
static int sshd_option(const char *kw)
{
	if (strcasecmp(kw, "ChallengeResponseAuthentication") == 0)
		return DR_SSHD_KBDINT;
	for (int i = 0; i < DR_SSHD_NOPT; i++)
		if (strcasecmp(kw, sshd_keywords[i]) == 0)
			return i;
	return -1;
}

static int sshd_file(struct doctor *d, const char *path, int depth, int required, int in_match,
		     const char *match_file, int match_line);

static void sshd_include(struct doctor *d, char *args, int depth, int in_match,
			 const char *match_file, int match_line)
{
	char *save = NULL, pat[4096];

	for (char *w = strtok_r(args, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		glob_t g;
		unquote(w);
		/* sshd takes relative Include paths from /etc/ssh, whichever file names them */
		if (include_pattern("/etc/ssh/sshd_config", w, pat, sizeof(pat)) != 0)
			continue;
		if (glob(pat, 0, NULL, &g) == 0)
			for (size_t i = 0; i < g.gl_pathc; i++)
				(void)sshd_file(d, g.gl_pathv[i], depth + 1, 0, in_match,
						match_file, match_line);
		globfree(&g);
	}
}

static void sshd_note_match(struct doctor *d, int opt, const char *val, const char *path,
			    int lineno, const char *match_file, int match_line)
{
	struct dr_sshd_match *m;

	if (d->sshd.nmatch >= DR_SSHD_MATCH_MAX)
		return;
	m = &d->sshd.match[d->sshd.nmatch++];
	m->opt = opt;
	snprintf(m->value, sizeof(m->value), "%.120s", val);
	m->file = xstrdup(path);
	m->line = lineno;
	m->match_file = xstrdup(match_file);
	m->match_line = match_line;
}

int dr_sshd_line(struct doctor *d, const char *path, int lineno, char *line,
		 struct dr_sshd_where *w, char **include)
{
	char *s = line, *val;
	size_t n;
	int opt;

	*include = NULL;
	trim(s);
	if (s[0] == '\0' || s[0] == '#')
		return 0;
	n = strcspn(s, " \t=");
	val = s + n;
	val += strspn(val, " \t");
	if (*val == '=')
		val++;
	val += strspn(val, " \t");
	s[n] = '\0';
	if (strcasecmp(s, "Match") == 0) {
		/* conditional until the next Match or the end of this file; "Match all" ends the
		 * conditional part */
		w->in_match = strcasecmp(val, "all") != 0;
		snprintf(w->file, sizeof(w->file), "%s", path);
		w->line = lineno;
		return 0;
	}
	if (strcasecmp(s, "Include") == 0) {
		*include = val;
		return 1;
	}
	if ((opt = sshd_option(s)) < 0)
		return 0;
	unquote(val);
	if (w->in_match) {
		sshd_note_match(d, opt, val, path, lineno, w->file, w->line);
		return 0;
	}
	if (d->sshd.opt[opt].set)
		return 0; /* the first value wins */
	d->sshd.opt[opt].set = 1;
	snprintf(d->sshd.opt[opt].value, sizeof(d->sshd.opt[opt].value), "%.250s", val);
	d->sshd.opt[opt].file = xstrdup(path);
	d->sshd.opt[opt].line = lineno;
	return 0;
}

static int sshd_file(struct doctor *d, const char *path, int depth, int required, int in_match,
		     const char *match_file, int match_line)
{
	FILE *f;
	char line[CONF_MAX_LINE];
	struct dr_sshd_where w;
	int lineno = 0;

	if (depth > CONF_MAX_DEPTH)
		return 0;
	f = fopen(path, "re");
	if (f == NULL)
		return required ? -1 : 0;
	w.in_match = in_match;
	w.line = match_line;
	snprintf(w.file, sizeof(w.file), "%s", match_file != NULL ? match_file : "");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *include;

		lineno++;
		if (dr_sshd_line(d, path, lineno, line, &w, &include) == 1)
			sshd_include(d, include, depth, w.in_match, w.file, w.line);
	}
	fclose(f);
	return 0;
}

int dr_read_sshd(struct doctor *d, const char *path)
{
	const struct dr_sshd_opt *root;

	d->sshd_root_pam = 0; /* OpenSSH's default, prohibit-password: root never reaches PAM */
	if (sshd_file(d, path, 0, 1, 0, NULL, 0) != 0)
		return -1;
	d->sshd.read = 1;
	d->sshd.main_file = xstrdup(path);
	root = &d->sshd.opt[DR_SSHD_ROOT];
	d->sshd_root_pam = root->set && strcasecmp(root->value, "yes") == 0;
	return 0;
}

void dr_sshd_free(struct doctor *d)
{
	for (int i = 0; i < DR_SSHD_NOPT; i++)
		free(d->sshd.opt[i].file);
	for (size_t i = 0; i < d->sshd.nmatch; i++) {
		free(d->sshd.match[i].file);
		free(d->sshd.match[i].match_file);
	}
	free(d->sshd.main_file);
	memset(&d->sshd, 0, sizeof(d->sshd));
}
