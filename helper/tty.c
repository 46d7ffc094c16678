/* Terminal prompts (echo off for secrets) and JSON requests on standard input. */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "helper.h"
#include "out.h"

#define DRAIN_MAX (1024 * 1024) /* bytes skipped after an over-long typed line, at most */

enum rd { RD_OK, RD_EOF, RD_LONG, RD_NUL, RD_ERR, RD_SIG };

static int term_fd = -1; /* /dev/tty, opened once */
static int term_tried;
static struct json_object *req; /* the current JSON request */

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

static const int tty_sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU};
#define N_TTY_SIGS (sizeof(tty_sigs) / sizeof(tty_sigs[0]))

/* Wait until fd is readable. With `waitmask` (the terminal prompt: the tty signals are
 * blocked everywhere else) they are let in only while waiting, atomically, so a Ctrl-C
 * that comes just before the wait is not lost. 0, RD_SIG or RD_ERR. */
static int wait_input(int fd, const sigset_t *waitmask)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	if (waitmask == NULL)
		return 0;
	for (;;) {
		if (caught)
			return RD_SIG;
		if (ppoll(&pfd, 1, NULL, waitmask) >= 0)
			return 0;
		if (errno != EINTR)
			return RD_ERR;
	}
}

/* Read one line from fd, byte by byte (nothing past the newline is consumed). */
static enum rd read_line(int fd, char *out, size_t n, size_t drain_max, const sigset_t *waitmask)
{
	size_t len = 0, skipped = 0;
	int too_long = 0, nul = 0;

