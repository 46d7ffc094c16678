/*
 * pam_recover.conf and the module arguments: one key table used by the file parser, the
 * argument parser, cfg_init, cfg_free and cfg_dump (and walked by the tests that keep the
 * man page and the sample config in step with it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "chars.h"
#include "config_check.h"
#include "util.h"

enum key_type { KT_BOOL, KT_INT, KT_ENUM, KT_STR };

struct key {
	const char *name;
	enum key_type type;
	size_t off;               /* offset of the int or char * field in struct cfg */
	long min, max;            /* KT_INT range */
	long def;                 /* KT_BOOL, KT_INT, KT_ENUM default (the stored value) */
	const char *const *words; /* KT_ENUM accepted words (NULL-terminated) */
	const int *values;        /* KT_ENUM value stored for each word */
	const char *sdef;         /* KT_STR default; NULL = unset */
	cfg_check_fn check;       /* KT_STR syntax check beyond "no control characters" */
};

static const char *const algo_words[] = {"sha1", "sha256", "sha512", NULL};
static const int algo_values[] = {CFG_ALGO_SHA1, CFG_ALGO_SHA256, CFG_ALGO_SHA512};
static const char *const digits_words[] = {"6", "8", NULL};
static const int digits_values[] = {6, 8};
static const char *const tls_words[] = {"starttls", "tls", "none", NULL};
static const int tls_values[] = {CFG_TLS_STARTTLS, CFG_TLS_IMPLICIT, CFG_TLS_NONE};
static const char *const sms_type_words[] = {"form", "json", NULL};
static const int sms_type_values[] = {CFG_SMS_FORM, CFG_SMS_JSON};
static const char *const name_case_words[] = {"auto", "insensitive", "exact", NULL};
static const int name_case_values[] = {RC_NAME_AUTO, RC_NAME_INSENSITIVE, RC_NAME_EXACT};

#define F(f) offsetof(struct cfg, f)
#define K_BOOL(n, f, d)                                                                            \
	{                                                                                          \
		n, KT_BOOL, F(f), 0, 1, d, NULL, NULL, NULL, NULL                                  \
	}
#define K_INT(n, f, lo, hi, d)                                                                     \
	{                                                                                          \
		n, KT_INT, F(f), lo, hi, d, NULL, NULL, NULL, NULL                                 \
	}
#define K_ENUM(n, f, w, v, d)                                                                      \
	{                                                                                          \
		n, KT_ENUM, F(f), 0, 0, d, w, v, NULL, NULL                                        \
	}
#define K_STR(n, f, d, chk)                                                                        \
	{                                                                                          \
		n, KT_STR, F(f), 0, 0, 0, NULL, NULL, d, chk                                       \
	}

