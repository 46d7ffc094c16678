/*
 * `pam-recover status`: the account's own view: 2-step verification on or off, algorithm,
 * backup codes left, app passwords, recovery contacts (masked), lock state. Read-only, so no
 * password is asked.
 */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "contacts.h"
#include "helper.h"
#include "out.h"
#include "uverb.h"

#define STATUS_FEW_CODES 2

static const char status_usage[] =
	"Usage: pam-recover status [--user USER] [--json]\n"
	"\n"
	"Show your 2-step verification settings: on or off (and the algorithm), backup codes\n"
	"left, app passwords, recovery contacts (masked), and whether logins are locked after\n"
	"too many wrong codes. Nothing is changed and no password is asked.\n"
	"\n"
	"  --user USER  show USER (root only)\n"
	"  --json       one JSON object: user, totp_enabled, algorithm, digits, period,\n"
	"               enrolled, pending_enrolment, backup_codes_left, locked, locked_until,\n"
	"               failures, app_passwords, contacts, security_question\n"
	"\n"
	"Exit status: 0 ok, 66 no such user, 74 store error, 77 permission denied.\n";

struct status {
	int enrolled, pending, question, left, locked, napps;
	struct store_totp t;
	struct store_login_state st;
};

static int show_app(void *vctx, const struct store_app_password *a)
{
	struct json_object *arr = vctx;

	if (arr != NULL)
		oj_push(arr, hx_app_password_json(a));
	else
		hx_app_password_line(a);
	return 0;
}

static int count_app(void *vctx, const struct store_app_password *a)
{
	(void)a;
	(*(int *)vctx)++;
	return 0;
}

/* One contact, masked, into arr (json) or printed. 0, or -1 on a store error. */
static int show_contact(struct uverb *u, int kind, struct json_object *arr)
{
	char value[CONTACT_VALUE_MAX], masked[CONTACT_VALUE_MAX];
	const char *kname = hx_contact_kind_name(kind);
	int verified = 0, r = -1;
	int cr = contact_read(u->store, &u->key, u->user, kind, value, sizeof(value), &verified);

	masked[0] = '\0';
	if (cr == HX_NOUSER) {
		if (arr == NULL)
			out_info(HX_FIELD "none", hx_contact_field(kind));
		r = 0;
		goto out;
	}
	if (cr != HX_OK && cr != HX_SOFTWARE)
		goto out;
	if (cr == HX_OK)
		hx_mask_contact(kind, value, masked, sizeof(masked));
	if (arr != NULL) {
		struct json_object *co = oj_object();
		oj_str(co, "kind", kname);
		oj_str(co, "value", cr == HX_OK ? masked : NULL);
		oj_bool(co, "verified", verified);
		oj_push(arr, co);
	} else if (cr == HX_OK)
		out_info(HX_FIELD "%s (%s)", hx_contact_field(kind), masked,
			 verified ? "verified" : "not verified yet");
	else
		out_info(HX_FIELD "(unreadable: ask the administrator)", hx_contact_field(kind));
	r = 0;
out:
	RC_WIPE_ARRAY(value);
	return r;
}

static int gather(struct uverb *u, struct status *st)
{
	struct store_totp pend;
	struct store_question q;
	int64_t now = rc_now();

	int tr = store_totp_get(u->store, u->user, &st->t);
	int pr = store_pending_get(u->store, u->user, &pend);
	int sr = store_state_get(u->store, u->user, &st->st);
	int br = store_backup_count(u->store, u->user, &st->left);
	int qr = store_question_get(u->store, u->user, &q);
	int ar = store_app_list(u->store, u->user, count_app, &st->napps);
	rc_wipe(&pend, sizeof(pend));
	rc_wipe(&q, sizeof(q));
	if ((tr != STORE_OK && tr != STORE_NOTFOUND) || (pr != STORE_OK && pr != STORE_NOTFOUND) ||
	    sr != STORE_OK || (br != STORE_OK && br != STORE_NOTFOUND) ||
	    (qr != STORE_OK && qr != STORE_NOTFOUND) || ar < 0)
		return -1;
	st->enrolled = tr == STORE_OK;
	st->pending = pr == STORE_OK;
	st->question = qr == STORE_OK;
	if (br == STORE_NOTFOUND || !st->enrolled)
		st->left = 0;
	st->locked = st->st.locked_until > now;
	return 0;
}

