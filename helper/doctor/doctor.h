/*
 * `pam-recover admin doctor`: what would lock people out or let them in without a code.
 * Shared by the doctor's files (one job each):
 *   doctor.c        the verb: options, the order of the checks, the report, the exit status
 *   doctor_findings.c the findings every check adds (dr_add)
 *   doctor_pam.c    reading /etc/pam.d: what the lines mean, includes, substacks
 *   doctor_pamd.c   pam.d syntax: logical lines and tokens, as libpam splits them
 *   doctor_modules.c what a line means: its control's actions, its module's kind and path
 *   doctor_sim.c    running an auth stack the way libpam does, for a given set of answers
 *   doctor_stack.c  the checks on one service's auth stack (bypass, lockout, forward_pass ...)
 *   doctor_files.c  owners and modes of the config, key, store and secret files
 *   doctor_users.c  who is enrolled: root, and the accounts nullok no longer lets in
 *   doctor_conf.c   reading the other daemons' settings: Dovecot (auth cache, PAM service),
 *                   sshd (UsePAM, KbdInteractiveAuthentication, PasswordAuthentication, ...)
 *   doctor_sshd.c   whether sshd, as configured, asks for the code
 *   doctor_sshd_ways.c the ways in that sshd's settings leave open
 */
#ifndef RC_DOCTOR_H
#define RC_DOCTOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "helper.h"

/* ---- sshd's settings (doctor_conf.c) ---- */

enum {
	DR_SSHD_USEPAM,
	DR_SSHD_KBDINT,
	DR_SSHD_PASSWORD,
	DR_SSHD_PUBKEY,
	DR_SSHD_METHODS,
	DR_SSHD_ROOT,
	DR_SSHD_NOPT
};

struct dr_sshd_opt {
	int set;         /* 0: sshd's default applies */
	char value[256]; /* the first value outside Match blocks (the one sshd uses) */
	char *file;
	int line;
};

/* A setting inside a Match block: it applies to some connections only. */
struct dr_sshd_match {
	int opt;
	char value[128];
	char *file;
	int line;
	char *match_file;
	int match_line;
};

#define DR_SSHD_MATCH_MAX 16

struct dr_sshd {
	int read;
	char *main_file;
	struct dr_sshd_opt opt[DR_SSHD_NOPT];
	struct dr_sshd_match match[DR_SSHD_MATCH_MAX];
	size_t nmatch;
};
/* Where `make install` puts the pam.d examples (docdir/examples; the Debian package's
 * docdir is /usr/share/doc/libpam-recover). */
#ifndef RC_EXAMPLES_DIR
#define RC_EXAMPLES_DIR "/usr/share/doc/" PACKAGE_TARNAME "/examples"
#endif

/* ---- findings ---- */

enum { DR_WARNING = 1, DR_ERROR = 2 };

struct dr_finding {
	int severity;
	char *file; /* NULL: not about one file */
	int line;   /* 0: the file as a whole */
	char *message;
	char *fix;
};

struct doctor {
	/* options */
	const char *pamd;         /* directory of service files */
	const char *services;     /* --services list, NULL = default (sshd, dovecot if present) */
	const char *dovecot_conf; /* dovecot.conf to read, NULL = none */
	const char *sshd_config;  /* sshd_config to read, NULL = none */
	const char *config_path;  /* --config PATH: the module lines read this file; NULL = the
				    * built-in default, as the module does */
	const char *config_shown; /* the file in messages */
	int64_t now;

	/* the base configuration (file only, no module arguments) */
	struct cfg base;
	int base_ok;        /* loaded and valid */
	char base_err[512]; /* why not */

	/* Dovecot: auth_cache_size non-zero (and where), read by doctor_conf.c */
	int dovecot_cache_on;
	char *dovecot_cache_file;
	int dovecot_cache_line;
	char dovecot_cache_value[64];
	char *dovecot_service; /* PAM service named by passdb pam args (NULL: none) */

	/* what dr_check_key_store found out (for --check-config's summary) */
	long long schema_have, schema_want;
	int store_opens;
	int key_opens; /* the key opens the store's key-check record */

	/* sshd: PermitRootLogin lets root reach the PAM stack (only "yes" does) */
	int sshd_root_pam;
	struct dr_sshd sshd;

	struct dr_finding *v;
	size_t n, cap;
};

/* ---- findings (doctor_findings.c) ---- */

