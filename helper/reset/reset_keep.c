/*
 * The keep-2FA step of a reset (reset_keep_2fa_with_code = yes): after the first proof, a
 * current TOTP code or an unused backup code keeps 2-step verification on. The code is
 * checked the way a login checks it (window, replay protection by compare-and-set, a backup
 * code used up), but wrong codes count only against this step (counter
 * "reset-totp:USER", code_attempts per unlock_time), never against the login: a reset
 * never locks anyone out of logging in.
 */
#include "reset.h"

#include <string.h>
#include <syslog.h>

#include "out.h"
#include "totp.h"

static int all_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Which device (if any) a typed code belongs to: the first whose current code it is. */
struct keep_match {
	const struct reset *r;
	const char *code;
	int64_t now;
	int bad;     /* a sealed secret did not open */
	int matched; /* name and step set */
	char name[STORE_DEVICE_MAX + 1];
	int64_t step;
};

static int keep_one(void *vctx, const struct store_device *d)
{
	struct keep_match *m = vctx;
	unsigned char secret[STORE_SEALED_MAX];
	size_t slen = 0;
	struct totp_params p = {d->t.algorithm, d->t.digits, d->t.period};

	if (seal_decrypt(&m->r->key, m->r->user, "totp", d->t.sealed, d->t.sealed_len, secret,
			 &slen) != 0) {
		m->bad = 1;
		return 1;
	}
	if (strlen(m->code) == (size_t)d->t.digits &&
	    totp_verify(secret, slen, &p, m->now, m->r->cfg.window, m->code, &m->step) == 0) {
		memcpy(m->name, d->t.device, sizeof(m->name));
		m->matched = 1;
	}
	RC_WIPE_ARRAY(secret);
	return m->matched;
}

/* 1 valid (kept), 0 not, -1 store or key error. *what: "totp" or "backup". A code of any
 * device counts, replay-checked on that device. */
static int check_code(struct reset *r, const char *typed, const char **what)
{
	struct store_totp t;
	struct keep_match m;
	unsigned char h[STORE_HASH_LEN];
	char norm[64];
	int64_t now = rc_now();
	int res = -1, sr;

	memset(&t, 0, sizeof(t));
	memset(&m, 0, sizeof(m));
	norm[0] = '\0';
	*what = "totp";
	if (store_totp_get(r->store, r->user, &t) != STORE_OK)
		goto out;
	res = 0;
	if (secret_normalise(typed, norm, sizeof(norm)) != 0 || !all_digits(norm))
		goto out;
	m.r = r;
	m.code = norm;
	m.now = now;
	if (store_device_list(r->store, r->user, keep_one, &m) != STORE_OK || m.bad) {
		res = -1;
		goto out;
	}
	if (m.matched) {
		sr = store_device_step_cas(r->store, r->user, m.name, m.step, now);
		res = sr == STORE_OK ? 1 : sr == STORE_CONFLICT ? 0 : -1;
		goto out;
	}
	if (strlen(norm) == SECRET_BACKUP_DIGITS) {
		*what = "backup";
		if (secret_hash(&r->key, r->user, "backup", norm, h) != 0) {
			res = -1;
			goto out;
		}
		sr = store_backup_use(r->store, r->user, h, now);
		res = sr == STORE_OK ? 1 : sr == STORE_NOTFOUND ? 0 : -1;
	}
out:
	rc_wipe(&m, sizeof(m));
	RC_WIPE_ARRAY(h);
	RC_WIPE_ARRAY(norm);
	rc_wipe(&t, sizeof(t));
	return res;
}

int reset_totp_step(struct reset *r)
{
	char typed[RESET_INPUT_MAX], key[HX_USER_MAX + 16];
	int window = reset_lock_window(r);
	int rc = HX_OK, count = 0;

	typed[0] = '\0';
	if (rc_snprintf(key, sizeof(key), "reset-totp:%s", r->user) < 0)
		return HX_SOFTWARE;
	for (int tries = 0; tries < RESET_TOTP_TRIES; tries++) {
		struct json_object *st = reset_step(
			"totp",
			"If you still have your authenticator app or a backup code, enter a "
			"code to keep 2-step verification on. An empty line goes on and turns "
			"2-step verification off with the reset.");
		oj_bool(st, "optional", 1);
		if ((rc = reset_ask(r, st, "totp", "Authenticator or backup code (Enter to skip): ",
				    0, typed, sizeof(typed))) != HX_OK)
			goto out;
		if (typed[strspn(typed, " \t")] == '\0')
			break;
		/* Count the try first; over the limit, the step is not offered again. */
		if (store_counter_hit(r->store, key, rc_now(), window, &count) != STORE_OK) {
			rc = reset_store_fail(r);
			goto out;
		}
		if (count > r->cfg.code_attempts) {
			reset_error(r, "locked", 0,
				    "Too many wrong codes: 2-step verification cannot "
				    "be kept this time.");
			reset_audit(r, "reset-locked", "totp", "too many wrong codes");
			break;
		}
		const char *what = "totp";
		int ok;
		if (hx_txn_begin(r->store) != 0) {
			rc = reset_store_fail(r);
			goto out;
		}
		ok = check_code(r, typed, &what);
		if (hx_txn_end(r->store, ok >= 0) != 0 || ok < 0) {
			rc = reset_store_fail(r);
			goto out;
		}
		if (ok) {
			r->keep_2fa = 1;
			reset_audit(r, "reset-2fa-code-ok", what, "");
			goto out;
		}
		reset_audit(r, "reset-2fa-code-wrong", "totp", "");
		if (tries + 1 < RESET_TOTP_TRIES)
			reset_error(r, "wrong_code", 0, "That code is not valid.");
	}
	{
		struct json_object *info =
			reset_step("info", "2-step verification will be turned off by this reset.");
		r->ui->show(r, info);
	}
out:
	RC_WIPE_ARRAY(typed);
	return rc;
}
