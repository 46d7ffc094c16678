/*
 * `pam-recover admin ...`: root only. Dispatch, show, list, disable-2fa and unlock here;
 * init and enrol in admin_enrol.c, the importers in admin_import.c, audit in admin_audit.c.
 * Every change is one store transaction with an audit event (never a secret).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contacts.h"
#include "doctor/doctor.h"
#include "device.h"
#include "helper.h"
#include "out.h"
#include "reset/reset.h"
#include "outbox.h"
#include "retention.h"

struct admin_verb {
	const char *name;
	verb_fn fn;
	const char *usage;
};

static int admin_show(struct hctx *h, int argc, char **argv);
static int admin_list(struct hctx *h, int argc, char **argv);
static int admin_disable(struct hctx *h, int argc, char **argv);
static int admin_unlock(struct hctx *h, int argc, char **argv);
static int admin_remove_device(struct hctx *h, int argc, char **argv);

static const struct admin_verb admin_verbs[] = {
	{"init", admin_init,
	 "init\n"
	 "    Create the sealing key (key_file) and the store with safe owners and modes.\n"
	 "    Idempotent: an existing key is checked and kept, the schema brought up to date.\n"},
	{"enrol", admin_enrol,
	 "enrol USER [--algorithm sha1|sha256|sha512] [--digits 6|8] [--force]\n"
	 "      [--device NAME [--replace]]\n"
	 "    Give USER a new TOTP secret and a fresh set of backup codes, and print the\n"
	 "    otpauth:// URI, the secret and the backup codes once. Refused if USER is already\n"
	 "    enrolled, unless --force (every device, the old secret and backup codes stop\n"
	 "    working). --device NAME: add the device NAME (the first one turns 2FA on with\n"
	 "    backup codes; more keep them, up to max_devices); an existing NAME is refused\n"
	 "    unless --replace (that device gets a new secret).\n"},
	{"remove-device", admin_remove_device,
	 "remove-device USER NAME\n"
	 "    Remove USER's device NAME: its codes stop working. The last device turns 2FA off\n"
	 "    (backup codes removed, as disable-2fa).\n"},
	{"import-oath", admin_import_oath,
	 "import-oath FILE [--force] [--device NAME]\n"
	 "    Import TOTP users from a pam_oath usersfile (HOTP/T30[/6|8] user - hexsecret ...).\n"
	 "    All or nothing: a bad line is reported with its number and nothing is imported.\n"
	 "    Users already enrolled are an error unless --force. --device NAME: the name of\n"
	 "    the device each secret becomes (default: default).\n"},
	{"import-google-authenticator", admin_import_google,
	 "import-google-authenticator USER FILE [--force] [--device NAME]\n"
	 "    Import USER's ~/.google_authenticator: the secret, STEP_SIZE, and the scratch codes\n"
	 "    as backup codes. HOTP (counter-based) files are refused. --device NAME: the name\n"
	 "    of the device (default: default).\n"},
	{"show", admin_show,
	 "show USER\n"
	 "    2FA state, devices, backup codes left, lock, app passwords, contacts (masked).\n"},
	{"list", admin_list,
	 "list [--all]\n    The enrolled users with the date of enrolment. --all: every account with a\n"
	 "    login shell (and every enrolled virtual user), with a header: 2FA on or off, since,\n"
	 "    backup codes left, locked, recovery contacts.\n"},
	{"disable-2fa", admin_disable,
	 "disable-2fa USER\n    Remove USER's TOTP secret and backup codes (2FA off).\n"},
	{"unlock", admin_unlock,
	 "unlock USER\n    Lift a lock after too many failed codes and clear the failure count;\n"
	 "    also lift the locks of the reset methods (too many wrong codes or answers).\n"},
	{"reset-password", admin_reset_password,
	 "reset-password USER [--suggest]\n    Set USER's password (typed twice, or --suggest: a strong one, shown once),\n"
	 "    checked against the password policy; 2-step verification is not changed.\n"},
	{"flush-notices", admin_flush_notices,
	 "flush-notices\n"
	 "    Deliver the notices and post_reset_command of resets that are still waiting (a\n"
	 "    failed send, a helper that was stopped), now. For cron or a systemd timer.\n"},
	{"prune", admin_prune,
	 "prune\n"
	 "    Remove audit events older than audit_retention_days, counter rows a day past\n"
	 "    their window, and one-time codes used or expired a day ago, now, and print how\n"
	 "    many. For cron or a systemd timer (every verb also does it once per\n"
	 "    prune_interval).\n"},
	{"audit", admin_audit,
	 "audit [USER] [--limit N]\n    The audit events, newest first (--limit 0: all).\n"},
	{"canonicalise-names", admin_canonicalise_names,
	 "canonicalise-names [--keep NAME[,NAME...]] [--dry-run]\n"
	 "    Move the data of every name stored in another spelling to its canonical form\n"
	 "    (user_name_case), in one transaction; backup codes and app passwords of a moved\n"
	 "    name are removed (bound to the old spelling). Two spellings that both hold data\n"
	 "    are refused (exit 65, nothing changed) unless --keep names the one to keep.\n"},
	{"set-contact", admin_set_contact,
	 "set-contact USER email|phone|telegram VALUE\n"
	 "    Set USER's recovery e-mail, phone number (+...) or Telegram chat id, verified.\n"},
	{"remove-contact", admin_remove_contact,
	 "remove-contact USER email|phone|telegram|question\n"
	 "    Remove one of USER's recovery contacts, or the security question.\n"},
	{"copy-store", admin_copy_store,
	 "copy-store URI\n"
	 "    Copy everything from the configured store into an empty store at URI\n"
	 "    (sqlite:/PATH or postgresql://...), in one transaction, and check the row counts\n"
	 "    of every table. A destination that is not empty is refused (exit 65).\n"},
	{"doctor", admin_doctor,
	 "doctor [--pamd DIR] [--services LIST] [--dovecot-conf PATH] [--sshd-config PATH]\n"
	 "    Read the configuration, the key, the store and the PAM service files (DIR, default\n"
	 "    /etc/pam.d), and report what would lock people out or let them in without a code,\n"
	 "    with FILE:LINE and what to do. --services: the services that must ask for a code\n"
	 "    (default: sshd, dovecot and the service of Dovecot's pam passdb, where present).\n"
	 "    Dovecot's and sshd's settings are read from /etc unless --pamd is given; then\n"
	 "    only from --dovecot-conf and --sshd-config.\n"
	 "    Exit status: 0 nothing found, 1 warnings only, 2 errors.\n"},
};
#define N_ADMIN_VERBS (sizeof(admin_verbs) / sizeof(admin_verbs[0]))

static void admin_usage(FILE *f)
{
	fputs("Usage: pam-recover [--config PATH] [--json] admin COMMAND [ARGS...]   (root only)\n\n",
	      f);
	for (size_t i = 0; i < N_ADMIN_VERBS; i++)
		fprintf(f, "  %s", admin_verbs[i].usage);
	fputs("\nEvery command takes --json (one JSON object per line) and --help.\n", f);
}

static int verb_help(const char *name)
{
	for (size_t i = 0; i < N_ADMIN_VERBS; i++)
		if (strcmp(admin_verbs[i].name, name) == 0)
			printf("Usage: pam-recover admin %s", admin_verbs[i].usage);
	return HX_OK;
}

int cmd_admin(struct hctx *h, int argc, char **argv)
{
	if (argc == 2 && hx_is_help(argv[1])) {
		admin_usage(stdout);
		return HX_OK;
	}
	if (h->ruid != 0)
		return out_fail(HX_NOPERM, "admin: only root may run admin commands");
	if (argc < 2) {
		admin_usage(stderr);
		return HX_USAGE;
	}
	for (size_t i = 0; i < N_ADMIN_VERBS; i++)
		if (strcmp(argv[1], admin_verbs[i].name) == 0)
			return admin_verbs[i].fn(h, argc - 1, argv + 1);
	char esc[64];
	rc_log_escape(argv[1], esc, sizeof(esc));
	return out_fail(HX_USAGE, "admin: unknown command: %s (see pam-recover admin --help)", esc);
}

int admin_parse(struct hctx *h, const char *verb, int argc, char **argv, const struct hx_opt *opts,
		size_t nopts, char **pos, int want, int *done)
{
	int npos = 0;
	char name[64];
	int r;

	if (rc_snprintf(name, sizeof(name), "admin %s", verb) < 0)
		name[0] = '\0';
	r = hx_parse_opts(h, name, argc, argv, opts, nopts, pos, want, &npos);
	if (r == HX_PARSE_HELP) {
		*done = verb_help(verb);
		return -1;
	}
	if (r != 0) {
		*done = r;
		return -1;
	}
	if (npos != want) {
		*done = out_fail(HX_USAGE, "%s: expected %d argument%s (see --help)", name, want,
				 want == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* ---- shared by show / disable-2fa / unlock ---- */

