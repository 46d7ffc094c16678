/*
 * What every step of a reset uses, below the steps and the flow: the step object, the error
 * step, a question through the front end (r->ui), the audit row, and the clock that pads
 * answers to a fixed time (contracts in reset.h).
 */
#include "reset.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "out.h"

int64_t reset_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void reset_pad(int64_t start_ms, int floor_ms)
{
	int64_t left = start_ms + floor_ms - reset_clock_ms();

	if (left <= 0)
		return;
	struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

struct json_object *reset_step(const char *name, const char *message)
{
	struct json_object *o = oj_object();

	oj_str(o, "step", name);
	if (message != NULL)
		oj_str(o, "message", message);
	return o;
}

void reset_error(struct reset *r, const char *code, int final, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "error");
	va_end(ap);
	struct json_object *o = reset_step("error", NULL);
	oj_str(o, "code", code);
	oj_str(o, "message", msg);
	oj_bool(o, "final", final);
	r->ui->show(r, o);
}

int reset_ask(struct reset *r, struct json_object *step, const char *field, const char *prompt,
	      int secret, char *out, size_t n)
{
	if (++r->asks > RESET_MAX_ASKS) {
		json_object_put(step);
		reset_error(r, "too_many_steps", 1,
			    "Too many steps in one run; nothing more was changed. Start again.");
		return HX_TEMPFAIL;
	}
	return r->ui->ask(r, step, field, prompt, secret, out, n, NULL, NULL, 0);
}

void reset_audit(struct reset *r, const char *event, const char *method, const char *detail)
{
	char esc[256];

	if (r->store == NULL)
		return;
	rc_log_escape(detail != NULL ? detail : "", esc, sizeof(esc));
	if (store_audit_add(r->store, r->user[0] ? r->user : NULL, (long)r->h->ruid, event, method,
			    esc) != STORE_OK)
		syslog(LOG_ERR, "reset: cannot write the audit event %s for %s: %s", event, r->user,
		       store_errmsg(r->store));
}
