/* What every verb but `check` does when it is done (helper.h: hx_after_verb). */
#include <string.h>
#include <syslog.h>

#include "helper.h"
#include "outbox.h"
#include "retention.h"

void hx_after_verb(const struct hctx *h)
{
	struct cfg c;
	struct seal_key k;
	struct store *s = NULL;
	struct outbox_totals t;
	char err[512];
	const char *path = h->config_path != NULL ? h->config_path : RC_CONFIG_PATH;

	memset(&k, 0, sizeof(k));
	if (cfg_init(&c) != 0)
		return;
	if (cfg_load_file(&c, path, h->config_path != NULL, err, sizeof(err)) != 0 ||
	    cfg_validate(&c, err, sizeof(err)) != 0 ||
	    seal_key_load(c.key_file, &k, err, sizeof(err)) != 0 ||
	    store_open(&c, STORE_DURABLE, &s, err, sizeof(err)) != STORE_OK)
		goto out;
	if (outbox_flush(s, &k, &c, 0, NULL, NULL, NULL, &t) != 0)
		syslog(LOG_ERR, "outbox: %s", store_errmsg(s));
	/* An error is logged by retention_maybe and changes nothing else. */
	(void)retention_maybe(s, &c, h->ruid, rc_now());
out:
	if (s != NULL)
		store_close(s);
	seal_key_wipe(&k);
	cfg_free(&c);
}
