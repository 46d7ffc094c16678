/* `admin init` (key and store, idempotent) and `admin enrol USER` (scripted rollout). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "device.h"
#include "helper.h"
#include "keycheck.h"
#include "out.h"
#include "qr.h"
#include "secret.h"
#include "totp.h"

#define ENROL_SECRET_LEN 20
#define BACKUP_MAX 50
#define URI_MAX 1024

/* ---- init ---- */

/* The key: checked and kept if present, created if missing. 0 or an exit status. */
static int init_key(const struct cfg *c, struct seal_key *k, int *created)
{
	struct stat st;
	char err[512] = "";

	*created = 0;
	if (lstat(c->key_file, &st) != 0) {
		if (errno != ENOENT)
			return out_fail(HX_CONFIG, "admin init: cannot inspect %s: %s", c->key_file,
					strerror(errno));
		if (seal_key_create(c->key_file, err, sizeof(err)) != 0)
			return out_fail(HX_CANTCREAT,
					"admin init: cannot create the key file %s: %s",
					c->key_file, err);
		*created = 1;
	}
	if (seal_key_load(c->key_file, k, err, sizeof(err)) != 0)
		return out_fail(HX_CONFIG, "admin init: the key file %s is not usable: %s",
				c->key_file, err);
	return 0;
}

int admin_init(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct stat st;
	char err[512] = "";
	int key_created = 0, store_created = 0, kc_created = 0, done = HX_USAGE;
	int r;

	memset(&k, 0, sizeof(k));
	if (admin_parse(h, "init", argc, argv, NULL, 0, NULL, 0, &done) != 0)
		return done;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if ((r = init_key(&c, &k, &key_created)) != 0)
		goto out;

	if (strncmp(c.store, "sqlite:", 7) == 0) {
		store_created = lstat(c.store + 7, &st) != 0 && errno == ENOENT;
	} else { /* a server's database: created when it holds no pam_recover schema yet */
		long long have = 0, want = 0;

		store_created = store_schema_peek(&c, &have, &want, err, sizeof(err)) == STORE_OK &&
				have == 0;
	}
	if (store_open(&c, STORE_CREATE | STORE_DURABLE, &s, err, sizeof(err)) != STORE_OK) {
		s = NULL;
		r = out_fail(store_created ? HX_CANTCREAT : HX_IOERR,
			     "admin init: cannot %s the store %s: %s",
			     store_created ? "create" : "open", c.store, err);
		goto out;
	}
	/* The key-check record: sealed now in a new store (or one made before the record
	 * existed); in a store that has one, it proves this key is the store's key. */
	r = keycheck_ensure(s, &k, rc_now(), &kc_created);
	if (r == KEYCHECK_WRONG_KEY) {
		r = out_fail(
			HX_CONFIG,
			"admin init: the key file %s does not open the records of the store %s "
			"(another key): every enrolled login would fail; restore the key the "
			"store was made with",
			c.key_file, c.store);
		goto out;
	}
	if (r != KEYCHECK_OK) {
		r = out_fail(HX_IOERR, "admin init: cannot check the key against the store %s: %s",
			     c.store, store_errmsg(s));
		goto out;
	}
	if (key_created || store_created) {
		char detail[64];
		if (rc_snprintf(detail, sizeof(detail), "key %s, store %s",
				key_created ? "created" : "kept",
				store_created ? "created" : "kept") < 0)
			detail[0] = '\0';
		if (store_audit_add(s, h->caller, (long)h->ruid, "init", "admin", detail) !=
		    STORE_OK)
			out_warn("admin init: could not record the audit event: %s",
				 store_errmsg(s));
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "key_file", c.key_file);
		oj_bool(o, "key_created", key_created);
		oj_str(o, "store", c.store);
		oj_bool(o, "store_created", store_created);
		oj_bool(o, "key_check_created", kc_created);
		out_json(o);
	} else {
		out_info("key file %s: %s", c.key_file,
			 key_created ? "created (32 random bytes, root, mode 0400)"
				     : "already present, kept");
		out_info("store %s: %s", c.store,
			 store_created ? "created" : "already present, schema up to date");
		out_info("key check: %s", kc_created
						  ? "sealed in the store (admin doctor and "
						    "--check-config check the key against it)"
						  : "the key opens the store's key-check record");
	}
	r = HX_OK;
out:
	hx_close(&k, s);
	cfg_free(&c);
	return r;
}

/* ---- enrol ---- */

/* --algorithm / --digits over the site defaults. 0 or an exit status. */
static int enrol_params(const struct cfg *c, const char *algo_s, const char *digits_s,
			struct totp_params *p)
{
	long d;

