/*
 * Logins per second through the real libpam (pam_start_confdir: the stack is read from a
 * directory of ours, nothing in /etc/pam.d is touched). Codes come from liboath directly,
 * so the same driver measures pam_recover, pam_oath and pam_google_authenticator.
 *
 *   bench_login -d CONFDIR -s SERVICE -u USERS [-n LOGINS] [-o FIRST] [-p PROCS] [-r ROUNDS]
 *               [-S STEP_OFFSET] [-R] [-I] [-m LABEL]
 *               [-x SERVICE2 -y USERS2 -M LABEL2 -c CHUNK]
 * USERS: lines "name hexsecret". -R: race mode, PROCS processes present the SAME code of
 * one user at once, ROUNDS times (a different user each round); prints how many were
 * accepted per round. -I: one process logs in a user whenever its name comes on stdin and
 * answers "RC MS" (tests/helper/test_pg.py). Output: one JSON object per run on stdout;
 * "reused" counts the refusals that RFC 6238 asks for (repeats_recent_code).
 *
 * -x: a paired run. PROCS processes log in through SERVICE and PROCS others through
 * SERVICE2, and the two groups take turns: CHUNK logins per process, then the other group.
 * Each process keeps its module loaded (and its store open) for the whole run, as in an
 * unpaired run, and the two services are measured in the same moments: this machine's
 * speed moves by a third from one second to the next, more than the difference a paired
 * run is there to show (a million users' store against a small one).
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>

#include "../tests/lib/rc_io.h"

struct user {
	char name[64];
	char secret[64];
	size_t len;
};

/* One PAM service and the users who log in through it. */
struct target {
	const char *service, *label;
	struct user *users;
	size_t nusers;
};

static struct target targets[2] = {{NULL, "module", NULL, 0}, {NULL, "module2", NULL, 0}};
static const char *confdir;
static int step_offset;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup((const char *)data);
	*resp = r;
	return PAM_SUCCESS;
}

static void code_at(const struct user *u, time_t when, char out[16])
{
	if (oath_totp_generate2(u->secret, u->len, when, 30, 0, 6, 0, out) != OATH_OK) {
		fprintf(stderr, "oath_totp_generate2 failed\n");
		exit(2);
	}
}

/*
 * Whether the code of `when` is also the code of one of the two steps before it. Then a
 * verifier may have taken it a moment ago (a window of one step, a tie won by the later
 * step), and must refuse it now: RFC 6238 5.2 accepts one OTP once. About one code in
 * 500,000 is such a code: its refusal is counted apart, not as a legitimate login that failed.
 */
static int repeats_recent_code(const struct user *u, time_t when)
{
	char now[16], before[16];

	code_at(u, when, now);
	for (int back = 1; back <= 2; back++) {
		code_at(u, when - (time_t)back * 30, before);
		if (strcmp(now, before) == 0)
			return 1;
	}
	return 0;
}

/* One login of u through t's service with the code of `when`: pam_authenticate's result. */
static int login_at(const struct target *t, const struct user *u, time_t when)
{
	char code[16];
	struct pam_conv c = {conv, code};
	pam_handle_t *h = NULL;
	int r;

	code_at(u, when, code);
	if (pam_start_confdir(t->service, u->name, &c, confdir, &h) != PAM_SUCCESS)
		return PAM_SYSTEM_ERR;
	r = pam_authenticate(h, PAM_SILENT);
	pam_end(h, r);
	return r;
}

static time_t code_time(void)
{
	return time(NULL) + (time_t)step_offset * 30;
}

static int login_rc(const struct target *t, const struct user *u)
{
	return login_at(t, u, code_time());
}

