/*
 * The store's front: checks every argument once and dispatches through the backend's ops
 * table (store_open.c picks the backend). No SQL here, and no backend named: the backends
 * sit below this file and use its error helpers.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* strnlen */
#endif

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "method.h"
#include "store.h"
#include "store_backend.h"

int store_set_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(s->err, sizeof(s->err), fmt, ap) < 0)
		s->err[0] = '\0';
	va_end(ap);
	return STORE_ERR;
}

void store_put_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_tx)
		s->ops->rollback(s);
	s->ops->close(s);
}

int store_alive(struct store *s)
{
	if (s == NULL || s->in_tx)
		return 0;
	return s->ops->alive == NULL || s->ops->alive(s);
}

const char *store_errmsg(struct store *s)
{
	if (s == NULL)
		return "no store";
	return s->err[0] ? s->err : "no error";
}

/* ---- argument checks ---- */

static int str_ok(const char *v, size_t min, size_t max)
{
	size_t n;

	if (v == NULL)
		return 0;
	n = strnlen(v, max + 1);
	return n >= min && n <= max;
}

/* Common entry check: a store and a valid user name. */
static int chk(struct store *s, const char *user, const char *what)
{
	if (s == NULL)
		return STORE_ERR;
	if (!str_ok(user, 1, STORE_USER_MAX))
		return store_set_err(s, "%s: the user name is empty or longer than %d bytes", what,
				     STORE_USER_MAX);
	return STORE_OK;
}

static int chk_totp(struct store *s, const struct store_totp *t, const char *what)
{
	if (t == NULL)
		return store_set_err(s, "%s: no record", what);
	if (t->sealed_len == 0 || t->sealed_len > STORE_SEALED_MAX)
		return store_set_err(s, "%s: sealed secret is empty or longer than %d bytes", what,
				     STORE_SEALED_MAX);
	return STORE_OK;
}

static int chk_labels(struct store *s, const char *channel, const char *purpose, const char *what)
{
	if (!str_ok(channel, 1, STORE_LABEL_MAX) || !str_ok(purpose, 1, STORE_LABEL_MAX))
		return store_set_err(s, "%s: channel or purpose is empty or longer than %d bytes",
				     what, STORE_LABEL_MAX);
	return STORE_OK;
}

static int chk_kind(struct store *s, int kind, const char *what)
{
	if (!method_is_channel(kind))
		return store_set_err(s, "%s: unknown contact kind", what);
	return STORE_OK;
}

static int chk_key(struct store *s, const char *key, int64_t now, int window_s, const char *what)
{
	if (s == NULL)
		return STORE_ERR;
	if (now < 0)
		return store_set_err(s, "%s: negative time", what);
	if (!str_ok(key, 1, STORE_KEY_MAX))
		return store_set_err(s, "%s: the key is empty or longer than %d bytes", what,
				     STORE_KEY_MAX);
	if (window_s <= 0)
		return store_set_err(s, "%s: the window must be at least one second", what);
	return STORE_OK;
}

/* Backends answer with STORE_* codes only; anything else is a bug and fails closed. */
static int norm(int r)
{
	return r == STORE_OK || r == STORE_NOTFOUND || r == STORE_CONFLICT ? r : STORE_ERR;
}

/* ---- transactions ---- */

int store_begin(struct store *s)
{
	int r;

	if (s == NULL)
		return STORE_ERR;
	if (s->in_tx)
		return store_set_err(s, "store_begin: a transaction is already open (nesting is "
					"not supported)");
	r = norm(s->ops->begin(s));
	if (r == STORE_OK)
		s->in_tx = 1;
	return r == STORE_OK ? STORE_OK : STORE_ERR;
}

int store_begin_snapshot(struct store *s)
{
	int r;

	if (s == NULL)
		return STORE_ERR;
	if (s->in_tx)
		return store_set_err(s, "store_begin_snapshot: a transaction is already open "
					"(nesting is not supported)");
	if (s->ops->begin_snapshot == NULL)
		return store_set_err(s, "the %s backend cannot read a snapshot", s->ops->name);
	r = norm(s->ops->begin_snapshot(s));
	if (r == STORE_OK)
		s->in_tx = 1;
	return r == STORE_OK ? STORE_OK : STORE_ERR;
}

