#!/usr/bin/env bash
# The benchmark suite of issue 11 (tests/bench/main.go says what it measures):
# one table of every measure, its target and its verdict. The same as
#   go run ./tests/bench [flags]
# from the repository root; BENCHMARKS.md holds its last table.
#
# Usage, from anywhere in the repository:
#   tests/bench/run.sh                      # the whole suite, about 5 minutes on 2 cores
#   tests/bench/run.sh -only cold,conns -runs 5
#   tests/bench/run.sh -md BENCHMARKS.md    # also refresh BENCHMARKS.md's table
# Environment (kept from the earlier script):
#   BENCH_MESSAGES  the batch whose connections and peak RSS are measured (default 1000)
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
exec go run ./tests/bench -batch-messages "${BENCH_MESSAGES:-1000}" "$@"