static int print_json(struct uverb *u, const struct status *st)
{
	struct json_object *o = oj_object(), *apps = oj_array(), *contacts = oj_array();
	char when[40];

	oj_bool(o, "ok", 1);
	oj_str(o, "user", u->user);
	oj_bool(o, "totp_enabled", st->enrolled);
	oj_str(o, "algorithm", st->enrolled ? hx_algo_name(st->t.algorithm) : NULL);
	oj_int(o, "digits", st->enrolled ? st->t.digits : 0);
	oj_int(o, "period", st->enrolled ? st->t.period : 0);
	hx_time_iso(st->t.created, when, sizeof(when));
	oj_str(o, "enrolled", st->enrolled ? when : NULL);
	oj_bool(o, "pending_enrolment", st->pending);
	oj_int(o, "backup_codes_left", st->left);
	oj_bool(o, "locked", st->locked);
	hx_time_iso(st->st.locked_until, when, sizeof(when));
	oj_str(o, "locked_until", st->locked ? when : NULL);
	oj_int(o, "failures", st->st.failures);
	oj_put(o, "app_passwords", apps);
	oj_put(o, "contacts", contacts);
	oj_bool(o, "security_question", st->question);
	if (store_app_list(u->store, u->user, show_app, apps) < 0 ||
	    device_json(u->store, u->user, o) != STORE_OK)
		goto fail;
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++)
		if (show_contact(u, kind, contacts) != 0)
			goto fail;
	out_json(o);
	return HX_OK;
fail:
	json_object_put(o);
	return out_fail(HX_IOERR, "status: store error: %s", store_errmsg(u->store));
}

static int print_human(struct uverb *u, const struct status *st)
{
	char when[40];

	out_info("Account %s", u->user);
	if (st->enrolled) {
		hx_time_human(st->t.created, when, sizeof(when));
		out_info(HX_FIELD "on (%s, %d digits, every %d s) since %s",
			 "2-step verification:", hx_algo_name(st->t.algorithm), st->t.digits,
			 st->t.period, when);
		if (device_print(u->store, u->user) != STORE_OK)
			goto fail;
		out_info(HX_FIELD "%d%s", "backup codes left:", st->left,
			 st->left <= STATUS_FEW_CODES
				 ? " (make a new set: `pam-recover backup-codes`)"
				 : "");
	} else
		out_info(HX_FIELD "off (turn it on with `pam-recover enable`)",
			 "2-step verification:");
	if (st->pending)
		out_info(
			"  a new secret is waiting for its first code: repeat `pam-recover enable` "
			"to finish");
	if (st->locked) {
		hx_time_human(st->st.locked_until, when, sizeof(when));
		out_info(HX_FIELD "locked until %s after %d wrong codes (wait, or ask the "
				  "administrator)",
			 "logins:", when, st->st.failures);
	} else
		out_info(HX_FIELD "not locked", "logins:");
	out_info(HX_FIELD "%d", "app passwords:", st->napps);
	if (store_app_list(u->store, u->user, show_app, NULL) < 0)
		goto fail;
	for (int kind = METHOD_EMAIL; kind <= METHOD_TELEGRAM; kind++)
		if (show_contact(u, kind, NULL) != 0)
			goto fail;
	out_info(HX_FIELD "%s", hx_contact_field(METHOD_QUESTION),
		 st->question ? "set" : "not set");
	return HX_OK;
fail:
	return out_fail(HX_IOERR, "status: store error: %s", store_errmsg(u->store));
}

int cmd_status(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	struct status st;
	int r, done = HX_USAGE, npos = 0;

	memset(&u, 0, sizeof(u));
	memset(&st, 0, sizeof(st));
	u.name = "status";
	if (uv_parse(h, &u, status_usage, argc, argv, NULL, 0, NULL, 0, 0, &npos, &done) != 0)
		return done;
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if (gather(&u, &st) != 0) {
		r = out_fail(HX_IOERR, "status: store error: %s", store_errmsg(u.store));
		goto out;
	}
	r = out_json_mode() ? print_json(&u, &st) : print_human(&u, &st);
out:
	rc_wipe(&st, sizeof(st));
	uv_close(&u);
	return r;
}
