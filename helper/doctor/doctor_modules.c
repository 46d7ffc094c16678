/*
 * What one auth line means to the doctor: the action table of its control, as libpam fills
 * it (keywords, or [value=action ...] with _pam_parse_control's rules), where libpam would
 * load its module from, and what kind of module it is for the model of who gets in.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "chars.h"
#include "doctor.h"
#include "out.h"

/* The names of the return values in a [value=action] control, in Linux-PAM's order. */
static const char *const ret_names[DR_NRET] = {
	"success",
	"open_err",
	"symbol_err",
	"service_err",
	"system_err",
	"buf_err",
	"perm_denied",
	"auth_err",
	"cred_insufficient",
	"authinfo_unavail",
	"user_unknown",
	"maxtries",
	"new_authtok_reqd",
	"acct_expired",
	"session_err",
	"cred_unavail",
	"cred_expired",
	"cred_err",
	"no_module_data",
	"conv_err",
	"authtok_err",
	"authtok_recover_err",
	"authtok_lock_busy",
	"authtok_disable_aging",
	"try_again",
	"ignore",
	"abort",
	"authtok_expired",
	"module_unknown",
	"bad_item",
	"conv_again",
	"incomplete",
};
#define RET_SUCCESS 0
#define RET_NEW_AUTHTOK_REQD 12
#define RET_IGNORE 25

/* Modules whose job is the password, and modules that let a normal login through. */
static const char *const password_modules[] = {
	"pam_unix.so",
	"pam_sss.so",
	"pam_ldap.so",
	"pam_krb5.so",
	"pam_winbind.so",
	"pam_userdb.so",
	"pam_pwdfile.so",
	"pam_matrix.so",
	"pam_radius_auth.so",
	"pam_mysql.so",
	"pam_pgsql.so",
	"pam_lsass.so",
	NULL,
};
static const char *const neutral_modules[] = {
	"pam_env.so",           "pam_faildelay.so", "pam_nologin.so",
	"pam_group.so",         "pam_cap.so",       "pam_echo.so",
	"pam_warn.so",          "pam_motd.so",      "pam_keyinit.so",
	"pam_loginuid.so",      "pam_limits.so",    "pam_mail.so",
	"pam_lastlog.so",       "pam_lastlog2.so",  "pam_selinux.so",
	"pam_systemd.so",       "pam_umask.so",     "pam_securetty.so",
	"pam_shells.so",        "pam_faillock.so",  "pam_tally2.so",
	"pam_gnome_keyring.so", "pam_kwallet.so",   "pam_kwallet5.so",
	"pam_mount.so",         "pam_chatty.so",    "pam_mkhomedir.so",
	"pam_xauth.so",         "pam_getenv.so",    NULL,
};

