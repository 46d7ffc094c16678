/*
 * libFuzzer harness: what a web front end sends to `pam-recover reset --json`: one reply
 * line (helper/reset/reset_json_parse.c), the first line of the input (up to a newline or NUL, at
 * most RESET_JSON_MAX bytes, as reset_json.c's reader hands it over); and the whole input
 * as standard input of the JSON front end's question (reset_ui_json.ask in
 * helper/reset/reset_json.c: lines read from fd 0, bad replies answered and asked again).
 *
 * FUZZ_SOURCES: helper/reset/reset_json.c helper/reset/reset_json_parse.c helper/out.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium json-c
 *
 * Properties: what parses is one object nested at most RESET_JSON_DEPTH deep, and only that
 * (a second object after it is refused, trailing blanks are not); its rendering parses
 * again with the same keys and string values, and rendering that is a fixed point; a field
 * copied out is exactly the object's string, NUL-terminated within the buffer, and a field
 * that is not copied is absent, not a string, holds a NUL or does not fit; a reply that is
 * refused leaves both buffers zeroed. The question on standard input answers as a model
 * built on reset_json_reply says (the first good line of at most RESET_BAD_REPLIES, a line
 * too long or holding a NUL is a bad one, the end of input ends it), and reads nothing
 * after the newline of the line it took.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../../helper/reset/reset.h"
#include "../../helper/reset/reset_json_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"password", "code", "answer", "user", "method", "confirm"};
static const size_t sizes[] = {1, 2, 9, 129, 1025};

static int depth(struct json_object *o)
{
	int d = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			int c = depth(v);
			if (c > d)
				d = c;
		}
		return d + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			int c = depth(json_object_array_get_idx(o, i));
			if (c > d)
				d = c;
		}
		return d + 1;
	}
	return 0;
}

static int zeroed(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void check_field(struct json_object *o, const char *name, size_t n)
{
	char out[1025];
	struct json_object *v = NULL;
	int has = json_object_object_get_ex(o, name, &v);
	int r;

	memset(out, 'X', sizeof(out));
	r = reset_json_field(o, name, out, n);
	if (r == 0 && has)
		abort();
	if (r == 1) {
		size_t len = (size_t)json_object_get_string_len(v);
		if (!has || !json_object_is_type(v, json_type_string) || len + 1 > n ||
		    out[len] != '\0' || memcmp(out, json_object_get_string(v), len) != 0 ||
		    strlen(out) != len)
			abort();
	}
	if (r == -1) {
		if (!has)
			abort();
		if (json_object_is_type(v, json_type_string)) {
			size_t len = (size_t)json_object_get_string_len(v);
			if (len + 1 <= n && memchr(json_object_get_string(v), '\0', len) == NULL)
				abort(); /* it would have fitted */
		}
	}
}

static void check_reply(const char *line, struct json_object *o)
{
	char out[129], out2[129], want[129];
	int parsed = -1;

	memset(out, 'X', sizeof(out));
	memset(out2, 'X', sizeof(out2));
	int r = reset_json_reply(line, "password", out, sizeof(out), out2, sizeof(out2), &parsed);
	if (parsed != (o != NULL))
		abort();
	if (r == 1) {
		if (o == NULL || reset_json_field(o, "password", want, sizeof(want)) != 1 ||
		    strcmp(out, want) != 0)
			abort();
		int c = reset_json_field(o, "confirm", want, sizeof(want));
		if ((c == 1 && strcmp(out2, want) != 0) || (c == 0 && strcmp(out2, out) != 0) ||
		    c == -1)
			abort();
	} else if (r != 0 || !zeroed(out, sizeof(out)) || !zeroed(out2, sizeof(out2)))
		abort();
	/* without a confirmation */
	memset(out, 'X', sizeof(out));
	r = reset_json_reply(line, "code", out, 9, NULL, 0, &parsed);
	if (parsed != (o != NULL) || (r == 0 && !zeroed(out, 9)) || (r == 1 && strlen(out) > 8))
		abort();
}

#define ASK_INPUT_MAX 60000 /* stays below a pipe's buffer: written before it is read */

/* What the question should answer for this input: HX_OK with out/out2 and the bytes it
 * takes, or HX_DATAERR. */
