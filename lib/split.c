/* forward_pass: "password" + "123456" typed in one field, as IMAP and POP clients must. */
#include "split.h"

#include <string.h>

int split_code(const char *in, int digits, char *pw, size_t pwlen, char *code, size_t codelen)
{
	size_t n = strlen(in), d = (size_t)digits;

	if (digits <= 0 || n <= d || codelen <= d || pwlen <= n - d)
		return -1;
	for (size_t i = n - d; i < n; i++)
		if (in[i] < '0' || in[i] > '9')
			return -1;
	memcpy(pw, in, n - d);
	pw[n - d] = '\0';
	memcpy(code, in + n - d, d + 1);
	return 0;
}
