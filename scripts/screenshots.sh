#!/usr/bin/env bash
# Renders the demo's team report in headless Chromium and shots the sections
# the README shows into docs/img/. Each shot loads the page in a frame
# scrolled to the section's anchor, so a section that grows or moves is still
# shot whole. Run from the repository root after a change to the report:
#   bash scripts/screenshots.sh
set -euo pipefail
command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/devpulse" ./cmd/devpulse
(cd "$work" && ./devpulse demo --log-level warn >/dev/null)
"$work/devpulse" report --warehouse "$work/devpulse-demo.duckdb" --team payments --format html --out "$work/team.html"
# The team with the project whose CI the demo slowed down six weeks ago.
"$work/devpulse" report --warehouse "$work/devpulse-demo.duckdb" --team payments --project acme/payments/api --format html --out "$work/changes.html"
shot() { # shot FILE ANCHOR HEIGHT [PAGE]
  printf '<!doctype html><body style="margin:0"><iframe src="%s#%s" style="border:0;width:1280px;height:%spx"></iframe>' "${4:-team.html}" "$2" "$3" >"$work/$1.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$work/profile" \
    --window-size=1280,"$3" --screenshot="docs/img/$1" "file://$work/$1.html" 2>/dev/null
}
shot report-delivery.png team-payments 1100      # DORA tiles, lead-time breakdown, DORA 2025 score
shot report-sprints.png team-payments-sprints 900 # sprints and their burn-ups
shot report-flow-trends.png team-payments-flow 900 # cumulative flow, cycle-time scatter, trends
shot report-what-changed.png what-changed 560 changes.html   # regressions, improvements and goals
shot report-regression-marker.png project-acme-payments-api-trends 700 changes.html # where the shift began, on the trend chart
ls -l docs/img