static int model(const uint8_t *data, size_t size, char *out, size_t n, char *out2, size_t n2,
		 size_t *taken)
{
	size_t at = 0;

	for (int bad = 0; bad < RESET_BAD_REPLIES; bad++) {
		size_t end = at;
		int parsed;

		if (at >= size)
			return HX_DATAERR; /* the end of input */
		while (end < size && data[end] != '\n')
			end++;
		size_t len = end - at;
		char *line = malloc(len + 1);
		if (line == NULL)
			abort();
		memcpy(line, data + at, len);
		line[len] = '\0';
		int ok = len <= RESET_JSON_MAX && memchr(data + at, '\0', len) == NULL &&
			 reset_json_reply(line, "password", out, n, out2, n2, &parsed) == 1;
		free(line);
		at = end < size ? end + 1 : end;
		if (ok) {
			*taken = at;
			return HX_OK;
		}
	}
	return HX_DATAERR;
}

static void check_ask(const uint8_t *data, size_t size)
{
	char out[129], out2[129], want[129], want2[129];
	size_t taken = 0, left = 0;
	int fds[2], in0, out1, devnull;

	if (size > ASK_INPUT_MAX)
		size = ASK_INPUT_MAX;
	if (pipe(fds) != 0 || (in0 = dup(0)) < 0 || (out1 = dup(1)) < 0 ||
	    (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	fflush(stdout);
	if (dup2(fds[0], 0) < 0 || dup2(devnull, 1) < 0)
		abort();
	struct json_object *step = json_object_new_object();
	int r = reset_ui_json.ask(NULL, step, "password", "New password: ", 1, out, sizeof(out),
				  "Again: ", out2, sizeof(out2));
	/* what it left unread */
	for (;;) {
		char b[4096];
		ssize_t got = read(0, b, sizeof(b));
		if (got <= 0)
			break;
		left += (size_t)got;
	}
	fflush(stdout);
	if (dup2(in0, 0) < 0 || dup2(out1, 1) < 0)
		abort();
	close(in0);
	close(out1);
	close(devnull);
	close(fds[0]);
	int m = model(data, size, want, sizeof(want), want2, sizeof(want2), &taken);
	if (r != m)
		abort();
	if (m == HX_OK &&
	    (strcmp(out, want) != 0 || strcmp(out2, want2) != 0 || left != size - taken))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	char *line, *more;

	while (n < size && n < RESET_JSON_MAX && data[n] != '\n' && data[n] != '\0')
		n++;
	line = malloc(n + 1);
	more = malloc(n + 4);
	if (line == NULL || more == NULL)
		abort();
	memcpy(line, data, n);
	line[n] = '\0';

	struct json_object *o = reset_json_parse(line);
	if (o != NULL) {
		if (!json_object_is_type(o, json_type_object) || depth(o) > RESET_JSON_DEPTH)
			abort();
		/* exactly one object: a second one is refused, trailing blanks are not */
		memcpy(more, line, n);
		memcpy(more + n, "{}", 3);
		struct json_object *two = reset_json_parse(more);
		if (two != NULL)
			abort();
		memcpy(more + n, " \t", 3);
		struct json_object *blank = reset_json_parse(more);
		if (blank == NULL)
			abort();
		reset_json_drop(blank);
		/* rendered and parsed again: the same keys, the same strings */
		char *r1 = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		struct json_object *o2 = r1 != NULL ? reset_json_parse(r1) : NULL;
		if (o2 == NULL || json_object_object_length(o2) != json_object_object_length(o))
			abort();
		json_object_object_foreach(o, key, val)
		{
			struct json_object *v2 = NULL;
			if (!json_object_object_get_ex(o2, key, &v2))
				abort();
			if (json_object_is_type(val, json_type_string) &&
			    (!json_object_is_type(v2, json_type_string) ||
			     json_object_get_string_len(v2) != json_object_get_string_len(val) ||
			     memcmp(json_object_get_string(v2), json_object_get_string(val),
				    (size_t)json_object_get_string_len(val)) != 0))
				abort();
		}
		/* and from there on a fixed point (json-c reads "-0e" as the double -0, writes
		 * "-0", and reads that as the integer 0: numbers settle after one round) */
		char *r2 = strdup(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN));
		struct json_object *o3 = r2 != NULL ? reset_json_parse(r2) : NULL;
		if (o3 == NULL ||
		    strcmp(r2, json_object_to_json_string_ext(o3, JSON_C_TO_STRING_PLAIN)) != 0)
			abort();
		reset_json_drop(o3);
		reset_json_drop(o2);
		free(r2);
		free(r1);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++)
				check_field(o, names[i], sizes[j]);
	}
	check_reply(line, o);
	reset_json_drop(o);
	free(more);
	free(line);
	check_ask(data, size);
	return 0;
}
