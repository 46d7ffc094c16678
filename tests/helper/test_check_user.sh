#!/bin/bash
# `pam-recover check` as a non-root caller would run it (the module inside a screen locker or
# a non-root service): real uid = the user, effective uid 0, as with the installed setuid
# binary. uid_wrapper fakes the ids (the test itself is root); a private mount namespace puts
# a temporary /etc/security (the compiled-in config directory) in place, since a non-root caller cannot name a config (--config).
# Checks: own account allowed, another account denied (9), --config and admin refused (77),
# the per-uid rate limit (30 requests a minute, then 4, with nothing written once over it),
# `admin unlock` clearing it, and mode hold (the keys and "= N", then one more request
# answered by the exit status; `done`, end of input: 11, nothing decided).
set -u
. "$(dirname "$0")/../lib/rctest.sh"
rc_init check_user

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
H="$top_builddir/pam-recover"
UW=$(ls /usr/lib/*/libuid_wrapper.so /usr/lib/libuid_wrapper.so 2>/dev/null | head -1)

if [ "$(id -u)" != 0 ]; then rc_skip_all "needs root"; fi
[ -n "$UW" ] || { rc_skip_all "needs libuid-wrapper"; }
for tool in oathtool unshare mount; do
	command -v "$tool" >/dev/null 2>&1 || { rc_skip_all "needs $tool"; }
done
[ -x "$H" ] || { rc_abort "$H not built"; }

if [ -z "${RC_IN_NS:-}" ]; then
	unshare -m --propagation private true 2>/dev/null || { rc_skip_all "no mount namespace"; }
	RC_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

T=$(mktemp -d /tmp/pam-recover-test.XXXXXX)
chmod 700 "$T"
# The directory of the config path compiled into the helper (/etc/security in a normal
# build, somewhere under the _inst prefix in `make distcheck`).
CONF=$(strings -a "$H" | grep -m1 '^/.*/pam_recover\.conf$')
[ -n "$CONF" ] || { rc_abort "cannot find the compiled-in config path in $H"; }
SECDIR=$(dirname "$CONF")
mkdir -p "$SECDIR"
trap 'umount "$SECDIR" 2>/dev/null; rm -rf "$T"' EXIT
mkdir -m 755 "$T/security"
mount --bind "$T/security" "$SECDIR" || { rc_skip_all "cannot bind-mount"; }
cat >"$CONF" <<EOF
store = sqlite:$T/state/state.db
key_file = $T/key
deny = 5
EOF
chmod 644 "$CONF"


U=daemon
UID_U=$(id -u $U)
GID_U=$(id -g $U)
# Under --enable-sanitizers the ASan runtime must come first in LD_PRELOAD.
ASAN_RT=$(ldd "$H" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*libasan[^ ]*\).*/\1/p' | head -1)
PRELOAD="${ASAN_RT:+$ASAN_RT }$UW"
# Run as U with effective root, like the setuid helper started by U.
as_user() {
	env LD_PRELOAD="$PRELOAD" UID_WRAPPER=1 UID_WRAPPER_ROOT=1 \
		UID_WRAPPER_INITIAL_RUID="$UID_U" UID_WRAPPER_INITIAL_EUID=0 UID_WRAPPER_INITIAL_SUID=0 \
		UID_WRAPPER_INITIAL_RGID="$GID_U" UID_WRAPPER_INITIAL_EGID=0 UID_WRAPPER_INITIAL_SGID=0 \
		"$H" "$@"
}
ucheck() { # MODE USER SERVICE INPUT -> exit status
	printf '%s\n%s\n%s\n%s\n' "$1" "$2" "$3" "$4" | as_user check >/dev/null 2>&1
	echo $?
}

"$H" admin init >/dev/null || { bad "admin init (default config path)"; exit 1; }
enrolled=$("$H" --json admin enrol $U | /usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["secret"], d["backup_codes"][0].replace(" ", "").replace("-", ""))')
secret=${enrolled% *}
backup=${enrolled#* }
[ -n "$secret" ] && ok "enrolled $U through the default config path" || bad "enrol"

is "$(printf 'x\n' | as_user --config "$CONF" check >/dev/null 2>&1; echo $?)" 77 "--config refused for a non-root caller"
is "$(as_user admin list >/dev/null 2>&1; echo $?)" 77 "admin refused for a non-root caller"
is "$(ucheck enrolled $U login "")" 0 "own account: enrolled"
is "$(ucheck code $U login "$(oathtool --totp -b "$secret")")" 0 "own account: a right code"
# Mode split (split_pass without root): read-only, answers where the code starts.
is "$(ucheck split $U imap "")" 0 "split: enrolled, no 8-digit tail: the last 6 digits"
is "$(ucheck split $U imap 12345678)" 0 "split: 8 digits that are no backup code: the last 6"
is "$(ucheck split $U imap "$backup")" 1 "split: an unused backup code: the last 8"
is "$(ucheck code $U imap "$backup")" 1 "the backup code is accepted once (code mode)"
is "$(ucheck split $U imap "$backup")" 3 "split: a used backup code: the last 8 (used)"
is "$(ucheck split $U imap 1234)" 10 "split: anything but 8 digits or nothing is malformed"
is "$(ucheck split bin imap "")" 9 "split: another account: denied"
is "$(ucheck enrolled bin login "")" 9 "another account: denied"
is "$(ucheck code root login 123456)" 9 "root's account: denied"
is "$(ucheck code nosuchuser-xyz login 123456)" 9 "an unknown account: denied"

# The per-uid limit: 30 requests a minute (the 7 allowed above and the denied ones count
# only when they reach the store: the denied ones do not).
n=7
while [ $n -lt 30 ]; do
	r=$(ucheck enrolled $U login "")
	[ "$r" = 0 ] || break
	n=$((n + 1))
done
is "$n" 30 "30 requests a minute are answered"
is "$(ucheck enrolled $U login "")" 4 "the 31st is refused as locked"
# Refused requests write nothing: a caller over its limit cannot keep the store's write lock
# busy (the 30 answered requests are the only rows of its counter).
for _ in 1 2 3 4 5; do ucheck enrolled $U login "" >/dev/null; done
rows=$(/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM counters WHERE key = ?", (sys.argv[2],)).fetchone()[0])' \
	"$T/state/state.db" "check:uid:$UID_U")
is "$rows" 30 "refused requests over the limit wrote nothing"
"$H" admin unlock $U >/dev/null
is "$(ucheck enrolled $U login "")" 0 "admin unlock clears the limit"

# Mode hold, as the module without root uses it: one process for the question before the
# prompt and the decision after it. uhold USER SECOND: SECOND is a printf format for the
# second request, or "eof" to close standard input. Prints "ANSWER STATUS KEYS", ANSWER the
# "= N" line's N (empty without one), KEYS how many "key = value" lines came before it.
uhold() {
	local line ans="" keys=0 st to from pid
	coproc HB { as_user check 2>/dev/null; }
	# bash forgets HB once the process has ended (as a denied one does at once): copy it
	to=${HB[1]} from=${HB[0]} pid=$HB_PID
	printf 'hold\n%s\nlogin\n\n' "$1" >&"$to"
	while IFS= read -r line <&"$from"; do
		case $line in
		"= "*) ans=${line#= }; break ;;
		*" = "*) keys=$((keys + 1)) ;;
		esac
	done
	[ "$2" = eof ] || printf "$2" >&"$to" 2>/dev/null
	eval "exec $to>&- $from<&-" 2>/dev/null
	wait "$pid"
	st=$?
	echo "$ans $st $keys"
}
code_next=$(oathtool --totp -b "$secret" -N "now + 30 seconds")
r=$(uhold $U "code\n$U\nlogin\n$code_next\n")
is "${r% *}" "0 0" "hold: enrolled, then the next code accepted by the same process"
[ "${r##* }" -gt 5 ] && ok "hold: the configuration's keys before the answer (${r##* })" ||
	bad "hold: keys before the answer: ${r##* }"
is "$(uhold $U "code\n$U\nlogin\n$code_next\n" | cut -d' ' -f1-2)" "0 3" "hold: that code again is a replay"
is "$(uhold $U "code\n$U\nlogin\n000000\n" | cut -d' ' -f1-2)" "0 2" "hold: a wrong code"
is "$(uhold $U "enrolled\n$U\nlogin\n\n" | cut -d' ' -f1-2)" "0 0" "hold: enrolled as the second request"
is "$(uhold $U eof | cut -d' ' -f1-2)" "0 11" "hold: end of input, nothing decided"
is "$(uhold $U "done\n\n\n\n" | cut -d' ' -f1-2)" "0 11" "hold: done, nothing decided"
is "$(uhold $U "hold\n$U\nlogin\n\n" | cut -d' ' -f1-2)" "0 10" "hold: a second hold is malformed"
is "$(uhold $U "code\nbin\nlogin\n123456\n" | cut -d' ' -f1-2)" "0 9" "hold: a second request for another account: denied"
is "$(uhold bin eof | cut -d' ' -f1-3)" " 9 0" "hold for another account: denied before any key"
is "$(ucheck done "" "" "")" 10 "done outside hold is malformed"
is "$(ucheck hold $U login x)" 10 "hold with an input is malformed"
is "$(ucheck hold "" login "")" 10 "hold without a user is malformed"

rc_summary
