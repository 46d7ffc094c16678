/*
 * `pam-recover admin set-contact USER KIND VALUE` and `admin remove-contact USER KIND`
 * (root only): the administrator sets or removes a recovery contact, e.g. the account
 * owner's e-mail address that seed 003 has support change on request. A contact set by root
 * counts as verified; codes that were waiting for the old value stop working.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "codes.h"
#include "contact_int.h"
#include "out.h"

static const char set_usage[] =
	"Usage: pam-recover admin set-contact USER email|phone|telegram VALUE [--json]\n"
	"\n"
	"Set USER's recovery e-mail address, phone number (international form, +...) or\n"
	"Telegram chat id, as verified (no code is sent). Refuses an e-mail address on\n"
	"local_domains. Verification codes waiting for the old value stop working.\n";

static const char remove_usage[] =
	"Usage: pam-recover admin remove-contact USER email|phone|telegram|question [--json]\n"
	"\n"
	"Remove one of USER's recovery contacts, or the security question.\n";

/* Parse, check root and the user, load config, key and store. */
static int admin_open(struct hctx *h, struct uverb *u, const char *usage, int argc, char **argv,
		      char **pos, int want, int *done)
{
	int npos = 0, r;

	r = hx_parse_opts(h, u->name, argc, argv, NULL, 0, pos, want, &npos);
	if (r == HX_PARSE_HELP) {
		out_text(usage);
		*done = HX_OK;
		return -1;
	}
	if (r != 0) {
		*done = r;
		return -1;
	}
	if (h->ruid != 0) {
		*done = out_fail(HX_NOPERM, "%s: only root may run admin commands", u->name);
		return -1;
	}
	if (npos != want) {
		fputs(usage, stderr);
		*done = out_fail(HX_USAGE, "%s: expected %d arguments (see --help)", u->name, want);
		return -1;
	}
	if ((r = hx_load_config(h, &u->cfg)) != 0) {
		*done = r;
		return -1;
	}
	u->have_cfg = 1;
	if (hx_user_canonical(&u->cfg, pos[0]) != 0 ||
	    (r = hx_check_target_user(u->name, pos[0])) != 0 ||
	    rc_snprintf(u->user, sizeof(u->user), "%s", pos[0]) < 0) {
		*done = r != 0 ? r : HX_DATAERR;
		return -1;
	}
	if (sodium_init() < 0) {
		*done = out_fail(HX_SOFTWARE, "%s: cannot initialise libsodium", u->name);
		return -1;
	}
	if ((r = hx_open(h, &u->cfg, STORE_DURABLE, &u->key, &u->store)) != 0) {
		*done = r;
		return -1;
	}
	return 0;
}

static void say(const struct uverb *u, int kind, const char *masked, int changed, int replaced)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "kind",
		       kind == METHOD_QUESTION ? "question" : hx_contact_kind_name(kind));
		if (masked != NULL) {
			oj_str(o, "value", masked);
			oj_bool(o, "verified", 1);
			oj_bool(o, "replaced", replaced);
		} else
			oj_bool(o, "changed", changed);
		out_json(o);
	} else if (masked != NULL)
		out_info("The %s of %s is now %s (verified)%s.", method_label(kind), u->user,
			 masked, replaced ? ", replacing the old one" : "");
	else if (changed)
		out_info("The %s of %s is removed.", method_label(kind), u->user);
	else
		out_info("%s had no %s; nothing changed.", u->user, method_label(kind));
}

int admin_set_contact(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	char *pos[3];
	char value[CONTACT_VALUE_MAX + 1], old[CONTACT_VALUE_MAX + 1], masked[300], detail[320];
	int r = HX_USAGE, kind, old_verified = 0, orr, ok;

	memset(&u, 0, sizeof(u));
	value[0] = old[0] = '\0';
	u.name = "admin set-contact";
	if (admin_open(h, &u, set_usage, argc, argv, pos, 3, &r) != 0)
		goto out;
	kind = contact_kind_parse(pos[1]);
	if (kind < 0 || kind == METHOD_QUESTION) {
		r = out_fail(HX_USAGE,
			     "%s: KIND is email, phone or telegram (an answer to a security "
			     "question is the user's own: `pam-recover contact set question`)",
			     u.name);
		goto out;
	}
	if ((r = ct_value(&u.cfg, u.name, kind, pos[2], value, sizeof(value))) != HX_OK)
		goto out;
	orr = contact_read(u.store, &u.key, u.user, kind, old, sizeof(old), &old_verified);
	if (orr == HX_IOERR) {
		r = uv_store_fail(&u);
		goto out;
	}
	ct_mask(kind, value, masked, sizeof(masked));
	if (rc_snprintf(detail, sizeof(detail), "%s %s", hx_contact_kind_name(kind), masked) < 0)
		detail[0] = '\0';
	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	ok = contact_write(u.store, &u.key, u.user, kind, value, 1) == HX_OK &&
	     code_void_verify(u.store, u.user, ct_channel(kind)) == HX_OK &&
	     uv_audit(h, &u, "admin-set-contact", detail) == 0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	uv_log(h, &u, "admin-set-contact", detail);
	say(&u, kind, masked, 1, orr != HX_NOUSER);
	if ((u.cfg.reset_method_mask & method_bit(kind)) == 0)
		out_warn("note: resets by %s are turned off on this host (reset_methods)",
			 method_label(kind));
	r = HX_OK;
out:
	RC_WIPE_ARRAY(value);
	RC_WIPE_ARRAY(old);
	uv_close(&u);
	return r;
}

int admin_remove_contact(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	char *pos[2];
	int r = HX_USAGE, kind, dr, ok;

	memset(&u, 0, sizeof(u));
	u.name = "admin remove-contact";
	if (admin_open(h, &u, remove_usage, argc, argv, pos, 2, &r) != 0)
		goto out;
	kind = contact_kind_parse(pos[1]);
	if (kind < 0) {
		r = out_fail(HX_USAGE, "%s: KIND is email, phone, telegram or question", u.name);
		goto out;
	}
	if (hx_txn_begin(u.store) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	dr = kind == METHOD_QUESTION ? store_question_delete(u.store, u.user)
				     : store_contact_delete(u.store, u.user, kind);
	ok = dr == STORE_OK || dr == STORE_NOTFOUND;
	if (ok && kind != METHOD_QUESTION)
		ok = code_void_verify(u.store, u.user, ct_channel(kind)) == HX_OK;
	if (ok && dr == STORE_OK)
		ok = uv_audit(h, &u, "admin-remove-contact",
			      kind == METHOD_QUESTION ? "question" : hx_contact_kind_name(kind)) ==
		     0;
	if (hx_txn_end(u.store, ok) != 0) {
		r = uv_store_fail(&u);
		goto out;
	}
	if (dr == STORE_OK)
		uv_log(h, &u, "admin-remove-contact",
		       kind == METHOD_QUESTION ? "question" : hx_contact_kind_name(kind));
	say(&u, kind, NULL, dr == STORE_OK, 0);
	r = HX_OK;
out:
	uv_close(&u);
	return r;
}