/* The user must be a valid name and known: in passwd, a virtual mail user, or in the store. */
static int known_user(const char *verb, struct store *s, const char *user)
{
	struct store_totp t;
	int r;

	if (strchr(user, '@') != NULL || getpwnam(user) != NULL)
		return 0;
	r = store_totp_get(s, user, &t);
	rc_wipe(&t, sizeof(t));
	if (r == STORE_OK)
		return 0;
	if (r == STORE_NOTFOUND)
		return out_fail(HX_NOUSER, "%s: no such user: %s", verb, user);
	return out_fail(HX_IOERR, "%s: store error: %s", verb, store_errmsg(s));
}

/* parse (USER and want - 1 more arguments, into pos[1..]), validate the name, load config,
 * open key and store. 0, an exit status, or OPEN_HELP_DONE after --help (exit 0: nothing
 * was opened). */
#define OPEN_HELP_DONE (-1)
static int open_for_user_args(struct hctx *h, const char *verb, int argc, char **argv, int want,
			      char **pos, struct cfg *c, struct seal_key *k, struct store **s,
			      const char **user)
{
	char name[64];
	int done = HX_USAGE, r;

	*s = NULL;
	if (admin_parse(h, verb, argc, argv, NULL, 0, pos, want, &done) != 0)
		return done == HX_OK ? OPEN_HELP_DONE : done;
	*user = pos[0];
	if (rc_snprintf(name, sizeof(name), "admin %s", verb) < 0)
		name[0] = '\0';
	if ((r = hx_load_config(h, c)) != 0)
		return r;
	if (hx_user_canonical(c, pos[0]) != 0 || !rc_user_name_ok(*user)) {
		char esc[HX_USER_MAX];
		rc_log_escape(*user, esc, sizeof(esc));
		cfg_free(c);
		return out_fail(HX_DATAERR, "%s: not a valid user name: \"%s\"", name, esc);
	}
	if ((r = hx_open(h, c, STORE_DURABLE, k, s)) != 0 ||
	    (r = known_user(name, *s, *user)) != 0) {
		hx_close(k, *s);
		*s = NULL;
		cfg_free(c);
		return r;
	}
	return 0;
}

