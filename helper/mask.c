/* Recovery contacts as shown to people: kind names and masking. */
#include <string.h>

#include "helper.h"

static const char *const kind_names[] = {"email", "phone", "telegram"};

const char *hx_contact_kind_name(int kind)
{
	if (kind < CONTACT_EMAIL || kind > CONTACT_TELEGRAM)
		return NULL;
	return kind_names[kind];
}

/* keep `head` leading and `tail` trailing bytes of s[0..len), stars between. */
static void mask_span(const char *s, size_t len, size_t head, size_t tail, char *out, size_t n)
{
	size_t o = 0;

	if (n == 0)
		return;
	if (head + tail >= len) {
		/* too short to show anything safely */
		head = len > 1 ? 1 : 0;
		tail = 0;
	}
	for (size_t i = 0; i < len && o + 1 < n; i++)
		out[o++] = (i < head || i >= len - tail) ? s[i] : '*';
	out[o] = '\0';
}

void hx_mask_contact(int kind, const char *value, char *out, size_t n)
{
	if (n == 0)
		return;
	out[0] = '\0';
	if (value == NULL)
		return;
	if (kind == CONTACT_EMAIL) {
		const char *at = strrchr(value, '@');
		if (at == NULL || at == value) {
			mask_span(value, strlen(value), 1, 0, out, n);
			return;
		}
		/* "alice@example.org" -> "a***@example.org": the length of the local part is hidden */
		size_t need = 1 + 3 + strlen(at) + 1;
		if (need > n) {
			mask_span(value, strlen(value), 1, 0, out, n);
			return;
		}
		out[0] = value[0];
		memcpy(out + 1, "***", 3);
		memcpy(out + 4, at, strlen(at) + 1);
		return;
	}
	/* phone "+31612345612" -> "+3********12"; telegram chat id likewise */
	mask_span(value, strlen(value), 2, 2, out, n);
}
