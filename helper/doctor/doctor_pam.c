/*
 * The doctor reads PAM service files the way libpam (Linux-PAM 1.5, Debian) does: '#' starts
 * a comment, a trailing backslash joins the next line, "[...]" is one token (controls and
 * arguments may hold spaces; "\]" is a literal ']'), "-type" drops the line when its module
 * is missing, "@include FILE", "include" and "substack" pull in other files, and whatever
 * libpam cannot use becomes a line that fails. Only the auth lines are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "out.h"

#define PAMD_MAX_FILE (1024 * 1024)
#define PAMD_MAX_DEPTH 16 /* PAM_SUBSTACK_MAX_LEVEL */
#define PAMD_MAX_ARGS DR_PAMD_MAX_ARGS

struct ctx {
	struct doctor *d;
	struct dr_stack *st;
	const char *dir;
};

static const char *intern(struct dr_stack *st, const char *file)
{
	for (size_t i = 0; i < st->nfiles; i++)
		if (strcmp(st->files[i], file) == 0)
			return st->files[i];
	char **nv = xcalloc(st->nfiles + 1, sizeof(*nv));
	if (st->nfiles > 0)
		memcpy(nv, st->files, st->nfiles * sizeof(*nv));
	free(st->files);
	st->files = nv;
	st->files[st->nfiles] = xstrdup(file);
	return st->files[st->nfiles++];
}

static struct dr_line *push(struct dr_stack *st, const char *file, int lineno, int level)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		struct dr_line *nv = xcalloc(cap, sizeof(*nv));
		if (st->n > 0)
			memcpy(nv, st->v, st->n * sizeof(*nv));
		free(st->v);
		st->v = nv;
		st->cap = cap;
	}
	struct dr_line *l = &st->v[st->n++];
	memset(l, 0, sizeof(*l));
	l->file = intern(st, file);
	l->lineno = lineno;
	l->level = level;
	l->kind = DR_K_COND;
	for (int i = 0; i < DR_NRET; i++)
		l->actions[i] = DR_ACT_UNDEF;
	return l;
}

/* A line libpam installs as "fails when run" (PAM_HT_MUST_FAIL: PAM_PERM_DENIED, judged by
 * the line's control; with no control every result is bad). */
static void make_must_fail(struct dr_line *l, int how, const char *why)
{
	l->must_fail = how;
	if (rc_snprintf(l->why, sizeof(l->why), "%s", why) < 0)
		l->why[0] = '\0';
	dr_set_default(l->actions, DR_ACT_BAD);
}

/* The module's view of its configuration: the config file (config=, --config of the
 * doctor, or the default) and this line's arguments. */
static void load_line_cfg(struct doctor *d, struct dr_line *l)
{
	const char *argv[PAMD_MAX_ARGS + 1];
	char config_arg[4200];
	int argc = 0;

	if (d->config_path != NULL && !dr_line_has_arg(l, "config=")) {
		if (rc_snprintf(config_arg, sizeof(config_arg), "config=%s", d->config_path) < 0) {
			l->cfg_ok = 0;
			snprintf(l->cfg_err, sizeof(l->cfg_err), "configuration path too long");
			return;
		}
		argv[argc++] = config_arg;
	}
	/* The one-field pair is the line's own business: taken here, so that the rest of the
	 * configuration is judged the same with or without it. */
	l->split_pass = dr_line_flag(l, "split_pass") == 1;
	l->forwarded_code = dr_line_flag(l, "forwarded_code") == 1;
	for (int i = 0; i < l->argc && argc < PAMD_MAX_ARGS; i++) {
		const char *a = l->argv[i];
		if (strncmp(a, "split_pass", 10) == 0 && (a[10] == '\0' || a[10] == '='))
			continue;
		if (strncmp(a, "forwarded_code", 14) == 0 && (a[14] == '\0' || a[14] == '='))
			continue;
		argv[argc++] = a;
	}
	argv[argc] = NULL;
	l->cfg_ok = cfg_load_module(&l->cfg, argc, argv, l->cfg_err, sizeof(l->cfg_err)) == 0;
	if (l->cfg_ok)
		l->cfg_err[0] = '\0';
}