/* parse, validate the name, load config, open key and store. */
static int open_for_user(struct hctx *h, const char *verb, int argc, char **argv, struct cfg *c,
			 struct seal_key *k, struct store **s, const char **user)
{
	char *pos[1];

	return open_for_user_args(h, verb, argc, argv, 1, pos, c, k, s, user);
}

/* ---- show ---- */

struct app_list_ctx {
	struct json_object *arr;
	int count;
};

static int show_app(void *vctx, const struct store_app_password *a)
{
	struct app_list_ctx *ctx = vctx;

	ctx->count++;
	if (out_json_mode())
		oj_push(ctx->arr, hx_app_password_json(a));
	else
		hx_app_password_line(a);
	return 0;
}

static int count_app(void *vctx, const struct store_app_password *a)
{
	(void)a;
	(*(int *)vctx)++;
	return 0;
}

/* The contacts, masked: pushed onto arr (json) or printed. */
static void show_contacts(struct store *s, const struct seal_key *k, const char *user,
			  struct json_object *arr)
{
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++) {
		char value[CONTACT_VALUE_MAX + 1], masked[CONTACT_VALUE_MAX + 1];
		const char *kname = hx_contact_kind_name(kind);
		int verified = 0;

		int cr = contact_read(s, k, user, kind, value, sizeof(value), &verified);
		if (cr == HX_NOUSER) {
			if (arr == NULL)
				out_info(HX_FIELD "none", hx_contact_field(kind));
			continue;
		}
		if (cr == HX_OK)
			hx_mask_contact(kind, value, masked, sizeof(masked));
		if (arr != NULL) {
			struct json_object *co = oj_object();
			oj_str(co, "kind", kname);
			oj_str(co, "value", cr == HX_OK ? masked : NULL);
			oj_bool(co, "verified", cr == HX_OK && verified);
			oj_push(arr, co);
		} else if (cr == HX_OK)
			out_info(HX_FIELD "%s (%s)", hx_contact_field(kind), masked,
				 verified ? "verified" : "not verified yet");
		else
			out_info(HX_FIELD "(%s)", hx_contact_field(kind),
				 cr == HX_IOERR ? "store error"
						: "unreadable: tampered or wrong key");
		RC_WIPE_ARRAY(value);
	}
}

