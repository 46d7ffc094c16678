#!/bin/bash
# `pam-recover admin doctor` on good and broken stacks (tests/helper/doctor/): the exit status
# (0 clean, 1 warnings only, 2 errors, 64 usage, 66 cannot read, 77 not root), the finding
# text with FILE:LINE, and --json. Runs as root against a temporary config, key and store;
# the stacks live in temporary directories (--pamd), never in /etc/pam.d. The doctor runs
# in a private mount namespace that holds the test's own /etc/passwd (its accounts), its
# own /etc/ssh and the helper installed setuid root at its compiled-in path, so nothing
# depends on the host's users, sshd settings or installation.
set -u
. "$(dirname "$0")/../lib/rctest.sh"
rc_init doctor

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
H="$top_builddir/pam-recover"
MOD="$top_builddir/.libs/pam_recover.so"
FIX="$top_srcdir/tests/helper/doctor"

if [ "$(id -u)" != 0 ]; then
	rc_skip_all "needs root"
fi
for tool in setpriv unshare mount /usr/bin/python3; do
	command -v "$tool" >/dev/null 2>&1 || { rc_skip_all "needs $tool"; }
done
[ -x "$H" ] || { rc_abort "$H not built"; }
[ -f "$MOD" ] || { rc_abort "$MOD not built"; }

T=$(mktemp -d /tmp/pam-recover-doctor.XXXXXX)
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT

# The helper's compiled-in path (the module runs it; the doctor checks it).
HELPER_PATH=$(tr '\0' '\n' <"$H" | grep -E '^/([[:alnum:]_.-]+/)+pam-recover$' | head -1)
[ -n "$HELPER_PATH" ] || { rc_abort "no helper path in $H"; }
HDIR="$T/helper-dir"   # mounted over dirname(HELPER_PATH) in the namespace
mkdir -p "$HDIR" "$T/etc-ssh/sshd_config.d"
install -m 4755 -o root -g root "$H" "$HDIR/pam-recover"
# The module's check back end (pam-recover-check, run without root), the same way.
CHECK_PATH=$(tr '\0' '\n' <"$MOD" | grep -E '^/([[:alnum:]_.-]+/)+pam-recover-check$' | head -1)
[ -n "$CHECK_PATH" ] || { rc_abort "no pam-recover-check path in $MOD"; }
CDIR="$T/check-dir"
mkdir -p "$CDIR"
install -m 4755 -o root -g root "$top_builddir/pam-recover-check" "$CDIR/pam-recover-check"
# accounts: root (enrolled below) and system accounts without a login shell
# The accounts live in ETCTOP/passwd, laid over /etc as a read-only overlay in the namespace:
# a file bound over /etc/passwd would be unmounted when useradd elsewhere renames the file.
ETCTOP="$T/etc-top"
mkdir -p "$ETCTOP"
PASSWD="$ETCTOP/passwd"
accounts() { # [EXTRA-LINES]
	printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' \
		'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin' \
		'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$PASSWD"
	[ -z "${1:-}" ] || printf '%s\n' "$1" >>"$PASSWD"
}
accounts
# ns COMMAND...: run in a private mount namespace with the test's passwd, /etc/ssh and helper.
# The helper's directory (/usr/bin) gets a read-only overlay with the test's helper on top,
# so the rest of that directory (mount, the shell's tools) stays where it is.
ns() {
	unshare -m --propagation private /bin/sh -c '
		mount -t overlay overlay -o "lowerdir=$(dirname "$1"):/etc" /etc &&
			"$7" "$2" "$3" "$5" "$6" &&
			mount --bind "$4" /etc/ssh || exit 70
		shift 7
		exec "$@"' ns "$PASSWD" "$HDIR" "$(dirname "$HELPER_PATH")" "$T/etc-ssh" \
		"$CDIR" "$(dirname "$CHECK_PATH")" "$top_srcdir/tests/helper/layover.sh" "$@"
}