static int read_file(const char *path, char **buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	int r = -1;

	*buf = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (rc_read_all(fd, PAMD_MAX_FILE, buf, NULL) != 0)
		goto out;
	r = 0;
out:
	close(fd);
	return r;
}

static void expand(struct ctx *x, const char *name, int level, int depth, const char *from,
		   int from_line);

/* One logical line (comments gone, continuations joined) that starts at `lineno`. */
static void one_line(struct ctx *x, const char *file, int lineno, char *p, int level, int depth)
{
	struct dr_line *l;
	struct dr_pamd_rule t;
	char *type, *control, *mod;
	int silent = 0, bracketed = 0, bad_type = 0;
	char err[160], why[160];

	dr_pamd_tokens(p, &t);
	type = t.type;
	if (type == NULL)
		return;
	if (strcasecmp(type, "@include") == 0) {
		char *inc = t.module;
		if (inc == NULL) {
			l = push(x->st, file, lineno, level);
			make_must_fail(l, DR_MF_BROKEN, "@include without a file name");
			return;
		}
		expand(x, inc, level, depth + 1, file, lineno);
		return;
	}
	if (type[0] == '-') {
		silent = 1;
		type++;
	}
	if (strcasecmp(type, "account") == 0 || strcasecmp(type, "password") == 0 ||
	    strcasecmp(type, "session") == 0)
		return;
	/* libpam installs a line of an unknown type as a failing auth line */
	bad_type = strcasecmp(type, "auth") != 0;
	if (bad_type && rc_snprintf(why, sizeof(why),
				    "'%.40s' is not a module type (auth, "
				    "account, password, session)",
				    type) < 0)
		why[0] = '\0';
	control = t.control;
	bracketed = t.bracketed;
	if (control == NULL) {
		l = push(x->st, file, lineno, level);
		make_must_fail(l, DR_MF_BROKEN, bad_type ? why : "no control (required, ...) here");
		return;
	}
	if (!bracketed &&
	    (strcasecmp(control, "include") == 0 || strcasecmp(control, "substack") == 0)) {
		int sub = strcasecmp(control, "substack") == 0;
		char *inc = t.module;
		if (bad_type || inc == NULL) {
			l = push(x->st, file, lineno, level);
			make_must_fail(l, DR_MF_BROKEN,
				       bad_type ? why : "include without a file name");
			return;
		}
		if (sub) {
			l = push(x->st, file, lineno, level);
			l->head = 1;
			l->keyword = 1;
			snprintf(l->control, sizeof(l->control), "substack");
			for (int i = 0; i < DR_NRET; i++)
				l->actions[i] = DR_ACT_IGNORE;
		}
		expand(x, inc, level + sub, depth + 1, file, lineno);
		return;
	}
	l = push(x->st, file, lineno, level);
	l->silent = silent;
	l->keyword = !bracketed;
	if (rc_snprintf(l->control, sizeof(l->control), bracketed ? "[%s]" : "%s", control) < 0)
		snprintf(l->control, sizeof(l->control), "[...]");
	if (bracketed) {
		if (dr_parse_control(l->actions, control, err, sizeof(err)) != 0) {
			if (rc_snprintf(why, sizeof(why), "libpam cannot read the control (%s)",
					err) < 0)
				why[0] = '\0';
			make_must_fail(l, DR_MF_CONTROL, why);
		}
	} else if (dr_keyword_control(l->actions, control) != 0) {
		if (rc_snprintf(err, sizeof(err),
				"'%.40s' is not a control (required, requisite, "
				"sufficient, optional, include, substack or [...])",
				control) < 0)
			err[0] = '\0';
		make_must_fail(l, DR_MF_BROKEN, err);
	}
	mod = t.module;
	if (mod == NULL) {
		make_must_fail(l, DR_MF_BROKEN, "no module on this line");
		return;
	}
	l->module = xstrdup(mod);
	l->argv = xcalloc(PAMD_MAX_ARGS + 1, sizeof(char *));
	for (int i = 0; i < t.argc; i++)
		l->argv[l->argc++] = xstrdup(t.argv[i]);
	l->kind = dr_classify(l);
	if (l->kind == DR_K_COND) {
		/* "service = pam-recover" is known for the stack being read */
		int sv = dr_succeed_if_service(l, x->st->service);
		if (sv >= 0)
			l->kind = sv ? DR_K_PERMIT : DR_K_DENY;
	}
	l->path = dr_find_module(mod);
	if (bad_type)
		make_must_fail(l, DR_MF_BROKEN, why);
	if (l->path == NULL && silent) {
		/* libpam leaves the line out: only the report remembers it. */
		if (l->kind == DR_K_RECOVER)
			dr_add(x->d, DR_ERROR, l->file, l->lineno,
			       "install pam_recover.so there (or correct the path), and remove the "
			       "leading '-' so that a missing module fails instead of being skipped",
			       "pam_recover.so is not installed at %s: because of the leading '-', "
			       "libpam skips this line silently and nobody is asked for a code",
			       l->module);
		for (int i = 0; i < l->argc; i++)
			free(l->argv[i]);
		free(l->argv);
		free(l->module);
		x->st->n--;
		return;
	}
	if (l->path == NULL && !l->must_fail) {
		if (rc_snprintf(err, sizeof(err), "the module %.100s is not installed", mod) < 0)
			err[0] = '\0';
		make_must_fail(l, DR_MF_MISSING, err);
	}
	if (l->kind == DR_K_RECOVER)
		load_line_cfg(x->d, l);
}

