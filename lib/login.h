/*
 * The decision at login, shared by the module (as root) and `pam-recover check` (for a
 * non-root module): lock check, TOTP with replay protection, backup code, failure count.
 * Unknown users and users without 2FA do the same hashing work as real ones.
 */
#ifndef RC_LOGIN_H
#define RC_LOGIN_H

#include <stdint.h>

#include "config.h"
#include "seal.h"
#include "store.h"
#include "util.h"

enum login_result {
	LOGIN_OK = 0,        /* current TOTP code accepted (step recorded) */
	LOGIN_OK_BACKUP = 1, /* a backup code accepted (now used) */
	LOGIN_WRONG = 2,     /* no match; failure counted */
	LOGIN_REPLAY = 3,    /* code was right but its step was already used */
	LOGIN_LOCKED = 4,    /* too many failures; not checked */
	LOGIN_NOT_ENROLLED = 5,
	LOGIN_ERROR = 6,  /* store, key or sealed data unusable: fail closed */
	LOGIN_OK_APP = 7, /* app password accepted for this service */
	LOGIN_NO_APP = 8, /* not an app password for this service */
};

/* Is the user enrolled? LOGIN_OK (yes), LOGIN_NOT_ENROLLED, or LOGIN_ERROR. */
int login_enrolled(struct store *s, const char *user) RC_MUST_CHECK;

/*
 * Verify a typed code (TOTP or backup code). `reason` gets a short static text for logs.
 * When *locked_now is set, this failure has just locked the account.
 */
int login_verify_code(const struct cfg *c, struct store *s, const struct seal_key *k,
		      const char *user, const char *code, int64_t now, int *locked_now,
		      const char **reason) RC_MUST_CHECK;

/*
 * The same, accepting only the kinds of code in `accept` (LOGIN_ACCEPT_*): a code of another
 * kind is a wrong code (counted, lockable like any other). For the helper's proofs of the
 * second factor, where a backup code is not always enough.
 */
#define LOGIN_ACCEPT_TOTP 1u   /* a current code from the app */
#define LOGIN_ACCEPT_BACKUP 2u /* an unused backup code */
int login_verify_code_as(const struct cfg *c, struct store *s, const struct seal_key *k,
			 const char *user, const char *code, unsigned accept, int64_t now,
			 int *locked_now, const char **reason) RC_MUST_CHECK;

/*
 * The same with up to LOGIN_MAX_CANDIDATES codes counted as ONE attempt (forward_pass: the
 * 6-digit and the 8-digit tail of one typed string). *which gets the index that matched.
 */
#define LOGIN_MAX_CANDIDATES 2
int login_verify_codes(const struct cfg *c, struct store *s, const struct seal_key *k,
		       const char *user, const char *const *codes, int n, int64_t now,
		       int *locked_now, const char **reason, int *which) RC_MUST_CHECK;

/*
 * One login attempt with everything around it: the candidates (as login_verify_codes), the
 * reuse window, and what the caller needs to tell the user and the audit.
 */
struct login_attempt {
	/* in */
	const char *const *codes; /* 1..LOGIN_MAX_CANDIDATES candidates, counted as one try */
	int n;
	const char *service; /* for the audit of locks; may be NULL */
	const char *rhost;   /* PAM_RHOST for the audit; may be NULL */
	long ruid;           /* the caller, for the audit */
	unsigned accept;     /* LOGIN_ACCEPT_* kinds of code allowed; 0 means both */
	/* Reuse window (forwarded_code only): NULL, or the keyed hash of (typed string, remote
	 * host, service) from login_reuse_hash; reuse_seconds > 0 then. */
	const unsigned char *reuse_hash;
	int reuse_seconds;
	/* out */
	int which;                         /* index of the candidate that matched */
	int locked_now;                    /* this failure has just locked the code check */
	int unlocked_now;                  /* a backup code has just lifted a lock */
	int backup_locked;                 /* backup codes are over their own limit too */
	int reused;                        /* accepted inside a reuse window */
	int64_t locked_until;              /* LOGIN_LOCKED: until when (0 if unknown) */
	const char *reason;                /* short static text for logs */
	char device[STORE_DEVICE_MAX + 1]; /* LOGIN_OK, LOGIN_REPLAY: the device whose code it
					    * was ("" otherwise) */
};

