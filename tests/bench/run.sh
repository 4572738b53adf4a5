#!/usr/bin/env bash
# Benchmarks that size the function (s.yaml memorySize and timeout):
#   1. builds the binary the way the deployment does (linux, no cgo, trimmed);
#   2. runs the Go benchmark set with -benchmem -count 5;
#   3. starts the binary's ECS emulator as a subprocess, seeded with N images,
#      and measures the peak RSS and wall time of `function apply` working a
#      batch of N modify intents (one per image) against it.
#
# Usage, from anywhere in the repository:
#   tests/bench/run.sh
# Environment:
#   BENCH_MESSAGES  batch size (default 1000)
#   BENCH_PKGS      packages whose benchmarks run (default ./function/invoke)
#   BENCH_COUNT     -count of the Go benchmarks (default 5)
#   BENCH_NO_GNU_TIME=1  sample VmHWM from /proc even when /usr/bin/time exists
#   ECS_RATE_LIMIT  client rate limit in calls/s per API (at most 1000); unset
#                   = the function's default (the documented ECS quota), which
#                   is what decides the timeout in production
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
messages=${BENCH_MESSAGES:-1000}
pkgs=${BENCH_PKGS:-./function/invoke}
count=${BENCH_COUNT:-5}
work=$(mktemp -d)
emulator_pid=""
cleanup() {
	if [[ -n "$emulator_pid" ]]; then
		kill "$emulator_pid" 2>/dev/null || true
		wait "$emulator_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== build"
CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$work/function" ./function
ls -l "$work/function" | awk '{print "binary size: " $5 " bytes"}'

echo
echo "== go test -bench . -benchmem -count $count $pkgs"
# shellcheck disable=SC2086 # pkgs is a list of packages
go test -run '^$' -bench . -benchmem -count "$count" $pkgs

echo
echo "== apply: $messages modify intents against the emulator subprocess"
go run ./tests/bench/gen --images "$messages" --families 10 --seed "$work/seed.json" --batch "$work/batch.json"
"$work/function" emulator --listen 127.0.0.1:0 --seed "$work/seed.json" >"$work/emulator.out" 2>&1 &
emulator_pid=$!
endpoint=""
for _ in $(seq 1 100); do
	endpoint=$(sed -n 's/^ *ECS_ENDPOINT=//p' "$work/emulator.out")
	[[ -n "$endpoint" ]] && break
	if ! kill -0 "$emulator_pid" 2>/dev/null; then
		cat "$work/emulator.out" >&2
		echo "emulator exited" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z "$endpoint" ]]; then
	echo "emulator did not print its endpoint" >&2
	exit 1
fi
echo "emulator at $endpoint"

export ECS_ENDPOINT="$endpoint"
export ALIBABA_CLOUD_ACCESS_KEY_ID=emulator ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator
export FC_REGION=cn-hangzhou LOG_LEVEL=error
status=0
if [[ -x /usr/bin/time && -z "${BENCH_NO_GNU_TIME:-}" ]]; then
	/usr/bin/time -v "$work/function" apply --output json "$work/batch.json" >"$work/report.json" 2>"$work/time.txt" || status=$?
	peak_kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/time.txt")
	wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
else
	# No GNU time: sample VmHWM (the kernel's peak RSS) until the process ends.
	start=$(date +%s.%N)
	"$work/function" apply --output json "$work/batch.json" >"$work/report.json" 2>"$work/stderr.txt" &
	pid=$!
	peak_kb=0
	while kill -0 "$pid" 2>/dev/null; do
		hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
		[[ -n "$hwm" && "$hwm" -gt "$peak_kb" ]] && peak_kb=$hwm
		sleep 0.05
	done
	wait "$pid" || status=$?
	wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2fs", b - a }')
fi
if [[ $status -ne 0 ]]; then
	echo "apply exited $status" >&2
	head -c 2000 "$work/report.json" >&2 || true
	# The command's own stderr comes before GNU time's report.
	cat "$work/time.txt" "$work/stderr.txt" 2>/dev/null | sed '/Command being timed/q' | head -20 >&2 || true
	exit 1
fi
received=$(grep -o '"received": *[0-9]*' "$work/report.json" | grep -o '[0-9]*$')
applied=$(grep -A8 '"counts"' "$work/report.json" | grep -o '"applied": *[0-9]*' | grep -o '[0-9]*$')
echo "received $received, applied $applied"
if [[ "$received" != "$messages" || "$applied" != "$messages" ]]; then
	echo "the batch did not apply completely" >&2
	exit 1
fi
echo "peak RSS of apply with $messages messages: ${peak_kb} kB ($((peak_kb / 1024)) MiB)"
echo "wall time: $wall (ECS_RATE_LIMIT=${ECS_RATE_LIMIT:-default})"
