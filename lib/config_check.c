/* Syntax checks for config values: paths, URLs, dates, lists, addresses, templates. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "chars.h"
#include "config.h"
#include "hostmatch.h"
#include "method.h"
#include "util.h"

#define CFG_USER_NAME_MAX 256

static const char *fmt(char *why, size_t n, const char *f, ...) RC_PRINTF(3, 4);

static const char *fmt(char *why, size_t n, const char *f, ...)
{
	va_list ap;

	/* why is a message buffer; truncation only shortens the message. */
	va_start(ap, f);
	(void)vsnprintf(why, n, f, ap);
	va_end(ap);
	return why;
}

const char *cfg_check_text(const char *v, char *why, size_t n)
{
	const unsigned char *p;

	(void)why;
	(void)n;
	if (*v == '\0')
		return "is empty";
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "contains a control character";
	}
	return NULL;
}

const char *cfg_check_abs_path(const char *v, char *why, size_t n)
{
	const char *p;

	(void)why;
	(void)n;
	if (v[0] != '/')
		return "is not an absolute path";
	for (p = v; (p = strstr(p, "..")) != NULL; p += 2) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return "must not contain '..'";
	}
	if (strlen(v) >= 4096)
		return "is too long for a path";
	return NULL;
}

/* ---- URLs ---- */

struct url {
	const char *scheme;
	size_t schemelen;
	const char *host; /* without brackets */
	size_t hostlen;
	int bracketed;
	int userinfo;
	const char *rest; /* from the first '/', '?' or '#' after the authority */
};

static const char *url_parse(const char *v, struct url *u)
{
	const char *sep = strstr(v, "://");
	const char *a;
	const char *end;
	const char *q;
	const char *after;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (strpbrk(v, " \t") != NULL)
		return "must not contain spaces";
	if (sep == NULL || sep == v)
		return "is not an URL (scheme://host/...)";
	for (q = v; q < sep; q++) {
		if (!rc_is_alnum(*q) && *q != '+' && *q != '-' && *q != '.')
			return "is not an URL (scheme://host/...)";
	}
	u->scheme = v;
	u->schemelen = (size_t)(sep - v);
	a = sep + 3;
	end = a + strcspn(a, "/?#");
	u->rest = end;
	for (q = a; q < end; q++) {
		if (*q == '@') {
			u->userinfo = 1;
			a = q + 1;
		}
	}
	if (a == end)
		return "has no host";
	if (*a == '[') {
		const char *close = memchr(a, ']', (size_t)(end - a));

		if (close == NULL)
			return "has a bad IPv6 address (missing ']')";
		u->bracketed = 1;
		u->host = a + 1;
		u->hostlen = (size_t)(close - a - 1);
		after = close + 1;
	} else {
		const char *colon = memchr(a, ':', (size_t)(end - a));

		u->host = a;
		u->hostlen = (size_t)((colon != NULL ? colon : end) - a);
		after = a + u->hostlen;
	}
	if (u->hostlen == 0 || u->hostlen > 253)
		return "has no host";
	for (i = 0; i < u->hostlen; i++) {
		char ch = u->host[i];

		if (u->bracketed ? !(rc_is_digit(ch) || strchr("abcdefABCDEF:.", ch) != NULL)
				 : !(rc_is_alnum(ch) || ch == '.' || ch == '-' || ch == '_'))
			return "has a bad host name";
	}
	if (after < end) {
		size_t plen = (size_t)(end - after - 1);
		char port[8];
		long pv;

		if (*after != ':' || plen == 0 || plen > 5)
			return "has a bad port";
		memcpy(port, after + 1, plen);
		port[plen] = '\0';
		if (rc_parse_long(port, 1, 65535, &pv) != 0)
			return "has a bad port";
	}
	return NULL;
}

static int scheme_is(const struct url *u, const char *s)
{
	return u->schemelen == strlen(s) && strncasecmp(u->scheme, s, u->schemelen) == 0;
}

