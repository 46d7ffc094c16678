/*
 * Telegram channel: the Bot API (telegram_api, default https://api.telegram.org) with the
 * token from telegram_token_file. The token is part of every URL (/bot<TOKEN>/method), so no
 * URL is ever logged or shown. Responses are parsed with json-c by the pure functions below
 * (fuzzed by tests/fuzz/fuzz_gateway.c); the network part runs in the unprivileged child.
 */
#ifndef RC_TELEGRAM_H
#define RC_TELEGRAM_H

#include <stddef.h>

#include "privsep.h"
#include "util.h"

#define TG_TOKEN_MAX 128
#define TG_TEXT_MAX 4096
#define TG_CANDIDATES_MAX 32
#define TG_NAME_MAX 64

/* A bot token as BotFather issues it: digits ':' [A-Za-z0-9_-]+, at most 128 bytes. */
int tg_token_ok(const char *t);

/*
 * The answer to any Bot API method: 1 when it is a JSON object with "ok": true; 0 when "ok"
 * is false (desc gets the API's "description", escaped); -1 when it is not a Bot API answer.
 */
int tg_parse_ok(const char *body, size_t len, char *desc, size_t n);

/* One message that may be a link request: a private chat whose text was "/start CODE" or
 * "CODE" (CODE: 6 to 12 digits). */
struct tg_candidate {
	char chat[24];
	char code[16];
};

/* getUpdates: the candidates, newest first, at most max. Count in *count. 0, or -1 when
 * the answer is not a successful getUpdates result (desc as for tg_parse_ok). */
int tg_parse_updates(const char *body, size_t len, struct tg_candidate *out, size_t max,
		     size_t *count, char *desc, size_t n);

/* getMe: the bot's user name ([A-Za-z0-9_]{5,32}). 0 or -1. */
int tg_parse_me(const char *body, size_t len, char *name, size_t n);

/* Root side (channel.c), through the unprivileged child: the link candidates among the
 * bot's newest updates, and the bot's user name (for https://t.me/NAME?start=CODE). HX_OK or
 * an exit status with err (never the token). */
struct cfg;
int channel_tg_updates(const struct cfg *c, struct tg_candidate *out, size_t max, size_t *count,
		       char *err, size_t n);
int channel_tg_botname(const struct cfg *c, char *name, size_t n, char *err, size_t errlen);

/* Child side: PRIVSEP_TG_SEND, PRIVSEP_TG_UPDATES (res->result: "CHAT CODE\n" lines),
 * PRIVSEP_TG_ME (res->result: the bot's user name). */
int tg_run(const struct privsep_req *r, struct privsep_res *res);

#endif
