/*
 * One app password as `app-password list`, `status` and `admin show` print it: a JSON row,
 * or a text line (helper.h).
 */
#include "helper.h"
#include "out.h"

struct json_object *hx_app_password_json(const struct store_app_password *a)
{
	struct json_object *o = oj_object();
	char created[40], used[40];

	oj_str(o, "name", a->name);
	oj_str(o, "services", a->services);
	hx_time_iso(a->created, created, sizeof(created));
	oj_str(o, "created", created);
	hx_time_iso(a->last_used, used, sizeof(used));
	oj_str(o, "last_used", a->last_used > 0 ? used : NULL);
	return o;
}

void hx_app_password_line(const struct store_app_password *a)
{
	char created[40], used[40];

	hx_time_human(a->created, created, sizeof(created));
	hx_time_human(a->last_used, used, sizeof(used));
	out_info("    %-20s services %-16s created %s, last used %s", a->name,
		 a->services[0] != '\0' ? a->services : "(any)", created,
		 a->last_used > 0 ? used : "never");
}
