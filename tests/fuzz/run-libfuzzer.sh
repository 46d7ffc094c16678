#!/bin/sh
# Build each libFuzzer harness tests/fuzz/fuzz_NAME.c with clang and run it for a while.
#
#   tests/fuzz/run-libfuzzer.sh [SECONDS] [NAME...]     (or: make fuzz-clang FUZZ_SECONDS=N)
#
# SECONDS per harness (default 30); NAMEs pick harnesses (default: all); FUZZ_JOBS harnesses
# (default: the number of cores, at most 4) build and run at once, each on one core. The
# lib/ sources are compiled right here with clang -fsanitize=fuzzer,address,undefined (the
# libtool objects are gcc-built and carry no coverage instrumentation). A harness lists what
# it needs in its header comment:
#     FUZZ_SOURCES: lib/config.c lib/util.c      (default: every lib/*.c)
#     FUZZ_PKGS: libsodium                       (default: libsodium liboath sqlite3)
# Seeds come from tests/fuzz/corpus/NAME (read only); new inputs go to $FUZZ_BUILDDIR/corpus/NAME,
# crashes to $FUZZ_BUILDDIR/crash-NAME-*, and tests/fuzz/NAME.dict is used when present.
# With $top_builddir set (make fuzz-clang does), its rc_build.h is included as in the
# autotools build. Exit status: 0 all clean, 1 a harness failed to build or found a crash,
# 77 no clang.
set -u

src=$(cd "$(dirname "$0")/../.." && pwd)
secs=30
case "${1:-}" in
'' ) ;;
*[!0-9]*) ;;
*) secs=$1; shift ;;
esac
out=${FUZZ_BUILDDIR:-$src/build-fuzz}
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "SKIP: $cc not found (Debian: apt-get install clang)"
	exit 77
fi
mkdir -p "$out/corpus" || exit 1

# header_field FILE KEY -> the words after "KEY:" in the file's comment, if any
header_field() {
	sed -n "s/^[ *]*$2:[ ]*//p" "$1" | head -n 1
}

names=$*
if [ -z "$names" ]; then
	for h in "$src"/tests/fuzz/fuzz_*.c; do
		[ -e "$h" ] || continue
		n=$(basename "$h" .c)
		names="$names ${n#fuzz_}"
	done
fi

# fuzz_one NAME: build and run one harness; prints its lines, returns 1 on a failure.
fuzz_one() {
	name=$1
	h=$src/tests/fuzz/fuzz_$name.c
	if [ ! -f "$h" ]; then
		echo "FAIL: fuzz/$name: no $h"
		return 1
	fi
	srcs=$(header_field "$h" FUZZ_SOURCES)
	if [ -n "$srcs" ]; then
		set --
		for f in $srcs; do set -- "$@" "$src/$f"; done
	else
		set -- "$src"/lib/*.c
	fi
	# The same feature macros as the autotools build (AM_CPPFLAGS: -include rc_build.h).
	set -- -D_GNU_SOURCE=1 "$@"
	if [ -f "${top_builddir:-}/rc_build.h" ]; then
		set -- -include "$top_builddir/rc_build.h" "$@"
	fi
	pkgs=$(header_field "$h" FUZZ_PKGS)
	[ -n "$pkgs" ] || pkgs="libsodium liboath sqlite3"
	# shellcheck disable=SC2046,SC2086
	if ! "$cc" -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -fno-omit-frame-pointer \
		-I"$src/lib" -I"$src/helper" "$h" "$@" $(pkg-config --cflags --libs $pkgs) \
		-o "$out/fuzz_$name" >"$out/build-$name.log" 2>&1; then
		echo "FAIL: fuzz/$name: clang build failed ($out/build-$name.log)"
		cat "$out/build-$name.log"
		return 1
	fi
	mkdir -p "$out/corpus/$name"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-"
	[ -f "$src/tests/fuzz/$name.dict" ] && set -- "$@" -dict="$src/tests/fuzz/$name.dict"
	set -- "$@" "$out/corpus/$name"
	[ -d "$src/tests/fuzz/corpus/$name" ] && set -- "$@" "$src/tests/fuzz/corpus/$name"
	echo "fuzz/$name: $secs s"
	if "$out/fuzz_$name" "$@" >"$out/run-$name.log" 2>&1; then
		echo "PASS: fuzz/$name ($(grep -c . "$out/run-$name.log") log lines," \
			"$(find "$out/corpus/$name" -type f | wc -l) new inputs)"
	else
		echo "FAIL: fuzz/$name: see $out/run-$name.log"
		tail -n 40 "$out/run-$name.log"
		return 1
	fi
}

jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$jobs" in '' | *[!0-9]* | 0) jobs=1 ;; esac
[ "$jobs" -gt 4 ] && jobs=4

# Harnesses run in batches of $jobs in the background, each into its own file; a batch's
# lines are printed when it is done, so that the lines of two harnesses do not mix.
rc=0
batch=
flush() {
	wait
	for b in $batch; do
		cat "$out/result-$b.txt"
		[ "$(cat "$out/status-$b")" = 0 ] || rc=1
	done
	batch=
}
n=0
for name in $names; do
	(
		fuzz_one "$name" >"$out/result-$name.txt" 2>&1
		echo $? >"$out/status-$name"
	) &
	batch="$batch $name"
	n=$((n + 1))
	[ $((n % jobs)) = 0 ] && flush
done
flush
exit $rc
