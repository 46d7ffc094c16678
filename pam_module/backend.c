/* The module's two back ends: direct store access as root, or pam-recover-check. */
#include "backend.h"

#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "check_proto.h"
#include "helper_call.h"
#include "login.h"

int backend_config(pam_handle_t *pamh, struct backend *b, struct cfg *c, int argc,
		   const char **argv, const char *user, const char *service, char *err,
		   size_t errlen)
{
	char text[CHECK_CONFIG_MAX + 1];
	size_t len = 0;
	int r;

	b->enrolled = -1;
	if (geteuid() == 0)
		return cfg_load_module(c, argc, argv, err, errlen);
	/* Without root the file (0600 root) is not ours to read: its part comes from the back
	 * end, which reads the system file, so both decide on the same configuration. */
	r = helper_call_out(pamh, CHECK_MODE_CONFIG, user != NULL ? user : "", service, "", text,
			    sizeof(text), &len);
	if (user != NULL && (r == LOGIN_OK || r == LOGIN_NOT_ENROLLED)) {
		b->enrolled = r;
		r = LOGIN_OK;
	} else if (user != NULL && r == LOGIN_LOCKED) {
		/* Over the rate limit: the keys came, the question was refused; the later
		 * requests get the same answer, and the user is told so at the prompt. */
		r = LOGIN_OK;
	}
	if (r != LOGIN_OK) {
		if (rc_snprintf(err, errlen, "%s could not tell the configuration (see its own log "
					     "lines; `pam-recover admin doctor`)",
				RC_CHECK_PATH) < 0 &&
		    errlen > 0)
			err[0] = '\0';
		RC_WIPE_ARRAY(text);
		memset(c, 0, sizeof(*c));
		return -1;
	}
	r = cfg_load_module_text(c, argc, argv, text, len, err, errlen);
	RC_WIPE_ARRAY(text);
	return r;
}

int backend_open(pam_handle_t *pamh, const struct cfg *c, struct backend *b)
{
	char err[512];

	b->store = NULL;
	if (geteuid() != 0) {
		b->via_helper = 1; /* b->enrolled stays as backend_config left it */
		return PAM_SUCCESS;
	}
	b->enrolled = -1;
	if (seal_key_load(c->key_file, &b->key, err, sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot use the key: %s", err);
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (store_open(c, 0, &b->store, err, sizeof(err)) != STORE_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot open the store: %s", err);
		seal_key_wipe(&b->key);
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

void backend_close(struct backend *b)
{
	if (b->store != NULL)
		store_close(b->store);
	b->store = NULL;
	seal_key_wipe(&b->key);
}

int backend_enrolled(pam_handle_t *pamh, struct backend *b, const char *user,
		     const char *service)
{
	int r;

	if (b->via_helper && b->enrolled >= 0)
		return b->enrolled; /* asked with the configuration, in the same exec */
	if (b->via_helper)
		return helper_call(pamh, CHECK_MODE_ENROLLED, user, service, "");
	r = login_enrolled(b->store, user);
	if (r == LOGIN_ERROR) /* never a value: store errors name no secret */
		pam_syslog(pamh, LOG_ERR, "user %s: store error: %s", user,
			   store_errmsg(b->store));
	return r;
}

int backend_verify(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		   const char *service, const char *const *codes, int n, int *which,
		   int *locked_now, const char **reason)
{
	char joined[128];
	int r;

	if (!b->via_helper)
		return login_verify_codes(c, b->store, &b->key, user, codes, n, rc_now(),
					  locked_now, reason, which);
	/* The helper counts both candidates as one attempt, as login_verify_codes does. */
	*locked_now = 0;
	*which = 0;
	*reason = "answer of pam-recover check";
	if (rc_snprintf(joined, sizeof(joined), "%s%s%s", codes[0], n > 1 ? " " : "",
			n > 1 ? codes[1] : "") < 0)
		return LOGIN_WRONG;
	r = helper_call(pamh, CHECK_MODE_CODE, user, service, joined);
	RC_WIPE_ARRAY(joined);
	/* The helper does not say which candidate matched; a backup code is the 8-digit tail. */
	if (r == LOGIN_OK_BACKUP && n > 1)
		*which = 1;
	return r;
}

int backend_attempt(pam_handle_t *pamh, struct backend *b, const struct cfg *c, const char *user,
		    const char *service, struct login_attempt *a)
{
	int r;

	if (!b->via_helper)
		return login_verify(c, b->store, &b->key, user, rc_now(), a);
	r = backend_verify(pamh, b, c, user, service, a->codes, a->n, &a->which, &a->locked_now,
			   &a->reason);
	a->locked_until = 0;
	return r;
}

int backend_split(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		  const char *tail8, int *split)
{
	int r;

	*split = LOGIN_SPLIT_NONE;
	if (!b->via_helper)
		return login_split_lookup(b->store, &b->key, user, tail8, split);
	r = check_split_from_status(
		helper_call(pamh, CHECK_MODE_SPLIT, user, service, tail8 != NULL ? tail8 : ""));
	if (r < 0)
		return LOGIN_ERROR;
	*split = r;
	return LOGIN_OK;
}

int backend_app(pam_handle_t *pamh, struct backend *b, const char *user, const char *service,
		const char *typed, char *other, size_t n)
{
	if (n > 0)
		other[0] = '\0';
	if (b->via_helper)
		return helper_call(pamh, CHECK_MODE_APP, user, service, typed);
	return login_app_password_other(b->store, &b->key, user, service, typed, rc_now(), other,
					n);
}