static int in_list(const char *name, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

const char *dr_line_module_name(const struct dr_line *l)
{
	const char *m = l->module != NULL ? l->module : "(no module)";
	const char *slash = strrchr(m, '/');
	return slash != NULL ? slash + 1 : m;
}

int dr_line_has_arg(const struct dr_line *l, const char *arg)
{
	size_t n = strlen(arg);
	int prefix = n > 0 && arg[n - 1] == '=';

	for (int i = 0; i < l->argc; i++)
		if (prefix ? strncmp(l->argv[i], arg, n) == 0 : strcmp(l->argv[i], arg) == 0)
			return 1;
	return 0;
}

int dr_line_flag(const struct dr_line *l, const char *name)
{
	size_t n = strlen(name);
	int r = -1;

	for (int i = 0; i < l->argc; i++) {
		const char *a = l->argv[i];
		if (strncmp(a, name, n) != 0)
			continue;
		if (a[n] == '\0')
			r = 1;
		else if (a[n] == '=')
			r = strcasecmp(a + n + 1, "no") != 0 &&
			    strcasecmp(a + n + 1, "false") != 0 &&
			    strcasecmp(a + n + 1, "off") != 0 && strcmp(a + n + 1, "0") != 0;
	}
	return r;
}

void dr_set_default(int *actions, int act)
{
	for (int i = 0; i < DR_NRET; i++)
		if (actions[i] == DR_ACT_UNDEF)
			actions[i] = act;
}

/* Bytes of an unknown word shown in the reason (longer ones end in "..."): a whole long
 * word would not fit the reason, which would then be left empty. */
#define SHOWN_MAX 40

/* [value=action ...] as _pam_parse_control reads it; on an error every result is bad. */
int dr_parse_control(int *actions, const char *tok, char *err, size_t errlen)
{
	const char *p = tok;

	while (*p != '\0') {
		size_t len;
		int ret = -1, act;

		p += strspn(p, " \t\n");
		if (*p == '\0')
			break;
		len = strcspn(p, "= \t\n");
		if (len == 7 && strncmp(p, "default", 7) == 0)
			ret = DR_NRET;
		for (int i = 0; i < DR_NRET && ret < 0; i++)
			if (strlen(ret_names[i]) == len && strncmp(p, ret_names[i], len) == 0)
				ret = i;
		if (ret < 0) {
			if (rc_snprintf(err, errlen, "unknown return value '%.*s%s'",
					(int)(len > SHOWN_MAX ? SHOWN_MAX : len), p,
					len > SHOWN_MAX ? "..." : "") < 0)
				err[0] = '\0';
			goto bad;
		}
		p += len;
		p += strspn(p, " \t\n");
		if (*p != '=') {
			if (rc_snprintf(err, errlen, "'=' expected after '%s'",
					ret == DR_NRET ? "default" : ret_names[ret]) < 0)
				err[0] = '\0';
			goto bad;
		}
		p++;
		p += strspn(p, " \t\n");
		len = strcspn(p, " \t\n");
		if (len == 6 && strncmp(p, "ignore", 6) == 0)
			act = DR_ACT_IGNORE;
		else if (len == 2 && strncmp(p, "ok", 2) == 0)
			act = DR_ACT_OK;
		else if (len == 4 && strncmp(p, "done", 4) == 0)
			act = DR_ACT_DONE;
		else if (len == 3 && strncmp(p, "bad", 3) == 0)
			act = DR_ACT_BAD;
		else if (len == 3 && strncmp(p, "die", 3) == 0)
			act = DR_ACT_DIE;
		else if (len == 5 && strncmp(p, "reset", 5) == 0)
			act = DR_ACT_RESET;
		else if (len > 0 && len < 4 && rc_is_digit((unsigned char)p[0])) {
			char num[8];
			long v;
			memcpy(num, p, len);
			num[len] = '\0';
			if (rc_parse_long(num, 0, 999, &v) != 0) {
				if (rc_snprintf(err, errlen, "bad jump '%s'", num) < 0)
					err[0] = '\0';
				goto bad;
			}
			act = (int)v; /* a jump of 0 is "ignore" */
		} else {
			if (rc_snprintf(err, errlen, "unknown action '%.*s%s'",
					(int)(len > SHOWN_MAX ? SHOWN_MAX : len), p,
					len > SHOWN_MAX ? "..." : "") < 0)
				err[0] = '\0';
			goto bad;
		}
		p += len;
		if (ret == DR_NRET)
			dr_set_default(actions, act);
		else
			actions[ret] = act;
	}
	dr_set_default(actions, DR_ACT_BAD);
	return 0;
bad:
	for (int i = 0; i < DR_NRET; i++)
		actions[i] = DR_ACT_BAD;
	return -1;
}

/* Keyword controls, as libpam fills their tables. 0, or -1 if `tok` is not a keyword. */
int dr_keyword_control(int *actions, const char *tok)
{
	int dflt;

	if (strcasecmp(tok, "required") == 0 || strcasecmp(tok, "requisite") == 0) {
		actions[RET_SUCCESS] = DR_ACT_OK;
		actions[RET_NEW_AUTHTOK_REQD] = DR_ACT_OK;
		actions[RET_IGNORE] = DR_ACT_IGNORE;
		dflt = strcasecmp(tok, "required") == 0 ? DR_ACT_BAD : DR_ACT_DIE;
	} else if (strcasecmp(tok, "optional") == 0) {
		actions[RET_SUCCESS] = DR_ACT_OK;
		actions[RET_NEW_AUTHTOK_REQD] = DR_ACT_OK;
		dflt = DR_ACT_IGNORE;
	} else if (strcasecmp(tok, "sufficient") == 0) {
		actions[RET_SUCCESS] = DR_ACT_DONE;
		actions[RET_NEW_AUTHTOK_REQD] = DR_ACT_DONE;
		dflt = DR_ACT_IGNORE;
	} else
		return -1;
	dr_set_default(actions, dflt);
	return 0;
}

/* Where libpam would load a module from; NULL if it is not there. */
char *dr_find_module(const char *mod)
{
	static const char *const dirs[] = {
		"/usr/lib/*/security/", "/lib/*/security/",   "/usr/lib64/security/",
		"/lib64/security/",     "/usr/lib/security/", "/lib/security/",
	};
	struct stat sb;
	char pat[4096];

	if (mod[0] == '/')
		return stat(mod, &sb) == 0 && S_ISREG(sb.st_mode) ? xstrdup(mod) : NULL;
	if (strpbrk(mod, "*?[\\") != NULL || strstr(mod, "..") != NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		glob_t g;
		char *found = NULL;

		if (rc_snprintf(pat, sizeof(pat), "%s%s", dirs[i], mod) < 0)
			continue;
		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
			for (size_t k = 0; k < g.gl_pathc && found == NULL; k++)
				if (stat(g.gl_pathv[k], &sb) == 0 && S_ISREG(sb.st_mode))
					found = xstrdup(g.gl_pathv[k]);
		}
		globfree(&g);
		if (found != NULL)
			return found;
	}
	return NULL;
}

