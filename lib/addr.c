/* E-mail addresses: one rule for the channels, the configuration and user names (addr.h). */
#include "addr.h"

#include <string.h>

#include "chars.h"

int addr_local_ok(const char *p, size_t len)
{
	if (p == NULL || len == 0 || len > ADDR_LOCAL_MAX || p[0] == '.' || p[0] == '-' ||
	    p[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '.' && i + 1 < len && p[i + 1] == '.')
			return 0;
		if (!rc_is_alnum(ch) && (ch == '\0' || strchr("._+-='", ch) == NULL))
			return 0;
	}
	return 1;
}

int addr_domain_ok(const char *p, size_t len)
{
	size_t labels = 0, start = 0;

	if (p == NULL || len == 0 || len > ADDR_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.') {
			if (!rc_is_alnum((unsigned char)p[i]) && p[i] != '-')
				return 0;
			continue;
		}
		size_t l = i - start;
		if (l == 0 || l > ADDR_LABEL_MAX || p[start] == '-' || p[i - 1] == '-')
			return 0;
		labels++;
		if (i == len) {
			int digits = 1;
			for (size_t j = start; j < i; j++)
				digits = digits && rc_is_digit((unsigned char)p[j]);
			if (digits)
				return 0;
		}
		start = i + 1;
	}
	return labels >= 2;
}

int addr_email_ok_n(const char *p, size_t len)
{
	const char *at;

	if (p == NULL || len < 3 || len > ADDR_MAX)
		return 0;
	at = memchr(p, '@', len);
	if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - p) - 1) != NULL)
		return 0;
	return addr_local_ok(p, (size_t)(at - p)) &&
	       addr_domain_ok(at + 1, len - (size_t)(at - p) - 1);
}

int addr_email_ok(const char *addr)
{
	size_t len;

	if (addr == NULL)
		return 0;
	len = strnlen(addr, ADDR_MAX + 1);
	return addr_email_ok_n(addr, len);
}
