/*
 * pamdrive: a tiny PAM application for the tests. It runs pam_authenticate on a service
 * through the real libpam (under pam_wrapper, or with pam_start_confdir), answers each
 * prompt with the next answer from its command line, and reports on stdout, one per line:
 *
 *   PROMPT OFF|ON <text>      a prompt (echo off / on), answered with the next answer
 *   NOANSWER                  a prompt came when no answer was left (the conversation fails)
 *   ERROR <text> / INFO <text> PAM_ERROR_MSG / PAM_TEXT_INFO messages
 *   READY                     (with --gate) pam_start done; waits for one byte on stdin
 *   AUTH <rc> <NAME>          the result of pam_authenticate
 *   SETCRED <rc> <NAME>       (with --setcred, after a successful authentication)
 *
 * usage: pamdrive [--confdir DIR] [--gate] [--setcred] [--rhost HOST] [--silent] SERVICE
 *                 USER|- [ANSWER...]
 * USER "-" starts without a user name (the stack asks for it). --rhost sets PAM_RHOST (as
 * sshd and Dovecot do: the client's address); --silent passes PAM_SILENT.
 * Loaded modules are never unloaded (see dlclose below).
 * Exit status: 0 when the run completed (whatever PAM said), 2 on usage or driver errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

struct answers {
	int n;
	int next;
	char **v;
};

static const char *rc_name(int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return "PAM_SUCCESS";
	case PAM_OPEN_ERR:
		return "PAM_OPEN_ERR";
	case PAM_SYMBOL_ERR:
		return "PAM_SYMBOL_ERR";
	case PAM_SERVICE_ERR:
		return "PAM_SERVICE_ERR";
	case PAM_SYSTEM_ERR:
		return "PAM_SYSTEM_ERR";
	case PAM_BUF_ERR:
		return "PAM_BUF_ERR";
	case PAM_PERM_DENIED:
		return "PAM_PERM_DENIED";
	case PAM_AUTH_ERR:
		return "PAM_AUTH_ERR";
	case PAM_CRED_INSUFFICIENT:
		return "PAM_CRED_INSUFFICIENT";
	case PAM_AUTHINFO_UNAVAIL:
		return "PAM_AUTHINFO_UNAVAIL";
	case PAM_USER_UNKNOWN:
		return "PAM_USER_UNKNOWN";
	case PAM_MAXTRIES:
		return "PAM_MAXTRIES";
	case PAM_NEW_AUTHTOK_REQD:
		return "PAM_NEW_AUTHTOK_REQD";
	case PAM_ACCT_EXPIRED:
		return "PAM_ACCT_EXPIRED";
	case PAM_SESSION_ERR:
		return "PAM_SESSION_ERR";
	case PAM_CRED_UNAVAIL:
		return "PAM_CRED_UNAVAIL";
	case PAM_CRED_EXPIRED:
		return "PAM_CRED_EXPIRED";
	case PAM_CRED_ERR:
		return "PAM_CRED_ERR";
	case PAM_NO_MODULE_DATA:
		return "PAM_NO_MODULE_DATA";
	case PAM_CONV_ERR:
		return "PAM_CONV_ERR";
	case PAM_AUTHTOK_ERR:
		return "PAM_AUTHTOK_ERR";
	case PAM_AUTHTOK_RECOVERY_ERR:
		return "PAM_AUTHTOK_RECOVERY_ERR";
	case PAM_AUTHTOK_LOCK_BUSY:
		return "PAM_AUTHTOK_LOCK_BUSY";
	case PAM_AUTHTOK_DISABLE_AGING:
		return "PAM_AUTHTOK_DISABLE_AGING";
	case PAM_TRY_AGAIN:
		return "PAM_TRY_AGAIN";
	case PAM_IGNORE:
		return "PAM_IGNORE";
	case PAM_ABORT:
		return "PAM_ABORT";
	case PAM_AUTHTOK_EXPIRED:
		return "PAM_AUTHTOK_EXPIRED";
	case PAM_MODULE_UNKNOWN:
		return "PAM_MODULE_UNKNOWN";
	case PAM_BAD_ITEM:
		return "PAM_BAD_ITEM";
	case PAM_CONV_AGAIN:
		return "PAM_CONV_AGAIN";
	case PAM_INCOMPLETE:
		return "PAM_INCOMPLETE";
	default:
		return "PAM_UNKNOWN_CODE";
	}
}

/* Print a message on one line: control bytes and backslashes escaped. */
static void put_text(const char *tag, const char *s)
{
	fputs(tag, stdout);
	fputc(' ', stdout);
	for (const unsigned char *p = (const unsigned char *)(s ? s : "(null)"); *p; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			fputc(*p, stdout);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r;
	int prompts = 0;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			prompts++;
	if (prompts == 0) { /* messages only: no reply array (some modules would not free it) */
		for (int i = 0; i < n; i++)
			put_text(msg[i]->msg_style == PAM_ERROR_MSG   ? "ERROR"
				 : msg[i]->msg_style == PAM_TEXT_INFO ? "INFO"
								      : "OTHER",
				 msg[i]->msg);
		*resp = NULL;
		return PAM_SUCCESS;
	}
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			put_text(msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "PROMPT OFF"
									  : "PROMPT ON",
				 msg[i]->msg);
			if (a->next >= a->n) {
				puts("NOANSWER");
				fflush(stdout);
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(a->v[a->next++]);
			if (r[i].resp == NULL) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_ERROR_MSG:
			put_text("ERROR", msg[i]->msg);
			break;
		case PAM_TEXT_INFO:
			put_text("INFO", msg[i]->msg);
			break;
		default:
			put_text("OTHER", msg[i]->msg);
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/*
 * Modules stay loaded until exit: libpam's dlclose() at pam_end is made a no-op, so that a
 * leak report from LeakSanitizer or valgrind can still name the module's functions.
 */
int dlclose(void *handle)
{
	(void)handle;
	return 0;
}

int main(int argc, char **argv)
{
	const char *confdir = NULL, *rhost = NULL;
	int gate = 0, setcred = 0, silent = 0, i = 1, rc;
	struct answers a = {0, 0, NULL};
	struct pam_conv pc = {conv, &a};
	pam_handle_t *pamh = NULL;
	const char *service, *user;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--confdir") == 0 && i + 1 < argc)
			confdir = argv[++i];
		else if (strcmp(argv[i], "--gate") == 0)
			gate = 1;
		else if (strcmp(argv[i], "--setcred") == 0)
			setcred = 1;
		else if (strcmp(argv[i], "--rhost") == 0 && i + 1 < argc)
			rhost = argv[++i];
		else if (strcmp(argv[i], "--silent") == 0)
			silent = 1;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "pamdrive: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (argc - i < 2) {
		fprintf(stderr,
			"usage: pamdrive [--confdir DIR] [--gate] [--setcred] [--rhost HOST] "
			"[--silent] SERVICE USER|- [ANSWER...]\n");
		return 2;
	}
	service = argv[i];
	user = strcmp(argv[i + 1], "-") == 0 ? NULL : argv[i + 1];
	a.v = argv + i + 2;
	a.n = argc - i - 2;

	if (confdir != NULL)
		rc = pam_start_confdir(service, user, &pc, confdir, &pamh);
	else
		rc = pam_start(service, user, &pc, &pamh);
	if (rc != PAM_SUCCESS) {
		printf("START %d %s\n", rc, rc_name(rc));
		return 2;
	}
	if (rhost != NULL && (rc = pam_set_item(pamh, PAM_RHOST, rhost)) != PAM_SUCCESS) {
		printf("RHOST %d %s\n", rc, rc_name(rc));
		pam_end(pamh, rc);
		return 2;
	}
	if (gate) {
		char c;
		puts("READY");
		fflush(stdout);
		if (read(0, &c, 1) != 1) {
			pam_end(pamh, PAM_ABORT);
			return 2;
		}
	}
	rc = pam_authenticate(pamh, silent ? PAM_SILENT : 0);
	printf("AUTH %d %s\n", rc, rc_name(rc));
	fflush(stdout);
	if (setcred && rc == PAM_SUCCESS) {
		int sc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		printf("SETCRED %d %s\n", sc, rc_name(sc));
		fflush(stdout);
	}
	pam_end(pamh, rc);
	return 0;
}
