#!/bin/sh
# `make check`: replay tests/fuzz/corpus/NAME through the gcc-built tests/fuzz/fuzz_NAME_replay.
# NAME comes from this script's name (replay-NAME.sh): copy it for another harness.
name=$(basename "$0" .sh)
name=${name#replay-}
exec "${top_builddir:-.}/tests/fuzz/fuzz_${name}_replay" "${top_srcdir:-.}/tests/fuzz/corpus/${name}"
