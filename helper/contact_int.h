/*
 * Inside the contact verbs (contacts.c, contact_set.c, contact_question.c, admin_contact.c):
 * what they share, defined in contact_value.c unless a comment names another file.
 */
#ifndef RC_CONTACT_INT_H
#define RC_CONTACT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "contacts.h"
#include "uverb.h"

/* A kind's contact word, label and reset_methods bit: method_word, method_label and
 * method_bit (method.h). */
/* The channel's token / quota name: "email", "sms", "telegram". */
const char *ct_channel(int kind);

/* Is the kind offered on this host (reset_methods, and for the channels their settings)?
 * HX_OK, or HX_CONFIG after printing why. */
int ct_available(const struct uverb *u, int kind);

/*
 * A value for a kind as typed, normalised and checked: e-mail lower-cased, phone in E.164,
 * chat id digits; a recovery e-mail on local_domains refused with the reason. HX_OK, or
 * HX_DATAERR after printing why (`verb` prefixes the message).
 */
int ct_value(const struct cfg *c, const char *verb, int kind, const char *in, char *out, size_t n);

/* The value masked for people (channel_mask). */
void ct_mask(int kind, const char *value, char *out, size_t n);

/*
 * Verification of a contact by a code sent through it (contact_set.c).
 * ct_send_code: quota, new code, message through the channel; on failure the code is void
 * and the quota untouched. ct_ask_code: prompt (repeat while tries remain) and check; on a
 * match calls the store change of `purpose`: "verify" sets the stored contact's flag,
 * "verify-new" writes value as verified. HX_OK, HX_WRONG, HX_TEMPFAIL, ... after printing.
 * *later is set when the user chose to finish later (empty line or end of input).
 */
int ct_send_code(struct hctx *h, struct uverb *u, int kind, const char *value, const char *purpose);
int ct_ask_code(struct hctx *h, struct uverb *u, int kind, const char *value, const char *purpose,
		int *later);

/* Sub-verbs (contact_set.c, contact_question.c). argv[0] is the sub-verb's name. */
int ct_set(struct hctx *h, int argc, char **argv);
int ct_verify(struct hctx *h, int argc, char **argv);
int ct_set_question(struct hctx *h, struct uverb *u, const char *opt_question);

#endif