static int host_loopback(const struct url *u)
{
	char h[256];
	struct in6_addr a6;
	struct in_addr a4;

	memcpy(h, u->host, u->hostlen);
	h[u->hostlen] = '\0';
	if (u->bracketed)
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	if (strcasecmp(h, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int cfg_check_url_loopback(const char *url)
{
	struct url u;

	if (url == NULL || url_parse(url, &u) != NULL)
		return 0;
	return host_loopback(&u);
}

void cfg_check_url_host(const char *url, char *out, size_t n)
{
	struct url u;
	char h[256];

	if (url == NULL || url_parse(url, &u) != NULL) {
		rc_log_escape("?", out, n);
		return;
	}
	memcpy(h, u.host, u.hostlen);
	h[u.hostlen] = '\0';
	rc_log_escape(h, out, n);
}

/* https, or http to this host only. */
static const char *web_url(const char *v, struct url *u)
{
	const char *w = url_parse(v, u);

	if (w != NULL)
		return w;
	if (u->userinfo)
		return "must not carry a user name or password";
	if (scheme_is(u, "https"))
		return NULL;
	if (scheme_is(u, "http")) {
		if (host_loopback(u))
			return NULL;
		return "may use http:// only for a server on this host (127.0.0.0/8, ::1, "
		       "localhost); use https://";
	}
	return "must start with https://";
}

/* {name} placeholders (lower-case word in braces) must be in the allowed list. */
static const char *placeholders(const char *v, const char *const *allowed, const char *list,
				char *why, size_t n)
{
	const char *p;

	for (p = v; (p = strchr(p, '{')) != NULL; p++) {
		size_t k = 0;
		size_t i;
		int ok = 0;
		char word[40];

		while ((p[1 + k] >= 'a' && p[1 + k] <= 'z') || p[1 + k] == '_')
			k++;
		if (k == 0 || p[1 + k] != '}')
			continue;
		for (i = 0; allowed[i] != NULL; i++) {
			if (strlen(allowed[i]) == k && strncmp(allowed[i], p + 1, k) == 0)
				ok = 1;
		}
		if (!ok) {
			if (k >= sizeof(word))
				k = sizeof(word) - 1;
			memcpy(word, p + 1, k);
			word[k] = '\0';
			return fmt(why, n, "has an unknown placeholder '{%s}' (known: %s)", word,
				   list);
		}
	}
	return NULL;
}

const char *cfg_check_smtp_url(const char *v, char *why, size_t n)
{
	struct url u;
	const char *w = url_parse(v, &u);

	(void)why;
	(void)n;
	if (w != NULL)
		return w;
	if (!scheme_is(&u, "smtp") && !scheme_is(&u, "smtps"))
		return "must start with smtp:// or smtps://";
	if (u.userinfo)
		return "must not carry a user name or password (use smtp_user and "
		       "smtp_password_file)";
	return NULL;
}

const char *cfg_check_reset_url(const char *v, char *why, size_t n)
{
	static const char *const ok[] = {"code", "user", NULL};
	struct url u;
	const char *w = url_parse(v, &u);

	if (w != NULL)
		return w;
	if (!scheme_is(&u, "https") && !scheme_is(&u, "http"))
		return "must start with https:// or http://";
	if (u.userinfo)
		return "must not carry a user name or password";
	if (strstr(v, "{code}") == NULL)
		return "must contain {code} (where the reset code goes)";
	return placeholders(v, ok, "{code}, {user}", why, n);
}

const char *cfg_check_sms_url(const char *v, char *why, size_t n)
{
	struct url u;

	(void)why;
	(void)n;
	return web_url(v, &u);
}

const char *cfg_check_sms_body(const char *v, char *why, size_t n)
{
	static const char *const ok[] = {"to", "text", NULL};

	return placeholders(v, ok, "{to}, {text}", why, n);
}

const char *cfg_check_telegram_api(const char *v, char *why, size_t n)
{
	struct url u;
	const char *w = web_url(v, &u);

	(void)why;
	(void)n;
	if (w != NULL)
		return w;
	if (strpbrk(u.rest, "?#") != NULL)
		return "must not have a query or fragment";
	if (*u.rest != '\0' && v[strlen(v) - 1] == '/')
		return "must not end in '/' (the helper appends /bot<TOKEN>/sendMessage)";
	return NULL;
}

/* ---- store, names, addresses ---- */

const char *cfg_check_store(const char *v, char *why, size_t n)
{
	const char *rest;
	const char *end;
	const char *at;
	const char *colon;

	if (strncmp(v, "sqlite:", 7) == 0) {
		if (cfg_check_abs_path(v + 7, why, n) != NULL)
			return "must be sqlite: followed by an absolute path";
		return NULL;
	}
	if (strncmp(v, "postgresql://", 13) == 0)
		rest = v + 13;
	else if (strncmp(v, "postgres://", 11) == 0)
		rest = v + 11;
	else
		return "must be sqlite:/path or a postgresql:// URI";
	if (strpbrk(v, " \t") != NULL)
		return "must not contain spaces";
	end = rest + strcspn(rest, "/?");
	at = memchr(rest, '@', (size_t)(end - rest));
	colon = at != NULL ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (colon != NULL || strstr(v, "password=") != NULL)
		return "must not contain a password (use passfile= in the URI, or root's "
		       "~/.pgpass)";
	return NULL;
}

const char *cfg_check_channel_user(const char *v, char *why, size_t n)
{
	(void)why;
	(void)n;
	if (strchr(v, '@') != NULL || !rc_user_name_ok(v))
		return "is not a system user name";
	if (strcmp(v, "root") == 0)
		return "must not be root (the network child drops to this user)";
	return NULL;
}

const char *cfg_check_issuer(const char *v, char *why, size_t n)
{
	(void)why;
	(void)n;
	if (strchr(v, ':') != NULL)
		return "must not contain ':' (it separates issuer and user in the otpauth label)";
	if (strlen(v) > 64)
		return "is longer than 64 characters";
	return NULL;
}

const char *cfg_check_prompt(const char *v, char *why, size_t n)
{
	(void)why;
	(void)n;
	if (strlen(v) > CFG_PROMPT_MAX)
		return "is longer than 200 characters";
	return NULL;
}

const char *cfg_check_service(const char *v, char *why, size_t n)
{
	const char *p;

	(void)why;
	(void)n;
	if (v[0] == '.' || v[0] == '-' || strlen(v) > 64)
		return "is not a PAM service name (letters, digits, '.', '_', '-')";
	for (p = v; *p != '\0'; p++) {
		if (!rc_is_alnum(*p) && *p != '.' && *p != '_' && *p != '-')
			return "is not a PAM service name (letters, digits, '.', '_', '-')";
	}
	return NULL;
}

const char *cfg_check_command(const char *v, char *why, size_t n)
{
	const char *p;
	char bad[3];

	if (v[0] != '/')
		return "must start with the absolute path of a program";
	for (p = v; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] == 'u' || p[1] == '%')
			continue;
		bad[0] = '%';
		bad[1] = (p[1] >= 0x21 && p[1] < 0x7f) ? p[1] : '?';
		bad[2] = '\0';
		if (p[1] == '\0')
			return "ends in a lone '%' (write %% for a literal '%')";
		return fmt(why, n, "has '%s': only %s are replaced", bad,
			   "%u (the user name) and %%");
	}
	return NULL;
}

const char *cfg_check_email(const char *v, char *why, size_t n)
{
	(void)why;
	(void)n;
	return addr_email_ok(v) ? NULL : "is not an e-mail address (local@domain)";
}

const char *cfg_check_domains(const char *v, char *why, size_t n)
{
	const char *p = v;
	int count = 0;

	(void)why;
	(void)n;
	for (;;) {
		size_t len;

		p += strspn(p, ", ");
		if (*p == '\0')
			break;
		len = strcspn(p, ", ");
		if (!addr_domain_ok(p, len))
			return "is not a list of domain names (separated by commas or spaces)";
		count++;
		p += len;
	}
	return count > 0 ? NULL : "is not a list of domain names (separated by commas or spaces)";
}

const char *cfg_check_hosts(const char *v, char *why, size_t n)
{
	(void)why;
	(void)n;
	return host_list_ok(v) ? NULL
			       : "is not a list of IP addresses or CIDR ranges (such as 192.0.2.7 "
				 "or 10.0.0.0/8, separated by commas or spaces)";
}

/* ---- lists ---- */

const char *cfg_check_user_list(const char *v, char *why, size_t n)
{
	const char *p = v;
	char name[CFG_USER_NAME_MAX];
	int count = 0;

	(void)why;
	(void)n;
	for (;;) {
		size_t len;

		p += strspn(p, ", ");
		if (*p == '\0')
			break;
		len = strcspn(p, ", ");
		if (len >= sizeof(name))
			return "is not a list of system user names (separated by commas or spaces)";
		memcpy(name, p, len);
		name[len] = '\0';
		if (strchr(name, '@') != NULL || !rc_user_name_ok(name))
			return "is not a list of system user names (separated by commas or spaces)";
		count++;
		p += len;
	}
	return count > 0 ? NULL
			 : "is not a list of system user names (separated by commas or spaces)";
}

/* "email, sms": each comma-separated word (blanks around it dropped) once; or "none". */
static const char *methods_scan(const char *v, unsigned *mask, char *why, size_t n)
{
	const char *p = v;
	char item[32];

	*mask = 0;
	if (strcmp(v, "none") == 0)
		return NULL;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *s = p;
		size_t l = len;
		int m, bit;

		while (l > 0 && *s == ' ') {
			s++;
			l--;
		}
		while (l > 0 && s[l - 1] == ' ')
			l--;
		if (l == 0)
			return "has an empty item (write e.g. email,sms)";
		m = method_parse_n(s, l);
		bit = (int)method_bit(m);
		if (m < 0) {
			rc_log_escape(s, item, l + 1 < sizeof(item) ? l + 1 : sizeof(item));
			return fmt(why, n, "has '%s': the methods are %s, or none alone", item,
				   "email, sms, telegram, question");
		}
		if ((*mask & (unsigned)bit) != 0) {
			rc_log_escape(s, item, l + 1 < sizeof(item) ? l + 1 : sizeof(item));
			return fmt(why, n, "names '%s' twice", item);
		}
		*mask |= (unsigned)bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return NULL;
}

const char *cfg_check_methods(const char *v, char *why, size_t n)
{
	unsigned mask;

	return methods_scan(v, &mask, why, n);
}

unsigned cfg_methods_mask(const char *v)
{
	unsigned mask = 0;
	char why[8];

	if (v == NULL || methods_scan(v, &mask, why, sizeof(why)) != NULL)
		return 0;
	return mask;
}

const char *cfg_check_questions(const char *v, char *why, size_t n)
{
	const char *p = v;
	int count = 0;

	(void)why;
	(void)n;
	for (;;) {
		size_t len = strcspn(p, "|");
		const char *s = p;
		size_t l = len;

		while (l > 0 && *s == ' ') {
			s++;
			l--;
		}
		while (l > 0 && s[l - 1] == ' ')
			l--;
		if (l == 0)
			return "has an empty question (questions are separated by '|')";
		if (l > CFG_QUESTION_MAX)
			return "has a question longer than 200 characters";
		if (++count > CFG_QUESTIONS_MAX)
			return "has more than 20 questions";
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return NULL;
}

/* ---- dates ---- */

static int leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int date_form(const char *v)
{
	static const char form[] = "dddd-dd-dd";
	size_t i;

	for (i = 0; i < sizeof(form) - 1; i++) {
		if (v[i] == '\0' || (form[i] == 'd' ? !rc_is_digit(v[i]) : v[i] != '-'))
			return 0;
	}
	return v[i] == '\0';
}

static int parse_date(const char *v, long *y, long *m, long *d)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char part[5];

	if (!date_form(v))
		return -1;
	memcpy(part, v, 4);
	part[4] = '\0';
	if (!rc_is_digit(part[0]) || rc_parse_long(part, 1970, 9999, y) != 0)
		return -1;
	memcpy(part, v + 5, 2);
	part[2] = '\0';
	if (!rc_is_digit(part[0]) || rc_parse_long(part, 1, 12, m) != 0)
		return -1;
	memcpy(part, v + 8, 2);
	part[2] = '\0';
	if (!rc_is_digit(part[0]) ||
	    rc_parse_long(part, 1, mdays[*m - 1] + (*m == 2 && leap(*y)), d) != 0)
		return -1;
	return 0;
}

const char *cfg_check_date(const char *v, char *why, size_t n)
{
	long y;
	long m;
	long d;

	(void)why;
	(void)n;
	if (!date_form(v))
		return "is not a date of the form YYYY-MM-DD";
	if (parse_date(v, &y, &m, &d) != 0)
		return "is not a real date between 1970-01-01 and 9999-12-31";
	return NULL;
}
