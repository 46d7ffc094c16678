/*
 * libFuzzer harness: the config file parser (cfg_parse_buffer) and the module argument
 * parser (cfg_apply_arg, one argument per input line), with cfg_validate and cfg_dump.
 * Property: whatever parses dumps to text that parses back to the same dump.
 *
 * FUZZ_SOURCES: lib/config.c lib/config_check.c lib/hostmatch.c lib/method.c lib/addr.c lib/util.c
 * FUZZ_PKGS: libsodium
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	cfg_dump(c, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The dump of c parses back into a configuration with the same dump. */
static void round_trip(const struct cfg *c)
{
	char err[512];
	struct cfg d;
	char *a = dump(c);
	char *b = NULL;

	if (a == NULL || cfg_init(&d) != 0) {
		free(a);
		return;
	}
	if (cfg_parse_buffer(&d, "dump", a, strlen(a), err, sizeof(err)) != 0) {
		fprintf(stderr, "dump does not parse: %s\n%s", err, a);
		abort();
	}
	b = dump(&d);
	if (b != NULL && strcmp(a, b) != 0) {
		fprintf(stderr, "dump changed on the round trip:\n%s---\n%s", a, b);
		abort();
	}
	if (d.reset_method_mask != c->reset_method_mask)
		abort();
	free(a);
	free(b);
	cfg_free(&d);
}

/* An error message is a NUL-terminated line that names its source. */
static void check_message(const char *err, const char *prefix)
{
	if (memchr(err, '\0', 512) == NULL || strchr(err, '\n') != NULL)
		abort();
	if (prefix != NULL && strncmp(err, prefix, strlen(prefix)) != 0) {
		fprintf(stderr, "message without '%s': %s\n", prefix, err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct cfg c;
	char *copy;
	char *line;
	char *next;
	int nargs = 0;

	if (size > CFG_MAX_FILE + 16)
		return 0;

	/* 1. The input as a config file. */
	if (cfg_init(&c) != 0)
		return 0;
	memset(err, 'x', sizeof(err));
	if (cfg_parse_buffer(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err)) == 0) {
		if (cfg_validate(&c, err, sizeof(err)) != 0)
			check_message(err, NULL);
		round_trip(&c);
	} else {
		check_message(err, "fuzz.conf");
	}
	cfg_free(&c);

	/* 2. Each line of the input as a module argument, over one configuration. */
	copy = malloc(size + 1);
	if (copy == NULL || cfg_init(&c) != 0) {
		free(copy);
		return 0;
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* A PAM line has a handful of arguments: 16 keeps the fuzzer fast. */
	for (line = copy; line != NULL && nargs++ < 16; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		memset(err, 'x', sizeof(err));
		if (cfg_apply_arg(&c, line, err, sizeof(err)) != 0)
			check_message(err, NULL);
	}
	if (cfg_validate(&c, err, sizeof(err)) != 0)
		check_message(err, NULL);
	round_trip(&c);
	cfg_free(&c);
	free(copy);
	return 0;
}
