/* The doctor asks the store who is enrolled: root, and the accounts that nullok stops
 * letting in once the enforcement date has passed. Read only; never a secret. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "login.h"

#define NAMES_SHOWN 6

int dr_enrolled(const struct cfg *c, const char *user)
{
	struct store *s = NULL;
	char err[512];
	int r;

	if (store_open(c, 0, &s, err, sizeof(err)) != STORE_OK)
		return -1;
	r = login_enrolled(s, user);
	store_close(s);
	return r == LOGIN_OK ? 1 : r == LOGIN_NOT_ENROLLED ? 0 : -1;
}

/* Can this account log in at all (a real shell)? */
static int login_account(const struct passwd *pw)
{
	const char *sh = pw->pw_shell;

	if (pw->pw_uid != 0 && (pw->pw_uid < 1000 || pw->pw_uid == 65534))
		return 0;
	if (sh == NULL || sh[0] == '\0')
		return 1; /* an empty shell means /bin/sh */
	return strstr(sh, "nologin") == NULL && strstr(sh, "/false") == NULL &&
	       strcmp(sh, "/bin/sync") != 0;
}

static int unenrolled(const struct cfg *c, char *names, size_t n, int *more, int with_root)
{
	struct store *s = NULL;
	const struct passwd *pw;
	char err[512];
	size_t used = 0;
	int count = 0, shown = 0;

	*more = 0;
	if (n > 0)
		names[0] = '\0';
	if (store_open(c, 0, &s, err, sizeof(err)) != STORE_OK)
		return -1;
	setpwent();
	while ((pw = getpwent()) != NULL) {
		int r;

		if (!login_account(pw) || !rc_user_name_ok(pw->pw_name) ||
		    (pw->pw_uid == 0 && !with_root))
			continue;
		r = login_enrolled(s, pw->pw_name);
		if (r == LOGIN_ERROR) {
			count = -1;
			break;
		}
		if (r != LOGIN_NOT_ENROLLED)
			continue;
		count++;
		if (shown < NAMES_SHOWN && used < n) {
			int w = snprintf(names + used, n - used, "%s%s", used ? ", " : "",
					 pw->pw_name);
			if (w > 0 && (size_t)w < n - used) {
				used += (size_t)w;
				shown++;
				continue;
			}
			names[used] = '\0';
		}
		*more = 1;
	}
	endpwent();
	store_close(s);
	return count;
}

int dr_unenrolled_accounts(const struct cfg *c, char *names, size_t n, int *more)
{
	return unenrolled(c, names, n, more, 1);
}

int dr_unenrolled_users(const struct cfg *c, char *names, size_t n, int *more)
{
	return unenrolled(c, names, n, more, 0);
}