/* The order here is the order of cfg_dump, the man page and the sample config. */
static const struct key keys[] = {
	K_STR("store", store, RC_STORE_DEFAULT, cfg_check_store),
	K_STR("key_file", key_file, RC_KEY_DEFAULT, cfg_check_abs_path),

	K_INT("window", window, 0, 10, 1),
	K_INT("deny", deny, 0, 1000, 5),
	K_INT("unlock_time", unlock_time, 0, 604800, 900),
	K_INT("backup_deny", backup_deny, 0, 1000, 5),
	K_INT("reuse_window", reuse_window, 0, 3600, 120),
	K_STR("reuse_trusted_hosts", reuse_trusted_hosts, NULL, cfg_check_hosts),
	K_INT("reuse_window_trusted", reuse_window_trusted, 0, 86400, 3600),
	K_ENUM("algorithm", algorithm, algo_words, algo_values, CFG_ALGO_SHA1),
	K_ENUM("digits", digits, digits_words, digits_values, 6),
	K_INT("period", period, 15, 300, 30),
	K_INT("backup_codes", backup_codes, 1, 50, 10),
	K_INT("max_devices", max_devices, 1, CFG_MAX_DEVICES_LIMIT, 5),
	K_STR("issuer", issuer, NULL, cfg_check_issuer),
	K_STR("enforce_after", enforce_after, NULL, cfg_check_date),

	K_BOOL("nullok", nullok, 0),
	K_BOOL("forward_pass", forward_pass, 0),
	K_BOOL("split_pass", split_pass, 0),
	K_BOOL("forwarded_code", forwarded_code, 0),
	K_BOOL("try_first_pass", try_first_pass, 0),
	K_BOOL("use_first_pass", use_first_pass, 0),
	K_BOOL("app_passwords", app_passwords, 0),
	K_BOOL("debug", debug, 0),
	K_STR("prompt", prompt, "Verification code: ", cfg_check_prompt),
	K_ENUM("user_name_case", user_name_case, name_case_words, name_case_values, RC_NAME_AUTO),

	K_INT("password_min_length", pw_min_length, 6, 128, 8),
	K_BOOL("password_require_upper", pw_require_upper, 1),
	K_BOOL("password_require_lower", pw_require_lower, 1),
	K_BOOL("password_require_digit", pw_require_digit, 1),
	K_BOOL("password_require_symbol", pw_require_symbol, 1),
	K_STR("password_service", password_service, NULL, cfg_check_service),
	K_STR("password_command", password_command, NULL, cfg_check_command),
	K_STR("post_reset_command", post_reset_command, NULL, cfg_check_command),

	K_STR("reset_methods", reset_methods, "email,sms,telegram,question", cfg_check_methods),
	K_BOOL("reset_require_two_proofs", reset_require_two_proofs, 0),
	K_BOOL("reset_keep_2fa_with_code", reset_keep_2fa_with_code, 0),
	K_BOOL("reset_clear_app_passwords", reset_clear_app_passwords, 1),
	K_INT("email_code_ttl", email_code_ttl, 60, 86400, 3600),
	K_INT("sms_code_ttl", sms_code_ttl, 60, 3600, 600),
	K_INT("code_attempts", code_attempts, 1, 20, 5),
	K_INT("sends_per_hour", sends_per_hour, 1, 100, 3),
	K_INT("sms_daily_budget", sms_daily_budget, 0, 100000, 100),
	K_INT("destination_sends_per_day", destination_sends_per_day, 1, 1000, 10),
	K_INT("caller_requests_per_hour", caller_requests_per_hour, 1, 100000, 30),
	K_STR("frontend_users", frontend_users, NULL, cfg_check_user_list),
	K_INT("question_daily_attempts", question_daily_attempts, 1, 50, 5),
	K_STR("questions", questions, NULL, cfg_check_questions),

	K_STR("smtp_url", smtp_url, NULL, cfg_check_smtp_url),
	K_ENUM("smtp_tls", smtp_tls, tls_words, tls_values, CFG_TLS_STARTTLS),
	K_STR("smtp_user", smtp_user, NULL, NULL),
	K_STR("smtp_password_file", smtp_password_file, NULL, cfg_check_abs_path),
	K_STR("smtp_ca_file", smtp_ca_file, NULL, cfg_check_abs_path),
	K_STR("mail_from", mail_from, NULL, cfg_check_email),
	K_STR("reset_url", reset_url, NULL, cfg_check_reset_url),
	K_STR("local_domains", local_domains, NULL, cfg_check_domains),
	K_STR("support_contact", support_contact, NULL, NULL),

	K_STR("sms_url", sms_url, NULL, cfg_check_sms_url),
	K_STR("sms_auth_file", sms_auth_file, NULL, cfg_check_abs_path),
	K_STR("sms_body", sms_body, NULL, cfg_check_sms_body),
	K_ENUM("sms_content_type", sms_content_type, sms_type_words, sms_type_values, CFG_SMS_FORM),

	K_STR("telegram_api", telegram_api, "https://api.telegram.org", cfg_check_telegram_api),
	K_STR("telegram_token_file", telegram_token_file, NULL, cfg_check_abs_path),
	K_STR("channel_user", channel_user, "nobody", cfg_check_channel_user),

	K_INT("audit_retention_days", audit_retention_days, 0, CFG_AUDIT_RETENTION_MAX, 365),
	K_INT("prune_interval", prune_interval, 0, 604800, 3600),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Names people are likely to try, and the key they mean. */
static const struct {
	const char *wrong;
	const char *right;
} aliases[] = {
	{"pw_min_length", "password_min_length"},
	{"min_length", "password_min_length"},
	{"pw_require_upper", "password_require_upper"},
	{"pw_require_lower", "password_require_lower"},
	{"pw_require_digit", "password_require_digit"},
	{"pw_require_symbol", "password_require_symbol"},
	{"smtp_password", "smtp_password_file"},
	{"sms_auth", "sms_auth_file"},
	{"telegram_token", "telegram_token_file"},
	{"key", "key_file"},
	{"keyfile", "key_file"},
	{"database", "store"},
	{"db", "store"},
	{"tls", "smtp_tls"},
	{"lock_time", "unlock_time"},
	{"step", "period"},
	{"from", "mail_from"},
};

/* ---- fields ---- */

static int *int_field(struct cfg *c, const struct key *k)
{
	return (int *)(void *)((char *)c + k->off);
}

static int int_value(const struct cfg *c, const struct key *k)
{
	return *(const int *)(const void *)((const char *)c + k->off);
}

static char **str_field(struct cfg *c, const struct key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static const char *str_value(const struct cfg *c, const struct key *k)
{
	return *(char *const *)(const void *)((const char *)c + k->off);
}

/* Fields computed from others; called after every change of a string. */
static void derive(struct cfg *c)
{
	c->reset_method_mask = cfg_methods_mask(c->reset_methods);
}

void cfg_free(struct cfg *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == KT_STR) {
			char **p = str_field(c, &keys[i]);

			free(*p);
			*p = NULL;
		}
	}
	memset(c, 0, sizeof(*c));
}

