/*
 * pam-recover, the setuid-root helper: what every verb shares.
 *
 * main.c hardens the process, parses the global options into a struct hctx and dispatches on
 * a fixed table of verbs. Each verb lives in its own file and has the signature of verb_fn:
 * argv[0] is the verb's own name (never the program's), and the return value is the exit
 * status (sysexits style, listed in pam-recover(8)). `check` is the exception: its statuses are the
 * enum login_result of lib/login.h plus the CHECK_* statuses of lib/check_proto.h.
 */
#ifndef RC_HELPER_H
#define RC_HELPER_H

#include <sys/types.h>

#include "check_proto.h"
#include "config.h"
#include "seal.h"
#include "secret.h"
#include "store.h"

/* Exit statuses for users and admins (pam-recover(8), EXIT STATUS). */
enum {
	HX_OK = 0,
	HX_WRONG = 1, /* the proof or code was wrong */
	HX_USAGE = 64,
	HX_DATAERR = 65, /* bad input data */
	HX_NOUSER = 66,  /* no such user or file */
	HX_UNAVAIL = 69,
	HX_SOFTWARE = 70,
	HX_CANTCREAT = 73,
	HX_IOERR = 74, /* store I/O */
	HX_TEMPFAIL = 75,
	HX_NOPERM = 77,
	HX_CONFIG = 78,
};

/* Longest user name rc_user_name_ok accepts, plus NUL. */
#define HX_USER_MAX 129

/* The caller and the global options, fixed before any verb runs. */
struct hctx {
	uid_t ruid; /* the real uid decides everything */
	gid_t rgid;
	char caller[HX_USER_MAX]; /* getpwuid(ruid)->pw_name, or "uid N" */
	int json;                 /* --json: machine output, one object per line */
	const char *config_path;  /* --config PATH (root only); NULL = the built-in default */
};

typedef int (*verb_fn)(struct hctx *h, int argc, char **argv);

/* Options of a verb: "--name VALUE", "--name=VALUE" or a flag. --json is always accepted
 * (switches the output), --help always returns HX_PARSE_HELP. */
struct hx_opt {
	const char *name;   /* without the leading "--" */
	const char **value; /* option with a value: where it goes */
	int *flag;          /* flag: set to 1 */
};
#define HX_PARSE_HELP 1
/* Collects at most maxpos positional arguments into pos (count in *npos; "--" ends the
 * options). 0, HX_PARSE_HELP, or HX_USAGE after printing what was wrong. */
int hx_parse_opts(struct hctx *h, const char *verb, int argc, char **argv,
		  const struct hx_opt *opts, size_t nopts, char **pos, int maxpos, int *npos);

/* Verbs. Each in its own file, with a line in main.c's table. */
int cmd_check(struct hctx *h, int argc, char **argv);                /* check.c */
int cmd_admin(struct hctx *h, int argc, char **argv);                /* admin.c */
int admin_init(struct hctx *h, int argc, char **argv);               /* admin_enrol.c */
int admin_enrol(struct hctx *h, int argc, char **argv);              /* admin_enrol.c */
int admin_import_oath(struct hctx *h, int argc, char **argv);        /* admin_import.c */
int admin_import_google(struct hctx *h, int argc, char **argv);      /* admin_import.c */
int admin_audit(struct hctx *h, int argc, char **argv);              /* admin_audit.c */
int admin_canonicalise_names(struct hctx *h, int argc, char **argv); /* admin_names.c */
int admin_copy_store(struct hctx *h, int argc, char **argv);         /* admin_copy.c */
int cmd_enable(struct hctx *h, int argc, char **argv);               /* enable.c */
int cmd_disable(struct hctx *h, int argc, char **argv);              /* disable.c */
int cmd_device(struct hctx *h, int argc, char **argv);               /* device.c */
int cmd_backup_codes(struct hctx *h, int argc, char **argv);         /* backup_codes.c */
int cmd_app_password(struct hctx *h, int argc, char **argv);         /* app_password.c */
int cmd_status(struct hctx *h, int argc, char **argv);               /* status.c */
int cmd_contact(struct hctx *h, int argc, char **argv);              /* contacts.c */
int admin_set_contact(struct hctx *h, int argc, char **argv);        /* admin_contact.c */
int admin_remove_contact(struct hctx *h, int argc, char **argv);     /* admin_contact.c */
int cmd_reset(struct hctx *h, int argc, char **argv);                /* reset/reset.c */
int admin_reset_password(struct hctx *h, int argc, char **argv);     /* admin_resetpw.c */

/* After every verb but `check` (after_verb.c): deliver what the outbox has due and prune
 * the store when that is due (retention.h), quietly: syslog only, the exit status stays. */
void hx_after_verb(const struct hctx *h);

/* Parse an admin command's options and exactly `want` positional arguments (admin.c).
 * 0 to go on; -1 when done, with the exit status in *done (after --help or an error). */
