/*
 * The module's two back ends: direct store access as root, or pam-recover-check.
 *
 * As root, one store connection and the loaded key are kept per process across
 * pam_start/pam_end (the module stays loaded: -z nodelete), so long-lived authentication
 * processes (Dovecot's auth workers, screen lockers) do not connect, read the key and check
 * the schema at every login. The kept pair is used again only when it is the same process
 * (a forked child opens its own and leaves the parent's untouched), the configuration names
 * the same store, key file and name rule, the key file and the SQLite file are the same
 * files (device, inode, change time), and the store is still usable (store_alive: no
 * transaction open, a server still connected). Anything else, or an error during a login,
 * closes it and opens a new one. A second thread that logs in while the pair is in use gets
 * a connection of its own for that login. At exit (or unload) the key is wiped.
 */
#include "backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "check_proto.h"
#include "helper_call.h"
#include "login.h"
#include "secret.h"

int backend_config(pam_handle_t *pamh, struct backend *b, struct cfg *c, int argc,
		   const char **argv, const char *user, const char *service, char *err,
		   size_t errlen)
{
	char text[CHECK_CONFIG_MAX + 1];
	size_t len = 0;
	int r;

	b->enrolled = -1;
	b->held.pid = -1;
	b->held.wfd = -1;
	if (geteuid() == 0)
		return cfg_load_module(c, argc, argv, err, errlen);
	/* Without root the file (0600 root) is not ours to read: its part comes from the back
	 * end, which reads the system file, so both decide on the same configuration. With a
	 * user, the same back end answers `enrolled` and then waits for the login's decision
	 * (mode hold): one exec per login. */
	if (user != NULL)
		r = helper_hold(pamh, user, service, text, sizeof(text), &len, &b->held);
	else
		r = helper_call_out(pamh, CHECK_MODE_CONFIG, "", service, "", text, sizeof(text),
				    &len);
	if (user != NULL && (r == LOGIN_OK || r == LOGIN_NOT_ENROLLED)) {
		b->enrolled = r;
		r = LOGIN_OK;
	} else if (user != NULL && r == LOGIN_LOCKED) {
		/* Over the rate limit: the keys came, the question was refused; the later
		 * requests get the same answer, and the user is told so at the prompt. */
		r = LOGIN_OK;
	}
	if (r != LOGIN_OK) {
		if (rc_snprintf(err, errlen,
				"%s could not tell the configuration (see its own log "
				"lines; `pam-recover admin doctor`)",
				RC_CHECK_PATH) < 0 &&
		    errlen > 0)
			err[0] = '\0';
		RC_WIPE_ARRAY(text);
		memset(c, 0, sizeof(*c));
		helper_held_end(pamh, &b->held);
		return -1;
	}
	r = cfg_load_module_text(c, argc, argv, text, len, err, errlen);
	RC_WIPE_ARRAY(text);
	if (r != 0)
		helper_held_end(pamh, &b->held);
	return r;
}

/* Identity of a file: changed when it is replaced or rewritten. Zeroes when absent. */
struct file_id {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
};

static struct kept {
	pid_t pid;
	struct store *store;
	struct seal_key key;
	char *store_spec;
	char *key_file;
	int name_case;
	struct file_id key_id, db_id;
} kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void file_id(const char *path, struct file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (path != NULL && stat(path, &st) == 0) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->ctime = st.st_ctim;
	}
}

