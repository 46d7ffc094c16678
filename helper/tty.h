/*
 * Input for the interactive user verbs (enable, disable, identity confirmation, ...).
 *
 * Human mode: the prompt goes to the terminal (/dev/tty; without one, stderr) and one line is
 * read from it (without one, from standard input), with echo off for secrets. Lines are
 * bounded, a NUL byte is refused, and the terminal is restored on every path, signals too.
 *
 * --json mode: requests are JSON objects, one per line on standard input (at most
 * TTY_JSON_MAX bytes, no NUL). A value is the string field of that name in the current
 * request; when the current request has no such field the next line is read. A field is used
 * once (a second request for it reads the next line). So a front end may send
 * {"password":"...","code":"..."} at once, or one object per step.
 */
#ifndef RC_TTY_H
#define RC_TTY_H

#include <stddef.h>

#define TTY_LINE_MAX 1024 /* longest typed line (passwords, codes, names) */
#define TTY_JSON_MAX 4096 /* longest JSON request line */

/*
 * Ask for one value (`field` in --json mode, `prompt` on the terminal). `secret`: echo off.
 * out (n bytes, n <= TTY_LINE_MAX) gets the value without the newline. Returns 0 (HX_OK), or
 * an exit status after printing what went wrong and that nothing changed: HX_DATAERR for a
 * line that is too long, holds a NUL byte, is not a JSON object or lacks the field, or for
 * the end of input; HX_SOFTWARE for a terminal that cannot be set up.
 * `out` is wiped on failure.
 */
int tty_ask(const char *field, const char *prompt, int secret, char *out, size_t n);

/* Write a line of text to the terminal in human mode (for questions that are not output);
 * a newline is added unless text ends with one. Nothing in --json mode. */
void tty_note(const char *text);

/* Close the terminal and wipe and release the pending JSON request. Safe to call twice. */
void tty_done(void);

#endif
