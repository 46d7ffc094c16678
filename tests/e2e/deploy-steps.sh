# Inside the private mount namespace of tests/e2e/deploy (not run on its own): the host,
# then the README's deployment steps, then the logins. Environment: T SRC BUILD HERE
# SSH_PORT IMAP_PORT.
set -u -o pipefail
. "$HERE/../lib/rctest.sh"
rc_init deploy
PIDS=()
finish() {
	local pid
	trap - EXIT
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	rc_summary
	exit
}
die() {
	RC_TEST_ONLY= bad "$1" "$2"
	finish
}
trap finish EXIT
has() { # NAME FILE TEXT
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		bad "$1" "no '$3' in: $(head -c 1500 "$2" | tr '\n' ' ')"
	fi
}

# ---- the host: a fresh Debian 12 with openssh-server and dovecot-imapd ----
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/ov/etc/up,workdir=$T/ov/etc/work" /etc &&
	mount -t overlay overlay -o "lowerdir=/usr,upperdir=$T/ov/usr/up,workdir=$T/ov/usr/work" /usr &&
	mount -t overlay overlay -o "lowerdir=/var,upperdir=$T/ov/var/up,workdir=$T/ov/var/work" /var &&
	mount -t overlay overlay -o "lowerdir=/root,upperdir=$T/ov/root/up,workdir=$T/ov/root/work" /root &&
	mount -t tmpfs -o mode=0755 tmpfs /run ||
	die "namespace" "cannot mount the overlays"
mkdir -m 0755 /run/sshd
# the packages' configuration as installed (whatever this host has changed in its copies)
rm -rf /etc/ssh/sshd_config.d /etc/dovecot/conf.d /etc/dovecot/local.conf
mkdir -p /etc/ssh/sshd_config.d
cp /usr/share/openssh/sshd_config /etc/ssh/sshd_config
cp /usr/share/dovecot/dovecot.conf /etc/dovecot/dovecot.conf
cp -r /usr/share/dovecot/conf.d /etc/dovecot/conf.d
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null || die "host" "ssh-keygen -A failed"
mkdir -p -m 0700 /etc/dovecot/private
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$(hostname)" \
	-keyout /etc/dovecot/private/dovecot.key -out /etc/dovecot/private/dovecot.pem \
	>/dev/null 2>&1 || die "host" "cannot make Dovecot's certificate"
# Debian's own pam.d/sshd and pam.d/dovecot, as the packages ship them
for f in sshd:openssh-server dovecot:dovecot-core; do
	sum=$(dpkg-query -W -f='${Conffiles}\n' "${f##*:}" | awk -v p="/etc/pam.d/${f%%:*}" '$1 == p { print $2 }')
	[ -n "$sum" ] && [ "$(md5sum <"/etc/pam.d/${f%%:*}" | cut -d' ' -f1)" = "$sum" ] ||
		die "host" "/etc/pam.d/${f%%:*} differs from the one ${f##*:} ships"
done
# where the test's daemons listen: Dovecot's stock dovecot.conf ends with !include_try local.conf
cat >/etc/dovecot/local.conf <<EOF
# tests/e2e/deploy: where this Dovecot listens, and its log
protocols = imap
listen = 127.0.0.1
log_path = $T/dovecot.log
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
# users: you (the administrator), alice and carol (enrolled), bob (not yet)
declare -A PW
for u in you alice bob carol; do
	useradd -m -d "$T/home/$u" -s /bin/bash "$u" || die "host" "useradd $u failed"
	# 12 characters: the module reads up to 15 as a code, so a password given to the code
	# prompt counts as a failed code (longer ones are refused without counting)
	PW[$u]="pw-$(head -c 6 /dev/urandom | base64 | tr '+/' 'xy')x"
	printf '%s:%s\n' "$u" "${PW[$u]}" | chpasswd || die "host" "chpasswd $u failed"
done

# ---- README, Building and installing: make install ----
expect 0 "make install" -- make -C "$BUILD" install || finish
command -v pam-recover >/dev/null || PATH=$PATH:/usr/sbin
# (make install puts /etc/pam.d/pam-recover there when none exists, as for the config)
[ -e /etc/pam.d/pam-recover ] || install -m 0644 "$SRC/conf/pam.d/pam-recover" /etc/pam.d/pam-recover

# ---- Deploying, 2: key, store, the first enrolments ----
expect 0 "2: pam-recover admin init" -- pam-recover admin init || finish
declare -A SECRET
for u in root you alice carol; do
	pam-recover --json admin enrol "$u" >"$T/enrol-$u" 2>&1 || die "2: admin enrol $u" "$(cat "$T/enrol-$u")"
	SECRET[$u]=$(/usr/bin/python3 "$HERE/parse.py" enrol <"$T/enrol-$u" | head -1)
	[ -n "${SECRET[$u]}" ] || die "2: admin enrol $u" "no secret"
done
ok "2: pam-recover admin enrol root, you, alice, carol"

