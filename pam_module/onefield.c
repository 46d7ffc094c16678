/* split_pass: "password123456" typed in one field, cut before the password module runs. */
#include "onefield.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "conv.h"
#include "hostmatch.h"
#include "login.h"
#include "secret.h"
#include "split.h"
#include "util.h"

#define DATA_NAME "pam_recover_onefield_code"
#define FIELD_MAX 512

static void cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	if (data != NULL) {
		rc_wipe(data, sizeof(struct onefield_code));
		free(data);
	}
}

/* The last `n` bytes of `field` are digits and something comes before them. */
static int has_tail(const char *field, size_t n)
{
	size_t len = strlen(field);

	if (len <= n)
		return 0;
	for (size_t i = len - n; i < len; i++)
		if (field[i] < '0' || field[i] > '9')
			return 0;
	return 1;
}

int onefield_split(pam_handle_t *pamh, const struct cfg *c, struct backend *b, const char *user,
		   const char *service)
{
	struct onefield_code *oc = NULL;
	const char *tok = NULL;
	char *field = NULL, *pw = NULL;
	char tail8[SECRET_BACKUP_DIGITS + 1];
	int r, split = LOGIN_SPLIT_NONE, digits = 0;

	tail8[0] = '\0';
	r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL); /* asks when unset */
	if (r != PAM_SUCCESS) {
		r = conv_failed(r);
		goto out;
	}
	r = PAM_BUF_ERR;
	field = strdup(tok != NULL ? tok : "");
	pw = calloc(1, FIELD_MAX + 1);
	oc = calloc(1, sizeof(*oc));
	if (field == NULL || pw == NULL || oc == NULL)
		goto out;
	if (has_tail(field, SECRET_BACKUP_DIGITS))
		memcpy(tail8, field + strlen(field) - SECRET_BACKUP_DIGITS, sizeof(tail8));
	/* The same lookups for every name: unknown, not enrolled, enrolled. */
	if (backend_split(pamh, b, user, service, tail8[0] ? tail8 : NULL, &split) != LOGIN_OK) {
		r = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	switch (split) {
	case LOGIN_SPLIT_6:
		digits = 6;
		break;
	case LOGIN_SPLIT_8:
	case LOGIN_SPLIT_BACKUP:
	case LOGIN_SPLIT_USED_BACKUP:
		digits = 8;
		break;
	default:
		digits = 0; /* not enrolled: the whole field is the password */
		break;
	}
	oc->split = split;
	if (digits == 0 || strlen(field) > FIELD_MAX ||
	    split_code(field, digits, pw, FIELD_MAX + 1, oc->code, sizeof(oc->code)) != 0) {
		/* No code in the field: forwarded_code says so once the password is verified. */
		oc->code[0] = '\0';
		if (c->debug && digits != 0)
			pam_syslog(pamh, LOG_DEBUG,
				   "user %s: split_pass: no %d-digit code at the end", user,
				   digits);
	} else {
		r = pam_set_item(pamh, PAM_AUTHTOK, pw);
		if (r != PAM_SUCCESS)
			goto out;
	}
	r = pam_set_data(pamh, DATA_NAME, oc, cleanup);
	if (r != PAM_SUCCESS)
		goto out;
	oc = NULL; /* the handle owns it now */
	if (c->debug)
		pam_syslog(pamh, LOG_DEBUG, "user %s: split_pass: code kept for forwarded_code",
			   user);
	/* The one deliberate PAM_IGNORE of split_pass: it decides nothing by itself. */
	r = PAM_IGNORE;
out:
	if (oc != NULL)
		cleanup(pamh, oc, 0);
	if (pw != NULL) {
		rc_wipe(pw, FIELD_MAX + 1);
		free(pw);
	}
	rc_free_secret(field);
	RC_WIPE_ARRAY(tail8);
	return r;
}

const struct onefield_code *onefield_get(pam_handle_t *pamh)
{
	const void *data = NULL;

	if (pam_get_data(pamh, DATA_NAME, &data) != PAM_SUCCESS)
		return NULL;
	return data;
}

void onefield_drop(pam_handle_t *pamh)
{
	int unused = pam_set_data(pamh, DATA_NAME, NULL, NULL); /* runs cleanup on the old */

	(void)unused;
}

int onefield_reuse_hash(pam_handle_t *pamh, const struct cfg *c, struct backend *b,
			const char *user, const char *service, const struct onefield_code *fwd,
			unsigned char hash[STORE_HASH_LEN], int *seconds, const char **rhost_out)
{
	const char *rhost = NULL, *pw = NULL;
	char typed[600];
	int r = -1;

	*seconds = 0;
	/* Never for backup codes, never without an address to bind to, never via the helper. */
	if (b->via_helper || (fwd->split != LOGIN_SPLIT_6 && fwd->split != LOGIN_SPLIT_8))
		return -1;
	if (pam_get_item(pamh, PAM_RHOST, (const void **)&rhost) != PAM_SUCCESS || rhost == NULL ||
	    rhost[0] == '\0')
		return -1;
	*seconds = host_in_list(c->reuse_trusted_hosts, rhost) ? c->reuse_window_trusted
							       : c->reuse_window;
	if (*seconds <= 0)
		return -1;
	/* The typed string: the password part (verified by the module before us) + the code. */
	if (pam_get_item(pamh, PAM_AUTHTOK, (const void **)&pw) != PAM_SUCCESS || pw == NULL)
		return -1;
	if (rc_snprintf(typed, sizeof(typed), "%s%s", pw, fwd->code) < 0)
		goto out;
	if (login_reuse_hash(&b->key, user, service, rhost, typed, hash) != 0)
		goto out;
	*rhost_out = rhost;
	r = 0;
out:
	RC_WIPE_ARRAY(typed);
	return r;
}