int cfg_init(struct cfg *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->type != KT_STR) {
			*int_field(c, k) = (int)k->def;
		} else if (k->sdef != NULL) {
			char *s = strdup(k->sdef);

			if (s == NULL) {
				cfg_free(c);
				errno = ENOMEM;
				return -1;
			}
			*str_field(c, k) = s;
		}
	}
	derive(c);
	return 0;
}

const char *cfg_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

/* ---- messages ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...) RC_PRINTF(3, 4);

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap); /* a cut message is still a message */
	va_end(ap);
}

/* Is the parameter name at p (len bytes) one whose value is a credential? */
static int secret_param(const char *p, size_t len)
{
	static const char *const words[] = {"pass", "pwd",  "secret", "token",
					    "key",  "auth", "sig",    "cred"};
	char name[32];
	size_t i;

	if (len == 0 || len >= sizeof(name))
		return 0;
	for (i = 0; i < len; i++)
		name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
	name[len] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(name, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Credentials in text that may reach a message or a log become "***": the user part of
 * scheme://user:password@host (the whole of it: a token may stand in the user name) and the
 * value of a password-like parameter (password=, passfile=, token=, api_key=, ...), up to
 * the next '&' or blank. `in` is
 * len bytes (not NUL-terminated); out gets at most n - 1 of them and a NUL.
 */
static void redact(const char *in, size_t len, char *out, size_t n)
{
	size_t i = 0, o = 0;

	if (n == 0)
		return;
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (o + 1 < n)                                                                     \
			out[o++] = (ch);                                                           \
	} while (0)
#define PUTS(str)                                                                                  \
	do {                                                                                       \
		for (const char *q_ = (str); *q_ != '\0'; q_++)                                    \
			PUT(*q_);                                                                  \
	} while (0)
	while (i < len) {
		if (len - i >= 3 && memcmp(in + i, "://", 3) == 0) {
			size_t a = i + 3, at = 0;

			/* The last '@' before the end of the URL: a password may hold '/', '?',
			 * '#' or '@' unencoded (an '@' in a path hides a little too much). */
			PUTS("://");
			for (; a < len && strchr("\"' \t", in[a]) == NULL; a++)
				if (in[a] == '@')
					at = a;
			if (at != 0) {
				PUTS("***");
				i = at;
			} else {
				i += 3;
			}
			continue;
		}
		if (i == 0 || strchr("?&; \t", in[i - 1]) != NULL) {
			size_t e = i;

			while (e < len && (rc_is_alnum((unsigned char)in[e]) || in[e] == '_' ||
					   in[e] == '-' || in[e] == '.'))
				e++;
			if (e < len && in[e] == '=' && secret_param(in + i, e - i)) {
				for (; i <= e; i++)
					PUT(in[i]);
				PUTS("***");
				while (i < len && strchr("& \t\"'", in[i]) == NULL)
					i++;
				continue;
			}
		}
		PUT(in[i]);
		i++;
	}
#undef PUTS
#undef PUT
	out[o] = '\0';
}

/* A value (or key) as it may appear in a message: credentials redacted, escaped, at most 60
 * characters. */
static void shown(const char *v, size_t len, char *out, size_t n)
{
	char red[CFG_MAX_LINE + 1];
	char tmp[64];
	size_t l;

	redact(v, len, red, sizeof(red));
	len = strlen(red);
	l = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
	memcpy(tmp, red, l);
	tmp[l] = '\0';
	if (len > 60)
		memcpy(tmp + 57, "...", 4);
	rc_log_escape(tmp, out, n);
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Case-insensitive edit distance; SIZE_MAX when either word is long. */
static size_t distance(const char *a, size_t al, const char *b)
{
	size_t bl = strlen(b);
	size_t prev[42];
	size_t cur[42];
	size_t i;
	size_t j;

	if (al > 40 || bl > 40)
		return SIZE_MAX;
	for (j = 0; j <= bl; j++)
		prev[j] = j;
	for (i = 1; i <= al; i++) {
		cur[0] = i;
		for (j = 1; j <= bl; j++) {
			size_t sub = prev[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
			size_t del = prev[j] + 1;
			size_t ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;

			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, (bl + 1) * sizeof(prev[0]));
	}
	return prev[bl];
}

/* The key someone probably meant, or NULL. */
static const char *suggest(const char *name, size_t len)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strlen(aliases[i].wrong) == len &&
		    strncasecmp(aliases[i].wrong, name, len) == 0)
			return aliases[i].right;
	}
	for (i = 0; i < NKEYS; i++) {
		size_t kl = strlen(keys[i].name);
		size_t d;

		if (kl > len + 3 || len > kl + 3)
			continue; /* the distance is at least the difference in length */
		d = distance(name, len, keys[i].name);

		if (d < bestd) {
			bestd = d;
			best = keys[i].name;
		}
	}
	if (bestd <= 2 || (len >= 8 && bestd <= 3))
		return best;
	if (len >= 4) {
		/* "require_upper" -> "password_require_upper" */
		for (i = 0; i < NKEYS; i++) {
			size_t kl = strlen(keys[i].name);

			if (kl > len && keys[i].name[kl - len - 1] == '_' &&
			    strncasecmp(keys[i].name + kl - len, name, len) == 0)
				return keys[i].name;
		}
	}
	return NULL;
}

