/*
 * Whole reads and writes on a pipe for the tests' and benchmarks' process barriers (racers
 * released together): the ones of tests/unit/store_race.c and bench/bench_login.c.
 * 0, or -1 on an error or an early end of file. EINTR is retried.
 */
#ifndef RC_TESTS_IO_H
#define RC_TESTS_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		put += (size_t)r;
	}
	return 0;
}

#endif
