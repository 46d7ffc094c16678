/* Small shared helpers: wiping, number parsing, safe file opening, escaping. */
#ifndef RC_UTIL_H
#define RC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RC_MUST_CHECK __attribute__((warn_unused_result))
#define RC_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Wipe a fixed-size array; the static assertion refuses pointers (sizeof would be 8). */
#define RC_WIPE_ARRAY(a)                                                                           \
	do {                                                                                       \
		_Static_assert(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])),  \
			       "RC_WIPE_ARRAY needs an array, not a pointer");                     \
		rc_wipe((a), sizeof(a));                                                           \
	} while (0)

/* sodium_memzero, kept in one place so every secret goes through the same path. */
void rc_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string and free it; NULL is fine. */
void rc_free_secret(char *s);

/* Whole-string, range-checked decimal parse. 0 on success, -1 otherwise. */
int rc_parse_long(const char *s, long min, long max, long *out) RC_MUST_CHECK;

/*
 * Open a file that only root may have written: O_NOFOLLOW|O_CLOEXEC|O_NOCTTY|O_NONBLOCK,
 * then fstat: a regular file, owned by uid 0, not group- or other-writable, at most
 * max_size bytes. When `secret` is set the file must also have no group or other
 * permission bits at all (0600/0400). O_NONBLOCK is cleared before returning. Returns an
 * fd, or -1 with errno set (ENOENT, ELOOP for a symlink, EINVAL not a regular file, EPERM
 * owner or mode, EFBIG too large, ...) and a human-readable reason in `why` (a static
 * string such as "is a symbolic link", "is not owned by root", "is writable by group or
 * others"; NULL on success). `why` may be NULL.
 */
int rc_open_trusted(const char *path, size_t max_size, int secret, const char **why);

/*
 * Read the whole of fd (at most max bytes) into a malloc'd NUL-terminated buffer; rejects
 * NUL bytes. 0, or -1 with errno EFBIG (more than max), EINVAL (a NUL byte), ENOMEM or the
 * read error; on failure *out is NULL and whatever was read has been wiped. Free a secret
 * with rc_free_secret(). `len` may be NULL.
 */
int rc_read_all(int fd, size_t max, char **out, size_t *len) RC_MUST_CHECK;

/* Write all n bytes of p to fd (again after EINTR and short writes). 0, or -1 (errno set
 * by write, or 0 when write wrote nothing). */
int rc_write_all(int fd, const void *p, size_t n);

/* Copy `in` into out (size n, truncating), replacing control and non-ASCII bytes with '?',
 * for logs. n == 0 writes nothing; in == NULL gives "(null)". */
void rc_log_escape(const char *in, char *out, size_t n);

/* Strict user-name allowlist: [a-z_][a-z0-9_.-]{0,31} plus optional trailing '$', or, for
 * virtual mail users, a name with '@' that is an e-mail address by the rule of addr.h
 * (no leading '-' or '.': option injection into commands), <= 128. 1 if acceptable,
 * else 0. */
int rc_user_name_ok(const char *user);

/* How user names are compared: the config key user_name_case. */
enum rc_name_case {
	RC_NAME_AUTO = 0,        /* names with '@' (virtual mail users) ignore case; plain exact */
	RC_NAME_INSENSITIVE = 1, /* every name ignores case */
	RC_NAME_EXACT = 2,       /* every name as typed */
};

/* 1 if `mode` (enum rc_name_case) ignores the case of `user`, else 0 (also for NULL). */
int rc_user_name_folds(int mode, const char *user);

/*
 * The one canonical form of a user name, used as the key of every store row: ASCII letters
 * lower-cased when rc_user_name_folds(mode, in), every other byte unchanged (so the length
 * is the same). out (n bytes) may be `in` itself. 0, or -1 when in is NULL or does not fit
 * (out is then "" when n > 0). The result still has to pass rc_user_name_ok.
 */
int rc_user_name_canonical(int mode, const char *in, char *out, size_t n) RC_MUST_CHECK;

/* time(NULL). No override: tests move the clock with faketime(1). */
int64_t rc_now(void);

/* snprintf that reports truncation (and n == 0, or an encoding error) as -1; else the length. */
int rc_snprintf(char *buf, size_t n, const char *fmt, ...) RC_PRINTF(3, 4) RC_MUST_CHECK;

#endif
