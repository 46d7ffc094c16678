#!/bin/sh
# Every backend implements every store operation: each member of struct store_ops
# (lib/store_backend.h) is set in the SQLite and in the PostgreSQL ops table, and each
# table of the SQLite schema is one that admin copy-store copies (store_tables[] in
# lib/store.c). An operation or table added on one side only fails here, not at a login.
# Prints PASS/FAIL lines; exit 0 when all pass.
src=${top_srcdir:-$(dirname "$0")/../..}
fail=0
ops=$(sed -n '/^struct store_ops {/,/^};/p' "$src/lib/store_backend.h" |
	grep -oP '^\t(int|void) \(\*\K[a-z_]+' | grep -v '^alive$' | sort -u)
for backend in "sqlite_ops:lib/store_sqlite.c" "pg_ops:lib/store_pg.c"; do
	name=${backend%%:*} file=$src/${backend#*:}
	have=$(sed -n "/^static const struct store_ops $name = {/,/^};/p" "$file" |
		grep -o '^[[:space:]]*\.[a-z_]*' | tr -d ' \t.' | sort -u)
	missing=$(printf '%s\n' "$ops" | while read -r op; do
		printf '%s\n' "$have" | grep -qx "$op" || printf '%s ' "$op"
	done)
	if [ -n "$missing" ]; then
		echo "FAIL: store_ops/$name: not implemented: $missing"
		fail=1
	else
		echo "PASS: store_ops/$name: all $(printf '%s\n' "$ops" | wc -l) operations"
	fi
done
tables=$(grep -o 'CREATE TABLE [a-z_]*' "$src/lib/store_sqlite_schema.c" | awk '{print $3}' | sort -u)
copied=$(sed -n '/^const struct store_table store_tables\[\] = {/,/^};/p' "$src/lib/store.c" |
	grep -o '^[[:space:]]*{"[a-z_]*"' | tr -d ' \t{"' | sort -u)
missing=$(printf '%s\n' "$tables" | while read -r t; do
	printf '%s\n' "$copied" | grep -qx "$t" || printf '%s ' "$t"
done)
if [ -n "$missing" ]; then
	echo "FAIL: store_ops/copy-store: tables not copied: $missing"
	fail=1
else
	echo "PASS: store_ops/copy-store: all $(printf '%s\n' "$tables" | wc -l) tables"
fi
pg_tables=$(grep -o 'CREATE TABLE [a-z_]*' "$src/lib/store_pg_schema.c" | awk '{print $3}' |
	grep -v '^pam_recover_schema$' | sort -u)
if [ "$pg_tables" != "$tables" ]; then
	echo "FAIL: store_ops/schema: the PostgreSQL migrations create other tables than SQLite's"
	fail=1
else
	echo "PASS: store_ops/schema: the same tables in both backends' migrations"
fi
exit $fail
