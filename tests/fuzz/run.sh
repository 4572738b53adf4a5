#!/usr/bin/env bash
# Runs each fuzz target for a fixed time (FUZZTIME, default 30s) on top of its
# seed corpus (the samples in events/, and the package's testdata/fuzz).
# A crasher fails the run and is written to that package's testdata/fuzz:
# commit it, and it stays a regression test of `go test ./...`.
#
# Usage, from anywhere in the repository:
#   tests/fuzz/run.sh                 # 30 s each (what CI runs)
#   FUZZTIME=10m tests/fuzz/run.sh    # longer
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
fuzztime=${FUZZTIME:-30s}
for target in \
	./function/trigger:FuzzDecode \
	./function/trigger:FuzzSameAsOracle \
	./function/intent:FuzzParse \
	./function/emulator:FuzzRequest; do
	pkg=${target%%:*}
	name=${target##*:}
	echo "== fuzz $name in $pkg for $fuzztime"
	go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime"
done
