/*
 * `admin import-oath FILE` and `admin import-google-authenticator USER FILE`: bring users of
 * pam_oath and google-authenticator over. All or nothing: one transaction, and the first bad
 * line stops the import with FILE:LINE and what is wrong (never the secret).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "device.h"
#include "helper.h"
#include "import_parse.h"
#include "out.h"
#include "secret.h"
#include "totp.h"

#define OATH_FILE_MAX (64u * 1024 * 1024)
#define GA_FILE_MAX (64u * 1024)

/*
 * Open a file an administrator named: no symlink (last component), a regular file, owned by
 * root or by `owner` (the user whose file it is), not writable by group or others, bounded.
 * Returns the content (NUL-terminated, wipe and free with rc_free_secret) or NULL with why.
 */
static char *read_admin_file(const char *path, uid_t owner, size_t max, const char **why,
			     int *missing)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*why = NULL;
	*missing = fd < 0 && errno == ENOENT;
	if (fd < 0) {
		*why = errno == ELOOP    ? "is a symbolic link"
		       : errno == ENOENT ? "does not exist"
					 : strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || fcntl(fd, F_SETFL, 0) != 0)
		*why = strerror(errno); /* fcntl: back to blocking reads (opened O_NONBLOCK) */
	else if (!S_ISREG(st.st_mode))
		*why = "is not a regular file";
	else if (st.st_uid != 0 && st.st_uid != owner)
		*why = owner == 0 ? "is not owned by root"
				  : "is owned by neither root nor the user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		*why = "is writable by group or others";
	else if ((size_t)st.st_size > max)
		*why = "is too large";
	else if (rc_read_all(fd, max, &buf, NULL) != 0) {
		*why = errno == EINVAL  ? "contains a NUL byte"
		       : errno == EFBIG ? "is too large"
					: "cannot be read";
		buf = NULL;
	}
	close(fd);
	return buf;
}

static int existing_enrolment(struct store *s, const char *user)
{
	struct store_totp t;
	int r = store_totp_get(s, user, &t);
	rc_wipe(&t, sizeof(t));
	return r;
}

/* Where an imported secret goes: --device NAME (NULL: every device replaced by one called
 * "default", as before devices), --force, and the limit of devices. */
struct import_dev {
	const char *name;
	int force;
	int max;
	char why[160];
};

/* The secret becomes device d->name: added (or, with --force, replacing the device of that
 * name); the first device brings the backup codes. 0 or -1 with *why. */
static int put_device(struct store *s, const char *user, const struct store_totp *t,
		      const unsigned char (*hashes)[STORE_HASH_LEN], size_t nhashes,
		      struct import_dev *d, const char **why)
{
	int n = 0, exists = 0, pr;

	if (device_count(s, user, d->name, &n, &exists) != STORE_OK) {
		*why = store_errmsg(s);
		return -1;
	}
	if ((exists && !d->force) || (!exists && n >= d->max)) {
		if (rc_snprintf(d->why, sizeof(d->why), "%s %s",
				exists ? "already has the device"
				       : "has max_devices devices; not adding",
				d->name) < 0)
			d->why[0] = '\0';
		*why = exists ? "already has a device of that name (--force replaces it)"
			      : "has max_devices devices already";
		return -1;
	}
	if (store_device_add(s, user, t, d->force) != STORE_OK ||
	    (n == 0 &&
	     (((pr = store_pending_delete(s, user)) != STORE_OK && pr != STORE_NOTFOUND) ||
	      store_backup_replace(s, user, hashes, nhashes) != STORE_OK))) {
		*why = store_errmsg(s);
		return -1;
	}
	return 0;
}

