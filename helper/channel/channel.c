/*
 * channel_send: the root part of sending a message. It checks the destination and the
 * configuration, reads the channel's secret from its root-only file (and the SMTP CA
 * file), renders the SMS body, and hands everything to the unprivileged child (privsep.c),
 * an exec'd program that has dropped root (pam-recover-send), which does the network I/O. Failures are logged to syslog with the masked destination.
 */
#include "channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mail.h"
#include "privsep.h"
#include "sms.h"
#include "telegram.h"

#define SECRET_FILE_MAX (64 * 1024)
#define CA_FILE_MAX (1024 * 1024)

int channel_configured(const struct cfg *c, int kind, char *why, size_t n)
{
	const char *msg = NULL;

	switch (kind) {
	case METHOD_EMAIL:
		if (c->smtp_url == NULL)
			msg = "e-mail is not set up on this host (the administrator sets smtp_url in "
			      "pam_recover.conf)";
		break;
	case METHOD_SMS:
		if (c->sms_url == NULL)
			msg = "SMS is not set up on this host (the administrator sets sms_url in "
			      "pam_recover.conf)";
		break;
	case METHOD_TELEGRAM:
		if (c->telegram_token_file == NULL || c->telegram_api == NULL)
			msg = "Telegram is not set up on this host (the administrator sets "
			      "telegram_token_file in pam_recover.conf)";
		break;
	default:
		msg = "unknown channel";
	}
	if (why != NULL && n > 0)
		snprintf(why, n, "%s", msg != NULL ? msg : "");
	return msg == NULL;
}

/* Hint for a file that rc_open_trusted refused. */
static const char *fix_hint(int e)
{
	if (e == EPERM)
		return " (it must belong to root with mode 0600 or 0400)";
	if (e == ENOENT)
		return " (create it, owned by root, mode 0600)";
	return "";
}

/* First line of a root-only file (trailing CR and blanks dropped), malloc'd; wipe with
 * rc_free_secret. HX_OK or HX_CONFIG with err. */
static int read_secret(const char *key, const char *path, char **out, char *err, size_t n)
{
	const char *why = NULL;
	char *all = NULL;
	size_t len = 0, l;
	int fd, r = HX_CONFIG;

	*out = NULL;
	fd = rc_open_trusted(path, SECRET_FILE_MAX, 1, &why);
	if (fd < 0) {
		int e = errno;
		snprintf(err, n, "%s %s %s%s", key, path, why ? why : "cannot be opened",
			 fix_hint(e));
		goto out;
	}
	if (rc_read_all(fd, SECRET_FILE_MAX, &all, &len) != 0) {
		snprintf(err, n, "%s %s cannot be read (too large, or a NUL byte in it)", key,
			 path);
		goto out;
	}
	l = strcspn(all, "\n");
	while (l > 0 && (all[l - 1] == '\r' || all[l - 1] == ' ' || all[l - 1] == '\t'))
		l--;
	if (l == 0) {
		snprintf(err, n, "%s %s is empty (the secret goes on its first line)", key, path);
		goto out;
	}
	*out = strndup(all, l);
	if (*out == NULL) {
		snprintf(err, n, "out of memory");
		r = HX_SOFTWARE;
		goto out;
	}
	r = HX_OK;
out:
	if (fd >= 0)
		close(fd);
	rc_free_secret(all);
	return r;
}

/* The whole CA file (PEM), root-owned and not writable by others. */
static int read_ca(const char *path, char **out, char *err, size_t n)
{
	const char *why = NULL;
	int fd = rc_open_trusted(path, CA_FILE_MAX, 0, &why);
	int r = HX_CONFIG;

	*out = NULL;
	if (fd < 0) {
		snprintf(err, n, "smtp_ca_file %s %s", path, why ? why : "cannot be opened");
		return r;
	}
	if (rc_read_all(fd, CA_FILE_MAX, out, NULL) != 0)
		snprintf(err, n, "smtp_ca_file %s cannot be read (larger than 1 MiB, or binary)",
			 path);
	else
		r = HX_OK;
	close(fd);
	return r;
}

