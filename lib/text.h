/*
 * Text that people type and that ends up compared, hashed or pasted into a URL: one
 * normalisation for security-question answers (set by `contact set question`, checked by
 * `reset`), one for e-mail addresses, URL escaping, and a UTF-8 sanity check.
 */
#ifndef RC_TEXT_H
#define RC_TEXT_H

#include <stddef.h>

#include "util.h"

#define TEXT_ANSWER_MAX 256 /* bytes of a normalised answer, without the NUL */

/*
 * A security-question answer as it is hashed (Argon2id) and checked: surrounding white space
 * removed, every inner run of spaces and tabs made one space, ASCII letters lower-cased
 * ("  New   York " and "new york" are the same answer). Other bytes are kept as they are;
 * the input must be valid UTF-8 without control characters (tab aside).
 * 0, or -1 (out wiped) when the answer is empty after that, longer than TEXT_ANSWER_MAX or
 * than out (n bytes), or holds a control character or bad UTF-8.
 */
int text_normalise_answer(const char *in, char *out, size_t n) RC_MUST_CHECK;

/*
 * An e-mail address as compared: surrounding white space removed, ASCII lower-cased (the
 * local part too: no mail system in use tells "Alice" and "alice" apart). 0, or -1 when it
 * is empty, does not fit, or holds white space inside, a control character or bad UTF-8.
 */
int text_normalise_email(const char *in, char *out, size_t n) RC_MUST_CHECK;

/* Percent-encode everything but RFC 3986 unreserved characters. 0, or -1 (out = "") when
 * the result does not fit in n bytes. */
int text_url_escape(const char *in, char *out, size_t n) RC_MUST_CHECK;

/* 1 if s is valid UTF-8 (shortest forms, no surrogates) without C0 controls or DEL (a tab
 * is allowed when allow_tab), C1 controls (U+0080-U+009F), U+2028/U+2029, or the bidi
 * controls U+202A-U+202E and U+2066-U+2069 (text shown on terminals and in mail must look
 * like what it is), else 0. */
int text_utf8_ok(const char *s, int allow_tab);

/* Number of UTF-8 code points of a valid UTF-8 string. */
size_t text_utf8_len(const char *s);

#endif
