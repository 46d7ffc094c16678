/*
 * The login decision (lib/login.c) on a real SQLite store in a temporary directory, with a
 * real sealing key. The expected codes are the test vectors of RFC 6238 Appendix B (an
 * independent implementation): the SHA1 and SHA256 seeds, truncated to 6 digits (the code of
 * d digits is the 8-digit value modulo 10^d), at fixed times. Covered: the right code, its
 * replay (counted as a failed attempt), an older step after a newer one, the window, a wrong
 * code and the failure count, the lock at `deny` (a right code refused while locked), the
 * count reset by a success, a backup code accepted once, several devices (each device's step
 * its own), a user who is not enrolled, and a secret that does not open (fail closed). Runs
 * as root (the store and the key must be root's).
 */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rc_select.h"
#include "scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "login.h"
#include "seal.h"
#include "secret.h"
#include "store.h"

/* RFC 6238 Appendix B: the seeds and the 8-digit codes at the times below. */
#define SEED_SHA1 "12345678901234567890"
#define SEED_SHA256 "12345678901234567890123456789012"
#define T1 1111111109      /* step 37037036 */
#define T2 1111111111      /* step 37037037 */
#define T3 1234567890      /* step 41152263 */
#define SHA1_T1 "081804"   /* 07081804 */
#define SHA1_T2 "050471"   /* 14050471 */
#define SHA1_T3 "005924"   /* 89005924 */
#define SHA256_T1 "084774" /* 68084774 */
#define SHA256_T2 "062674" /* 67062674 */

#define USER "alice@example.org"
#define BACKUP "31415926"

struct fx {
	char dir[64];
	char key[96];
	struct cfg cfg;
	struct seal_key k;
	struct store *s;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char spec[128], err[256];

	if (f == NULL || cfg_init(&f->cfg) != 0)
		return -1;
	if (scratch_make(f->dir, sizeof(f->dir), "test_login") != 0)
		return -1;
	snprintf(f->key, sizeof(f->key), "%s/key", f->dir);
	snprintf(spec, sizeof(spec), "sqlite:%s/db/state.db", f->dir);
	free(f->cfg.store);
	f->cfg.store = strdup(spec);
	if (f->cfg.store == NULL)
		return -1;
	f->cfg.window = 1;
	f->cfg.deny = 3;
	f->cfg.unlock_time = 900;
	if (seal_key_create(f->key, err, sizeof(err)) != 0 ||
	    seal_key_load(f->key, &f->k, err, sizeof(err)) != 0 ||
	    store_open(&f->cfg, STORE_CREATE, &f->s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "set-up: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	seal_key_wipe(&f->k);
	cfg_free(&f->cfg);
	scratch_remove(f->dir);
	free(f);
	return 0;
}

/* Enrol a device of `user` with `seed` (sealed as the helper seals it). */
static void add_device(struct fx *f, const char *user, const char *device, const char *seed,
		       int algorithm)
{
	struct store_totp t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(seal_encrypt(&f->k, user, "totp", (const unsigned char *)seed,
				      strlen(seed), t.sealed, &t.sealed_len),
			 0);
	t.algorithm = algorithm;
	t.digits = 6;
	t.period = 30;
	t.created = T1 - 3600;
	snprintf(t.device, sizeof(t.device), "%s", device);
	assert_int_equal(store_device_add(f->s, user, &t, 0), STORE_OK);
}

static int verify(struct fx *f, const char *user, const char *code, int64_t now, int *locked_now)
{
	const char *reason = NULL;
	int locked = 0;
	int r = login_verify_code(&f->cfg, f->s, &f->k, user, code, now, &locked, &reason);

	assert_non_null(reason);
	if (locked_now != NULL)
		*locked_now = locked;
	return r;
}

static int failures(struct fx *f, const char *user)
{
	struct store_login_state st;

	assert_int_equal(store_state_get(f->s, user, &st), STORE_OK);
	return st.failures;
}

static void t_right_code_then_replay(void **state)
{
	struct fx *f = *state;

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(login_enrolled(f->s, USER), LOGIN_OK);
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_OK);
	assert_int_equal(failures(f, USER), 0);
	/* the same code again, in the same step: a replay, counted like any failed attempt */
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_REPLAY);
	assert_int_equal(failures(f, USER), 1);
	/* the next step's code is new (the count starts again); then the older step is a
	 * replay although inside the window */
	assert_int_equal(verify(f, USER, SHA1_T2, T2, NULL), LOGIN_OK);
	assert_int_equal(failures(f, USER), 0);
	assert_int_equal(verify(f, USER, SHA1_T1, T2, NULL), LOGIN_REPLAY);
	assert_int_equal(failures(f, USER), 1);
}

