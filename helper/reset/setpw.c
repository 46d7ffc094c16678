/* Setting a new password through the PAM password stack or password_command. */
#include "setpw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "helper.h"
#include "pamconv.h"
#include "runcmd.h"

struct conv_data {
	const char *password;
	int answered;
	int refused;         /* the stack asked for something we do not give */
	char complaint[256]; /* the stack's first error message, escaped */
	char refused_prompt[128];
};

/* "Current password:", "(current) UNIX password:", "Old Password:": not ours to answer. */
static int asks_old(const char *prompt)
{
	return prompt != NULL &&
	       (strcasestr(prompt, "current") != NULL || strcasestr(prompt, "old") != NULL);
}

static int answer(void *vd, const struct pam_message *m, struct pam_response *rep)
{
	struct conv_data *d = vd;
	const char *text = m->msg != NULL ? m->msg : "";

	switch (m->msg_style) {
	case PAM_PROMPT_ECHO_OFF:
		if (asks_old(text) || d->answered >= SETPW_MAX_PROMPTS) {
			d->refused = 1;
			rc_log_escape(text, d->refused_prompt, sizeof(d->refused_prompt));
			return -1;
		}
		rep->resp = strdup(d->password);
		if (rep->resp == NULL)
			return -1;
		d->answered++;
		return 0;
	case PAM_ERROR_MSG:
		if (d->complaint[0] == '\0')
			rc_log_escape(text, d->complaint, sizeof(d->complaint));
		return 0;
	case PAM_TEXT_INFO:
		return 0;
	default: /* visible prompts, binary prompts */
		d->refused = 1;
		rc_log_escape(text, d->refused_prompt, sizeof(d->refused_prompt));
		return -1;
	}
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	return hx_conv_run(n, msg, resp, answer, appdata);
}

const char *setpw_service(const struct cfg *c)
{
	if (c->password_command != NULL)
		return "";
	return c->password_service != NULL ? c->password_service : SETPW_DEFAULT_SERVICE;
}

static int set_by_pam(const struct cfg *c, const char *user, const char *password, char *err,
		      size_t n)
{
	const char *service = setpw_service(c);
	struct conv_data d;
	const struct pam_conv pc = {conv, &d};
	pam_handle_t *ph = NULL;
	int pr = PAM_SYSTEM_ERR, r = HX_SOFTWARE;

	memset(&d, 0, sizeof(d));
	d.password = password;
	/*
	 * pam_unix lets root set a password without the old one only when the REAL uid is 0;
	 * the caller has proved itself through the recovery channel (or is root), so become
	 * root all through. The caller's identity is already recorded for the audit trail.
	 */
	if (geteuid() == 0 && (getuid() != 0 || getgid() != 0) &&
	    (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)) {
		snprintf(err, n, "cannot become root to set the password");
		goto out;
	}
	pr = pam_start(service, user, &pc, &ph);
	if (pr != PAM_SUCCESS) {
		ph = NULL;
		snprintf(err, n, "cannot start PAM for the service %s", service);
		r = HX_CONFIG;
		goto out;
	}
	if ((pr = pam_set_item(ph, PAM_RUSER, "root")) != PAM_SUCCESS) {
		snprintf(err, n, "PAM: %s", pam_strerror(ph, pr));
		goto out;
	}
	pr = pam_chauthtok(ph, 0);
	switch (pr) {
	case PAM_SUCCESS:
		r = HX_OK;
		break;
	case PAM_AUTHTOK_ERR:
	case PAM_AUTHTOK_RECOVERY_ERR:
	case PAM_CONV_ERR:
		if (d.refused) {
			snprintf(
				err, n,
				"the PAM password stack of the service %s asked \"%s\", which this "
				"tool does not answer: use a stack that lets root set a password "
				"(password_service in pam_recover.conf)",
				service, d.refused_prompt);
			r = HX_CONFIG;
		} else {
			snprintf(err, n, "the system refused the new password: %s",
				 d.complaint[0] ? d.complaint : pam_strerror(ph, pr));
			r = HX_DATAERR;
		}
		break;
	case PAM_TRY_AGAIN:
	case PAM_AUTHTOK_LOCK_BUSY:
		snprintf(err, n, "the password database is busy (%s); try again",
			 pam_strerror(ph, pr));
		r = HX_TEMPFAIL;
		break;
	default:
		snprintf(err, n, "cannot set the password through the PAM service %s: %s%s%s",
			 service, pam_strerror(ph, pr), d.complaint[0] ? ": " : "", d.complaint);
		r = HX_SOFTWARE;
		break;
	}
out:
	if (ph != NULL)
		pam_end(ph, pr);
	return r;
}

/* Run a configured command for user; output never echoes `secret`. */
static int run(const char *key, const char *cmdline, const char *user, const char *input,
	       const char *secret, char *err, size_t n, int *status)
{
	struct runcmd cmd;
	char output[RUNCMD_OUT_MAX + 1];
	const char *why = NULL;
	int r = HX_SOFTWARE, rr;

	*status = -1;
	if (runcmd_split(cmdline, user, &cmd, &why) != 0) {
		snprintf(err, n, "%s %s", key, why);
		r = HX_CONFIG;
		goto out;
	}
	rr = runcmd_run(&cmd, input, RUNCMD_TIMEOUT, status, output, sizeof(output));
	/* Before the output can reach any message: never echo the password back. */
	if (secret != NULL && secret[0] != '\0' && strstr(output, secret) != NULL)
		snprintf(output, sizeof(output), "(its output repeats the password: not shown)");
	if (rr != 0) {
		snprintf(err, n, "cannot run %s (%s): %s", key, cmd.argv[0], output);
		goto out;
	}
	if (*status == 0) {
		r = HX_OK;
		goto out;
	}
	if (*status == 137)
		snprintf(err, n, "%s (%s) was killed after %d seconds%s%s", key, cmd.argv[0],
			 RUNCMD_TIMEOUT, output[0] ? ": " : "", output);
	else
		snprintf(err, n, "%s (%s) failed with exit status %d%s%s", key, cmd.argv[0],
			 *status, output[0] ? ": " : "", output);
out:
	RC_WIPE_ARRAY(output);
	rc_wipe(&cmd, sizeof(cmd));
	return r;
}

int setpw_set(const struct cfg *c, const char *user, const char *password, char *err, size_t n)
{
	char *input = NULL;
	size_t len;
	int status, r;

	if (n > 0)
		err[0] = '\0';
	if (user == NULL || !rc_user_name_ok(user) || password == NULL || password[0] == '\0' ||
	    strchr(password, '\n') != NULL) {
		snprintf(err, n, "internal error: bad user or password");
		return HX_SOFTWARE;
	}
	if (c->password_command == NULL)
		return set_by_pam(c, user, password, err, n);
	len = strlen(password);
	input = malloc(len + 2);
	if (input == NULL) {
		snprintf(err, n, "out of memory");
		return HX_SOFTWARE;
	}
	memcpy(input, password, len);
	input[len] = '\n';
	input[len + 1] = '\0';
	r = run("password_command", c->password_command, user, input, password, err, n, &status);
	rc_free_secret(input);
	if (r != HX_OK && status == HX_DATAERR)
		r = HX_DATAERR; /* exit 65: "this password is refused", the user may try another */
	return r;
}

int setpw_post_reset(const struct cfg *c, const char *user, char *err, size_t n)
{
	int status;

	if (n > 0)
		err[0] = '\0';
	if (c->post_reset_command == NULL)
		return HX_OK;
	return run("post_reset_command", c->post_reset_command, user, NULL, NULL, err, n, &status);
}
