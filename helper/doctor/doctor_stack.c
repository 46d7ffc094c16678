/*
 * The doctor's checks on one service's auth stack. The stack is run (doctor_sim.c) for
 * people who know only part of what they need; each finding names the line that makes
 * the difference and what to write instead.
 */
#include <stdio.h>
#include <string.h>

#include <security/pam_appl.h>

#include "doctor.h"
#include "login.h"

#define FIX_REQUIRED "use `required` (or `requisite`) on this line: auth required pam_recover.so"
/* The stack for services with one password field (Dovecot: IMAP, POP3, SMTP AUTH). */
#define ONE_FIELD_STACK                                                                            \
	"auth [success=done default=ignore] pam_recover.so app_passwords; "                        \
	"auth requisite pam_recover.so split_pass nullok; "                                        \
	"auth requisite pam_unix.so use_first_pass; "                                              \
	"auth required pam_recover.so forwarded_code nullok"
#define FIX_ONE_FIELD "use the four lines for one-field services: " ONE_FIELD_STACK

static int is_recover(const struct dr_line *l)
{
	return !l->head && l->kind == DR_K_RECOVER;
}

static int is_app(const struct dr_line *l)
{
	return is_recover(l) &&
	       (l->cfg_ok ? l->cfg.app_passwords : dr_line_has_arg(l, "app_passwords"));
}

static int is_split(const struct dr_line *l)
{
	return is_recover(l) && !is_app(l) && l->split_pass;
}

static int is_forwarded(const struct dr_line *l)
{
	return is_recover(l) && !is_app(l) && !l->split_pass && l->forwarded_code;
}

static int is_forward_pass(const struct dr_line *l)
{
	return is_recover(l) &&
	       (l->cfg_ok ? l->cfg.forward_pass : dr_line_has_arg(l, "forward_pass"));
}

/* A pam_recover.so line that checks a code (not the app_passwords or split_pass line). */
static int is_code(const struct dr_line *l)
{
	return is_recover(l) && !is_app(l) && !l->split_pass;
}

static int is_password(const struct dr_line *l)
{
	return !l->head && l->kind == DR_K_PASSWORD && l->must_fail == 0;
}

int dr_stack_uses_module(const struct dr_stack *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (is_recover(&st->v[i]))
			return 1;
	return 0;
}

static int first_code(const struct dr_stack *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (is_code(&st->v[i]))
			return (int)i;
	return -1;
}

/* " when pam_x.so (F:L) succeeds" for a finding that holds only for some answers. */
static void when(const struct dr_stack *st, const struct dr_sim *s, const struct dr_trace *t,
		 char *out, size_t n)
{
	char cond[600];

	out[0] = '\0';
	if (s->successes == s->runs || s->successes == 0)
		return;
	dr_sim_conditions(st, s, t, cond, sizeof(cond));
	if (cond[0] != '\0' && rc_snprintf(out, n, " (when %s)", cond) < 0)
		out[0] = '\0';
}

/* ---- per line ---- */

static void list_unenrolled(const struct cfg *c, char *out, size_t n, int *count)
{
	char names[300];
	int more = 0;

	out[0] = '\0';
	*count = dr_unenrolled_accounts(c, names, sizeof(names), &more);
	if (*count > 0 &&
	    rc_snprintf(out, n, "; accounts with a login shell not yet enrolled: %s%s", names,
			more ? ", ..." : "") < 0)
		out[0] = '\0';
}

/* Without nullok, users who have not enrolled are refused: name them. */
static void check_no_nullok(struct doctor *d, const struct dr_line *l)
{
	char names[300];
	int more = 0, count;

	if (!l->cfg_ok || l->cfg.nullok)
		return;
	count = dr_unenrolled_users(&l->cfg, names, sizeof(names), &more);
	if (count <= 0)
		return;
	dr_add(d, DR_ERROR, l->file, l->lineno,
	       "enrol them first (they run `pam-recover enable`, or `pam-recover admin enrol "
	       "USER`), or keep nullok on this line (with enforce_after = DATE in "
	       "pam_recover.conf) until they have",
	       "without nullok, users without 2-step verification are refused here, and %d "
	       "account%s with a login shell %s not enrolled: %s%s",
	       count, count == 1 ? "" : "s", count == 1 ? "is" : "are", names, more ? ", ..." : "");
}