/* Enrol user with secret (and backup code hashes) inside the caller's transaction. */
static int put_user(struct store *s, const struct seal_key *k, const char *user,
		    const unsigned char *secret, size_t len, const struct totp_params *p,
		    const unsigned char (*hashes)[STORE_HASH_LEN], size_t nhashes, long ruid,
		    const char *event, struct import_dev *d, const char **why)
{
	struct store_totp t;
	char detail[64] = "";
	int r = -1;

	memset(&t, 0, sizeof(t));
	t.algorithm = p->algorithm;
	t.digits = p->digits;
	t.period = p->period;
	t.created = rc_now();
	if (len + SEAL_OVERHEAD > sizeof(t.sealed) ||
	    seal_encrypt(k, user, "totp", secret, len, t.sealed, &t.sealed_len) != 0) {
		*why = "cannot seal the secret";
		goto out;
	}
	int pr;
	if (d->name != NULL) {
		memcpy(t.device, d->name, strlen(d->name) + 1);
		if (put_device(s, user, &t, hashes, nhashes, d, why) != 0)
			goto out;
		if (rc_snprintf(detail, sizeof(detail), "device %s", d->name) < 0)
			detail[0] = '\0';
	} else if (store_totp_put(s, user, &t) != STORE_OK ||
		   ((pr = store_pending_delete(s, user)) != STORE_OK && pr != STORE_NOTFOUND) ||
		   store_backup_replace(s, user, hashes, nhashes) != STORE_OK) {
		*why = store_errmsg(s);
		goto out;
	}
	if (store_audit_add(s, user, ruid, event, "admin", detail) != STORE_OK) {
		*why = store_errmsg(s);
		goto out;
	}
	r = 0;
out:
	rc_wipe(&t, sizeof(t));
	return r;
}

/* The dry run also asks the user database (never inside a store transaction: it may be
 * LDAP); a name with an '@' is a virtual mail user, not in it. */
static int user_exists(const char *user, void *arg, const char **why)
{
	(void)arg;
	if (strchr(user, '@') == NULL && getpwnam(user) == NULL) {
		*why = "no such user";
		return 0;
	}
	return 1;
}

/* ---- a set of names, to find a user given twice in a usersfile ---- */

