/* Address lists for reuse_trusted_hosts: numeric addresses only, never a DNS lookup. */
#include "hostmatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAX 64

struct net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char a[16];
	int bits;
};

/* One address, 4 bytes (IPv4) or 16 (IPv6); an IPv4-mapped IPv6 address counts as IPv4. */
static int parse_addr(const char *s, struct net *n)
{
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, s, n->a) == 1) {
		n->family = AF_INET;
		n->bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, n->a) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(n->a, mapped, sizeof(mapped)) == 0) {
			memmove(n->a, n->a + 12, 4);
			memset(n->a + 4, 0, 12);
			n->family = AF_INET;
			n->bits = 32;
			return 0;
		}
		n->family = AF_INET6;
		n->bits = 128;
		return 0;
	}
	return -1;
}

/* "ADDR" or "ADDR/BITS" of length len. */
static int parse_entry(const char *p, size_t len, struct net *n)
{
	char buf[ENTRY_MAX];
	char *slash, *end = NULL;
	long bits;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (parse_addr(buf, n) != 0)
		return -1;
	if (slash == NULL)
		return 0;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	bits = strtol(slash + 1, &end, 10);
	if (*end != '\0' || bits < 0 || bits > n->bits || strlen(slash + 1) > 3)
		return -1;
	n->bits = (int)bits;
	return 0;
}

static int net_contains(const struct net *net, const struct net *a)
{
	int full = net->bits / 8, rest = net->bits % 8;

	if (net->family != a->family)
		return 0;
	if (memcmp(net->a, a->a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (net->a[full] & mask) == (a->a[full] & mask);
}

/* Walk the list; with addr == NULL only check it. 1 match (or list fine), 0 no, -1 bad. */
static int walk(const char *list, const struct net *addr)
{
	const char *p = list;
	int count = 0;

	for (;;) {
		struct net n;
		size_t len;

		p += strspn(p, ", ");
		if (*p == '\0')
			break;
		len = strcspn(p, ", ");
		if (parse_entry(p, len, &n) != 0)
			return -1;
		if (addr != NULL && net_contains(&n, addr))
			return 1;
		count++;
		p += len;
	}
	if (addr != NULL)
		return 0;
	return count > 0 ? 1 : -1;
}

int host_list_ok(const char *list)
{
	return list != NULL && walk(list, NULL) == 1;
}

int host_in_list(const char *list, const char *addr)
{
	struct net a;

	if (list == NULL || list[0] == '\0' || addr == NULL || parse_addr(addr, &a) != 0)
		return 0;
	return walk(list, &a) == 1;
}
