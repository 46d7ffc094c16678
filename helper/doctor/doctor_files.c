/*
 * The doctor's look at the files pam_recover.so and pam-recover trust: the configuration
 * (root-owned, not writable by others), the sealing key (root, 0400/0600, 32 bytes), the
 * SQLite store (directory root 0700, database root 0600) and the channels' secret files.
 * The module refuses what it does not trust, so a wrong owner or mode is a lockout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"
#include "keycheck.h"
#include "seal.h"
#include "store.h"

#define LOCKOUT "pam_recover.so refuses it, so every login through the module fails"
#define NAME_SHOWN_MAX 160 /* room for one escaped name in a finding */

static void parent_dir(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);

	if (slash == NULL || len >= n) {
		snprintf(out, n, "/");
		return;
	}
	memcpy(out, path, len);
	out[len] = '\0';
}

/* Whoever can write the directory can replace the file in it. */
static void check_parent(struct doctor *d, const char *path)
{
	char dir[4096];
	struct stat sb;

	parent_dir(path, dir, sizeof(dir));
	if (stat(dir, &sb) != 0)
		return;
	if (sb.st_uid != 0 || (sb.st_mode & 020) != 0 ||
	    ((sb.st_mode & 002) != 0 && (sb.st_mode & S_ISVTX) == 0))
		dr_add(d, DR_WARNING, dir, 0,
		       "chown root:root; chmod 0755 (or tighter) this directory",
		       "the directory of %s is %s (mode %04o): whoever can write it can replace the "
		       "file",
		       path, sb.st_uid != 0 ? "not owned by root" : "writable by group or others",
		       (unsigned)(sb.st_mode & 07777));
}

/* lstat, and the problems every trusted path has in common. 0 to go on. */
static int stat_trusted(struct doctor *d, const char *path, const char *what, int want_dir,
			const char *missing_fix, struct stat *sb)
{
	if (lstat(path, sb) != 0) {
		if (errno == ENOENT)
			dr_add(d, DR_ERROR, path, 0, missing_fix, "%s does not exist: %s", what,
			       "every login through pam_recover.so fails");
		else
			dr_add(d, DR_ERROR, path, 0, "make it readable by root", "%s: %s", what,
			       strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb->st_mode)) {
		dr_add(d, DR_ERROR, path, 0, "replace the symbolic link with the real thing",
		       "%s is a symbolic link: " LOCKOUT, what);
		return -1;
	}
	if (want_dir ? !S_ISDIR(sb->st_mode) : !S_ISREG(sb->st_mode)) {
		dr_add(d, DR_ERROR, path, 0, missing_fix, "%s is not a %s: " LOCKOUT, what,
		       want_dir ? "directory" : "regular file");
		return -1;
	}
	return 0;
}

void dr_check_config_file(struct doctor *d, const char *path, int explicit_path)
{
	struct stat sb;
	char fix[4200];

	if (lstat(path, &sb) != 0 && errno == ENOENT && !explicit_path)
		return; /* no file: the built-in defaults apply */
	if (stat_trusted(d, path, "the configuration", 0, "create it (or drop --config)", &sb) != 0)
		return;
	if (sb.st_uid != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s", path) < 0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, path, 0, fix,
		       "the configuration is owned by uid %ld, not root: " LOCKOUT
		       " (and its owner could change how logins are checked)",
		       (long)sb.st_uid);
		return;
	}
	if ((sb.st_mode & 022) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chmod 0644 %s (or 0600)", path) < 0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, path, 0, fix,
		       "the configuration is writable by group or others (mode %04o): " LOCKOUT
		       " (and whoever can write it could turn 2-step verification off)",
		       (unsigned)(sb.st_mode & 07777));
		return;
	}
	check_parent(d, path);
	if (!d->base_ok) {
		/* "FILE:LINE: what" from the parser: point at the line */
		size_t n = strlen(path);
		long line = 0;
		const char *msg = d->base_err;
		if (strncmp(d->base_err, path, n) == 0 && d->base_err[n] == ':') {
			char *end = NULL;
			line = strtol(d->base_err + n + 1, &end, 10);
			if (end != NULL && end[0] == ':' && line > 0)
				msg = end[1] == ' ' ? end + 2 : end + 1;
			else
				line = 0;
		}
		dr_add(d, DR_ERROR, path, (int)line,
		       "correct it; `pam-recover --check-config` checks the file",
		       "%s: pam_recover.so refuses every login until this is fixed", msg);
	}
}

