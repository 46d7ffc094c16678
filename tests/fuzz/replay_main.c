/*
 * main() for the gcc build of a libFuzzer harness: feeds every file named on the command
 * line, and every file in every directory named there, to LLVMFuzzerTestOneInput once, so
 * `make check` replays the corpora (sudo's lib/fuzzstub idea). Exits 1 when nothing was
 * replayed or a file cannot be read; a crash in the harness fails the test by itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Run one file; the buffer has exactly the file's size so ASan sees any over-read. */
static int replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	int r = -1;

	if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		goto out;
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (n != (size_t)st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	r = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return r;
}

static int regular(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int failed = 0;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct dirent **ents = NULL;
		struct stat st;
		int n;
		int j;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed |= replay_file(argv[i]) != 0;
			count++;
			continue;
		}
		n = scandir(argv[i], &ents, regular, alphasort);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		for (j = 0; j < n; j++) {
			char path[4096];

			if (snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name) <
			    (int)sizeof(path)) {
				failed |= replay_file(path) != 0;
				count++;
			} else {
				failed = 1;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("replayed %lu inputs from %d argument(s)\n", count, argc - 1);
	if (count == 0) {
		fprintf(stderr, "no inputs: give corpus directories or files\n");
		return 1;
	}
	return failed ? 1 : 0;
}
