/*
 * `pam-recover reset`: the password reset flow of the seeds (user name -> method -> proof ->
 * new password -> password set -> 2FA cleared -> notices -> done), inside the helper.
 *
 * One step engine (reset_steps.c, reset_proof.c, reset_finish.c) and two front ends that
 * render the same steps: reset_json.c (one JSON object per line each way, for a web front
 * end) and reset_tty.c (a terminal; also the login shell of a `recover` account over SSH).
 * The engine builds every step as a JSON object ({"step":NAME, "message":TEXT, ...}); the
 * JSON front end prints it and reads the reply, the terminal front end shows the message
 * and prompts. So both front ends follow exactly one flow. The protocol is described in
 * doc/reset-protocol.md (and belongs in pam-recover(8)).
 *
 * Nothing here trusts the caller: any caller may start a reset for any user name and
 * proves itself only through a recovery channel. Unknown user names get the same steps,
 * messages and (as far as can be) timing as real ones (reset_methods.c).
 */
#ifndef RC_RESET_H
#define RC_RESET_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "helper.h"
#include "method.h"
#include "quota.h"

#define RESET_PURPOSE "reset"
#define RESET_INPUT_MAX 1024     /* one typed value (tty.h's TTY_LINE_MAX) */
#define RESET_MAX_ASKS 40        /* questions in one run, whatever happens */
#define RESET_BAD_REPLIES 3      /* malformed replies to one step before the run ends */
#define RESET_PASSWORD_TRIES 5   /* refused new passwords before the run ends */
#define RESET_TOTP_TRIES 3       /* wrong codes at the keep-2FA step before going on without */
#define RESET_SEND_FLOOR_MS 1500 /* the e-mail/SMS/Telegram step takes at least this long */
#define RESET_LOCK_DEFAULT 900   /* seconds a method stays locked when unlock_time is 0 */

/* Methods are enum method (method.h); their JSON ids are method_id. */

struct reset;

/* A front end. */
struct reset_ui {
	/*
	 * Show `step` (taken over) and read the string field `field` of the reply into out
	 * (n bytes). On a terminal, `prompt` is the prompt and `secret` turns echo off; a step
	 * with "methods" is shown as a numbered list. When out2 != NULL a confirmation is
	 * wanted: the terminal asks again with `prompt2`; in JSON the reply's optional
	 * "confirm" field goes to out2 (absent: a copy of out). Returns HX_OK, or an exit
	 * status when the input ended or was unusable (the front end has said so).
	 */
	int (*ask)(struct reset *r, struct json_object *step, const char *field, const char *prompt,
		   int secret, char *out, size_t n, const char *prompt2, char *out2, size_t n2);
	/* Show a step that needs no reply ("error", "info", "done"); takes it over. */
	void (*show)(struct reset *r, struct json_object *step);
};

/* One proof method offered to this user. */
struct reset_offer {
	int method;     /* enum method */
	char hint[128]; /* masked contact, or "" for the question */
};

/* The state of one run. */
struct reset {
	struct hctx *h;
	const struct reset_ui *ui;
	struct cfg cfg;
	int have_cfg;
	struct seal_key key;
	struct store *store;

	char user[HX_USER_MAX];
	int known;     /* the account exists (passwd, or store data for virtual users) */
	int superuser; /* uid 0: handled as an unknown name */
	int enrolled;  /* TOTP 2FA is on */
	struct reset_offer offers[METHOD_COUNT];
	int n_offers;
	char question[512]; /* the security question shown (a plausible one for unknown users) */

	int proofs;    /* independent proofs given so far */
	int need;      /* proofs wanted: 1, or 2 with reset_require_two_proofs and 2FA */
	unsigned used; /* bits (1 << method) already used as proofs */
	int keep_2fa;  /* a valid TOTP / backup code was given (reset_keep_2fa_with_code) */
	int totp_asked;
	char proof_names[64]; /* "email", "email+question", for the audit and the notice */

	int last_method;               /* the method reset_code_step accepted a code for */
	int asks;                      /* questions asked in this run (RESET_MAX_ASKS) */
	int code_mode;                 /* started with --code */
	const char *code_channel;      /* --channel for --code, or NULL: any channel */
	char caller[QUOTA_CALLER_MAX]; /* the per-caller limit's key (quota_caller); "": none */
};

/* reset_steps.c: the flow. Returns the exit status. */
int reset_run(struct reset *r);

/* Step objects and errors (reset_ui.c). */
struct json_object *reset_step(const char *name, const char *message);
/* {"step":"error","code":CODE,"message":MSG,"final":FINAL} through ui->show. */
void reset_error(struct reset *r, const char *code, int final, const char *fmt, ...)
	RC_PRINTF(4, 5);
/* Ask through the front end, counting against RESET_MAX_ASKS. */
int reset_ask(struct reset *r, struct json_object *step, const char *field, const char *prompt,
	      int secret, char *out, size_t n);
/* An audit event for the target user (never a secret); failures are logged, not fatal. */
void reset_audit(struct reset *r, const char *event, const char *method, const char *detail);

/* reset_methods.c: which methods the account offers (fills r->offers, r->question);
 * unknown users get a plausible, stable list. HX_OK or an exit status (store). */
int reset_methods(struct reset *r);
/* method_parse, and the spellings people type as well: "phone", "e-mail". -1 if none. */
int reset_method_parse(const char *id);

/* reset_proof.c: one proof by method m (send a code and check it, or the question).
 * HX_OK proven; HX_WRONG (the flow may offer the method list again); other exit statuses
 * end the run. Every outcome has been shown to the user. */
int reset_prove(struct reset *r, int method);
/* reset_code.c: the code step alone (also `reset --code`): method -1 = any channel with a live code.
 * `real`: a code was really sent (0: unknown user or wrong address, checked for show).
 * HX_OK with r->last_method set, HX_WRONG, or an exit status that ends the run. */
int reset_code_step(struct reset *r, int method, int real);
/* reset_send.c: send a reset code by method m to `to` (NULL: nothing is sent: unknown
 * user or wrong address); reserved under every quota first, real or not (quota.h).
 * HX_OK (also when nothing went out), HX_WRONG (quota: choose another method), or an exit
 * status that ends the run. */
int reset_send_code(struct reset *r, int m, const char *to);

/* reset_keep.c: the keep-2FA step (optional TOTP / backup code). HX_OK (kept or not), or
 * an exit status. */
int reset_totp_step(struct reset *r);

/* reset_lock.c: method locks and the shared store-error answer. */
int reset_lock_window(const struct reset *r);
int reset_method_locked(struct reset *r, int m); /* 1, 0, or -1 (store) */
void reset_lock_method(struct reset *r, int m);
void reset_locked_error(struct reset *r, int m);
int reset_store_fail(struct reset *r); /* error step "store" (final); HX_IOERR */

/* reset_finish.c: set the password, clear 2FA, revoke codes, notify, post_reset_command. */
int reset_password_step(struct reset *r);

/* reset_json.c / reset_tty.c */
extern const struct reset_ui reset_ui_json;
extern const struct reset_ui reset_ui_tty;
void reset_json_done(void);

/* Sleep until `start_ms` (a reset_clock_ms value) + floor_ms has passed (reset_ui.c). */
int64_t reset_clock_ms(void);
void reset_pad(int64_t start_ms, int floor_ms);

#endif
