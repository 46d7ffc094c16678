/*
 * The key-check record: a fixed value sealed with the store's key at `admin init` and kept
 * in the store, so that a key_file which does not open the store's records (another valid
 * key, a key restored from the wrong backup) is found by `admin init`, `admin doctor` and
 * `--check-config` before every enrolled login fails on it. Holds no secret.
 */
#ifndef RC_KEYCHECK_H
#define RC_KEYCHECK_H

#include <stdint.h>

#include "seal.h"
#include "store.h"
#include "util.h"

enum {
	KEYCHECK_OK = 0,        /* the record is there and this key opens it */
	KEYCHECK_MISSING = 1,   /* the store has no record (made before records existed) */
	KEYCHECK_WRONG_KEY = 2, /* the record is there and this key does not open it */
	KEYCHECK_ERR = -1,      /* store error (store_errmsg), or a damaged record */
};

/* Does `k` open the store's record? One of KEYCHECK_*. */
int keycheck_verify(struct store *s, const struct seal_key *k) RC_MUST_CHECK;
/* `admin init`: seal and store the record when the store has none (*created = 1), else
 * verify it. KEYCHECK_OK, KEYCHECK_WRONG_KEY (nothing written) or KEYCHECK_ERR. */
int keycheck_ensure(struct store *s, const struct seal_key *k, int64_t now,
		    int *created) RC_MUST_CHECK;

#endif
