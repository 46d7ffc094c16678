/* The recovery methods: their ids, contact words, labels and reset_methods bits (method.h). */
#include "method.h"

#include <string.h>

struct method_names {
	const char *id;
	const char *word;
	const char *label;
};

static const struct method_names names[METHOD_COUNT] = {
	[METHOD_EMAIL] = {"email", "email", "recovery e-mail"},
	[METHOD_SMS] = {"sms", "phone", "phone number"},
	[METHOD_TELEGRAM] = {"telegram", "telegram", "Telegram chat"},
	[METHOD_QUESTION] = {"question", "question", "security question"},
};

static int known(int m)
{
	return m >= 0 && m < METHOD_COUNT;
}

const char *method_id(int m)
{
	return known(m) ? names[m].id : "unknown";
}

const char *method_word(int m)
{
	return known(m) ? names[m].word : "contact";
}

const char *method_label(int m)
{
	return known(m) ? names[m].label : "contact";
}

int method_parse_n(const char *p, size_t len)
{
	if (p == NULL)
		return -1;
	for (int m = 0; m < METHOD_COUNT; m++)
		if (strlen(names[m].id) == len && memcmp(names[m].id, p, len) == 0)
			return m;
	return -1;
}

int method_parse(const char *id)
{
	return id != NULL ? method_parse_n(id, strlen(id)) : -1;
}

int method_parse_word(const char *word)
{
	if (word == NULL)
		return -1;
	for (int m = 0; m < METHOD_COUNT; m++)
		if (strcmp(names[m].word, word) == 0)
			return m;
	return -1;
}

unsigned method_bit(int m)
{
	return known(m) ? METHOD_BIT(m) : 0;
}

int method_is_channel(int m)
{
	return m == METHOD_EMAIL || m == METHOD_SMS || m == METHOD_TELEGRAM;
}
