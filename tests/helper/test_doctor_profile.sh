#!/bin/bash
# `pam-recover admin doctor` on the common-auth that Debian's pam-auth-update writes from the
# package's profile (debian/pam-configs/pam-recover): the real pam-auth-update runs in a
# private mount namespace over copies of /etc/pam.d, /var/lib/pam, /usr/share/pam-configs
# and the debconf database, starting from libpam-runtime's templates; the host's files are
# never changed. The profile skips pam_recover.so for the helper's own service with
# pam_succeed_if: the doctor must see that this jump is taken for that service only.
set -u
. "$(dirname "$0")/../lib/rctest.sh"
rc_init doctor_profile

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
H="$top_builddir/pam-recover"
MOD="$top_builddir/.libs/pam_recover.so"
PROFILE="$top_srcdir/debian/pam-configs/pam-recover"

if [ "$(id -u)" != 0 ]; then
	rc_skip_all "needs root"
fi
for f in /usr/sbin/pam-auth-update /usr/share/pam/common-auth /usr/share/pam-configs/unix \
	/var/cache/debconf; do
	[ -e "$f" ] || { rc_skip_all "needs $f (Debian's libpam-runtime)"; }
done
[ -x "$H" ] || { rc_abort "$H not built"; }
[ -f "$MOD" ] || { rc_abort "$MOD not built"; }
[ -f "$PROFILE" ] || { rc_abort "$PROFILE is missing"; }

if [ -z "${RC_DOCTOR_PROFILE_NS:-}" ]; then
	unshare -m --propagation private true 2>/dev/null ||
		{ rc_skip_all "cannot make a private mount namespace (unshare -m)"; }
	exec unshare -m --propagation private env RC_DOCTOR_PROFILE_NS=1 bash "$0" "$@"
fi

T=$(mktemp -d /tmp/pam-recover-profile.XXXXXX)
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT


# The test's accounts (the doctor asks who nullok lets in), configuration, key and store;
# root is enrolled.
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' \
	>"$T/passwd"
# Laid over /etc as a read-only overlay (a bind over the file itself would be lost when a
# useradd elsewhere renames the host's /etc/passwd). The helper and the module's check back
# end, installed setuid root, are laid over their compiled-in directories the same way (the
# doctor checks they are there).
mkdir -p "$T/etc-top" "$T/helper-dir" "$T/check-dir"
mv "$T/passwd" "$T/etc-top/passwd"
chmod 644 "$T/etc-top/passwd"
HELPER_PATH=$(tr '\0' '\n' <"$H" | grep -E '^/([[:alnum:]_.-]+/)+pam-recover$' | head -1)
[ -n "$HELPER_PATH" ] || { rc_abort "no helper path in $H"; }
install -m 4755 -o root -g root "$H" "$T/helper-dir/pam-recover"
CHECK_PATH=$(tr '\0' '\n' <"$MOD" |
	grep -E '^/([[:alnum:]_.-]+/)+pam-recover-check$' | head -1)
[ -n "$CHECK_PATH" ] || { rc_abort "no pam-recover-check path in the module"; }
install -m 4755 -o root -g root "$top_builddir/pam-recover-check" "$T/check-dir/pam-recover-check"
mount -t overlay overlay -o "lowerdir=$T/etc-top:/etc" /etc &&
	"$top_srcdir/tests/helper/layover.sh" "$T/helper-dir" "$(dirname "$HELPER_PATH")" \
		"$T/check-dir" "$(dirname "$CHECK_PATH")" ||
	{ rc_abort "cannot lay the test's /etc/passwd, helper and back end over the host's"; }
CONF="$T/pam_recover.conf"
printf 'store = sqlite:%s/state/state.db\nkey_file = %s/key\n' "$T" "$T" >"$CONF"
chmod 644 "$CONF"
"$H" --config "$CONF" admin init >/dev/null || { rc_abort "admin init"; }
"$H" --config "$CONF" admin enrol root >/dev/null || { rc_abort "admin enrol root"; }

# A Debian system's PAM configuration as libpam-runtime installs it, with the package's
# profile (naming the built module) beside the unix one.
mkdir -p "$T/pamd" "$T/varlib" "$T/configs" "$T/debconf"
for f in /usr/share/pam/common-*; do
	case "$f" in *.md5sums) ;; *) cp "$f" "$T/pamd/" ;; esac