static void check_nullok(struct doctor *d, const struct dr_line *l)
{
	int grace = 0, count = 0;
	char where[300], who[400];

	if (!l->cfg_ok)
		return;
	if (!l->cfg.nullok) {
		check_no_nullok(d, l);
		return;
	}
	if (dr_line_has_arg(l, "nullok") || dr_line_has_arg(l, "nullok="))
		snprintf(where, sizeof(where), "nullok (a module argument)");
	else if (rc_snprintf(where, sizeof(where), "nullok (set in %s)", d->config_shown) < 0)
		snprintf(where, sizeof(where), "nullok");
	/* Without enforce_after, nullok is a policy (2-step verification is opt-in, as the
	 * shipped examples have it); before the date it is the rollout, and the module reminds
	 * users at login. Only after the date does it change who gets in. */
	if (l->cfg.enforce_after == NULL || login_nullok_applies(&l->cfg, d->now, &grace))
		return;
	list_unenrolled(&l->cfg, who, sizeof(who), &count);
	dr_add(d, count > 0 ? DR_ERROR : DR_WARNING, l->file, l->lineno,
	       "enrol the remaining users (they run `pam-recover enable`, or `pam-recover admin "
	       "enrol USER`), then remove nullok and enforce_after; or move the date",
	       "%s is still on but enforce_after = %s has passed: users without 2-step "
	       "verification are refused here%s",
	       where, l->cfg.enforce_after, who);
}

/* forward_pass hands the password part on: a password module with use_first_pass must
 * follow it, and none may come before it. Returns 1 if no password module follows. */
static int check_forward_pass(struct doctor *d, const struct dr_stack *st, size_t i)
{
	const struct dr_line *l = &st->v[i];

	for (size_t k = 0; k < i; k++) {
		const struct dr_line *p = &st->v[k];
		if (is_password(p)) {
			dr_add(d, DR_ERROR, l->file, l->lineno,
			       "put the forward_pass line before the password module, and give that "
			       "module use_first_pass",
			       "forward_pass comes after %s (%s:%d), which checks the password first: "
			       "the password with the code appended is refused, so users of "
			       "one-field services (IMAP, POP3, SMTP) cannot log in",
			       dr_line_module_name(p), p->file, p->lineno);
			return 0;
		}
	}
	for (size_t k = i + 1; k < st->n; k++) {
		const struct dr_line *p = &st->v[k];
		if (!is_password(p))
			continue;
		if (dr_line_has_arg(p, "use_first_pass"))
			return 0;
		if (dr_line_has_arg(p, "try_first_pass"))
			dr_add(d, DR_WARNING, p->file, p->lineno,
			       "use use_first_pass instead of try_first_pass",
			       "%s follows a forward_pass line (%s:%d) with try_first_pass: after a "
			       "wrong password it asks again, and Dovecot answers that prompt with "
			       "the password and code",
			       dr_line_module_name(p), l->file, l->lineno);
		else
			dr_add(d, DR_ERROR, p->file, p->lineno,
			       "add use_first_pass to this line (auth required pam_unix.so "
			       "use_first_pass)",
			       "%s follows a forward_pass line (%s:%d) without use_first_pass: it "
			       "asks for the password again instead of taking the password part, "
			       "and Dovecot answers that prompt with the password and code, which "
			       "fails (ssh users would be asked twice)",
			       dr_line_module_name(p), l->file, l->lineno);
		return 0;
	}
	dr_add(d, DR_ERROR, l->file, l->lineno,
	       "add `auth required pam_unix.so use_first_pass` (or your password module with "
	       "use_first_pass) after this line",
	       "forward_pass splits the code off and hands the password on, but no password "
	       "module after this line checks it: a right code with any password logs in");
	return 1;
}