# ---- 3: the stacks in a copy, with nullok and an end date ----
cp -a /etc/pam.d /root/pam.d.new
sed -i '/^@include common-auth/a auth required pam_recover.so nullok' /root/pam.d.new/sshd
cat >/root/pam.d.new/dovecot <<'EOF'
auth [success=done default=ignore] pam_recover.so app_passwords
auth requisite pam_recover.so split_pass nullok
auth requisite pam_unix.so use_first_pass
auth required  pam_recover.so forwarded_code nullok
@include common-account
@include common-session
EOF
DATE=$(date -d '+30 days' +%F)
echo "enforce_after = $DATE" >>/etc/security/pam_recover.conf
grep -q '^auth required pam_recover.so nullok$' /root/pam.d.new/sshd &&
	ok "3: the sshd line after @include common-auth" || bad "3: the sshd line" "$(cat /root/pam.d.new/sshd)"

# What the doctor says before the sshd change: the stock KbdInteractiveAuthentication no.
expect 2 "3: admin doctor finds Debian's KbdInteractiveAuthentication no" -- \
	pam-recover admin doctor --pamd /root/pam.d.new \
	--sshd-config /etc/ssh/sshd_config --dovecot-conf /etc/dovecot/dovecot.conf
line=$(grep -n '^KbdInteractiveAuthentication no' /etc/ssh/sshd_config | cut -d: -f1)
has "3: ... at /etc/ssh/sshd_config:$line" "$T/out" "/etc/ssh/sshd_config:$line: KbdInteractiveAuthentication no: sshd never asks for the code"

# ---- 4: sshd asks for the code ----
cat >/etc/ssh/sshd_config.d/pam_recover.conf <<'EOF'
KbdInteractiveAuthentication yes
PasswordAuthentication no
AuthenticationMethods keyboard-interactive
EOF
expect 0 "4: sshd -t" -- /usr/sbin/sshd -t
expect 0 "4: Dovecot's auth cache is off (auth_cache_size 0)" -- sh -c \
	'[ "$(doveconf -h auth_cache_size)" = 0 ]'

# ---- 5: check the copy ----
expect 0 "5: pam-recover --check-config" -- pam-recover --check-config
expect 0 "5: admin doctor on the copy: no problems" -- pam-recover admin doctor --pamd /root/pam.d.new \
	--sshd-config /etc/ssh/sshd_config --dovecot-conf /etc/dovecot/dovecot.conf
has "5: ... says so" "$T/out" "No problems found"

# ---- 6: pamtester under a service nothing else uses ----
cp /root/pam.d.new/sshd /etc/pam.d/pam-recover-test
code=$(oathtool --totp -b "${SECRET[you]}")
PW_IN=${PW[you]} CODE_IN=$code /usr/bin/python3 - >"$T/out" 2>&1 <<'EOF'
import os, sys, pexpect
c = pexpect.spawn("pamtester", ["pam-recover-test", "you", "authenticate"], timeout=30,
                  encoding="utf-8")
c.expect(r"[Pp]assword: ?")
c.sendline(os.environ["PW_IN"])
c.expect(r"[Vv]erification code: ?")
c.sendline(os.environ["CODE_IN"])
i = c.expect(["successfully authenticated", pexpect.EOF])
print(c.before)
sys.exit(0 if i == 0 else 1)
EOF
[ $? = 0 ] && ok "6: pamtester: password, then code" || bad "6: pamtester" "$(tr '\n' ' ' <"$T/out")"
rm /etc/pam.d/pam-recover-test

# ---- 7: enable, reload, the doctor on the live files ----
cp /root/pam.d.new/sshd /root/pam.d.new/dovecot /etc/pam.d/
/usr/sbin/sshd -D -e -o "Port=$SSH_PORT" -o ListenAddress=127.0.0.1 -o "PidFile=$T/sshd.pid" \
	>"$T/sshd.log" 2>&1 &
PIDS+=($!)
/usr/sbin/dovecot -F >"$T/dovecot.out" 2>&1 &
PIDS+=($!)
up=0
for i in $(seq 150); do
	if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" 2>/dev/null &&
		timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT" 2>/dev/null &&
		grep -q "listening on 127.0.0.1 port $SSH_PORT" "$T/sshd.log"; then
		up=1
		break
	fi
	sleep 0.1
done
[ "$up" = 1 ] || die "7: sshd and Dovecot start" "$(tail -n 5 "$T/sshd.log" "$T/dovecot.out" "$T/dovecot.log" 2>&1 | tr '\n' ' ')"
# (systemctl reload ssh dovecot: the test starts them here, with the installed configuration)
expect 0 "7: admin doctor on the live files: no problems" -- pam-recover admin doctor
has "7: ... it read /etc/pam.d" "$T/out" "No problems found (/etc/pam.d: 2 services use pam_recover.so)"

