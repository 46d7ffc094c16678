/*
 * Enrol N synthetic users straight into a pam_recover store (one transaction), and print
 * "name hexsecret" lines for the driver and for the other modules' files. Used only by the
 * benchmark: `pam-recover admin enrol` would need a process per user.
 *   mkusers CONFIG PREFIX N > users.txt
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "config.h"
#include "seal.h"
#include "store.h"

int main(int argc, char **argv)
{
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;
	char err[512];
	long n;

	if (argc != 4 || rc_parse_long(argv[3], 1, 10000000, &n) != 0) {
		fprintf(stderr, "usage: mkusers CONFIG PREFIX N\n");
		return 2;
	}
	if (sodium_init() < 0 || cfg_init(&c) != 0 ||
	    cfg_load_file(&c, argv[1], 1, err, sizeof(err)) != 0 ||
	    seal_key_load(c.key_file, &k, err, sizeof(err)) != 0 ||
	    store_open(&c, STORE_CREATE, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "mkusers: %s\n", err);
		return 1;
	}
	if (store_begin(s) != STORE_OK)
		return 1;
	for (long i = 0; i < n; i++) {
		unsigned char secret[20];
		struct store_totp t = {.algorithm = CFG_ALGO_SHA1,
				       .digits = 6,
				       .period = 30,
				       .created = 0};
		char name[64];

		snprintf(name, sizeof(name), "%s%ld", argv[2], i);
		randombytes_buf(secret, sizeof(secret));
		if (seal_encrypt(&k, name, "totp", secret, sizeof(secret), t.sealed,
				 &t.sealed_len) != 0 ||
		    store_totp_put(s, name, &t) != STORE_OK) {
			fprintf(stderr, "mkusers: cannot enrol %s: %s\n", name, store_errmsg(s));
			store_rollback(s);
			return 1;
		}
		printf("%s ", name);
		for (size_t j = 0; j < sizeof(secret); j++)
			printf("%02x", secret[j]);
		printf("\n");
	}
	if (store_commit(s) != STORE_OK)
		return 1;
	store_close(s);
	seal_key_wipe(&k);
	cfg_free(&c);
	return 0;
}
