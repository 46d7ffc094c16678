/*
 * The recovery methods, one vocabulary for the channels, the recovery contacts, the reset and
 * the configuration: e-mail, SMS, Telegram and the security question.
 *
 * The numbers are an interface: they are the contact kinds stored in the database
 * (struct store_contact's kind) and bit m
 * of cfg->reset_method_mask is method m. The words are an interface too: the method ids of
 * reset_methods, the JSON reset protocol and the store's channel names ("email", "sms",
 * "telegram", "question"), and the contact words of `pam-recover contact` and its JSON
 * ("email", "phone", "telegram", "question").
 */
#ifndef RC_METHOD_H
#define RC_METHOD_H

#include <stddef.h>

#include "util.h"

enum method {
	METHOD_EMAIL = 0,
	METHOD_SMS = 1, /* the contact word is "phone" */
	METHOD_TELEGRAM = 2,
	METHOD_QUESTION = 3,
	METHOD_COUNT = 4,
};

/* The reset_methods bit of method m (a constant expression). */
#define METHOD_BIT(m) (1u << (m))

/* "email", "sms", "telegram", "question"; "unknown" for anything else. Never NULL. */
const char *method_id(int m);
/* The contact word: "email", "phone", "telegram", "question"; "contact" for anything else. */
const char *method_word(int m);
/* What people call it: "recovery e-mail", "phone number", "Telegram chat", "security
 * question"; "contact" for anything else. */
const char *method_label(int m);

/* The method of an id (method_id), of the `len` bytes at p; -1 if none. */
int method_parse_n(const char *p, size_t len) RC_MUST_CHECK;
/* The method of a NUL-terminated id; -1 if none (or NULL). */
int method_parse(const char *id) RC_MUST_CHECK;
/* The method of a contact word (method_word); -1 if none (or NULL). */
int method_parse_word(const char *word) RC_MUST_CHECK;

/* METHOD_BIT(m) for a method, 0 for anything else. */
unsigned method_bit(int m);
/* 1 for the methods that send a code through a channel (e-mail, SMS, Telegram), else 0. */
int method_is_channel(int m);

#endif
