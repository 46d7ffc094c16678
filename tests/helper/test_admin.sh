#!/bin/bash
# pam-recover admin and check, driven as an administrator and as pam_recover.so would:
# init, enrol, codes from oathtool accepted by `check`, replay, wrong, lock and unlock,
# backup codes, import-oath, import-google-authenticator, --check-config, the check
# protocol's refusals, and the refusals for a non-root caller (setpriv, not setuid).
# Runs as root against a temporary config whose key and store live in a temporary dir.
set -u
. "$(dirname "$0")/../lib/rctest.sh"
rc_init admin

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
H="$top_builddir/pam-recover"

if [ "$(id -u)" != 0 ]; then
	rc_skip_all "needs root"
fi
for tool in oathtool setpriv /usr/bin/python3; do
	command -v "$tool" >/dev/null 2>&1 || { rc_skip_all "needs $tool"; }
done
[ -x "$H" ] || { rc_abort "$H not built"; }

T=$(mktemp -d /tmp/pam-recover-test.XXXXXX)
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT
CONF="$T/pam_recover.conf"
cat >"$CONF" <<EOF
# test configuration
store = sqlite:$T/state/state.db
key_file = $T/key
deny = 3
unlock_time = 900
window = 1
backup_codes = 10
issuer = Example
EOF
chmod 644 "$CONF"

# check MODE USER SERVICE INPUT -> prints the exit status of `pam-recover check`
check() {
	printf '%s\n%s\n%s\n%s\n' "$1" "$2" "$3" "$4" | "$H" --config "$CONF" check >/dev/null 2>&1
	echo $?
}
expect_check() { # WANT DESCRIPTION MODE USER SERVICE INPUT
	local got
	got=$(check "$3" "$4" "$5" "$6")
	if [ "$got" = "$1" ]; then ok "check: $2 (exit $got)"; else bad "check: $2: exit $got, wanted $1"; fi
}
totp_b32() { oathtool --totp -b "$@"; }

# ---- global options, help, usage ----
expect 0 "--help" -- "$H" --help
contains_re "$T/out" "admin" "--help lists the verbs"
expect 0 "--version" -- "$H" --version
expect 64 "no verb" -- "$H"
expect 64 "unknown verb" -- "$H" --config "$CONF" frobnicate
expect 64 "unknown option" -- "$H" --frobnicate
expect 0 "admin --help" -- "$H" admin --help
expect 0 "admin enrol --help" -- "$H" --config "$CONF" admin enrol --help
contains_re "$T/out" "--digits" "enrol --help names its options"
expect 0 "check --help" -- "$H" check --help
expect 64 "admin unknown command" -- "$H" --config "$CONF" admin frobnicate

# ---- --check-config ----
expect 78 "--check-config before admin init: no key, no store" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "$T/key: the sealing key does not exist" "--check-config names the missing key"
contains_re "$T/err" "fix: run \`pam-recover admin init\`" "--check-config says what to do"
lacks_re "$T/out" "configuration OK" "--check-config does not say OK"
expect 0 "--dump-config" -- "$H" --config "$CONF" --check-config --dump-config
contains_re "$T/out" "deny" "--dump-config prints the keys"
BAD="$T/bad.conf"
printf 'deny = 3\nno_such_key = 1\n' >"$BAD"
chmod 644 "$BAD"
expect 78 "--check-config on a file with an unknown key" -- "$H" --config "$BAD" --check-config
contains_re "$T/err" "bad.conf:2" "the error names FILE:LINE"
printf 'deny = lots\n' >"$BAD"
expect 78 "--check-config on a bad value" -- "$H" --config "$BAD" --check-config
chmod 666 "$BAD"
expect 78 "--check-config on a world-writable file" -- "$H" --config "$BAD" --check-config
expect 78 "--config naming a missing file" -- "$H" --config "$T/missing.conf" --check-config