int admin_parse(struct hctx *h, const char *verb, int argc, char **argv, const struct hx_opt *opts,
		size_t nopts, char **pos, int want, int *done);

/* ---- shared plumbing (session.c) ---- */

/* Load and validate the configuration (--config or the default). 0, or HX_CONFIG after
 * printing "FILE:LINE: ..." through out_fail. */
int hx_load_config(const struct hctx *h, struct cfg *c);

/* Load the sealing key and open the store. 0, or an exit status after printing why
 * (HX_CONFIG for the key, HX_IOERR for the store). On failure nothing is left open. */
int hx_open(const struct hctx *h, const struct cfg *c, int store_flags, struct seal_key *k,
	    struct store **s);
void hx_close(struct seal_key *k, struct store *s);

/* A user an admin names: allowlisted; must exist in passwd unless it is a virtual mail user
 * (contains '@'). 0 or an exit status after printing why. */
int hx_check_target_user(const char *verb, const char *user);

/* One user, one name: make a user name given on the command line, typed or read from a file
 * canonical in place (user_name_case of c; the length does not change), before any other
 * check or use. 0, or -1 for NULL. */
int hx_user_canonical(const struct cfg *c, char *user) RC_MUST_CHECK;

/* otpauth label: "user@host", or the user itself when it already holds an '@'. 0 or -1. */
int hx_totp_label(const char *user, char *out, size_t n);
/* Issuer: cfg->issuer, or the host name. */
const char *hx_issuer(const struct cfg *c, char *buf, size_t n);

/* "2024-05-01 12:00 UTC" (human) / "2024-05-01T12:00:00Z" (json); "-" for 0. */
void hx_time_human(int64_t t, char *out, size_t n);
void hx_time_iso(int64_t t, char *out, size_t n);

/* Algorithm names: "sha1", "sha256", "sha512". -1 for an unknown name. */
const char *hx_algo_name(int algo);
int hx_algo_parse(const char *name);

/*
 * A rate limit that an over-limit caller cannot turn into store writes: when `key` already
 * counts `max` or more hits within `window` seconds, nothing is written and 1 is returned;
 * otherwise the hit is counted (store_counter_hit) and 1 is returned when the new count is
 * over `max` (a parallel caller got there first), else 0. max <= 0: no limit, always
 * counted. -1 on a store error. *count: the count seen.
 */
int hx_counter_take(struct store *s, const char *key, int64_t now, int window, int max,
		    int *count) RC_MUST_CHECK;

/*
 * Can what a verb prints still reach the caller? 0 when standard output was closed when the
 * helper started (so /dev/null stands in for it), or is a pipe or socket nobody reads any
 * more; 1 otherwise. For verbs whose output is the only copy of a secret (new backup codes):
 * ask before changing anything.
 */
int hx_stdout_usable(void);

/*
 * Run a store change with the tty signals blocked: begin. Pair with hx_txn_end. Nothing
 * between the two may wait for the caller: no prompt, no read of standard input, no output
 * (a full pipe would block), no child process, no network and no name-service lookup.
 */
int hx_txn_begin(struct store *s);
/* commit (ok != 0) or roll back; unblocks the signals. 0 if committed. */
int hx_txn_end(struct store *s, int ok);

/* Is this argument --help / -h? */
int hx_is_help(const char *arg);

/* One app password as a JSON row: {"name", "services", "created", "last_used"} (times ISO
 * 8601, last_used null when never); and as a text line of `status` and `admin show`
 * (app_password_rows.c). */
struct json_object *hx_app_password_json(const struct store_app_password *a);
void hx_app_password_line(const struct store_app_password *a);

/* n fresh backup codes (SECRET_BACKUP_DIGITS digits) and their keyed hashes, as login_*
 * checks them (enrol.c). 0 or -1. */
int hx_make_backup_codes(const struct seal_key *k, const char *user, size_t n,
			 char (*codes)[SECRET_BACKUP_DIGITS + 1],
			 unsigned char (*hashes)[STORE_HASH_LEN]) RC_MUST_CHECK;

/* ---- recovery contacts (mask.c) ---- */
/* "email", "phone", "telegram"; NULL for an unknown kind. (Not the seal field name: that is
 * contact_seal_field() in contacts.c, "contact:KIND"; read contacts with contact_read().) */
const char *hx_contact_kind_name(int kind);
/* One set of labels for status, contact list and admin show: "recovery e-mail:",
 * "recovery phone:", "recovery Telegram:", "security question:" (kind 3); printed with
 * HX_FIELD, the layout of every "label: value" line of those three commands. */
const char *hx_contact_field(int kind);
#define HX_FIELD "  %-20s "
/* Masked for display: "a***@example.org", "+3*******12", "1*****89". */
void hx_mask_contact(int kind, const char *value, char *out, size_t n);
/* A secret in groups of four for typing: "ABCD EFGH ..." (mask.c). */
void hx_group4(const char *in, char *out, size_t n);

#endif
