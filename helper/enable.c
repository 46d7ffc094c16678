/*
 * `pam-recover enable`: turn on 2-step verification the way seed 002 describes. A new secret
 * is kept as a pending enrolment (an earlier secret stays active) until the first code from
 * the app verifies; then secret, replay step, backup codes and audit event are committed in
 * one transaction. Replacing an active secret takes a current code or a backup code first
 * (besides the password), so a stolen password cannot move 2FA to another phone.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "device.h"
#include "factor.h"
#include "helper.h"
#include "identity.h"
#include "login.h"
#include "out.h"
#include "qr.h"
#include "totp.h"
#include "tty.h"
#include "uverb.h"

#define ENABLE_SECRET_LEN 20
#define ENABLE_BACKUP_MAX 50
#define ENABLE_URI_MAX 1024
#define ENABLE_CODE_MAX 32
#define ENABLE_TRIES 3         /* first codes tried against one new secret before starting over */
#define ENABLE_SCREEN_LINES 24 /* the terminal the barcode and the code prompt must fit */
#define ENABLE_SCREEN_COLS 80

static const char enable_usage[] =
	"Usage: pam-recover enable [--name NAME] [--user USER] [--json]\n"
	"\n"
	"Turn on 2-step verification for your account. After your password, a barcode (QR\n"
	"code) is shown: scan it with a code generator app on your phone (FreeOTP, Google\n"
	"Authenticator or any TOTP app), or type the key shown under \"Can't scan the barcode?\".\n"
	"Then enter the first code the app shows (three tries). Only when it is right is 2-step\n"
	"verification activated; ten backup codes are then printed once.\n"
	"\n"
	"When it is already on, running it again asks first for a current code from the app,\n"
	"then gives a new secret that replaces every device; the current ones and the backup\n"
	"codes keep working until the new one is verified. Lost the phone? Run\n"
	"`pam-recover enable --lost-app`: a backup code then stands in for the app, the other\n"
	"backup codes are replaced by a new set, and your recovery contacts are told. Lost\n"
	"the backup codes too? Reset the password (`pam-recover reset`) or ask the\n"
	"administrator.\n"
	"\n"
	"  --name NAME  what to call this device (default phone); more devices: `pam-recover\n"
	"               device add NAME`\n"
	"  --lost-app   the app is lost: give a backup code instead of a code from the app\n"
	"  --user USER  act for USER (root only; no password is asked)\n"
	"  --json       one JSON object per step on stdout; input objects on stdin:\n"
	"               {\"password\":\"...\"} (non-root), {\"current_code\":\"...\"} (when\n"
	"               already on), then {\"code\":\"123456\"} (the first code of the new\n"
	"               secret, after the object that shows it; a wrong one is answered\n"
	"               {\"ok\":false,\"step\":\"verify\",\"tries_left\":N,...})\n"
	"\n"
	"Exit status: 0 activated, 1 wrong password or code (nothing changed), 75 too many\n"
	"wrong passwords, 77 permission denied; see pam-recover(8).\n";

struct enrolment {
	struct totp_params p;
	unsigned char secret[ENABLE_SECRET_LEN];
	struct store_totp t; /* the sealed secret, as stored pending */
	char b32[64];
	char grouped[80];
	char uri[ENABLE_URI_MAX];
	char label[HX_USER_MAX + 256];
	char issuer_buf[256];
	const char *issuer;
};

static void enrolment_wipe(struct enrolment *e)
{
	rc_wipe(e, sizeof(*e));
}

static int make_enrolment(struct uverb *u, struct enrolment *e)
{
	e->p.algorithm = u->cfg.algorithm;
	e->p.digits = u->cfg.digits;
	e->p.period = u->cfg.period;
	randombytes_buf(e->secret, sizeof(e->secret));
	e->t.algorithm = e->p.algorithm;
	e->t.digits = e->p.digits;
	e->t.period = e->p.period;
	e->t.created = rc_now();
	e->issuer = hx_issuer(&u->cfg, e->issuer_buf, sizeof(e->issuer_buf));
	if (seal_encrypt(&u->key, u->user, "totp", e->secret, sizeof(e->secret), e->t.sealed,
			 &e->t.sealed_len) != 0 ||
	    totp_base32_encode(e->secret, sizeof(e->secret), e->b32, sizeof(e->b32)) != 0 ||
	    hx_totp_label(u->user, e->label, sizeof(e->label)) != 0 ||
	    totp_uri(e->issuer, u->user, e->secret, sizeof(e->secret), &e->p, e->uri,
		     sizeof(e->uri)) != 0)
		return -1;
	hx_group4(e->b32, e->grouped, sizeof(e->grouped));
	return 0;
}

