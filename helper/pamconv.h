/*
 * The helper's PAM conversations (identity.c confirms a password, setpw.c sets one): the
 * skeleton they share. hx_conv_run checks the message count, allocates the replies, asks
 * `answer` for each message in turn and, when any answer refuses or memory runs out, wipes
 * and frees every reply given so far: a stack never receives half a conversation.
 */
#ifndef RC_PAMCONV_H
#define RC_PAMCONV_H

#include <security/pam_appl.h>

/* The answer to one message: set rep->resp (malloc'd, e.g. strdup) or leave it NULL, and
 * return 0; or return -1 to refuse the conversation (PAM_CONV_ERR). */
typedef int (*hx_conv_answer)(void *data, const struct pam_message *msg, struct pam_response *rep);

/* A struct pam_conv's function body: PAM_SUCCESS with *resp set, PAM_CONV_ERR or
 * PAM_BUF_ERR with *resp NULL. */
int hx_conv_run(int n, const struct pam_message **msg, struct pam_response **resp,
		hx_conv_answer answer, void *data);

#endif
