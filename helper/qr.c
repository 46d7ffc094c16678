/* QR codes as UTF-8 half blocks, dark modules in black on a white background. */
#include "qr.h"

#include <qrencode.h>

#include "util.h"

#define SGR_ON "\033[30;107m" /* black on bright white */
#define SGR_OFF "\033[0m"

/* Is module (x, y) dark? Coordinates include the quiet zone qz. */
static int dark(const QRcode *q, int qz, int x, int y)
{
	x -= qz;
	y -= qz;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

static void qr_free(QRcode *q)
{
	if (q == NULL)
		return;
	/* The symbol carries the secret of an otpauth URI. */
	rc_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
}

static int draw(FILE *f, const QRcode *q, int qz)
{
	static const char *const glyph[4] = {" ", "\xe2\x96\x80", "\xe2\x96\x84", "\xe2\x96\x88"};
	int size = q->width + 2 * qz;

	for (int y = 0; y < size; y += 2) {
		if (fputs(SGR_ON, f) == EOF)
			return -1;
		for (int x = 0; x < size; x++) {
			int top = dark(q, qz, x, y), bottom = y + 1 < size && dark(q, qz, x, y + 1);
			if (fputs(glyph[top | bottom << 1], f) == EOF)
				return -1;
		}
		if (fputs(SGR_OFF "\n", f) == EOF)
			return -1;
	}
	return 0;
}

int qr_print(FILE *f, const char *text, int max_lines, int max_cols, int *lines)
{
	static const int quiet[] = {QR_QUIET_ZONE, 3, QR_QUIET_ZONE_MIN};
	QRcode *q = NULL;
	int qz = QR_QUIET_ZONE_MIN, fits = 0, r = -1;

	if (lines != NULL)
		*lines = 0;
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]) && !fits; i++) {
		for (int level = 0; level < 2 && !fits; level++) {
			qr_free(q);
			q = QRcode_encodeString(text, 0, level == 0 ? QR_ECLEVEL_M : QR_ECLEVEL_L,
						QR_MODE_8, 1);
			if (q == NULL)
				return -1;
			int size = q->width + 2 * quiet[i];
			qz = quiet[i];
			fits = (max_lines <= 0 || (size + 1) / 2 <= max_lines) &&
			       (max_cols <= 0 || size <= max_cols);
		}
	}
	if (!fits)
		qz = QR_QUIET_ZONE_MIN; /* q is error correction L: as small as it goes */
	if (draw(f, q, qz) != 0)
		goto out;
	if (lines != NULL)
		*lines = (q->width + 2 * qz + 1) / 2;
	r = fits ? 0 : 1;
out:
	qr_free(q);
	return r;
}
