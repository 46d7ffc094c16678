/*
 * Replay protection across processes: N processes, each with its own connection, call
 * store_step_cas() for the same user and step at the same moment (released together by a
 * pipe barrier). Exactly one must win, every round; the same for store_login_try() (the
 * login path's one write: count, then the compare-and-set of one device), with the racers
 * split over two devices of one user: exactly one winner per device, every round (a code of
 * one device never consumes another's). Then the same barrier for
 * store_fail(), store_login_try() without a step, and store_counter_hit(): no increment may
 * be lost.
 *
 * usage: store_race [-n PROCESSES] [-r ROUNDS] [-k HITS_PER_PROCESS] [-s STORE]
 * -s: race on STORE (an empty postgresql:// database, say) instead of a new SQLite file.
 * Exit status: 0 all rounds correct, 1 a wrong result, 2 a setup error, 77 skipped (not root).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/rc_io.h"
#include "store.h"
#include "scratch.h"

#define USER "racer"
#define TRY_USER "racer-try"
#define TRY_FAIL_USER "racer-try-fail"
#define MAX_PROCS 64

enum job { JOB_CAS, JOB_FAIL, JOB_COUNTER, JOB_CLAIM, JOB_TRY, JOB_TRY_FAIL, JOB_TRY_NEW };

/* Child exit statuses. */
enum { C_WON = 0, C_LOST = 1, C_ERROR = 2 };

static struct cfg g_cfg;

/* The two devices of TRY_USER; racer i of a JOB_TRY round uses try_devices[i % 2]. */
static const char *const try_devices[2] = {"phone", "tablet"};
/* JOB_TRY_NEW: the user of this round, enrolled just before it (no replay or login state
 * yet: the first code of a device and the user's first attempt, raced). */
static char g_new_user[64];

/* One racer: open, say ready, wait for the go, do the job, report by exit status. For
 * JOB_TRY, hits is the racer's index. */
static void child(int ready_w, int go_r, enum job job, int64_t step, int hits)
{
	struct store *s = NULL;
	char err[256], c = 'R';
	int r = C_ERROR, n, locked;

	if (store_open(&g_cfg, 0, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_race: child: %s\n", err);
		c = 'E';
	}
	if (write_full(ready_w, &c, 1) != 0 || c == 'E' || read_full(go_r, &c, 1) != 0)
		goto out;
	switch (job) {
	case JOB_CAS:
		n = store_step_cas(s, USER, step);
		r = n == STORE_OK ? C_WON : n == STORE_CONFLICT ? C_LOST : C_ERROR;
		break;
	case JOB_FAIL:
		r = C_WON;
		for (int i = 0; i < hits && r == C_WON; i++)
			if (store_fail(s, USER, 1000, 0, 60, &n, &locked) != STORE_OK)
				r = C_ERROR;
		break;
	case JOB_COUNTER:
		r = C_WON;
		for (int i = 0; i < hits && r == C_WON; i++)
			if (store_counter_hit(s, "race", 1000, 3600, &n) != STORE_OK)
				r = C_ERROR;
		break;
	case JOB_TRY: {
		struct store_login_try t;

		/* deny 0: the losers' replays are counted but never lock the others out */
		n = store_login_try(s, TRY_USER, 1000, 0, 60, try_devices[hits % 2], step, &t);
		r = n != STORE_OK ? C_ERROR : t.accepted ? C_WON : C_LOST;
		break;
	}
	case JOB_TRY_FAIL: {
		struct store_login_try t;

		r = C_WON;
		for (int i = 0; i < hits && r == C_WON; i++)
			if (store_login_try(s, TRY_FAIL_USER, 1000, 0, 60, NULL, -1, &t) !=
				    STORE_OK ||
			    t.accepted)
				r = C_ERROR;
		break;
	}
	case JOB_TRY_NEW: {
		struct store_login_try t;

		n = store_login_try(s, g_new_user, 1000, 0, 60, try_devices[0], step, &t);
		r = n != STORE_OK ? C_ERROR : t.accepted ? C_WON : C_LOST;
		break;
	}
	case JOB_CLAIM: /* step is the outbox row's id */
		n = store_outbox_claim(s, step, 0, 0, 5000);
		r = n == STORE_OK ? C_WON : n == STORE_CONFLICT ? C_LOST : C_ERROR;
		break;
	}
	if (r == C_ERROR)
		fprintf(stderr, "store_race: child: %s\n", store_errmsg(s));
out:
	store_close(s);
	_exit(r);
}

/*
 * Start `procs` racers, release them together, count the outcomes.
 * 0, or -1 on a setup error (fork, pipe).
 */
static int round_run(int procs, enum job job, int64_t step, int hits, int *won, int *lost,
		     int *errors)
{
	int ready[2] = {-1, -1}, go[2] = {-1, -1}, started = 0, r = -1;
	pid_t pids[MAX_PROCS];
	char buf[MAX_PROCS];

	*won = *lost = *errors = 0;
	if (pipe(ready) != 0 || pipe(go) != 0) {
		perror("store_race: pipe");
		goto out;
	}
	for (; started < procs; started++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("store_race: fork");
			goto out;
		}
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			child(ready[1], go[0], job, step, job == JOB_TRY ? started : hits);
		}
		pids[started] = pid;
	}
	close(ready[1]);
	ready[1] = -1;
	close(go[0]);
	go[0] = -1;
	/* Barrier: everyone has opened the store; then one write releases them all. */
	if (read_full(ready[0], buf, (size_t)procs) != 0) {
		fprintf(stderr, "store_race: a racer died before the start\n");
		goto out;
	}
	if (memchr(buf, 'E', (size_t)procs) != NULL)
		(*errors)++;
	memset(buf, 'G', sizeof(buf));
	if (write_full(go[1], buf, (size_t)procs) != 0) {
		perror("store_race: write");
		goto out;
	}
	r = 0;