/* The key file; *k is loaded when it is usable (1 returned), for the key-check record. */
static int check_key(struct doctor *d, const char *key, struct seal_key *k)
{
	struct stat sb;
	char fix[4200], err[512];

	if (stat_trusted(d, key, "the sealing key", 0,
			 "run `pam-recover admin init` (or restore the key from a backup)",
			 &sb) != 0)
		return 0;
	if (sb.st_uid != 0 || (sb.st_mode & 077) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 0400 %s", key, key) <
		    0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, key, 0, fix,
		       "the sealing key is %s (mode %04o, owner uid %ld; it must be root 0400 or "
		       "0600): " LOCKOUT ", and whoever can read it can open the TOTP secrets",
		       sb.st_uid != 0 ? "not owned by root" : "open to group or others",
		       (unsigned)(sb.st_mode & 07777), (long)sb.st_uid);
		return 0;
	}
	if (sb.st_size != SEAL_KEY_LEN) {
		dr_add(d, DR_ERROR, key, 0,
		       "restore the key from a backup (a new key makes every enrolled secret "
		       "unreadable)",
		       "the sealing key holds %lld bytes, not %d: " LOCKOUT, (long long)sb.st_size,
		       SEAL_KEY_LEN);
		return 0;
	}
	check_parent(d, key);
	if (seal_key_load(key, k, err, sizeof(err)) != 0) {
		dr_add(d, DR_ERROR, key, 0, "run `pam-recover admin init`", "%s: " LOCKOUT, err);
		return 0;
	}
	return 1;
}

/* Does the key open what the store was sealed with? */
static void check_key_record(struct doctor *d, const struct cfg *c, struct store *s,
			     const struct seal_key *k, const char *store_path)
{
	switch (keycheck_verify(s, k)) {
	case KEYCHECK_OK:
		d->key_opens = 1;
		return;
	case KEYCHECK_WRONG_KEY:
		dr_add(d, DR_ERROR, c->key_file, 0,
		       "restore the key file the store was made with (from a backup); a new key "
		       "cannot open the secrets already enrolled",
		       "the sealing key does not open the store's key-check record (sealed at "
		       "`admin init` with another key): every enrolled login fails "
		       "(PAM_AUTHINFO_UNAVAIL)");
		return;
	case KEYCHECK_MISSING:
		dr_add(d, DR_WARNING, store_path, 0,
		       "run `pam-recover admin init`: it checks the key against an enrolled "
		       "user's secret and seals the record",
		       "the store has no key-check record (it was made before pam_recover kept "
		       "one): whether the key opens its records cannot be checked");
		return;
	default:
		dr_add(d, DR_ERROR, store_path, 0, "restore the store from a backup",
		       "the store's key-check record cannot be read (%s)", store_errmsg(s));
		return;
	}
}

/* The schema version, read before anything migrates it. 0 to go on. */
static int check_schema(struct doctor *d, const struct cfg *c, const char *path)
{
	long long have = 0, want = 0;
	char err[512];

	if (store_schema_peek(c, &have, &want, err, sizeof(err)) != STORE_OK) {
		dr_add(d, DR_ERROR, path, 0,
		       "see the message; `pam-recover admin init` repairs modes",
		       "the store cannot be read (%s): every login through pam_recover.so fails",
		       err);
		return -1;
	}
	d->schema_have = have;
	d->schema_want = want;
	if (have == 0) {
		dr_add(d, DR_ERROR, path, 0, "run `pam-recover admin init`",
		       "the store has no pam_recover schema: every login through pam_recover.so "
		       "fails");
		return -1;
	}
	if (have > want) {
		dr_add(d, DR_ERROR, path, 0,
		       "install the pam_recover version that wrote the store (or a newer one)",
		       "the store has schema version %lld, newer than this pam_recover knows "
		       "(%lld): every login through pam_recover.so fails",
		       have, want);
		return -1;
	}
	return 0;
}

