/* QR codes for the terminal: libqrencode, drawn with UTF-8 half blocks. */
#ifndef RC_QR_H
#define RC_QR_H

#include <stdio.h>

#define QR_QUIET_ZONE 4 /* light modules around the symbol (ISO/IEC 18004 asks for 4) */

/*
 * Print `text` as a QR code (error correction M, 8-bit mode) on f. Two module rows make one
 * text line: U+2580 upper half, U+2584 lower half, U+2588 full block, or a space, drawn in
 * explicit black on explicit white (ANSI SGR 30;107 per line, reset at its end), so the
 * symbol reads the same on a dark and a light terminal. A quiet zone of QR_QUIET_ZONE light
 * modules surrounds it. 0, or -1 (encoding failed or text too long for a QR code).
 */
int qr_print(FILE *f, const char *text);

#endif