static int forwarded_after(const struct dr_stack *st, size_t i)
{
	for (size_t k = i + 1; k < st->n; k++)
		if (is_forwarded(&st->v[k]))
			return 1;
	return 0;
}

/* The code line of a two-prompt service (sshd, login): after the password module. */
static void check_code_after_password(struct doctor *d, const struct dr_stack *st, size_t i)
{
	const struct dr_line *l = &st->v[i];

	for (size_t k = 0; k < i; k++)
		if (is_password(&st->v[k]))
			return;
	for (size_t k = i + 1; k < st->n; k++) {
		const struct dr_line *p = &st->v[k];
		if (!is_password(p))
			continue;
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       "move this line after the password module (on Debian: after `@include "
		       "common-auth`)",
		       "pam_recover.so asks for the code before %s (%s:%d) checks the password: "
		       "anyone who knows a user name can type wrong codes, each counts toward the "
		       "lock, and the user is locked out without the password ever being known",
		       dr_line_module_name(p), p->file, p->lineno);
		return;
	}
}

/* split_pass: a password module with use_first_pass and `requisite` (a wrong password must
 * end the stack before the code is checked and counted), then forwarded_code. 1 if no
 * code is checked after it. */
static int check_split_pass(struct doctor *d, const struct dr_stack *st, size_t i)
{
	const struct dr_line *l = &st->v[i];
	size_t fwd = st->n;
	int passwords = 0;

	for (size_t k = 0; k < i; k++) {
		const struct dr_line *p = &st->v[k];
		if (is_password(p)) {
			dr_add(d, DR_ERROR, l->file, l->lineno, FIX_ONE_FIELD,
			       "split_pass comes after %s (%s:%d), which checks the whole field (the "
			       "password with the code appended) and refuses it: users of one-field "
			       "services cannot log in",
			       dr_line_module_name(p), p->file, p->lineno);
			return 0;
		}
	}
	for (size_t k = i + 1; k < st->n && fwd == st->n; k++)
		if (is_forwarded(&st->v[k]))
			fwd = k;
	if (fwd == st->n) {
		dr_add(d, DR_ERROR, l->file, l->lineno, FIX_ONE_FIELD,
		       "split_pass splits the code off and hands the password on, but no later "
		       "`forwarded_code` line checks the code: the password alone logs in");
		return 1;
	}
	for (size_t k = i + 1; k < fwd; k++) {
		const struct dr_line *p = &st->v[k];
		if (!is_password(p))
			continue;
		passwords++;
		if (!dr_line_has_arg(p, "use_first_pass"))
			dr_add(d, DR_ERROR, p->file, p->lineno,
			       "add use_first_pass to this line (auth requisite pam_unix.so "
			       "use_first_pass)",
			       "%s follows a split_pass line (%s:%d) without use_first_pass: it "
			       "asks for the password again instead of taking the password part, "
			       "and Dovecot answers that prompt with the password and code, which "
			       "fails",
			       dr_line_module_name(p), l->file, l->lineno);
		if (p->actions[PAM_AUTH_ERR] != DR_ACT_DIE)
			dr_add(d, DR_ERROR, p->file, p->lineno,
			       "make this line `requisite`: auth requisite pam_unix.so use_first_pass",
			       "%s is `%s` between split_pass (%s:%d) and forwarded_code (%s:%d): "
			       "after a wrong password the stack goes on to forwarded_code, which "
			       "checks the code and counts a failure, so anyone who knows a user name "
			       "can lock the user out",
			       dr_line_module_name(p), p->control, l->file, l->lineno,
			       st->v[fwd].file, st->v[fwd].lineno);
	}
	if (passwords == 0) {
		dr_add(d, DR_ERROR, st->v[fwd].file, st->v[fwd].lineno, FIX_ONE_FIELD,
		       "no password module between split_pass (%s:%d) and this forwarded_code "
		       "line: the password part is never checked, and a right code alone logs in",
		       l->file, l->lineno);
		return 1;
	}
	return 0;
}