/* The database, and SQLite's side files when they are there. 0 if all is well. */
static int check_db_file(struct doctor *d, const char *path, int required)
{
	struct stat sb;
	char fix[4200];

	if (!required && lstat(path, &sb) != 0 && errno == ENOENT)
		return 0;
	if (stat_trusted(d, path, "the store", 0, "run `pam-recover admin init`", &sb) != 0)
		return -1;
	if (sb.st_nlink != 1) {
		dr_add(d, DR_ERROR, path, 0,
		       "make it a file of its own (copy it, then remove the links)",
		       "the store file has %ld hard links: " LOCKOUT, (long)sb.st_nlink);
		return -1;
	}
	if (sb.st_uid != 0 || (sb.st_mode & 077) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 0600 %s", path, path) <
		    0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, path, 0, fix,
		       "the store file is %s (mode %04o; it must be root 0600): " LOCKOUT,
		       sb.st_uid != 0 ? "not owned by root" : "open to group or others",
		       (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

struct spellings {
	int mode;
	int count;
	char first[NAME_SHOWN_MAX];
};

static int other_spelling(void *ctx, const char *user)
{
	struct spellings *sp = ctx;
	char canon[HX_USER_MAX];

	if (rc_user_name_canonical(sp->mode, user, canon, sizeof(canon)) == 0 &&
	    strcmp(canon, user) == 0)
		return 0;
	if (sp->count++ == 0)
		rc_log_escape(user, sp->first, sizeof(sp->first));
	return 0;
}

/* One user, one name: names kept in another spelling than the canonical form (a store from
 * before names were canonical, or user_name_case changed) fail their logins. */
static void check_names(struct doctor *d, const struct cfg *c, struct store *s, const char *path)
{
	struct spellings sp = {c->user_name_case, 0, ""};

	if (c->user_name_case == RC_NAME_EXACT)
		return;
	if (store_user_names(s, other_spelling, &sp) != STORE_OK) {
		dr_add(d, DR_ERROR, path, 0, "see the message", "the store cannot be read (%s)",
		       store_errmsg(s));
		return;
	}
	if (sp.count > 0)
		dr_add(d, DR_ERROR, path, 0, "run `pam-recover admin canonicalise-names`",
		       "%d user name%s stored in another spelling than the canonical form of "
		       "user_name_case (first: %s): logins and commands for %s fail until the "
		       "data is moved",
		       sp.count, sp.count == 1 ? " is" : "s are", sp.first,
		       sp.count == 1 ? "it" : "them");
}

static void check_store(struct doctor *d, const struct cfg *c, const struct seal_key *k)
{
	const char *path;
	char dir[4096], side[4200], fix[4200], err[512];
	static const char *const sides[] = {"-wal", "-shm", "-journal"};
	struct stat sb;
	struct store *s = NULL;
	int bad = 0;

	if (c->store == NULL)
		return;
	if (strncmp(c->store, "sqlite:", 7) != 0) {
		/* A database server: owners and modes are its business; the connection, the
		 * schema version, the names and the key-check record are checked below. */
		path = c->store;
		goto open;
	}
	path = c->store + 7;
	parent_dir(path, dir, sizeof(dir));
	if (stat_trusted(d, dir, "the store directory", 1, "run `pam-recover admin init`", &sb) !=
	    0)
		return;
	if (sb.st_uid != 0 || (sb.st_mode & 077) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 0700 %s", dir, dir) <
		    0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, dir, 0, fix,
		       "the store directory is %s (mode %04o; it must be root 0700): " LOCKOUT,
		       sb.st_uid != 0 ? "not owned by root" : "open to group or others",
		       (unsigned)(sb.st_mode & 07777));
		bad = 1;
	}
	check_parent(d, dir);
	if (check_db_file(d, path, 1) != 0)
		bad = 1;
	for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++)
		if (rc_snprintf(side, sizeof(side), "%s%s", path, sides[i]) > 0 &&
		    check_db_file(d, side, 0) != 0)
			bad = 1;
open:
	if (bad || check_schema(d, c, path) != 0)
		return;
	if (store_open(c, 0, &s, err, sizeof(err)) != STORE_OK) {
		dr_add(d, DR_ERROR, path, 0,
		       "see the message; `pam-recover admin init` repairs modes",
		       "the store cannot be opened (%s): every login through pam_recover.so fails",
		       err);
		return;
	}
	check_names(d, c, s, path);
	d->store_opens = 1;
	if (k != NULL)
		check_key_record(d, c, s, k, path);
	store_close(s);
}

/* The channels' secret files: a wrong mode breaks recovery, it does not lock anyone out. */
static void check_secret(struct doctor *d, const char *key, const char *path)
{
	struct stat sb;
	char fix[4200];

	if (path == NULL)
		return;
	if (lstat(path, &sb) != 0) {
		dr_add(d, DR_WARNING, path, 0,
		       "create it (the secret on its first line, root 0600)",
		       "%s: %s: sending recovery codes through it fails", key, strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_uid != 0 || (sb.st_mode & 077) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 0600 %s", path, path) <
		    0)
			fix[0] = '\0';
		dr_add(d, DR_WARNING, path, 0, fix,
		       "%s is %s (mode %04o): the helper refuses it, and it holds a password", key,
		       !S_ISREG(sb.st_mode) ? "not a regular file"
		       : sb.st_uid != 0     ? "not owned by root"
					    : "open to group or others",
		       (unsigned)(sb.st_mode & 07777));
	}
}

void dr_check_key_store(struct doctor *d, const struct cfg *c)
{
	struct seal_key k;
	int have_key = 0;

	memset(&k, 0, sizeof(k));
	if (c->key_file != NULL)
		have_key = check_key(d, c->key_file, &k);
	check_store(d, c, have_key ? &k : NULL);
	seal_key_wipe(&k);
	check_secret(d, "smtp_password_file", c->smtp_password_file);
	check_secret(d, "sms_auth_file", c->sms_auth_file);
	check_secret(d, "telegram_token_file", c->telegram_token_file);
}

void dr_check_helper(struct doctor *d, const char *path)
{
	struct stat sb;
	char fix[4200];

	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		dr_add(d, DR_ERROR, path, 0, "install it (make install)",
		       "the helper pam-recover is not installed there: users cannot enable 2-step "
		       "verification or reset a password, and logins through programs that do "
		       "not run as root (screen lockers) fail");
		return;
	}
	if (sb.st_uid != 0 || (sb.st_mode & S_ISUID) == 0 || (sb.st_mode & 022) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 4755 %s", path, path) <
		    0)
			fix[0] = '\0';
		dr_add(d, DR_ERROR, path, 0, fix,
		       "the helper is %s (mode %04o, owner uid %ld): users cannot enable 2-step "
		       "verification or reset a password, and logins through programs that do not "
		       "run as root (screen lockers) fail",
		       sb.st_uid != 0            ? "not owned by root"
		       : (sb.st_mode & 022) != 0 ? "writable by group or others"
						 : "not setuid root",
		       (unsigned)(sb.st_mode & 07777), (long)sb.st_uid);
	}
}