struct nameset {
	char **name;
	int *line;
	size_t cap, n;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t nameset_slot(const struct nameset *ns, const char *s)
{
	size_t i = (size_t)(name_hash(s) & (ns->cap - 1));
	while (ns->name[i] != NULL && strcmp(ns->name[i], s) != 0)
		i = (i + 1) & (ns->cap - 1);
	return i;
}

/* Add s; returns 0, or the line it was first seen on. */
static int nameset_add(struct nameset *ns, const char *s, int line)
{
	if (ns->cap == 0 || (ns->n + 1) * 2 > ns->cap) {
		struct nameset big = {NULL, NULL, ns->cap ? ns->cap * 2 : 64, 0};
		big.name = xcalloc(big.cap, sizeof(char *));
		big.line = xcalloc(big.cap, sizeof(int));
		for (size_t i = 0; i < ns->cap; i++) {
			if (ns->name[i] == NULL)
				continue;
			size_t j = nameset_slot(&big, ns->name[i]);
			big.name[j] = ns->name[i];
			big.line[j] = ns->line[i];
		}
		big.n = ns->n;
		free(ns->name);
		free(ns->line);
		*ns = big;
	}
	size_t i = nameset_slot(ns, s);
	if (ns->name[i] != NULL)
		return ns->line[i];
	ns->name[i] = xstrdup(s);
	ns->line[i] = line;
	ns->n++;
	return 0;
}

static void nameset_free(struct nameset *ns)
{
	for (size_t i = 0; i < ns->cap; i++)
		free(ns->name[i]);
	free(ns->name);
	free(ns->line);
}

/* ---- pam_oath usersfile ---- */

/* s == NULL: a dry run before the transaction, which checks every line and looks the users
 * up; with the store, the same lines are imported without a user database lookup. */
static int import_oath_lines(struct hctx *h, const struct cfg *c, struct store *s,
			     const struct seal_key *k, char *buf, int force, struct import_dev *d,
			     int *line_no, int *count, char *why_buf, size_t why_len)
{
	struct nameset seen = {NULL, NULL, 0, 0};
	struct import_oath_entry e;
	const unsigned char none[1][STORE_HASH_LEN] = {{0}};
	const char *why = NULL;
	char *cursor = buf, *line;
	int r = -1;

	*line_no = 0;
	*count = 0;
	while ((line = import_next_line(&cursor)) != NULL) {
		(*line_no)++;
		int got = import_oath_line(line, c->user_name_case, s == NULL ? user_exists : NULL,
					   NULL, &e, &why);
		if (got == 0)
			continue;
		if (got < 0)
			goto out;
		int first = nameset_add(&seen, e.user, *line_no);
		if (first != 0) {
			if (rc_snprintf(why_buf, why_len,
					"user %s is also on line %d (one secret per "
					"user)",
					e.user, first) < 0)
				why_buf[0] = '\0';
			why = why_buf;
			goto out;
		}
		if (s == NULL) {
			(*count)++;
			continue;
		}
		int er = existing_enrolment(s, e.user);
		if (er != STORE_OK && er != STORE_NOTFOUND) {
			why = store_errmsg(s);
			goto out;
		}
		if (er == STORE_OK && !force && d->name == NULL) {
			why = "user is already enrolled (--force replaces the secret)";
			goto out;
		}
		if (put_user(s, k, e.user, e.secret, e.len, &e.p, none, 0, (long)h->ruid,
			     "import-oath", d, &why) != 0)
			goto out;
		(*count)++;
	}
	r = 0;
out:
	if (r != 0 && why != why_buf) {
		if (rc_snprintf(why_buf, why_len, "%s", why != NULL ? why : "error") < 0)
			why_buf[0] = '\0';
	}
	rc_wipe(&e, sizeof(e));
	nameset_free(&seen);
	return r;
}

int admin_import_oath(struct hctx *h, int argc, char **argv)
{
	int force = 0, npos = 0, r, line_no = 0, count = 0, missing = 0;
	struct import_dev d = {NULL, 0, 0, ""};
	const struct hx_opt opts[] = {{"force", NULL, &force}, {"device", &d.name, NULL}};
	char *pos[1], why_buf[512] = "", esc[256];
	const char *why = NULL;
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	char *buf = NULL;
	size_t buf_len = 0;

	memset(&k, 0, sizeof(k));
	r = hx_parse_opts(h, "admin import-oath", argc, argv, opts, 2, pos, 1, &npos);
	if (r == HX_PARSE_HELP) {
		out_text(
			"Usage: pam-recover admin import-oath FILE [--force] [--device NAME]\n"
			"  Lines: HOTP/T30[/6|/8] USER - HEXSECRET [...]; blank and # lines skipped.\n"
			"  --device NAME: each secret becomes (or, with --force, replaces) the\n"
			"  device NAME of its user, beside the devices the user has.\n");
		return HX_OK;
	}
	if (r != 0)
		return r;
	if (d.name != NULL && !device_name_ok(d.name))
		return device_bad_name("admin import-oath", d.name);
	d.force = force;
	if (npos != 1)
		return out_fail(HX_USAGE, "admin import-oath: expected FILE (see --help)");
	rc_log_escape(pos[0], esc, sizeof(esc));
	if ((buf = read_admin_file(pos[0], 0, OATH_FILE_MAX, &why, &missing)) == NULL)
		return out_fail(missing ? HX_NOUSER : HX_DATAERR, "admin import-oath: %s %s", esc,
				why);
	buf_len = strlen(buf);
	if ((r = hx_load_config(h, &c)) != 0)
		goto out_buf;
	d.max = c.max_devices;
	if (sodium_init() < 0 || totp_init() != 0) {
		r = out_fail(HX_SOFTWARE,
			     "admin import-oath: cannot initialise the crypto libraries");
		goto out_cfg;
	}
	/* Every line checked, users looked up, before the store is locked. */
	char *dry = xstrdup(buf);
	int dry_ok = import_oath_lines(h, &c, NULL, NULL, dry, force, &d, &line_no, &count, why_buf,
				       sizeof(why_buf)) == 0;
	rc_wipe(dry, buf_len); /* whole: the parser cut it into strings */
	free(dry);
	if (!dry_ok) {
		r = out_fail(HX_DATAERR, "admin import-oath: %s:%d: %s; nothing imported", esc,
			     line_no, why_buf);
		goto out_cfg;
	}
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;
	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin import-oath: store error: %s", store_errmsg(s));
		goto out;
	}
	int ok = import_oath_lines(h, &c, s, &k, buf, force, &d, &line_no, &count, why_buf,
				   sizeof(why_buf)) == 0;
	if (hx_txn_end(s, ok) != 0) {
		if (ok)
			r = out_fail(HX_IOERR,
				     "admin import-oath: nothing imported, store error: %s",
				     store_errmsg(s));
		else
			r = out_fail(HX_DATAERR, "admin import-oath: %s:%d: %s; nothing imported",
				     esc, line_no, why_buf);
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_int(o, "imported", count);
		out_json(o);
	} else
		out_info("imported %d user%s from %s", count, count == 1 ? "" : "s", esc);
	r = HX_OK;
out:
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
out_buf:
	if (buf != NULL) {
		rc_wipe(buf, buf_len); /* whole: the parser cut it into strings */
		free(buf);
	}
	return r;
}

/* ---- ~/.google_authenticator ---- */

