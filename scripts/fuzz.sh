#!/usr/bin/env bash
# Runs every go test -fuzz target of the project for a short fixed time
# (FUZZTIME, default 3s each), so none can rot; prints the executions each
# ran. A failing input is written by go test to the package's
# testdata/fuzz/<Target>/ — commit it as a regression seed. New inputs are
# minimized for at most 100 runs: large recorded seeds would otherwise spend
# the whole budget minimizing.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
total=0

# fuzz PKG TARGET: 0 = no finding. go test's fuzzer sometimes ends with
# "context deadline exceeded" when its time is up while a worker is busy,
# without any failing input (golang/go#48127): that is tried once more;
# only a written failing input, or any other error, is a failure.
fuzz() {
  local tries=0
  while :; do
    if out=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x 2>&1); then
      return 0
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 2 ] || echo "$out" | grep -q "Failing input written" || ! echo "$out" | grep -q "context deadline exceeded"; then
      return 1
    fi
    echo "fuzz: ${1#github.com/devpulse/devpulse/} $2: stopped on its deadline without a failing input; running it again"
  done
}

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    if ! fuzz "$pkg" "$t"; then
      echo "$out" >&2
      echo "fuzz: $pkg $t FAILED" >&2
      exit 1
    fi
    # A short run may end before the fuzzer prints a progress line: no count
    # is not a failure (under pipefail a grep without a match would end the script).
    execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 | awk '{print $2}' || true)
    echo "fuzz: ${pkg#github.com/devpulse/devpulse/} $t: ${execs:-?} executions in $fuzztime, no failure"
    total=$((total + 1))
  done
done
echo "fuzz: $total targets"