/* mail_from's default: pam-recover@HOSTNAME. */
static int default_from(char *out, size_t n)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		return -1;
	host[sizeof(host) - 1] = '\0';
	if (host[0] == '\0' ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(host))
		return -1;
	return rc_snprintf(out, n, "pam-recover@%s", host) < 0 ? -1 : 0;
}

/* The first run of exactly SECRET_CODE_DIGITS digits in text, or NULL. */
static const char *find_code(const char *text, char *out, size_t n)
{
	for (const char *p = text; p != NULL && *p != '\0';) {
		size_t l = strspn(p, "0123456789");
		if (l == SECRET_CODE_DIGITS && l < n) {
			memcpy(out, p, l);
			out[l] = '\0';
			return out;
		}
		p += l > 0 ? l : 1;
	}
	return NULL;
}

static int prepare_sms(const struct cfg *c, struct privsep_req *rq, char **body, char *err,
		       size_t n)
{
	size_t len = 0;

	if (strlen(rq->text) > SMS_TEXT_MAX) {
		snprintf(err, n, "the SMS text is longer than %d bytes", SMS_TEXT_MAX);
		return HX_DATAERR;
	}
	if (sms_render(c->sms_body, c->sms_content_type, rq->to, rq->text, rq->code, body, &len) !=
	    0) {
		snprintf(err, n, "sms_body is too long once filled in");
		return HX_CONFIG;
	}
	if (c->sms_content_type == CFG_SMS_JSON) {
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = NULL;
		if (tok != NULL) {
			json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
			o = json_tokener_parse_ex(tok, *body, (int)len);
			if (o != NULL && json_tokener_get_parse_end(tok) != len) {
				json_object_put(o);
				o = NULL;
			}
			json_tokener_free(tok);
		}
		if (o == NULL) {
			snprintf(err, n,
				 "sms_body is not valid JSON once filled in (with "
				 "sms_content_type = json, write the quotes yourself: "
				 "{\"to\":\"{to}\",\"text\":\"{text}\"})");
			return HX_CONFIG;
		}
		json_object_put(o);
	}
	rq->body = *body;
	return HX_OK;
}

/* The bot token, checked. HX_OK or HX_CONFIG with err. */
static int read_token(const struct cfg *c, char **out, char *err, size_t n)
{
	int r = read_secret("telegram_token_file", c->telegram_token_file, out, err, n);

	if (r == HX_OK && !tg_token_ok(*out)) {
		rc_free_secret(*out);
		*out = NULL;
		snprintf(err, n,
			 "telegram_token_file %s does not hold a bot token (digits:letters, as "
			 "@BotFather gives it) on its first line",
			 c->telegram_token_file);
		r = HX_CONFIG;
	}
	return r;
}

static int check_to(int kind, const char *to, char *err, size_t n)
{
	int ok = kind == METHOD_EMAIL ? channel_email_ok(to)
		 : kind == METHOD_SMS ? channel_phone_ok(to)
				      : channel_chat_ok(to);
	if (ok)
		return HX_OK;
	snprintf(err, n, "%s",
		 kind == METHOD_EMAIL ? "not a valid e-mail address (local@domain, no spaces or "
					"line breaks)"
		 : kind == METHOD_SMS ? "not a valid phone number (international form: + and 6 "
					"to 15 digits, e.g. +37126123456)"
				      : "not a valid Telegram chat id");
	return HX_DATAERR;
}

