/*
 * Output of the helper: human messages on stdout, errors as "pam-recover: ..." on stderr,
 * and with --json one JSON object (or array) per line on stdout (json-c, plain).
 */
#ifndef RC_OUT_H
#define RC_OUT_H

#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

/* Machine output on (--json). */
void out_set_json(int on);
int out_json_mode(void);

/* "pam-recover: MESSAGE" on stderr; with --json also {"error":MESSAGE,"status":N} on stdout.
 * Returns status, so callers can `return out_fail(HX_..., "...")`. */
int out_fail(int status, const char *fmt, ...) RC_PRINTF(2, 3);
/* A warning on stderr (never on stdout). */
void out_warn(const char *fmt, ...) RC_PRINTF(1, 2);
/* A line on stdout, in human mode only. */
void out_info(const char *fmt, ...) RC_PRINTF(1, 2);
/* Print plain text on stdout whatever the mode (usage texts). */
void out_text(const char *s);

/* JSON builders that cannot fail: out of memory ends the program (exit 70). */
struct json_object *oj_object(void);
struct json_object *oj_array(void);
void oj_str(struct json_object *o, const char *key, const char *val); /* NULL -> null */
void oj_int(struct json_object *o, const char *key, int64_t val);
void oj_bool(struct json_object *o, const char *key, int val);
void oj_put(struct json_object *o, const char *key, struct json_object *val);
void oj_push_str(struct json_object *arr, const char *val);
void oj_push(struct json_object *arr, struct json_object *val);
/* Print one value on its own line and release it. */
void out_json(struct json_object *o);

/* Flush stdout; HX_IOERR if anything could not be written, else 0. */
int out_finish(void);

/* The one allocation wrapper of the helper: dies (exit 70) when memory runs out. */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

#endif