out:
	if (go[1] >= 0)
		close(go[1]); /* on a setup error the racers see EOF and leave */
	for (int i = 0; i < started; i++) {
		int st = 0;
		pid_t w;

		do
			w = waitpid(pids[i], &st, 0);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			(*errors)++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == C_WON)
			(*won)++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == C_LOST)
			(*lost)++;
		else
			(*errors)++;
	}
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (go[0] >= 0)
		close(go[0]);
	return r;
}

static int last_id(void *ctx, const struct store_outbox *o)
{
	*(int64_t *)ctx = o->id;
	return 0;
}

/* One DUE outbox row; its id in *id. 0 or -1. */
static int outbox_row(int64_t *id)
{
	struct store_outbox o;
	struct store *s = NULL;
	char err[256];
	int r = -1;

	memset(&o, 0, sizeof(o));
	snprintf(o.user, sizeof(o.user), "%s", USER);
	o.kind = 0;
	o.time = 1000;
	o.state = STORE_OUTBOX_DUE;
	snprintf(o.owner, sizeof(o.owner), "race");
	*id = 0;
	if (store_open(&g_cfg, 0, &s, err, sizeof(err)) == STORE_OK &&
	    store_outbox_add(s, &o) == STORE_OK &&
	    store_outbox_list(s, STORE_OUTBOX_DUE, INT64_MAX, last_id, id) == STORE_OK && *id > 0)
		r = 0;
	else
		fprintf(stderr, "store_race: outbox row: %s\n", s ? store_errmsg(s) : err);
	store_close(s);
	return r;
}

/* user with the first `ndev` devices of try_devices. 0 or -1. */
static int enrol_try_user(struct store *s, const char *user, int ndev)
{
	struct store_totp t;
	int r = 0;

	memset(&t, 0, sizeof(t));
	memset(t.sealed, 0x5a, 40);
	t.sealed_len = 40;
	t.digits = 6;
	t.period = 30;
	for (int i = 0; i < ndev && r == 0; i++) {
		t.created = 1000 + i;
		snprintf(t.device, sizeof(t.device), "%s", try_devices[i]);
		if (store_device_add(s, user, &t, 0) != STORE_OK)
			r = -1;
	}
	if (r != 0)
		fprintf(stderr, "store_race: enrol: %s\n", store_errmsg(s));
	return r;
}

/* The last step each device of TRY_USER took, into last[2]. */
static int dev_step(void *ctx, const struct store_device *d)
{
	int64_t *last = ctx;

	for (int i = 0; i < 2; i++)
		if (strcmp(d->t.device, try_devices[i]) == 0)
			last[i] = d->last_step;
	return 0;
}

