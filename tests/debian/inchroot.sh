#!/bin/bash
# Runs inside the bare Debian 12 chroot that tests/debian/run prepares (as root, private
# mounts, a throw-away overlay). /t holds the two builds of the package (old/ and new/),
# debian/tests/login, pamlogin.py and rctest.sh (tests/lib: the case lines and summary).
#
#   inchroot.sh install   a fresh `apt install ./libpam-recover_*.deb` on the bare system,
#                         the package's own autopkgtest (enrol, log in), purge: nothing left
#   inchroot.sh upgrade   the previous build, a user enrolled and logging in through the
#                         pam-auth-update profile, a dpkg-statoverride; the upgrade keeps
#                         key, enrolment, override; remove keeps config and state and takes
#                         the profile out; purge removes them and leaves nothing
#
# One "PASS: debian/..." or "FAIL: debian/..." line per check; exit status 1 if any failed.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
APT=(apt-get -y -q -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold)
USER_T=rcvtest
PASSWORD='Tr0ub4dor&3-rcv-chroot'
HELPER=/usr/bin/pam-recover
KEY=/etc/security/pam_recover.key
STATE=/var/lib/pam_recover
. "$(dirname "$0")/rctest.sh"
rc_init debian
holds() { # holds WHAT CMD...: PASS when CMD succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
deb() { ls /t/"$1"/libpam-recover_*.deb; }
debversion() { dpkg-deb -f "$(deb "$1")" Version; }

# Everything on the system that a package could leave behind: names, modes and owners of
# every file, and the contents of the PAM and security configuration. Left out: what
# dpkg and apt record about themselves, logs, caches, and this test's own files.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /t -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
		-o -path /var/log -o -path /root \) -prune -o -printf '%p %m %u:%g\n' | sort
	find /etc/pam.d /etc/security /usr/share/pam-configs /var/lib/pam -type f \
		-exec sha256sum {} + | sort
}

# The tools the tests use (the autopkgtest's dependencies but the package itself), and the
# test account: made before the first snapshot, so that only the package can make a
# difference.
prepare() {
	local deps
	deps=$(cat /t/test-depends)
	# shellcheck disable=SC2086 # one package name a word
	"${APT[@]}" install --no-install-recommends $deps >/tmp/tools.log 2>&1 ||
		{ tail -20 /tmp/tools.log; bad "apt-get install $(echo $deps)"; exit 1; }
	id "$USER_T" >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh "$USER_T"
	echo "$USER_T:$PASSWORD" | chpasswd
	snapshot >/tmp/before
}

