#!/bin/bash
# One version everywhere: AC_INIT in configure.ac, the newest entry of debian/changelog
# (without a Debian revision, if any) and what the built `pam-recover --version` says.
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
H="$top_builddir/pam-recover"
[ -x "$H" ] || { echo "FAIL: $H not built"; exit 1; }

ac=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
cl=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog" 2>/dev/null)
cl_upstream=${cl%-*}
hv=$("$H" --version | awk 'NR == 1 {print $NF}')
fail=0
if [ -n "$ac" ] && [ "$ac" = "$cl_upstream" ]; then
	echo "PASS: debian/changelog's newest entry ($cl) is configure.ac's version $ac"
else
	echo "FAIL: debian/changelog's newest entry is '${cl}', configure.ac says '${ac}'"
	fail=1
fi
if [ -n "$ac" ] && [ "$hv" = "$ac" ]; then
	echo "PASS: pam-recover --version says $hv"
else
	echo "FAIL: pam-recover --version says '${hv}', configure.ac '${ac}'"
	fail=1
fi
exit $fail
