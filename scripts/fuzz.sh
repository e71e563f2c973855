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
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    out=$(go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x 2>&1) || { echo "$out" >&2; echo "fuzz: $pkg $t FAILED" >&2; exit 1; }
    execs=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 | awk '{print $2}')
    echo "fuzz: ${pkg#github.com/devpulse/devpulse/} $t: ${execs:-?} executions in $fuzztime, no failure"
    total=$((total + 1))
  done
done
echo "fuzz: $total targets"
