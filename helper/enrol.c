/*
 * What the enrolment verbs share (`enable`, `device`, `status`, `admin enrol`, `admin show`),
 * below all of them: the device name rule, the count against max_devices, the listing of the
 * devices (text and JSON), and fresh backup codes. Contracts in device.h and helper.h.
 */
#include <stdio.h>
#include <string.h>

#include "chars.h"
#include "device.h"
#include "helper.h"
#include "out.h"
#include "secret.h"

/* ---- devices ---- */

int device_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > STORE_DEVICE_MAX || !rc_is_alnum((unsigned char)name[0]))
		return 0;
	for (; *name != '\0'; name++)
		if (!rc_is_alnum((unsigned char)*name) && *name != '.' && *name != '_' &&
		    *name != '-')
			return 0;
	return 1;
}

int device_bad_name(const char *verb, const char *name)
{
	char esc[STORE_DEVICE_MAX + 2];

	rc_log_escape(name, esc, sizeof(esc));
	return out_fail(HX_DATAERR,
			"%s: \"%s%s\" is not a usable device name: 1 to %d letters, digits, '.', "
			"'_' or '-', starting with a letter or digit",
			verb, esc, strlen(name) > STORE_DEVICE_MAX ? "..." : "", STORE_DEVICE_MAX);
}

struct count_ctx {
	const char *name;
	int n;
	int exists;
};

static int count_one(void *vctx, const struct store_device *d)
{
	struct count_ctx *c = vctx;

	c->n++;
	if (c->name != NULL && strcmp(d->t.device, c->name) == 0)
		c->exists = 1;
	return 0;
}

int device_count(struct store *s, const char *user, const char *name, int *n, int *exists)
{
	struct count_ctx c = {name, 0, 0};
	int r = store_device_list(s, user, count_one, &c);

	*n = c.n;
	if (exists != NULL)
		*exists = c.exists;
	return r == STORE_OK ? STORE_OK : STORE_ERR;
}

static int json_one(void *vctx, const struct store_device *d)
{
	struct json_object *o = oj_object();
	char when[40];

	oj_str(o, "name", d->t.device);
	oj_str(o, "algorithm", hx_algo_name(d->t.algorithm));
	oj_int(o, "digits", d->t.digits);
	oj_int(o, "period", d->t.period);
	hx_time_iso(d->t.created, when, sizeof(when));
	oj_str(o, "created", when);
	hx_time_iso(d->last_used, when, sizeof(when));
	oj_str(o, "last_used", d->last_used > 0 ? when : NULL);
	oj_push(vctx, o);
	return 0;
}

int device_json(struct store *s, const char *user, struct json_object *o)
{
	struct json_object *arr = oj_array();

	if (store_device_list(s, user, json_one, arr) != STORE_OK) {
		json_object_put(arr);
		return STORE_ERR;
	}
	oj_put(o, "devices", arr);
	return STORE_OK;
}

static int print_one(void *vctx, const struct store_device *d)
{
	char esc[STORE_DEVICE_MAX + 2], added[40], used[40];

	(void)vctx;
	rc_log_escape(d->t.device, esc, sizeof(esc));
	hx_time_human(d->t.created, added, sizeof(added));
	if (d->last_used > 0)
		hx_time_human(d->last_used, used, sizeof(used));
	else
		snprintf(used, sizeof(used), "never");
	out_info("    %-16s %s, %d digits, %d s; added %s, last used %s", esc,
		 hx_algo_name(d->t.algorithm), d->t.digits, d->t.period, added, used);
	return 0;
}

int device_print(struct store *s, const char *user)
{
	int n = 0;

	if (device_count(s, user, NULL, &n, NULL) != STORE_OK)
		return STORE_ERR;
	out_info(HX_FIELD "%d", "devices:", n);
	return store_device_list(s, user, print_one, NULL) == STORE_OK ? STORE_OK : STORE_ERR;
}

/* ---- backup codes ---- */

int hx_make_backup_codes(const struct seal_key *k, const char *user, size_t n,
			 char (*codes)[SECRET_BACKUP_DIGITS + 1],
			 unsigned char (*hashes)[STORE_HASH_LEN])
{
	for (size_t i = 0; i < n; i++)
		if (secret_digits(codes[i], SECRET_BACKUP_DIGITS) != 0 ||
		    secret_hash(k, user, "backup", codes[i], hashes[i]) != 0)
			return -1;
	return 0;
}
