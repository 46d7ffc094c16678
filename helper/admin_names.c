/*
 * `pam-recover admin canonicalise-names [--keep NAME[,NAME...]] [--dry-run]` (root only):
 * one user, one name for a store written before user names were canonical.
 *
 * Every name that holds data but is not in its canonical form (user_name_case) moves to it,
 * all in one transaction: the TOTP secret, a pending re-enrolment and the recovery contacts
 * are sealed again under the canonical name (the name is their associated data); the replay
 * step, a running lock and the security question move as they are. Backup codes, app
 * passwords and live one-time codes are keyed hashes bound to the old spelling: they cannot
 * move, are removed, and the count is reported (the user makes new ones). Audit events stay
 * under the spelling they were written with; an event "canonical-name" records the move.
 *
 * Two spellings of one name that both hold data are a collision: nothing at all changes,
 * each collision is listed (exit 65), and the administrator says which spelling's data to
 * keep with --keep (the others' data is removed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <sodium.h>

#include "contacts.h"
#include "helper.h"
#include "out.h"

#define NAMES_MAX 1000000

struct name {
	char *have;  /* as stored */
	char *canon; /* canonical form */
};

struct names {
	struct name *v;
	size_t n, cap;
	const struct cfg *c;
	int overflow;
};

static int collect(void *vctx, const char *user)
{
	struct names *ns = vctx;
	char canon[HX_USER_MAX];

	if (ns->n == NAMES_MAX) {
		ns->overflow = 1;
		return 1;
	}
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		struct name *v = xcalloc(cap, sizeof(*v));

		if (ns->n > 0)
			memcpy(v, ns->v, ns->n * sizeof(*v));
		free(ns->v);
		ns->v = v;
		ns->cap = cap;
	}
	if (rc_user_name_canonical(ns->c->user_name_case, user, canon, sizeof(canon)) != 0)
		canon[0] = '\0';
	ns->v[ns->n].have = xstrdup(user);
	ns->v[ns->n].canon = xstrdup(canon);
	ns->n++;
	return 0;
}

static int by_canon(const void *a, const void *b)
{
	const struct name *x = a, *y = b;
	int d = strcmp(x->canon, y->canon);

	return d != 0 ? d : strcmp(x->have, y->have);
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		free(ns->v[i].have);
		free(ns->v[i].canon);
	}
	free(ns->v);
	memset(ns, 0, sizeof(*ns));
}

