/*
 * Test-only LD_PRELOAD companion of libfaketime for pam-recover: the helper clears its
 * environment first thing (doc/hardening.md, start-up), before libfaketime has read FAKETIME
 * (it does so lazily, at the first clock call). This constructor makes that first call
 * while the environment is still there. Use with FAKETIME_CACHE_DURATION set high, or
 * libfaketime re-reads the (by then empty) environment after 10 s and returns to real time:
 *
 *   LD_PRELOAD="/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 faketime_prime.so"
 *   FAKETIME=+7200 FAKETIME_CACHE_DURATION=86400 pam-recover ...
 *
 * Built by the tests at run time (cc -shared -fPIC); never linked into anything installed.
 */
#include <time.h>

__attribute__((constructor)) static void prime(void)
{
	struct timespec ts;

	(void)time(NULL);
	(void)clock_gettime(CLOCK_REALTIME, &ts);
}
