/*
 * Which ways of logging in sshd's settings leave open (read by doctor_conf.c): the yes/no
 * settings as sshd takes them, and the lists of AuthenticationMethods. doctor_sshd.c judges
 * the result; the fuzz harness tests/fuzz/fuzz_sshd.c checks it on arbitrary files.
 */
#include <string.h>
#include <strings.h>

#include "doctor.h"

enum { M_KEY = 1, M_PASSWORD = 2, M_KBDINT = 4 };

int dr_sshd_flag(const struct dr_sshd *x, int opt, int dflt)
{
	if (!x->opt[opt].set)
		return dflt;
	if (strcasecmp(x->opt[opt].value, "yes") == 0)
		return 1;
	if (strcasecmp(x->opt[opt].value, "no") == 0)
		return 0;
	return dflt;
}

/* The methods of one AuthenticationMethods list ("publickey,keyboard-interactive:pam"), as
 * M_* bits; -1 when a method in it is switched off (the list can never be completed). */
static int list_bits(const char *list, size_t len, int key, int pw, int kbd)
{
	int bits = 0;

	for (size_t i = 0; i < len;) {
		size_t k = i;
		while (k < len && list[k] != ',')
			k++;
		size_t m = k - i;
		const char *colon = memchr(list + i, ':', m);
		if (colon != NULL)
			m = (size_t)(colon - (list + i));
		if (m == 9 && strncmp(list + i, "publickey", 9) == 0) {
			if (!key)
				return -1;
			bits |= M_KEY;
		} else if (m == 8 && strncmp(list + i, "password", 8) == 0) {
			if (!pw)
				return -1;
			bits |= M_PASSWORD;
		} else if (m == 20 && strncmp(list + i, "keyboard-interactive", 20) == 0) {
			if (!kbd)
				return -1;
			bits |= M_KBDINT;
		} else
			bits |= M_KEY; /* hostbased, gssapi-with-mic: no PAM auth stack */
		i = k + 1;
	}
	return bits;
}

void dr_sshd_ways(const struct dr_sshd *x, struct dr_sshd_ways *p)
{
	const int key = dr_sshd_flag(x, DR_SSHD_PUBKEY, 1),
		  pw = dr_sshd_flag(x, DR_SSHD_PASSWORD, 1),
		  kbd = dr_sshd_flag(x, DR_SSHD_KBDINT, 1);
	const char *v = x->opt[DR_SSHD_METHODS].value;

	memset(p, 0, sizeof(*p));
	if (!x->opt[DR_SSHD_METHODS].set || strcasecmp(v, "any") == 0) {
		p->code = kbd;
		p->password = pw;
		p->keyonly = key;
		return;
	}
	for (const char *s = v; *s != '\0';) {
		s += strspn(s, " \t");
		size_t len = strcspn(s, " \t");
		if (len == 0)
			break;
		int bits = list_bits(s, len, key, pw, kbd);
		s += len;
		if (bits < 0)
			continue;
		if (bits & M_PASSWORD)
			p->password =
				1; /* with keyboard-interactive too: the password step fails */
		else if (bits & M_KBDINT)
			p->code = 1;
		else
			p->keyonly = 1;
	}
}