static int login(const struct target *t, const struct user *u)
{
	return login_rc(t, u) == PAM_SUCCESS;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_users(struct target *t, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], hex[130];
	size_t cap = 1024, nusers = 0;
	struct user *users;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	users = malloc(cap * sizeof(*users));
	if (users == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = 0;

		if (nusers == cap) {
			struct user *more = realloc(users, (cap *= 2) * sizeof(*users));

			if (more == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				exit(2);
			}
			users = more;
		}
		if (sscanf(line, "%63s %129s", users[nusers].name, hex) != 2)
			continue;
		len = strlen(hex) / 2;
		if (len > sizeof(users[nusers].secret))
			continue;
		for (size_t i = 0; i < len; i++) {
			unsigned v;

			if (sscanf(hex + 2 * i, "%2x", &v) != 1)
				break;
			users[nusers].secret[i] = (char)v;
		}
		users[nusers].len = len;
		nusers++;
	}
	fclose(f);
	if (nusers == 0) {
		fprintf(stderr, "%s: no users\n", path);
		exit(2);
	}
	t->users = users;
	t->nusers = nusers;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The processes of one target: their pipes and, in a paired run, the time they ran. */
struct group {
	const struct target *t;
	int res[64][2];  /* child -> parent: its count of successes and its durations */
	int gate[64][2]; /* parent -> child: one byte per turn (paired runs) */
	int done[2];     /* children -> parent: one byte per finished turn (paired runs) */
	double busy;     /* seconds of its turns (paired runs) */
	double *lat;     /* every login's duration, sorted */
	size_t nlat, ok;
	size_t reused; /* refused logins whose code a step before had too (a reuse) */
};

/*
 * One process: PER logins of g's users from FROM on; with CHUNK, it waits for its turn
 * before every CHUNK logins and says when it has done them.
 */
static void child(const struct group *g, int p, size_t from, size_t per, size_t chunk)
{
	size_t mine = 0, reused = 0;
	double *my = calloc(per + 1, sizeof(double));
	char b = 'x';

	if (my == NULL)
		_exit(1);
	for (size_t i = 0; i < per; i++) {
		const struct user *u = &g->t->users[(from + i) % g->t->nusers];
		time_t when;
		double a;
		int ok;

		if (chunk > 0 && i % chunk == 0 && read_full(g->gate[p][0], &b, 1) != 0)
			_exit(1);
		when = code_time();
		a = now_s();
		ok = login_at(g->t, u, when) == PAM_SUCCESS;
		my[i] = now_s() - a;
		mine += (size_t)ok;
		reused += (size_t)(!ok && repeats_recent_code(u, when));
		if (chunk > 0 && ((i + 1) % chunk == 0 || i + 1 == per) &&
		    write_full(g->done[1], &b, 1) != 0)
			_exit(1);
	}
	if (write_full(g->res[p][1], &mine, sizeof(mine)) != 0 ||
	    write_full(g->res[p][1], &reused, sizeof(reused)) != 0 ||
	    write_full(g->res[p][1], my, per * sizeof(double)) != 0)
		_exit(1);
	_exit(0);
}

/* One turn of a paired run: open g's gates, wait for each of its processes' byte. */
static void turn(struct group *g, int procs)
{
	double t0 = now_s();
	char b = 'x';

	for (int p = 0; p < procs; p++)
		if (write_full(g->gate[p][1], &b, 1) != 0)
			exit(2);
	for (int p = 0; p < procs; p++) {
		/* A process that died never answers: stop instead of waiting forever. */
		struct pollfd pf = {g->done[0], POLLIN, 0};

		if (poll(&pf, 1, 120000) != 1 || read_full(g->done[0], &b, 1) != 0) {
			fprintf(stderr, "bench_login: a process of %s stopped answering\n",
				g->t->label);
			exit(2);
		}
	}
	g->busy += now_s() - t0;
}

/* Read g's counts and durations (each process's, once it has done all its logins). */
static void collect(struct group *g, int procs, size_t per)
{
	g->lat = calloc(per * (size_t)procs + 1, sizeof(double));
	if (g->lat == NULL)
		exit(2);
	for (int p = 0; p < procs; p++) {
		size_t got = 0, reused = 0;

		if (read_full(g->res[p][0], &got, sizeof(got)) == 0 &&
		    read_full(g->res[p][0], &reused, sizeof(reused)) == 0 &&
		    read_full(g->res[p][0], g->lat + g->nlat, per * sizeof(double)) == 0) {
			g->ok += got;
			g->reused += reused;
			g->nlat += per;
		}
		close(g->res[p][0]);
	}
	qsort(g->lat, g->nlat, sizeof(double), cmp_double);
}

static void report(struct group *g, int procs, size_t per, double seconds, const char *extra)
{
	size_t n = g->nlat;

	printf("{\"module\":\"%s\",\"mode\":\"throughput\",\"users\":%zu,\"procs\":%d,"
	       "\"logins\":%zu,\"ok\":%zu,\"reused\":%zu,\"seconds\":%.4f,"
	       "\"per_second\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f%s}\n",
	       g->t->label, g->t->nusers, procs, per * (size_t)procs, g->ok, g->reused, seconds,
	       (double)(per * (size_t)procs) / seconds, n ? g->lat[n / 2] * 1e3 : 0.0,
	       n ? g->lat[(n * 99) / 100] * 1e3 : 0.0, extra);
	free(g->lat);
}

/*
 * PROCS processes per target, each on its own slice of users; the parent sums the successes
 * and takes the 50th and 99th percentile of every login's duration (pam_start to pam_end).
 * One target: the processes run freely. Two (CHUNK > 0): the groups take turns.
 */
static void throughput(size_t first, size_t n, int procs, int ngroups, size_t chunk)
{
	static struct group gs[2];
	size_t per = n / (size_t)procs;
	double t0 = now_s(), dt;
	char extra[2][160];

	for (int g = 0; g < ngroups; g++) {
		gs[g].t = &targets[g];
		if (chunk > 0 && pipe(gs[g].done) != 0)
			exit(2);
		for (int p = 0; p < procs; p++) {
			if (pipe(gs[g].res[p]) != 0 || (chunk > 0 && pipe(gs[g].gate[p]) != 0))
				exit(2);
			if (fork() == 0)
				child(&gs[g], p, first + (size_t)p * per, per, chunk);
			close(gs[g].res[p][1]);
		}
	}
	for (size_t done = 0; chunk > 0 && done < per; done += chunk)
		for (int g = 0; g < ngroups; g++)
			turn(&gs[g], procs);
	for (int g = 0; g < ngroups; g++)
		collect(&gs[g], procs, per);
	dt = now_s() - t0;
	if (ngroups == 2) {
		snprintf(extra[0], sizeof(extra[0]), ",\"pair\":\"%s\",\"role\":\"base\"",
			 targets[1].label);
		snprintf(extra[1], sizeof(extra[1]), ",\"pair\":\"%s\",\"role\":\"scaled\"",
			 targets[0].label);
	} else {
		extra[0][0] = '\0';
	}
	for (int g = 0; g < ngroups; g++)
		report(&gs[g], procs, per, ngroups == 2 ? gs[g].busy : dt, extra[g]);
	while (wait(NULL) > 0)
		;
}

/* The same code from PROCS processes released together through one pipe. */
static void race(size_t first, int procs, int rounds)
{
	size_t total_accepted = 0, max_accepted = 0;

	for (int r = 0; r < rounds; r++) {
		const struct target *t = &targets[0];
		const struct user *u = &t->users[(first + (size_t)r) % t->nusers];
		int gate[2], res[2];
		size_t accepted = 0;
		char go[64] = {0};

		if (pipe(gate) != 0 || pipe(res) != 0)
			exit(2);
		for (int p = 0; p < procs; p++) {
			if (fork() == 0) {
				char b;
				int ok;

				close(gate[1]);
				if (read(gate[0], &b, 1) != 1)
					_exit(1);
				ok = login(t, u);
				if (write(res[1], &ok, sizeof(ok)) != (ssize_t)sizeof(ok))
					_exit(1);
				_exit(0);
			}
		}
		close(gate[0]);
		close(res[1]);
		if (write(gate[1], go, (size_t)procs) != procs)
			exit(2);
		close(gate[1]);
		for (int p = 0; p < procs; p++) {
			int ok = 0;

			if (read(res[0], &ok, sizeof(ok)) == (ssize_t)sizeof(ok))
				accepted += (size_t)ok;
		}
		close(res[0]);
		while (wait(NULL) > 0)
			;
		total_accepted += accepted;
		if (accepted > max_accepted)
			max_accepted = accepted;
	}
	printf("{\"module\":\"%s\",\"mode\":\"race\",\"procs\":%d,\"rounds\":%d,"
	       "\"accepted_total\":%zu,\"accepted_max_per_round\":%zu}\n",
	       targets[0].label, procs, rounds, total_accepted, max_accepted);
}

/*
 * -I: one long-lived process that logs in whenever asked: a user name per line on stdin,
 * answered with "RC MILLISECONDS" (pam_authenticate's result) on stdout.
 */
static void interactive(void)
{
	const struct target *t = &targets[0];
	char line[128];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		const struct user *u = NULL;
		double t0;
		int rc;

		line[strcspn(line, "\n")] = '\0';
		for (size_t i = 0; i < t->nusers && u == NULL; i++)
			if (strcmp(t->users[i].name, line) == 0)
				u = &t->users[i];
		if (u == NULL) {
			printf("unknown %s\n", line);
		} else {
			t0 = now_s();
			rc = login_rc(t, u);
			printf("%d %.1f\n", rc, (now_s() - t0) * 1e3);
		}
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	size_t n = 1000, first = 0, chunk = 0;
	int procs = 1, rounds = 20, racing = 0, serve = 0, opt;
	const char *ufile = NULL, *ufile2 = NULL;

	while ((opt = getopt(argc, argv, "d:s:u:n:o:p:r:S:RIm:x:y:M:c:")) != -1) {
		switch (opt) {
		case 'd':
			confdir = optarg;
			break;
		case 's':
			targets[0].service = optarg;
			break;
		case 'u':
			ufile = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			first = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'S':
			step_offset = atoi(optarg);
			break;
		case 'R':
			racing = 1;
			break;
		case 'I':
			serve = 1;
			break;
		case 'm':
			targets[0].label = optarg;
			break;
		case 'x':
			targets[1].service = optarg;
			break;
		case 'y':
			ufile2 = optarg;
			break;
		case 'M':
			targets[1].label = optarg;
			break;
		case 'c':
			chunk = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (!confdir || !targets[0].service || !ufile || procs < 1 || procs > 64 || n == 0) {
		fprintf(stderr, "usage: bench_login -d CONFDIR -s SERVICE -u USERS [options]\n");
		return 2;
	}
	/* A paired run names both sides and its turn; nothing else takes them. */
	if ((targets[1].service != NULL) != (ufile2 != NULL) ||
	    (targets[1].service != NULL) != (chunk > 0) ||
	    (targets[1].service != NULL && (racing || serve))) {
		fprintf(stderr, "usage: bench_login ... -x SERVICE2 -y USERS2 -c CHUNK (all three, "
				"not with -R or -I)\n");
		return 2;
	}
	if (oath_init() != OATH_OK)
		return 2;
	load_users(&targets[0], ufile);
	if (ufile2 != NULL)
		load_users(&targets[1], ufile2);
	if (serve)
		interactive();
	else if (racing)
		race(first, procs, rounds);
	else
		throughput(first, n, procs, ufile2 != NULL ? 2 : 1, chunk);
	return 0;
}
