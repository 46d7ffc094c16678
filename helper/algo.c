/*
 * The names of the TOTP hash algorithms in the helper's options, output and imported files
 * (helper.h: hx_algo_name, hx_algo_parse). A file of its own so that the parsers of imported
 * files (import_parse.c) and their fuzz harness need nothing else of the helper.
 */
#include <strings.h>

#include "helper.h"

static const char *const algo_names[] = {"sha1", "sha256", "sha512"};

const char *hx_algo_name(int algo)
{
	if (algo < 0 || algo > CFG_ALGO_SHA512)
		return "unknown";
	return algo_names[algo];
}

int hx_algo_parse(const char *name)
{
	for (int i = 0; i <= CFG_ALGO_SHA512; i++)
		if (strcasecmp(name, algo_names[i]) == 0)
			return i;
	return -1;
}
