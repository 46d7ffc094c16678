/*
 * E-mail addresses, one rule for the whole tree: the recovery addresses the channels send
 * to, mail_from and the other addresses of the configuration, and user names that are
 * addresses (virtual mail users). The rule is what a mail host on the Internet accepts
 * without tricks:
 *   local part  1..64 bytes, a dot-atom of letters, digits and . _ + - = ' (no leading,
 *               trailing or doubled dot, no leading '-': option injection should it reach
 *               a command); no quoted strings, no '%' or '!' (source-routing tricks)
 *   domain      1..253 bytes, at least two labels of 1..63 letters, digits and inner
 *               dashes (IDNs in their xn-- form), the last label not all digits (no bare
 *               host names, no IP addresses)
 *   address     local@domain with exactly one '@', at most 254 bytes
 * Every byte is checked, so CR, LF, spaces, controls and non-ASCII never pass. No I/O.
 */
#ifndef RC_ADDR_H
#define RC_ADDR_H

#include <stddef.h>

#define ADDR_MAX 254
#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 253
#define ADDR_LABEL_MAX 63

/* 1 if the len bytes at p are an acceptable local part / domain, else 0. */
int addr_local_ok(const char *p, size_t len);
int addr_domain_ok(const char *p, size_t len);
/* 1 if the len bytes at p are an acceptable address (local@domain), else 0. */
int addr_email_ok_n(const char *p, size_t len);
/* The same for a NUL-terminated string; 0 for NULL. */
int addr_email_ok(const char *addr);

#endif