/* Show what the app needs: barcode, URI, key by hand; or the JSON object of this step. */
static int show_enrolment(const struct uverb *u, const struct enrolment *e, int replacing)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "step", "verify");
		oj_str(o, "uri", e->uri);
		oj_str(o, "secret", e->b32);
		oj_str(o, "issuer", e->issuer);
		oj_str(o, "label", e->label);
		oj_str(o, "algorithm", hx_algo_name(e->p.algorithm));
		oj_int(o, "digits", e->p.digits);
		oj_int(o, "period", e->p.period);
		oj_bool(o, "replacing", replacing);
		out_json(o);
		return 0;
	}
	out_info("2-step verification for %s", e->label);
	if (replacing)
		out_info("Your current app entry and backup codes keep working until the new code "
			 "is verified.");
	out_info("%s", "");
	out_info("1) Install a code generator app on your phone (FreeOTP, Google Authenticator,");
	out_info("   or any other TOTP app).");
	out_info("   Can't scan the barcode? Add the account in the app by hand:");
	out_info("      account: %s", e->label);
	out_info("      key:     %s", e->grouped);
	out_info("      type:    time based, %s, %d digits, every %d seconds",
		 hx_algo_name(e->p.algorithm), e->p.digits, e->p.period);
	out_info("   or open this link on the phone:");
	out_info("      %s", e->uri);
	out_info("%s", "");
	/* The barcode comes last, right above the code prompt, so that on an 80x24 terminal the
	 * whole symbol is on the screen when the code is asked. */
	out_info("2) Scan this barcode with the app, then enter the code the app shows:");
	fflush(stdout);
	int qr = qr_print(stdout, e->uri, ENABLE_SCREEN_LINES - 2, ENABLE_SCREEN_COLS, NULL);
	if (qr < 0)
		out_info("   (the barcode cannot be drawn; use the key above)");
	else if (qr > 0)
		out_info(
			"   (make the window taller to see all of the barcode, or use the key above)");
	fflush(stdout);
	return 0;
}

static int all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The pending row is still the one this run wrote (no second `enable` raced us). */
static int pending_is_ours(struct uverb *u, const struct enrolment *e, int *ours)
{
	struct store_totp cur;
	int r;

	*ours = 0;
	memset(&cur, 0, sizeof(cur));
	r = store_pending_get(u->store, u->user, &cur);
	if (r == STORE_OK)
		*ours = cur.sealed_len == e->t.sealed_len &&
			sodium_memcmp(cur.sealed, e->t.sealed, cur.sealed_len) == 0;
	rc_wipe(&cur, sizeof(cur));
	return r == STORE_OK || r == STORE_NOTFOUND ? 0 : -1;
}

static void show_done(const struct uverb *u, const struct enrolment *e, int replaced,
		      char (*codes)[SECRET_BACKUP_DIGITS + 1], size_t ncodes)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object(), *a = oj_array();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_bool(o, "totp_enabled", 1);
		oj_bool(o, "replaced", replaced);
		oj_str(o, "device", e->t.device);
		oj_str(o, "algorithm", hx_algo_name(e->p.algorithm));
		oj_int(o, "digits", e->p.digits);
		oj_int(o, "period", e->p.period);
		for (size_t i = 0; i < ncodes; i++)
			oj_push_str(a, codes[i]);
		oj_put(o, "backup_codes", a);
		out_json(o);
		return;
	}
	out_info("%s", "");
	out_info("2-step verification is activated for your account (%s).", u->user);
	if (replaced)
		out_info(
			"The previous secret and backup codes no longer work: remove the old entry "
			"from the app.");
	out_info("%s", "");
	out_info("Backup codes: each works once, in place of a code from the app, when the phone");
	out_info("is not at hand. They are shown only now: write them down or print them and keep");
	out_info("them somewhere safe.");
	for (size_t i = 0; i < ncodes; i += 2) {
		if (i + 1 < ncodes)
			out_info("   %s   %s", codes[i], codes[i + 1]);
		else
			out_info("   %s", codes[i]);
	}
	out_info("%s", "");
	out_info("The next time you log in, after you have entered your login and password, you");
	out_info("will be asked for a %d-digit code generated by the app on your phone.",
		 e->p.digits);
}

/* Already on: whoever replaces the secret shows a current code from the app first (or, with
 * --lost-app, a backup code: factor.h), so a password alone cannot move 2-step verification
 * to another phone. */
