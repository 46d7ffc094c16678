/*
 * The doctor's judgement of sshd's settings (read by doctor_conf.c the way sshd reads them):
 * which ways of logging in reach /etc/pam.d/sshd and ask for the code. With UsePAM yes,
 * keyboard-interactive runs the auth stack and shows each prompt to the user; the password
 * method runs the same stack but answers every hidden prompt, the code prompt included, with
 * the password, so an enrolled user is refused, and a password short enough to be read
 * as a code (up to 15 characters) counts as a failed code toward the lock.
 */
#include <stdio.h>

#include "doctor.h"

#define DROPIN "/etc/ssh/sshd_config.d/"
#define FIX_SSHD                                                                                   \
	"put `KbdInteractiveAuthentication yes`, `PasswordAuthentication no` and "                 \
	"`AuthenticationMethods keyboard-interactive` (or publickey,keyboard-interactive) in a "   \
	"file under " DROPIN " (sshd reads it before the lines of sshd_config, and the first "     \
	"value wins), or change this line; then `systemctl reload ssh`"

/* Where a setting comes from: its line, or the main file when sshd's default applies. */
static void at(const struct dr_sshd *x, int opt, const char **file, int *line)
{
	*file = x->opt[opt].set ? x->opt[opt].file : x->main_file;
	*line = x->opt[opt].set ? x->opt[opt].line : 0;
}

static const char *shown(const struct dr_sshd *x, int opt, const char *dflt, char *buf, size_t n)
{
	if (x->opt[opt].set)
		snprintf(buf, n, "%s %s", dr_sshd_keyword(opt), x->opt[opt].value);
	else
		snprintf(buf, n, "%s %s (sshd's default)", dr_sshd_keyword(opt), dflt);
	return buf;
}

void dr_check_sshd(struct doctor *d, const struct dr_stack *sshd)
{
	const struct dr_sshd *x = &d->sshd;
	struct dr_sshd_ways p;
	const char *file;
	int line;
	char a[300], b[300];

	if (!x->read || sshd == NULL || !dr_stack_uses_module(sshd))
		return;
	if (!dr_sshd_flag(x, DR_SSHD_USEPAM, 0)) {
		at(x, DR_SSHD_USEPAM, &file, &line);
		dr_add(d, DR_ERROR, file, line,
		       "set `UsePAM yes` (in a file under " DROPIN " or on this line)",
		       "%s: sshd never runs %s, so no SSH login is asked for a code%s",
		       shown(x, DR_SSHD_USEPAM, "no", a, sizeof(a)), sshd->path,
		       dr_sshd_flag(x, DR_SSHD_PASSWORD, 1)
			       ? "; sshd checks passwords itself: a password alone logs in"
			       : "");
		goto match;
	}
	dr_sshd_ways(x, &p);
	if (!p.code && p.password) {
		int opt = x->opt[DR_SSHD_METHODS].set ? DR_SSHD_METHODS : DR_SSHD_KBDINT;
		at(x, opt, &file, &line);
		dr_add(d, DR_ERROR, file, line, FIX_SSHD,
		       "%s: sshd never asks for the code; SSH passwords go through the password "
		       "method (%s), which hands the password to every PAM prompt, the code prompt "
		       "included: every enrolled user is refused, and each try can count toward "
		       "the lock",
		       shown(x, opt, "yes", a, sizeof(a)),
		       shown(x, DR_SSHD_PASSWORD, "yes", b, sizeof(b)));
	} else if (!p.code) {
		int opt = x->opt[DR_SSHD_METHODS].set ? DR_SSHD_METHODS : DR_SSHD_KBDINT;
		at(x, opt, &file, &line);
		dr_add(d, DR_ERROR, file, line, FIX_SSHD,
		       "%s: no SSH login runs the PAM auth stack (%s), so pam_recover.so in %s never "
		       "asks for a code",
		       shown(x, opt, "yes", a, sizeof(a)),
		       shown(x, DR_SSHD_PASSWORD, "yes", b, sizeof(b)), sshd->path);
	} else {
		if (p.password) {
			at(x, DR_SSHD_PASSWORD, &file, &line);
			dr_add(d, DR_WARNING, file, line,
			       "set `PasswordAuthentication no` (keyboard-interactive asks for the "
			       "password and then the code)",
			       "%s: a client that sends its password by the password method "
			       "(PreferredAuthentications=password, or after keyboard-interactive) has "
			       "it handed to the code prompt: refused, and each try can count toward "
			       "the lock",
			       shown(x, DR_SSHD_PASSWORD, "yes", a, sizeof(a)));
		}
		if (p.keyonly) {
			int opt = x->opt[DR_SSHD_METHODS].set ? DR_SSHD_METHODS : DR_SSHD_PUBKEY;
			at(x, opt, &file, &line);
			dr_add(d, DR_WARNING, file, line,
			       "set `AuthenticationMethods keyboard-interactive` (or "
			       "publickey,keyboard-interactive: a key, then the password and code)",
			       "%s: logins with a key never run the PAM auth stack and need no code",
			       shown(x, opt, "yes", a, sizeof(a)));
		}
	}
match:
	for (size_t i = 0; i < x->nmatch; i++) {
		const struct dr_sshd_match *m = &x->match[i];
		if (m->opt == DR_SSHD_ROOT)
			continue;
		dr_add(d, DR_WARNING, m->file, m->line,
		       "check that these connections still ask for the code (keyboard-interactive, "
		       "not the password method)",
		       "`%s %s` is inside the Match block at %s:%d: it changes how some SSH "
		       "connections log in, and the checks above are on the settings outside "
		       "Match blocks",
		       dr_sshd_keyword(m->opt), m->value, m->match_file, m->match_line);
	}
}