static void t_window(void **state)
{
	struct fx *f = *state;

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	/* the previous step is inside window = 1; a code of another time is not */
	assert_int_equal(verify(f, USER, SHA1_T1, T2, NULL), LOGIN_OK);
	assert_int_equal(verify(f, USER, SHA1_T3, T2, NULL), LOGIN_WRONG);
	assert_int_equal(failures(f, USER), 1);
}

static void t_wrong_code_counts_and_success_resets(void **state)
{
	struct fx *f = *state;

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(verify(f, USER, "000000", T1, NULL), LOGIN_WRONG);
	assert_int_equal(failures(f, USER), 1);
	assert_int_equal(verify(f, USER, SHA256_T1, T1, NULL), LOGIN_WRONG); /* other seed */
	assert_int_equal(failures(f, USER), 2);
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_OK);
	assert_int_equal(failures(f, USER), 0);
}

static void t_lock_at_deny(void **state)
{
	struct fx *f = *state;
	struct store_login_state st;
	int locked_now = -1;

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(verify(f, USER, "000000", T1, &locked_now), LOGIN_WRONG);
	assert_int_equal(locked_now, 0);
	assert_int_equal(verify(f, USER, "000001", T1, &locked_now), LOGIN_WRONG);
	assert_int_equal(locked_now, 0);
	/* the deny-th failure locks */
	assert_int_equal(verify(f, USER, "000002", T1, &locked_now), LOGIN_WRONG);
	assert_int_equal(locked_now, 1);
	assert_int_equal(store_state_get(f->s, USER, &st), STORE_OK);
	assert_true(st.locked_until >= T1 + 900 - 1);
	/* locked: the right code is not even checked (and its step stays unused) */
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_LOCKED);
	/* after unlock_time the right code passes, and the count starts again */
	assert_int_equal(verify(f, USER, SHA1_T3, T3, NULL), LOGIN_OK);
	assert_int_equal(failures(f, USER), 0);
}