/* Is `name` one of the comma-separated names of --keep? */
static int kept(const char *keep, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = keep; p != NULL && *p != '\0';) {
		size_t l = strcspn(p, ",");

		if (l == len && strncmp(p, name, len) == 0)
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A record sealed under `from` sealed again, in place, under `to`. 0 or -1. */
static int reseal(const struct seal_key *k, const char *from, const char *to, const char *field,
		  unsigned char *sealed, size_t *sealed_len, size_t max)
{
	unsigned char plain[STORE_SEALED_MAX];
	size_t plen = 0;
	int r = -1;

	if (seal_decrypt(k, from, field, sealed, *sealed_len, plain, &plen) != 0 ||
	    plen + SEAL_OVERHEAD > max ||
	    seal_encrypt(k, to, field, plain, plen, sealed, sealed_len) != 0)
		goto out;
	r = 0;
out:
	RC_WIPE_ARRAY(plain);
	return r;
}

static int count_app(void *ctx, const struct store_app_password *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/* The devices of `from`, each sealed again under `to`. */
struct name_devices {
	const struct seal_key *k;
	const char *from, *to;
	struct store_device d[CFG_MAX_DEVICES_LIMIT];
	int n;
	int bad; /* a sealed secret did not open, or more devices than max_devices allows */
};

static int device_one(void *vctx, const struct store_device *d)
{
	struct name_devices *dv = vctx;

	if (dv->n >= CFG_MAX_DEVICES_LIMIT) {
		dv->bad = 1;
		return 1;
	}
	dv->d[dv->n] = *d;
	if (reseal(dv->k, dv->from, dv->to, "totp", dv->d[dv->n].t.sealed,
		   &dv->d[dv->n].t.sealed_len, sizeof(dv->d[dv->n].t.sealed)) != 0) {
		dv->bad = 1;
		return 1;
	}
	dv->n++;
	return 0;
}

struct moved {
	int backup; /* unused backup codes removed */
	int apps;   /* app passwords removed */
};

/*
 * Move everything of `from` to `to` (which holds nothing), inside the caller's transaction.
 * 0, or -1 with *why (a static text or the store's message).
 */
static int move_user(struct store *s, const struct seal_key *k, const char *from, const char *to,
		     long ruid, struct moved *m, const char **why)
{
	struct store_totp p;
	struct name_devices dv;
	struct store_login_state st = {-1, 0, 0};
	struct store_contact sc[3];
	struct store_question q;
	int have_t, have_p, have_q, have_c[3], r, failures = 0, locked = 0;
	int64_t now = rc_now();
	char detail[200];

	memset(m, 0, sizeof(*m));
	memset(&dv, 0, sizeof(dv));
	memset(&p, 0, sizeof(p));
	memset(sc, 0, sizeof(sc));
	*why = "cannot open a sealed record with the key (wrong key_file or tampered record); "
	       "nothing changed";
	/* Read and seal again first, so nothing is removed before everything is in hand. */
	dv.k = k;
	dv.from = from;
	dv.to = to;
	if (store_device_list(s, from, device_one, &dv) != STORE_OK)
		goto store_fail;
	if (dv.bad)
		goto fail;
	have_t = dv.n > 0;
	if (have_t && store_state_get(s, from, &st) != STORE_OK)
		goto store_fail;
	r = store_pending_get(s, from, &p);
	if (r != STORE_OK && r != STORE_NOTFOUND)
		goto store_fail;
	have_p = r == STORE_OK;
	if (have_p && reseal(k, from, to, "totp", p.sealed, &p.sealed_len, sizeof(p.sealed)) != 0)
		goto fail;
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++) {
		r = store_contact_get(s, from, kind, &sc[kind]);
		if (r != STORE_OK && r != STORE_NOTFOUND)
			goto store_fail;
		have_c[kind] = r == STORE_OK;
		if (have_c[kind] && reseal(k, from, to, contact_seal_field(kind), sc[kind].sealed,
					   &sc[kind].sealed_len, sizeof(sc[kind].sealed)) != 0)
			goto fail;
	}
	r = store_question_get(s, from, &q);
	if (r != STORE_OK && r != STORE_NOTFOUND)
		goto store_fail;
	have_q = r == STORE_OK;
	if (store_backup_count(s, from, &m->backup) != STORE_OK ||
	    store_app_list(s, from, count_app, &m->apps) != STORE_OK)
		goto store_fail;

	r = store_user_purge(s, from);
	if (r != STORE_OK && r != STORE_NOTFOUND)
		goto store_fail;
	/* Every device, with its replay step; a running lock carries over (the first device
	 * starts a clean state). */
	for (int i = 0; i < dv.n; i++) {
		if (store_device_add(s, to, &dv.d[i].t, 0) != STORE_OK)
			goto store_fail;
		if (dv.d[i].last_step >= 0 &&
		    store_device_step_cas(s, to, dv.d[i].t.device, dv.d[i].last_step,
					  dv.d[i].last_used) != STORE_OK)
			goto store_fail;
	}
	if (have_t && st.locked_until > now &&
	    store_fail(s, to, now, 1, (int)(st.locked_until - now), &failures, &locked) != STORE_OK)
		goto store_fail;
	if (have_p && store_pending_put(s, to, &p) != STORE_OK)
		goto store_fail;
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++)
		if (have_c[kind] && store_contact_put(s, to, &sc[kind]) != STORE_OK)
			goto store_fail;
	if (have_q && store_question_put(s, to, &q) != STORE_OK)
		goto store_fail;
	if (rc_snprintf(detail, sizeof(detail), "was %s; removed %d backup codes, %d app passwords",
			from, m->backup, m->apps) < 0)
		detail[0] = '\0';
	if (store_audit_add(s, to, ruid, "canonical-name", "admin", detail) != STORE_OK)
		goto store_fail;
	rc_wipe(&dv, sizeof(dv));
	rc_wipe(&p, sizeof(p));
	rc_wipe(sc, sizeof(sc));
	return 0;
store_fail:
	*why = store_errmsg(s);
fail:
	rc_wipe(&dv, sizeof(dv));
	rc_wipe(&p, sizeof(p));
	rc_wipe(sc, sizeof(sc));
	return -1;
}

static void report_move(const struct name *nm, const struct moved *m, int dry)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_str(o, "from", nm->have);
		oj_str(o, "to", nm->canon);
		oj_bool(o, "dry_run", dry);
		if (!dry) {
			oj_int(o, "backup_codes_removed", m->backup);
			oj_int(o, "app_passwords_removed", m->apps);
		}
		out_json(o);
		return;
	}
	if (dry) {
		out_info("%s -> %s (would move)", nm->have, nm->canon);
		return;
	}
	out_info("%s -> %s", nm->have, nm->canon);
	if (m->backup > 0 || m->apps > 0)
		out_info("  removed %d unused backup codes and %d app passwords (bound to the old "
			 "spelling): %s makes new ones with `pam-recover backup-codes` and "
			 "`pam-recover app-password add`",
			 m->backup, m->apps, nm->canon);
}