done
cp /usr/share/pam-configs/unix "$T/configs/"
cp -a /var/cache/debconf/. "$T/debconf/"
mount --bind "$T/pamd" /etc/pam.d &&
	mount --bind "$T/varlib" /var/lib/pam &&
	mount --bind "$T/configs" /usr/share/pam-configs &&
	mount --bind "$T/debconf" /var/cache/debconf ||
	{ rc_abort "cannot bind the test's PAM configuration"; }
printf '@include common-auth\n@include common-account\n' >/etc/pam.d/sshd
cp "$top_srcdir/conf/pam.d/pam-recover" /etc/pam.d/pam-recover

# enable PROFILE-TEXT: pam-auth-update writes common-auth with unix and this profile
enable() {
	sed "s#pam_recover\.so#$MOD#" >/usr/share/pam-configs/pam-recover
	rm -f /var/lib/pam/*
	DEBIAN_FRONTEND=noninteractive pam-auth-update --force --enable unix pam-recover \
		>"$T/pau.out" 2>&1 || { bad "pam-auth-update --enable"; cat "$T/pau.out"; }
}
doctor() { "$H" --config "$CONF" admin doctor --pamd /etc/pam.d "$@"; }

# ---- the profile as shipped ----
enable <"$PROFILE"
grep -v '^#' /etc/pam.d/common-auth >"$T/common-auth"
if grep -A1 -E '^auth[[:space:]]+\[success=1 default=ignore\][[:space:]]+pam_succeed_if\.so quiet service = pam-recover' \
	"$T/common-auth" | grep -qE "^auth[[:space:]]+required[[:space:]]+$MOD nullok\$"; then
	ok "pam-auth-update: the helper's service skips the next line, which is pam_recover.so nullok"
else
	bad "pam-auth-update did not write the profile's two lines"
	sed 's/^/    | /' "$T/common-auth"
fi
if awk '/pam_deny.so/{d=NR} /pam_recover.so/{r=NR} END{exit !(d && r > d)}' "$T/common-auth"; then
	ok "pam-auth-update: pam_recover.so comes after the password block (Additional)"
else bad "pam_recover.so is not after pam_deny.so in common-auth"; fi
expect 0 "doctor on the shipped profile: sshd asks for a code, the helper's service does not" \
	-- doctor
contains "$T/out" "No problems found" "doctor: no finding"
lacks "$T/out" "skips pam_recover.so" "doctor: the jump over pam_recover.so is not taken for sshd"
lacks "$T/out" ".pam-old" "doctor: pam-auth-update's backup files are not services"

# ---- the same jump taken for sshd is an error ----
sed 's/service = pam-recover/service = sshd/' "$PROFILE" | enable
expect 2 "doctor: a profile whose pam_succeed_if skips the code for sshd" -- doctor --services sshd
contains "$T/out" "skips pam_recover.so" "doctor: names the jump that skips pam_recover.so"
contains "$T/out" "/etc/pam.d/common-auth:" "doctor: at its line in common-auth"

# ---- a skip that depends on the user is not known in advance: the doctor assumes it may ----
sed 's/service = pam-recover/user = rcvnobody/' "$PROFILE" | enable
expect 1 "doctor: pam_succeed_if on the user name may skip the code (a warning)" -- doctor --services sshd
contains "$T/out" "skips pam_recover.so (/etc/pam.d/common-auth:" "doctor: says so"
contains "$T/out" "(when pam_succeed_if.so (/etc/pam.d/common-auth:" "doctor: and when"
printf 'Name: x\nDefault: no\nPriority: 0\nAuth-Type: Additional\nAuth:\n\t[success=1 default=ignore]\tpam_succeed_if.so quiet service in pam-recover:cron\n\trequired\tpam_recover.so nullok\n' |
	enable
expect 0 "doctor: \`service in pam-recover:cron\` skips only those services" -- doctor

# ---- without the skip the helper's own service asks for a code ----
grep -v pam_succeed_if "$PROFILE" | enable
expect 1 "doctor: pam_recover.so in the helper's own service is a warning" -- doctor
contains "$T/out" "the helper's own service pam-recover asks for a code" \
	"doctor: says what breaks"
contains "$T/out" "/etc/pam.d/pam-recover" "doctor: names the file"

rc_summary
