/*
 * Checks on a local store's directory and file before a backend opens it
 * (doc/hardening.md): root:root, no group/other bits, no symlinks, no FIFOs, one link.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_backend.h"

#define FS_PATH_MAX 4096
#define ADMIN_INIT "run: pam-recover admin init"

/* An absolute, clean path: no empty, "." or ".." components, no trailing slash. */
static int path_clean(const char *path)
{
	size_t n = strnlen(path, FS_PATH_MAX);

	if (n == 0 || n >= FS_PATH_MAX || path[0] != '/' || path[n - 1] == '/')
		return 0;
	for (const char *p = path; *p != '\0';) {
		size_t len;

		p++; /* skip the '/' */
		len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += len;
	}
	return 1;
}

static void why_open(const char *what, int e, int is_dir, char *err, size_t errlen)
{
	struct stat st;

	if (e == ENOENT)
		store_put_err(err, errlen, "%s does not exist (" ADMIN_INIT ")", what);
	else if ((e == ELOOP || e == ENOTDIR || e == EMLINK) && lstat(what, &st) == 0 &&
		 S_ISLNK(st.st_mode))
		store_put_err(err, errlen,
			      "%s is a symbolic link; it must be a real %s, %s root:root (replace "
			      "the link, then " ADMIN_INIT ")",
			      what, is_dir ? "directory" : "file", is_dir ? "0700" : "0600");
	else if (e == ENOTDIR)
		store_put_err(err, errlen, "%s is not a directory", what);
	else if (e == EACCES || e == EPERM)
		store_put_err(err, errlen,
			      "cannot open %s: permission denied (the store is for "
			      "root only)",
			      what);
	else
		store_put_err(err, errlen, "cannot open %s: %s", what, strerror(e));
}

/* Owner root, no group/other bits (tightened when `fix`). */
static int check_owner_mode(int fd, const struct stat *st, const char *what, mode_t want, int fix,
			    char *err, size_t errlen)
{
	if (st->st_uid != 0) {
		store_put_err(err, errlen,
			      "%s is owned by uid %ld; it must be %04o root:root (fix: chown "
			      "root:root %s)",
			      what, (long)st->st_uid, (unsigned)want, what);
		return -1;
	}
	if ((st->st_mode & 077) == 0)
		return 0;
	if (!fix) {
		store_put_err(err, errlen,
			      "%s is mode %04o; it must be %04o root:root (" ADMIN_INIT ")", what,
			      (unsigned)(st->st_mode & 07777), (unsigned)want);
		return -1;
	}
	if (fchmod(fd, want) != 0) {
		store_put_err(err, errlen, "cannot chmod %04o %s: %s", (unsigned)want, what,
			      strerror(errno));
		return -1;
	}
	return 0;
}

static int open_dir(const char *dir, int create, int *made, char *err, size_t errlen)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(dir, flags);

	*made = 0;
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0700) == 0)
			*made = 1;
		else if (errno != EEXIST) {
			store_put_err(err, errlen, "cannot create directory %s: %s", dir,
				      strerror(errno));
			return -1;
		}
		fd = open(dir, flags);
	}
	if (fd < 0)
		why_open(dir, errno, 1, err, errlen);
	return fd;
}

static int open_file(int dfd, const char *base, const char *path, int create, int *made, char *err,
		     size_t errlen)
{
	/* O_NONBLOCK: a FIFO planted in place of the file must not hang us. */
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd = openat(dfd, base, flags);

	*made = 0;
	if (fd < 0 && errno == ENOENT && create) {
		fd = openat(dfd, base, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			*made = 1;
		else if (errno == EEXIST)
			fd = openat(dfd, base, flags);
	}
	if (fd < 0)
		why_open(path, errno, 0, err, errlen);
	return fd;
}

int store_fs_check(const char *path, int create, char *err, size_t errlen)
{
	char dir[FS_PATH_MAX];
	const char *slash, *base;
	struct stat st;
	int dfd = -1, fd = -1, made = 0, r = -1;

	if (path == NULL || !path_clean(path)) {
		store_put_err(err, errlen,
			      "store = sqlite:PATH needs an absolute path without '.', '..', '//' "
			      "or a trailing '/'");
		goto out;
	}
	slash = strrchr(path, '/');
	base = slash + 1;
	if (slash == path) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}

	dfd = open_dir(dir, create, &made, err, errlen);
	if (dfd < 0)
		goto out;
	if (fstat(dfd, &st) != 0) {
		store_put_err(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		store_put_err(err, errlen, "%s is not a directory", dir);
		goto out;
	}
	if (check_owner_mode(dfd, &st, dir, 0700, create, err, errlen) != 0)
		goto out;
	if (made && fchmod(dfd, 0700) != 0) { /* whatever the umask was */
		store_put_err(err, errlen, "cannot chmod 0700 %s: %s", dir, strerror(errno));
		goto out;
	}

	fd = open_file(dfd, base, path, create, &made, err, errlen);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0) {
		store_put_err(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		store_put_err(err, errlen,
			      "%s is not a regular file (remove it, then " ADMIN_INIT ")", path);
		goto out;
	}
	if (st.st_nlink != 1) {
		store_put_err(err, errlen, "%s has %ld hard links; it must have exactly one", path,
			      (long)st.st_nlink);
		goto out;
	}
	if (check_owner_mode(fd, &st, path, 0600, create, err, errlen) != 0)
		goto out;
	if (made && fchmod(fd, 0600) != 0) {
		store_put_err(err, errlen, "cannot chmod 0600 %s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return r;
}
