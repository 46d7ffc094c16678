/*
 * Run an auth stack the way libpam's _pam_dispatch_aux does (impression and status, ok,
 * done, bad, die, reset, jumps, substacks that count as one line for a jump and end on
 * their own done/die), with each module's answer taken from a scenario: who is logging in
 * and what they know. Modules the model cannot predict (DR_K_COND) are tried both ways.
 */
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "doctor.h"
#include "login.h"
#include "out.h"

_Static_assert(PAM_INCOMPLETE < DR_NRET, "PAM return values fit the action table");

#define MUST_FAIL_CODE PAM_PERM_DENIED
#define MAX_COND 10 /* 1024 runs; further conditional lines are taken as succeeding */
#define MAX_LEVEL 32

enum { IMP_UNDEF = 0, IMP_POS = 1, IMP_NEG = -1 };

static int recover_answer(const struct dr_line *l, enum dr_scenario sc, int64_t now)
{
	int grace = 0;

	if (!l->cfg_ok)
		return PAM_AUTHINFO_UNAVAIL; /* the module refuses to run with a broken config */
	if (l->cfg.app_passwords)
		return sc == DR_SC_APP ? PAM_SUCCESS : PAM_IGNORE;
	if (l->split_pass) /* splits the field; checks nothing (a user without 2FA: ignored) */
		return sc == DR_SC_ROOT || sc == DR_SC_ROOT_LATER ? PAM_IGNORE : PAM_SUCCESS;
	switch (sc) {
	case DR_SC_NO_PASSWORD:
	case DR_SC_GOOD:
		return PAM_SUCCESS;
	case DR_SC_ROOT:
		return login_nullok_applies(&l->cfg, now, &grace) ? PAM_IGNORE : PAM_AUTH_ERR;
	case DR_SC_ROOT_LATER:
		return l->cfg.nullok && l->cfg.enforce_after == NULL ? PAM_IGNORE : PAM_AUTH_ERR;
	case DR_SC_NO_CODE:
	case DR_SC_APP:
	default:
		return PAM_AUTH_ERR;
	}
}

static int answer(const struct dr_line *l, enum dr_scenario sc, int64_t now, int cond_ok)
{
	if (l->must_fail == DR_MF_BROKEN)
		return MUST_FAIL_CODE;
	if (l->must_fail == DR_MF_MISSING)
		return PAM_MODULE_UNKNOWN;
	switch (l->kind) {
	case DR_K_RECOVER:
		return recover_answer(l, sc, now);
	case DR_K_PASSWORD:
		return sc == DR_SC_NO_PASSWORD || sc == DR_SC_APP ? PAM_AUTH_ERR : PAM_SUCCESS;
	case DR_K_PERMIT:
	case DR_K_NEUTRAL:
		return PAM_SUCCESS;
	case DR_K_DENY:
	case DR_K_ROOTOK: /* the caller is not root: a remote login, or su from a user */
		return PAM_AUTH_ERR;
	case DR_K_COND:
	default:
		return cond_ok ? PAM_SUCCESS : PAM_AUTH_ERR;
	}
}

static void trace_alloc(struct dr_trace *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->ran = xcalloc(n, 1);
	t->ret = xcalloc(n, sizeof(int));
	t->act = xcalloc(n, sizeof(int));
}

static void trace_free(struct dr_trace *t)
{
	free(t->ran);
	free(t->ret);
	free(t->act);
	memset(t, 0, sizeof(*t));
}

static void trace_copy(struct dr_trace *dst, const struct dr_trace *src, size_t n)
{
	trace_alloc(dst, n);
	memcpy(dst->ran, src->ran, n);
	memcpy(dst->ret, src->ret, n * sizeof(int));
	memcpy(dst->act, src->act, n * sizeof(int));
	dst->success = src->success;
	dst->decider = src->decider;
	dst->first_bad = src->first_bad;
	dst->combo = src->combo;
}

