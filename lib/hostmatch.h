/* Lists of addresses and CIDR ranges ("192.0.2.7, 10.0.0.0/8 2001:db8::/32"). */
#ifndef RC_HOSTMATCH_H
#define RC_HOSTMATCH_H

#include "util.h"

/* 1 when `list` is one or more IPv4/IPv6 addresses or CIDR ranges separated by commas or
 * spaces, else 0. */
int host_list_ok(const char *list) RC_MUST_CHECK;

/* 1 when `addr` (a numeric IPv4 or IPv6 address, as PAM_RHOST holds it) is in `list`, else 0.
 * A NULL or empty list, or an address that is not numeric (a host name), matches nothing. */
int host_in_list(const char *list, const char *addr) RC_MUST_CHECK;

#endif