int store_commit(struct store *s)
{
	int r;

	if (s == NULL)
		return STORE_ERR;
	if (!s->in_tx)
		return store_set_err(s, "store_commit: no transaction is open");
	r = norm(s->ops->commit(s));
	s->in_tx = 0; /* the backend rolled back when the commit failed */
	return r == STORE_OK ? STORE_OK : STORE_ERR;
}

void store_rollback(struct store *s)
{
	if (s == NULL || !s->in_tx)
		return;
	s->ops->rollback(s);
	s->in_tx = 0;
}

/* ---- TOTP enrolment ---- */

int store_totp_get(struct store *s, const char *user, struct store_totp *out)
{
	char other[STORE_USER_MAX + 1];
	int r;

	if (chk(s, user, "totp_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "totp_get: no place for the result");
	memset(out, 0, sizeof(*out));
	r = norm(s->ops->totp_get(s, user, out));
	if (r != STORE_NOTFOUND || !rc_user_name_folds(s->name_case, user))
		return r;
	/* Not enrolled under this name: fail closed if the user is under another spelling. */
	r = norm(s->ops->user_spelling(s, user, other, sizeof(other)));
	if (r == STORE_OK)
		return store_set_err(s, "the store holds this user under another spelling of the "
					"name (written before user names were canonical): run "
					"`pam-recover admin canonicalise-names`");
	return r;
}

/* A device name: 1..STORE_DEVICE_MAX bytes, no control characters. */
static int chk_device(struct store *s, const char *name, const char *what)
{
	if (!str_ok(name, 1, STORE_DEVICE_MAX))
		return store_set_err(s, "%s: the device name is empty or longer than %d bytes",
				     what, STORE_DEVICE_MAX);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return store_set_err(s, "%s: control character in the device name", what);
	return STORE_OK;
}

/* *t with the device name filled in ("" becomes STORE_DEVICE_DEFAULT) and checked, into
 * *named (the caller wipes it). */
static int named_totp(struct store *s, const struct store_totp *t, struct store_totp *named,
		      const char *what)
{
	if (chk_totp(s, t, what) != STORE_OK)
		return STORE_ERR;
	*named = *t;
	named->device[STORE_DEVICE_MAX] = '\0';
	if (named->device[0] == '\0')
		memcpy(named->device, STORE_DEVICE_DEFAULT, sizeof(STORE_DEVICE_DEFAULT));
	return chk_device(s, named->device, what);
}

int store_totp_put(struct store *s, const char *user, const struct store_totp *t)
{
	struct store_totp named;
	int r = STORE_ERR;

	if (chk(s, user, "totp_put") == STORE_OK &&
	    named_totp(s, t, &named, "totp_put") == STORE_OK)
		r = norm(s->ops->totp_put(s, user, &named));
	rc_wipe(&named, sizeof(named));
	return r;
}

int store_device_list(struct store *s, const char *user,
		      int (*cb)(void *ctx, const struct store_device *d), void *ctx)
{
	if (chk(s, user, "device_list") != STORE_OK)
		return STORE_ERR;
	if (cb == NULL)
		return store_set_err(s, "device_list: no callback");
	return norm(s->ops->device_list(s, user, cb, ctx));
}

int store_device_add(struct store *s, const char *user, const struct store_totp *t, int replace)
{
	struct store_totp named;
	int r = STORE_ERR;

	if (chk(s, user, "device_add") == STORE_OK &&
	    named_totp(s, t, &named, "device_add") == STORE_OK)
		r = norm(s->ops->device_add(s, user, &named, replace != 0));
	rc_wipe(&named, sizeof(named));
	return r;
}

int store_device_delete(struct store *s, const char *user, const char *name, int *left)
{
	int dummy = 0;

	if (chk(s, user, "device_delete") != STORE_OK ||
	    chk_device(s, name, "device_delete") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->device_delete(s, user, name, left != NULL ? left : &dummy));
}

int store_device_step_cas(struct store *s, const char *user, const char *name, int64_t step,
			  int64_t now)
{
	if (chk(s, user, "device_step_cas") != STORE_OK ||
	    chk_device(s, name, "device_step_cas") != STORE_OK)
		return STORE_ERR;
	if (step < 0 || now < 0)
		return store_set_err(s, "device_step_cas: negative time step or time");
	return norm(s->ops->device_step_cas(s, user, name, step, now));
}

int store_totp_delete(struct store *s, const char *user)
{
	if (chk(s, user, "totp_delete") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->totp_delete(s, user));
}

int store_pending_put(struct store *s, const char *user, const struct store_totp *t)
{
	if (chk(s, user, "pending_put") != STORE_OK || chk_totp(s, t, "pending_put") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->pending_put(s, user, t));
}

int store_pending_get(struct store *s, const char *user, struct store_totp *out)
{
	if (chk(s, user, "pending_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "pending_get: no place for the result");
	memset(out, 0, sizeof(*out));
	return norm(s->ops->pending_get(s, user, out));
}

int store_pending_delete(struct store *s, const char *user)
{
	if (chk(s, user, "pending_delete") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->pending_delete(s, user));
}

int store_totp_list(struct store *s, int (*cb)(void *ctx, const char *user, int64_t created),
		    void *ctx)
{
	if (s == NULL)
		return STORE_ERR;
	if (cb == NULL)
		return store_set_err(s, "totp_list: no callback");
	return norm(s->ops->totp_list(s, cb, ctx));
}

/* ---- login state ---- */

int store_state_get(struct store *s, const char *user, struct store_login_state *out)
{
	if (chk(s, user, "state_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "state_get: no place for the result");
	out->last_step = -1;
	out->failures = 0;
	out->locked_until = 0;
	return norm(s->ops->state_get(s, user, out));
}

int store_step_cas(struct store *s, const char *user, int64_t step)
{
	if (chk(s, user, "step_cas") != STORE_OK)
		return STORE_ERR;
	if (step < 0)
		return store_set_err(s, "step_cas: negative time step");
	return norm(s->ops->step_cas(s, user, step));
}

int store_fail(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
	       int *failures_out, int *locked_out)
{
	int f = 0, l = 0, r;

	if (failures_out != NULL)
		*failures_out = 0;
	if (locked_out != NULL)
		*locked_out = 0;
	if (chk(s, user, "fail") != STORE_OK)
		return STORE_ERR;
	if (deny < 0 || unlock_time < 0 || now < 0)
		return store_set_err(s, "fail: negative deny, unlock_time or time");
	r = norm(s->ops->fail(s, user, now, deny, unlock_time, &f, &l));
	if (r == STORE_OK) {
		if (failures_out != NULL)
			*failures_out = f;
		if (locked_out != NULL)
			*locked_out = l;
	}
	return r;
}

int store_login_read(struct store *s, const char *user,
		     int (*cb)(void *ctx, const struct store_device *d), void *ctx,
		     struct store_login_state *st)
{
	char other[STORE_USER_MAX + 1];
	int r;

	if (chk(s, user, "login_read") != STORE_OK)
		return STORE_ERR;
	if (cb == NULL || st == NULL)
		return store_set_err(s, "login_read: no place for the result");
	st->last_step = -1;
	st->failures = 0;
	st->locked_until = 0;
	r = norm(s->ops->login_read(s, user, cb, ctx, st));
	if (r != STORE_NOTFOUND || !rc_user_name_folds(s->name_case, user))
		return r;
	/* As store_totp_get: fail closed if the user is enrolled under another spelling. */
	r = norm(s->ops->user_spelling(s, user, other, sizeof(other)));
	if (r == STORE_OK)
		return store_set_err(s, "the store holds this user under another spelling of the "
					"name (written before user names were canonical): run "
					"`pam-recover admin canonicalise-names`");
	return r;
}

int store_login_try(struct store *s, const char *user, int64_t now, int deny, int unlock_time,
		    const char *device, int64_t step, struct store_login_try *out)
{
	int r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (chk(s, user, "login_try") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "login_try: no place for the result");
	if (deny < 0 || unlock_time < 0 || now < 0 || step < -1)
		return store_set_err(s, "login_try: negative deny, unlock_time, time or step");
	if (step >= 0 && chk_device(s, device, "login_try") != STORE_OK)
		return STORE_ERR;
	if (step < 0 && device != NULL)
		return store_set_err(s, "login_try: a device without a time step");
	r = norm(s->ops->login_try(s, user, now, deny, unlock_time, step >= 0 ? device : "", step,
				   out));
	if (r != STORE_OK)
		memset(out, 0, sizeof(*out));
	return r == STORE_OK ? STORE_OK : STORE_ERR;
}

int store_reset_failures(struct store *s, const char *user)
{
	if (chk(s, user, "reset_failures") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->reset_failures(s, user));
}

int store_unlock(struct store *s, const char *user)
{
	if (chk(s, user, "unlock") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->unlock(s, user));
}

/* ---- backup codes ---- */

int store_backup_replace(struct store *s, const char *user,
			 const unsigned char (*hashes)[STORE_HASH_LEN], size_t n)
{
	if (chk(s, user, "backup_replace") != STORE_OK)
		return STORE_ERR;
	if (n > 0 && hashes == NULL)
		return store_set_err(s, "backup_replace: no codes given");
	if (n > 1000)
		return store_set_err(s, "backup_replace: too many codes");
	return norm(s->ops->backup_replace(s, user, hashes, n));
}

int store_backup_use(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		     int64_t now)
{
	if (chk(s, user, "backup_use") != STORE_OK)
		return STORE_ERR;
	if (hash == NULL)
		return store_set_err(s, "backup_use: no hash");
	return norm(s->ops->backup_use(s, user, hash, now));
}

int store_backup_count(struct store *s, const char *user, int *left)
{
	if (chk(s, user, "backup_count") != STORE_OK)
		return STORE_ERR;
	if (left == NULL)
		return store_set_err(s, "backup_count: no place for the result");
	*left = 0;
	return norm(s->ops->backup_count(s, user, left));
}

/* ---- app passwords ---- */

int store_app_add(struct store *s, const char *user, const struct store_app_password *a)
{
	if (chk(s, user, "app_add") != STORE_OK)
		return STORE_ERR;
	if (a == NULL)
		return store_set_err(s, "app_add: no record");
	if (!str_ok(a->name, 1, sizeof(a->name) - 1) ||
	    !str_ok(a->services, 0, sizeof(a->services) - 1))
		return store_set_err(s,
				     "app_add: name empty or not terminated, or services too long");
	return norm(s->ops->app_add(s, user, a));
}

int store_app_revoke(struct store *s, const char *user, const char *name)
{
	if (chk(s, user, "app_revoke") != STORE_OK)
		return STORE_ERR;
	if (!str_ok(name, 1, sizeof(((struct store_app_password *)0)->name) - 1))
		return store_set_err(s, "app_revoke: the name is empty or too long");
	return norm(s->ops->app_revoke(s, user, name));
}

int store_app_revoke_all(struct store *s, const char *user)
{
	if (chk(s, user, "app_revoke_all") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->app_revoke_all(s, user));
}

int store_app_list(struct store *s, const char *user,
		   int (*cb)(void *ctx, const struct store_app_password *a), void *ctx)
{
	if (chk(s, user, "app_list") != STORE_OK)
		return STORE_ERR;
	if (cb == NULL)
		return store_set_err(s, "app_list: no callback");
	return norm(s->ops->app_list(s, user, cb, ctx));
}

int store_app_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		    int64_t now, struct store_app_password *out)
{
	if (chk(s, user, "app_match") != STORE_OK)
		return STORE_ERR;
	if (hash == NULL || out == NULL)
		return store_set_err(s, "app_match: no hash or no place for the result");
	memset(out, 0, sizeof(*out));
	return norm(s->ops->app_match(s, user, hash, now, out));
}

int store_backup_state(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN])
{
	if (chk(s, user, "backup_state") != STORE_OK)
		return STORE_ERR;
	if (hash == NULL)
		return store_set_err(s, "backup_state: no hash");
	return norm(s->ops->backup_state(s, user, hash));
}

/* ---- reuse windows ---- */

int store_reuse_put(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		    int64_t now, int64_t expires)
{
	if (chk(s, user, "reuse_put") != STORE_OK)
		return STORE_ERR;
	if (hash == NULL || now < 0 || expires <= now)
		return store_set_err(s, "reuse_put: no hash, or an expiry not after now");
	return norm(s->ops->reuse_put(s, user, hash, now, expires));
}

int store_reuse_match(struct store *s, const char *user, const unsigned char hash[STORE_HASH_LEN],
		      int64_t now, int64_t *expires_out)
{
	int64_t ignored;

	if (chk(s, user, "reuse_match") != STORE_OK)
		return STORE_ERR;
	if (hash == NULL || now < 0)
		return store_set_err(s, "reuse_match: no hash or a negative time");
	return norm(s->ops->reuse_match(s, user, hash, now,
					expires_out != NULL ? expires_out : &ignored));
}

int store_reuse_clear(struct store *s, const char *user)
{
	if (chk(s, user, "reuse_clear") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->reuse_clear(s, user));
}

/* ---- contacts ---- */

int store_contact_put(struct store *s, const char *user, const struct store_contact *c)
{
	if (chk(s, user, "contact_put") != STORE_OK)
		return STORE_ERR;
	if (c == NULL)
		return store_set_err(s, "contact_put: no record");
	if (chk_kind(s, c->kind, "contact_put") != STORE_OK)
		return STORE_ERR;
	if (c->sealed_len == 0 || c->sealed_len > STORE_SEALED_MAX)
		return store_set_err(s,
				     "contact_put: sealed value is empty or longer than %d bytes",
				     STORE_SEALED_MAX);
	return norm(s->ops->contact_put(s, user, c));
}

int store_contact_get(struct store *s, const char *user, int kind, struct store_contact *out)
{
	if (chk(s, user, "contact_get") != STORE_OK || chk_kind(s, kind, "contact_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "contact_get: no place for the result");
	memset(out, 0, sizeof(*out));
	return norm(s->ops->contact_get(s, user, kind, out));
}

int store_contact_set_verified(struct store *s, const char *user, int kind)
{
	if (chk(s, user, "contact_set_verified") != STORE_OK ||
	    chk_kind(s, kind, "contact_set_verified") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->contact_set_verified(s, user, kind, rc_now()));
}

int store_contact_delete(struct store *s, const char *user, int kind)
{
	if (chk(s, user, "contact_delete") != STORE_OK ||
	    chk_kind(s, kind, "contact_delete") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->contact_delete(s, user, kind));
}

/* ---- security question ---- */

int store_question_put(struct store *s, const char *user, const struct store_question *q)
{
	if (chk(s, user, "question_put") != STORE_OK)
		return STORE_ERR;
	if (q == NULL)
		return store_set_err(s, "question_put: no record");
	if (!str_ok(q->question, 1, sizeof(q->question) - 1) ||
	    !str_ok(q->answer_hash, 1, sizeof(q->answer_hash) - 1))
		return store_set_err(s, "question_put: question or answer hash empty or too long");
	return norm(s->ops->question_put(s, user, q));
}

int store_question_get(struct store *s, const char *user, struct store_question *out)
{
	if (chk(s, user, "question_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "question_get: no place for the result");
	memset(out, 0, sizeof(*out));
	return norm(s->ops->question_get(s, user, out));
}

int store_question_delete(struct store *s, const char *user)
{
	if (chk(s, user, "question_delete") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->question_delete(s, user));
}

/* ---- one-time codes ---- */

int store_token_put(struct store *s, const char *user, const char *channel, const char *purpose,
		    const struct store_token *t)
{
	if (chk(s, user, "token_put") != STORE_OK ||
	    chk_labels(s, channel, purpose, "token_put") != STORE_OK)
		return STORE_ERR;
	if (t == NULL)
		return store_set_err(s, "token_put: no record");
	return norm(s->ops->token_put(s, user, channel, purpose, t));
}

int store_token_get(struct store *s, const char *user, const char *channel, const char *purpose,
		    struct store_token *out)
{
	if (chk(s, user, "token_get") != STORE_OK ||
	    chk_labels(s, channel, purpose, "token_get") != STORE_OK)
		return STORE_ERR;
	if (out == NULL)
		return store_set_err(s, "token_get: no place for the result");
	memset(out, 0, sizeof(*out));
	return norm(s->ops->token_get(s, user, channel, purpose, out));
}

int store_token_attempt(struct store *s, const char *user, const char *channel, const char *purpose,
			int *attempts_out)
{
	int a = 0, r;

	if (attempts_out != NULL)
		*attempts_out = 0;
	if (chk(s, user, "token_attempt") != STORE_OK ||
	    chk_labels(s, channel, purpose, "token_attempt") != STORE_OK)
		return STORE_ERR;
	r = norm(s->ops->token_attempt(s, user, channel, purpose, &a));
	if (r == STORE_OK && attempts_out != NULL)
		*attempts_out = a;
	return r;
}

int store_token_consume(struct store *s, const char *user, const char *channel, const char *purpose)
{
	if (chk(s, user, "token_consume") != STORE_OK ||
	    chk_labels(s, channel, purpose, "token_consume") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->token_consume(s, user, channel, purpose));
}

int store_token_revoke_all(struct store *s, const char *user)
{
	if (chk(s, user, "token_revoke_all") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->token_revoke_all(s, user));
}

int store_token_prune(struct store *s, int64_t now, int *removed)
{
	int n = 0, r;

	if (removed != NULL)
		*removed = 0;
	if (s == NULL)
		return STORE_ERR;
	r = norm(s->ops->token_prune(s, now, &n));
	if (r == STORE_OK && removed != NULL)
		*removed = n;
	return r;
}

/* ---- counters ---- */

int store_counter_hit(struct store *s, const char *key, int64_t now, int window_s, int *count_out)
{
	int c = 0, r;

	if (count_out != NULL)
		*count_out = 0;
	if (chk_key(s, key, now, window_s, "counter_hit") != STORE_OK)
		return STORE_ERR;
	r = norm(s->ops->counter_hit(s, key, now, window_s, &c));
	if (r == STORE_OK && count_out != NULL)
		*count_out = c;
	return r;
}

int store_counter_get(struct store *s, const char *key, int64_t now, int window_s, int *count_out)
{
	int c = 0, r;

	if (count_out != NULL)
		*count_out = 0;
	if (chk_key(s, key, now, window_s, "counter_get") != STORE_OK)
		return STORE_ERR;
	r = norm(s->ops->counter_get(s, key, now, window_s, &c));
	if (r == STORE_OK && count_out != NULL)
		*count_out = c;
	return r;
}

int store_counter_clear(struct store *s, const char *key)
{
	if (chk_key(s, key, 0, 1, "counter_clear") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->counter_clear(s, key));
}

int store_counter_release(struct store *s, const char *key, int64_t when)
{
	if (chk_key(s, key, when, 1, "counter_release") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->counter_release(s, key, when));
}

int store_counter_prune(struct store *s, int64_t before, int max, int *removed)
{
	int n = 0, r;

	if (removed != NULL)
		*removed = 0;
	if (s == NULL)
		return STORE_ERR;
	r = norm(s->ops->counter_prune(s, before, max, &n));
	if (r == STORE_OK && removed != NULL)
		*removed = n;
	return r;
}

/* ---- audit ---- */

int store_audit_add(struct store *s, const char *user, long ruid, const char *event,
		    const char *method, const char *detail)
{
	if (s == NULL)
		return STORE_ERR;
	if (user != NULL && !str_ok(user, 1, STORE_USER_MAX))
		return store_set_err(s, "audit_add: the user name is empty or too long");
	if (!str_ok(event, 1, sizeof(((struct store_audit *)0)->event) - 1))
		return store_set_err(s, "audit_add: the event is empty or too long");
	if (method != NULL && !str_ok(method, 0, sizeof(((struct store_audit *)0)->method) - 1))
		return store_set_err(s, "audit_add: the method is too long");
	/* A longer detail is cut to what store_audit can hold. */
	char d[sizeof(((struct store_audit *)0)->detail)];
	size_t n = detail ? strnlen(detail, sizeof(d) - 1) : 0;

	if (n > 0)
		memcpy(d, detail, n);
	d[n] = '\0';
	return norm(s->ops->audit_add(s, rc_now(), user, ruid, event, method ? method : "", d));
}

int store_audit_list(struct store *s, const char *user, int limit,
		     int (*cb)(void *ctx, const struct store_audit *a), void *ctx)
{
	if (s == NULL)
		return STORE_ERR;
	if (user != NULL && !str_ok(user, 1, STORE_USER_MAX))
		return store_set_err(s, "audit_list: the user name is empty or too long");
	if (cb == NULL)
		return store_set_err(s, "audit_list: no callback");
	return norm(s->ops->audit_list(s, user, limit, cb, ctx));
}

int store_audit_prune(struct store *s, int64_t before, int max, int *removed)
{
	int n = 0, r;

	if (removed != NULL)
		*removed = 0;
	if (s == NULL)
		return STORE_ERR;
	r = norm(s->ops->audit_prune(s, before, max, &n));
	if (r == STORE_OK && removed != NULL)
		*removed = n;
	return r;
}

int store_user_purge(struct store *s, const char *user)
{
	if (chk(s, user, "user_purge") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->user_purge(s, user));
}

int store_user_names(struct store *s, int (*cb)(void *ctx, const char *user), void *ctx)
{
	if (s == NULL)
		return STORE_ERR;
	if (cb == NULL)
		return store_set_err(s, "user_names: no callback");
	return norm(s->ops->user_names(s, cb, ctx));
}

int store_keycheck_get(struct store *s, unsigned char *sealed, size_t cap, size_t *len)
{
	if (s == NULL)
		return STORE_ERR;
	if (sealed == NULL || len == NULL || cap == 0)
		return store_set_err(s, "keycheck_get: no place for the result");
	*len = 0;
	return norm(s->ops->keycheck_get(s, sealed, cap, len));
}

int store_keycheck_put(struct store *s, const unsigned char *sealed, size_t len, int64_t created)
{
	if (s == NULL)
		return STORE_ERR;
	if (sealed == NULL || len == 0 || len > STORE_SEALED_MAX)
		return store_set_err(s, "keycheck_put: empty or too long");
	return norm(s->ops->keycheck_put(s, sealed, len, created));
}

/* ---- copying a whole store ---- */

/* clang-format off */
const struct store_table store_tables[] = {
	{"totp", "username, device, sealed, algorithm, digits, period, created", "ttbiiii", NULL,
	 0},
	{"totp_pending", "username, sealed, algorithm, digits, period, created", "tbiiii", NULL, 0},
	{"login_state", "username, last_step, failures, locked_until", "tiii", NULL, 0},
	{"backup_codes", "username, hash, used_at", "tbi", NULL, 0},
	{"app_passwords", "username, name, services, hash, created, last_used", "tttbii", NULL, 0},
	{"contacts", "username, kind, sealed, verified, updated", "tibii", NULL, 0},
	{"questions", "username, question, answer_hash, updated", "ttti", NULL, 0},
	{"tokens", "username, channel, purpose, hash, expires, attempts, used", "tttbiii", NULL, 0},
	{"counters", "key, time", "ti", NULL, 0},
	{"audit", "time, username, ruid, event, method, detail", "itittt", "id", 0},
	{"key_check", "id, sealed, created", "ibi", NULL, 0},
	{"outbox", "id, username, kind, sealed, time, proofs, caller, flags, state, owner, "
		   "attempts, next_try, last_error", "itibittiitiit", "id", 1},
	{"reuse", "username, hash, expires", "tbi", NULL, 0},
	{"device_steps", "username, device, last_step, last_used", "ttii", NULL, 0},
};
/* clang-format on */
const size_t store_n_tables = sizeof(store_tables) / sizeof(store_tables[0]);

int store_table_sql(const struct store_table *t, int what, char p, char *buf, size_t n)
{
	size_t used;
	int k;

	switch (what) {
	case STORE_SQL_SELECT:
		k = snprintf(buf, n, "SELECT %s FROM %s%s%s", t->cols, t->name,
			     t->order ? " ORDER BY " : "", t->order ? t->order : "");
		break;
	case STORE_SQL_COUNT:
		k = snprintf(buf, n, "SELECT count(*) FROM %s", t->name);
		break;
	default:
		k = snprintf(buf, n, "INSERT INTO %s (%s) VALUES (", t->name, t->cols);
		for (size_t i = 0; k > 0 && (size_t)k < n && t->types[i] != '\0'; i++) {
			used = (size_t)k;
			k += snprintf(buf + used, n - used, "%s%c%zu", i ? ", " : "", p, i + 1);
		}
		if (k > 0 && (size_t)k < n)
			k += snprintf(buf + k, n - (size_t)k, ")");
		break;
	}
	return k > 0 && (size_t)k < n ? 0 : -1;
}

static int chk_table(struct store *s, size_t t)
{
	if (s == NULL)
		return STORE_ERR;
	if (t >= store_n_tables)
		return store_set_err(s, "no such table");
	if (s->ops->table_rows == NULL || s->ops->table_put == NULL || s->ops->table_count == NULL)
		return store_set_err(s, "the %s backend cannot copy tables", s->ops->name);
	return STORE_OK;
}

int store_table_rows(struct store *s, size_t t, int (*cb)(void *ctx, const struct store_val *v),
		     void *ctx)
{
	int r = chk_table(s, t);

	if (r != STORE_OK)
		return r;
	if (cb == NULL)
		return store_set_err(s, "store_table_rows: no callback");
	return norm(s->ops->table_rows(s, &store_tables[t], cb, ctx));
}

int store_table_put(struct store *s, size_t t, const struct store_val *v)
{
	int r = chk_table(s, t);

	if (r != STORE_OK)
		return r;
	if (v == NULL)
		return store_set_err(s, "store_table_put: no values");
	return norm(s->ops->table_put(s, &store_tables[t], v));
}

int store_table_count(struct store *s, size_t t, long long *n)
{
	int r = chk_table(s, t);

	if (r != STORE_OK)
		return r;
	if (n == NULL)
		return store_set_err(s, "store_table_count: no place for the result");
	return norm(s->ops->table_count(s, &store_tables[t], n));
}

/* ---- outbox ---- */

static int chk_owner(struct store *s, const char *owner, const char *what)
{
	if (s == NULL)
		return STORE_ERR;
	if (!str_ok(owner, 1, sizeof(((struct store_outbox *)0)->owner) - 1))
		return store_set_err(s, "%s: the owner is empty or too long", what);
	return STORE_OK;
}

int store_outbox_add(struct store *s, const struct store_outbox *o)
{
	if (o == NULL || chk(s, o->user, "outbox_add") != STORE_OK)
		return STORE_ERR;
	if (o->kind < 0 || o->kind >= STORE_OUTBOX_KINDS || o->sealed_len > STORE_SEALED_MAX ||
	    o->state < STORE_OUTBOX_ARMED || o->state > STORE_OUTBOX_GAVE_UP || o->attempts < 0)
		return store_set_err(
			s, "outbox_add: kind, state, attempts or sealed size out of range");
	if (strnlen(o->proofs, sizeof(o->proofs)) == sizeof(o->proofs) ||
	    strnlen(o->caller, sizeof(o->caller)) == sizeof(o->caller) ||
	    strnlen(o->owner, sizeof(o->owner)) == sizeof(o->owner) ||
	    strnlen(o->last_error, sizeof(o->last_error)) == sizeof(o->last_error))
		return store_set_err(s, "outbox_add: a text field is not terminated");
	return norm(s->ops->outbox_add(s, o));
}

int store_outbox_get(struct store *s, int64_t id, struct store_outbox *out)
{
	if (s == NULL || out == NULL)
		return STORE_ERR;
	return norm(s->ops->outbox_get(s, id, out));
}

int store_outbox_list(struct store *s, int state, int64_t due_by,
		      int (*cb)(void *ctx, const struct store_outbox *o), void *ctx)
{
	if (s == NULL || cb == NULL)
		return STORE_ERR;
	if (state < STORE_OUTBOX_ARMED || state > STORE_OUTBOX_GAVE_UP)
		return store_set_err(s, "outbox_list: unknown state");
	return norm(s->ops->outbox_list(s, state, due_by, cb, ctx));
}

int store_outbox_release(struct store *s, const char *owner, int add_flags, int *changed)
{
	int dummy;

	if (chk_owner(s, owner, "outbox_release") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->outbox_release(s, owner, add_flags, changed ? changed : &dummy));
}

int store_outbox_disarm(struct store *s, const char *owner)
{
	if (chk_owner(s, owner, "outbox_disarm") != STORE_OK)
		return STORE_ERR;
	return norm(s->ops->outbox_disarm(s, owner));
}

int store_outbox_claim(struct store *s, int64_t id, int attempts, int64_t seen_next_try,
		       int64_t until)
{
	if (s == NULL)
		return STORE_ERR;
	if (attempts < 0)
		return store_set_err(s, "outbox_claim: attempts out of range");
	return norm(s->ops->outbox_claim(s, id, attempts, seen_next_try, until));
}

int store_outbox_update(struct store *s, int64_t id, int state, int attempts, int64_t next_try,
			const char *last_error)
{
	char e[sizeof(((struct store_outbox *)0)->last_error)];
	size_t n = last_error ? strnlen(last_error, sizeof(e) - 1) : 0;

	if (s == NULL)
		return STORE_ERR;
	if (state < STORE_OUTBOX_ARMED || state > STORE_OUTBOX_GAVE_UP || attempts < 0)
		return store_set_err(s, "outbox_update: state or attempts out of range");
	if (n > 0)
		memcpy(e, last_error, n);
	e[n] = '\0';
	return norm(s->ops->outbox_update(s, id, state, attempts, next_try, e));
}