/* Add a finding (copied; duplicates of file+line+message are dropped). */
void dr_add(struct doctor *d, int severity, const char *file, int line, const char *fix,
	    const char *fmt, ...) RC_PRINTF(6, 7);
void dr_free_findings(struct doctor *d);

/* ---- PAM service files (doctor_pam.c, doctor_modules.c) ---- */

/* Return values a module line can produce in the model, and the size of its action table. */
#define DR_NRET 32 /* _PAM_RETURN_VALUES of Linux-PAM */

/* Actions (as Linux-PAM; a positive value is a jump over that many lines). */
enum {
	DR_ACT_IGNORE = 0,
	DR_ACT_OK = -1,
	DR_ACT_DONE = -2,
	DR_ACT_BAD = -3,
	DR_ACT_DIE = -4,
	DR_ACT_RESET = -5,
	DR_ACT_UNDEF = -6,
};

/* Lines libpam cannot use as written. */
enum {
	DR_MF_BROKEN = 1,  /* bad syntax, missing include: returns PAM_PERM_DENIED */
	DR_MF_CONTROL = 2, /* unreadable [...] control: the module runs, every result is bad */
	DR_MF_MISSING = 3, /* module not installed: returns PAM_MODULE_UNKNOWN */
};

/* What kind of module a line runs, for the model of who passes. */
enum dr_kind {
	DR_K_RECOVER,  /* pam_recover.so */
	DR_K_PASSWORD, /* pam_unix, pam_sss, pam_ldap, ...: checks the password */
	DR_K_PERMIT,   /* pam_permit: always succeeds */
	DR_K_DENY,     /* pam_deny: always fails */
	DR_K_ROOTOK,   /* pam_rootok: only when the caller is root (never for a remote login) */
	DR_K_NEUTRAL,  /* pam_env, pam_faildelay, pam_nologin, ...: succeed for a normal login */
	DR_K_COND,     /* anything else: may succeed or fail (both are tried) */
};

struct dr_line {
	const char *file; /* interned: lives as long as the stack */
	int lineno;
	int level;         /* substack depth */
	int head;          /* the substack line itself (skipped when run, one line for jumps) */
	int silent;        /* "-auth": a missing module drops the line */
	int must_fail;     /* DR_MF_*: libpam fails this line (bad syntax, missing module ...) */
	char why[160];     /* why must_fail */
	char control[160]; /* as written: "required", "[success=done default=ignore]" */
	int keyword;       /* control is a keyword (not [...]) */
	int actions[DR_NRET + 1];
	char *module; /* as written */
	char *path;   /* where it was found; NULL if not */
	enum dr_kind kind;
	int argc;
	char **argv;
	/* pam_recover lines: the one-field pair (split_pass hands the password on and keeps the
	 * code; forwarded_code, after the password module, checks it) */
	int split_pass;
	int forwarded_code;
	/* pam_recover lines: the effective configuration (file + this line's arguments) */
	struct cfg cfg;
	int cfg_ok;
	char cfg_err[512];
};

struct dr_stack {
	char *service; /* "sshd" */
	char *path;    /* DIR/sshd */
	int exists;
	struct dr_line *v;
	size_t n, cap;
	char **files; /* interned file names */
	size_t nfiles;
};

/* pam.d syntax (doctor_pamd.c): a file's logical lines, and one line's tokens. */
struct dr_pamd_reader {
	char *p;    /* what is left of the buffer */
	int lineno; /* physical lines read so far */
	char *line; /* the logical line dr_pamd_next gave (owned; valid until the next call) */
	size_t len, cap;
};
/* Read buf (NUL-terminated, kept by the caller) from its start. */
void dr_pamd_begin(struct dr_pamd_reader *r, char *buf);
/* The next logical line in r->line (comments cut, blank and comment lines skipped,
 * "\" continuations joined with a space), *start the physical line it begins on: 1, or 0
 * at the end. */
int dr_pamd_next(struct dr_pamd_reader *r, int *start);
void dr_pamd_end(struct dr_pamd_reader *r);

#define DR_PAMD_MAX_ARGS 64 /* module arguments kept (libpam has no limit; more are cut) */

/* The tokens of one logical line, inside it. "@include FILE": module is FILE, control NULL.
 * Otherwise TYPE CONTROL MODULE ARGS...; for the controls include and substack, module is
 * the file. The control and the arguments may be "[...]" groups: brackets removed, "\]"
 * read as ']' (for the control, bracketed says so). A missing token is NULL. */