static int parse(const char *s, int min, int max, int *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/store_race.XXXXXX", spec[512], err[256];
	const char *given = NULL;
	struct store *s = NULL;
	struct store_login_state ls;
	int procs = 8, rounds = 100, hits = 50, opt, rc = 2, bad = 0;
	int won, lost, errors, tot_won = 0, tot_lost = 0, tot_err = 0, count = 0;

	while ((opt = getopt(argc, argv, "n:r:k:s:")) != -1) {
		if (opt == 's' && strlen(optarg) < sizeof(spec)) {
			given = optarg;
			continue;
		}
		if ((opt == 'n' && parse(optarg, 2, MAX_PROCS, &procs) == 0) ||
		    (opt == 'r' && parse(optarg, 1, 100000, &rounds) == 0) ||
		    (opt == 'k' && parse(optarg, 1, STORE_COUNTER_CAP, &hits) == 0))
			continue;
		fprintf(stderr, "usage: store_race [-n 2..%d] [-r ROUNDS] [-k HITS] [-s STORE]\n",
			MAX_PROCS);
		return 2;
	}
	if (procs * hits > STORE_COUNTER_CAP) { /* the counter check needs an exact count */
		fprintf(stderr, "store_race: -n x -k must be at most %d\n", STORE_COUNTER_CAP);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "store_race: needs root (the store must be root's); skipped\n");
		return 77;
	}
	if (mkdtemp(dir) == NULL) {
		perror("store_race: mkdtemp");
		return 2;
	}
	if (given != NULL)
		snprintf(spec, sizeof(spec), "%s", given);
	else
		snprintf(spec, sizeof(spec), "sqlite:%s/db/state.db", dir);
	g_cfg.store = spec;
	if (store_open(&g_cfg, STORE_CREATE, &s, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_race: %s\n", err);
		goto out;
	}
	if (enrol_try_user(s, TRY_USER, 2) != 0)
		goto out;
	store_close(s); /* never carry a connection across fork() */
	s = NULL;

	for (int r = 1; r <= rounds; r++) {
		if (round_run(procs, JOB_CAS, r, 0, &won, &lost, &errors) != 0)
			goto out;
		tot_won += won;
		tot_lost += lost;
		tot_err += errors;
		if (won != 1 || errors != 0) {
			fprintf(stderr, "store_race: round %d: %d winners, %d errors (want 1, 0)\n",
				r, won, errors);
			bad++;
		}
	}
	printf("store_step_cas: %d processes x %d rounds: %d rounds with exactly one winner; "
	       "%d accepted, %d refused, %d errors\n",
	       procs, rounds, rounds - bad, tot_won, tot_lost, tot_err);

	{
		int try_bad = 0;

		tot_won = tot_lost = tot_err = 0;
		for (int r = 1; r <= rounds; r++) {
			if (round_run(procs, JOB_TRY, r, 0, &won, &lost, &errors) != 0)
				goto out;
			tot_won += won;
			tot_lost += lost;
			tot_err += errors;
			if (won != 2 || errors != 0) {
				fprintf(stderr,
					"store_race: try round %d: %d winners, %d errors "
					"(want 2: one per device, 0)\n",
					r, won, errors);
				try_bad++;
			}
		}
		printf("store_login_try: %d processes on 2 devices x %d rounds: %d rounds with "
		       "exactly one winner per device; %d accepted, %d refused, %d errors\n",
		       procs, rounds, rounds - try_bad, tot_won, tot_lost, tot_err);
		bad += try_bad;
		{
			int64_t last[2] = {-2, -2};

			if (store_open(&g_cfg, 0, &s, err, sizeof(err)) != STORE_OK ||
			    store_device_list(s, TRY_USER, dev_step, last) != STORE_OK) {
				fprintf(stderr, "store_race: %s\n", s ? store_errmsg(s) : err);
				goto out;
			}
			store_close(s);
			s = NULL;
			printf("store_login_try: last steps phone %lld, tablet %lld (want %d, %d)\n",
			       (long long)last[0], (long long)last[1], rounds, rounds);
			if (last[0] != rounds || last[1] != rounds)
				bad++;
		}
	}

	/* The first code of a new device of a new user: nothing to lock yet but the rows the
	 * racers make; exactly one winner, and no racer fails (no deadlock, no lost row). */
	{
		int new_bad = 0, cnt_bad = 0, new_rounds = rounds < 50 ? rounds : 50;

		tot_won = tot_lost = tot_err = 0;
		for (int r = 1; r <= new_rounds; r++) {
			snprintf(g_new_user, sizeof(g_new_user), "racer-new-%d", r);
			if (store_open(&g_cfg, 0, &s, err, sizeof(err)) != STORE_OK ||
			    enrol_try_user(s, g_new_user, 1) != 0) {
				fprintf(stderr, "store_race: %s\n", s ? store_errmsg(s) : err);
				goto out;
			}
			store_close(s);
			s = NULL;
			if (round_run(procs, JOB_TRY_NEW, 7, 0, &won, &lost, &errors) != 0)
				goto out;
			tot_won += won;
			tot_lost += lost;
			tot_err += errors;
			if (won != 1 || errors != 0) {
				fprintf(stderr,
					"store_race: new-device round %d: %d winners, %d errors "
					"(want 1, 0)\n",
					r, won, errors);
				new_bad++;
			}
			/* Every refused racer is counted: the winner took the device's row first
			 * (its count cleared), the others waited for it and found the step taken,
			 * so the count after the round is exactly the number refused. */
			ls.failures = -1;
			if (store_open(&g_cfg, 0, &s, err, sizeof(err)) != STORE_OK ||
			    store_state_get(s, g_new_user, &ls) != STORE_OK) {
				fprintf(stderr, "store_race: %s\n", s ? store_errmsg(s) : err);
				goto out;
			}
			store_close(s);
			s = NULL;
			if (ls.failures != lost) {
				fprintf(stderr,
					"store_race: new-device round %d: failures = %d after %d "
					"refused (want %d)\n",
					r, ls.failures, lost, lost);
				new_bad++;
				cnt_bad++;
			}
		}
		printf("store_login_try, first code of a new device: %d processes x %d rounds: %d "
		       "rounds with exactly one winner and every refusal counted; %d accepted, %d "
		       "refused, %d errors, %d rounds with a refusal not counted\n",
		       procs, new_rounds, new_rounds - new_bad, tot_won, tot_lost, tot_err,
		       cnt_bad);
		bad += new_bad;
	}

	/* Concurrent increments: none may be lost. */
	{
		int e = 0;

		if (round_run(procs, JOB_FAIL, 0, hits, &won, &lost, &errors) != 0)
			goto out;
		e += errors;
		if (round_run(procs, JOB_TRY_FAIL, 0, hits, &won, &lost, &errors) != 0)
			goto out;
		e += errors;
		if (round_run(procs, JOB_COUNTER, 0, hits, &won, &lost, &errors) != 0)
			goto out;
		e += errors;
		if (e != 0)
			bad++;
	}
	if (store_open(&g_cfg, 0, &s, err, sizeof(err)) != STORE_OK ||
	    store_state_get(s, USER, &ls) != STORE_OK ||
	    store_counter_get(s, "race", 1000, 3600, &count) != STORE_OK) {
		fprintf(stderr, "store_race: %s\n", s ? store_errmsg(s) : err);
		goto out;
	}
	printf("store_fail: %d processes x %d: failures = %d (want %d)\n", procs, hits, ls.failures,
	       procs * hits);
	if (ls.failures != procs * hits)
		bad++;
	if (store_state_get(s, TRY_FAIL_USER, &ls) != STORE_OK) {
		fprintf(stderr, "store_race: %s\n", store_errmsg(s));
		goto out;
	}
	printf("store_login_try without a step: %d processes x %d: failures = %d (want %d)\n",
	       procs, hits, ls.failures, procs * hits);
	if (ls.failures != procs * hits)
		bad++;
	printf("store_counter_hit: %d processes x %d: count = %d (want %d)\n", procs, hits, count,
	       procs * hits);
	if (count != procs * hits)
		bad++;
	store_close(s);
	s = NULL;

	/* The outbox: one delivery of a row, whichever connection (host) gets there first. */
	{
		int claim_rounds = rounds < 20 ? rounds : 20, claim_bad = 0;

		for (int r = 1; r <= claim_rounds; r++) {
			int64_t id = 0;

			if (outbox_row(&id) != 0 ||
			    round_run(procs, JOB_CLAIM, id, 0, &won, &lost, &errors) != 0)
				goto out;
			if (won != 1 || errors != 0) {
				fprintf(stderr,
					"store_race: outbox round %d: %d took it, %d errors\n", r,
					won, errors);
				claim_bad++;
			}
		}
		printf("store_outbox_claim: %d processes x %d rows: %d rows taken exactly once\n",
		       procs, claim_rounds, claim_rounds - claim_bad);
		bad += claim_bad;
	}
	rc = bad == 0 ? 0 : 1;
	printf("store_race: %s\n", rc == 0 ? "ok" : "FAILED");
out:
	store_close(s);
	scratch_remove(dir);
	return rc;
}
