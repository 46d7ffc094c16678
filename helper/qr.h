/* QR codes for the terminal: libqrencode, drawn with UTF-8 half blocks. */
#ifndef RC_QR_H
#define RC_QR_H

#include <stdio.h>

#define QR_QUIET_ZONE 4     /* light modules around the symbol (ISO/IEC 18004 asks for 4) */
#define QR_QUIET_ZONE_MIN 2 /* the least used to make a symbol fit (phone apps read it) */

/*
 * Print `text` as a QR code (8-bit mode) on f. Two module rows make one text line: U+2580
 * upper half, U+2584 lower half, U+2588 full block, or a space, drawn in explicit black on
 * explicit white (ANSI SGR 30;107 per line, reset at its end), so the symbol reads the same on
 * a dark and a light terminal, surrounded by a light quiet zone.
 *
 * The symbol is made to fit max_lines text lines and max_cols columns (0: no limit): the
 * first of error correction M with a quiet zone of QR_QUIET_ZONE, then L, then the same with
 * a quiet zone of 3 and QR_QUIET_ZONE_MIN, that fits. Returns 0 when it fits, 1 when nothing
 * fits (then it is drawn as small as it goes: error correction L, the least quiet zone),
 * -1 when encoding failed (text too long for a QR code) or f could not be written.
 * *lines (may be NULL) gets the number of lines printed.
 */
int qr_print(FILE *f, const char *text, int max_lines, int max_cols, int *lines);

#endif
