/* Recovery contacts: sealed at rest, verified before they count. */
#ifndef RC_CONTACTS_H
#define RC_CONTACTS_H

#include <stddef.h>

#include "channel/channel.h"
#include "helper.h"
#include "method.h"

#define CONTACT_VALUE_MAX 256

/* The seal's field name (associated data) of a contact kind: "contact:email",
 * "contact:phone", "contact:telegram"; NULL for an unknown kind. Every reader of a sealed
 * contact goes through contact_read so that this stays in one place. */
const char *contact_seal_field(int kind);

/*
 * Read and unseal a contact. HX_OK with the value, HX_NOUSER if none is set, HX_SOFTWARE
 * if it does not open (tampered). *verified gets the flag.
 */
int contact_read(struct store *s, const struct seal_key *k, const char *user, int kind, char *out,
		 size_t n, int *verified);

/* Seal and store (verified as given: root's set-contact passes 1, users 0 until proven). */
int contact_write(struct store *s, const struct seal_key *k, const char *user, int kind,
		  const char *value, int verified);

/* A contact's kind is its method (method.h). The contact word (method_word: "email",
 * "phone", "telegram", "question"), or "e-mail", "mail", "sms" -> METHOD_*; else -1. */
int contact_kind_parse(const char *word);

/* Verbs. */
int cmd_contact(struct hctx *h, int argc, char **argv);          /* contact set|remove|list */
int admin_set_contact(struct hctx *h, int argc, char **argv);    /* admin set-contact */
int admin_remove_contact(struct hctx *h, int argc, char **argv); /* admin remove-contact */

#endif