# ---- the logins ----
ssh_login() { # USER PASSWORD CODE: sets RC, PROMPTS
	: >"$T/askpass.log"
	E2E_PASSWORD=$2 E2E_CODE=$3 E2E_ASKPASS_LOG=$T/askpass.log SSH_ASKPASS=$T/askpass \
		SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 60 setsid -w ssh -F /dev/null \
		-p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o NumberOfPasswordPrompts=1 -o PubkeyAuthentication=no \
		-o PreferredAuthentications=keyboard-interactive "$1@127.0.0.1" id -un \
		</dev/null >"$T/ssh.out" 2>"$T/ssh.err"
	RC=$?
	PROMPTS=$(tr '\n' '|' <"$T/askpass.log")
}
code=$(oathtool --totp -b "${SECRET[alice]}")
bad=$(printf '%06d' $(((10#$code + 500000) % 1000000)))
ssh_login alice "${PW[alice]}" "$bad"
[ "$RC" = 255 ] && grep -q 'Permission denied' "$T/ssh.err" && [[ $PROMPTS == *ode* ]] &&
	ok "ssh: a wrong code is refused" || bad "ssh: a wrong code" "exit $RC, prompts $PROMPTS, $(cat "$T/ssh.err")"
ssh_login alice "${PW[alice]}" "$code"
[ "$RC" = 0 ] && [ "$(cat "$T/ssh.out")" = alice ] && [[ $PROMPTS == *assword*ode* ]] &&
	ok "ssh: alice logs in with password and code" ||
	bad "ssh: alice with password and code" "exit $RC, prompts $PROMPTS, $(cat "$T/ssh.err")"
ssh_login bob "${PW[bob]}" ""
[ "$RC" = 0 ] && [ "$(cat "$T/ssh.out")" = bob ] && [[ $PROMPTS != *ode* ]] &&
	ok "ssh: bob (not enrolled yet) logs in with the password alone until $DATE" ||
	bad "ssh: bob" "exit $RC, prompts $PROMPTS, $(cat "$T/ssh.err")"

# Why step 4: with Debian's sshd settings (no drop-in) the right password is refused: the
# password method hands it to the code prompt too, and the try counts as a failed code.
kill -TERM "${PIDS[0]}" 2>/dev/null
wait "${PIDS[0]}" 2>/dev/null
mv /etc/ssh/sshd_config.d/pam_recover.conf "$T/dropin.off"
: >"$T/sshd.log"
/usr/sbin/sshd -D -e -o "Port=$SSH_PORT" -o ListenAddress=127.0.0.1 -o "PidFile=$T/sshd.pid" \
	>"$T/sshd.log" 2>&1 &
PIDS[0]=$!
for i in $(seq 100); do
	grep -q "listening on 127.0.0.1 port $SSH_PORT" "$T/sshd.log" && break
	sleep 0.1
done
before=$(pam-recover --json admin show alice | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["failures"])')
: >"$T/askpass.log"
E2E_PASSWORD=${PW[alice]} E2E_ASKPASS_LOG=$T/askpass.log SSH_ASKPASS=$T/askpass \
	SSH_ASKPASS_REQUIRE=force DISPLAY=:0 timeout 60 setsid -w ssh -F /dev/null \
	-p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o LogLevel=ERROR -o NumberOfPasswordPrompts=1 -o PubkeyAuthentication=no \
	"alice@127.0.0.1" id -un </dev/null >"$T/ssh.out" 2>"$T/ssh.err"
RC=$?
after=$(pam-recover --json admin show alice | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["failures"])')
[ "$RC" = 255 ] && [ "$after" = $((before + 1)) ] &&
	ok "without step 4 (Debian's sshd_config): the right password is refused and counts a failure" ||
	bad "without step 4" "exit $RC, failures $before -> $after, prompts $(tr '\n' '|' <"$T/askpass.log"), sshd: $(tail -n 8 "$T/sshd.log" | tr '\n' '|')"
mv "$T/dropin.off" /etc/ssh/sshd_config.d/pam_recover.conf

imap_login() { # USER SECRET: 0 logged in, 1 refused, 2 other
	SECRET_IN=$2 /usr/bin/python3 - "$IMAP_PORT" "$1" >"$T/imap.out" 2>&1 <<'EOF'
import imaplib, os, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
try:
    c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=20)
    c.starttls(ssl_context=ctx)
except Exception as e:
    print("connect:", e)
    sys.exit(2)
try:
    c.login(sys.argv[2], os.environ["SECRET_IN"])
except imaplib.IMAP4.error as e:
    print("refused:", e)
    sys.exit(1)
c.logout()
EOF
}
printf 'split_pass = no\n' >"$T/probe.conf"
chmod 0644 "$T/probe.conf"
if pam-recover --config "$T/probe.conf" --dump-config >/dev/null 2>&1; then
	imap_login bob "${PW[bob]}"
	[ $? = 0 ] && ok "imap: bob (not enrolled yet) logs in with the password alone" ||
		bad "imap: bob" "$(cat "$T/imap.out")"
	code=$(oathtool --totp -b "${SECRET[carol]}")
	imap_login carol "${PW[carol]}"
	[ $? = 1 ] && ok "imap: carol's password alone is refused" || bad "imap: password alone" "$(cat "$T/imap.out")"
	imap_login carol "${PW[carol]}$code"
	[ $? = 0 ] && ok "imap: carol logs in with the code appended to the password" ||
		bad "imap: password and code" "$(cat "$T/imap.out")"
else
	skip "imap: password and code" "this build's module does not know split_pass yet"
fi
