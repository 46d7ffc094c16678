/*
 * What the module answers when a conversation (a prompt, pam_get_authtok) did not give it
 * what it asked for: the same answer on every path, as pam_recover(8) lists them.
 */
#ifndef RC_CONV_H
#define RC_CONV_H

#include <security/_pam_types.h>

static inline int conv_failed(int r)
{
	switch (r) {
	case PAM_CONV_AGAIN: /* libpam calls the module again only after PAM_INCOMPLETE */
		return PAM_INCOMPLETE;
	case PAM_BUF_ERR:
	case PAM_CONV_ERR:
		return r;
	default: /* e.g. use_first_pass without a password before */
		return PAM_AUTH_ERR;
	}
}

#endif