/* One run; t must hold st->n entries (cleared here). */
static void run_once(const struct dr_stack *st, enum dr_scenario sc, int64_t now,
		     const struct dr_sim *s, unsigned long combo, struct dr_trace *t)
{
	int imp_at[MAX_LEVEL], status_at[MAX_LEVEL];
	int impression = IMP_UNDEF, status = MUST_FAIL_CODE, prev_level = 0;
	const size_t n = st->n;

	memset(t->ran, 0, n);
	t->decider = t->first_bad = -1;
	t->combo = combo;
	imp_at[0] = impression;
	status_at[0] = status;
	for (size_t i = 0; i < n; i++) {
		const struct dr_line *h = &st->v[i];
		const int level = h->level < MAX_LEVEL ? h->level : MAX_LEVEL - 1;
		int cond_ok = 1, ret, action;

		/* remember the state when entering a substack (for reset) */
		if (prev_level < level) {
			imp_at[level] = impression;
			status_at[level] = status;
		}
		prev_level = level;
		if (h->head)
			continue;
		for (size_t k = 0; k < s->ncond; k++)
			if (s->cond[k] == i)
				cond_ok = (combo >> k) & 1u;
		ret = answer(h, sc, now, cond_ok);
		action = h->actions[ret];
		t->ran[i] = 1;
		t->ret[i] = ret;
		t->act[i] = action;
		if (action == DR_ACT_RESET) {
			impression = imp_at[level];
			status = status_at[level];
		} else if (action == DR_ACT_OK || action == DR_ACT_DONE) {
			if ((impression == IMP_UNDEF ||
			     (impression == IMP_POS && status == PAM_SUCCESS)) &&
			    ret != PAM_IGNORE) {
				impression = IMP_POS;
				status = ret;
			}
			if (impression == IMP_POS && action == DR_ACT_DONE) {
				t->decider = (int)i;
				goto decided;
			}
		} else if (action == DR_ACT_BAD || action == DR_ACT_DIE || action == DR_ACT_UNDEF) {
			if (impression != IMP_NEG) {
				impression = IMP_NEG;
				status = ret == PAM_IGNORE ? MUST_FAIL_CODE : ret;
				if (t->first_bad < 0)
					t->first_bad = (int)i;
			}
			if (action == DR_ACT_DIE) {
				t->decider = (int)i;
				goto decided;
			}
		} else if (action > 0) {
			/* a jump over `action` lines of this level (a substack counts as one) */
			int left = action;
			while (i + 1 < n && st->v[i + 1].level >= h->level && left > 0) {
				do
					i++;
				while (i + 1 < n && st->v[i + 1].level > h->level);
				left--;
			}
			if (left > 0) { /* past the end: libpam fails the stack */
				impression = IMP_NEG;
				status = MUST_FAIL_CODE;
				if (t->first_bad < 0)
					t->first_bad = (int)(h - st->v);
			}
		}
		continue;
decided:
		while (i + 1 < n && st->v[i + 1].level >= h->level)
			i++;
	}
	t->success = status == PAM_SUCCESS && impression == IMP_POS;
}

void dr_sim_run(const struct dr_stack *st, enum dr_scenario sc, int64_t now, struct dr_sim *out)
{
	struct dr_trace t;
	unsigned long combos;

	memset(out, 0, sizeof(*out));
	out->cond = xcalloc(MAX_COND, sizeof(size_t));
	for (size_t i = 0; i < st->n && out->ncond < MAX_COND; i++)
		if (!st->v[i].head && !st->v[i].must_fail && st->v[i].kind == DR_K_COND)
			out->cond[out->ncond++] = i;
	combos = 1ul << out->ncond;
	trace_alloc(&t, st->n ? st->n : 1);
	/* Try "every conditional line succeeds" first: it is the run explanations quote. */
	for (unsigned long c = 0; c < combos; c++) {
		unsigned long combo = (combos - 1) ^ c;
		run_once(st, sc, now, out, combo, &t);
		out->runs++;
		if (t.success) {
			out->successes++;
			if (!out->have_pass) {
				trace_copy(&out->pass, &t, st->n ? st->n : 1);
				out->have_pass = 1;
			}
		} else if (!out->have_fail) {
			trace_copy(&out->fail, &t, st->n ? st->n : 1);
			out->have_fail = 1;
		}
	}
	trace_free(&t);
}

void dr_sim_free(struct dr_sim *s)
{
	if (s->have_pass)
		trace_free(&s->pass);
	if (s->have_fail)
		trace_free(&s->fail);
	free(s->cond);
	memset(s, 0, sizeof(*s));
}

void dr_sim_conditions(const struct dr_stack *st, const struct dr_sim *s, const struct dr_trace *t,
		       char *out, size_t n)
{
	size_t used = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	for (size_t k = 0; k < s->ncond; k++) {
		const struct dr_line *l = &st->v[s->cond[k]];
		int r;

		if (!t->ran[s->cond[k]])
			continue;
		r = snprintf(out + used, n - used, "%s%s (%s:%d) %s", used ? ", " : "",
			     dr_line_module_name(l), l->file, l->lineno,
			     (t->combo >> k) & 1u ? "succeeds" : "fails");
		if (r < 0 || (size_t)r >= n - used)
			break;
		used += (size_t)r;
	}
}
