/*
 * One reply of the JSON front end of `pam-recover reset --json` (reset_json_parse.c), as
 * a web front end sends it: one line (at most RESET_JSON_MAX bytes, no NUL, no newline)
 * holding exactly one JSON object. Pure parsing: reset_json.c reads the lines and calls
 * this, and so does the fuzz harness tests/fuzz/fuzz_resetjson.c. Replies can carry
 * passwords: every copy made here is wiped.
 */
#ifndef RC_RESET_JSON_PARSE_H
#define RC_RESET_JSON_PARSE_H

#include <stddef.h>

#include <json-c/json.h>

#include "util.h"

#define RESET_JSON_MAX 4096 /* bytes of one reply line */
#define RESET_JSON_DEPTH 8  /* nesting the tokenizer accepts */

/* The line as exactly one JSON object (blanks after it allowed, nothing else); NULL when it
 * is not one. Release the object with reset_json_drop. */
struct json_object *reset_json_parse(const char *line);

/* Wipe every string value of an object's top level, then release it (NULL: nothing). */
void reset_json_drop(struct json_object *o);

/* Copy the string field `name` of o into out (n bytes, NUL-terminated): 1 copied, 0 absent,
 * -1 unusable (not a string, holds a NUL, or does not fit). */
int reset_json_field(struct json_object *o, const char *name, char *out, size_t n) RC_MUST_CHECK;

/*
 * A reply line for a step that asks for the field `name`: 1 when the line is one object
 * whose `name` is a usable string, copied into out; when out2 != NULL the reply's
 * "confirm" string goes to out2 too (absent: a copy of out), and must be usable as well.
 * Otherwise 0, with out and out2 wiped and *parsed telling whether the line was one JSON
 * object at all.
 */
int reset_json_reply(const char *line, const char *name, char *out, size_t n, char *out2, size_t n2,
		     int *parsed) RC_MUST_CHECK;

#endif