	for (;;) {
		char ch;
		int w = wait_input(fd, waitmask);
		if (w != 0)
			return (enum rd)w;
		ssize_t got = read(fd, &ch, 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return RD_ERR;
		}
		if (got == 0) {
			if (len == 0 && !too_long && !nul)
				return RD_EOF;
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\0')
			nul = 1;
		if (too_long || nul) {
			if (++skipped > drain_max)
				break;
			continue;
		}
		if (len + 1 >= n) {
			too_long = 1;
			continue;
		}
		out[len++] = ch;
	}
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	if (nul)
		return RD_NUL;
	return too_long ? RD_LONG : RD_OK;
}

static int read_fail(enum rd r, size_t cap)
{
	switch (r) {
	case RD_LONG:
		return out_fail(HX_DATAERR, "input longer than %zu bytes refused; nothing changed",
				cap - 1);
	case RD_NUL:
		return out_fail(HX_DATAERR, "input with a NUL byte refused; nothing changed");
	case RD_EOF:
		return out_fail(HX_DATAERR, "no input (end of file); nothing changed");
	case RD_SIG:
		return out_fail(HX_DATAERR, "interrupted; nothing changed");
	default:
		return out_fail(HX_DATAERR, "cannot read the input: %s; nothing changed",
				strerror(errno));
	}
}

static void open_terminal(void)
{
	if (term_tried)
		return;
	term_tried = 1;
	term_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static void put(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/* One prompt on a terminal or stdin, echo off for secrets, signals restoring the terminal. */
static int ask_terminal(const char *prompt, int secret, char *out, size_t n)
{
	struct sigaction sa, old[N_TTY_SIGS];
	struct termios saved, quiet;
	sigset_t block, old_mask;
	int in, outfd, echo_off = 0, r = HX_SOFTWARE;
	enum rd rd = RD_ERR;

	fflush(stdout); /* what the verb printed so far comes before the prompt */
	open_terminal();
	in = term_fd >= 0 ? term_fd : 0;
	outfd = term_fd >= 0 ? term_fd : 2;

	/* The tty signals stay blocked except while waiting for input (see wait_input). */
	sigemptyset(&block);
	for (size_t i = 0; i < N_TTY_SIGS; i++)
		sigaddset(&block, tty_sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, &old_mask) != 0)
		return out_fail(HX_SOFTWARE, "cannot block signals; nothing changed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART */
	sa.sa_mask = block;
	for (size_t i = 0; i < N_TTY_SIGS; i++)
		(void)sigaction(tty_sigs[i], &sa, &old[i]);

	for (;;) {
		caught = 0;
		if (secret && isatty(in) && tcgetattr(in, &saved) == 0) {
			quiet = saved;
			quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
			quiet.c_lflag |= ICANON;
			if (tcsetattr(in, TCSAFLUSH, &quiet) != 0) {
				r = out_fail(HX_SOFTWARE, "cannot turn off the terminal echo; "
							  "nothing changed");
				goto out;
			}
			echo_off = 1;
		}
		put(outfd, prompt);
		rd = read_line(in, out, n, DRAIN_MAX, &old_mask);
		if (echo_off) {
			(void)tcsetattr(in, TCSAFLUSH, &saved);
			echo_off = 0;
			put(outfd, "\n");
		}
		if (rd != RD_SIG)
			break;
		/* Terminal restored: now let the signal do what it does (end or stop us). */
		int sig = caught;
		struct sigaction def;
		sigset_t one;
		memset(&def, 0, sizeof(def));
		def.sa_handler = SIG_DFL;
		sigemptyset(&def.sa_mask);
		sigemptyset(&one);
		sigaddset(&one, sig);
		rc_wipe(out, n);
		(void)sigaction(sig, &def, NULL);
		(void)kill(getpid(), sig); /* pending: the signal is blocked */
		(void)sigprocmask(SIG_UNBLOCK, &one, NULL);
		/* Still here (stopped and continued): ask again. */
		(void)sigprocmask(SIG_BLOCK, &one, NULL);
		(void)sigaction(sig, &sa, NULL);
	}
	r = rd == RD_OK ? HX_OK : read_fail(rd, n);
out:
	for (size_t i = 0; i < N_TTY_SIGS; i++)
		(void)sigaction(tty_sigs[i], &old[i], NULL);
	(void)sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (r != HX_OK)
		rc_wipe(out, n);
	return r;
}

/* Wipe every string value of the request, then release it. */
static void drop_request(void)
{
	if (req == NULL)
		return;
	json_object_object_foreach(req, key, val)
	{
		(void)key;
		if (json_object_is_type(val, json_type_string)) {
			char *p = (char *)(uintptr_t)json_object_get_string(val);
			rc_wipe(p, (size_t)json_object_get_string_len(val));
		}
	}
	json_object_put(req);
	req = NULL;
}

/* Read and parse the next request line from standard input. */
static int next_request(void)
{
	char line[TTY_JSON_MAX + 1];
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	enum rd rd;
	int r = HX_DATAERR;

	drop_request();
	fflush(stdout); /* the front end may be waiting for what we printed */
	rd = read_line(0, line, sizeof(line), 0, NULL);
	if (rd != RD_OK) {
		r = read_fail(rd, sizeof(line));
		goto out;
	}
	tok = json_tokener_new_ex(8);
	if (tok == NULL) {
		r = out_fail(HX_SOFTWARE, "out of memory");
		goto out;
	}
	size_t len = strlen(line);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object) ||
	    line[json_tokener_get_parse_end(tok) +
		 strspn(line + json_tokener_get_parse_end(tok), " \t\r")] != '\0') {
		r = out_fail(HX_DATAERR, "the request is not one JSON object on one line; "
					 "nothing changed");
		goto out;
	}
	req = o;
	o = NULL;
	r = HX_OK;
out:
	if (tok != NULL) {
		/* json-c keeps the last string it parsed in its buffer: wipe it too. */
		if (tok->pb != NULL && tok->pb->buf != NULL)
			rc_wipe(tok->pb->buf, (size_t)tok->pb->size);
		json_tokener_free(tok);
	}
	if (o != NULL) {
		req = o;
		drop_request();
	}
	RC_WIPE_ARRAY(line);
	return r;
}

/* Take `field` out of the current request (reading the next one if it is not there). */
static int ask_json(const char *field, char *out, size_t n)
{
	struct json_object *v = NULL;
	int r;

	if (req == NULL || !json_object_object_get_ex(req, field, &v)) {
		if ((r = next_request()) != HX_OK)
			return r;
		if (!json_object_object_get_ex(req, field, &v))
			return out_fail(HX_DATAERR,
					"the request has no \"%s\" field; nothing changed", field);
	}
	if (!json_object_is_type(v, json_type_string))
		return out_fail(HX_DATAERR, "\"%s\" must be a string; nothing changed", field);
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', len) != NULL)
		r = out_fail(HX_DATAERR, "\"%s\" holds a NUL byte; refused, nothing changed",
			     field);
	else if (len + 1 > n)
		r = out_fail(HX_DATAERR,
			     "\"%s\" is longer than %zu bytes; refused, nothing changed", field,
			     n - 1);
	else {
		memcpy(out, s, len + 1);
		r = HX_OK;
	}
	rc_wipe((char *)(uintptr_t)s, len);
	json_object_object_del(req, field); /* used once */
	return r;
}

int tty_ask(const char *field, const char *prompt, int secret, char *out, size_t n)
{
	int r;

	if (n == 0 || n > TTY_LINE_MAX)
		return out_fail(HX_SOFTWARE, "internal error: bad input buffer");
	if (out_json_mode())
		r = ask_json(field, out, n);
	else
		r = ask_terminal(prompt, secret, out, n);
	if (r != HX_OK)
		rc_wipe(out, n);
	return r;
}

void tty_note(const char *text)
{
	if (out_json_mode())
		return;
	fflush(stdout);
	open_terminal();
	int fd = term_fd >= 0 ? term_fd : 2;
	size_t len = strlen(text);
	put(fd, text);
	if (len == 0 || text[len - 1] != '\n')
		put(fd, "\n");
}

void tty_done(void)
{
	drop_request();
	if (term_fd >= 0)
		(void)close(term_fd);
	term_fd = -1;
	term_tried = 0;
}