static void unknown_key(const char *what, const char *name, size_t len, char *out, size_t n)
{
	char s[80];
	const char *sug;

	shown(name, len, s, sizeof(s));
	if (len == 6 && strncmp(name, "config", 6) == 0) {
		seterr(out, n,
		       "%s 'config' cannot be used here (config=PATH is a module "
		       "argument; a file cannot name another)",
		       what);
		return;
	}
	sug = suggest(name, len);
	if (sug != NULL)
		seterr(out, n, "unknown %s '%s' (did you mean '%s'?)", what, s, sug);
	else
		seterr(out, n, "unknown %s '%s' (see pam_recover.conf(5))", what, s);
}

static const struct key *find_key(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	}
	return NULL;
}

/* ---- setting one value ---- */

static int parse_bool(const char *v)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* NULL on success, else a phrase completing "KEY: 'VALUE' ...". */
static const char *set_value(struct cfg *c, const struct key *k, const char *v, char *why, size_t n)
{
	const char *w = cfg_check_text(v, why, n);
	long num;
	size_t i;
	char *dup;
	int b;

	if (w != NULL)
		return w;
	switch (k->type) {
	case KT_BOOL:
		b = parse_bool(v);
		if (b < 0)
			return "is not a boolean (yes/no, true/false, on/off, 1/0)";
		*int_field(c, k) = b;
		return NULL;
	case KT_INT:
		if (rc_parse_long(v, k->min, k->max, &num) != 0) {
			seterr(why, n, "is not a number between %ld and %ld", k->min, k->max);
			return why;
		}
		*int_field(c, k) = (int)num;
		return NULL;
	case KT_ENUM: {
		size_t used;

		for (i = 0; k->words[i] != NULL; i++) {
			if (strcasecmp(k->words[i], v) == 0) {
				*int_field(c, k) = k->values[i];
				return NULL;
			}
		}
		seterr(why, n, "is not one of ");
		for (i = 0; k->words[i] != NULL; i++) {
			used = strlen(why);
			seterr(why + used, n - used, "%s%s", i > 0 ? ", " : "", k->words[i]);
		}
		return why;
	}
	case KT_STR:
		if (k->check != NULL && (w = k->check(v, why, n)) != NULL)
			return w;
		dup = strdup(v);
		if (dup == NULL)
			return "cannot be stored: out of memory";
		free(*str_field(c, k));
		*str_field(c, k) = dup;
		derive(c);
		return NULL;
	}
	return "has a type this program does not know";
}

/* ---- the file ---- */

struct parse {
	struct cfg *c;
	char name[256]; /* escaped file name for messages */
	unsigned line;
	unsigned seen[NKEYS]; /* line where each key was set, 0 = not yet */
	char *err;
	size_t errlen;
};

static int line_error(struct parse *x, const char *fmt, ...) RC_PRINTF(2, 3);

static int line_error(struct parse *x, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(x->err, x->errlen, "%s:%u: %s", x->name, x->line, msg);
	return -1;
}

static int key_syntax_ok(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	return len > 0;
}