/* Each logical line of a file (doctor_pamd.c reads them as libpam does). */
static void parse_buffer(struct ctx *x, const char *file, char *buf, int level, int depth)
{
	struct dr_pamd_reader r;
	int start = 0;

	dr_pamd_begin(&r, buf);
	while (dr_pamd_next(&r, &start))
		one_line(x, file, start, r.line, level, depth);
	dr_pamd_end(&r);
}

static void expand(struct ctx *x, const char *name, int level, int depth, const char *from,
		   int from_line)
{
	char path[4096], why[200];
	char *buf = NULL;

	if (name[0] == '/') {
		if (rc_snprintf(path, sizeof(path), "%s", name) < 0)
			path[0] = '\0';
	} else if (rc_snprintf(path, sizeof(path), "%s/%s", x->dir, name) < 0)
		path[0] = '\0';
	if (depth >= PAMD_MAX_DEPTH) {
		struct dr_line *l = push(x->st, from, from_line, level);
		make_must_fail(l, DR_MF_BROKEN, "includes nest too deep (an include loop?)");
		return;
	}
	if (path[0] == '\0' || read_file(path, &buf) != 0) {
		struct dr_line *l = push(x->st, from, from_line, level);
		if (rc_snprintf(why, sizeof(why), "the included file %.150s cannot be read",
				path[0] ? path : name) < 0)
			why[0] = '\0';
		make_must_fail(l, DR_MF_BROKEN, why);
		return;
	}
	parse_buffer(x, intern(x->st, path), buf, level, depth);
	free(buf);
}

int dr_pam_load(struct doctor *d, const char *dir, const char *service, struct dr_stack *st)
{
	struct ctx x = {d, st, dir};
	char path[4096];
	char *buf = NULL;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	st->service = xstrdup(service);
	if (rc_snprintf(path, sizeof(path), "%s/%s", dir, service) < 0)
		return -1;
	st->path = xstrdup(path);
	st->exists = stat(path, &sb) == 0;
	if (!st->exists || read_file(path, &buf) != 0)
		return -1;
	parse_buffer(&x, intern(st, path), buf, 0, 0);
	free(buf);
	return 0;
}

void dr_pam_free(struct dr_stack *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct dr_line *l = &st->v[i];
		for (int k = 0; k < l->argc; k++)
			free(l->argv[k]);
		free(l->argv);
		free(l->module);
		free(l->path);
		cfg_free(&l->cfg);
	}
	for (size_t i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	free(st->v);
	free(st->service);
	free(st->path);
	memset(st, 0, sizeof(*st));
}