static int prove_current(const struct hctx *h, struct uverb *u, int lost_app, int *by_backup)
{
	if (h->ruid == 0) {
		out_info("2-step verification is already on for %s. To replace it, first give a "
			 "code",
			 u->user);
		out_info("from the app as it is set up now, or one of your backup codes.");
	}
	return factor_prove(h, u, "current_code", "Current code from the app, or a backup code: ",
			    lost_app ? FACTOR_LOST_APP : 0, "2-step verification stays as it is",
			    by_backup);
}

/* No activation after all: drop this run's pending secret (best effort; a later `enable`
 * replaces it anyway). */
static void drop_pending(const struct hctx *h, struct uverb *u, const struct enrolment *e,
			 const char *why)
{
	int ours = 0;

	if (hx_txn_begin(u->store) != 0)
		return;
	int ok = pending_is_ours(u, e, &ours) == 0;
	if (ok && ours) {
		int pr = store_pending_delete(u->store, u->user);
		ok = (pr == STORE_OK || pr == STORE_NOTFOUND) &&
		     uv_audit(h, u, "enable-failed", why) == 0;
	}
	if (hx_txn_end(u->store, ok) != 0)
		out_warn("enable: could not remove the unverified secret: %s",
			 store_errmsg(u->store));
	uv_log(h, u, "enable-failed", why);
}

/* The code was wrong, ENABLE_TRIES times: say how to go on. */
static int missed_code(int replacing)
{
	return out_fail(
		HX_WRONG,
		"enable: that code does not match either; 2-step verification %s. Repeat "
		"`pam-recover enable`: erase the entry in the app, scan the new barcode and "
		"enter the code it shows. If codes never match, set the time on your phone "
		"automatically.",
		replacing ? "stays on with your current secret" : "is still off");
}

/* The same for `device add NAME`: nothing was added. */
static int missed_device(const char *name)
{
	return out_fail(
		HX_WRONG,
		"device add: that code does not match either; no device was added. Repeat "
		"`pam-recover device add %s`: erase the entry in the app, scan the new "
		"barcode and enter the code it shows. If codes never match, set the time on "
		"the device automatically.",
		name);
}

/* A wrong first code with tries left: the same secret, another try. */
static void wrong_try(int left)
{
	static const char msg[] = "That code does not match. Check that it comes from the entry "
				  "just added to the app, and that the phone's time is right.";

	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 0);
		oj_str(o, "step", "verify");
		oj_str(o, "error", msg);
		oj_int(o, "tries_left", left);
		out_json(o);
		return;
	}
	out_info("%s", msg);
	out_info("%d %s left.", left, left == 1 ? "try" : "tries");
}

/* Is `code` the current code of the new secret? *step gets its time step. */
static int first_code_ok(const struct uverb *u, const struct enrolment *e, const char *code,
			 int64_t *step)
{
	char norm[ENABLE_CODE_MAX];
	int ok = secret_normalise(code, norm, sizeof(norm)) == 0 &&
		 strlen(norm) == (size_t)e->p.digits && all_digits(norm) &&
		 totp_verify(e->secret, sizeof(e->secret), &e->p, rc_now(), u->cfg.window, norm,
			     step) == 0;

	RC_WIPE_ARRAY(norm);
	return ok;
}

/* ENABLE_TRIES tries on the new secret (a mistyped code, a scan of the wrong entry), typed
 * hidden like every code; then it is dropped (HX_WRONG) and enable starts over. HX_OK with
 * the code's step in *step. `adding`: the device name of `device add`, or NULL. */
static int ask_first_code(const struct hctx *h, struct uverb *u, const struct enrolment *e,
			  int replacing, const char *adding, int64_t *step)
{
	char code[ENABLE_CODE_MAX], prompt[64];
	int r;

	if (rc_snprintf(prompt, sizeof(prompt), "Code from the app (%d digits): ", e->p.digits) < 0)
		prompt[0] = '\0';
	for (int tries = 1;; tries++) {
		if ((r = tty_ask("code", prompt, 1, code, sizeof(code))) != HX_OK) {
			drop_pending(h, u, e,
				     tries > 1 ? "first code did not verify" : "no first code");
			/* Input ended after a wrong code: the code did not verify (exit 1). */
			if (tries > 1 && r == HX_DATAERR)
				r = adding != NULL ? missed_device(adding) : missed_code(replacing);
			break;
		}
		if (first_code_ok(u, e, code, step)) {
			r = HX_OK;
			break;
		}
		RC_WIPE_ARRAY(code);
		if (tries >= ENABLE_TRIES) {
			drop_pending(h, u, e, "first code did not verify");
			r = adding != NULL ? missed_device(adding) : missed_code(replacing);
			break;
		}
		wrong_try(ENABLE_TRIES - tries);
	}
	RC_WIPE_ARRAY(code);
	return r;
}

