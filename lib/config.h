/*
 * pam_recover.conf and the module arguments: one key space, one parser.
 * Order of precedence: module arguments > file > built-in defaults.
 */
#ifndef RC_CONFIG_H
#define RC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#ifndef RC_CONFIG_PATH
#define RC_CONFIG_PATH "/etc/security/pam_recover.conf"
#endif
#ifndef RC_STORE_DEFAULT
#define RC_STORE_DEFAULT "sqlite:/var/lib/pam_recover/state.db"
#endif
#ifndef RC_KEY_DEFAULT
#define RC_KEY_DEFAULT "/etc/security/pam_recover.key"
#endif

/* The PAM service whose password stack a reset uses when neither password_service nor
 * password_command is set. */
#define CFG_PASSWORD_SERVICE_DEFAULT "pam-recover"

#define CFG_MAX_FILE (256 * 1024)
#define CFG_MAX_LINE 4096
#define CFG_MAX_DEVICES_LIMIT 20      /* the highest max_devices */
#define CFG_AUDIT_RETENTION_MAX 36500 /* the highest audit_retention_days (100 years) */

enum cfg_algo { CFG_ALGO_SHA1 = 0, CFG_ALGO_SHA256 = 1, CFG_ALGO_SHA512 = 2 };
enum cfg_smtp_tls { CFG_TLS_STARTTLS = 0, CFG_TLS_IMPLICIT = 1, CFG_TLS_NONE = 2 };
/* How sms_body is filled in: form-encoded (default) or JSON string escaping. */
enum cfg_sms_type { CFG_SMS_FORM = 0, CFG_SMS_JSON = 1 };

struct cfg {
	/* Where things are. */
	char *store;    /* "sqlite:/path" or "postgresql://..." */
	char *key_file; /* 32 random bytes, 0400 root */

	/* TOTP and login. */
	int window;       /* accepted steps either side of now, 0..10 (default 1) */
	int deny;         /* consecutive failures before lock, 0 = never (default 5) */
	int unlock_time;  /* seconds locked (default 900) */
	int backup_deny;  /* wrong backup codes (own count) before they lock too, 0 = never (5) */
	int reuse_window; /* seconds a password+code string is accepted again, 0 = off (120) */
	char *reuse_trusted_hosts; /* addresses / CIDR ranges with reuse_window_trusted */
	int reuse_window_trusted;  /* seconds for those hosts (3600) */
	int algorithm;             /* enum cfg_algo for new enrolments (default sha1) */
	int digits;                /* 6 or 8 for new enrolments (default 6) */
	int period;                /* seconds per step, 15..300 (default 30) */
	int backup_codes;          /* how many backup codes a set has, 1..50 (default 10) */
	int max_devices;     /* authenticator devices per user, 1..CFG_MAX_DEVICES_LIMIT (5) */
	char *issuer;        /* otpauth issuer; NULL = host name */
	char *enforce_after; /* YYYY-MM-DD after which nullok stops applying; NULL = never */

	/* Module behaviour (usually given as module arguments). */
	int nullok;
	int forward_pass;   /* deprecated: the code is checked before the password */
	int split_pass;     /* one field: split the code off, for a later forwarded_code line */
	int forwarded_code; /* check the code split_pass kept, after the password module */
	int try_first_pass;
	int use_first_pass;
	int app_passwords;
	int debug;
	char *prompt;       /* default "Verification code: " */
	int user_name_case; /* enum rc_name_case: how names are compared (default auto) */

	/* Password policy and setting. */
	int pw_min_length;                                                           /* default 8 */
	int pw_require_upper, pw_require_lower, pw_require_digit, pw_require_symbol; /* default 1 */
	char *password_service; /* PAM service whose password stack sets new passwords */
	char *password_command; /* alternative: command with %u, new password on stdin */
	char *post_reset_command;

	/* Recovery channels. */
	char *smtp_url;
	int smtp_tls;
	char *smtp_user;
	char *smtp_password_file;
	char *smtp_ca_file;
	char *mail_from;
	char *reset_url;
	char *sms_url;
	char *sms_auth_file;
	char *sms_body;
	int sms_content_type; /* enum cfg_sms_type (default form) */
	char *telegram_api;
	char *telegram_token_file;
	char *channel_user;  /* unprivileged user of the network child (default "nobody") */
	char *local_domains; /* comma/space separated */
	char *support_contact;