static int admin_show(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct store_totp t, pend;
	struct store_login_state st;
	struct store_question q;
	const char *user = NULL;
	char when[40];
	int r, left = 0;
	int64_t now = rc_now();
	struct app_list_ctx apps = {NULL, 0};
	struct json_object *o = NULL;

	memset(&k, 0, sizeof(k));
	memset(&t, 0, sizeof(t));
	memset(&pend, 0, sizeof(pend));
	memset(&st, 0, sizeof(st));
	memset(&q, 0, sizeof(q));
	if ((r = open_for_user(h, "show", argc, argv, &c, &k, &s, &user)) != 0)
		return r == OPEN_HELP_DONE ? HX_OK : r;

	int tr = store_totp_get(s, user, &t);
	int pr = store_pending_get(s, user, &pend);
	int sr = store_state_get(s, user, &st);
	int br = store_backup_count(s, user, &left);
	int qr = store_question_get(s, user, &q);
	if ((tr != STORE_OK && tr != STORE_NOTFOUND) || (pr != STORE_OK && pr != STORE_NOTFOUND) ||
	    sr != STORE_OK || (br != STORE_OK && br != STORE_NOTFOUND) ||
	    (qr != STORE_OK && qr != STORE_NOTFOUND)) {
		r = out_fail(HX_IOERR, "admin show: store error: %s", store_errmsg(s));
		goto out;
	}
	int enrolled = tr == STORE_OK, pending = pr == STORE_OK, question = qr == STORE_OK;
	int locked = st.locked_until > now;
	if (br == STORE_NOTFOUND)
		left = 0;

	if (out_json_mode()) {
		struct json_object *contacts = oj_array();
		o = oj_object();
		oj_str(o, "user", user);
		oj_bool(o, "totp_enabled", enrolled);
		oj_str(o, "algorithm", enrolled ? hx_algo_name(t.algorithm) : NULL);
		oj_int(o, "digits", enrolled ? t.digits : 0);
		oj_int(o, "period", enrolled ? t.period : 0);
		hx_time_iso(t.created, when, sizeof(when));
		oj_str(o, "enrolled", enrolled ? when : NULL);
		oj_bool(o, "pending_enrolment", pending);
		oj_int(o, "backup_codes_left", left);
		oj_bool(o, "locked", locked);
		hx_time_iso(st.locked_until, when, sizeof(when));
		oj_str(o, "locked_until", locked ? when : NULL);
		oj_int(o, "failures", st.failures);
		apps.arr = oj_array();
		oj_put(o, "app_passwords", apps.arr);
		oj_put(o, "contacts", contacts);
		oj_bool(o, "security_question", question);
		if (store_app_list(s, user, show_app, &apps) < 0 ||
		    device_json(s, user, o) != STORE_OK) {
			r = out_fail(HX_IOERR, "admin show: store error: %s", store_errmsg(s));
			goto out;
		}
		show_contacts(s, &k, user, contacts);
		out_json(o);
		o = NULL;
		r = HX_OK;
		goto out;
	}

	out_info("Account %s", user);
	if (enrolled) {
		hx_time_human(t.created, when, sizeof(when));
		out_info(HX_FIELD "on (%s, %d digits, every %d s) since %s",
			 "2-step verification:", hx_algo_name(t.algorithm), t.digits, t.period,
			 when);
	} else
		out_info(HX_FIELD "off", "2-step verification:");
	if (enrolled && device_print(s, user) != STORE_OK) {
		r = out_fail(HX_IOERR, "admin show: store error: %s", store_errmsg(s));
		goto out;
	}
	if (pending)
		out_info("  a new secret is waiting for its first code");
	out_info(HX_FIELD "%d", "backup codes left:", left);
	if (locked) {
		hx_time_human(st.locked_until, when, sizeof(when));
		out_info(HX_FIELD "locked until %s after %d wrong codes (`pam-recover admin unlock "
				  "%s`)",
			 "logins:", when, st.failures, user);
	} else
		out_info(HX_FIELD "not locked (%d wrong code%s since the last success)",
			 "logins:", st.failures, st.failures == 1 ? "" : "s");
	int napps = 0;
	if (store_app_list(s, user, count_app, &napps) < 0) {
		r = out_fail(HX_IOERR, "admin show: store error: %s", store_errmsg(s));
		goto out;
	}
	out_info(HX_FIELD "%d", "app passwords:", napps);
	if (store_app_list(s, user, show_app, &apps) < 0) {
		r = out_fail(HX_IOERR, "admin show: store error: %s", store_errmsg(s));
		goto out;
	}
	show_contacts(s, &k, user, NULL);
	out_info(HX_FIELD "%s", hx_contact_field(METHOD_QUESTION), question ? "set" : "not set");
	r = HX_OK;
out:
	if (o != NULL)
		json_object_put(o);
	rc_wipe(&t, sizeof(t));
	rc_wipe(&pend, sizeof(pend));
	rc_wipe(&q, sizeof(q));
	hx_close(&k, s);
	cfg_free(&c);
	return r;
}

