/*
 * The second factor, proven before a command changes second-factor material or recovery
 * contacts while 2-step verification is on: `backup-codes` (a new set), `enable` (again),
 * `device add`, `device remove`, `app-password add`, `contact set`, `contact remove` and
 * `disable`. A current code from any of the user's devices counts. The password is asked
 * first (identity_confirm); the password alone never replaces the second factor.
 *
 * The rule (pam-recover(8), "THE SECOND FACTOR"):
 * - A caller other than root gives a current code from the authenticator app. A backup code
 *   is not enough: whoever has the password and a stolen or forgotten printout of backup
 *   codes could otherwise move 2-step verification to a phone of their own.
 * - Except when the user states that the app is lost (`--lost-app`), and only for `enable`
 *   (set up a new phone) and `disable`: then a backup code is asked instead (and only a
 *   backup code). The other backup codes stop working with the change (enable replaces the
 *   set, disable removes it), and every verified recovery contact is told (factor_notify).
 * - Root, on its own account or with --user, is asked as before: nothing for backup-codes,
 *   app-password and contact; a code from the app or a backup code for enable and disable.
 */
#ifndef RC_FACTOR_H
#define RC_FACTOR_H

#include "helper.h"
#include "uverb.h"

#define FACTOR_LOST_APP 1u /* the user stated that the app is lost: a backup code only */

/*
 * Prove the second factor of u->user for the command u->name, when 2-step verification is
 * on (HX_OK at once when it is off). `field`: the JSON field of the code; `root_prompt`:
 * the prompt root gets (a code or a backup code), NULL when root is not asked; `unchanged`:
 * the end of a refusal ("2-step verification stays on"). *by_backup (may be NULL) is set when a
 * backup code was accepted. HX_OK, or HX_WRONG / HX_TEMPFAIL / HX_IOERR / HX_DATAERR after
 * printing why (a wrong code counts like a wrong code at login, and locks alike).
 */
int factor_prove(const struct hctx *h, struct uverb *u, const char *field, const char *root_prompt,
		 unsigned flags, const char *unchanged, int *by_backup) RC_MUST_CHECK;

/* After a committed change proven with a backup code for a lost app: a notice to every
 * verified recovery contact (what changed and when; never a code). Best effort: failures go
 * to syslog and the audit. `what`: "2-step verification was set up again on a new
 * phone" or similar. Called right after the commit, before anything more is written to
 * the caller: a caller that stops reading its output must not hold the notice back.
 * Returns how many contacts were told (for factor_notified). */
int factor_notify(const struct hctx *h, struct uverb *u, const char *what);

/* The line that says so, once the verb's own answer is out (nothing in JSON mode). */
void factor_notified(int told);

#endif