/*
 * Decode the value at p (after "key =" and blanks) into out (at least strlen(p) + 1
 * bytes). Quoted: "..." with \" and \\; then only blanks or a comment. Unquoted: up to a
 * '#', trailing blanks dropped; *hash_cut tells that a '#' touched the value.
 */
static const char *read_value(const char *p, char *out, int *hash_cut, char *why, size_t n)
{
	size_t o = 0;
	const char *h;
	size_t l;

	*hash_cut = 0;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return "the quoted value has no closing '\"'";
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return "the quoted value has no closing '\"'";
				if (*p != '"' && *p != '\\') {
					char e[2] = {*p, '\0'};
					char es[4];

					rc_log_escape(e, es, sizeof(es));
					seterr(why, n,
					       "unknown escape '\\%s' in a quoted value (only \\\" "
					       "and \\\\)",
					       es);
					return why;
				}
			}
			out[o++] = *p;
		}
		p++;
		p += strspn(p, " \t");
		if (*p != '\0' && *p != '#')
			return "unexpected text after the closing '\"'";
		out[o] = '\0';
		return NULL;
	}
	h = strchr(p, '#');
	l = h != NULL ? (size_t)(h - p) : strlen(p);
	if (h != NULL && l > 0 && !rc_is_blank(p[l - 1]))
		*hash_cut = 1;
	while (l > 0 && rc_is_blank(p[l - 1]))
		l--;
	memcpy(out, p, l);
	out[l] = '\0';
	return NULL;
}

/* A line without '=': a bare word is a common slip for booleans. */
static int no_equals(struct parse *x, const char *p)
{
	size_t l = strcspn(p, "#");
	const struct key *k;
	char s[80];

	while (l > 0 && rc_is_blank(p[l - 1]))
		l--;
	shown(p, l, s, sizeof(s));
	k = find_key(p, l);
	if (k != NULL && k->type == KT_BOOL)
		return line_error(x, "'%s' needs a value: write '%s = yes'", s, s);
	if (k != NULL)
		return line_error(x, "'%s' needs a value: write '%s = VALUE'", s, s);
	return line_error(x, "expected 'key = value', found '%s'", s);
}

static int parse_line(struct parse *x, const char *line)
{
	char val[CFG_MAX_LINE + 1];
	char why[256];
	char s[80];
	const char *p = line;
	const char *eq;
	const char *w;
	const struct key *k;
	size_t len = strlen(line);
	size_t klen;
	int cut;
	int r = -1;

	if (len > 0 && line[len - 1] == '\r') {
		r = line_error(x, "the line ends in a carriage return (DOS line endings? convert "
				  "the file with dos2unix)");
		goto out;
	}
	p += strspn(p, " \t");
	if (*p == '\0' || *p == '#') {
		r = 0;
		goto out;
	}
	eq = strchr(p, '=');
	if (eq == NULL) {
		r = no_equals(x, p);
		goto out;
	}
	klen = (size_t)(eq - p);
	while (klen > 0 && rc_is_blank(p[klen - 1]))
		klen--;
	shown(p, klen, s, sizeof(s));
	if (klen == 0) {
		r = line_error(x, "expected 'key = value', found no key before '='");
		goto out;
	}
	if (!key_syntax_ok(p, klen)) {
		r = line_error(x, "'%s' is not a key name (expected 'key = value')", s);
		goto out;
	}
	k = find_key(p, klen);
	if (k == NULL) {
		unknown_key("key", p, klen, why, sizeof(why));
		r = line_error(x, "%s", why);
		goto out;
	}
	if (x->seen[k - keys] != 0) {
		r = line_error(x, "duplicate key '%s' (already set on line %u)", k->name,
			       x->seen[k - keys]);
		goto out;
	}
	x->seen[k - keys] = x->line;
	p = eq + 1;
	p += strspn(p, " \t");
	w = read_value(p, val, &cut, why, sizeof(why));
	if (w != NULL) {
		r = line_error(x, "%s: %s", k->name, w);
		goto out;
	}
	if (val[0] == '\0') {
		r = line_error(x, "%s has no value (comment the line out to keep the default)",
			       k->name);
		goto out;
	}
	w = set_value(x->c, k, val, why, sizeof(why));
	if (w != NULL) {
		shown(val, strlen(val), s, sizeof(s));
		r = line_error(x, "%s: '%s' %s%s", k->name, s, w,
			       cut ? " (a '#' starts a comment: put the value in double quotes)"
				   : "");
		goto out;
	}
	r = 0;
out:
	return r;
}

