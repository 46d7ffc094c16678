/*
 * Syntax checks for config values (internal to lib/config.c). Each check returns NULL when
 * the value is acceptable, or a phrase that completes "KEY: 'VALUE' ..." (e.g. "must start
 * with smtp:// or smtps://"), written into why (size n) or a static string.
 */
#ifndef RC_CONFIG_CHECK_H
#define RC_CONFIG_CHECK_H

#include <stddef.h>
#include <stdint.h>

#define CFG_PROMPT_MAX 200
#define CFG_QUESTION_MAX 200
#define CFG_QUESTIONS_MAX 20

typedef const char *(*cfg_check_fn)(const char *v, char *why, size_t n);

const char *cfg_check_text(const char *v, char *why, size_t n);
const char *cfg_check_abs_path(const char *v, char *why, size_t n);
const char *cfg_check_store(const char *v, char *why, size_t n);
const char *cfg_check_channel_user(const char *v, char *why, size_t n);
const char *cfg_check_issuer(const char *v, char *why, size_t n);
const char *cfg_check_date(const char *v, char *why, size_t n);
const char *cfg_check_prompt(const char *v, char *why, size_t n);
const char *cfg_check_service(const char *v, char *why, size_t n);
const char *cfg_check_command(const char *v, char *why, size_t n);
const char *cfg_check_methods(const char *v, char *why, size_t n);
const char *cfg_check_questions(const char *v, char *why, size_t n);
const char *cfg_check_smtp_url(const char *v, char *why, size_t n);
const char *cfg_check_email(const char *v, char *why, size_t n);
const char *cfg_check_reset_url(const char *v, char *why, size_t n);
const char *cfg_check_sms_url(const char *v, char *why, size_t n);
const char *cfg_check_sms_body(const char *v, char *why, size_t n);
const char *cfg_check_telegram_api(const char *v, char *why, size_t n);
/* Comma/space separated system user names (frontend_users). */
const char *cfg_check_user_list(const char *v, char *why, size_t n);
const char *cfg_check_domains(const char *v, char *why, size_t n);
const char *cfg_check_hosts(const char *v, char *why, size_t n);

/* Bits of CFG_METHOD_* for a list that passed cfg_check_methods. */
unsigned cfg_methods_mask(const char *v);
/* Host part of an URL is 127.0.0.0/8, ::1 or localhost: 1, else 0. */
int cfg_check_url_loopback(const char *url);
/* The host of an URL (for messages), escaped, into out. */
void cfg_check_url_host(const char *url, char *out, size_t n);

#endif
