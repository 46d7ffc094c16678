/*
 * `pam-recover device list | add NAME | remove NAME`: the authenticator devices of one
 * account (a phone, a tablet, a password manager), each with its own secret. Adding and
 * removing take the password and a current code from a device already set up, as every
 * change of second-factor material does (factor.h); removing the last device turns 2-step
 * verification off exactly as `disable` does.
 */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include "factor.h"
#include "identity.h"
#include "out.h"

static const char device_usage[] =
	"Usage: pam-recover device list [--user USER]\n"
	"       pam-recover device add NAME [--user USER]\n"
	"       pam-recover device remove NAME [--lost-app] [--user USER]\n"
	"\n"
	"The authenticator devices of your account: each (a phone, a tablet, a password\n"
	"manager) has its own secret, and a current code from any of them is accepted at login.\n"
	"Remove a lost device without setting up the others again. Adding and removing ask\n"
	"for your password and a current code from a device already set up.\n"
	"\n"
	"  list         name, algorithm, digits, period, added, last used\n"
	"  add NAME     a new device called NAME (letters, digits, . _ -): a barcode and key\n"
	"               to scan, verified by its first code, as `pam-recover enable` does\n"
	"  remove NAME  its codes stop working; removing the last device turns 2-step\n"
	"               verification off, as `pam-recover disable` does\n"
	"  --lost-app   (remove, last device) give a backup code instead of a code\n"
	"  --user USER  act for USER (root only; no password is asked)\n"
	"  --json       JSON output; input on stdin: {\"password\":\"...\"} (non-root), then\n"
	"               for add {\"current_code\":\"...\"} and, after the object that shows the\n"
	"               new secret, {\"code\":\"...\"} (its first code); for remove\n"
	"               {\"code\":\"...\"} (as disable)\n"
	"\n"
	"Exit status: 0 ok, 1 wrong password or code, 64 usage, 65 bad name, no such device,\n"
	"a name already taken or max_devices reached, 75 too many wrong tries, 77 permission\n"
	"denied; see pam-recover(8).\n";

static int device_list(struct uverb *u)
{
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		if (device_json(u->store, u->user, o) != STORE_OK) {
			json_object_put(o);
			return uv_store_fail(u);
		}
		out_json(o);
		return HX_OK;
	}
	out_info("Account %s", u->user);
	return device_print(u->store, u->user) == STORE_OK ? HX_OK : uv_store_fail(u);
}

/* The last device: `disable`, with its proofs and its question about app passwords. */
static int remove_last(struct hctx *h, struct uverb *u, int lost_app)
{
	char *argv[5];
	int argc = 0;

	argv[argc++] = "disable";
	if (u->opt_user != NULL) {
		argv[argc++] = "--user";
		argv[argc++] = (char *)u->opt_user;
	}
	if (lost_app)
		argv[argc++] = "--lost-app";
	argv[argc] = NULL;
	if (!out_json_mode())
		out_info("That is the last device of %s: removing it turns 2-step verification "
			 "off.",
			 u->user);
	uv_close(u);
	return cmd_disable(h, argc, argv);
}

static int device_remove(struct hctx *h, struct uverb *u, const char *name, int lost_app)
{
	int r, n = 0, exists = 0, left = -1, dr;

	if (device_count(u->store, u->user, name, &n, &exists) != STORE_OK)
		return uv_store_fail(u);
	if (!exists)
		return out_fail(HX_DATAERR,
				"%s: %s has no device called %s (`pam-recover device "
				"list`)",
				u->name, u->user, name);
	if (n == 1)
		return remove_last(h, u, lost_app);
	if (lost_app)
		return out_fail(HX_USAGE,
				"%s: --lost-app goes with the last device only; give a "
				"code from another device",
				u->name);
	if ((r = identity_confirm(h, &u->cfg, u->store, u->user)) != HX_OK)
		return r;
	/* A current code from a device (any, this one too): the password alone never changes
	 * the second factor. */
	if ((r = factor_prove(h, u, "code", "Code from one of the devices: ", 0, "the device stays",
			      NULL)) != HX_OK)
		return r;
	if (hx_txn_begin(u->store) != 0)
		return uv_store_fail(u);
	dr = store_device_delete(u->store, u->user, name, &left);
	int ok = dr == STORE_OK && uv_audit(h, u, "device-remove", name) == 0;
	if (hx_txn_end(u->store, ok) != 0) {
		if (dr == STORE_NOTFOUND)
			return out_fail(HX_DATAERR, "%s: %s has no device called %s any more",
					u->name, u->user, name);
		return uv_store_fail(u);
	}
	uv_log(h, u, "device-remove", name);
	if (out_json_mode()) {
		struct json_object *o = oj_object();
		oj_bool(o, "ok", 1);
		oj_str(o, "user", u->user);
		oj_str(o, "removed", name);
		oj_int(o, "devices_left", left);
		oj_bool(o, "totp_enabled", left > 0);
		out_json(o);
	} else {
		out_info("Device %s removed from %s: its codes no longer work. %d device%s left.",
			 name, u->user, left, left == 1 ? "" : "s");
		out_info("Remove the entry from that device's app too.");
	}
	return HX_OK;
}

int cmd_device(struct hctx *h, int argc, char **argv)
{
	struct uverb u;
	char *pos[2] = {NULL, NULL};
	int r, done = HX_USAGE, npos = 0, want, lost_app = 0;
	const struct hx_opt opts[] = {{"lost-app", NULL, &lost_app}};

	memset(&u, 0, sizeof(u));
	u.name = "device";
	if (uv_parse(h, &u, device_usage, argc, argv, opts, 1, pos, 1, 2, &npos, &done) != 0)
		return done;
	if (strcmp(pos[0], "add") == 0) {
		u.name = "device add";
		want = 2;
	} else if (strcmp(pos[0], "remove") == 0) {
		u.name = "device remove";
		want = 2;
	} else if (strcmp(pos[0], "list") == 0) {
		u.name = "device list";
		want = 1;
	} else {
		char esc[64];
		rc_log_escape(pos[0], esc, sizeof(esc));
		return out_fail(HX_USAGE,
				"device: unknown command \"%s\": list, add or remove "
				"(see --help)",
				esc);
	}
	if (npos != want)
		return out_fail(HX_USAGE, "%s: %s (see --help)", u.name,
				want == 2 ? "needs a NAME" : "takes no NAME");
	if (lost_app && strcmp(pos[0], "remove") != 0)
		return out_fail(HX_USAGE, "%s: --lost-app goes with remove", u.name);
	if (want == 2 && !device_name_ok(pos[1]))
		return device_bad_name(u.name, pos[1]);
	if ((r = uv_open(h, &u)) != 0)
		goto out;
	if (strcmp(pos[0], "add") == 0)
		r = enable_add_device(h, &u, pos[1]);
	else if (strcmp(pos[0], "remove") == 0)
		r = device_remove(h, &u, pos[1], lost_app);
	else
		r = device_list(&u);
out:
	uv_close(&u);
	return r;
}
