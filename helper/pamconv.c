/* The skeleton of the helper's PAM conversations (pamconv.h). */
#include "pamconv.h"

#include <stdlib.h>

#include "util.h"

static void free_replies(struct pam_response *rep, int n)
{
	if (rep == NULL)
		return;
	for (int i = 0; i < n; i++)
		rc_free_secret(rep[i].resp);
	free(rep);
}

int hx_conv_run(int n, const struct pam_message **msg, struct pam_response **resp,
		hx_conv_answer answer, void *data)
{
	struct pam_response *rep;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	rep = calloc((size_t)n, sizeof(*rep));
	if (rep == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (answer(data, msg[i], &rep[i]) != 0) {
			free_replies(rep, n);
			return PAM_CONV_ERR;
		}
	}
	*resp = rep;
	return PAM_SUCCESS;
}
