/* QR codes as UTF-8 half blocks, dark modules in black on a white background. */
#include "qr.h"

#include <qrencode.h>

#include "util.h"

#define SGR_ON "\033[30;107m" /* black on bright white */
#define SGR_OFF "\033[0m"

/* Is module (x, y) dark? Coordinates include the quiet zone. */
static int dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET_ZONE;
	y -= QR_QUIET_ZONE;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int qr_print(FILE *f, const char *text)
{
	static const char *const glyph[4] = {" ", "\xe2\x96\x80", "\xe2\x96\x84", "\xe2\x96\x88"};
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int r = -1;

	if (q == NULL)
		return -1;
	int size = q->width + 2 * QR_QUIET_ZONE;
	for (int y = 0; y < size; y += 2) {
		if (fputs(SGR_ON, f) == EOF)
			goto out;
		for (int x = 0; x < size; x++) {
			int top = dark(q, x, y), bottom = y + 1 < size && dark(q, x, y + 1);
			if (fputs(glyph[top | bottom << 1], f) == EOF)
				goto out;
		}
		if (fputs(SGR_OFF "\n", f) == EOF)
			goto out;
	}
	r = 0;
out:
	/* The symbol carries the secret of an otpauth URI. */
	rc_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return r;
}
