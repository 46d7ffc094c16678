#!/bin/sh
# layover.sh SRC DST [SRC DST ...]: in the current (private) mount namespace, make each DST
# show the files of its SRC, leaving everything else that DST holds visible (a read-only
# overlay with SRC on top). A DST that does not exist (a build configured with a prefix that
# is not installed, as `make distcheck` does) is made to appear: its nearest existing parent
# gets an overlay that adds the missing directories, and SRC is bound onto the new DST once
# every overlay is in place (an overlay made later would hide a bind made earlier). DSTs that
# share that parent share one overlay: overlayfs allows only two levels of stacking, and a
# tree that is itself on overlayfs (a container, a chroot overlay) has used one of them.
# Nothing is created outside the SRC directories. Exit status 0, or that of the failing mount.
set -e
binds=
existing=
tops= # lines "PARENT TOP": one overlay for each parent that gains directories
while [ $# -ge 2 ]; do
	src=$1
	dst=$2
	shift 2
	if [ -d "$dst" ]; then
		existing="$existing $src:$dst"
		continue
	fi
	parent=$dst
	while [ ! -d "$parent" ]; do parent=$(dirname "$parent"); done
	[ "$parent" != / ] || { echo "layover.sh: no parent of $dst to lay over" >&2; exit 1; }
	top=$(printf '%s\n' "$tops" | awk -v p="$parent" '$1 == p { print $2; exit }')
	if [ -z "$top" ]; then
		top="$src.top"
		tops="$tops
$parent $top"
	fi
	mkdir -p "$top${dst#"$parent"}"
	binds="$binds $src:$dst"
done
while read -r parent top; do
	[ -n "$parent" ] || continue
	mount -t overlay overlay -o "lowerdir=$top:$parent" "$parent"
done <<EOF
$tops
EOF
for e in $existing; do
	mount -t overlay overlay -o "lowerdir=${e%%:*}:${e#*:}" "${e#*:}"
done
for b in $binds; do
	mount --bind "${b%%:*}" "${b#*:}"
done