static void t_backup_code_once(void **state)
{
	struct fx *f = *state;
	unsigned char h[1][STORE_HASH_LEN];
	int left = -1;

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(secret_hash(&f->k, USER, "backup", BACKUP, h[0]), 0);
	assert_int_equal(
		store_backup_replace(f->s, USER, (const unsigned char(*)[STORE_HASH_LEN])h, 1),
		STORE_OK);
	assert_int_equal(verify(f, USER, "000000", T1, NULL), LOGIN_WRONG);
	assert_int_equal(verify(f, USER, BACKUP, T1, NULL), LOGIN_OK_BACKUP);
	assert_int_equal(failures(f, USER), 0);
	assert_int_equal(store_backup_count(f->s, USER, &left), STORE_OK);
	assert_int_equal(left, 0);
	/* used: a second time is a wrong code, counted */
	assert_int_equal(verify(f, USER, BACKUP, T1, NULL), LOGIN_WRONG);
	assert_int_equal(failures(f, USER), 1);
	/* another user's backup code is not this user's */
	add_device(f, "bob@example.org", "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(verify(f, "bob@example.org", BACKUP, T1, NULL), LOGIN_WRONG);
}

static void t_several_devices(void **state)
{
	struct fx *f = *state;
	struct login_attempt a;
	const char *codes[1];

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	add_device(f, USER, "tablet", SEED_SHA256, CFG_ALGO_SHA256);
	/* the tablet's code, and which device it was */
	memset(&a, 0, sizeof(a));
	codes[0] = SHA256_T1;
	a.codes = codes;
	a.n = 1;
	a.service = "sshd";
	assert_int_equal(login_verify(&f->cfg, f->s, &f->k, USER, T1, &a), LOGIN_OK);
	assert_string_equal(a.device, "tablet");
	/* the same step of the other device is still its own to take */
	memset(&a, 0, sizeof(a));
	codes[0] = SHA1_T1;
	a.codes = codes;
	a.n = 1;
	assert_int_equal(login_verify(&f->cfg, f->s, &f->k, USER, T1, &a), LOGIN_OK);
	assert_string_equal(a.device, "phone");
	/* each device's code used once */
	assert_int_equal(verify(f, USER, SHA256_T1, T1, NULL), LOGIN_REPLAY);
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_REPLAY);
	/* the tablet's next step; the phone's replay state did not move with it */
	assert_int_equal(verify(f, USER, SHA256_T2, T2, NULL), LOGIN_OK);
	assert_int_equal(verify(f, USER, SHA1_T2, T2, NULL), LOGIN_OK);
	assert_int_equal(failures(f, USER), 0);
	/* a device removed: its codes no longer pass */
	assert_int_equal(store_device_delete(f->s, USER, "tablet", NULL), STORE_OK);
	assert_int_equal(verify(f, USER, "062674", T2 + 30, NULL), LOGIN_WRONG);
}

static void t_not_enrolled(void **state)
{
	struct fx *f = *state;

	assert_int_equal(login_enrolled(f->s, "nobody@example.org"), LOGIN_NOT_ENROLLED);
	assert_int_equal(verify(f, "nobody@example.org", SHA1_T1, T1, NULL), LOGIN_NOT_ENROLLED);
	assert_int_equal(verify(f, "nobody@example.org", BACKUP, T1, NULL), LOGIN_NOT_ENROLLED);
	/* nothing was written for the name */
	assert_int_equal(failures(f, "nobody@example.org"), 0);
	/* enrolled, then 2FA turned off: not enrolled again */
	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	assert_int_equal(store_totp_delete(f->s, USER), STORE_OK);
	assert_int_equal(verify(f, USER, SHA1_T1, T1, NULL), LOGIN_NOT_ENROLLED);
}

static void t_sealed_under_another_key(void **state)
{
	struct fx *f = *state;
	struct seal_key other;
	char path[128], err[256];

	add_device(f, USER, "phone", SEED_SHA1, CFG_ALGO_SHA1);
	snprintf(path, sizeof(path), "%s/key2", f->dir);
	assert_int_equal(seal_key_create(path, err, sizeof(err)), 0);
	assert_int_equal(seal_key_load(path, &other, err, sizeof(err)), 0);
	/* the secret cannot be opened: fail closed, never accepted */
	{
		const char *reason = NULL;
		int locked = 0;

		assert_int_equal(login_verify_code(&f->cfg, f->s, &other, USER, SHA1_T1, T1,
						   &locked, &reason),
				 LOGIN_ERROR);
	}
	seal_key_wipe(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_right_code_then_replay, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_window, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_wrong_code_counts_and_success_resets, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(t_lock_at_deny, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_backup_code_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_several_devices, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_not_enrolled, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(t_sealed_under_another_key, fx_setup, fx_teardown),
	};

	if (geteuid() != 0) {
		printf("SKIP: test_login runs as root (the store and the key must be root's)\n");
		return 77;
	}
	if (sodium_init() < 0)
		return 1;
	return rc_run_group_tests("login", tests, NULL, NULL);
}
