#!/bin/bash
# A configuration error as a non-root caller sees it (the setuid helper started by a user,
# faked with uid_wrapper): only that the configuration has an error and that the
# administrator can run `pam-recover --check-config`; the details (key, line, value) go to
# syslog (authpriv), with credentials redacted. Root's --check-config shows the details,
# also redacted. The configuration holds a password in smtp_url and in store.
# A private mount namespace puts a temporary /etc/security (the compiled-in config
# directory) in place, and tests/helper/syslog_ns.py a private /dev/log.
set -u
. "$(dirname "$0")/../lib/rctest.sh"
rc_init config_secrets

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$(cd "$(dirname "$0")" && pwd)
H="$top_builddir/pam-recover"
UW=$(ls /usr/lib/*/libuid_wrapper.so /usr/lib/libuid_wrapper.so 2>/dev/null | head -1)
SECRET=S3cretPw0rd

if [ "$(id -u)" != 0 ]; then rc_skip_all "needs root"; fi
[ -n "$UW" ] || { rc_skip_all "needs libuid-wrapper"; }
[ -x "$H" ] || { rc_abort "$H not built"; }

if [ -z "${RC_IN_NS:-}" ]; then
	unshare -m --propagation private true 2>/dev/null || { rc_skip_all "no mount namespace"; }
	RC_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

T=$(mktemp -d /tmp/pam-recover-test.XXXXXX)
chmod 700 "$T"
CONF=$(strings -a "$H" | grep -m1 '^/.*/pam_recover\.conf$')
[ -n "$CONF" ] || { rc_abort "cannot find the compiled-in config path in $H"; }
SECDIR=$(dirname "$CONF")
mkdir -p "$SECDIR"
trap 'umount "$SECDIR" 2>/dev/null; rm -rf "$T"' EXIT
mkdir -m 755 "$T/security"
mount --bind "$T/security" "$SECDIR" || { rc_skip_all "cannot bind-mount"; }


U=daemon
ASAN_RT=$(ldd "$H" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*libasan[^ ]*\).*/\1/p' | head -1)
PRELOAD="${ASAN_RT:+$ASAN_RT }$UW"
# Run as U with effective root, like the setuid helper started by U; syslog into $T/log.
as_user() {
	unshare -m --propagation private /usr/bin/python3 "$here/syslog_ns.py" "$T/log" -- \
		env LD_PRELOAD="$PRELOAD" UID_WRAPPER=1 UID_WRAPPER_ROOT=1 \
		UID_WRAPPER_INITIAL_RUID="$(id -u $U)" UID_WRAPPER_INITIAL_EUID=0 \
		UID_WRAPPER_INITIAL_SUID=0 UID_WRAPPER_INITIAL_RGID="$(id -g $U)" \
		UID_WRAPPER_INITIAL_EGID=0 UID_WRAPPER_INITIAL_SGID=0 "$H" "$@"
}
GENERIC='the configuration has an error; the administrator can run `pam-recover --check-config`'

for value in "smtp_url = smtp://mailer:$SECRET@mail.example.org:587" \
	"store = postgresql://pam:$SECRET@db.example.org/pam"; do
	what=${value%% *}
	printf 'key_file = %s/key\n%s\n' "$T" "$value" >"$CONF"
	chmod 644 "$CONF"
	: >"$T/log"

	as_user status >"$T/out" 2>"$T/err"
	st=$?
	if [ $st = 78 ] && [ "$(cat "$T/err")" = "pam-recover: $GENERIC" ] && [ ! -s "$T/out" ]; then
		ok "${what}_user_told_only_that_there_is_an_error"
	else
		bad "${what}_user_told_only_that_there_is_an_error" "exit $st, stderr: $(cat "$T/err")"
	fi
	as_user --json reset --json </dev/null >"$T/out" 2>"$T/err"
	st=$?
	if grep -q "$SECRET\|$what\|$SECDIR" "$T/out" "$T/err"; then
		bad "${what}_reset_json_shows_nothing_of_the_config" "$(cat "$T/out" "$T/err")"
	elif [ $st = 78 ] && grep -qF -- '--check-config' "$T/out"; then
		ok "${what}_reset_json_shows_nothing_of_the_config"
	else
		bad "${what}_reset_json_shows_nothing_of_the_config" "exit $st: $(cat "$T/out" "$T/err")"
	fi
	if grep -q "configuration error: .*$what: '.*\*\*\*@" "$T/log" && ! grep -q "$SECRET" "$T/log"; then
		ok "${what}_details_logged_with_the_password_redacted"
	else
		bad "${what}_details_logged_with_the_password_redacted" "log: $(cat "$T/log")"
	fi
	"$H" --check-config >"$T/out" 2>"$T/err"
	st=$?
	if [ $st = 78 ] && grep -q "$what: '.*\*\*\*@" "$T/err" && ! grep -q "$SECRET" "$T/out" "$T/err"; then
		ok "${what}_root_check_config_names_the_line_redacted"
	else
		bad "${what}_root_check_config_names_the_line_redacted" "exit $st: $(cat "$T/err")"
	fi
done

rc_summary
