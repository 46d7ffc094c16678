/*
 * `pam-recover admin doctor [--pamd DIR] [--services LIST] [--dovecot-conf PATH]
 * [--sshd-config PATH] [--json]`: reads the configuration, the key and the store, and the
 * PAM service files, and says in plain words what would lock people out or let them in
 * without a code. Root only (admin.c checks). Changes nothing.
 *
 * Exit status: 0 nothing found, 1 warnings only, 2 at least one error (a lockout or a way
 * in without a code); 64 usage, 66 a named directory or file cannot be read, 77 not root.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doctor.h"
#include "login.h"
#include "out.h"

#define DOCTOR_WARNINGS 1
#define DOCTOR_ERRORS 2
#define MAX_SERVICES 512
/* The service through which the helper confirms a user's password (identity.c). */
#define HELPER_SERVICE "pam-recover"

/* ---- services ---- */

/* Files in a pam.d directory that libpam never reads as a service. */
static int not_a_service(const char *name)
{
	static const char *const suffixes[] = {"~",         ".dpkg-old", ".dpkg-new", ".dpkg-dist",
					       ".pam-old",  ".pam-new", /* pam-auth-update */
					       ".dpkg-bak", ".bak",      ".orig",     ".rpmnew",
					       ".rpmsave",  ".swp",      ".save",     ".tmp"};
	size_t n = strlen(name);

	if (name[0] == '.')
		return 1;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);
		if (n >= k && strcmp(name + n - k, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The service files of DIR, sorted. -1 if DIR cannot be read. */
static int list_services(const char *dir, char ***out, size_t *n)
{
	DIR *dp = opendir(dir);
	const struct dirent *e;
	char path[4096];
	struct stat sb;

	*out = xcalloc(MAX_SERVICES, sizeof(char *));
	*n = 0;
	if (dp == NULL)
		return -1;
	while ((e = readdir(dp)) != NULL && *n < MAX_SERVICES) {
		if (not_a_service(e->d_name) ||
		    rc_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < 0 ||
		    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		(*out)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(dp);
	qsort(*out, *n, sizeof(char *), cmp_str);
	return 0;
}

/* The helper's own service confirms the password alone: a user who has lost the phone must
 * still reach the recovery steps, and the helper answers one hidden prompt only. A stack
 * there that asks for a code breaks every command that confirms the password. */
static void check_helper_stack(struct doctor *d, const struct dr_stack *st)
{
	struct dr_sim s;

	if (!dr_stack_uses_module(st))
		return;
	dr_sim_run(st, DR_SC_NO_CODE, d->now, &s);
	if (s.successes == 0)
		dr_add(d, DR_WARNING, st->path, 0,
		       "keep pam_recover.so out of this stack (the pam-auth-update profile "
		       "skips it here with pam_succeed_if.so service = " HELPER_SERVICE ")",
		       "the helper's own service %s asks for a code: `pam-recover enable`, "
		       "`contact set` and the other commands that confirm the user's password "
		       "fail, and a user without the phone cannot reach the recovery steps",
		       st->service);
	dr_sim_free(&s);
}

static int in_csv(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p != '\0';) {
		p += strspn(p, ", \t");
		size_t k = strcspn(p, ", \t");
		if (k == n && strncmp(p, name, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}

/* --services names that have no file: libpam uses `other` for them. */
static void check_named_services(struct doctor *d, char **names, size_t n)
{
	char name[256], path[4096];

	for (const char *p = d->services; *p != '\0';) {
		int found = 0;
		p += strspn(p, ", \t");
		size_t k = strcspn(p, ", \t");
		if (k == 0)
			break;
		if (rc_snprintf(name, sizeof(name), "%.*s", (int)k, p) < 0) {
			p += k;
			continue;
		}
		p += k;
		for (size_t i = 0; i < n && !found; i++)
			found = strcmp(names[i], name) == 0;
		if (found)
			continue;
		if (rc_snprintf(path, sizeof(path), "%s/%s", d->pamd, name) < 0)
			continue;
		dr_add(d, DR_ERROR, path, 0,
		       "create it from the examples (" RC_EXAMPLES_DIR
		       "/pam.d), or leave the service out of --services",
		       "there is no %s: libpam runs the `other` stack for %s, so its logins are not "
		       "asked for a code",
		       path, name);
	}
}

/* Key and store of the module lines whose configuration names other ones than the base. */
static void check_line_stores(struct doctor *d, const struct dr_stack *st, char ***seen,
			      size_t *nseen)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct dr_line *l = &st->v[i];
		char id[8300];
		int known = 0;

		if (l->kind != DR_K_RECOVER || !l->cfg_ok)
			continue;
		if (rc_snprintf(id, sizeof(id), "%s\n%s", l->cfg.key_file ? l->cfg.key_file : "",
				l->cfg.store ? l->cfg.store : "") < 0)
			continue;
		for (size_t k = 0; k < *nseen && !known; k++)
			known = strcmp((*seen)[k], id) == 0;
		if (known || *nseen >= MAX_SERVICES)
			continue;
		(*seen)[(*nseen)++] = xstrdup(id);
		dr_check_key_store(d, &l->cfg);
	}
}

/* ---- report ---- */

static void print_findings(const struct doctor *d, FILE *f, const char *prefix);
static void json_findings(const struct doctor *d, struct json_object *o);

static int report(const struct doctor *d, size_t nused)
{
	int errors = 0, warnings = 0;

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].severity == DR_ERROR)
			errors++;
		else
			warnings++;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", errors == 0 && warnings == 0);
		json_findings(d, o);
		out_json(o);
	} else {
		print_findings(d, stdout, "");
		if (errors + warnings == 0)
			printf("No problems found (%s: %zu service%s use%s pam_recover.so).\n",
			       d->pamd, nused, nused == 1 ? "" : "s", nused == 1 ? "s" : "");
		else
			printf("%d error%s (lockout or login without a code), %d warning%s.\n",
			       errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
	}
	return errors > 0 ? DOCTOR_ERRORS : warnings > 0 ? DOCTOR_WARNINGS : HX_OK;
}

/* ---- --check-config ---- */

/* enforce_after has passed: nullok no longer lets anyone in without a code. */
static void check_enforce_date(struct doctor *d, const struct cfg *c)
{
	struct cfg t = *c; /* shallow: only read */
	int grace = 0;

	if (c->enforce_after == NULL)
		return;
	t.nullok = 1;
	if (!login_nullok_applies(&t, d->now, &grace))
		dr_add(d, DR_WARNING, d->config_shown, 0,
		       "enrol the remaining users, then remove enforce_after (and nullok); or move "
		       "the date",
		       "enforce_after = %s has passed: nullok no longer lets users without 2-step "
		       "verification in (`pam-recover admin doctor` names them)",
		       c->enforce_after);
}

static void print_findings(const struct doctor *d, FILE *f, const char *prefix)
{
	for (int sev = DR_ERROR; sev >= DR_WARNING; sev--)
		for (size_t i = 0; i < d->n; i++) {
			const struct dr_finding *x = &d->v[i];
			char where[4200], msg[2100], fix[2100];
			if (x->severity != sev)
				continue;
			if (x->file == NULL)
				where[0] = '\0';
			else if (x->line > 0)
				snprintf(where, sizeof(where), "%s:%d: ", x->file, x->line);
			else
				snprintf(where, sizeof(where), "%s: ", x->file);
			rc_log_escape(x->message, msg, sizeof(msg));
			rc_log_escape(x->fix, fix, sizeof(fix));
			fprintf(f, "%s%s: %s%s\n", prefix, sev == DR_ERROR ? "error" : "warning",
				where, msg);
			if (fix[0] != '\0')
				fprintf(f, "    fix: %s\n", fix);
		}
}

static void json_findings(const struct doctor *d, struct json_object *o)
{
	struct json_object *arr = oj_array();

	for (int sev = DR_ERROR; sev >= DR_WARNING; sev--)
		for (size_t i = 0; i < d->n; i++) {
			const struct dr_finding *f = &d->v[i];
			if (f->severity != sev)
				continue;
			struct json_object *fo = oj_object();
			oj_str(fo, "severity", sev == DR_ERROR ? "error" : "warning");
			oj_str(fo, "file", f->file);
			if (f->line > 0)
				oj_int(fo, "line", f->line);
			else
				oj_put(fo, "line", NULL);
			oj_str(fo, "message", f->message);
			oj_str(fo, "fix", f->fix);
			oj_push(arr, fo);
		}
	oj_put(o, "findings", arr);
}

int dr_check_config(const struct hctx *h, const struct cfg *c)
{
	struct doctor d;
	int errors = 0, r;

	memset(&d, 0, sizeof(d));
	d.config_path = h->config_path;
	d.config_shown = h->config_path != NULL ? h->config_path : RC_CONFIG_PATH;
	d.now = rc_now();
	d.base_ok = 1; /* hx_load_config has loaded and validated it */
	dr_check_config_file(&d, d.config_shown, h->config_path != NULL);
	dr_check_key_store(&d, c);
	check_enforce_date(&d, c);
	/* The configuration itself may be fine while logins without root cannot work: said,
	 * but not a configuration error. */
	dr_check_backend(&d, RC_CHECK_PATH, DR_WARNING);
	for (size_t i = 0; i < d.n; i++)
		errors += d.v[i].severity == DR_ERROR;
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", errors == 0);
		oj_str(o, "config", d.config_shown);
		oj_str(o, "key_file", c->key_file);
		oj_bool(o, "key_opens_store", d.key_opens);
		oj_str(o, "store", c->store);
		if (d.schema_have > 0)
			oj_int(o, "schema_version", d.schema_have);
		else
			oj_put(o, "schema_version", NULL);
		json_findings(&d, o);
		out_json(o);
	} else {
		print_findings(&d, stderr, "pam-recover: ");
		if (d.key_opens)
			printf("key %s: root, 32 bytes, opens the store's key-check record\n",
			       c->key_file);
		if (d.store_opens)
			printf("store %s: reachable, schema version %lld%s\n", c->store,
			       d.schema_have,
			       d.schema_have < d.schema_want
				       ? " (brought up to date when next opened)"
				       : "");
		if (errors == 0)
			printf("configuration OK\n");
		else
			fprintf(stderr,
				"pam-recover: %d error%s: logins through pam_recover.so fail "
				"until %s fixed\n",
				errors, errors == 1 ? "" : "s", errors == 1 ? "it is" : "they are");
	}
	r = errors > 0 ? HX_CONFIG : HX_OK;
	dr_free_findings(&d);
	return r;
}

/* ---- the verb ---- */

static void load_base(struct doctor *d, int explicit_path)
{
	d->base_ok = 0;
	if (cfg_init(&d->base) != 0) {
		snprintf(d->base_err, sizeof(d->base_err), "out of memory");
		return;
	}
	if (cfg_load_file(&d->base, d->config_shown, explicit_path, d->base_err,
			  sizeof(d->base_err)) == 0 &&
	    cfg_validate(&d->base, d->base_err, sizeof(d->base_err)) == 0) {
		d->base_ok = 1;
		d->base_err[0] = '\0';
	}
}

int admin_doctor(struct hctx *h, int argc, char **argv)
{
	const char *pamd = NULL, *services = NULL, *dovecot = NULL, *sshd = NULL;
	const struct hx_opt opts[] = {
		{"pamd", &pamd, NULL},
		{"services", &services, NULL},
		{"dovecot-conf", &dovecot, NULL},
		{"sshd-config", &sshd, NULL},
	};
	struct doctor d;
	struct dr_stack st, keep[5];
	static const char *const keep_names[5] = {"sshd", "login", "su", "other", "pam-recover"};
	char **names = NULL, **seen = NULL;
	size_t nnames = 0, nseen = 0, nused = 0;
	struct stat sb;
	int r = HX_USAGE, done = HX_USAGE;

	memset(&d, 0, sizeof(d));
	memset(keep, 0, sizeof(keep));
	if (admin_parse(h, "doctor", argc, argv, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0,
			&done) != 0)
		return done;
	/* the helper has moved to "/" (harden.c): relative paths would mislead */
	if ((pamd != NULL && pamd[0] != '/') || (dovecot != NULL && dovecot[0] != '/') ||
	    (sshd != NULL && sshd[0] != '/'))
		return out_fail(HX_USAGE, "admin doctor: --pamd, --dovecot-conf and --sshd-config "
					  "need absolute paths");
	d.pamd = pamd != NULL ? pamd : "/etc/pam.d";
	d.services = services;
	d.config_path = h->config_path;
	d.config_shown = h->config_path != NULL ? h->config_path : RC_CONFIG_PATH;
	d.now = rc_now();
	if (stat(d.pamd, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return out_fail(HX_NOUSER, "admin doctor: %s is not a directory", d.pamd);
	/* The host's Dovecot and sshd settings go with the host's /etc/pam.d; for another
	 * directory only the files named on the command line are read. */
	if (dovecot != NULL) {
		if (dr_read_dovecot(&d, dovecot) != 0) {
			r = out_fail(HX_NOUSER, "admin doctor: cannot read %s", dovecot);
			goto out;
		}
	} else if (pamd == NULL)
		(void)dr_read_dovecot(&d, "/etc/dovecot/dovecot.conf");
	if (sshd != NULL) {
		if (dr_read_sshd(&d, sshd) != 0) {
			r = out_fail(HX_NOUSER, "admin doctor: cannot read %s", sshd);
			goto out;
		}
	} else if (pamd == NULL)
		(void)dr_read_sshd(&d, "/etc/ssh/sshd_config");

	load_base(&d, h->config_path != NULL);
	dr_check_config_file(&d, d.config_shown, h->config_path != NULL);
	if (d.base_ok)
		dr_check_key_store(&d, &d.base);

	if (list_services(d.pamd, &names, &nnames) != 0) {
		r = out_fail(HX_NOUSER, "admin doctor: cannot read the directory %s", d.pamd);
		goto out;
	}
	seen = xcalloc(MAX_SERVICES, sizeof(char *));
	if (d.base_ok) {
		/* the base key and store are checked above: do not check them twice */
		char id[8300];
		if (rc_snprintf(id, sizeof(id), "%s\n%s", d.base.key_file ? d.base.key_file : "",
				d.base.store ? d.base.store : "") > 0)
			seen[nseen++] = xstrdup(id);
	}
	for (size_t i = 0; i < nnames; i++) {
		/* by default: sshd, dovecot, and the service Dovecot's pam passdb names */
		int expected = d.services != NULL
				       ? in_csv(d.services, names[i])
				       : strcmp(names[i], "sshd") == 0 ||
						 strcmp(names[i], "dovecot") == 0 ||
						 (d.dovecot_service != NULL &&
						  strcmp(names[i], d.dovecot_service) == 0);
		int k = -1;

		(void)dr_pam_load(&d, d.pamd, names[i], &st);
		if (dr_stack_uses_module(&st))
			nused++;
		if (strcmp(names[i], HELPER_SERVICE) == 0 && !expected) {
			check_helper_stack(&d, &st);
		} else if (expected || dr_stack_uses_module(&st)) {
			dr_check_stack(&d, &st, expected);
			check_line_stores(&d, &st, &seen, &nseen);
		}
		for (int j = 0; j < 5; j++)
			if (strcmp(names[i], keep_names[j]) == 0)
				k = j;
		if (k >= 0)
			keep[k] = st;
		else
			dr_pam_free(&st);
	}
	if (d.services != NULL)
		check_named_services(&d, names, nnames);
	/* the console: login, or `other` when there is no login file */
	dr_check_sshd(&d, keep[0].exists ? &keep[0] : NULL);
	dr_check_helper(&d, RC_HELPER_PATH);
	dr_check_backend(&d, RC_CHECK_PATH, DR_ERROR);
	dr_check_helper_service(&d, keep[4].exists ? &keep[4] : NULL);
	dr_check_root(&d, keep[0].exists ? &keep[0] : NULL,
		      keep[1].exists   ? &keep[1]
		      : keep[3].exists ? &keep[3]
				       : NULL,
		      keep[2].exists ? &keep[2] : NULL);
	r = report(&d, nused);
out:
	for (int j = 0; j < 5; j++)
		dr_pam_free(&keep[j]);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	free(d.dovecot_cache_file);
	free(d.dovecot_service);
	dr_sshd_free(&d);
	cfg_free(&d.base);
	dr_free_findings(&d);
	return r;
}