static int same_id(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static const char *sqlite_path(const char *spec)
{
	return spec != NULL && strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : NULL;
}

/* Drop the kept pair. In a forked child the parent's connection is left alone (closing it
 * would end the parent's session on a server): its memory is abandoned, the key wiped. */
static void kept_drop(void)
{
	if (kept.store != NULL && kept.pid == getpid())
		store_close(kept.store);
	kept.store = NULL;
	seal_key_wipe(&kept.key);
	free(kept.store_spec);
	free(kept.key_file);
	kept.store_spec = kept.key_file = NULL;
	kept.pid = 0;
}

__attribute__((destructor)) static void kept_unload(void)
{
	if (pthread_mutex_trylock(&kept_lock) == 0) {
		kept_drop();
		pthread_mutex_unlock(&kept_lock);
	} else {
		seal_key_wipe(&kept.key);
	}
}

static int kept_matches(const struct cfg *c, const struct file_id *key_id,
			const struct file_id *db_id)
{
	return kept.store != NULL && kept.pid == getpid() && kept.store_spec != NULL &&
	       kept.key_file != NULL && strcmp(kept.store_spec, c->store) == 0 &&
	       strcmp(kept.key_file, c->key_file) == 0 && kept.name_case == c->user_name_case &&
	       same_id(&kept.key_id, key_id) && same_id(&kept.db_id, db_id) &&
	       store_alive(kept.store);
}

static int open_fresh(pam_handle_t *pamh, const struct cfg *c, struct store **s, struct seal_key *k)
{
	char err[512];

	if (seal_key_load(c->key_file, k, err, sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot use the key: %s", err);
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (store_open(c, 0, s, err, sizeof(err)) != STORE_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot open the store: %s", err);
		seal_key_wipe(k);
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

int backend_open(pam_handle_t *pamh, const struct cfg *c, struct backend *b)
{
	struct file_id key_id, db_id;
	int r;

	b->store = NULL;
	b->kept = b->failed = 0;
	if (geteuid() != 0) {
		b->via_helper = 1; /* b->enrolled stays as backend_config left it */
		return PAM_SUCCESS;
	}
	b->enrolled = -1;
	if (pthread_mutex_trylock(&kept_lock) != 0) /* in use by another thread */
		return open_fresh(pamh, c, &b->store, &b->key);
	file_id(c->key_file, &key_id);
	file_id(sqlite_path(c->store), &db_id);
	/* the database file changes at every checkpoint: only its replacement counts */
	db_id.ctime.tv_sec = db_id.ctime.tv_nsec = 0;
	if (!kept_matches(c, &key_id, &db_id)) {
		kept_drop();
		r = open_fresh(pamh, c, &kept.store, &kept.key);
		kept.store_spec = r == PAM_SUCCESS ? strdup(c->store) : NULL;
		kept.key_file = r == PAM_SUCCESS ? strdup(c->key_file) : NULL;
		if (r == PAM_SUCCESS && (kept.store_spec == NULL || kept.key_file == NULL))
			r = PAM_BUF_ERR;
		if (r != PAM_SUCCESS) {
			kept.pid = getpid();
			kept_drop();
			pthread_mutex_unlock(&kept_lock);
			return r;
		}
		kept.pid = getpid();
		kept.name_case = c->user_name_case;
		kept.key_id = key_id;
		kept.db_id = db_id;
	}
	b->store = kept.store;
	b->key = kept.key;
	b->kept = 1;
	return PAM_SUCCESS;
}

void backend_close(pam_handle_t *pamh, struct backend *b)
{
	helper_held_end(pamh, &b->held);
	if (b->kept) {
		/* after an error the connection may be broken or mid-transaction: reopen next
		 * time (store_alive also says so for a server that went away) */
		if (b->failed || !store_alive(kept.store))
			kept_drop();
		pthread_mutex_unlock(&kept_lock);
	} else if (b->store != NULL) {
		store_close(b->store);
	}
	b->store = NULL;
	b->kept = 0;
	seal_key_wipe(&b->key);
}

int backend_enrolled(pam_handle_t *pamh, struct backend *b, const char *user, const char *service)
{
	int r;

	if (b->via_helper && b->enrolled >= 0)
		return b->enrolled; /* asked with the configuration, in the same exec */
	if (b->via_helper)
		return helper_held_call(pamh, &b->held, CHECK_MODE_ENROLLED, user, service, "");
	r = login_enrolled(b->store, user);
	b->failed |= r == LOGIN_ERROR;
	if (r == LOGIN_ERROR) /* never a value: store errors name no secret */
		pam_syslog(pamh, LOG_ERR, "user %s: store error: %s", user, store_errmsg(b->store));
	return r;
}

int backend_verify(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		   const char *service, const char *const *codes, int n, int *which,
		   int *locked_now, const char **reason)
{
	char joined[128];
	int r;

	if (!b->via_helper) {
		r = login_verify_codes(c, b->store, &b->key, user, codes, n, rc_now(), locked_now,
				       reason, which);
		b->failed |= r == LOGIN_ERROR;
		return r;
	}
	/* The helper counts both candidates as one attempt, as login_verify_codes does. */
	*locked_now = 0;
	*which = 0;
	*reason = "answer of pam-recover check";
	/* One typed code goes as the root path reads it (blanks and dashes dropped): the helper
	 * takes "DDDDDD DDDDDDDD" for forward_pass's two tails, and a typed code must not test
	 * two guesses for one attempt that way. */
	if (n == 1 ? secret_normalise(codes[0], joined, sizeof(joined)) != 0
		   : rc_snprintf(joined, sizeof(joined), "%s %s", codes[0], codes[1]) < 0) {
		RC_WIPE_ARRAY(joined); /* a cut-off code is still part of one */
		return LOGIN_WRONG;
	}
	r = helper_held_call(pamh, &b->held, CHECK_MODE_CODE, user, service, joined);
	RC_WIPE_ARRAY(joined);
	/* A backup code is the 8-digit tail; a current code is the 6-digit one unless the
	 * back end says it was the 8-digit one (CHECK_OK_TAIL8). */
	if (r == CHECK_OK_TAIL8) {
		r = n > 1 ? LOGIN_OK : LOGIN_ERROR;
		*which = 1;
	} else if (r == LOGIN_OK_BACKUP && n > 1) {
		*which = 1;
	}
	return r;
}

int backend_attempt(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		    const char *service, struct login_attempt *a)
{
	int r;

	if (!b->via_helper) {
		r = login_verify(c, b->store, &b->key, user, rc_now(), a);
		b->failed |= r == LOGIN_ERROR;
		return r;
	}
	r = backend_verify(pamh, b, c, user, service, a->codes, a->n, &a->which, &a->locked_now,
			   &a->reason);
	a->locked_until = 0;
	return r;
}

int backend_split(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		  const char *tail8, int *split)
{
	int r;

	*split = LOGIN_SPLIT_NONE;
	if (!b->via_helper) {
		r = login_split_lookup(b->store, &b->key, user, tail8, split);
		b->failed |= r == LOGIN_ERROR;
		return r;
	}
	r = check_split_from_status(helper_held_call(pamh, &b->held, CHECK_MODE_SPLIT, user,
						     service, tail8 != NULL ? tail8 : ""));
	if (r < 0)
		return LOGIN_ERROR;
	*split = r;
	return LOGIN_OK;
}

int backend_app(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		const char *typed, char *other, size_t n)
{
	int r;

	if (n > 0)
		other[0] = '\0';
	if (b->via_helper)
		return helper_held_call(pamh, &b->held, CHECK_MODE_APP, user, service, typed);
	r = login_app_password_other(b->store, &b->key, user, service, typed, rc_now(), other, n);
	b->failed |= r == LOGIN_ERROR;
	return r;
}