	p->algorithm = c->algorithm;
	p->digits = c->digits;
	p->period = c->period;
	if (algo_s != NULL && (p->algorithm = hx_algo_parse(algo_s)) < 0)
		return out_fail(HX_USAGE,
				"admin enrol: --algorithm must be sha1, sha256 or sha512");
	if (digits_s != NULL) {
		if (rc_parse_long(digits_s, 6, 8, &d) != 0 || d == 7)
			return out_fail(HX_USAGE, "admin enrol: --digits must be 6 or 8");
		p->digits = (int)d;
	}
	return 0;
}

static void enrol_print(const char *user, const char *device, const struct totp_params *p,
			const char *uri, const char *b32, char (*codes)[SECRET_BACKUP_DIGITS + 1],
			size_t ncodes, int replaced)
{
	char grouped[80];

	if (out_json_mode()) {
		struct json_object *o = oj_object(), *a = oj_array();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_str(o, "uri", uri);
		oj_str(o, "secret", b32);
		oj_str(o, "device", device);
		oj_str(o, "algorithm", hx_algo_name(p->algorithm));
		oj_int(o, "digits", p->digits);
		oj_int(o, "period", p->period);
		for (size_t i = 0; i < ncodes; i++)
			oj_push_str(a, codes[i]);
		oj_put(o, "backup_codes", a);
		oj_bool(o, "replaced", replaced);
		out_json(o);
		return;
	}
	hx_group4(b32, grouped, sizeof(grouped));
	out_info("2-step verification is on for %s, device %s (%s, %d digits, %d s)%s.", user,
		 device, hx_algo_name(p->algorithm), p->digits, p->period,
		 replaced == 2   ? "; the old secret of this device no longer works"
		 : replaced == 1 ? "; the old secret and backup codes no longer work"
				 : "");
	out_info("Add it to the authenticator app with this URI (or a QR code of it):");
	out_info("  %s", uri);
	/* On a terminal, the barcode too (the phone scans it off the screen); never into a file
	 * or a pipe, where a script reads the URI. */
	if (isatty(STDOUT_FILENO)) {
		fflush(stdout);
		if (qr_print(stdout, uri, 0, 0, NULL) < 0)
			out_info("  (the barcode cannot be drawn; use the URI or the key)");
	}
	out_info("Can't scan the barcode? Enter this key by hand (time based):");
	out_info("  %s", grouped);
	if (ncodes == 0) { /* one more device: the backup codes stay as they were */
		RC_WIPE_ARRAY(grouped);
		return;
	}
	out_info("Backup codes (each works once, in place of a code from the app):");
	for (size_t i = 0; i < ncodes; i++)
		out_info("  %s", codes[i]);
	if (strcmp(user, "root") == 0)
		out_info("These are shown only now: keep them somewhere safe off this host (a "
			 "console that asks root for a code is a lockout without them).");
	else
		out_info("These are shown only now: hand them to %s and keep no copy.", user);
	RC_WIPE_ARRAY(grouped);
}

/* --device NAME: may the user get (or, with --replace, renew) that device? 0 or an exit
 * status; *n gets the number of devices, *exists whether NAME is one of them. */
static int enrol_device_check(const struct cfg *c, struct store *s, const char *user,
			      const char *device, int replace, int *n, int *exists)
{
	if (device_count(s, user, device, n, exists) != STORE_OK)
		return out_fail(HX_IOERR, "admin enrol: store error: %s", store_errmsg(s));
	if (*exists && !replace)
		return out_fail(HX_DATAERR,
				"admin enrol: %s already has a device called %s "
				"(--replace gives it a new secret)",
				user, device);
	if (!*exists && *n >= c->max_devices)
		return out_fail(HX_DATAERR,
				"admin enrol: %s has %d devices, the most allowed "
				"(max_devices); remove one first (`pam-recover admin "
				"remove-device %s NAME`)",
				user, *n, user);
	return 0;
}