	/* Recovery policy and limits. */
	char *reset_methods;        /* "email,sms,telegram,question" (default) or "none" */
	unsigned reset_method_mask; /* METHOD_BIT(m) of each method m in reset_methods (method.h) */
	int reset_require_two_proofs;  /* enrolled users need two independent proofs (no) */
	int reset_keep_2fa_with_code;  /* a valid TOTP/backup code during reset keeps 2FA (no) */
	int reset_clear_app_passwords; /* a reset also deletes app passwords (yes) */
	int email_code_ttl;            /* seconds an e-mailed code lives, 60..86400 (3600) */
	int sms_code_ttl;              /* seconds an SMS/Telegram code lives, 60..3600 (600) */
	int code_attempts;             /* wrong guesses before a code is void, 1..20 (5) */
	int sends_per_hour;            /* codes sent per user and channel per hour, 1..100 (3) */
	int sms_daily_budget;          /* SMS per day for the whole host, 0 = unlimited (100) */
	int destination_sends_per_day; /* codes to one address/number/chat a day, 1..1000 (10) */
	int caller_requests_per_hour;  /* codes sent + answers checked per caller, 1..100000 (30) */
	char *frontend_users; /* accounts that may pass `reset --client ADDRESS`; NULL = none */
	int question_daily_attempts; /* security-question tries per user per day, 1..50 (5) */
	char *questions;             /* '|' separated offered questions; NULL = users write own */

	/* Retention (helper/retention.c; never on the login path). */
	int audit_retention_days; /* days audit events are kept, 0 = for ever (365) */
	int prune_interval; /* seconds between the pruning a helper verb does, 0 = off (3600) */
};

/* Fill `c` (uninitialised) with the built-in defaults (strings are allocated). 0 or -1
 * (ENOMEM; then nothing is held). */
int cfg_init(struct cfg *c);
/* Free everything cfg_init/cfg_* allocated and zero `c`; calling it twice is fine. */
void cfg_free(struct cfg *c);

/*
 * Read a config file into `c` (over what it holds). `required`: a missing file is an error
 * (an explicitly named file); otherwise a missing file is fine. The file must be a regular
 * file owned by root, not group/other-writable, not a symlink.
 * On error returns -1 and writes "FILE:LINE: what is wrong" (or "FILE: what is wrong" for
 * the file as a whole) into err; `c` may then hold some of the file's values: discard it.
 */
int cfg_load_file(struct cfg *c, const char *path, int required, char *err, size_t errlen);

/* Parse a string buffer as a config file (the file loader and the fuzzer use this). The
 * buffer need not be NUL-terminated; a NUL byte in it is an error. `name` (may be NULL) is
 * the FILE of the messages. */
int cfg_parse_buffer(struct cfg *c, const char *name, const char *buf, size_t len, char *err,
		     size_t errlen);

/*
 * Apply one "key=value" or bare "flag" (module argument). `config=` is not handled here
 * (the caller peels it off first). Returns 0 or -1 with a message in err.
 */
int cfg_apply_arg(struct cfg *c, const char *arg, char *err, size_t errlen);

/*
 * The module's full sequence: defaults (cfg_init: `c` is uninitialised), file (config= from
 * argv, an absolute path that must exist, or the default path, which may be missing), the
 * other arguments (each key at most once), then cfg_validate. 0, or -1 with err and `c`
 * already freed (cfg_free on it is still fine).
 */
int cfg_load_module(struct cfg *c, int argc, const char **argv, char *err, size_t errlen);
/* The same with the file's part given as text (what pam-recover-check's mode `config`
 * answered, for a module without root): a config= argument other than RC_CONFIG_PATH is
 * then an error. */
int cfg_load_module_text(struct cfg *c, int argc, const char **argv, const char *text, size_t len,
			 char *err, size_t errlen);

/* Cross-key checks (e.g. password_service and password_command both set). 0 or -1. */
int cfg_validate(const struct cfg *c, char *err, size_t errlen);

/* Write the effective configuration (secrets files by path only) to a FILE* as key = value,
 * one line per key in table order; an unset key is written as "# key is not set". The
 * output parses back into the same configuration. */
void cfg_dump(const struct cfg *c, FILE *out);

/* Name of the i-th key of the table (the man page and sample config tests walk it); NULL
 * past the end. */
const char *cfg_key_name(size_t i);

/* The host of `url` is 127.0.0.0/8, ::1 or localhost (for "http:// only to loopback"). */
int cfg_url_is_loopback(const char *url);

/* Number of entries of `questions`, and the i-th one (trimmed) into out. 0 or -1. */
size_t cfg_question_count(const struct cfg *c);
int cfg_question(const struct cfg *c, size_t i, char *out, size_t n) RC_MUST_CHECK;

#endif