/* One `service OP VALUE` test of pam_succeed_if: 1 true, 0 false, -1 an operator the model
 * does not follow. "in" and "notin" take a ':'-separated list, as pam_succeed_if does. */
static int service_test(const char *service, const char *op, const char *value)
{
	int in = 0;

	if (strcmp(op, "=") == 0)
		return strcmp(service, value) == 0;
	if (strcmp(op, "!=") == 0)
		return strcmp(service, value) != 0;
	if (strcmp(op, "in") != 0 && strcmp(op, "notin") != 0)
		return -1;
	for (const char *p = value; *p != '\0';) {
		size_t k = strcspn(p, ":");
		if (k == strlen(service) && strncmp(p, service, k) == 0)
			in = 1;
		p += k;
		if (*p == ':')
			p++;
	}
	return strcmp(op, "in") == 0 ? in : !in;
}

int dr_succeed_if_service(const struct dr_line *l, const char *service)
{
	static const char *const options[] = {"debug",         "use_uid", "quiet", "quiet_fail",
					      "quiet_success", "audit",   NULL};
	int i = 0, tests = 0, result = 1;

	if (service == NULL || strcmp(dr_line_module_name(l), "pam_succeed_if.so") != 0)
		return -1;
	while (i < l->argc && in_list(l->argv[i], options))
		i++;
	for (; i < l->argc; i += 3) {
		int t;
		if (i + 2 >= l->argc || strcmp(l->argv[i], "service") != 0)
			return -1; /* a user, group, uid, tty ... test: not known in advance */
		if ((t = service_test(service, l->argv[i + 1], l->argv[i + 2])) < 0)
			return -1;
		result = result && t; /* pam_succeed_if: every condition must hold */
		tests++;
	}
	return tests > 0 ? result : -1;
}

enum dr_kind dr_classify(const struct dr_line *l)
{
	const char *name = dr_line_module_name(l);

	if (strcmp(name, "pam_recover.so") == 0)
		return DR_K_RECOVER;
	if (strcmp(name, "pam_permit.so") == 0)
		return DR_K_PERMIT;
	if (strcmp(name, "pam_deny.so") == 0)
		return DR_K_DENY;
	if (strcmp(name, "pam_rootok.so") == 0)
		return DR_K_ROOTOK;
	if (in_list(name, password_modules))
		return DR_K_PASSWORD;
	if (in_list(name, neutral_modules))
		return DR_K_NEUTRAL;
	return DR_K_COND;
}
