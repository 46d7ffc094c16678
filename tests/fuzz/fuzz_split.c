/*
 * libFuzzer harness: the forward_pass splitter on arbitrary "password+code" strings.
 * FUZZ_SOURCES: lib/split.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char pw[600], code[16];
	char *in = malloc(size + 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0'; /* PAM items are C strings: anything after a NUL is not seen */
	for (int digits = 0; digits <= 9; digits++) {
		if (split_code(in, digits, pw, sizeof(pw), code, sizeof(code)) == 0) {
			size_t n = strlen(in);

			/* The halves put back together are the input, and the code is digits only. */
			if (strlen(code) != (size_t)digits || strlen(pw) + (size_t)digits != n ||
			    strncmp(in, pw, strlen(pw)) != 0 ||
			    strspn(code, "0123456789") != (size_t)digits)
				abort();
		}
	}
	free(in);
	return 0;
}