struct dr_pamd_rule {
	char *type;
	char *control;
	int bracketed;
	char *module;
	int argc;
	char *argv[DR_PAMD_MAX_ARGS];
};
/* Split line (modified in place) into its tokens as libpam does. */
void dr_pamd_tokens(char *line, struct dr_pamd_rule *t);

/* Read DIR/service's auth stack, includes and substacks expanded. Problems that libpam
 * would turn into a failing line become must_fail lines; a "-" line whose module is missing
 * is dropped (and reported by the caller through dropped_recover). 0, or -1 if the file
 * cannot be read (st->exists tells whether it was there). */
int dr_pam_load(struct doctor *d, const char *dir, const char *service, struct dr_stack *st);
void dr_pam_free(struct dr_stack *st);
/* doctor_modules.c: set every undefined action to `act`; parse a [...] control (0, or -1
 * with every action bad and the reason in err, as libpam does); a keyword control (0, or
 * -1 if `tok` is none); where libpam would load a module from (malloc'd, NULL if missing);
 * the kind of the line's module. */
void dr_set_default(int *actions, int act);
int dr_parse_control(int *actions, const char *tok, char *err, size_t errlen);
int dr_keyword_control(int *actions, const char *tok);
char *dr_find_module(const char *mod);
enum dr_kind dr_classify(const struct dr_line *l);
/* A boolean module argument: "name" or "name=yes" (1), "name=no" (0), absent (-1). */
int dr_line_flag(const struct dr_line *l, const char *name);
/* A pam_succeed_if.so line that tests only the service name (pam-auth-update's profile
 * leaves the helper's own service out that way): 1 if it succeeds for `service`, 0 if it
 * fails, -1 if it is not such a line (the answer then depends on the user). */
int dr_succeed_if_service(const struct dr_line *l, const char *service);
/* Is `arg` among the line's arguments (exact, or "arg=..." when arg ends with '=')? */
int dr_line_has_arg(const struct dr_line *l, const char *arg);
/* Base name of the line's module ("pam_unix.so"). */
const char *dr_line_module_name(const struct dr_line *l);

/* ---- running a stack (doctor_sim.c) ---- */

enum dr_scenario {
	DR_SC_NO_CODE,     /* right password, wrong code (an enrolled user's password is known) */
	DR_SC_NO_PASSWORD, /* right code, wrong password */
	DR_SC_GOOD,        /* right password and code */
	DR_SC_APP,         /* a valid app password for this service, typed alone */
	DR_SC_ROOT,        /* root, right password, not enrolled (nullok as configured now) */
	DR_SC_ROOT_LATER,  /* the same after the enforcement date (nullok no longer applies) */
};

/* One run, and what happened in it. */
struct dr_trace {
	int success;
	int decider;         /* line whose done/die ended the stack, -1 */
	int first_bad;       /* first line that made the result negative, -1 */
	unsigned char *ran;  /* per line: 1 if it ran */
	int *ret;            /* per line: its return value when it ran */
	int *act;            /* per line: the action taken */
	unsigned long combo; /* the answers of the conditional lines in this run */
};

/* The result over every combination of answers of the conditional (DR_K_COND) lines. */
struct dr_sim {
	int runs, successes;
	struct dr_trace pass; /* the first run that succeeded (pass.success) */
	struct dr_trace fail; /* the first run that failed (!fail.success) */
	int have_pass, have_fail;
	size_t ncond;
	size_t *cond; /* indices of the conditional lines */
};

void dr_sim_run(const struct dr_stack *st, enum dr_scenario sc, int64_t now, struct dr_sim *out);
void dr_sim_free(struct dr_sim *s);
/* "pam_succeed_if.so (FILE:LINE) succeeds, ..." for the conditional lines of a run. */
void dr_sim_conditions(const struct dr_stack *st, const struct dr_sim *s, const struct dr_trace *t,
		       char *out, size_t n);

/* ---- checks ---- */

/* All checks on one service's stack (doctor_stack.c). `expected`: the service should use
 * pam_recover.so. */
void dr_check_stack(struct doctor *d, struct dr_stack *st, int expected);
/* Root has no 2-step verification: is it refused at the console (login, or `other` when
 * there is no login file), over SSH, by su? NULL: no such file. */
void dr_check_root(struct doctor *d, struct dr_stack *sshd, struct dr_stack *console,
		   struct dr_stack *su);
/* The helper's own service (pam-recover): present, and lets a right password through?
 * `other` is its stand-in when it is missing (doctor_stack.c). */