int cmd_enable(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	struct enrolment e;
	struct store_totp old;
	char codes[ENABLE_BACKUP_MAX][SECRET_BACKUP_DIGITS + 1];
	unsigned char hashes[ENABLE_BACKUP_MAX][STORE_HASH_LEN];
	size_t ncodes = 0;
	int64_t step = -1;
	int r, done = HX_USAGE, npos = 0, replacing = 0, ours = 0, lost_app = 0, by_backup = 0,
	       told = 0;
	const char *name = NULL;
	const struct hx_opt opts[] = {{"lost-app", NULL, &lost_app}, {"name", &name, NULL}};

	memset(&u, 0, sizeof(u));
	memset(&e, 0, sizeof(e));
	memset(&old, 0, sizeof(old));
	memset(codes, 0, sizeof(codes));
	memset(hashes, 0, sizeof(hashes));
	u.name = "enable";
	if (uv_parse(h, &u, enable_usage, argc, argv, opts, 2, NULL, 0, 0, &npos, &done) != 0)
		return done;
	if (name == NULL)
		name = DEVICE_NAME_DEFAULT;
	if (!device_name_ok(name))
		return device_bad_name(u.name, name);
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if ((r = identity_confirm(h, &u.cfg, u.store, u.user)) != HX_OK)
		goto out;

	r = store_totp_get(u.store, u.user, &old);
	if (r != STORE_OK && r != STORE_NOTFOUND) {
		r = uv_store_fail(&u);
		goto out;
	}
	replacing = r == STORE_OK;
	if (replacing && (r = prove_current(h, &u, lost_app, &by_backup)) != HX_OK)
		goto out;
	if (make_enrolment(&u, &e) != 0) {
		r = out_fail(HX_SOFTWARE, "enable: cannot make the secret; nothing changed");
		goto out;
	}
	memcpy(e.t.device, name, strlen(name) + 1);

	/* Pending until verified: a re-enrolment leaves the active secret alone. */
	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	int ok = store_pending_put(u.store, u.user, &e.t) == STORE_OK &&
		 uv_audit(h, &u, "enable-start", replacing ? "re-enrolment pending" : "pending") ==
			 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}

	show_enrolment(&u, &e, replacing);
	if ((r = ask_first_code(h, &u, &e, replacing, NULL, &step)) != HX_OK)
		goto out;

	ncodes = u.cfg.backup_codes > 0 ? (size_t)u.cfg.backup_codes : 0;
	if (ncodes > ENABLE_BACKUP_MAX)
		ncodes = ENABLE_BACKUP_MAX;
	if (hx_make_backup_codes(&u.key, u.user, ncodes, codes, hashes) != 0) {
		drop_pending(h, &u, &e, "cannot make backup codes");
		r = out_fail(HX_SOFTWARE, "enable: cannot make backup codes; nothing changed");
		goto out;
	}

	/* One transaction: active secret, its first step used, no pending, new backup codes. */
	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	int pr = STORE_ERR;
	ok = pending_is_ours(&u, &e, &ours) == 0;
	if (ok && !ours) {
		(void)hx_txn_end(u.store, 0);
		r = out_fail(HX_TEMPFAIL,
			     "enable: another `pam-recover enable` for %s started "
			     "meanwhile; nothing changed. Finish that one, or repeat this one",
			     u.user);
		goto out;
	}
	ok = ok && store_totp_put(u.store, u.user, &e.t) == STORE_OK &&
	     store_device_step_cas(u.store, u.user, e.t.device, step, rc_now()) == STORE_OK &&
	     ((pr = store_pending_delete(u.store, u.user)) == STORE_OK || pr == STORE_NOTFOUND) &&
	     store_backup_replace(u.store, u.user, (const unsigned char(*)[STORE_HASH_LEN])hashes,
				  ncodes) == STORE_OK &&
	     uv_audit(h, &u, "enable",
		      !replacing ? ""
		      : by_backup
			      ? "replaced the earlier secret (app lost; proven with a backup code)"
			      : "replaced the earlier secret") == 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	uv_log(h, &u, "enable", replacing ? "replaced the earlier secret" : "");
	if (by_backup && h->ruid != 0)
		told = factor_notify(h, &u, "2-step verification was set up again on a new phone");
	show_done(&u, &e, replacing, codes, ncodes);
	factor_notified(told);
	r = HX_OK;