int cfg_parse_buffer(struct cfg *c, const char *name, const char *buf, size_t len, char *err,
		     size_t errlen)
{
	struct parse x;
	char line[CFG_MAX_LINE + 1];
	size_t pos = 0;
	int r = -1;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.err = err;
	x.errlen = errlen;
	rc_log_escape(name != NULL ? name : "(config)", x.name, sizeof(x.name));
	if (c == NULL || (buf == NULL && len > 0)) {
		seterr(err, errlen, "%s: nothing to parse", x.name);
		goto out;
	}
	if (len > CFG_MAX_FILE) {
		seterr(err, errlen, "%s: the file is larger than %d bytes", x.name, CFG_MAX_FILE);
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		x.line++;
		if (l > CFG_MAX_LINE) {
			line_error(&x, "the line is longer than %d bytes", CFG_MAX_LINE);
			goto out;
		}
		if (memchr(buf + pos, '\0', l) != NULL) {
			line_error(&x, "the line contains a NUL byte (is this a text file?)");
			goto out;
		}
		memcpy(line, buf + pos, l);
		line[l] = '\0';
		if (parse_line(&x, line) != 0)
			goto out;
		pos += l + (nl != NULL);
	}
	r = 0;
out:
	return r;
}

/* What to do about why (the command to run, with the file's name). */
static void open_hint(const char *why, const char *name, char *out, size_t n)
{
	out[0] = '\0';
	if (why == NULL)
		return;
	if (strcmp(why, "is not owned by root") == 0)
		snprintf(out, n, " (run: chown root:root %s)", name);
	else if (strcmp(why, "is writable by group or others") == 0)
		snprintf(out, n, " (run: chmod go-w %s)", name);
	else if (strcmp(why, "is a symbolic link") == 0)
		snprintf(out, n, " (name the real file, not a link to it)");
}

