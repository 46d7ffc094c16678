/*
 * One growable buffer, for messages, request bodies and wire frames that may hold a secret
 * (a reset code, a gateway token): it grows by doubling and never by realloc, so the old
 * storage is wiped before it is freed and no copy of what it held is left behind.
 */
#ifndef RC_BUF_H
#define RC_BUF_H

#include <stddef.h>

#include "util.h"

struct rc_buf {
	char *d;    /* len bytes, then a NUL (NULL until the first add) */
	size_t len; /* bytes held, the NUL not counted */
	size_t cap; /* bytes allocated */
	size_t max; /* the most it may hold (0: no limit but memory) */
	int bad;    /* out of memory or past max: every later add is ignored */
};

/* An empty buffer that may hold at most max bytes (0: no limit). */
#define RC_BUF_INIT(max)                                                                           \
	{                                                                                          \
		NULL, 0, 0, (max), 0                                                               \
	}

/* Append the n bytes at s. 0, or -1 with bad set (now or by an earlier add): out of
 * memory, or the buffer would hold more than max. */
int rc_buf_add(struct rc_buf *b, const void *s, size_t n);
/* Append a NUL-terminated string. */
int rc_buf_adds(struct rc_buf *b, const char *s);
/* Wipe and free the storage; the buffer is empty (max kept, bad cleared). */
void rc_buf_free(struct rc_buf *b);

#endif
