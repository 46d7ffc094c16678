/*
 * ASCII character classes, independent of the locale (ctype.h's answers follow LC_CTYPE and
 * take only unsigned char values or EOF): for parsers of names, addresses and numbers.
 */
#ifndef RC_CHARS_H
#define RC_CHARS_H

/* A blank inside a line: space or tab. */
static inline int rc_is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static inline int rc_is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static inline int rc_is_lower(int ch)
{
	return ch >= 'a' && ch <= 'z';
}

static inline int rc_is_upper(int ch)
{
	return ch >= 'A' && ch <= 'Z';
}

static inline int rc_is_alpha(int ch)
{
	return rc_is_lower(ch) || rc_is_upper(ch);
}

static inline int rc_is_alnum(int ch)
{
	return rc_is_alpha(ch) || rc_is_digit(ch);
}

static inline int rc_is_xdigit(int ch)
{
	return rc_is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* White space as the C locale has it: blank, newline, vertical tab, form feed, return. */
static inline int rc_is_space(int ch)
{
	return rc_is_blank(ch) || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* ASCII letters only: in a Turkish locale ctype's tolower('I') is not 'i'. */
static inline int rc_to_lower(int ch)
{
	return rc_is_upper(ch) ? ch - 'A' + 'a' : ch;
}

static inline int rc_to_upper(int ch)
{
	return rc_is_lower(ch) ? ch - 'a' + 'A' : ch;
}

#endif
