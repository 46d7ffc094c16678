#!/bin/bash
# The warning flags configure chose are in force: -Werror=format-security (doc/hardening.md) is
# among them, and with them a non-literal format without arguments does not compile.
# configure once dropped it silently (probed without -Wformat, gcc refuses it alone).
set -u

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
mk="$top_builddir/Makefile"
[ -f "$mk" ] || { echo "FAIL: build_flags: $mk is missing (configure first)"; exit 1; }
cc=$(sed -n 's/^CC = //p' "$mk")
warn=$(sed -n 's/^WARN_CFLAGS = //p' "$mk")
fail=0

case " $warn " in
*" -Werror=format-security "*) echo "PASS: build_flags/format_security_in_WARN_CFLAGS" ;;
*) echo "FAIL: build_flags/format_security_in_WARN_CFLAGS: WARN_CFLAGS = $warn"; fail=1 ;;
esac

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
printf '#include <stdio.h>\nvoid f(const char *s);\nvoid f(const char *s) { printf(s); }\n' \
	>"$T/fmt.c"
# shellcheck disable=SC2086 # the flags are words
if $cc $warn -c -o "$T/fmt.o" "$T/fmt.c" 2>"$T/err"; then
	echo "FAIL: build_flags/non_literal_format_refused: compiled with: $cc $warn"
	fail=1
elif grep -q 'format-security' "$T/err"; then
	echo "PASS: build_flags/non_literal_format_refused"
else
	echo "FAIL: build_flags/non_literal_format_refused: failed for another reason:"
	cat "$T/err"
	fail=1
fi
exit $fail