/* ---- list ---- */

struct list_ctx {
	struct json_object *arr;
	int count;
};

static int list_one(void *vctx, const char *user, int64_t created)
{
	struct list_ctx *ctx = vctx;
	char when[40];

	ctx->count++;
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_str(o, "user", user);
		hx_time_iso(created, when, sizeof(when));
		oj_str(o, "enrolled", when);
		oj_push(ctx->arr, o);
	} else {
		char esc[HX_USER_MAX];
		rc_log_escape(user, esc, sizeof(esc));
		hx_time_human(created, when, sizeof(when));
		printf("%-32s %s\n", esc, when);
	}
	return 0;
}

/* ---- list --all ---- */

/* A login shell: set, and not one of those that refuse logins. */
static int login_shell(const char *shell)
{
	const char *base;

	if (shell == NULL || shell[0] == '\0')
		return 0;
	base = strrchr(shell, '/');
	base = base != NULL ? base + 1 : shell;
	return strcmp(base, "nologin") != 0 && strcmp(base, "false") != 0;
}

/* One line (or object) of `list --all`. 0 or -1 (store). */
static int all_one(struct store *s, const struct seal_key *k, const char *user,
		   struct json_object *arr, int *unverified)
{
	struct store_totp t;
	struct store_login_state st;
	struct store_question q;
	char when[40], contacts[64], value[CONTACT_VALUE_MAX + 1], esc[HX_USER_MAX];
	int left = 0, r = -1;
	size_t o = 0;
	struct json_object *o_ver = NULL, *o_unv = NULL;

