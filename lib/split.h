/* forward_pass: split the trailing code off "password + code" typed in one field. */
#ifndef RC_SPLIT_H
#define RC_SPLIT_H

#include <stddef.h>

#include "util.h"

/*
 * If `in` ends in at least `digits` ASCII digits and has at least one byte before them,
 * copy the leading part into pw (size pwlen) and the last `digits` digits into code (size
 * codelen) and return 0. Otherwise return -1 and touch nothing.
 */
int split_code(const char *in, int digits, char *pw, size_t pwlen, char *code,
	       size_t codelen) RC_MUST_CHECK;

#endif
