/*
 * Logins per second through the real libpam (pam_start_confdir: the stack is read from a
 * directory of ours, nothing in /etc/pam.d is touched). Codes come from liboath directly,
 * so the same driver measures pam_recover, pam_oath and pam_google_authenticator.
 *
 *   bench_login -d CONFDIR -s SERVICE -u USERS [-n LOGINS] [-o FIRST] [-p PROCS] [-r ROUNDS]
 *               [-S STEP_OFFSET] [-R] [-I] [-m LABEL]
 * USERS: lines "name hexsecret". -R: race mode, PROCS processes present the SAME code of
 * one user at once, ROUNDS times (a different user each round); prints how many were
 * accepted per round. -I: one process logs in a user whenever its name comes on stdin and
 * answers "RC MS" (tests/helper/test_pg.py). Output: one JSON object per run on stdout.
 */

#include <errno.h>
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

static struct user *users;
static size_t nusers;
static const char *confdir, *service, *label = "module";
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

static void code_for(const struct user *u, char out[16])
{
	time_t now = time(NULL) + (time_t)step_offset * 30;

	if (oath_totp_generate2(u->secret, u->len, now, 30, 0, 6, 0, out) != OATH_OK) {
		fprintf(stderr, "oath_totp_generate2 failed\n");
		exit(2);
	}
}

/* One login of u with its current code: pam_authenticate's result. */
static int login_rc(const struct user *u)
{
	char code[16];
	struct pam_conv c = {conv, code};
	pam_handle_t *h = NULL;
	int r;

	code_for(u, code);
	if (pam_start_confdir(service, u->name, &c, confdir, &h) != PAM_SUCCESS)
		return PAM_SYSTEM_ERR;
	r = pam_authenticate(h, PAM_SILENT);
	pam_end(h, r);
	return r;
}

static int login(const struct user *u)
{
	return login_rc(u) == PAM_SUCCESS;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_users(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], hex[130];
	size_t cap = 1024;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	users = malloc(cap * sizeof(*users));
	while (users && fgets(line, sizeof(line), f)) {
		size_t len = 0;

		if (nusers == cap)
			users = realloc(users, (cap *= 2) * sizeof(*users));
		if (users == NULL || sscanf(line, "%63s %129s", users[nusers].name, hex) != 2)
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
	if (users == NULL || nusers == 0) {
		fprintf(stderr, "%s: no users\n", path);
		exit(2);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * PROCS processes, each on its own slice of users; the parent sums the successes and takes
 * the 50th and 99th percentile of every login's duration (pam_start to pam_end).
 */
static void throughput(size_t first, size_t n, int procs)
{
	int fds[64][2];
	size_t ok = 0, per = n / (size_t)procs, nlat = 0;
	double t0 = now_s(), dt, *lat = calloc(per * (size_t)procs + 1, sizeof(double));

	if (lat == NULL)
		exit(2);
	for (int p = 0; p < procs; p++) {
		if (pipe(fds[p]) != 0)
			exit(2);
		if (fork() == 0) {
			size_t mine = 0;
			double *my = calloc(per + 1, sizeof(double));

			if (my == NULL)
				_exit(1);
			for (size_t i = 0; i < per; i++) {
				double a = now_s();

				mine += (size_t)login(
					&users[(first + (size_t)p * per + i) % nusers]);
				my[i] = now_s() - a;
			}
			if (write_full(fds[p][1], &mine, sizeof(mine)) != 0 ||
			    write_full(fds[p][1], my, per * sizeof(double)) != 0)
				_exit(1);
			_exit(0);
		}
		close(fds[p][1]);
	}
	for (int p = 0; p < procs; p++) {
		size_t got = 0;

		if (read_full(fds[p][0], &got, sizeof(got)) == 0 &&
		    read_full(fds[p][0], lat + nlat, per * sizeof(double)) == 0) {
			ok += got;
			nlat += per;
		}
		close(fds[p][0]);
	}
	while (wait(NULL) > 0)
		;
	dt = now_s() - t0;
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("{\"module\":\"%s\",\"mode\":\"throughput\",\"users\":%zu,\"procs\":%d,"
	       "\"logins\":%zu,\"ok\":%zu,\"seconds\":%.4f,\"per_second\":%.1f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	       label, nusers, procs, per * (size_t)procs, ok, dt,
	       (double)(per * (size_t)procs) / dt, nlat ? lat[nlat / 2] * 1e3 : 0.0,
	       nlat ? lat[(nlat * 99) / 100] * 1e3 : 0.0);
	free(lat);
}

/* The same code from PROCS processes released together through one pipe. */
static void race(size_t first, int procs, int rounds)
{
	size_t total_accepted = 0, max_accepted = 0;

	for (int r = 0; r < rounds; r++) {
		const struct user *u = &users[(first + (size_t)r) % nusers];
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
				ok = login(u);
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
	       label, procs, rounds, total_accepted, max_accepted);
}

/*
 * -I: one long-lived process that logs in whenever asked: a user name per line on stdin,
 * answered with "RC MILLISECONDS" (pam_authenticate's result) on stdout.
 */
static void interactive(void)
{
	char line[128];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		const struct user *u = NULL;
		double t0;
		int rc;

		line[strcspn(line, "\n")] = '\0';
		for (size_t i = 0; i < nusers && u == NULL; i++)
			if (strcmp(users[i].name, line) == 0)
				u = &users[i];
		if (u == NULL) {
			printf("unknown %s\n", line);
		} else {
			t0 = now_s();
			rc = login_rc(u);
			printf("%d %.1f\n", rc, (now_s() - t0) * 1e3);
		}
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	size_t n = 1000, first = 0;
	int procs = 1, rounds = 20, racing = 0, serve = 0, opt;
	const char *ufile = NULL;

	while ((opt = getopt(argc, argv, "d:s:u:n:o:p:r:S:RIm:")) != -1) {
		switch (opt) {
		case 'd':
			confdir = optarg;
			break;
		case 's':
			service = optarg;
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
			label = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!confdir || !service || !ufile || procs < 1 || procs > 64 || n == 0) {
		fprintf(stderr, "usage: bench_login -d CONFDIR -s SERVICE -u USERS [options]\n");
		return 2;
	}
	if (oath_init() != OATH_OK)
		return 2;
	load_users(ufile);
	if (serve)
		interactive();
	else if (racing)
		race(first, procs, rounds);
	else
		throughput(first, n, procs);
	return 0;
}