	memset(&t, 0, sizeof(t));
	memset(&st, 0, sizeof(st));
	memset(&q, 0, sizeof(q));
	int tr = store_totp_get(s, user, &t);
	int sr = store_state_get(s, user, &st);
	int br = store_backup_count(s, user, &left);
	int qr = store_question_get(s, user, &q);
	if ((tr != STORE_OK && tr != STORE_NOTFOUND) || sr != STORE_OK ||
	    (br != STORE_OK && br != STORE_NOTFOUND) || (qr != STORE_OK && qr != STORE_NOTFOUND))
		goto out;
	if (br == STORE_NOTFOUND)
		left = 0;
	int enrolled = tr == STORE_OK, locked = st.locked_until > rc_now();
	if (arr != NULL) {
		o_ver = oj_array();
		o_unv = oj_array();
	}
	contacts[0] = '\0';
	for (int kind = METHOD_EMAIL; kind <= METHOD_QUESTION; kind++) {
		int verified = 1, have;
		if (kind == METHOD_QUESTION)
			have = qr == STORE_OK;
		else
			have = contact_read(s, k, user, kind, value, sizeof(value), &verified) ==
			       HX_OK;
		RC_WIPE_ARRAY(value);
		if (!have)
			continue;
		const char *name =
			kind == METHOD_QUESTION ? "question" : hx_contact_kind_name(kind);
		if (arr != NULL) {
			oj_push_str(verified ? o_ver : o_unv, name);
			continue;
		}
		int w = snprintf(contacts + o, sizeof(contacts) - o, "%s%s%s", o > 0 ? "," : "",
				 name, verified ? "" : "?");
		if (w > 0 && (size_t)w < sizeof(contacts) - o)
			o += (size_t)w;
		*unverified |= !verified;
	}
	if (arr != NULL) {
		struct json_object *j = oj_object();
		oj_str(j, "user", user);
		oj_bool(j, "totp_enabled", enrolled);
		hx_time_iso(t.created, when, sizeof(when));
		oj_str(j, "enrolled", enrolled ? when : NULL);
		oj_int(j, "backup_codes_left", left);
		oj_bool(j, "locked", locked);
		oj_put(j, "contacts", o_ver);
		oj_put(j, "contacts_unverified", o_unv);
		o_ver = o_unv = NULL;
		oj_push(arr, j);
	} else {
		rc_log_escape(user, esc, sizeof(esc));
		if (enrolled) {
			time_t tt = (time_t)t.created;
			struct tm tm;
			if (gmtime_r(&tt, &tm) == NULL ||
			    strftime(when, sizeof(when), "%Y-%m-%d", &tm) == 0)
				snprintf(when, sizeof(when), "-");
		} else
			snprintf(when, sizeof(when), "-");
		printf("%-32s %-4s %-10s %6d  %-6s %s\n", esc, enrolled ? "on" : "off", when, left,
		       locked ? "yes" : "no", contacts[0] != '\0' ? contacts : "-");
	}
	r = 0;
out:
	if (o_ver != NULL)
		json_object_put(o_ver);
	if (o_unv != NULL)
		json_object_put(o_unv);
	rc_wipe(&t, sizeof(t));
	rc_wipe(&q, sizeof(q));
	return r;
}

struct virt_ctx {
	char (*names)[HX_USER_MAX];
	size_t n, max;
};

/* Enrolled names that the passwd pass does not list: virtual mail users, and accounts
 * without a login shell. */
static int virt_one(void *vctx, const char *user, int64_t created)
{
	struct virt_ctx *v = vctx;

	const struct passwd *pw = getpwnam(user);

	(void)created;
	if ((pw != NULL && login_shell(pw->pw_shell)) || v->n >= v->max)
		return 0;
	if (rc_snprintf(v->names[v->n], HX_USER_MAX, "%s", user) >= 0)
		v->n++;
	return 0;
}

#define LIST_VIRTUAL_MAX 10000

static int list_all(struct store *s, const struct seal_key *k)
{
	struct json_object *arr = out_json_mode() ? oj_array() : NULL;
	struct virt_ctx v = {NULL, 0, LIST_VIRTUAL_MAX};
	const struct passwd *pw;
	int unverified = 0, r = HX_IOERR, bad = 0;

	v.names = xcalloc(LIST_VIRTUAL_MAX, sizeof(*v.names));
	if (store_totp_list(s, virt_one, &v) < 0)
		goto out;
	if (arr == NULL)
		printf("%-32s %-4s %-10s %6s  %-6s %s\n", "USER", "2FA", "SINCE", "BACKUP",
		       "LOCKED", "CONTACTS");
	setpwent();
	while (!bad && (pw = getpwent()) != NULL)
		if (login_shell(pw->pw_shell) && all_one(s, k, pw->pw_name, arr, &unverified) != 0)
			bad = 1;
	endpwent();
	for (size_t i = 0; !bad && i < v.n; i++)
		if (all_one(s, k, v.names[i], arr, &unverified) != 0)
			bad = 1;
	if (bad)
		goto out;
	if (arr != NULL) {
		out_json(arr);
		arr = NULL;
	} else if (unverified)
		printf("(?: a recovery contact not verified yet)\n");
	r = HX_OK;
out:
	if (r != HX_OK)
		r = out_fail(HX_IOERR, "admin list: store error: %s", store_errmsg(s));
	if (arr != NULL)
		json_object_put(arr);
	free(v.names);
	return r;
}