/* Run the back end as a module would (empty environment, the request on a pipe) with a
 * `config` request: its exit status, or -1 if it could not be run. */
static int backend_answers(const char *path)
{
	static const char req[] = "config\n\npam-recover\n\n";
	char *const argv[] = {(char *)"pam-recover-check", NULL};
	char *const envp[] = {NULL};
	int pfd[2], status = 0;
	pid_t pid, w;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(pfd[0], 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pfd[0]);
	if (write(pfd[1], req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		status = -1;
	close(pfd[1]);
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

void dr_check_backend(struct doctor *d, const char *path, int severity)
{
	struct stat sb;
	char fix[4200];
	int st;

	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		dr_add(d, severity, path, 0, "install it (make install)",
		       "the check back end pam-recover-check is not installed there: logins "
		       "through programs that do not run as root (screen lockers, vlock) fail");
		return;
	}
	if (sb.st_uid != 0 || (sb.st_mode & S_ISUID) == 0 || (sb.st_mode & 022) != 0) {
		if (rc_snprintf(fix, sizeof(fix), "chown root:root %s; chmod 4755 %s", path, path) <
		    0)
			fix[0] = '\0';
		dr_add(d, severity, path, 0, fix,
		       "the check back end is %s (mode %04o, owner uid %ld): logins through "
		       "programs that do not run as root (screen lockers, vlock) fail",
		       sb.st_uid != 0            ? "not owned by root"
		       : (sb.st_mode & 022) != 0 ? "writable by group or others"
						 : "not setuid root",
		       (unsigned)(sb.st_mode & 07777), (long)sb.st_uid);
		return;
	}
	st = backend_answers(path);
	if (st != 0)
		dr_add(d, severity, path, 0,
		       "see its log lines (syslog, authpriv: pam-recover-check); reinstall it",
		       "the check back end does not answer (%s %d): logins through programs that "
		       "do not run as root (screen lockers, vlock) fail with "
		       "PAM_AUTHINFO_UNAVAIL",
		       st < 0 ? "could not be run, status" : "exit status", st);
}