static void check_forwarded_code(struct doctor *d, const struct dr_stack *st, size_t i)
{
	const struct dr_line *l = &st->v[i];

	for (size_t k = 0; k < i; k++)
		if (is_split(&st->v[k]))
			return;
	dr_add(d, DR_ERROR, l->file, l->lineno, FIX_ONE_FIELD,
	       "forwarded_code checks the code that a split_pass line kept, but no split_pass "
	       "line comes before it: there is no code to check, so every enrolled login fails");
}

static void check_app_line(struct doctor *d, const struct dr_stack *st, size_t i)
{
	const struct dr_line *l = &st->v[i];

	for (size_t k = i + 1; k < st->n; k++) {
		const struct dr_line *p = &st->v[k];
		if (!is_recover(p) || is_app(p))
			continue;
		if (!p->split_pass && !is_forward_pass(p) && !dr_dovecot_service(d, st->service))
			dr_add(d, DR_WARNING, p->file, p->lineno, FIX_ONE_FIELD,
			       "the app_passwords line (%s:%d) is not followed by a split_pass "
			       "line: mail clients (IMAP, POP3, SMTP) have one field, so logging "
			       "in with the password and a code cannot work there",
			       l->file, l->lineno);
		return;
	}
	/* no code line at all: the bypass is reported by check_no_code */
}

static void check_line(struct doctor *d, const struct dr_stack *st, size_t i, int *fp_orphan)
{
	const struct dr_line *l = &st->v[i];

	if (!l->cfg_ok && !(d->base_ok == 0 && strcmp(l->cfg_err, d->base_err) == 0))
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       "correct the module arguments or the configuration (`pam-recover "
		       "--check-config` checks the file)",
		       "pam_recover.so cannot load its configuration here, so it refuses every "
		       "login (PAM_AUTHINFO_UNAVAIL): %s",
		       l->cfg_err);
	if (l->must_fail == DR_MF_MISSING)
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       "install pam_recover.so (make install) or correct the path on this line",
		       "pam_recover.so is not installed at %s: libpam fails this line%s", l->module,
		       l->actions[PAM_MODULE_UNKNOWN] == DR_ACT_BAD ||
				       l->actions[PAM_MODULE_UNKNOWN] == DR_ACT_DIE
			       ? ", so nobody can log in to this service"
			       : "");
	else if (l->silent)
		dr_add(d, DR_WARNING, l->file, l->lineno,
		       "remove the leading '-' (write `auth`, not `-auth`)",
		       "the leading '-' makes libpam skip this line silently whenever pam_recover.so "
		       "cannot be loaded (a package removed, a path changed): logins would then "
		       "need no code");
	if (is_app(l)) {
		check_app_line(d, st, i);
		return;
	}
	/* the forwarded_code line after a split_pass line decides who is refused */
	if (!l->split_pass || !forwarded_after(st, i))
		check_nullok(d, l);
	if (is_forward_pass(l))
		dr_add(d, DR_ERROR, l->file, l->lineno, FIX_ONE_FIELD,
		       "forward_pass checks the code before the password module has checked the "
		       "password: anyone who knows a user name can send wrong codes, each counts "
		       "toward the lock, and the user is locked out");
	if (l->cfg_ok && l->cfg.forward_pass && check_forward_pass(d, st, i))
		*fp_orphan = 1;
	if (l->split_pass && check_split_pass(d, st, i))
		*fp_orphan = 1;
	if (l->forwarded_code)
		check_forwarded_code(d, st, i);
	if (!l->split_pass && !l->forwarded_code && !is_forward_pass(l)) {
		if (dr_dovecot_service(d, st->service))
			dr_add(d, DR_ERROR, l->file, l->lineno, FIX_ONE_FIELD,
			       "%s has one password field (Dovecot gives it to every hidden prompt): "
			       "this line asks for the code in a prompt of its own, which receives "
			       "the password, so every enrolled login fails and counts toward the "
			       "lock",
			       st->service);
		else
			check_code_after_password(d, st, i);
	}
}

