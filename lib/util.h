/* Small shared helpers: wiping, number parsing, safe file opening, escaping. */
#ifndef RC_UTIL_H
#define RC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RC_MUST_CHECK __attribute__((warn_unused_result))
#define RC_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Wipe a fixed-size array; the static assertion refuses pointers (sizeof would be 8). */
#define RC_WIPE_ARRAY(a)                                                                   \
	do {                                                                               \
		_Static_assert(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])), \
			       "RC_WIPE_ARRAY needs an array, not a pointer");             \
		rc_wipe((a), sizeof(a));                                                   \
	} while (0)

/* sodium_memzero, kept in one place so every secret goes through the same path. */
void rc_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string and free it; NULL is fine. */
void rc_free_secret(char *s);

/* Whole-string, range-checked decimal parse. 0 on success, -1 otherwise. */
int rc_parse_long(const char *s, long min, long max, long *out) RC_MUST_CHECK;

/*
 * Open a file that only root may have written: O_NOFOLLOW|O_CLOEXEC|O_NOCTTY|O_NONBLOCK,
 * then fstat: a regular file, owned by uid 0 (or by `owner` when it is not (uid_t)-1),
 * not group- or other-writable, at most max_size bytes. When `secret` is set the file must
 * also not be readable by group or others. Returns an fd, or -1 with errno set and a
 * human-readable reason in `why` (static string).
 */
int rc_open_trusted(const char *path, size_t max_size, int secret, const char **why);

/* Read the whole of fd (at most max bytes) into a NUL-terminated buffer; rejects NUL bytes. */
int rc_read_all(int fd, size_t max, char **out, size_t *len) RC_MUST_CHECK;

/* Copy `in` into out (size n), replacing control and non-ASCII bytes with '?', for logs. */
void rc_log_escape(const char *in, char *out, size_t n);

/* Strict user-name allowlist: [a-z_][a-z0-9_.-]{0,31} plus optional trailing '$', or
 * e-mail-style names for virtual mail users ([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+), <= 128. */
int rc_user_name_ok(const char *user);

/* time(NULL), overridable in tests only through the RC_TEST_NOW build (never installed). */
int64_t rc_now(void);

/* snprintf that reports truncation as -1. */
int rc_snprintf(char *buf, size_t n, const char *fmt, ...) RC_PRINTF(3, 4) RC_MUST_CHECK;

#endif
