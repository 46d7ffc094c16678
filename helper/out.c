/* Messages and JSON output of the helper. */
#include "out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

static int json_mode;

void out_set_json(int on)
{
	json_mode = on != 0;
}

int out_json_mode(void)
{
	return json_mode;
}

_Noreturn static void oom(void)
{
	static const char msg[] = "pam-recover: out of memory\n";
	ssize_t n = write(2, msg, sizeof(msg) - 1);
	(void)n;
	_exit(HX_SOFTWARE);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

static void vmsg(char *buf, size_t n, const char *fmt, va_list ap)
{
	int r = vsnprintf(buf, n, fmt, ap);
	if (r < 0)
		snprintf(buf, n, "(message lost)");
}

int out_fail(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vmsg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pam-recover: %s\n", msg);
	if (json_mode) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 0);
		oj_str(o, "error", msg);
		oj_int(o, "status", status);
		out_json(o);
	}
	return status;
}

void out_warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vmsg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pam-recover: warning: %s\n", msg);
}

void out_info(const char *fmt, ...)
{
	if (json_mode)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void out_text(const char *s)
{
	fputs(s, stdout);
}

struct json_object *oj_object(void)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL)
		oom();
	return o;
}

struct json_object *oj_array(void)
{
	struct json_object *o = json_object_new_array();
	if (o == NULL)
		oom();
	return o;
}

void oj_put(struct json_object *o, const char *key, struct json_object *val)
{
	if (json_object_object_add(o, key, val) != 0)
		oom();
}

void oj_str(struct json_object *o, const char *key, const char *val)
{
	struct json_object *v = NULL;
	if (val != NULL && (v = json_object_new_string(val)) == NULL)
		oom();
	oj_put(o, key, v);
}

void oj_int(struct json_object *o, const char *key, int64_t val)
{
	struct json_object *v = json_object_new_int64(val);
	if (v == NULL)
		oom();
	oj_put(o, key, v);
}

void oj_bool(struct json_object *o, const char *key, int val)
{
	struct json_object *v = json_object_new_boolean(val != 0);
	if (v == NULL)
		oom();
	oj_put(o, key, v);
}

void oj_push(struct json_object *arr, struct json_object *val)
{
	if (json_object_array_add(arr, val) != 0)
		oom();
}

void oj_push_str(struct json_object *arr, const char *val)
{
	struct json_object *v = json_object_new_string(val);
	if (v == NULL)
		oom();
	oj_push(arr, v);
}

void out_json(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s == NULL)
		oom();
	else {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
	json_object_put(o);
}

int out_finish(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pam-recover: cannot write the output: %s\n", strerror(errno));
		return HX_IOERR;
	}
	return 0;
}
