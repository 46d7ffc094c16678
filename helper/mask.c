/* Things as shown to people: contact kinds, masking, secrets in groups of four. */
#include <string.h>

#include "channel/channel.h"
#include "helper.h"

const char *hx_contact_kind_name(int kind)
{
	if (kind < METHOD_EMAIL || kind > METHOD_TELEGRAM)
		return NULL;
	return method_word(kind);
}

const char *hx_contact_field(int kind)
{
	static const char *const fields[] = {
		"recovery e-mail:", "recovery phone:", "recovery Telegram:", "security question:"};

	return kind >= 0 && kind <= 3 ? fields[kind] : "?";
}

/* One masking for status, admin show, contact list and reset hints (channel_mask). The
 * store's contact kinds and the channel kinds are the methods' numbers (method.h). */
void hx_mask_contact(int kind, const char *value, char *out, size_t n)
{
	if (n == 0)
		return;
	out[0] = '\0';
	if (value != NULL)
		channel_mask(kind, value, out, n);
}

/* "ABCDEFGH..." -> "ABCD EFGH ..." (a base32 secret typed by hand into an app). */
void hx_group4(const char *in, char *out, size_t n)
{
	size_t o = 0;

	if (n == 0)
		return;
	for (size_t i = 0; in[i] != '\0' && o + 2 < n; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = in[i];
	}
	out[o] = '\0';
}