int admin_canonicalise_names(struct hctx *h, int argc, char **argv)
{
	int dry = 0, done = HX_USAGE, r, collisions = 0, ok = 1, changed = 0;
	const char *keep = NULL, *why = "";
	struct hx_opt opts[] = {{"keep", &keep, NULL}, {"dry-run", NULL, &dry}};
	struct names ns;
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;

	memset(&ns, 0, sizeof(ns));
	memset(&k, 0, sizeof(k));
	if (admin_parse(h, "canonicalise-names", argc, argv, opts, 2, NULL, 0, &done) != 0)
		return done;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	ns.c = &c;
	if (c.user_name_case == RC_NAME_EXACT) {
		out_info("user_name_case = exact: names are kept as typed; nothing to do");
		r = HX_OK;
		goto out_cfg;
	}
	if (sodium_init() < 0) {
		r = out_fail(HX_SOFTWARE, "admin canonicalise-names: cannot initialise libsodium");
		goto out_cfg;
	}
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;
	if (store_user_names(s, collect, &ns) != STORE_OK || ns.overflow) {
		r = out_fail(HX_IOERR, "admin canonicalise-names: nothing changed, %s",
			     ns.overflow ? "too many names" : store_errmsg(s));
		goto out;
	}
	if (ns.n > 0)
		qsort(ns.v, ns.n, sizeof(ns.v[0]), by_canon);

	/* Collisions first: all or nothing. */
	for (size_t i = 0; i < ns.n;) {
		size_t j = i + 1, nkeep = 0;

		while (j < ns.n && strcmp(ns.v[j].canon, ns.v[i].canon) == 0)
			j++;
		for (size_t x = i; x < j; x++)
			nkeep += kept(keep, ns.v[x].have);
		if (j - i > 1 && nkeep != 1) {
			collisions++;
			out_warn("collision: %zu spellings of %s hold data:", j - i, ns.v[i].canon);
			for (size_t x = i; x < j; x++)
				out_warn("  %s", ns.v[x].have);
		}
		if (ns.v[i].canon[0] == '\0' || !rc_user_name_ok(ns.v[i].canon)) {
			r = out_fail(HX_DATAERR,
				     "admin canonicalise-names: the stored name %s has "
				     "no valid canonical form; nothing changed",
				     ns.v[i].have);
			goto out;
		}
		i = j;
	}
	if (collisions > 0) {
		r = out_fail(HX_DATAERR,
			     "admin canonicalise-names: %d name%s held under several spellings; "
			     "nothing changed. Say whose data to keep with --keep NAME[,NAME...] "
			     "(the data of the other spellings is removed)",
			     collisions, collisions == 1 ? " is" : "s are");
		goto out;
	}
	if (!dry && hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin canonicalise-names: store error: %s",
			     store_errmsg(s));
		goto out;
	}
	for (size_t i = 0; ok && i < ns.n;) {
		size_t j = i + 1, keeper = i;

		while (j < ns.n && strcmp(ns.v[j].canon, ns.v[i].canon) == 0)
			j++;
		for (size_t x = i; j - i > 1 && x < j; x++)
			if (kept(keep, ns.v[x].have))
				keeper = x;
		for (size_t x = i; ok && x < j; x++) {
			int pr;

			if (x == keeper)
				continue;
			if (dry) {
				out_info("%s: its data would be removed (--keep %s)", ns.v[x].have,
					 ns.v[keeper].have);
				continue;
			}
			pr = store_user_purge(s, ns.v[x].have);
			ok = (pr == STORE_OK || pr == STORE_NOTFOUND) &&
			     store_audit_add(s, ns.v[x].have, (long)h->ruid,
					     "canonical-name-removed", "admin",
					     "another spelling was kept") == STORE_OK;
			if (!ok)
				why = store_errmsg(s);
			else
				out_info("%s: data removed (--keep %s)", ns.v[x].have,
					 ns.v[keeper].have);
			changed++;
		}
		if (ok && strcmp(ns.v[keeper].have, ns.v[keeper].canon) != 0) {
			struct moved m = {0, 0};

			if (!dry && move_user(s, &k, ns.v[keeper].have, ns.v[keeper].canon,
					      (long)h->ruid, &m, &why) != 0)
				ok = 0;
			if (ok)
				report_move(&ns.v[keeper], &m, dry);
			changed++;
		}
		i = j;
	}
	if (dry) {
		out_info("%d change%s (dry run: nothing written)", changed,
			 changed == 1 ? "" : "s");
		r = HX_OK;
		goto out;
	}
	if (hx_txn_end(s, ok) != 0) {
		r = out_fail(HX_IOERR, "admin canonicalise-names: nothing changed: %s",
			     ok ? store_errmsg(s) : why);
		goto out;
	}
	syslog(LOG_NOTICE, "admin canonicalise-names: ruid=%ld moved or removed %d names",
	       (long)h->ruid, changed);
	if (!out_json_mode())
		out_info("%d name%s changed", changed, changed == 1 ? "" : "s");
	r = HX_OK;
out:
	hx_close(&k, s);
out_cfg:
	names_free(&ns);
	cfg_free(&c);
	return r;
}