static int admin_list(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct list_ctx ctx = {NULL, 0};
	int r, done = HX_USAGE, all = 0;
	const struct hx_opt opts[] = {{"all", NULL, &all}};

	memset(&k, 0, sizeof(k));
	if (admin_parse(h, "list", argc, argv, opts, 1, NULL, 0, &done) != 0)
		return done;
	if ((r = hx_load_config(h, &c)) != 0)
		return r;
	if ((r = hx_open(h, &c, 0, &k, &s)) != 0)
		goto out_cfg;
	if (all) {
		r = list_all(s, &k);
		goto out;
	}
	if (out_json_mode())
		ctx.arr = oj_array();
	if (store_totp_list(s, list_one, &ctx) < 0) {
		if (ctx.arr != NULL)
			json_object_put(ctx.arr);
		r = out_fail(HX_IOERR, "admin list: store error: %s", store_errmsg(s));
		goto out;
	}
	if (ctx.arr != NULL)
		out_json(ctx.arr);
	else if (ctx.count == 0)
		out_info("(no user is enrolled)");
	r = HX_OK;
out:
	hx_close(&k, s);
out_cfg:
	cfg_free(&c);
	return r;
}

/* ---- disable-2fa, unlock ---- */

static int admin_disable(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	const char *user = NULL;
	int r, dr = STORE_ERR;

	memset(&k, 0, sizeof(k));
	if ((r = open_for_user(h, "disable-2fa", argc, argv, &c, &k, &s, &user)) != 0)
		return r == OPEN_HELP_DONE ? HX_OK : r;
	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin disable-2fa: store error: %s", store_errmsg(s));
		goto out;
	}
	dr = store_totp_delete(s, user);
	int pr = dr == STORE_ERR ? STORE_ERR : store_pending_delete(s, user);
	int ok = (dr == STORE_OK || dr == STORE_NOTFOUND) &&
		 (pr == STORE_OK || pr == STORE_NOTFOUND);
	if (ok && dr == STORE_OK)
		ok = store_audit_add(s, user, (long)h->ruid, "disable-2fa", "admin", "") ==
		     STORE_OK;
	if (hx_txn_end(s, ok) != 0) {
		r = out_fail(HX_IOERR, "admin disable-2fa: nothing changed, store error: %s",
			     store_errmsg(s));
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_bool(o, "changed", dr == STORE_OK);
		out_json(o);
	} else if (dr == STORE_OK)
		out_info("2-step verification is off for %s: every device and the backup codes "
			 "removed.",
			 user);
	else
		out_info("%s had no 2-step verification; nothing changed.", user);
	r = HX_OK;
out:
	hx_close(&k, s);
	cfg_free(&c);
	return r;
}

/* ---- remove-device ---- */

static int admin_remove_device(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	char *pos[2];
	const char *user = NULL;
	char detail[96];
	int r, dr = STORE_ERR, left = -1;

	memset(&k, 0, sizeof(k));
	if ((r = open_for_user_args(h, "remove-device", argc, argv, 2, pos, &c, &k, &s, &user)) !=
	    0)
		return r == OPEN_HELP_DONE ? HX_OK : r;
	const char *name = pos[1];
	if (!device_name_ok(name)) {
		r = device_bad_name("admin remove-device", name);
		goto out;
	}
	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin remove-device: store error: %s", store_errmsg(s));
		goto out;
	}
	dr = store_device_delete(s, user, name, &left);
	if (rc_snprintf(detail, sizeof(detail), "device %s%s", name,
			left == 0 ? "; the last one: 2FA off" : "") < 0)
		detail[0] = '\0';
	int ok = dr == STORE_OK && store_audit_add(s, user, (long)h->ruid, "device-remove", "admin",
						   detail) == STORE_OK;
	if (hx_txn_end(s, ok) != 0) {
		if (dr == STORE_NOTFOUND)
			r = out_fail(HX_DATAERR,
				     "admin remove-device: %s has no device called %s "
				     "(`pam-recover admin show %s`)",
				     user, name, user);
		else
			r = out_fail(HX_IOERR,
				     "admin remove-device: nothing changed, store error: %s",
				     store_errmsg(s));
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_str(o, "removed", name);
		oj_int(o, "devices_left", left);
		oj_bool(o, "totp_enabled", left > 0);
		out_json(o);
	} else if (left > 0)
		out_info("Device %s of %s removed: its codes no longer work; %d device%s left.",
			 name, user, left, left == 1 ? "" : "s");
	else
		out_info("Device %s of %s removed; it was the last one: 2-step verification is off "
			 "(backup codes removed).",
			 name, user);
	r = HX_OK;
out:
	hx_close(&k, s);
	cfg_free(&c);
	return r;
}