# ---- admin init (idempotent) ----
expect 0 "admin init" -- "$H" --config "$CONF" admin init
contains_re "$T/out" "created" "init reports what it created"
[ "$(stat -c %a "$T/key")" = 400 ] && ok "key file is 0400" || bad "key file mode $(stat -c %a "$T/key")"
[ "$(stat -c %a "$T/state")" = 700 ] && ok "store dir is 0700" || bad "store dir mode $(stat -c %a "$T/state")"
keysum=$(sha256sum "$T/key")
expect 0 "admin init again" -- "$H" --config "$CONF" admin init
contains_re "$T/out" "already present" "second init keeps what is there"
[ "$(sha256sum "$T/key")" = "$keysum" ] && ok "the key is unchanged" || bad "init replaced the key"
expect 0 "admin init --json" -- "$H" --config "$CONF" --json admin init
[ "$(json "$T/out" 'd["key_created"]')" = False ] && ok "json: key_created false" || bad "json init"

# ---- enrol ----
U=daemon
expect 0 "admin enrol $U" -- "$H" --config "$CONF" admin enrol "$U"
contains_re "$T/out" "otpauth://totp/" "enrol prints the otpauth URI"
contains_re "$T/out" "secret=" "the URI carries the secret"
secret=$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$T/out" | head -1)
grouped=$(grep -A1 "by hand" "$T/out" | tail -1 | tr -d ' ')
[ -n "$secret" ] && [ "$grouped" = "$secret" ] && ok "grouped secret matches the URI" || bad "grouped secret '$grouped' vs '$secret'"
[ "$(grep -cE '^  [0-9]{8}$' "$T/out")" = 10 ] && ok "ten backup codes printed" || bad "backup codes"
expect 65 "enrol again without --force is refused" -- "$H" --config "$CONF" admin enrol "$U"
expect 0 "enrol --force --json" -- "$H" --config "$CONF" --json admin enrol "$U" --force --algorithm sha1 --digits 6
secret=$(json "$T/out" 'd["secret"]')
backup1=$(json "$T/out" 'd["backup_codes"][0]')
[ "$(json "$T/out" 'd["replaced"]')" = True ] && ok "json enrol: replaced" || bad "json enrol replaced"
expect 66 "enrol an unknown user" -- "$H" --config "$CONF" admin enrol no-such-user-xyz
expect 65 "enrol a bad name" -- "$H" --config "$CONF" admin enrol '../etc'
expect 64 "enrol --digits 7" -- "$H" --config "$CONF" admin enrol bin --digits 7