/* The most devices of one user a login tries (max_devices cannot be set higher). */
#define LOGIN_DEVICES_MAX CFG_MAX_DEVICES_LIMIT

/*
 * The full decision, in two store steps: one read (every device and the login state),
 * then one write (store_login_try). A TOTP code is checked against every device of the
 * user in memory; the first device whose code it is, preferring one for which its step is
 * new as read, is the one whose replay state is asked to take the step, in the same write
 * that counts the attempt (each device's steps are its own: a code of one device never
 * consumes or unlocks another's). No TOTP code: the attempt is counted, then the
 * candidates are tried as backup codes. While
 * the code check is locked, an 8-digit candidate is still tried as a backup code, counted
 * against its own limit (backup_deny within unlock_time); success lifts the lock. With
 * reuse_hash the attempt is one transaction: a TOTP code accepted now records the hash with
 * the step compare-and-set, and a hash recorded earlier and not expired is accepted again
 * (before the lock check, without touching counts or locks).
 * Locks and lifted locks are written to the audit (service and remote host).
 */
int login_verify(const struct cfg *c, struct store *s, const struct seal_key *k, const char *user,
		 int64_t now, struct login_attempt *a) RC_MUST_CHECK;

/* Keyed hash for the reuse window. 0, or -1 when the inputs cannot make one (no service or
 * remote host, control characters in them). */
int login_reuse_hash(const struct seal_key *k, const char *user, const char *service,
		     const char *rhost, const char *typed,
		     unsigned char out[STORE_HASH_LEN]) RC_MUST_CHECK;

/* How split_pass cuts "password + code" typed in one field. */
enum login_split {
	LOGIN_SPLIT_NONE = 0,        /* not enrolled: the whole field is the password */
	LOGIN_SPLIT_6 = 1,           /* the code is the last 6 digits */
	LOGIN_SPLIT_8 = 2,           /* the last 8: the user's codes have 8 digits */
	LOGIN_SPLIT_BACKUP = 3,      /* the last 8: an unused backup code of the user */
	LOGIN_SPLIT_USED_BACKUP = 4, /* the last 8: one of the user's backup codes, used */
};

/*
 * Read only (nothing written, nothing counted): is the user enrolled, and is `tail8` (the
 * last 8 digits of the field, or NULL when it has none) one of the user's backup codes?
 * The same lookups run for every name, enrolled or not, so timing tells nothing.
 * *split gets an enum login_split. LOGIN_OK, or LOGIN_ERROR (store or key unusable).
 */
int login_split_lookup(struct store *s, const struct seal_key *k, const char *user,
		       const char *tail8, int *split) RC_MUST_CHECK;

/* Does nullok still apply at `now` (enforce_after not yet passed)? *grace gets 1 when an
 * enforcement date is set and not yet reached (users should be told). */
int login_nullok_applies(const struct cfg *c, int64_t now, int *grace);

/* Check an app password for `service`: LOGIN_OK_APP, LOGIN_NO_APP or LOGIN_ERROR. */
int login_app_password(struct store *s, const struct seal_key *k, const char *user,
		       const char *service, const char *typed, int64_t now) RC_MUST_CHECK;
/* The same; when the result is LOGIN_NO_APP because `typed` is one of the user's app
 * passwords but made for other services, `other` (n bytes, may be NULL) gets its name and
 * services ("NAME (imap,smtp)") for the log; else "". */
int login_app_password_other(struct store *s, const struct seal_key *k, const char *user,
			     const char *service, const char *typed, int64_t now, char *other,
			     size_t n) RC_MUST_CHECK;

const char *login_result_name(int r);

#endif
