/*
 * Method locks of a reset: too many wrong codes or answers lock that method for the account
 * (counter "reset-lock:METHOD:USER", unlock_time seconds, 900 when 0), never the login; and
 * the store-error answer every reset step shares.
 */
#include "reset.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

int reset_lock_window(const struct reset *r)
{
	return r->cfg.unlock_time > 0 ? r->cfg.unlock_time : RESET_LOCK_DEFAULT;
}

static int lock_key(const struct reset *r, int m, char *key, size_t n)
{
	return rc_snprintf(key, n, "reset-lock:%s:%s", method_id(m), r->user) < 0 ? -1 : 0;
}

int reset_store_fail(struct reset *r)
{
	syslog(LOG_ERR, "reset: user=%s store error: %s", r->user, store_errmsg(r->store));
	reset_error(r, "store", 1, "The state store cannot be used; nothing changed.");
	return HX_IOERR;
}

/* Is method m locked for this account? 1, 0, or -1 (store). */
int reset_method_locked(struct reset *r, int m)
{
	char key[HX_USER_MAX + 32];
	int count = 0;

	if (lock_key(r, m, key, sizeof(key)) != 0 ||
	    store_counter_get(r->store, key, rc_now(), reset_lock_window(r), &count) != STORE_OK)
		return -1;
	return count > 0;
}

void reset_lock_method(struct reset *r, int m)
{
	char key[HX_USER_MAX + 32];
	int count = 0;

	if (lock_key(r, m, key, sizeof(key)) != 0 ||
	    store_counter_hit(r->store, key, rc_now(), reset_lock_window(r), &count) != STORE_OK)
		syslog(LOG_ERR, "reset: cannot record the lock of %s for %s", method_id(m),
		       r->user);
	reset_audit(r, "reset-locked", method_id(m), "too many wrong tries");
	syslog(LOG_NOTICE, "reset: ruid=%ld user=%s method %s locked after too many wrong tries",
	       (long)r->h->ruid, r->user, method_id(m));
}

void reset_locked_error(struct reset *r, int m)
{
	reset_error(r, "locked", 0,
		    "Too many wrong tries: %s is locked for this account for %d minute%s. Choose "
		    "another method, or try again later.",
		    m == METHOD_QUESTION ? "the security question" : "this method",
		    (reset_lock_window(r) + 59) / 60,
		    (reset_lock_window(r) + 59) / 60 == 1 ? "" : "s");
}