# A configuration, key and store; root is enrolled (the console stack asks root for a code).
conf() { # FILE STORE-DIR [EXTRA-LINES]
	printf 'store = sqlite:%s/state.db\nkey_file = %s/key\n%s' "$2" "$T" "${3:-}" >"$1"
	chmod 644 "$1"
}
CONF="$T/pam_recover.conf"
conf "$CONF" "$T/state"
"$H" --config "$CONF" admin init >/dev/null || { rc_abort "admin init"; }
"$H" --config "$CONF" admin enrol root >/dev/null || { rc_abort "admin enrol root"; }

# The good stacks: Debian's common-* and the shipped examples, naming the built module.
good() { # DIR
	rm -rf "$1"
	mkdir -p "$1"
	cp "$FIX"/common/* "$1"/
	for f in "$top_srcdir"/conf/pam.d/*; do
		sed "s#pam_recover\.so#$MOD#g" "$f" >"$1/$(basename "$f")"
	done
	# the one-field stack for Dovecot (split_pass, pam_unix requisite, forwarded_code)
	for f in "$FIX"/good/*; do
		sed "s#@MODULE@#$MOD#g" "$f" >"$1/$(basename "$f")"
	done
}
# The same with 2-step verification mandatory: no nullok on the module lines.
mandatory() { # DIR
	good "$1"
	sed -i "s#\($MOD.*\) nullok#\1#" "$1"/*
	! grep -q "$MOD.*nullok" "$1"/* || { rc_abort "mandatory(): nullok left"; }
}
# The good stacks with the files of FIXTURE-DIR laid over them.
stack() { # DIR FIXTURE-DIR
	good "$1"
	for f in "$2"/*; do
		sed "s#@MODULE@#$MOD#g" "$f" >"$1/$(basename "$f")"
	done
}
# The line of the first pam_recover.so line in a shipped example (they change).
at() { echo "$P/$1:$(grep -n "^auth.*$MOD" "$P/$1" | head -1 | cut -d: -f1)"; }
doctor() { ns "$H" --config "${DCONF:-$CONF}" admin doctor --pamd "$P" "$@"; }
doctor_json() { ns "$H" --config "${DCONF:-$CONF}" --json admin doctor --pamd "$P" "$@"; }
P="$T/pamd"

# ---- the good case ----
good "$P"
expect 0 "good: the shipped examples (opt-in: nullok without a date is a policy)" -- doctor
contains "$T/out" "No problems found" "good: says so"
contains "$T/out" "4 services use pam_recover.so" "good: counts sshd, dovecot, login, su"
expect 0 "good: --json" -- doctor_json
[ "$(json "$T/out" 'd["ok"], d["findings"]')" = "(True, [])" ] && ok "good: json ok, no findings" ||
	bad "good: json $(cat "$T/out")"
mandatory "$P"
expect 0 "good: the shipped examples without nullok (root is enrolled)" -- doctor
stack "$P" "$FIX/syntax"
expect 0 "good: continuations, [...] with spaces, comments, substack, include" -- doctor

# ---- broken stacks ----
# broken NAME STATUS FILE:LINE TEXT
broken() {
	stack "$P" "$FIX/broken/$1"
	expect "$2" "broken/$1" -- doctor
	contains "$T/out" "$P/$3" "broken/$1: names $3"
	contains "$T/out" "$4" "broken/$1: says what is wrong"
	contains "$T/out" "fix: " "broken/$1: says what to do"
}
broken sufficient 2 "sshd:4: pam_recover.so is \`sufficient\` here" \
	"a wrong or missing code is ignored and the password alone logs in"
contains "$T/out" "use \`required\` (or \`requisite\`)" "broken/sufficient: the fix is required"
broken code-alone 2 "sshd:3:" "a right code alone logs in"
broken missing 2 "sshd: pam_recover.so is not in this stack" "logins to sshd need no code"
broken forward-no-ufp 2 "dovecot:5: pam_unix.so follows a forward_pass line ($P/dovecot:3) without use_first_pass" \
	"Dovecot answers that prompt with the password and code"
broken app-no-forward 2 "dovecot:2:" "no pam_recover.so line after this app_passwords line asks for a code"
broken success-done 2 "sshd:3: [success=done default=ignore] belongs on the app_passwords line only" \
	"the password alone logs in"
broken dash-missing 2 "sshd:3: pam_recover.so is not installed at /nonexistent/security/pam_recover.so" \
	"libpam skips this line silently and nobody is asked for a code"
broken dash-present 1 "sshd:3: the leading '-'" "logins would then need no code"
contains "$T/out" "0 errors" "broken/dash-present: a warning, not an error"
broken jump-over 2 "sshd:2: the jump in [success=2 default=ignore] skips pam_recover.so" \
	"the password alone logs in"
broken deny-after 2 "sshd:4: pam_deny.so is reached even with the right password and code" \
	"nobody can log in"
broken bad-control 2 "sshd:3: libpam cannot read the control (unknown return value 'defualt')" \
	"even the right password and code are refused"
# a long unknown word is cut in the reason, not dropped with it
broken long-control 2 "sshd:3: libpam cannot read the control (unknown return value '$(printf 'x%.0s' $(seq 40))...')" \
	"even the right password and code are refused"

# the one-field stack (Dovecot: IMAP, POP3, SMTP AUTH)
broken forward-pass 2 "dovecot:3: forward_pass checks the code before the password module has checked the password" \
	"anyone who knows a user name can send wrong codes"
contains "$T/out" "fix: use the four lines for one-field services: auth [success=done default=ignore] pam_recover.so app_passwords; auth requisite pam_recover.so split_pass nullok; auth requisite pam_unix.so use_first_pass; auth required pam_recover.so forwarded_code nullok" \
	"broken/forward-pass: suggests the four-line stack"
broken dovecot-no-module 2 "dovecot: pam_recover.so is not in this stack" "logins to dovecot need no code"
contains "$T/out" "fix: use the four lines for one-field services: auth [success=done default=ignore] pam_recover.so app_passwords; auth requisite pam_recover.so split_pass nullok" \
	"broken/dovecot-no-module: suggests the four-line stack, not the sshd line"
lacks "$T/out" "add \`auth required pam_recover.so\`" "broken/dovecot-no-module: not the sshd line"
broken dovecot-plain 2 "dovecot:3: dovecot has one password field (Dovecot gives it to every hidden prompt)" \
	"every enrolled login fails and counts toward the lock"
contains "$T/out" "split_pass nullok" "broken/dovecot-plain: suggests the four-line stack"
broken split-no-forwarded 2 "dovecot:3: split_pass splits the code off and hands the password on, but no later \`forwarded_code\` line checks the code" \
	"the password alone logs in"
broken split-required 2 "dovecot:4: pam_unix.so is \`required\` between split_pass ($P/dovecot:3) and forwarded_code ($P/dovecot:5)" \
	"anyone who knows a user name can lock the user out"
contains "$T/out" "fix: make this line \`requisite\`" "broken/split-required: the fix"
broken split-no-ufp 2 "dovecot:4: pam_unix.so follows a split_pass line ($P/dovecot:3) without use_first_pass" \
	"Dovecot answers that prompt with the password and code"
broken forwarded-no-split 2 "dovecot:4: forwarded_code checks the code that a split_pass line kept, but no split_pass line comes before it" \
	"every enrolled login fails"
# a service that Dovecot's passdb names is a one-field service too
stack "$P" "$FIX/broken/dovecot-plain"
cp "$P/dovecot" "$P/mail"
mkdir -p "$T/dm"
printf 'passdb {\n  driver = pam\n  args = session=yes mail\n}\nauth_cache_size = 0\n' >"$T/dm/dovecot.conf"
expect 2 "a service named by Dovecot's passdb: the sshd line is an error there" -- doctor --dovecot-conf "$T/dm/dovecot.conf"
contains "$T/out" "$P/mail:3: mail has one password field" "passdb service: named"

# a misspelt module name: libpam refuses every login (not "no code")
broken typo 2 "sshd:3: pam_recovr.so is not installed (pam_recover.so misspelt?)" \
	"every login to this service is refused, even with the right password"
lacks "$T/out" "need no code" "broken/typo: not reported as logins without a code"
# the code before the password: whoever knows a user name can lock users out
broken before-password 2 "sshd:2: pam_recover.so asks for the code before pam_unix.so" \
	"each counts toward the lock"
contains "$T/out" "fix: move this line after the password module" "broken/before-password: the fix"
# the helper's own PAM service
broken helper-service-denies 2 "pam-recover: $P/pam-recover refuses even the right password" \
	"nobody can enable 2-step verification"
good "$P"
rm "$P/pam-recover"
expect 2 "no pam-recover service" -- doctor
contains "$T/out" "$P/pam-recover: there is no $P/pam-recover: the helper confirms users' passwords through it" \
	"no pam-recover service: named"
contains "$T/out" "fix: install it" "no pam-recover service: the fix"
# the installed helper: setuid root
good "$P"
chmod 0755 "$HDIR/pam-recover"
expect 2 "the helper is not setuid" -- doctor
contains "$T/out" "$HELPER_PATH: the helper is not setuid root (mode 0755, owner uid 0)" "helper: names the mode"
contains "$T/out" "fix: chown root:root $HELPER_PATH; chmod 4755 $HELPER_PATH" "helper: the fix"
rm "$HDIR/pam-recover"
expect 2 "the helper is not installed" -- doctor
contains "$T/out" "$HELPER_PATH: the helper pam-recover is not installed there" "helper missing: named"
install -m 4755 -o root -g root "$H" "$HDIR/pam-recover"
expect 0 "the helper setuid root again" -- doctor
# the check back end: setuid root and answering, or logins without root fail
chmod 0755 "$CDIR/pam-recover-check"
expect 2 "the check back end is not setuid" -- doctor
contains "$T/out" "$CHECK_PATH: the check back end is not setuid root (mode 0755, owner uid 0)" \
	"check back end: names the mode"
rm "$CDIR/pam-recover-check"
expect 2 "the check back end is not installed" -- doctor
contains "$T/out" "$CHECK_PATH: the check back end pam-recover-check is not installed there" \
	"check back end missing: named"
# --check-config: the configuration itself is fine (exit 0), but it says so too
expect 0 "--check-config without the check back end" -- ns "$H" --config "$CONF" --check-config
contains "$T/err" "$CHECK_PATH: the check back end pam-recover-check is not installed there" \
	"--check-config: names the missing back end"
contains "$T/out" "configuration OK" "--check-config: still OK"
printf '#!/bin/sh\nexit 6\n' >"$CDIR/pam-recover-check"
chmod 4755 "$CDIR/pam-recover-check"
expect 2 "the check back end does not answer" -- doctor
contains "$T/out" "$CHECK_PATH: the check back end does not answer (exit status 6)" \
	"check back end failing: named"
install -m 4755 -o root -g root "$top_builddir/pam-recover-check" "$CDIR/pam-recover-check"
expect 0 "the check back end setuid root again" -- doctor

# --json on a broken stack
stack "$P" "$FIX/broken/sufficient"
expect 2 "broken: --json" -- doctor_json
[ "$(json "$T/out" 'd["ok"]')" = False ] && ok "json: ok false" || bad "json: ok"
[ "$(json "$T/out" 'sorted(d["findings"][0])')" = "['file', 'fix', 'line', 'message', 'severity']" ] &&
	ok "json: the finding's fields" || bad "json fields: $(cat "$T/out")"
[ "$(json "$T/out" '(d["findings"][0]["severity"], d["findings"][0]["line"], d["findings"][0]["file"].endswith("/sshd"))')" = "('error', 4, True)" ] &&
	ok "json: severity, line (a number), file" || bad "json values: $(cat "$T/out")"

# ---- Dovecot's authentication cache ----
good "$P"
expect 2 "dovecot: auth_cache_size = 10M" -- doctor --dovecot-conf "$FIX/dovecot-cache/dovecot.conf"
contains "$T/out" "$FIX/dovecot-cache/conf.d/10-auth.conf:3: Dovecot's authentication cache is on (auth_cache_size = 10M)" \
	"dovecot: names the setting (through !include)"
contains "$T/out" "set auth_cache_size = 0" "dovecot: says what to do"
mkdir -p "$T/dc/conf.d"
printf '!include conf.d/*.conf\n' >"$T/dc/dovecot.conf"
printf 'auth_cache_size = 0\n' >"$T/dc/conf.d/10-auth.conf"
expect 0 "dovecot: auth_cache_size = 0 is fine" -- doctor --dovecot-conf "$T/dc/dovecot.conf"
expect 66 "dovecot: a named file that is missing" -- doctor --dovecot-conf "$T/nonexistent.conf"

# ---- nullok and the enforcement date ----
# accounts of this test: alice and bob have a login shell and no 2-step verification, carol
# has none (nologin); root is enrolled
USERS='alice:x:1001:1001:Alice:/home/alice:/bin/bash
bob:x:1002:1002:Bob:/home/bob:/bin/sh
carol:x:1003:1003:Carol:/home/carol:/usr/sbin/nologin'
good "$P"
NCONF="$T/nullok.conf"
conf "$NCONF" "$T/state" "enforce_after = 2000-01-01
"
DCONF=$NCONF expect 1 "nullok after the enforcement date, everyone with a login shell enrolled: a warning" -- doctor
contains "$T/out" "$(at sshd): nullok (a module argument) is still on but enforce_after = 2000-01-01 has passed" \
	"nullok, all enrolled: names the module argument and the date"
accounts "$USERS"
DCONF=$NCONF expect 2 "the shipped examples (nullok) after the enforcement date" -- doctor
contains "$T/out" "accounts with a login shell not yet enrolled: alice, bob" "nullok: names the accounts refused"
lacks "$T/out" "carol" "nullok: not an account without a login shell"
contains "$T/out" "$(at sshd): nullok (a module argument) is still on but enforce_after = 2000-01-01 has passed" \
	"nullok: names the module argument and the date"
mandatory "$P"
conf "$NCONF" "$T/state" "nullok = yes
enforce_after = 2000-01-01
"
DCONF=$NCONF expect 2 "nullok after the enforcement date" -- doctor
contains "$T/out" "nullok (set in $NCONF) is still on but enforce_after = 2000-01-01 has passed" \
	"nullok: names the date"
contains "$T/out" "users without 2-step verification are refused here" "nullok: says who is refused"
contains "$T/out" "$(at sshd):" "nullok: at the sshd line"
conf "$NCONF" "$T/state" "nullok = yes
enforce_after = 9999-12-31
"
DCONF=$NCONF expect 0 "nullok during the grace period" -- doctor
conf "$NCONF" "$T/state" "nullok = yes
"
DCONF=$NCONF expect 0 "nullok without an end date (opt-in)" -- doctor

# ---- nullok removed while accounts are not enrolled ----
mandatory "$P"
expect 2 "no nullok while alice and bob are not enrolled" -- doctor
contains "$T/out" "$(at sshd): without nullok, users without 2-step verification are refused here, and 2 accounts with a login shell are not enrolled: alice, bob" \
	"no nullok: names the accounts at the line"
contains "$T/out" "fix: enrol them first" "no nullok: says what to do"
lacks "$T/out" "carol" "no nullok: not an account without a login shell"
ns "$H" --config "$CONF" admin enrol alice >/dev/null && ns "$H" --config "$CONF" admin enrol bob >/dev/null ||
	bad "enrol alice and bob"
expect 0 "no nullok once alice and bob are enrolled" -- doctor
ns "$H" --config "$CONF" admin disable-2fa alice >/dev/null || bad "disable-2fa alice"
expect 2 "no nullok, alice's 2-step verification switched off again" -- doctor
contains "$T/out" "1 account with a login shell is not enrolled: alice" "no nullok: names alice alone"
accounts

# ---- key, store and config owners and modes ----
good "$P"
chmod 644 "$T/key"
expect 2 "key mode 0644" -- doctor
contains "$T/out" "$T/key: the sealing key is open to group or others (mode 0644" "key: names the mode"
contains "$T/out" "chmod 0400 $T/key" "key: the fix"
chmod 400 "$T/key"
chmod 755 "$T/state"
expect 2 "store directory mode 0755" -- doctor
contains "$T/out" "$T/state: the store directory is open to group or others (mode 0755; it must be root 0700)" \
	"store dir: names the mode"
chmod 700 "$T/state"
chmod 640 "$T/state/state.db"
expect 2 "store file mode 0640" -- doctor
contains "$T/out" "must be root 0600" "store file: names the mode"
chmod 600 "$T/state/state.db"
chmod 666 "$CONF"
expect 2 "config writable by others" -- doctor
contains "$T/out" "the configuration is writable by group or others (mode 0666)" "config: names the mode"
chmod 644 "$CONF"
BCONF="$T/bad.conf"
conf "$BCONF" "$T/state" "no_such_key = 1
"
DCONF=$BCONF expect 2 "config with an unknown key" -- doctor
contains "$T/out" "$BCONF:3: unknown key 'no_such_key'" "config: FILE:LINE of the parser"
expect 0 "all fixed again" -- doctor

# ---- root without 2-step verification ----
RCONF="$T/noroot.conf"
conf "$RCONF" "$T/state2"
"$H" --config "$RCONF" admin init >/dev/null
good "$P"
DCONF=$RCONF expect 0 "root not enrolled, nullok on the console: fine" -- doctor
mandatory "$P"
DCONF=$RCONF expect 2 "root not enrolled, the console asks for a code" -- doctor
contains "$T/out" "$(at login): root has not enabled 2-step verification and the console login refuses it" \
	"root: the console"
contains "$T/out" "\`su\` to root is refused" "root: su (a warning)"
lacks "$T/out" "over SSH" "root: sshd is no way in for root without PermitRootLogin yes"
DCONF=$RCONF expect 2 "root not enrolled, PermitRootLogin yes" -- doctor --sshd-config "$FIX/sshd_config-root"
contains "$T/out" "$(at sshd): root has not enabled 2-step verification: root logins over SSH (PermitRootLogin yes) are refused, and so is the console" \
	"root: ssh and console"
sed -i '/pam_recover/d' "$P/login"
DCONF=$RCONF expect 1 "root not enrolled, the console lets root in" -- doctor --sshd-config "$FIX/sshd_config-root"
contains "$T/out" "(the console still lets root in)" "root: ssh refused is a warning when the console works"

# ---- sshd's settings (read as sshd does: Include, the first value wins, Match apart) ----
# Debian 12's stock sshd_config (openssh-server 9.2), read with the test's /etc/ssh
STOCK="$T/etc-ssh/sshd_config"
cp "$FIX/sshd_config-debian12" "$STOCK"
DROPIN="$T/etc-ssh/sshd_config.d/pam_recover.conf"
NS_DROPIN=/etc/ssh/sshd_config.d/pam_recover.conf # the same, as the doctor sees it
good "$P"
expect 2 "sshd: Debian's stock sshd_config" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "/etc/ssh/sshd_config:62: KbdInteractiveAuthentication no: sshd never asks for the code" \
	"sshd stock: names the file and line"
contains "$T/out" "hands the password to every PAM prompt, the code prompt included: every enrolled user is refused, and each try can count toward the lock" \
	"sshd stock: says what happens"
contains "$T/out" "fix: put \`KbdInteractiveAuthentication yes\`, \`PasswordAuthentication no\` and \`AuthenticationMethods keyboard-interactive\`" \
	"sshd stock: the change to make"
# the README's drop-in: read through the stock file's Include, before its line 62
printf 'KbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods keyboard-interactive\n' >"$DROPIN"
expect 0 "sshd: stock sshd_config with the drop-in" -- doctor --sshd-config /etc/ssh/sshd_config
printf 'KbdInteractiveAuthentication yes\n' >"$DROPIN"
expect 1 "sshd: keyboard-interactive on, passwords and keys still on (warnings)" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "warning: /etc/ssh/sshd_config: PasswordAuthentication yes (sshd's default): a client that sends its password by the password method" \
	"sshd: the password method"
contains "$T/out" "warning: /etc/ssh/sshd_config: PubkeyAuthentication yes (sshd's default): logins with a key never run the PAM auth stack" \
	"sshd: key logins"
printf 'ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n' >"$DROPIN"
expect 2 "sshd: ChallengeResponseAuthentication (the old name) comes first" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "$NS_DROPIN:1: KbdInteractiveAuthentication no: sshd never asks for the code" \
	"sshd: the first value wins, under its old name"
printf 'KbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods publickey\n' >"$DROPIN"
expect 2 "sshd: AuthenticationMethods publickey" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "$NS_DROPIN:3: AuthenticationMethods publickey: no SSH login runs the PAM auth stack" \
	"sshd: AuthenticationMethods without keyboard-interactive"
printf 'KbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods publickey,keyboard-interactive\n' >"$DROPIN"
expect 0 "sshd: AuthenticationMethods publickey,keyboard-interactive" -- doctor --sshd-config /etc/ssh/sshd_config
sed 's/^UsePAM yes/UsePAM no/' "$FIX/sshd_config-debian12" >"$STOCK"
expect 2 "sshd: UsePAM no" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "/etc/ssh/sshd_config:85: UsePAM no: sshd never runs $P/sshd, so no SSH login is asked for a code" \
	"sshd: UsePAM no"
cp "$FIX/sshd_config-debian12" "$STOCK"
printf 'KbdInteractiveAuthentication yes\nPasswordAuthentication no\nAuthenticationMethods keyboard-interactive\nMatch User backup\n    AuthenticationMethods publickey\n' >"$DROPIN"
expect 1 "sshd: a Match block changes the methods for some connections" -- doctor --sshd-config /etc/ssh/sshd_config
contains "$T/out" "warning: $NS_DROPIN:5: \`AuthenticationMethods publickey\` is inside the Match block at $NS_DROPIN:4" \
	"sshd: the Match block is noted"
rm -f "$DROPIN"
# a relative Include is taken from /etc/ssh
printf 'Include pam_recover-test.conf\nUsePAM yes\n' >"$T/etc-ssh/relative"
printf 'KbdInteractiveAuthentication no\n' >"$T/etc-ssh/pam_recover-test.conf"
expect 2 "sshd: a relative Include" -- doctor --sshd-config /etc/ssh/relative
contains "$T/out" "/etc/ssh/pam_recover-test.conf:1: KbdInteractiveAuthentication no" "sshd: the included file is named"

# ---- the key against the store's key-check record ----
good "$P"
cp -p "$T/key" "$T/key.good"
head -c 32 /dev/urandom >"$T/key"
expect 2 "another valid key" -- doctor
contains "$T/out" "$T/key: the sealing key does not open the store's key-check record" "key-check: names the key"
contains "$T/out" "every enrolled login fails (PAM_AUTHINFO_UNAVAIL)" "key-check: says what happens"
cp -p "$T/key.good" "$T/key"
expect 0 "the store's own key again" -- doctor

# ---- services ----
good "$P"
expect 2 "--services names a service without a file" -- doctor --services sshd,imap
contains "$T/out" "there is no $P/imap: libpam runs the \`other\` stack for imap" "services: the missing one"
stack "$P" "$FIX/broken/missing"
expect 0 "--services without sshd: sshd need not ask" -- doctor --services dovecot

# ---- usage and refusals ----
expect 0 "doctor --help" -- "$H" admin doctor --help
contains "$T/out" "--pamd DIR" "help: names the options"
expect 64 "unknown option" -- "$H" --config "$CONF" admin doctor --frobnicate
expect 64 "a stray argument" -- "$H" --config "$CONF" admin doctor extra
expect 64 "--pamd with a relative path" -- "$H" --config "$CONF" admin doctor --pamd pam.d
expect 66 "--pamd that is not a directory" -- "$H" --config "$CONF" admin doctor --pamd "$T/nonexistent"
expect 66 "--sshd-config that is missing" -- doctor --sshd-config "$T/nonexistent"
expect 77 "not root" -- setpriv --reuid=65534 --regid=65534 --clear-groups "$H" admin doctor
expect 0 "admin --help lists doctor" -- "$H" admin --help
contains "$T/out" "doctor [--pamd DIR]" "admin --help: doctor"

rc_summary