# ---- --check-config: the key, its key-check record, the store ----
sq() { /usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$T/state/state.db" "$1"; }
expect 0 "--check-config on a good file" -- "$H" --config "$CONF" --check-config
contains_re "$T/out" "configuration OK" "--check-config says configuration OK"
contains_re "$T/out" "key $T/key: root, 32 bytes, opens the store's key-check record" \
	"--check-config: the key opens the key-check record"
contains_re "$T/out" "store sqlite:$T/state/state.db: reachable, schema version [0-9]" \
	"--check-config: the store and its schema version"
cp -p "$T/key" "$T/key.good"
head -c 32 /dev/urandom >"$T/key"
expect 78 "--check-config: another valid key" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "$T/key: the sealing key does not open the store's key-check record" \
	"--check-config: names the wrong key"
expect 78 "admin init refuses another valid key" -- "$H" --config "$CONF" admin init
contains_re "$T/err" "does not open the records of the store" "admin init: says why"
head -c 31 "$T/key.good" >"$T/key"
expect 78 "--check-config: a key of 31 bytes" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "the sealing key holds 31 bytes, not 32" "--check-config: names the size"
cp -p "$T/key.good" "$T/key"
chmod 644 "$T/key"
expect 78 "--check-config: key mode 0644" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "open to group or others (mode 0644" "--check-config: names the key's mode"
chmod 400 "$T/key"
chown 65534 "$T/key"
expect 78 "--check-config: key not owned by root" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "not owned by root" "--check-config: names the key's owner"
chown 0 "$T/key"
# a store made before the key-check record existed
sq "DELETE FROM key_check"
expect 0 "--check-config: a store without a key-check record (a warning)" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "warning: $T/state/state.db: the store has no key-check record" \
	"--check-config: says the record is missing"
head -c 32 /dev/urandom >"$T/key"
expect 78 "admin init on an old store with another key: refused (an enrolled secret does not open)" -- \
	"$H" --config "$CONF" admin init
cp -p "$T/key.good" "$T/key"
expect 0 "admin init on an old store adds the record" -- "$H" --config "$CONF" admin init
contains_re "$T/out" "key check: sealed in the store" "admin init: says it sealed the record"
expect 0 "--check-config after it" -- "$H" --config "$CONF" --check-config
contains_re "$T/out" "opens the store's key-check record" "--check-config: the record is back"
schema=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$T/state/state.db")
sq "PRAGMA user_version = 9999"
expect 78 "--check-config: a store with a newer schema" -- "$H" --config "$CONF" --check-config
contains_re "$T/err" "the store has schema version 9999, newer than this pam_recover knows" \
	"--check-config: names the schema version"
sq "PRAGMA user_version = $schema"
rm -f "$T/state/state.db-wal" "$T/state/state.db-shm"
OCONF="$T/old-date.conf"
{ cat "$CONF"; echo "enforce_after = 2000-01-01"; } >"$OCONF"
chmod 644 "$OCONF"
expect 0 "--check-config: enforce_after in the past is a warning" -- "$H" --config "$OCONF" --check-config
contains_re "$T/err" "warning: $OCONF: enforce_after = 2000-01-01 has passed" "--check-config: names the date"
contains_re "$T/out" "configuration OK" "--check-config: still OK"

# ---- check: right, replay, wrong, lock, unlock, backup ----
expect_check 0 "enrolled user" enrolled "$U" login ""
expect_check 5 "user without 2FA is not enrolled" enrolled bin login ""
t0=$(date +%s)
code=$(totp_b32 --now "@$t0" "$secret")
expect_check 0 "oathtool code accepted" code "$U" login "$code"
expect_check 3 "the same code again is a replay" code "$U" login "$code"
wrong=$(printf '%06d' $(((10#$code + 500000) % 1000000)))
# Wrong codes until the lock (deny = 3; every attempt since the last success counts,
# the replay above included): each is 2 until a 4 comes, within deny attempts.
seq=""
for i in 1 2 3 4; do
	r=$(check code "$U" login "$wrong")
	seq="$seq$r"
	[ "$r" = 4 ] && break
done
case "$seq" in 24 | 224 | 2224) ok "wrong codes answer 2, then the account locks (4): $seq" ;;
*) bad "wrong codes then lock: got $seq" ;; esac
next=$(totp_b32 --now "@$((t0 + 30))" "$secret")
expect_check 4 "locked: even a right code is refused" code "$U" login "$next"
expect 0 "admin show --json while locked" -- "$H" --config "$CONF" admin show "$U" --json
[ "$(json "$T/out" 'd["locked"]')" = True ] && ok "show: locked true" || bad "show locked"
expect 0 "admin unlock" -- "$H" --config "$CONF" admin unlock "$U"
expect_check 0 "after unlock the next code passes" code "$U" login "$next"
expect_check 1 "a backup code passes once" code "$U" login "$backup1"
expect_check 2 "the same backup code twice is refused" code "$U" login "$backup1"

# ---- show / list ----
expect 0 "admin show --json" -- "$H" --config "$CONF" --json admin show "$U"
for f in user totp_enabled backup_codes_left locked contacts app_passwords; do
	json "$T/out" "d['$f']" >/dev/null 2>&1 && ok "show json has $f" || bad "show json lacks $f"
done
[ "$(json "$T/out" 'd["backup_codes_left"]')" = 9 ] && ok "nine backup codes left" || bad "backup_codes_left $(json "$T/out" 'd["backup_codes_left"]')"
[ "$(json "$T/out" 'd["totp_enabled"]')" = True ] && ok "totp_enabled true" || bad "totp_enabled"
expect 0 "admin show (text)" -- "$H" --config "$CONF" admin show "$U"
contains_re "$T/out" "2-step verification: on" "show says 2FA is on"
lacks_re "$T/out" "$secret" "show never prints the secret"
expect 66 "show an unknown user" -- "$H" --config "$CONF" admin show no-such-user-xyz
expect 0 "admin list --json" -- "$H" --config "$CONF" --json admin list
[ "$(json "$T/out" 'd[0]["user"]')" = "$U" ] && ok "list has $U" || bad "list json"

# ---- import-oath ----
HEX1=3132333435363738393031323334353637383930
HEX2=0a1b2c3d4e5f60718293a4b5c6d7e8f901234567
HEX3=00112233445566778899aabbccddeeff00112233
OATH="$T/users.oath"
cat >"$OATH" <<EOF
# pam_oath usersfile
HOTP/T30 bin - $HEX1
HOTP sys - $HEX2
EOF
chmod 600 "$OATH"
# Every line is checked and every user looked up before the store is even opened (a user
# database lookup may be LDAP: never inside the store's write transaction).
sed -e "s|^store = .*|store = sqlite:$T/no-such-dir/state.db|" "$CONF" >"$T/nostore.conf"
printf 'HOTP/T30 no-such-user-xyz - %s\n' "$HEX1" >"$T/unknown.oath"
chmod 600 "$T/unknown.oath"
expect 65 "import-oath: an unknown user is found before the store is opened" -- \
	"$H" --config "$T/nostore.conf" admin import-oath "$T/unknown.oath"
contains_re "$T/err" "unknown.oath:1: no such user" "the error names the line and the user"
expect 65 "import-oath with an event-based HOTP line" -- "$H" --config "$CONF" admin import-oath "$OATH"
contains_re "$T/err" "users.oath:3" "the error names the line"
lacks_re "$T/err" "$HEX2" "the error does not print the secret"
expect_check 5 "nothing was imported" enrolled bin login ""
cat >"$OATH" <<EOF
# pam_oath usersfile

HOTP/T30 bin - $HEX1
HOTP/T30/6 sys + $HEX2 12 2023-01-01T00:00:00L
HOTP/T60/8	carol@example.org	-	$HEX3
EOF
ln -s "$OATH" "$T/link.oath"
expect 65 "import-oath refuses a symlink" -- "$H" --config "$CONF" admin import-oath "$T/link.oath"
chmod 620 "$OATH"
expect 65 "import-oath refuses a group-writable file" -- "$H" --config "$CONF" admin import-oath "$OATH"
chmod 600 "$OATH"
expect 66 "import-oath of a missing file" -- "$H" --config "$CONF" admin import-oath "$T/nope"
expect 0 "import-oath of a good usersfile" -- "$H" --config "$CONF" admin import-oath "$OATH"
contains_re "$T/out" "imported 3 users" "three users imported"
expect_check 0 "bin: oathtool --totp HEX accepted" code bin login "$(oathtool --totp "$HEX1")"
expect_check 0 "sys: accepted" code sys login "$(oathtool --totp "$HEX2")"
expect_check 0 "carol (T60/8): accepted" code carol@example.org imap "$(oathtool --totp -s 60 -d 8 "$HEX3")"
expect 65 "import-oath again: users already enrolled" -- "$H" --config "$CONF" admin import-oath "$OATH"
expect 0 "import-oath --force" -- "$H" --config "$CONF" admin import-oath --force "$OATH"
printf 'HOTP/T30 bin - %s\nHOTP/T30 bin - %s\n' "$HEX1" "$HEX2" >"$T/dup.oath"
chmod 600 "$T/dup.oath"
expect 65 "a user given twice" -- "$H" --config "$CONF" admin import-oath --force "$T/dup.oath"
contains_re "$T/err" "dup.oath:2" "duplicate names its line"
printf 'HOTP/T30 bin 1234 %s\n' "$HEX1" >"$T/pin.oath"
chmod 600 "$T/pin.oath"
expect 65 "a PIN is refused" -- "$H" --config "$CONF" admin import-oath --force "$T/pin.oath"
printf 'HOTP/T30 bin - nothex\n' >"$T/hex.oath"
chmod 600 "$T/hex.oath"
expect 65 "a bad hex secret is refused" -- "$H" --config "$CONF" admin import-oath --force "$T/hex.oath"

# ---- import-google-authenticator ----
GA="$T/google_authenticator"
GB32=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
cat >"$GA" <<EOF
$GB32
" RATE_LIMIT 3 30 1700000000
" WINDOW_SIZE 17
" DISALLOW_REUSE 56666666
" TOTP_AUTH
12345678
87654321
EOF
chmod 400 "$GA"
expect 0 "import-google-authenticator" -- "$H" --config "$CONF" admin import-google-authenticator games "$GA"
contains_re "$T/out" "2 scratch codes" "scratch codes imported"
expect_check 1 "a scratch code passes once" code games login 12345678
expect_check 2 "and not twice" code games login 12345678
expect_check 0 "a TOTP code from the same secret passes" code games login "$(totp_b32 "$GB32")"
expect 65 "google file for an enrolled user without --force" -- "$H" --config "$CONF" admin import-google-authenticator games "$GA"
printf '%s\n" HOTP_COUNTER 1\n12345678\n' "$GB32" >"$T/ga_hotp"
chmod 400 "$T/ga_hotp"
expect 65 "a HOTP google file is refused" -- "$H" --config "$CONF" admin import-google-authenticator man "$T/ga_hotp"
contains_re "$T/err" "ga_hotp:2" "the HOTP line is named"
printf '%s\n" TOTP_AUTH\n1234\n' "$GB32" >"$T/ga_bad"
chmod 400 "$T/ga_bad"
expect 65 "a short scratch code is refused" -- "$H" --config "$CONF" admin import-google-authenticator man "$T/ga_bad"
expect_check 5 "nothing imported for man" enrolled man login ""

# ---- devices: admin enrol --device/--replace, remove-device, import --device, max_devices ----
DV=dev1@example.org
expect 64 "--force goes without --device" -- "$H" --config "$CONF" admin enrol "$DV" --device a --force
expect 64 "--replace goes with --device" -- "$H" --config "$CONF" admin enrol "$DV" --replace
expect 65 "a device name with a slash is refused" -- "$H" --config "$CONF" admin enrol "$DV" --device a/b
expect 0 "admin enrol --device phone: the first device" -- "$H" --json --config "$CONF" admin enrol "$DV" --device phone
PH=$(json "$T/out" 'd["secret"]')
[ "$(json "$T/out" 'len(d["backup_codes"])')" = 10 ] && ok "the first device brings 10 backup codes" || bad "first device: $(cat "$T/out")"
expect 0 "admin enrol --device tablet: one more" -- "$H" --json --config "$CONF" admin enrol "$DV" --device tablet
TB=$(json "$T/out" 'd["secret"]')
[ "$(json "$T/out" 'd["backup_codes"]')" = "[]" ] && ok "one more device keeps the backup codes" || bad "second device: $(cat "$T/out")"
expect 65 "an existing device name is refused" -- "$H" --config "$CONF" admin enrol "$DV" --device tablet
contains_re "$T/err" "already has a device called tablet" "and says why"
expect_check 0 "the phone's code" code "$DV" login "$(totp_b32 "$PH")"
expect_check 0 "the tablet's code of the same step" code "$DV" login "$(totp_b32 "$TB")"
expect_check 3 "the tablet's code again (replay)" code "$DV" login "$(totp_b32 "$TB")"
expect 0 "admin enrol --device tablet --replace" -- "$H" --json --config "$CONF" admin enrol "$DV" --device tablet --replace
TB2=$(json "$T/out" 'd["secret"]')
expect_check 2 "the replaced tablet secret is refused" code "$DV" login "$(totp_b32 "$TB" -N "now + 30 seconds")"
expect_check 0 "the new tablet secret works" code "$DV" login "$(totp_b32 "$TB2")"
sed -e 's/^deny = 3$/deny = 3\nmax_devices = 3/' "$CONF" >"$T/max3.conf"
chmod 644 "$T/max3.conf"
printf 'HOTP/T30 %s - %s\n' "$DV" "$HEX3" >"$T/dev.oath"
chmod 600 "$T/dev.oath"
expect 0 "import-oath --device pw: a third device beside the others" -- "$H" --config "$T/max3.conf" admin import-oath --device pw "$T/dev.oath"
expect_check 0 "the imported device's code" code "$DV" login "$(oathtool --totp "$HEX3")"
expect 65 "import-oath --device pw again: the name is taken" -- "$H" --config "$T/max3.conf" admin import-oath --device pw "$T/dev.oath"
expect 65 "max_devices: a fourth device refused" -- "$H" --config "$T/max3.conf" admin enrol "$DV" --device laptop
contains_re "$T/err" "max_devices" "the refusal names max_devices"
expect 0 "admin show --json" -- "$H" --json --config "$CONF" admin show "$DV"
[ "$(json "$T/out" 'sorted(x["name"] for x in d["devices"])')" = "['phone', 'pw', 'tablet']" ] && ok "admin show lists the three devices" || bad "admin show: $(cat "$T/out")"
[ "$(json "$T/out" 'sorted(d["devices"][0])')" = "['algorithm', 'created', 'digits', 'last_used', 'name', 'period']" ] && ok "each device has the documented fields" || bad "fields: $(cat "$T/out")"
[ "$(json "$T/out" '[x["last_used"] is None for x in d["devices"] if x["name"] == "phone"]')" = "[False]" ] && ok "last_used is set once a code was accepted" || bad "last_used: $(cat "$T/out")"
expect 0 "admin show (text)" -- "$H" --config "$CONF" admin show "$DV"
contains_re "$T/out" "devices:             3" "admin show counts the devices"
contains_re "$T/out" "    tablet " "and lists them"
expect 0 "admin remove-device pw" -- "$H" --config "$CONF" admin remove-device "$DV" pw
expect_check 2 "the removed device's code is refused" code "$DV" login "$(oathtool --totp "$HEX3" -N "now + 30 seconds")"
expect 65 "remove-device of a name the user does not have" -- "$H" --config "$CONF" admin remove-device "$DV" pw
GA2="$T/google_authenticator2"
GB32B=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
printf '%s\n" TOTP_AUTH\n11223344\n' "$GB32B" >"$GA2"
chmod 400 "$GA2"
expect 0 "import-google-authenticator --device: one more device of games" -- "$H" --config "$CONF" admin import-google-authenticator games "$GA2" --device laptop
expect_check 0 "games: the imported device's code" code games login "$(totp_b32 "$GB32B")"
expect_check 0 "games: the earlier device still works" code games login "$(totp_b32 "$GB32" -N "now + 30 seconds")"
expect_check 1 "games: the earlier scratch codes stay" code games login 87654321
expect 0 "admin remove-device: the last devices" -- "$H" --config "$CONF" admin remove-device "$DV" tablet
expect 0 "admin remove-device phone (the last one)" -- "$H" --config "$CONF" admin remove-device "$DV" phone
contains_re "$T/out" "2-step verification is off" "the last device turns 2FA off"
expect_check 5 "$DV is no longer enrolled" enrolled "$DV" login ""

# ---- disable-2fa ----
expect 0 "admin disable-2fa" -- "$H" --config "$CONF" admin disable-2fa sys
expect_check 5 "sys is no longer enrolled" enrolled sys login ""
expect 0 "disable-2fa again is harmless" -- "$H" --config "$CONF" admin disable-2fa sys
contains_re "$T/out" "nothing changed" "and says so"

# ---- check: the protocol's refusals ----
got=$(printf 'code\n%s\nlogin\n%s\n' "$U" "$(head -c 2000 /dev/zero | tr '\0' 1)" | "$H" --config "$CONF" check >/dev/null 2>&1; echo $?)
[ "$got" = 10 ] && ok "check: oversize request refused (10)" || bad "check oversize: $got"
got=$(printf 'code\n%s\nlogin\n12\0003456\n' "$U" | "$H" --config "$CONF" check >/dev/null 2>&1; echo $?)
[ "$got" = 10 ] && ok "check: NUL refused (10)" || bad "check NUL: $got"
expect_check 10 "unknown mode" frob "$U" login 123456
expect_check 10 "bad user name" code '-rf' login 123456
expect_check 10 "bad service name" code "$U" 'log in' 123456
expect_check 10 "input with mode enrolled" enrolled "$U" login 123456
got=$(printf 'code\n%s\n' "$U" | "$H" --config "$CONF" check >/dev/null 2>&1; echo $?)
[ "$got" = 10 ] && ok "check: truncated request refused (10)" || bad "check truncated: $got"
got=$(printf '' | "$H" --config "$CONF" check extra >/dev/null 2>&1; echo $?)
[ "$got" = 10 ] && ok "check: extra arguments refused (10)" || bad "check extra args: $got"
got=$(/usr/bin/python3 - "$H" "$CONF" <<'EOF'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.run([sys.argv[1], "--config", sys.argv[2], "check"], stdin=s,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(p.returncode)
EOF
)
[ "$got" = 10 ] && ok "check: a terminal on stdin is refused (10)" || bad "check tty: $got"
c=$(check code nobody-at-all-xyz login 123456)
{ [ "$c" = 2 ] || [ "$c" = 5 ]; } && ok "check: unknown user answers $c like login_*" || bad "check unknown user: $c"

# ---- a caller that is not root (the build is not setuid: euid is the caller's) ----
D=$(mktemp -d /tmp/pam-recover-bin.XXXXXX)
chmod 755 "$D"
cp "$H" "$D/pam-recover"
chmod 755 "$D/pam-recover"
AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
expect 77 "non-root: --config refused" -- $AS_NOBODY "$D/pam-recover" --config "$CONF" admin list
contains_re "$T/err" "only for root" "the refusal says why"
expect 77 "non-root: admin refused" -- $AS_NOBODY "$D/pam-recover" admin list
contains_re "$T/err" "only root may run admin commands" "admin refusal message"
expect 77 "non-root: --check-config refused" -- $AS_NOBODY "$D/pam-recover" --check-config
got=$(printf 'enrolled\n%s\nlogin\n\n' "$U" | $AS_NOBODY "$D/pam-recover" check >/dev/null 2>&1; echo $?)
[ "$got" = 9 ] && ok "non-root: check on another user's account is denied (9)" || bad "non-root check other: $got"
got=$(printf 'enrolled\nno-such-user-xyz\nlogin\n\n' | $AS_NOBODY "$D/pam-recover" check >/dev/null 2>&1; echo $?)
[ "$got" = 9 ] && ok "non-root: check on an unknown user is denied (9)" || bad "non-root check unknown: $got"
rm -rf "$D"

# ---- hostile start-up ----
# (LD_PRELOAD is the dynamic loader's business for a setuid binary; this build is not.)
want=$("$H" --config "$CONF" --check-config 2>&1)
got=$(env -i TZ=Mars LANG=xx_XX LC_ALL=xx_XX IFS=: PATH=/nonexistent http_proxy=http://127.0.0.1:9 "$H" --config "$CONF" --check-config 2>&1)
[ "$got" = "$want" ] && [ "${got##*$'\n'}" = "configuration OK" ] && ok "hostile environment has no effect" || bad "hostile env: $got"
got=$("$H" --config "$CONF" --check-config 0<&- 1>"$T/o1" 2>&-; echo $?)
[ "$got" = 0 ] && contains "$T/o1" "configuration OK" "runs with stdin and stderr closed" || bad "closed fds: $got"
got=$(/usr/bin/python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None)
null = (ctypes.c_char_p * 1)(None)
libc.execve(sys.argv[1].encode(), null, null)
sys.exit(99)' "$H" 2>&1; echo "rc=$?")
case "$got" in *rc=64*) ok "argc == 0 refused (64)" ;; *) bad "argc 0: $got" ;; esac

rc_summary
