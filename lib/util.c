/* Small shared helpers: wiping, number parsing, safe file opening, escaping. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "chars.h"

void rc_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero(p, n);
}

void rc_free_secret(char *s)
{
	if (s == NULL)
		return;
	rc_wipe(s, strlen(s));
	free(s);
}

int rc_parse_long(const char *s, long min, long max, long *out)
{
	const char *p;
	char *end = NULL;
	long v;

	if (s == NULL || out == NULL || min > max) {
		errno = EINVAL;
		return -1;
	}
	/* Only an optional '-' and decimal digits: strtol alone would take " +0x1f". */
	p = s;
	if (*p == '-')
		p++;
	if (*p == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			errno = EINVAL;
			return -1;
		}
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1; /* errno is ERANGE (or EINVAL) here */
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

static const char *open_error(int e)
{
	switch (e) {
	case ENOENT:
		return "does not exist";
	case EACCES:
		return "permission denied";
	case ELOOP:
		return "is a symbolic link";
	case ENOTDIR:
		return "has a path component that is not a directory";
	case ENXIO:
	case ENODEV:
		return "is not a regular file";
	case EMFILE:
	case ENFILE:
		return "cannot be opened: too many open files";
	case ENOMEM:
		return "cannot be opened: out of memory";
	default:
		return "cannot be opened";
	}
}

int rc_open_trusted(const char *path, size_t max_size, int secret, const char **why)
{
	const char *dummy = NULL;
	struct stat st;
	int fd = -1;
	int r = -1;
	int e = EINVAL;
	int fl;

	if (why == NULL)
		why = &dummy;
	*why = "cannot be opened";
	if (path == NULL || *path == '\0') {
		*why = "is an empty path";
		goto out;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not hang us (CVE-2024-22365). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		*why = open_error(e);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		*why = "cannot be examined (fstat failed)";
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		*why = S_ISDIR(st.st_mode) ? "is a directory, not a regular file"
					   : "is not a regular file";
		goto out;
	}
	if (st.st_uid != 0) {
		e = EPERM;
		*why = "is not owned by root";
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		e = EPERM;
		*why = "is writable by group or others";
		goto out;
	}
	if (secret && (st.st_mode & 077) != 0) {
		e = EPERM;
		*why = "is accessible by group or others (a secret needs mode 0600 or 0400)";
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)max_size) {
		e = EFBIG;
		*why = "is too large";
		goto out;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		e = errno;
		*why = "cannot be set to blocking mode";
		goto out;
	}
	*why = NULL;
	r = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (r < 0)
		errno = e;
	return r;
}

/* Grow a secret-safe buffer: copy, wipe the old one, free it (realloc would leave a copy). */
static char *grow(char *old, size_t used, size_t newcap)
{
	char *p = malloc(newcap);

	if (p == NULL)
		return NULL;
	if (old != NULL) {
		memcpy(p, old, used);
		rc_wipe(old, used);
		free(old);
	}
	return p;
}

int rc_read_all(int fd, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	char probe;
	size_t cap = 0;
	size_t used = 0;
	ssize_t n;
	int r = -1;
	int e = 0;

	if (out == NULL || max >= SIZE_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	*out = NULL;
	if (len != NULL)
		*len = 0;
	cap = max + 1 < 4096 ? max + 1 : 4096;
	buf = grow(NULL, 0, cap);
	if (buf == NULL) {
		e = ENOMEM;
		goto out;
	}
	for (;;) {
		if (used == max) {
			/* Full: anything more is too much. */
			do
				n = read(fd, &probe, 1);
			while (n < 0 && errno == EINTR);
			if (n < 0) {
				e = errno;
				goto out;
			}
			if (n > 0) {
				rc_wipe(&probe, sizeof(probe));
				e = EFBIG;
				goto out;
			}
			break;
		}
		if (used == cap - 1) {
			size_t ncap = cap * 2 < max + 1 ? cap * 2 : max + 1;
			char *nb = grow(buf, used, ncap);

			if (nb == NULL) {
				e = ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - 1 - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (memchr(buf, '\0', used) != NULL) {
		e = EINVAL;
		goto out;
	}
	buf[used] = '\0';
	*out = buf;
	if (len != NULL)
		*len = used;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL) {
		rc_wipe(buf, cap);
		free(buf);
	}
	if (r < 0)
		errno = e;
	return r;
}

int rc_write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

void rc_log_escape(const char *in, char *out, size_t n)
{
	size_t i = 0;

	if (out == NULL || n == 0)
		return;
	if (in == NULL)
		in = "(null)";
	for (; in[i] != '\0' && i + 1 < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		out[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	out[i] = '\0';
}

/* [a-z_][a-z0-9_.-]{0,31} with an optional trailing '$' (Samba machine accounts). */
static int unix_name_ok(const char *u, size_t len)
{
	size_t i;

	if (len > 0 && u[len - 1] == '$')
		len--;
	if (len == 0 || len > 32)
		return 0;
	if (!((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_'))
		return 0;
	for (i = 1; i < len; i++) {
		if (!rc_is_lower(u[i]) && !rc_is_digit(u[i]) && u[i] != '_' && u[i] != '.' &&
		    u[i] != '-')
			return 0;
	}
	return 1;
}

int rc_user_name_ok(const char *user)
{
	size_t len;

	if (user == NULL)
		return 0;
	len = strnlen(user, 130);
	if (len == 0 || len > 128)
		return 0;
	if (memchr(user, '@', len) != NULL)
		return addr_email_ok_n(user, len);
	return unix_name_ok(user, len);
}

int rc_user_name_folds(int mode, const char *user)
{
	if (user == NULL)
		return 0;
	if (mode == RC_NAME_INSENSITIVE)
		return 1;
	return mode == RC_NAME_AUTO && strchr(user, '@') != NULL;
}

int rc_user_name_canonical(int mode, const char *in, char *out, size_t n)
{
	size_t len, i;
	int fold;

	if (out == NULL || n == 0)
		return -1;
	if (in == NULL || (len = strnlen(in, n)) >= n) {
		out[0] = '\0';
		return -1;
	}
	fold = rc_user_name_folds(mode, in);
	for (i = 0; i < len; i++) {
		char ch = in[i];

		out[i] = fold && ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[len] = '\0';
	return 0;
}

int64_t rc_now(void)
{
	return (int64_t)time(NULL);
}

int rc_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (buf == NULL || n == 0 || n > INT_MAX)
		return -1;
	va_start(ap, fmt);
	r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return -1;
	return r;
}
