/* The growable buffer (buf.h). */
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int rc_buf_add(struct rc_buf *b, const void *s, size_t n)
{
	if (b->bad)
		return -1;
	if (n > SIZE_MAX / 2 - 1 - b->len || (b->max > 0 && b->len + n > b->max)) {
		b->bad = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = malloc(cap);
		if (d == NULL) {
			b->bad = 1;
			return -1;
		}
		if (b->d != NULL) {
			memcpy(d, b->d, b->len);
			rc_wipe(b->d, b->cap);
			free(b->d);
		}
		b->d = d;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->d + b->len, s, n);
	b->len += n;
	b->d[b->len] = '\0';
	return 0;
}

int rc_buf_adds(struct rc_buf *b, const char *s)
{
	return rc_buf_add(b, s, strlen(s));
}

void rc_buf_free(struct rc_buf *b)
{
	if (b->d != NULL) {
		rc_wipe(b->d, b->cap);
		free(b->d);
	}
	b->d = NULL;
	b->len = b->cap = 0;
	b->bad = 0;
}
