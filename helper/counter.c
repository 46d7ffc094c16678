/* What `check` shares with the other verbs, in a file of its own so that pam-recover-check
 * (which links no verb but `check`) can have it too. */
#include <string.h>

#include "helper.h"

int hx_counter_take(struct store *s, const char *key, int64_t now, int window, int max, int *count)
{
	int n = 0;

	*count = 0;
	if (max > 0) {
		if (store_counter_get(s, key, now, window, &n) != STORE_OK)
			return -1;
		*count = n;
		if (n >= max)
			return 1; /* over already: nothing is written */
	}
	if (store_counter_hit(s, key, now, window, &n) != STORE_OK)
		return -1;
	*count = n;
	return max > 0 && n > max ? 1 : 0;
}

int hx_is_help(const char *arg)
{
	return arg != NULL && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0);
}