/* ---- running the stack ---- */

/* A password without a code: which line lets it through. */
static void explain_no_code(struct doctor *d, const struct dr_stack *st, const struct dr_sim *s)
{
	const struct dr_trace *t = &s->pass;
	int sev = s->successes == s->runs ? DR_ERROR : DR_WARNING, found = 0, k;
	char cond[700];

	when(st, s, t, cond, sizeof(cond));
	for (size_t i = 0; i < st->n; i++) {
		const struct dr_line *l = &st->v[i];
		int a = t->act[i];
		if (!is_code(l) || !t->ran[i] || t->ret[i] == PAM_SUCCESS || a == DR_ACT_BAD ||
		    a == DR_ACT_DIE)
			continue;
		found = 1;
		if (l->keyword)
			dr_add(d, sev, l->file, l->lineno, FIX_REQUIRED,
			       "pam_recover.so is `%s` here: a wrong or missing code is ignored and "
			       "the password alone logs in%s",
			       l->control, cond);
		else if (strstr(l->control, "success=done") != NULL &&
			 strstr(l->control, "default=ignore") != NULL)
			dr_add(d, sev, l->file, l->lineno,
			       "make this line `requisite`; only the line with app_passwords takes "
			       "[success=done default=ignore]",
			       "%s belongs on the app_passwords line only: here a wrong code is "
			       "ignored and the password alone logs in%s",
			       l->control, cond);
		else
			dr_add(d, sev, l->file, l->lineno,
			       "use `requisite`, or a control whose default is bad or die",
			       "the control %s lets a wrong code through: the password alone logs "
			       "in%s",
			       l->control, cond);
	}
	if (found)
		return;
	k = first_code(st);
	if (k < 0) {
		for (size_t i = 0; i < st->n; i++)
			if (is_app(&st->v[i])) {
				dr_add(d, sev, st->v[i].file, st->v[i].lineno,
				       "add `auth requisite pam_recover.so forward_pass` after this "
				       "line, and `auth required pam_unix.so use_first_pass` after that",
				       "no pam_recover.so line after this app_passwords line asks for a "
				       "code: the password alone logs in%s",
				       cond);
				return;
			}
		return;
	}
	if (t->decider >= 0 && t->decider < k) {
		const struct dr_line *l = &st->v[t->decider];
		dr_add(d, sev, l->file, l->lineno,
		       "put pam_recover.so before this line, or make this line `required`",
		       "%s (%s) ends the stack here before pam_recover.so (%s:%d) asks for a code: "
		       "the password alone logs in%s",
		       dr_line_module_name(l), l->control, st->v[k].file, st->v[k].lineno, cond);
		return;
	}
	for (int j = k - 1; j >= 0; j--) {
		const struct dr_line *l = &st->v[j];
		if (t->ran[j] && t->act[j] > 0) {
			dr_add(d, sev, l->file, l->lineno,
			       "correct the jump: pam_recover.so must not be jumped over",
			       "the jump in %s skips pam_recover.so (%s:%d): the password alone "
			       "logs in%s",
			       l->control, st->v[k].file, st->v[k].lineno, cond);
			return;
		}
	}
	dr_add(d, sev, st->v[k].file, st->v[k].lineno,
	       "make every pam_recover.so line `required` or `requisite`",
	       "a password without a valid code logs in on this service%s", cond);
}