int admin_import_google(struct hctx *h, int argc, char **argv)
{
	int force = 0, npos = 0, r, line_no = 0, missing = 0;
	struct import_dev d = {NULL, 0, 0, ""};
	const struct hx_opt opts[] = {{"force", NULL, &force}, {"device", &d.name, NULL}};
	char *pos[2], esc[256];
	const char *why = NULL, *user;
	unsigned char hashes[IMPORT_BACKUP_MAX][STORE_HASH_LEN];
	struct import_ga g;
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	char *buf = NULL;
	uid_t owner = 0;

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	r = hx_parse_opts(h, "admin import-google-authenticator", argc, argv, opts, 2, pos, 2,
			  &npos);
	if (r == HX_PARSE_HELP) {
		out_text(
			"Usage: pam-recover admin import-google-authenticator USER FILE [--force] "
			"[--device NAME]\n"
			"  FILE is USER's ~/.google_authenticator (secret, \" options, scratch codes).\n"
			"  --device NAME: the secret becomes (or, with --force, replaces) the\n"
			"  device NAME beside USER's devices; the scratch codes only come with a\n"
			"  first device.\n");
		return HX_OK;
	}
	if (r != 0)
		return r;
	if (d.name != NULL && !device_name_ok(d.name))
		return device_bad_name("admin import-google-authenticator", d.name);
	d.force = force;
	if (npos != 2)
		return out_fail(
			HX_USAGE,
			"admin import-google-authenticator: expected USER FILE (see --help)");
	user = pos[0];
	if ((r = hx_check_target_user("admin import-google-authenticator", user)) != 0)
		return r;
	const struct passwd *pw = getpwnam(user);
	if (pw != NULL)
		owner = pw->pw_uid;
	rc_log_escape(pos[1], esc, sizeof(esc));
	if ((buf = read_admin_file(pos[1], owner, GA_FILE_MAX, &why, &missing)) == NULL)
		return out_fail(missing ? HX_NOUSER : HX_DATAERR,
				"admin import-google-authenticator: %s %s", esc, why);
	if (import_ga_parse(buf, &g, &line_no, &why) != 0) {
		r = out_fail(HX_DATAERR,
			     "admin import-google-authenticator: %s:%d: %s; nothing "
			     "imported",
			     esc, line_no, why);
		goto out_buf;
	}
	if ((r = hx_load_config(h, &c)) != 0)
		goto out_buf;
	d.max = c.max_devices;
	if (hx_user_canonical(&c, pos[0]) != 0) {
		r = out_fail(HX_DATAERR,
			     "admin import-google-authenticator: not a valid user name");
		goto out_cfg;
	}
	if (sodium_init() < 0 || totp_init() != 0) {
		r = out_fail(HX_SOFTWARE,
			     "admin import-google-authenticator: cannot initialise the "
			     "crypto libraries");
		goto out_cfg;
	}
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;
	for (int i = 0; i < g.ncodes; i++)
		if (secret_hash(&k, user, "backup", g.codes[i], hashes[i]) != 0) {
			r = out_fail(HX_SOFTWARE, "admin import-google-authenticator: cannot hash");
			goto out;
		}

	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin import-google-authenticator: store error: %s",
			     store_errmsg(s));
		goto out;
	}
	int er = existing_enrolment(s, user);
	int ok = 0;
	if (er == STORE_OK && !force && d.name == NULL)
		why = "is already enrolled (--force replaces the secret and backup codes)";
	else if (er != STORE_OK && er != STORE_NOTFOUND)
		why = store_errmsg(s);
	else {
		struct totp_params p = {CFG_ALGO_SHA1, 6, g.period};
		ok = put_user(s, &k, user, g.secret, g.len, &p,
			      (const unsigned char(*)[STORE_HASH_LEN])hashes, (size_t)g.ncodes,
			      (long)h->ruid, "import-google-authenticator", &d, &why) == 0;
	}
	if (hx_txn_end(s, ok) != 0) {
		r = out_fail(ok                           ? HX_IOERR
			     : er == STORE_OK || d.why[0] ? HX_DATAERR
							  : HX_IOERR,
			     "admin import-google-authenticator: %s %s; nothing imported", user,
			     ok ? store_errmsg(s) : why);
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_int(o, "period", g.period);
		oj_int(o, "backup_codes", g.ncodes);
		out_json(o);
	} else
		out_info("imported %s from %s: TOTP every %d s, %d scratch code%s as backup codes",
			 user, esc, g.period, g.ncodes, g.ncodes == 1 ? "" : "s");
	r = HX_OK;
out:
	RC_WIPE_ARRAY(hashes);
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
out_buf:
	rc_wipe(&g, sizeof(g));
	rc_free_secret(buf);
	return r;
}
