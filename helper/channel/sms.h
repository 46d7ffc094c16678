/*
 * SMS channel: an HTTP gateway described by the configuration (sms_url, sms_body,
 * sms_content_type, sms_auth_file). The body is rendered by the root part (pure functions
 * below, fuzzed) and POSTed by the unprivileged child.
 */
#ifndef RC_SMS_H
#define RC_SMS_H

#include <stddef.h>

#include "privsep.h"
#include "util.h"

#define SMS_BODY_MAX (16 * 1024)
#define SMS_TEXT_MAX 1600 /* ten concatenated SMS parts */
#define SMS_AUTH_MAX 512
#define SMS_FORM_DEFAULT "to={to}&text={text}"
#define SMS_JSON_DEFAULT "{\"to\":\"{to}\",\"text\":\"{text}\"}"

/*
 * Fill the template: {to}, {text} and {code} are replaced by the values, escaped for the
 * content type (CFG_SMS_FORM: application/x-www-form-urlencoded, so a literal part of the
 * template stays as written and a value is percent-encoded; CFG_SMS_JSON: the value is
 * escaped as the inside of a JSON string, so the template writes the quotes: "{text}").
 * Invalid UTF-8 in a value becomes U+FFFD. code may be NULL (then ""). Other {...} and
 * text are copied. *out is malloc'd. 0, or -1 (too long, out of memory).
 */
int sms_render(const char *tmpl, int type, const char *to, const char *text, const char *code,
	       char **out, size_t *len) RC_MUST_CHECK;

enum sms_auth_kind { SMS_AUTH_BEARER = 1, SMS_AUTH_BASIC = 2 };
struct sms_auth {
	int kind;
	char user[SMS_AUTH_MAX]; /* basic: the user; bearer: the token */
	char pass[SMS_AUTH_MAX]; /* basic: the password */
};

/* Parse the first line of sms_auth_file: "bearer TOKEN" or "basic USER:PASS" (keyword in
 * any case, one or more blanks, no control characters, the token without spaces). 0, or -1
 * with a reason in why that never repeats the secret. */
int sms_auth_parse(const char *line, struct sms_auth *a, char *why, size_t n) RC_MUST_CHECK;

/* POST r->body (already rendered) to r->url; success on 2xx (child side). */
int sms_send(const struct privsep_req *r, struct privsep_res *res);

#endif