/* A code without the password. */
static void explain_no_password(struct doctor *d, const struct dr_stack *st, const struct dr_sim *s)
{
	const struct dr_trace *t = &s->pass;
	int sev = s->successes == s->runs ? DR_ERROR : DR_WARNING, k;
	char cond[700];

	when(st, s, t, cond, sizeof(cond));
	for (size_t i = 0; i < st->n; i++) {
		const struct dr_line *l = &st->v[i];
		if (is_code(l) && t->ran[i] && t->ret[i] == PAM_SUCCESS &&
		    ((int)i == t->decider || t->act[i] > 0)) {
			dr_add(d, sev, l->file, l->lineno,
			       "use `required` and put the line after the password module (on "
			       "Debian: after @include common-auth)",
			       "a right code alone logs in: pam_recover.so (%s) ends the stack on "
			       "success before the password is checked%s",
			       l->control, cond);
			return;
		}
	}
	k = first_code(st);
	if (k < 0)
		return;
	for (size_t i = 0; i < st->n; i++)
		if (is_password(&st->v[i]) && t->ran[i])
			goto generic;
	dr_add(d, sev, st->v[k].file, st->v[k].lineno,
	       "check the password too: @include common-auth before pam_recover.so, or "
	       "pam_unix.so use_first_pass after a forward_pass line",
	       "no module on this service checks the password: a right code alone logs in%s", cond);
	return;
generic:
	dr_add(d, sev, st->v[k].file, st->v[k].lineno,
	       "make the password module and pam_recover.so both `required`",
	       "a right code with a wrong password logs in on this service%s", cond);
}

/* Nobody gets in, not even with the right password and code. */
static void explain_lockout(struct doctor *d, const struct dr_stack *st, const struct dr_sim *s)
{
	const struct dr_trace *t = &s->fail;
	int c = t->first_bad >= 0 ? t->first_bad : t->decider;
	const struct dr_line *l;

	if (c < 0) {
		dr_add(d, DR_ERROR, st->path, 0,
		       "make sure a module grants access (the password module, `required`)",
		       "no module grants access on this service: libpam refuses every login");
		return;
	}
	l = &st->v[c];
	if (is_recover(l) && (!l->cfg_ok || l->must_fail == DR_MF_MISSING))
		return; /* reported with the line */
	if (l->must_fail)
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       l->must_fail == DR_MF_MISSING ? "install the module, correct its path, or "
						       "remove the line"
						     : "correct this line",
		       "%s: libpam fails this line, so even the right password and code are "
		       "refused on this service",
		       l->why);
	else if (l->kind == DR_K_DENY)
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       "check the controls and jumps of the lines before it",
		       "pam_deny.so is reached even with the right password and code: nobody can "
		       "log in on this service");
	else
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       "check this line's control and the lines around it",
		       "%s fails here and its control (%s) fails the whole login: even the right "
		       "password and code are refused on this service",
		       dr_line_module_name(l), l->control);
}

static void check_app_login(struct doctor *d, const struct dr_stack *st)
{
	struct dr_sim s;

	for (size_t i = 0; i < st->n; i++) {
		const struct dr_line *l = &st->v[i];
		if (!is_app(l) || !l->cfg_ok)
			continue;
		dr_sim_run(st, DR_SC_APP, d->now, &s);
		if (s.successes == 0)
			dr_add(d, DR_ERROR, l->file, l->lineno,
			       "make the app_passwords line the first auth line: auth "
			       "[success=done default=ignore] pam_recover.so app_passwords",
			       "an app password does not log in on this service: the app_passwords "
			       "line must come first and end the stack when it accepts one");
		dr_sim_free(&s);
		return;
	}
}

/* A missing module whose name is pam_recover.so misspelt (one letter added, dropped or
 * changed, or the path of another pam_recover.so). */
static int looks_like_recover(const char *name)
{
	static const char want[] = "pam_recover.so";
	const size_t n = strlen(name), w = sizeof(want) - 1;
	size_t a = 0, b = 0, diffs = 0;

	if (n + 1 < w || n > w + 1)
		return 0;
	while (a < n && b < w && diffs <= 1) {
		if (name[a] == want[b]) {
			a++;
			b++;
			continue;
		}
		diffs++;
		if (n > w)
			a++;
		else if (n < w)
			b++;
		else {
			a++;
			b++;
		}
	}
	diffs += (n - a) + (w - b);
	return diffs <= 1;
}

/* An expected service without pam_recover.so: logins need no code, unless libpam refuses
 * them all (a misspelt module name is a missing module). */