out:
	enrolment_wipe(&e);
	rc_wipe(&old, sizeof(old));
	RC_WIPE_ARRAY(codes);
	RC_WIPE_ARRAY(hashes);
	uv_close(&u);
	return r;
}

/* ---- device add: the same flow for one more device ---- */

static void show_added(const struct uverb *u, const struct enrolment *e, int n)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_bool(o, "totp_enabled", 1);
		oj_str(o, "added", e->t.device);
		oj_str(o, "algorithm", hx_algo_name(e->p.algorithm));
		oj_int(o, "digits", e->p.digits);
		oj_int(o, "period", e->p.period);
		oj_int(o, "devices", n);
		out_json(o);
		return;
	}
	out_info("%s", "");
	out_info("Device %s added for %s: a current code from any of its %d devices is accepted.",
		 e->t.device, u->user, n);
	out_info("The backup codes stay as they were.");
}

int enable_add_device(struct hctx *h, struct uverb *u, const char *name)
{
	struct enrolment e;
	int64_t step = -1;
	int r, n = 0, exists = 0, ours = 0, ar = STORE_ERR, pr = STORE_ERR;

	memset(&e, 0, sizeof(e));
	if ((r = identity_confirm(h, &u->cfg, u->store, u->user)) != HX_OK)
		goto out;
	if (device_count(u->store, u->user, name, &n, &exists) != STORE_OK) {
		r = uv_store_fail(u);
		goto out;
	}
	if (n == 0) {
		r = out_fail(HX_DATAERR,
			     "%s: 2-step verification is off for %s: turn it on with "
			     "`pam-recover enable --name %s` (the first device)",
			     u->name, u->user, name);
		goto out;
	}
	if (exists) {
		r = out_fail(HX_DATAERR,
			     "%s: %s already has a device called %s: choose another "
			     "name, or remove that one first",
			     u->name, u->user, name);
		goto out;
	}
	if (n >= u->cfg.max_devices) {
		r = out_fail(HX_DATAERR,
			     "%s: %s has %d devices, the most allowed (max_devices); "
			     "remove one first (`pam-recover device remove NAME`)",
			     u->name, u->user, n);
		goto out;
	}
	/* A current code from a device already set up: a password alone adds no device. */
	if ((r = factor_prove(h, u, "current_code", "Current code from one of the devices: ", 0,
			      "no device was added", NULL)) != HX_OK)
		goto out;
	if (make_enrolment(u, &e) != 0) {
		r = out_fail(HX_SOFTWARE, "%s: cannot make the secret; nothing changed", u->name);
		goto out;
	}
	memcpy(e.t.device, name, strlen(name) + 1);
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	int ok = store_pending_put(u->store, u->user, &e.t) == STORE_OK &&
		 uv_audit(h, u, "device-add-start", name) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	show_enrolment(u, &e, 0);
	if ((r = ask_first_code(h, u, &e, 1, name, &step)) != HX_OK)
		goto out;
	/* One transaction: the device with its first step used, no pending secret. The name
	 * and the limit are checked again: another run may have added a device meanwhile. */
	if (hx_txn_begin(u->store) != 0) {
		r = uv_store_fail(u);
		goto out;
	}
	ok = pending_is_ours(u, &e, &ours) == 0 && ours &&
	     device_count(u->store, u->user, NULL, &n, NULL) == STORE_OK &&
	     n < u->cfg.max_devices &&
	     (ar = store_device_add(u->store, u->user, &e.t, 0)) == STORE_OK &&
	     store_device_step_cas(u->store, u->user, name, step, rc_now()) == STORE_OK &&
	     ((pr = store_pending_delete(u->store, u->user)) == STORE_OK || pr == STORE_NOTFOUND) &&
	     uv_audit(h, u, "device-add", name) == 0;
	if (hx_txn_end(u->store, ok) != 0 || !ok) {
		if (ar == STORE_CONFLICT || !ours || n >= u->cfg.max_devices)
			r = out_fail(HX_TEMPFAIL,
				     "%s: the devices of %s changed meanwhile (another run); "
				     "nothing changed. Repeat it",
				     u->name, u->user);
		else
			r = uv_store_fail(u);
		goto out;
	}
	uv_log(h, u, "device-add", name);
	show_added(u, &e, n + 1);
	r = HX_OK;
out:
	enrolment_wipe(&e);
	return r;
}