static int send_one(const struct cfg *c, int kind, const char *to, const char *subject,
		    const char *text, const char *code, const char *msgid, int receipt_fd,
		    char *err, size_t errlen)
{
	struct privsep_req rq;
	struct privsep_res res;
	char found[SECRET_CODE_DIGITS + 1], masked[128], why[PRIVSEP_ERR_MAX + 64], from[300];
	char *secret = NULL, *ca = NULL, *body = NULL;
	int r;

	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	why[0] = '\0';
	masked[0] = '\0';
	if (c == NULL || channel_name(kind) == NULL || text == NULL) {
		r = HX_SOFTWARE;
		snprintf(why, sizeof(why), "bad channel request");
		goto out;
	}
	channel_mask(kind, to, masked, sizeof(masked));
	if ((r = check_to(kind, to, why, sizeof(why))) != HX_OK)
		goto out;
	if (!channel_configured(c, kind, why, sizeof(why))) {
		r = HX_CONFIG;
		goto out;
	}
	rq.to = to;
	rq.text = text;
	rq.msgid = msgid;
	rq.code = code != NULL ? code : find_code(text, found, sizeof(found));
	switch (kind) {
	case METHOD_EMAIL:
		if (subject == NULL || !mail_header_ok(subject)) {
			r = HX_DATAERR;
			snprintf(why, sizeof(why),
				 "the subject has a line break or a control "
				 "character: refused");
			goto out;
		}
		rq.op = PRIVSEP_MAIL;
		rq.url = c->smtp_url;
		rq.tls = c->smtp_tls;
		if (c->mail_from != NULL)
			rq.from = c->mail_from;
		else if (default_from(from, sizeof(from)) == 0)
			rq.from = from;
		else {
			r = HX_CONFIG;
			snprintf(why, sizeof(why),
				 "set mail_from in pam_recover.conf (the host name "
				 "does not make a usable sender address)");
			goto out;
		}
		rq.subject = subject;
		rq.user = c->smtp_user;
		if (c->smtp_user != NULL &&
		    (r = read_secret("smtp_password_file", c->smtp_password_file, &secret, why,
				     sizeof(why))) != HX_OK)
			goto out;
		if (c->smtp_ca_file != NULL &&
		    (r = read_ca(c->smtp_ca_file, &ca, why, sizeof(why))) != HX_OK)
			goto out;
		rq.secret = secret;
		rq.ca = ca;
		break;
	case METHOD_SMS:
		rq.op = PRIVSEP_SMS;
		rq.url = c->sms_url;
		rq.content_type = c->sms_content_type;
		if (c->sms_auth_file != NULL) {
			struct sms_auth a;
			char aw[160];
			if ((r = read_secret("sms_auth_file", c->sms_auth_file, &secret, why,
					     sizeof(why))) != HX_OK)
				goto out;
			int ok = sms_auth_parse(secret, &a, aw, sizeof(aw)) == 0;
			rc_wipe(&a, sizeof(a));
			if (!ok) {
				r = HX_CONFIG;
				snprintf(why, sizeof(why), "sms_auth_file %s: the first line %s",
					 c->sms_auth_file, aw);
				goto out;
			}
			rq.secret = secret;
		}
		if ((r = prepare_sms(c, &rq, &body, why, sizeof(why))) != HX_OK)
			goto out;
		break;
	default:
		rq.op = PRIVSEP_TG_SEND;
		rq.url = c->telegram_api;
		if ((r = read_token(c, &secret, why, sizeof(why))) != HX_OK)
			goto out;
		rq.secret = secret;
		if (strlen(text) > TG_TEXT_MAX) {
			r = HX_DATAERR;
			snprintf(why, sizeof(why), "the message is longer than %d bytes",
				 TG_TEXT_MAX);
			goto out;
		}
	}
	r = privsep_run(c, &rq, PRIVSEP_TIMEOUT, receipt_fd, &res);
	if (r != HX_OK)
		snprintf(why, sizeof(why), "%s", res.err[0] ? res.err : "sending failed");
out:
	if (r == HX_OK)
		syslog(LOG_INFO, "sent a message by %s to %s", channel_name(kind), masked);
	else
		syslog(LOG_WARNING, "could not send a message by %s to %s: %s",
		       channel_name(kind) ? channel_name(kind) : "?", masked, why);
	if (r != HX_OK && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	rc_free_secret(secret);
	free(ca);
	if (body != NULL) {
		rc_wipe(body, strlen(body));
		free(body);
	}
	rc_wipe(found, sizeof(found));
	rc_wipe(&res, sizeof(res));
	return r;
}

int channel_send_code(const struct cfg *c, int kind, const char *to, const char *subject,
		      const char *text, const char *code, char *err, size_t errlen)
{
	return send_one(c, kind, to, subject, text, code, NULL, -1, err, errlen);
}

int channel_deliver(const struct cfg *c, int kind, const char *to, const char *subject,
		    const char *text, const char *msgid, int receipt_fd, char *err, size_t errlen)
{
	return send_one(c, kind, to, subject, text, NULL, msgid, receipt_fd, err, errlen);
}

int channel_send(const struct cfg *c, int kind, const char *to, const char *subject,
		 const char *text, char *err, size_t errlen)
{
	return channel_send_code(c, kind, to, subject, text, NULL, err, errlen);
}

/* getUpdates / getMe through the child. */
static int tg_ask(const struct cfg *c, int op, struct privsep_res *res, char *err, size_t n)
{
	struct privsep_req rq;
	char *token = NULL;
	int r;

	memset(&rq, 0, sizeof(rq));
	memset(res, 0, sizeof(*res));
	if (!channel_configured(c, METHOD_TELEGRAM, err, n))
		return HX_CONFIG;
	if ((r = read_token(c, &token, err, n)) != HX_OK)
		return r;
	rq.op = op;
	rq.url = c->telegram_api;
	rq.secret = token;
	r = privsep_run(c, &rq, PRIVSEP_TIMEOUT, -1, res);
	if (r != HX_OK) {
		snprintf(err, n, "%s", res->err[0] ? res->err : "the Telegram request failed");
		syslog(LOG_WARNING, "Telegram %s failed: %s",
		       op == PRIVSEP_TG_ME ? "getMe" : "getUpdates", err);
	}
	rc_free_secret(token);
	return r;
}

int channel_tg_updates(const struct cfg *c, struct tg_candidate *out, size_t max, size_t *count,
		       char *err, size_t n)
{
	struct privsep_res res;
	int r = tg_ask(c, PRIVSEP_TG_UPDATES, &res, err, n);

	*count = 0;
	if (r == HX_OK) {
		/* the child's lines are untrusted: each is checked again */
		for (char *line = res.result; *line != '\0' && *count < max;) {
			size_t l = strcspn(line, "\n");
			char *sp = memchr(line, ' ', l);
			if (sp != NULL) {
				size_t cl = (size_t)(sp - line), kl = l - cl - 1;
				struct tg_candidate *t = &out[*count];
				if (cl < sizeof(t->chat) && kl >= 6 && kl < sizeof(t->code)) {
					memcpy(t->chat, line, cl);
					t->chat[cl] = '\0';
					memcpy(t->code, sp + 1, kl);
					t->code[kl] = '\0';
					if (channel_chat_ok(t->chat) &&
					    strspn(t->code, "0123456789") == kl)
						(*count)++;
				}
			}
			line += l + (line[l] == '\n');
		}
	}
	rc_wipe(&res, sizeof(res));
	return r;
}

int channel_tg_botname(const struct cfg *c, char *name, size_t n, char *err, size_t errlen)
{
	struct privsep_res res;
	int r = tg_ask(c, PRIVSEP_TG_ME, &res, err, errlen);
	size_t l = strlen(res.result);

	if (n > 0)
		name[0] = '\0';
	if (r == HX_OK) {
		if (l < 5 || l >= n ||
		    strspn(res.result, "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != l) {
			snprintf(err, errlen, "the Telegram Bot API gave no usable bot name");
			r = HX_UNAVAIL;
		} else
			memcpy(name, res.result, l + 1);
	}
	return r;
}
