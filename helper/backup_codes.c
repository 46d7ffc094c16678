/*
 * `pam-recover backup-codes`: a fresh set of single-use backup codes (the old set stops
 * working), shown once; `backup-codes status`: how many are left.
 */
#include <stdio.h>
#include <string.h>

#include "helper.h"
#include "factor.h"
#include "identity.h"
#include "login.h"
#include "out.h"
#include "uverb.h"

#define BACKUP_SET_MAX 50
#define BACKUP_FEW 2 /* at most this many left: suggest a new set */

static const char backup_usage[] =
	"Usage: pam-recover backup-codes [--user USER] [--json]\n"
	"       pam-recover backup-codes status [--user USER] [--json]\n"
	"\n"
	"Backup codes log you in when the phone is not at hand: each works once, in place of\n"
	"a code from the app.\n"
	"\n"
	"  (no argument)  after your password and a current code from the app, make a new\n"
	"                 set and show it once; the old codes stop working\n"
	"  status         how many unused codes are left\n"
	"  --user USER    act for USER (root only; no password is asked)\n"
	"  --json         JSON output; input on stdin: {\"password\":\"...\"} and\n"
	"                 {\"current_code\":\"...\"} (non-root)\n"
	"\n"
	"Exit status: 0 ok, 1 wrong password, 65 2-step verification is off, 75 too many wrong\n"
	"passwords, 77 permission denied; see pam-recover(8).\n";

static int show_status(struct uverb *u)
{
	int left = 0, lr = login_enrolled(u->store, u->user);
	int br = lr == LOGIN_OK ? store_backup_count(u->store, u->user, &left) : STORE_NOTFOUND;

	if (lr == LOGIN_ERROR || (br != STORE_OK && br != STORE_NOTFOUND))
		return out_fail(HX_IOERR, "backup-codes status: store error: %s",
				store_errmsg(u->store));
	if (br == STORE_NOTFOUND)
		left = 0;
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_bool(o, "totp_enabled", lr == LOGIN_OK);
		oj_int(o, "backup_codes_left", left);
		out_json(o);
	} else if (lr != LOGIN_OK)
		out_info("2-step verification is off for %s, so there are no backup codes. Turn it "
			 "on with `pam-recover enable`.",
			 u->user);
	else {
		out_info("%s has %d unused backup code%s.", u->user, left, left == 1 ? "" : "s");
		if (left <= BACKUP_FEW)
			out_info(
				"Make a new set with `pam-recover backup-codes` (the old codes then "
				"stop working).");
	}
	return HX_OK;
}

static void show_codes(const struct uverb *u, char (*codes)[SECRET_BACKUP_DIGITS + 1], size_t n)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object(), *a = oj_array();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		for (size_t i = 0; i < n; i++)
			oj_push_str(a, codes[i]);
		oj_put(o, "backup_codes", a);
		oj_int(o, "backup_codes_left", (int64_t)n);
		out_json(o);
		return;
	}
	out_info("A new set of %zu backup codes for %s; the old codes no longer work.", n, u->user);
	out_info("Each works once, in place of a code from the app. They are shown only now:");
	out_info("write them down or print them and keep them somewhere safe.");
	for (size_t i = 0; i < n; i += 2) {
		if (i + 1 < n)
			out_info("   %s   %s", codes[i], codes[i + 1]);
		else
			out_info("   %s", codes[i]);
	}
}

static int new_set(const struct hctx *h, struct uverb *u)
{
	char codes[BACKUP_SET_MAX][SECRET_BACKUP_DIGITS + 1];
	unsigned char hashes[BACKUP_SET_MAX][STORE_HASH_LEN];
	char detail[64];
	size_t n = u->cfg.backup_codes > 0 ? (size_t)u->cfg.backup_codes : 0;
	int r, lr;

	memset(codes, 0, sizeof(codes));
	memset(hashes, 0, sizeof(hashes));
	if (n > BACKUP_SET_MAX)
		n = BACKUP_SET_MAX;
	lr = login_enrolled(u->store, u->user);
	if (lr == LOGIN_NOT_ENROLLED) {
		r = out_fail(HX_DATAERR,
			     "backup-codes: 2-step verification is off for %s; backup "
			     "codes come with it: turn it on with `pam-recover enable`",
			     u->user);
		goto out;
	}
	if (lr != LOGIN_OK) {
		r = uv_store_fail(u);
		goto out;
	}
	if ((r = identity_confirm(h, &u->cfg, u->store, u->user)) != HX_OK ||
	    (r = factor_prove(h, u, "current_code", NULL, 0, "the backup codes stay as they are",
			      NULL)) != HX_OK)
		goto out;
	/* The new codes exist only in what we print: with nowhere to print them, the old set
	 * must stay. */
	if (!hx_stdout_usable()) {
		r = out_fail(HX_IOERR,
			     "backup-codes: standard output is closed or nobody reads it, "
			     "so the new codes could not be shown; nothing changed, the "
			     "old codes still work");
		goto out;
	}
	if (hx_make_backup_codes(&u->key, u->user, n, codes, hashes) != 0) {
		r = out_fail(HX_SOFTWARE, "backup-codes: cannot make the codes; nothing changed");
		goto out;
	}
	if (rc_snprintf(detail, sizeof(detail), "new set of %zu", n) < 0)
		detail[0] = '\0';
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	/* Still enrolled inside the transaction: a set without a secret would be useless. */
	int ok = login_enrolled(u->store, u->user) == LOGIN_OK &&
		 store_backup_replace(u->store, u->user,
				      (const unsigned char(*)[STORE_HASH_LEN])hashes,
				      n) == STORE_OK &&
		 uv_audit(h, u, "backup-codes", detail) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	uv_log(h, u, "backup-codes", detail);
	show_codes(u, codes, n);
	r = HX_OK;
out:
	RC_WIPE_ARRAY(codes);
	RC_WIPE_ARRAY(hashes);
	return r;
}

int cmd_backup_codes(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	char *pos[1] = {NULL};
	int r, done = HX_USAGE, npos = 0;

	memset(&u, 0, sizeof(u));
	u.name = "backup-codes";
	if (uv_parse(h, &u, backup_usage, argc, argv, NULL, 0, pos, 0, 1, &npos, &done) != 0)
		return done;
	if (npos == 1 && strcmp(pos[0], "status") != 0) {
		char esc[64];
		rc_log_escape(pos[0], esc, sizeof(esc));
		return out_fail(HX_USAGE, "backup-codes: unknown argument \"%s\" (see --help)",
				esc);
	}
	if (npos == 1)
		u.name = "backup-codes status";
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	r = npos == 1 ? show_status(&u) : new_set(h, &u);
out:
	uv_close(&u);
	return r;
}
