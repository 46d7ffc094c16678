#!/bin/bash
# `make install` into a DESTDIR, as a package build or an administrator would run it, and the
# layout it leaves: the helper in $(bindir) (beside passwd, on users' PATH) setuid root, none in
# $(sbindir); the module in the PAM directory without libtool's .la; the helper's own PAM
# service /etc/pam.d/pam-recover installed when there is none and kept when there is one; the
# check back end pam-recover-check in $(sbindir), setuid root, linking no network, JSON, QR code
# or PAM library; the module's compiled-in back end path naming it; `make uninstall` removing
# the shipped files and keeping the edited ones.
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/../lib/rctest.sh"
rc_init install

vars=$(make -s --no-print-directory -C "$top_builddir" print-install-dirs 2>/dev/null | grep "^bindir=") || {
	bad dirs "make print-install-dirs failed"
	rc_summary
	exit 1
}
eval "$vars"
for v in bindir sbindir pamdir sysconfdir; do
	[ -n "${!v:-}" ] || { bad dirs "no $v from make"; rc_summary; exit 1; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/pam_recover-install.XXXXXX")
trap 'rm -rf "$D"' EXIT
log=$D.log
if ! make -C "$top_builddir" install DESTDIR="$D" >"$log" 2>&1; then
	tail -n 30 "$log"
	rm -f "$log"
	bad make-install "make install failed"
	rc_summary
	exit 1
fi

h=$D$bindir/pam-recover
if [ -x "$h" ] && [ ! -e "$D$sbindir/pam-recover" ]; then
	ok helper-in-bindir
else
	bad helper-in-bindir "want $bindir/pam-recover, not $sbindir: $(find "$D" -name pam-recover)"
fi
if [ "$(id -u)" = 0 ]; then
	if [ "$(stat -c '%U:%G %a' "$h" 2>/dev/null)" = "root:root 4755" ]; then
		ok helper-setuid-root
	else
		bad helper-setuid-root "$(stat -c '%U:%G %a' "$h" 2>&1)"
	fi
else
	skip helper-setuid-root "needs root"
fi

if [ -e "$D$pamdir/pam_recover.so" ] && [ -z "$(find "$D$pamdir" -name '*.la')" ]; then
	ok module-without-la
else
	bad module-without-la "$(ls -l "$D$pamdir" 2>&1)"
fi

ck=$D$sbindir/pam-recover-check
if [ -x "$ck" ]; then
	ok check-in-sbindir
else
	bad check-in-sbindir "want $sbindir/pam-recover-check: $(find "$D" -name 'pam-recover*')"
fi
if [ "$(id -u)" = 0 ]; then
	if [ "$(stat -c '%U:%G %a' "$ck" 2>/dev/null)" = "root:root 4755" ]; then
		ok check-setuid-root
	else
		bad check-setuid-root "$(stat -c '%U:%G %a' "$ck" 2>&1)"
	fi
else
	skip check-setuid-root "needs root"
fi
# What a login without root loads: the store (and its client library), libsodium, liboath and
# libc, nothing of the network, JSON, QR code or PAM libraries the helper links.
needed=$(readelf -d "$ck" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
bad=$(printf '%s\n' $needed | grep -E '^lib(curl|json-c|qrencode|pam|ssl|crypto|gnutls|ldap|gssapi|krb5)' || true)
if [ -n "$needed" ] && [ -z "$bad" ] && printf '%s\n' $needed | grep -q '^libsqlite3' &&
	printf '%s\n' $needed | grep -q '^libsodium' && printf '%s\n' $needed | grep -q '^liboath'; then
	ok check-needed-lean
else
	bad check-needed-lean "NEEDED: ${needed:-none}${bad:+(not wanted: $bad)}"
fi

if strings -a "$D$pamdir/pam_recover.so" | grep -qxF "$sbindir/pam-recover-check" &&
	! strings -a "$D$pamdir/pam_recover.so" | grep -qxF "$bindir/pam-recover"; then
	ok module-check-path
else
	bad module-check-path "the module does not name $sbindir/pam-recover-check: \
$(strings -a "$D$pamdir/pam_recover.so" | grep -F /pam-recover)"
fi

svc=$D$sysconfdir/pam.d/pam-recover
if cmp -s "$svc" "$top_srcdir/conf/pam.d/pam-recover" &&
	[ "$(stat -c %a "$svc")" = 644 ]; then
	ok pamd-service-installed
else
	bad pamd-service-installed "$(ls -l "$svc" 2>&1)"
fi

# A site's own service file and config survive a second install and an uninstall.
echo "# edited by the site" >>"$svc"
cp "$svc" "$D/svc.edited"
if make -C "$top_builddir" install DESTDIR="$D" >"$log" 2>&1 && cmp -s "$svc" "$D/svc.edited"; then
	ok pamd-service-kept
else
	bad pamd-service-kept "a second make install replaced the edited $sysconfdir/pam.d/pam-recover"
fi
if make -C "$top_builddir" uninstall DESTDIR="$D" >"$log" 2>&1 && cmp -s "$svc" "$D/svc.edited" &&
	[ ! -e "$h" ] && [ ! -e "$ck" ] && [ ! -e "$D$sysconfdir/security/pam_recover.conf" ]; then
	ok uninstall-keeps-edited
else
	bad uninstall-keeps-edited "$(tail -n 5 "$log"; ls -lR "$D$sysconfdir" 2>&1 | head -20)"
fi
rm -f "$log"

rc_summary