int cfg_load_file(struct cfg *c, const char *path, int required, char *err, size_t errlen)
{
	char name[256];
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;
	int r = -1;

	rc_log_escape(path, name, sizeof(name));
	if (c == NULL || path == NULL || path[0] != '/') {
		seterr(err, errlen, "%s: the config file must be named by an absolute path", name);
		goto out;
	}
	fd = rc_open_trusted(path, CFG_MAX_FILE, 0, &why);
	if (fd < 0) {
		if (errno == ENOENT && !required) {
			r = 0;
			goto out;
		}
		if (errno == EFBIG)
			seterr(err, errlen, "%s: the file is larger than %d bytes", name,
			       CFG_MAX_FILE);
		else {
			char hint[300];
			open_hint(why, name, hint, sizeof(hint));
			seterr(err, errlen, "%s: %s%s", name,
			       why != NULL ? why : "cannot be opened", hint);
		}
		goto out;
	}
	if (rc_read_all(fd, CFG_MAX_FILE, &buf, &len) != 0) {
		if (errno == EFBIG)
			seterr(err, errlen, "%s: the file is larger than %d bytes", name,
			       CFG_MAX_FILE);
		else if (errno == EINVAL)
			seterr(err, errlen, "%s: contains a NUL byte (is this a text file?)", name);
		else
			seterr(err, errlen, "%s: cannot be read", name);
		goto out;
	}
	r = cfg_parse_buffer(c, path, buf, len, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

/* ---- module arguments ---- */

static int apply_arg(struct cfg *c, const char *arg, unsigned char *seen, char *err, size_t errlen)
{
	char why[256];
	char s[80];
	const char *eq;
	const char *w;
	const struct key *k;
	size_t klen;
	int r = -1;

	if (arg == NULL || arg[0] == '\0') {
		seterr(err, errlen, "empty module argument");
		goto out;
	}
	eq = strchr(arg, '=');
	klen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (klen == 6 && strncmp(arg, "config", 6) == 0) {
		/* cfg_load_module peels config=PATH off before it gets here */
		seterr(err, errlen,
		       eq == NULL ? "module argument 'config' needs a path (config=PATH)"
				  : "module argument 'config' cannot be used here (only "
				    "as an argument of the module itself)");
		goto out;
	}
	k = find_key(arg, klen);
	if (k == NULL) {
		unknown_key("module argument", arg, klen, err, errlen);
		goto out;
	}
	if (seen != NULL && seen[k - keys]) {
		seterr(err, errlen, "module argument '%s' given twice", k->name);
		goto out;
	}
	if (eq == NULL && k->type != KT_BOOL) {
		seterr(err, errlen, "module argument '%s' needs a value (%s=VALUE)", k->name,
		       k->name);
		goto out;
	}
	if (eq == NULL) {
		*int_field(c, k) = 1; /* a bare boolean means yes */
	} else if (eq[1] == '\0') {
		seterr(err, errlen, "module argument '%s=' has no value", k->name);
		goto out;
	} else if ((w = set_value(c, k, eq + 1, why, sizeof(why))) != NULL) {
		shown(eq + 1, strlen(eq + 1), s, sizeof(s));
		seterr(err, errlen, "module argument %s: '%s' %s", k->name, s, w);
		goto out;
	}
	if (seen != NULL)
		seen[k - keys] = 1;
	r = 0;
out:
	return r;
}

int cfg_apply_arg(struct cfg *c, const char *arg, char *err, size_t errlen)
{
	if (c == NULL) {
		seterr(err, errlen, "no configuration to apply a module argument to");
		return -1;
	}
	return apply_arg(c, arg, NULL, err, errlen);
}

/* cfg_load_module and cfg_load_module_text: `text` NULL reads the file, else is the file. */
static int load_module(struct cfg *c, int argc, const char **argv, const char *text, size_t textlen,
		       char *err, size_t errlen);

int cfg_load_module(struct cfg *c, int argc, const char **argv, char *err, size_t errlen)
{
	return load_module(c, argc, argv, NULL, 0, err, errlen);
}

int cfg_load_module_text(struct cfg *c, int argc, const char **argv, const char *text, size_t len,
			 char *err, size_t errlen)
{
	if (text == NULL) {
		seterr(err, errlen, "no configuration text");
		return -1;
	}
	return load_module(c, argc, argv, text, len, err, errlen);
}

static int load_module(struct cfg *c, int argc, const char **argv, const char *text, size_t textlen,
		       char *err, size_t errlen)
{
	unsigned char seen[NKEYS];
	const char *path = NULL;
	char s[80];
	int i;
	int r = -1;

	memset(seen, 0, sizeof(seen));
	if (c == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
		seterr(err, errlen, "bad module arguments");
		return -1;
	}
	if (cfg_init(c) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL) {
			seterr(err, errlen, "module argument %d is missing", i + 1);
			goto out;
		}
		if (strncmp(argv[i], "config=", 7) != 0)
			continue;
		if (path != NULL) {
			seterr(err, errlen, "module argument 'config' given twice");
			goto out;
		}
		path = argv[i] + 7;
		if (path[0] != '/') {
			shown(path, strlen(path), s, sizeof(s));
			seterr(err, errlen, "module argument config: '%s' is not an absolute path",
			       s);
			goto out;
		}
	}
	if (text != NULL) {
		/* The file's part comes from the back end, which reads only the system file. */
		if (path != NULL && strcmp(path, RC_CONFIG_PATH) != 0) {
			shown(path, strlen(path), s, sizeof(s));
			seterr(err, errlen,
			       "module argument config: '%s' cannot be used without root (the "
			       "back end reads only %s)",
			       s, RC_CONFIG_PATH);
			goto out;
		}
		if (cfg_parse_buffer(c, RC_CONFIG_PATH, text, textlen, err, errlen) != 0)
			goto out;
	} else if (cfg_load_file(c, path != NULL ? path : RC_CONFIG_PATH, path != NULL, err,
				 errlen) != 0) {
		goto out;
	}
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0)
			continue;
		if (apply_arg(c, argv[i], seen, err, errlen) != 0)
			goto out;
	}
	if (cfg_validate(c, err, errlen) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		cfg_free(c);
	return r;
}

/* ---- cross-key checks ---- */