static void check_without_module(struct doctor *d, struct dr_stack *st)
{
	struct dr_sim s;
	int one_field = dr_dovecot_service(d, st->service), typo = 0;

	for (size_t i = 0; i < st->n; i++) {
		const struct dr_line *l = &st->v[i];
		if (l->head || l->must_fail != DR_MF_MISSING ||
		    !looks_like_recover(dr_line_module_name(l)))
			continue;
		typo = 1;
		dr_add(d, DR_ERROR, l->file, l->lineno,
		       one_field ? "write pam_recover.so; " FIX_ONE_FIELD
				 : "write pam_recover.so (auth required pam_recover.so)",
		       "%s is not installed (pam_recover.so misspelt?): libpam fails this line%s",
		       l->module,
		       l->actions[PAM_MODULE_UNKNOWN] == DR_ACT_BAD ||
				       l->actions[PAM_MODULE_UNKNOWN] == DR_ACT_DIE
			       ? ", so every login to this service is refused, even with the right "
				 "password"
			       : ", and no code is asked for");
	}
	dr_sim_run(st, DR_SC_GOOD, d->now, &s);
	if (s.successes == 0) {
		if (!typo)
			explain_lockout(d, st, &s);
	} else if (one_field)
		dr_add(d, DR_ERROR, st->path, 0, FIX_ONE_FIELD,
		       "pam_recover.so is not in this stack: logins to %s need no code",
		       st->service);
	else
		dr_add(d, DR_ERROR, st->path, 0,
		       "add `auth required pam_recover.so` after `@include common-auth` (see "
		       "the examples in " RC_EXAMPLES_DIR "/pam.d)",
		       "pam_recover.so is not in this stack: logins to %s need no code",
		       st->service);
	dr_sim_free(&s);
}

void dr_check_stack(struct doctor *d, struct dr_stack *st, int expected)
{
	struct dr_sim s;
	int fp_orphan = 0;

	if (!dr_stack_uses_module(st)) {
		if (expected)
			check_without_module(d, st);
		return;
	}
	for (size_t i = 0; i < st->n; i++)
		if (is_recover(&st->v[i]))
			check_line(d, st, i, &fp_orphan);

	dr_sim_run(st, DR_SC_NO_CODE, d->now, &s);
	if (s.successes > 0)
		explain_no_code(d, st, &s);
	dr_sim_free(&s);

	dr_sim_run(st, DR_SC_NO_PASSWORD, d->now, &s);
	if (s.successes > 0 && !fp_orphan)
		explain_no_password(d, st, &s);
	dr_sim_free(&s);

	dr_sim_run(st, DR_SC_GOOD, d->now, &s);
	if (s.successes == 0)
		explain_lockout(d, st, &s);
	dr_sim_free(&s);

	check_app_login(d, st);

	if (d->dovecot_cache_on && dr_dovecot_service(d, st->service))
		dr_add(d, DR_ERROR, d->dovecot_cache_file, d->dovecot_cache_line,
		       "set auth_cache_size = 0 in Dovecot's configuration",
		       "Dovecot's authentication cache is on (auth_cache_size = %s) while its PAM "
		       "services use pam_recover.so: a cached login is accepted again without a "
		       "new code (the same password and code replayed) until auth_cache_ttl ends",
		       d->dovecot_cache_value);
}

/* ---- root ---- */

/* Root, with the right password but no 2-step verification: 1 refused, 0 let in. */
static int refuses_root(struct doctor *d, struct dr_stack *st, enum dr_scenario sc)
{
	struct dr_sim s;
	int refused;

	if (st == NULL || !st->exists)
		return 1; /* no stack: libpam refuses (and for `other` there is nothing at all) */
	dr_sim_run(st, sc, d->now, &s);
	refused = s.successes == 0;
	dr_sim_free(&s);
	return refused;
}

/* Refused because of pam_recover.so (and not for another reason). */
static int module_refuses_root(struct doctor *d, struct dr_stack *st, enum dr_scenario sc)
{
	return st != NULL && st->exists && dr_stack_uses_module(st) && refuses_root(d, st, sc) &&
	       !refuses_root(d, st, DR_SC_GOOD);
}

