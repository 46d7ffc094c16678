# The one harness of the shell tests, sourced by each of them (bash):
#
#   . "$(dirname "$0")/../lib/rctest.sh"; rc_init PREFIX
#
# Case lines as in tests/lib/rctest.py: "PASS: PREFIX/NAME", "FAIL: PREFIX/NAME: why",
# "SKIP: PREFIX/NAME: why", and at the end (rc_summary) one line "PREFIX: N passed, N failed,
# N skipped" and the exit status: 1 if a case failed, 77 (automake's "skipped") if none passed
# but some were skipped, else 0.
#
# RC_TEST_ONLY (an extended regular expression, as in every layer) selects the cases whose
# "PREFIX/NAME" it matches. The checks of a script build on each other's state, so a check
# that is not selected still runs; it is neither printed nor counted. Scripts whose cases
# stand alone put `rc_want NAME || ...` in front of a case to leave out its work.

rc_prefix=test
rc_npass=0
rc_nfail=0
rc_nskip=0

rc_init() { rc_prefix=$1; }

# rc_want NAME: is the case PREFIX/NAME selected by RC_TEST_ONLY?
rc_want() {
	[ -z "${RC_TEST_ONLY:-}" ] && return 0
	[[ "$rc_prefix/$1" =~ $RC_TEST_ONLY ]]
}

# ok NAME: a check that held
ok() {
	rc_want "$1" || return 0
	rc_npass=$((rc_npass + 1))
	echo "PASS: $rc_prefix/$1"
}
# bad NAME [WHY]: a check that failed
bad() {
	rc_want "$1" || return 0
	rc_nfail=$((rc_nfail + 1))
	echo "FAIL: $rc_prefix/$1${2:+: $2}"
}
# skip NAME WHY: a case that could not run here
skip() {
	rc_want "$1" || return 0
	rc_nskip=$((rc_nskip + 1))
	echo "SKIP: $rc_prefix/$1${2:+: $2}"
}
# is GOT WANT NAME: ok when the two strings are equal
is() {
	if [ "$1" = "$2" ]; then ok "$3 ($1)"; else bad "$3" "got $1, wanted $2"; fi
}

# expect STATUS NAME -- CMD...: ok when CMD exits with STATUS; its output is in $T/out and
# $T/err (shown when it did not). Returns 1 when it did not, so that a sequence of steps
# can stop at the first that failed: `expect 0 "step" -- cmd || finish`.
expect() {
	local want=$1 what=$2 got
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else
		bad "$what" "exit $got, wanted $want"
		rc_want "$what" || return 1
		sed 's/^/    out: /' "$T/out" | head -30
		sed 's/^/    err: /' "$T/err" | head -20
		return 1
	fi
}

# contains FILE TEXT NAME / lacks FILE TEXT NAME: the fixed string TEXT is (not) in FILE
contains() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else
		bad "$3" "no '$2' in $(basename "$1")"
		rc_want "$3" || return 0
		sed 's/^/    | /' "$1" | head -30
	fi
}
lacks() {
	if grep -qF -- "$2" "$1"; then
		bad "$3" "'$2' found in $(basename "$1")"
		rc_want "$3" || return 0
		sed 's/^/    | /' "$1" | head -30
	else ok "$3"; fi
}
# contains_re FILE PATTERN NAME / lacks_re: the same with a grep (basic) regular expression
contains_re() {
	if grep -q -- "$2" "$1"; then ok "$3"; else
		bad "$3" "no '$2' in $(basename "$1")"
		rc_want "$3" || return 0
		sed 's/^/    | /' "$1" | head -30
	fi
}
lacks_re() {
	if grep -q -- "$2" "$1"; then bad "$3" "'$2' found in $(basename "$1")"; else ok "$3"; fi
}

# json FILE PYTHON-EXPRESSION-ON-d: the expression on the first line of FILE, parsed as JSON
json() {
	/usr/bin/python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[0]); print(eval(sys.argv[2]))' "$1" "$2"
}

# rc_abort WHY: a problem that stops the whole script: "FAIL: PREFIX/setup: WHY" (shown
# whatever RC_TEST_ONLY says), the summary, exit 1
rc_abort() {
	rc_nfail=$((rc_nfail + 1))
	echo "FAIL: $rc_prefix/setup: $*"
	rc_summary
	exit 1
}
# rc_skip_all WHY: nothing can run here: "SKIP: PREFIX/all: WHY", exit 77 (automake's skip)
rc_skip_all() {
	echo "SKIP: $rc_prefix/all: $*"
	exit 77
}

# rc_summary: the summary line; returns the exit status (see above)
rc_summary() {
	echo "$rc_prefix: $rc_npass passed, $rc_nfail failed, $rc_nskip skipped"
	[ "$rc_nfail" = 0 ] || return 1
	[ "$rc_npass" = 0 ] && [ "$rc_nskip" != 0 ] && return 77
	return 0
}
