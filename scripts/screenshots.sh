#!/usr/bin/env bash
# Renders the demo's team report in headless Chromium and cuts the bands the
# README shows into docs/img/. Run from the repository root after a change to
# the report: bash scripts/screenshots.sh
set -euo pipefail
command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/devpulse" ./cmd/devpulse
(cd "$work" && ./devpulse demo --log-level warn >/dev/null)
"$work/devpulse" report --warehouse "$work/devpulse-demo.duckdb" --team payments --format html --out "$work/team.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$work/profile" \
  --window-size=1280,4000 --screenshot="$work/full.png" "file://$work/team.html" 2>/dev/null
crop() { go run ./scripts/crop "$work/full.png" "docs/img/$1" "$2" "$3"; }
crop report-delivery.png 0 1130        # header, DORA tiles, lead-time breakdown, DORA 2025 score
crop report-sprints.png 1805 680      # sprints, burn-ups
crop report-flow-trends.png 2480 860  # cumulative flow, cycle-time scatter, trends
ls -l docs/img