static int bits(unsigned v)
{
	int n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

int cfg_validate(const struct cfg *c, char *err, size_t errlen)
{
	char host[80];
	int r = -1;

	if (c == NULL) {
		seterr(err, errlen, "no configuration");
		goto out;
	}
	if (c->password_service != NULL && c->password_command != NULL) {
		seterr(err, errlen,
		       "password_service and password_command are both set: use "
		       "password_service for accounts whose password the PAM stack sets (pam_unix, "
		       "LDAP, SSSD), or password_command for virtual mail users, not both");
		goto out;
	}
	if (c->smtp_url != NULL) {
		int smtps = strncasecmp(c->smtp_url, "smtps://", 8) == 0;

		if (smtps && c->smtp_tls != CFG_TLS_IMPLICIT) {
			seterr(err, errlen,
			       "smtp_url is smtps:// (TLS from the first byte) but smtp_tls is %s: "
			       "set smtp_tls = tls",
			       c->smtp_tls == CFG_TLS_NONE ? "none" : "starttls (the default)");
			goto out;
		}
		if (!smtps && c->smtp_tls == CFG_TLS_IMPLICIT) {
			seterr(err, errlen,
			       "smtp_tls = tls needs an smtps:// smtp_url (TLS from the first byte, "
			       "port 465); for port 587 use smtp:// with smtp_tls = starttls");
			goto out;
		}
		if (c->smtp_tls == CFG_TLS_NONE && !cfg_url_is_loopback(c->smtp_url)) {
			cfg_check_url_host(c->smtp_url, host, sizeof(host));
			seterr(err, errlen,
			       "smtp_tls = none would send reset codes and the SMTP password in "
			       "clear text to '%s'; it is only allowed for a mail server on this "
			       "host (127.0.0.0/8, ::1, localhost)",
			       host);
			goto out;
		}
	}
	if ((c->smtp_user == NULL) != (c->smtp_password_file == NULL)) {
		seterr(err, errlen,
		       "smtp_user and smtp_password_file go together: set both for SMTP "
		       "authentication, or neither");
		goto out;
	}
	if (c->split_pass && c->forwarded_code) {
		seterr(err, errlen,
		       "split_pass and forwarded_code are two lines of one stack: split_pass "
		       "before the password module, forwarded_code after it, never both on one "
		       "line");
		goto out;
	}
	if (c->reset_require_two_proofs && bits(c->reset_method_mask) < 2) {
		seterr(err, errlen,
		       "reset_require_two_proofs = yes needs at least two reset_methods (now: "
		       "%s), or enrolled users could never reset",
		       c->reset_methods != NULL ? c->reset_methods : "none");
		goto out;
	}
	r = 0;
out:
	return r;
}

/* ---- output and accessors ---- */

static int needs_quotes(const char *v)
{
	size_t l = strlen(v);

	return l == 0 || rc_is_blank(v[0]) || rc_is_blank(v[l - 1]) || v[0] == '"' ||
	       strchr(v, '#') != NULL;
}

void cfg_dump(const struct cfg *c, FILE *out)
{
	size_t i;
	size_t j;

	if (c == NULL || out == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *v;
		const char *word = NULL;

		switch (k->type) {
		case KT_BOOL:
			fprintf(out, "%s = %s\n", k->name, int_value(c, k) ? "yes" : "no");
			break;
		case KT_INT:
			fprintf(out, "%s = %d\n", k->name, int_value(c, k));
			break;
		case KT_ENUM:
			for (j = 0; k->words[j] != NULL; j++) {
				if (k->values[j] == int_value(c, k))
					word = k->words[j];
			}
			if (word != NULL)
				fprintf(out, "%s = %s\n", k->name, word);
			else
				fprintf(out, "%s = %d\n", k->name, int_value(c, k));
			break;
		case KT_STR:
			v = str_value(c, k);
			/* The effective value: without password_command, the reset sets passwords
			 * through this PAM service. */
			if (v == NULL && strcmp(k->name, "password_service") == 0 &&
			    c->password_command == NULL)
				v = CFG_PASSWORD_SERVICE_DEFAULT;
			if (v == NULL) {
				fprintf(out, "# %s is not set\n", k->name);
			} else if (!needs_quotes(v)) {
				fprintf(out, "%s = %s\n", k->name, v);
			} else {
				fprintf(out, "%s = \"", k->name);
				for (; *v != '\0'; v++) {
					if (*v == '"' || *v == '\\')
						fputc('\\', out);
					fputc(*v, out);
				}
				fputs("\"\n", out);
			}
			break;
		}
	}
}

int cfg_url_is_loopback(const char *url)
{
	return cfg_check_url_loopback(url);
}

size_t cfg_question_count(const struct cfg *c)
{
	const char *p;
	size_t n = 1;

	if (c == NULL || c->questions == NULL)
		return 0;
	for (p = c->questions; (p = strchr(p, '|')) != NULL; p++)
		n++;
	return n;
}

int cfg_question(const struct cfg *c, size_t i, char *out, size_t n)
{
	const char *p;
	size_t l;

	if (out == NULL || n == 0 || i >= cfg_question_count(c))
		return -1;
	p = c->questions;
	for (; i > 0; i--)
		p = strchr(p, '|') + 1;
	l = strcspn(p, "|");
	while (l > 0 && *p == ' ') {
		p++;
		l--;
	}
	while (l > 0 && p[l - 1] == ' ')
		l--;
	if (l >= n)
		return -1;
	memcpy(out, p, l);
	out[l] = '\0';
	return 0;
}