# apt-get purge, then autoremove of what only the package pulled in; the purge must say what
# it removes, and the system must be as before the install.
purge_check() {
	local out
	out=$("${APT[@]}" purge libpam-recover 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /'
	holds "apt-get purge libpam-recover" installed_not libpam-recover
	if printf '%s\n' "$out" | grep -q "purge: removing the sealing key $KEY"; then
		ok "purge says that it removes the key and the state"
	else bad "purge says that it removes the key and the state"; fi
	holds "purge removed the key, the state and the configuration" \
		test ! -e "$KEY" -a ! -e "$STATE" -a ! -e /etc/security/pam_recover.conf \
		-a ! -e /etc/pam.d/pam-recover
	"${APT[@]}" autoremove --purge >/tmp/autoremove.log 2>&1 || cat /tmp/autoremove.log
	snapshot >/tmp/after
	if diff -u /tmp/before /tmp/after >/tmp/diff; then
		ok "after purge and autoremove the file list is the one before the install"
	else
		sed 's/^/    /' /tmp/diff | head -40
		bad "after purge and autoremove the file list is the one before the install"
	fi
}
installed_not() { ! installed "$1"; }

schema() { # the store's schema version
	/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' \
		"$STATE/state.db"
}

code() { oathtool --totp -b --now "@$(($(date +%s) + ${2:-0}))" "$1"; }

# login SERVICE success|fail ANSWER...
login() {
	local service=$1 want=$2
	shift 2
	printf '%s\n' "$@" | /usr/bin/python3 /t/pamlogin.py "$USER_T" "$service" "$want"
}

do_install() {
	local v out
	prepare
	v=$(debversion new)
	holds "bare system: the libraries the package needs are not installed yet" \
		installed_not libsodium23
	out=$("${APT[@]}" install --no-install-recommends "$(deb new)" 2>&1)
	printf '%s\n' "$out" | tail -25 | sed 's/^/    /'
	holds "apt-get install ./libpam-recover_${v}_*.deb" installed libpam-recover
	holds "apt resolved the dependencies (libsodium23, liboath0, libsqlite3-0 ...)" \
		installed libsodium23
	if printf '%s\n' "$out" | grep -q "key file $KEY: created"; then
		ok "postinst ran pam-recover admin init: key created"
	else bad "postinst ran pam-recover admin init: key created"; fi
	holds "the package's own autopkgtest (debian/tests/login) passes" /t/login
	holds "the timer that delivers waiting reset notices is installed and enabled" \
		test -L /etc/systemd/system/timers.target.wants/pam-recover-flush.timer
	holds "hosts without systemd deliver them from cron" \
		grep -q "pam-recover admin flush-notices" /etc/cron.d/libpam-recover
	holds "pam-recover admin flush-notices runs (nothing waiting)" \
		"$HELPER" admin flush-notices
	ok "the timer that prunes old audit events is installed and enabled" \
		test -L /etc/systemd/system/timers.target.wants/pam-recover-prune.timer
	ok "hosts without systemd prune from cron" \
		grep -q "pam-recover admin prune" /etc/cron.d/libpam-recover
	ok "pam-recover admin prune runs" "$HELPER" admin prune
	purge_check
}

do_upgrade() {
	local v_old v_new out secret keysum
	prepare
	v_old=$(debversion old)
	v_new=$(debversion new)
	"${APT[@]}" install --no-install-recommends "$(deb old)" >/tmp/old.log 2>&1 ||
		cat /tmp/old.log
	holds "the previous build ($v_old) installs" installed libpam-recover
	holds "pam-recover --version says $v_old" test "$($HELPER --version | awk '{print $NF}')" = "$v_old"
	secret=$($HELPER --json admin enrol "$USER_T" | tail -n 1 |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	holds "admin enrol $USER_T" test -n "$secret"
	keysum=$(sha256sum "$KEY")
	holds "pam-auth-update --enable pam-recover" pam-auth-update --enable pam-recover
	printf '@include common-auth\n@include common-account\n' >/etc/pam.d/rcv-chroot
	holds "$v_old: password + code log in through common-auth" \
		login rcv-chroot success "$PASSWORD" "$(code "$secret")"
	holds "$v_old: password alone is refused" login rcv-chroot fail "$PASSWORD" ""
	dpkg-statoverride --update --add root root 0755 "$HELPER"
	echo '# changed by the administrator' >>/etc/security/pam_recover.conf
	holds "$v_old wrote store schema $(cat /t/old/schema)" test "$(schema)" = "$(cat /t/old/schema)"

	out=$("${APT[@]}" install --no-install-recommends "$(deb new)" 2>&1)
	printf '%s\n' "$out" | tail -12 | sed 's/^/    /'
	holds "upgrade to $v_new" test "$(dpkg-query -W -f='${Version}' libpam-recover)" = "$v_new"
	holds "pam-recover --version says $v_new" test "$($HELPER --version | awk '{print $NF}')" = "$v_new"
	if printf '%s\n' "$out" | grep -q "key file $KEY: already present, kept"; then
		ok "the upgrade's admin init kept the key and brought the store up to date"
	else bad "the upgrade's admin init kept the key and brought the store up to date"; fi
	holds "the key is the same file content after the upgrade" test "$(sha256sum "$KEY")" = "$keysum"
	if [ "$(cat /t/old/schema)" = "$(cat /t/new/schema)" ]; then
		skip "store migration on upgrade" "both builds have schema $(cat /t/new/schema)" \
			"(PAM_RECOVER_DEB_OLD_REF=COMMIT builds the previous version from an older commit)"
	else
		holds "the upgrade migrated the store from schema $(cat /t/old/schema) to $(cat /t/new/schema)" \
			test "$(schema)" = "$(cat /t/new/schema)"
	fi
	holds "the upgrade kept the administrator's change to pam_recover.conf" \
		grep -qx '# changed by the administrator' /etc/security/pam_recover.conf
	holds "the dpkg-statoverride (0755) survived the upgrade" \
		test "$(stat -c '%a %U' "$HELPER")" = "755 root"
	holds "the upgrade left common-auth as it was (the profile still on)" \
		grep -q 'pam_recover.so nullok' /etc/pam.d/common-auth
	holds "$v_new: the enrolment made with $v_old still logs in (password + next code)" \
		login rcv-chroot success "$PASSWORD" "$(code "$secret" 30)"
	holds "$v_new: a wrong code is refused" login rcv-chroot fail "$PASSWORD" "000000"

	out=$("${APT[@]}" remove libpam-recover 2>&1)
	printf '%s\n' "$out" | tail -8 | sed 's/^/    /'
	holds "apt-get remove libpam-recover" installed_not libpam-recover
	holds "remove took the helper, its check back end and the module away" \
		bash -c '! ls /usr/bin/pam-recover /usr/sbin/pam-recover-check /usr/lib/*/security/pam_recover.so 2>/dev/null'
	holds "remove took the pam-auth-update profile out of common-auth" \
		bash -c '! grep -q pam_recover /etc/pam.d/common-auth'
	holds "after remove, logins work again on the password (no stack names a missing module)" \
		login rcv-chroot success "$PASSWORD"
	holds "remove kept the configuration, the key and the state" \
		test -f /etc/security/pam_recover.conf -a "$(sha256sum "$KEY")" = "$keysum" \
		-a -f "$STATE/state.db"
	rm -f /etc/pam.d/rcv-chroot
	dpkg-statoverride --remove "$HELPER"
	purge_check
}

case "${1:-}" in
install) do_install ;;
upgrade) do_upgrade ;;
*) echo "usage: inchroot.sh install|upgrade" >&2; exit 64 ;;
esac
rc_summary
[ "$rc_nfail" = 0 ]
