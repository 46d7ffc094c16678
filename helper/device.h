/*
 * Authenticator devices: several per user, each a name and its own secret (store.h). What
 * `device`, `enable`, `status`, `admin show` and `admin enrol` share (enrol.c): the name
 * rule, the listing (text and JSON) and the count against max_devices.
 */
#ifndef RC_DEVICE_H
#define RC_DEVICE_H

#include "helper.h"
#include "uverb.h"

struct json_object;

#define DEVICE_NAME_DEFAULT "phone" /* the first device of `enable` */

/* NAME: 1..STORE_DEVICE_MAX of [A-Za-z0-9._-], starting with a letter or digit. */
int device_name_ok(const char *name);
/* "VERB: "NAME" is not a usable device name: ..." on stderr; HX_DATAERR. */
int device_bad_name(const char *verb, const char *name);

/* How many devices the user has, and whether one is called `name` (may be NULL). STORE_OK
 * or STORE_ERR. */
int device_count(struct store *s, const char *user, const char *name, int *n,
		 int *exists) RC_MUST_CHECK;

/* The devices as a JSON array of {"name", "algorithm", "digits", "period", "created",
 * "last_used"} (times ISO 8601, last_used null when never), put into o under "devices".
 * STORE_OK or STORE_ERR (o unchanged). */
int device_json(struct store *s, const char *user, struct json_object *o) RC_MUST_CHECK;
/* The devices as text lines, one per device, under a "devices:" field. STORE_OK or
 * STORE_ERR. */
int device_print(struct store *s, const char *user) RC_MUST_CHECK;

/* `pam-recover device add NAME` after its options and account are settled (u open, name
 * checked): enable.c's flow for one more device. An exit status. */
int enable_add_device(struct hctx *h, struct uverb *u, const char *name);

#endif