int admin_enrol(struct hctx *h, int argc, char **argv)
{
	const char *algo_s = NULL, *digits_s = NULL, *device = NULL;
	int force = 0, done = HX_USAGE, r, replaced = 0, replace = 0, ndev = 0, exists = 0;
	const struct hx_opt opts[] = {{"algorithm", &algo_s, NULL},
				      {"digits", &digits_s, NULL},
				      {"force", NULL, &force},
				      {"device", &device, NULL},
				      {"replace", NULL, &replace}};
	char *pos[1];
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct store_totp t, old;
	struct totp_params p;
	unsigned char secret[ENROL_SECRET_LEN];
	char b32[64], uri[URI_MAX], host[256];
	char codes[BACKUP_MAX][SECRET_BACKUP_DIGITS + 1];
	unsigned char hashes[BACKUP_MAX][STORE_HASH_LEN];
	size_t ncodes;

	memset(&k, 0, sizeof(k));
	memset(&t, 0, sizeof(t));
	memset(codes, 0, sizeof(codes));
	if (admin_parse(h, "enrol", argc, argv, opts, 5, pos, 1, &done) != 0)
		return done;
	const char *user = pos[0];
	if (device != NULL && force)
		return out_fail(HX_USAGE, "admin enrol: --force replaces every device; with "
					  "--device, --replace replaces that one");
	if (device == NULL && replace)
		return out_fail(HX_USAGE, "admin enrol: --replace goes with --device NAME");
	if (device != NULL && !device_name_ok(device))
		return device_bad_name("admin enrol", device);
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if (hx_user_canonical(&c, pos[0]) != 0 ||
	    (r = hx_check_target_user("admin enrol", user)) != 0) {
		r = r != 0 ? r : HX_DATAERR;
		goto out_cfg;
	}
	if ((r = enrol_params(&c, algo_s, digits_s, &p)) != 0)
		goto out_cfg;
	if (sodium_init() < 0 || totp_init() != 0) {
		r = out_fail(HX_SOFTWARE, "admin enrol: cannot initialise the crypto libraries");
		goto out_cfg;
	}
	if ((r = hx_open(h, &c, STORE_DURABLE, &k, &s)) != 0)
		goto out_cfg;

	if (device != NULL) {
		r = enrol_device_check(&c, s, user, device, replace, &ndev, &exists);
		if (r != 0)
			goto out;
	}
	r = store_totp_get(s, user, &old);
	rc_wipe(&old, sizeof(old));
	if (r == STORE_OK && !force && device == NULL) {
		r = out_fail(HX_DATAERR,
			     "admin enrol: %s is already enrolled (--force replaces the secret and "
			     "the backup codes)",
			     user);
		goto out;
	}
	if (r != STORE_OK && r != STORE_NOTFOUND) {
		r = out_fail(HX_IOERR, "admin enrol: store error: %s", store_errmsg(s));
		goto out;
	}
	replaced = device != NULL ? (exists ? 2 : 0) : r == STORE_OK;

	/* A first device turns 2-step verification on with a fresh set of backup codes; one
	 * more device leaves them as they are. */
	ncodes = c.backup_codes > 0 ? (size_t)c.backup_codes : 0;
	if (device != NULL && ndev > 0)
		ncodes = 0;
	if (ncodes > BACKUP_MAX)
		ncodes = BACKUP_MAX;
	randombytes_buf(secret, sizeof(secret));
	t.algorithm = p.algorithm;
	t.digits = p.digits;
	t.period = p.period;
	t.created = rc_now();
	if (device != NULL)
		memcpy(t.device, device, strlen(device) + 1);
	if (seal_encrypt(&k, user, "totp", secret, sizeof(secret), t.sealed, &t.sealed_len) != 0 ||
	    hx_make_backup_codes(&k, user, ncodes, codes, hashes) != 0 ||
	    totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32)) != 0 ||
	    totp_uri(hx_issuer(&c, host, sizeof(host)), user, secret, sizeof(secret), &p, uri,
		     sizeof(uri)) != 0) {
		r = out_fail(HX_SOFTWARE, "admin enrol: cannot make the secret");
		goto out;
	}

	/* One transaction: secret, no pending re-enrolment, new backup codes, audit. */
	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin enrol: store error: %s", store_errmsg(s));
		goto out;
	}
	int pr = STORE_ERR, ar = STORE_ERR;
	char detail[96];
	if (device == NULL)
		snprintf(detail, sizeof(detail), "%s",
			 replaced ? "replaced an earlier enrolment" : "");
	else
		snprintf(detail, sizeof(detail), "device %s%s", device,
			 exists     ? " (replaced)"
			 : ndev > 0 ? " (added)"
				    : "");
	int ok = (device == NULL ? store_totp_put(s, user, &t) == STORE_OK
				 : (ar = store_device_add(s, user, &t, replace)) == STORE_OK) &&
		 (ncodes == 0 ||
		  (((pr = store_pending_delete(s, user)) == STORE_OK || pr == STORE_NOTFOUND) &&
		   store_backup_replace(s, user, (const unsigned char(*)[STORE_HASH_LEN])hashes,
					ncodes) == STORE_OK)) &&
		 store_audit_add(s, user, (long)h->ruid, device == NULL ? "enrol" : "device-add",
				 "admin", detail) == STORE_OK;
	if (hx_txn_end(s, ok) != 0) {
		if (ar == STORE_CONFLICT)
			r = out_fail(HX_DATAERR,
				     "admin enrol: %s already has a device called %s "
				     "(--replace gives it a new secret)",
				     user, device);
		else
			r = out_fail(HX_IOERR, "admin enrol: nothing changed, store error: %s",
				     store_errmsg(s));
		goto out;
	}
	enrol_print(user, device != NULL ? device : STORE_DEVICE_DEFAULT, &p, uri, b32, codes,
		    ncodes, replaced);
	r = HX_OK;
out:
	RC_WIPE_ARRAY(secret);
	RC_WIPE_ARRAY(b32);
	RC_WIPE_ARRAY(uri);
	RC_WIPE_ARRAY(codes);
	RC_WIPE_ARRAY(hashes);
	rc_wipe(&t, sizeof(t));
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
	return r;
}