static const struct dr_line *code_line(const struct dr_stack *st)
{
	int k = st != NULL ? first_code(st) : -1;
	return k >= 0 ? &st->v[k] : NULL;
}

void dr_check_root(struct doctor *d, struct dr_stack *sshd, struct dr_stack *console,
		   struct dr_stack *su)
{
	const struct dr_line *ls = code_line(sshd), *lc = code_line(console), *lu = code_line(su);
	const struct dr_line *any = ls != NULL ? ls : lc != NULL ? lc : lu;
	int ssh_now, con_now, con_ok, su_now;

	if (any == NULL || !any->cfg_ok || dr_enrolled(&any->cfg, "root") != 0)
		return; /* enrolled, or the store cannot tell (reported with the store) */
	ssh_now = d->sshd_root_pam && module_refuses_root(d, sshd, DR_SC_ROOT);
	con_now = module_refuses_root(d, console, DR_SC_ROOT);
	con_ok = !refuses_root(d, console, DR_SC_ROOT);
	su_now = module_refuses_root(d, su, DR_SC_ROOT);
	if (con_now)
		dr_add(d, DR_ERROR, lc->file, lc->lineno,
		       "enrol root first (`pam-recover admin enrol root`, keep the backup codes in "
		       "a safe place), or add nullok to this line until root is enrolled",
		       "root has not enabled 2-step verification and the console login refuses it: "
		       "when the network or SSH fails there is no way in as root");
	if (ssh_now)
		dr_add(d, con_ok ? DR_WARNING : DR_ERROR, ls->file, ls->lineno,
		       "enrol root (`pam-recover admin enrol root`), or set PermitRootLogin no in "
		       "sshd_config and log in as yourself",
		       "root has not enabled 2-step verification: root logins over SSH "
		       "(PermitRootLogin yes) are refused%s",
		       con_now  ? ", and so is the console"
		       : con_ok ? " (the console still lets root in)"
				: ", and the console login does not let root in either");
	if (su_now)
		dr_add(d, DR_WARNING, lu->file, lu->lineno,
		       "enrol root (`pam-recover admin enrol root`), or become root with sudo",
		       "root has not enabled 2-step verification: `su` to root is refused");
	if (!con_now && module_refuses_root(d, console, DR_SC_ROOT_LATER))
		dr_add(d, DR_WARNING, lc->file, lc->lineno,
		       "enrol root before the enforcement date (`pam-recover admin enrol root`)",
		       "root has not enabled 2-step verification: after enforce_after = %s the "
		       "console login will refuse root",
		       lc->cfg.enforce_after != NULL ? lc->cfg.enforce_after : "(date)");
}

/* ---- the helper's own service ---- */

void dr_check_helper_service(struct doctor *d, struct dr_stack *svc)
{
	char path[4200];
	struct dr_sim s;

	if (svc == NULL || !svc->exists) {
		if (rc_snprintf(path, sizeof(path), "%s/pam-recover", d->pamd) < 0)
			return;
		dr_add(d, DR_ERROR, path, 0,
		       "install it: cp " RC_EXAMPLES_DIR "/pam.d/pam-recover "
		       "/etc/pam.d/ (`@include common-auth`, `common-account`, `common-password`)",
		       "there is no %s: the helper confirms users' passwords through it, and libpam "
		       "runs the `other` stack instead, so `pam-recover enable`, `disable`, "
		       "`backup-codes` and `contact set` may refuse every user",
		       path);
		return;
	}
	dr_sim_run(svc, DR_SC_GOOD, d->now, &s);
	if (s.successes == 0)
		dr_add(d, DR_ERROR, svc->path, 0,
		       "let the password module decide: `@include common-auth` (and no pam_deny.so "
		       "before it)",
		       "%s refuses even the right password: the helper confirms users' passwords "
		       "through it, so nobody can enable 2-step verification or change their "
		       "recovery contacts",
		       svc->path);
	dr_sim_free(&s);
}