/* Clear the reset's counters for `user`: the lock of each method (reset-lock:METHOD:USER),
 * the codes tried to keep 2FA (reset-totp:USER) and the question's daily tries
 * (question:USER). *nlocked gets the number of methods that were locked. 0 or -1 (store). */
static int clear_reset_locks(const struct cfg *c, struct store *s, const char *user, int *nlocked)
{
	char key[HX_USER_MAX + 32];
	int window = c->unlock_time > 0 ? c->unlock_time : RESET_LOCK_DEFAULT;

	*nlocked = 0;
	for (int m = 0; m < METHOD_COUNT + 2; m++) {
		int count = 0, w, cr;

		if (m < METHOD_COUNT)
			w = rc_snprintf(key, sizeof(key), "reset-lock:%s:%s", method_id(m), user);
		else
			w = rc_snprintf(key, sizeof(key),
					m == METHOD_COUNT ? "reset-totp:%s" : "question:%s", user);
		if (w < 0)
			return -1;
		if (m < METHOD_COUNT &&
		    store_counter_get(s, key, rc_now(), window, &count) == STORE_OK && count > 0)
			(*nlocked)++;
		cr = store_counter_clear(s, key);
		if (cr != STORE_OK && cr != STORE_NOTFOUND)
			return -1;
	}
	return 0;
}

static int admin_unlock(struct hctx *h, int argc, char **argv)
{
	struct cfg c;
	struct store *s = NULL;
	struct seal_key k;
	struct store_login_state st;
	const char *user = NULL;
	int r, reset_locks = 0;

	memset(&k, 0, sizeof(k));
	if ((r = open_for_user(h, "unlock", argc, argv, &c, &k, &s, &user)) != 0)
		return r == OPEN_HELP_DONE ? HX_OK : r;
	if (store_state_get(s, user, &st) != STORE_OK) {
		r = out_fail(HX_IOERR, "admin unlock: store error: %s", store_errmsg(s));
		goto out;
	}
	int was_locked = st.locked_until > rc_now();
	/* The name service (perhaps LDAP over the network) before the transaction, not in it. */
	const struct passwd *pw = getpwnam(user);
	uid_t pw_uid = pw != NULL ? pw->pw_uid : 0;
	int has_pw = pw != NULL;
	if (hx_txn_begin(s) != 0) {
		r = out_fail(HX_IOERR, "admin unlock: store error: %s", store_errmsg(s));
		goto out;
	}
	int ur = store_unlock(s, user);
	int ok = ur == STORE_OK || ur == STORE_NOTFOUND;
	/* The per-uid limits of `check` for this user's own account go too (its requests, and
	 * its backup-code look-ups through mode split). */
	static const char *const uid_keys[] = {"check", "check-split"};
	for (size_t i = 0; ok && has_pw && i < sizeof(uid_keys) / sizeof(uid_keys[0]); i++) {
		char key[64];
		if (rc_snprintf(key, sizeof(key), "%s:uid:%ld", uid_keys[i], (long)pw_uid) > 0) {
			int cr = store_counter_clear(s, key);
			ok = cr == STORE_OK || cr == STORE_NOTFOUND;
		}
	}
	/* The locks of the reset methods (too many wrong codes or answers) go too. */
	ok = ok && clear_reset_locks(&c, s, user, &reset_locks) == 0;
	ok = ok &&
	     store_audit_add(s, user, (long)h->ruid, "unlock", "admin",
			     was_locked ? (reset_locks > 0 ? "was locked, reset methods unlocked"
							   : "was locked")
					: (reset_locks > 0 ? "reset methods unlocked"
							   : "was not locked")) == STORE_OK;
	if (hx_txn_end(s, ok) != 0) {
		r = out_fail(HX_IOERR, "admin unlock: nothing changed, store error: %s",
			     store_errmsg(s));
		goto out;
	}
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", user);
		oj_bool(o, "was_locked", was_locked);
		oj_int(o, "reset_methods_unlocked", reset_locks);
		out_json(o);
	} else {
		out_info("%s is unlocked%s; the failure count is cleared.", user,
			 was_locked ? "" : " (was not locked)");
		if (reset_locks > 0)
			out_info("%d locked reset method%s of %s can be used again.", reset_locks,
				 reset_locks == 1 ? "" : "s", user);
	}
	r = HX_OK;
out:
	hx_close(&k, s);
	cfg_free(&c);
	return r;
}
