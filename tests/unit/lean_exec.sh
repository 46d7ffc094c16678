#!/bin/sh
# What a login loads: the check back end (one exec per question of a login without root)
# and the module link no library that a login does not need. libpq and its two dozen
# libraries (TLS, Kerberos, LDAP) are loaded by the PostgreSQL backend when it first
# connects (lib/store_pg_lib.h), so an exec on a SQLite store does not pay for them; libcurl,
# json-c and libqrencode belong to the helper's other verbs. Prints PASS/FAIL lines.
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v readelf >/dev/null 2>&1 || { echo "SKIP: lean_exec: readelf missing (binutils)"; exit 77; }
fail=0
for f in pam-recover-check .libs/pam_recover.so; do
	p=$top_builddir/$f
	if [ ! -f "$p" ]; then
		echo "FAIL: lean_exec/$f: not built"
		fail=1
		continue
	fi
	needed=$(readelf -d "$p" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	extra=$(printf '%s\n' $needed | grep -E '^lib(pq|ssl|crypto|gssapi|ldap|curl|json-c|qrencode)\.' | tr '\n' ' ')
	if [ -n "$extra" ]; then
		echo "FAIL: lean_exec/$f: links $extra(all: $needed)"
		fail=1
	else
		echo "PASS: lean_exec/$f: links only $needed"
	fi
done
exit $fail