void dr_check_helper_service(struct doctor *d, struct dr_stack *svc);
/* The installed helper: there, root-owned, setuid, not writable by others (doctor_files.c). */
void dr_check_helper(struct doctor *d, const char *path);
/* The check back end the module execs without root (pam-recover-check at `path`): there,
 * root-owned, setuid, not writable by others, and answering a `config` request; what is
 * wrong is reported with `severity` (doctor_files.c). */
void dr_check_backend(struct doctor *d, const char *path, int severity);
/* Does this stack use pam_recover.so (any line)? */
int dr_stack_uses_module(const struct dr_stack *st);

/* Config, key, store and secret files (doctor_files.c). */
void dr_check_config_file(struct doctor *d, const char *path, int explicit_path);
void dr_check_key_store(struct doctor *d, const struct cfg *c);

/* Is `user` enrolled in the store of `c`? 1 yes, 0 no, -1 cannot tell (doctor_users.c). */
int dr_enrolled(const struct cfg *c, const char *user);
/* Accounts with a login shell (root, and uid >= 1000) that are not enrolled: their number
 * (-1: cannot tell), the first few names comma-separated in `names`, *more if there are
 * more than fit. */
int dr_unenrolled_accounts(const struct cfg *c, char *names, size_t n, int *more);
/* The same without root (root has checks of its own). */
int dr_unenrolled_users(const struct cfg *c, char *names, size_t n, int *more);

/* Dovecot and sshd settings (doctor_conf.c). 0, or -1 when a named file cannot be read. */
int dr_read_dovecot(struct doctor *d, const char *path);
int dr_read_sshd(struct doctor *d, const char *path);
void dr_sshd_free(struct doctor *d);
/* Where a line of sshd_config is: inside a Match block (in_match) or not, and which Match
 * line began the block (file, line). */
struct dr_sshd_where {
	int in_match;
	char file[4096];
	int line;
};
/* One line of sshd_config (cut in place) as sshd reads it, `path`:`lineno` being where it
 * is: blank and '#' lines skipped, "Keyword value" or "Keyword=value", keywords in any
 * case. A Match line moves *w; a setting the doctor reads goes to d->sshd (the first value
 * outside Match blocks wins; inside one it is noted as a Match setting, at most
 * DR_SSHD_MATCH_MAX); other keywords are ignored. Returns 1 for an Include line, whose
 * words (*include, inside the line) the caller follows, else 0. */
int dr_sshd_line(struct doctor *d, const char *path, int lineno, char *line,
		 struct dr_sshd_where *w, char **include);
/* "UsePAM", "KbdInteractiveAuthentication", ... for DR_SSHD_*. */
const char *dr_sshd_keyword(int opt);
/* A yes/no setting (DR_SSHD_*): 1 yes, 0 no, `dflt` when it is not set or neither
 * (doctor_sshd_ways.c). */
int dr_sshd_flag(const struct dr_sshd *x, int opt, int dflt);
/* The ways in that the settings leave open. */
struct dr_sshd_ways {
	int code;     /* a way in that asks for the code (keyboard-interactive) */
	int password; /* a way in through the password method (without keyboard-interactive) */
	int keyonly;  /* a way in that never runs the PAM auth stack */
};
/* From PubkeyAuthentication, PasswordAuthentication, KbdInteractiveAuthentication and the
 * lists of AuthenticationMethods (a list with a method that is switched off is no way in;
 * a list with the password method counts as password, else with keyboard-interactive as
 * code, else as key only). */
void dr_sshd_ways(const struct dr_sshd *x, struct dr_sshd_ways *p);
/* Does sshd, as configured, ask for the code, hand the password to the code prompt, or
 * never use PAM? Findings on the settings that decide it (doctor_sshd.c). */
void dr_check_sshd(struct doctor *d, const struct dr_stack *sshd);
/* Is `service` one Dovecot authenticates through? */
int dr_dovecot_service(const struct doctor *d, const char *service);

/* `pam-recover --check-config` after the configuration has loaded: its file's owner and
 * mode, the key (owner, mode, 32 bytes, opens the store's key-check record), the store
 * (reachable, schema version) and an enforce_after date that has passed (a warning). Prints
 * the findings and a summary; HX_OK, or HX_CONFIG when there is an error (doctor.c). */
int dr_check_config(const struct hctx *h, const struct cfg *c);

/* The verb (doctor.c). */
int admin_doctor(struct hctx *h, int argc, char **argv);

#endif
