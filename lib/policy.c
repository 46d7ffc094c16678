/* Password policy checks, the message that says what is missing, and suggestions. */
#include "policy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "text.h"

#define NAME_MIN 3 /* shorter names would forbid half the passwords */

/* Does pw contain name (the first len bytes), ignoring ASCII case? */
static int contains_name(const char *pw, const char *name, size_t len)
{
	size_t pl = strlen(pw);

	if (len < NAME_MIN || len > pl)
		return 0;
	for (size_t i = 0; i + len <= pl; i++)
		if (strncasecmp(pw + i, name, len) == 0)
			return 1;
	return 0;
}

static int has_user(const char *user, const char *pw)
{
	const char *at;

	if (user == NULL || user[0] == '\0')
		return 0;
	if (contains_name(pw, user, strlen(user)))
		return 1;
	at = strchr(user, '@');
	return at != NULL && contains_name(pw, user, (size_t)(at - user));
}

unsigned policy_check(const struct cfg *c, const char *user, const char *pw)
{
	unsigned flaws = 0;
	int upper = 0, lower = 0, digit = 0, symbol = 0;

	if (pw == NULL)
		return POLICY_SHORT;
	if (strlen(pw) > POLICY_MAX_BYTES)
		flaws |= POLICY_TOO_LONG;
	if (!text_utf8_ok(pw, 0))
		flaws |= POLICY_BAD_CHAR;
	for (const unsigned char *p = (const unsigned char *)pw; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			upper = 1;
		else if (*p >= 'a' && *p <= 'z')
			lower = 1;
		else if (*p >= '0' && *p <= '9')
			digit = 1;
		else if (*p >= 0x20 && *p != 0x7f)
			symbol = 1;
	}
	if (text_utf8_len(pw) < (size_t)(c->pw_min_length > 0 ? c->pw_min_length : 0))
		flaws |= POLICY_SHORT;
	if (pw[0] == '\0')
		flaws |= POLICY_SHORT;
	if (c->pw_require_upper && !upper)
		flaws |= POLICY_NO_UPPER;
	if (c->pw_require_lower && !lower)
		flaws |= POLICY_NO_LOWER;
	if (c->pw_require_digit && !digit)
		flaws |= POLICY_NO_DIGIT;
	if (c->pw_require_symbol && !symbol)
		flaws |= POLICY_NO_SYMBOL;
	if (has_user(user, pw))
		flaws |= POLICY_HAS_USER;
	return flaws;
}

/* Append s to out at *o; -1 when it does not fit. */
static int put(char *out, size_t n, size_t *o, const char *s)
{
	size_t len = strlen(s);

	if (*o + len + 1 > n)
		return -1;
	memcpy(out + *o, s, len + 1);
	*o += len;
	return 0;
}

/* "a, b and c" from up to 5 items. */
static int put_list(char *out, size_t n, size_t *o, const char *const *items, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		if (i > 0 && put(out, n, o, i + 1 == k ? " and " : ", ") != 0)
			return -1;
		if (put(out, n, o, items[i]) != 0)
			return -1;
	}
	return 0;
}

int policy_message(const struct cfg *c, unsigned flaws, char *out, size_t n)
{
	const char *items[5];
	char len_text[48];
	size_t k = 0, o = 0;
	int r = -1;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (flaws == 0)
		return put(out, n, &o, "The password meets the policy.");
	if (flaws & POLICY_TOO_LONG &&
	    put(out, n, &o, "The password is longer than 256 bytes. ") != 0)
		goto out;
	if (flaws & POLICY_BAD_CHAR &&
	    put(out, n, &o, "The password holds a control character or is not valid UTF-8. ") != 0)
		goto out;
	if (flaws & POLICY_SHORT) {
		if (rc_snprintf(len_text, sizeof(len_text), "at least %d characters",
				c->pw_min_length > 0 ? c->pw_min_length : 1) < 0)
			goto out;
		items[k++] = len_text;
	}
	if (flaws & POLICY_NO_UPPER)
		items[k++] = "an upper-case letter";
	if (flaws & POLICY_NO_LOWER)
		items[k++] = "a lower-case letter";
	if (flaws & POLICY_NO_DIGIT)
		items[k++] = "a digit";
	if (flaws & POLICY_NO_SYMBOL)
		items[k++] = "a symbol";
	if (k > 0 && (put(out, n, &o, "The password needs ") != 0 ||
		      put_list(out, n, &o, items, k) != 0 || put(out, n, &o, ". ") != 0))
		goto out;
	if (flaws & POLICY_HAS_USER && put(out, n, &o, "It must not contain the user name. ") != 0)
		goto out;
	if (o > 0 && out[o - 1] == ' ')
		out[--o] = '\0';
	r = 0;
out:
	if (r != 0)
		out[0] = '\0';
	return r;
}

int policy_describe(const struct cfg *c, char *out, size_t n)
{
	const char *items[4];
	char head[48];
	size_t k = 0, o = 0;
	int r = -1;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (c->pw_require_upper && c->pw_require_lower)
		items[k++] = "upper- and lower-case letters";
	else if (c->pw_require_upper)
		items[k++] = "an upper-case letter";
	else if (c->pw_require_lower)
		items[k++] = "a lower-case letter";
	if (c->pw_require_digit)
		items[k++] = "a digit";
	if (c->pw_require_symbol)
		items[k++] = "a symbol";
	if (rc_snprintf(head, sizeof(head), "At least %d characters",
			c->pw_min_length > 0 ? c->pw_min_length : 1) < 0 ||
	    put(out, n, &o, head) != 0)
		goto out;
	if (k > 0 && (put(out, n, &o, ", with ") != 0 || put_list(out, n, &o, items, k) != 0))
		goto out;
	if (put(out, n, &o, "; not containing the user name; at most 256 bytes.") != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		out[0] = '\0';
	return r;
}

/* Letters and digits without look-alikes: 24 + 24 + 8 = 56 symbols (5.8 bits each). */
static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

int policy_suggest(const struct cfg *c, const char *user, char *out, size_t n)
{
	size_t want = 19, groups, len;
	int r = -1;

	if (out == NULL || n == 0)
		return -1;
	out[0] = '\0';
	if (sodium_init() < 0)
		return -1;
	if (c->pw_min_length > 0 && (size_t)c->pw_min_length > want)
		want = (size_t)c->pw_min_length;
	groups = (want + 1 + 4) / 5; /* each group is 4 characters plus a '-' between groups */
	len = groups * 5 - 1;
	if (len + 1 > n || len > POLICY_MAX_BYTES)
		return -1;
	for (int tries = 0; tries < 1000; tries++) {
		size_t o = 0;
		for (size_t g = 0; g < groups; g++) {
			if (g > 0)
				out[o++] = '-';
			for (int i = 0; i < 4; i++)
				out[o++] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		}
		out[o] = '\0';
		if (policy_check(c, user, out) == 0) {
			r = 0;
			break;
		}
	}
	if (r != 0)
		rc_wipe(out, n);
	return r;
}
