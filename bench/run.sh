#!/usr/bin/env bash
# bench/run.sh [full|tiny] — reproduces the numbers in BENCHMARKS.md.
# full: the sizes of the performance issue (minutes); tiny: the same suite in
# seconds, run by CI so it cannot rot (numbers printed, never asserted).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
out=bench/out
mkdir -p "$out"
go build -o "$out/devpulse" ./cmd/devpulse
go build -o "$out/collect" ./bench/collect
go build -o "$out/jira" ./bench/jira
go build -o "$out/redmine" ./bench/redmine
go build -o "$out/metrics" ./bench/metrics
go build -o "$out/warehouse" ./bench/warehouse
go build -o "$out/schedule" ./bench/schedule

if [ "$mode" = tiny ]; then
  "$out/collect" -projects 2 -mrs 150 -pipelines 150 -deployments 10 -issues 30 -streams merge_requests,pipelines,deployments,issues
  "$out/collect" -projects 2 -mrs 60 -latency 5ms -rate 100 -concurrency 4
  "$out/jira" -projects 2 -issues 150
  "$out/redmine" -projects 2 -issues 150
  "$out/metrics" -mrs 3000 -deployments 600 -pipelines 3000 -incidents 100
  rm -f "$out/t5.duckdb" "$out/t5.duckdb.wal"
  "$out/metrics" -mrs 3000 -deployments 600 -pipelines 3000 -incidents 100 -span-days 1825 -db "$out/t5.duckdb"
  "$out/metrics" -measure-only -db "$out/t5.duckdb"
  rm -f "$out/t5.duckdb" "$out/t5.duckdb.wal"
  "$out/warehouse" -mrs 5000 -batch 1000
  "$out/schedule" -runs 20
  exit 0
fi

echo "== machine"; nproc; free -g | head -2; date -u
echo "== GitLab: 100k MRs, 300k pipelines, 20k deployments, 10k issues (10 projects)"
"$out/collect" -projects 10 -mrs 10000 -pipelines 30000 -deployments 1000 -issues 1000 -streams merge_requests,pipelines,deployments,issues
echo "== GitLab with 20 ms latency and a 200 req/s rate limit (concurrency 8 could do 400 req/s)"
"$out/collect" -projects 4 -mrs 1000 -latency 20ms -rate 200 -concurrency 8
echo "== devpulse collect's peak RSS, sandbox in another process: 10k vs 100k MRs"
for mrs in 1000 10000; do
  "$out/collect" -serve -projects 10 -mrs $mrs > "$out/serve.env" &
  spid=$!
  for _ in $(seq 1 100); do grep -q SANDBOX_URL "$out/serve.env" 2>/dev/null && break; sleep 0.2; done
  . "$out/serve.env"
  rm -f "$out/mem.duckdb" "$out/mem.duckdb.wal"
  cat > "$out/mem.yaml" <<YAML
sources:
  gl:
    type: gitlab
    url: $SANDBOX_URL
    token: bench
    projects: [$(echo "$SANDBOX_PROJECTS" | sed 's/,/, /g')]
    streams: [merge_requests]
    concurrency: 8
    rate_limit: 100000
warehouse:
  path: $out/mem.duckdb
privacy:
  secret: c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0
YAML
  /usr/bin/time -f "devpulse collect of $((mrs * 10)) MRs: %e s wall, max RSS %M KB" "$out/devpulse" collect --config "$out/mem.yaml" --no-metrics --log-level warn >/dev/null
  kill $spid; wait $spid 2>/dev/null || true
done
echo "== JIRA: 50k issues with changelogs (10 projects), Cloud and Server styles"
"$out/jira" -projects 10 -issues 5000
"$out/jira" -projects 10 -issues 5000 -server
echo "== Redmine: 20k issues (10 projects)"
"$out/redmine" -projects 10 -issues 2000
echo "== Landing 100k MRs (+300k commits, 200k reviews): DuckDB, and Snowflake through the driver and the fake server"
"$out/warehouse" -mrs 100000 -batch 10000
echo "== devpulse schedule: memory over 1,000 scheduled runs (collect + metrics + live report each)"
"$out/schedule" -runs 1000
echo "== Landing and metrics: 100k MRs, 20k deployments"
"$out/metrics"
echo "== Metrics over 1M MRs and 100k deployments (landed first, then measured in a process of their own)"
"$out/metrics" -mrs 1000000 -deployments 100000 -pipelines 100000 -incidents 10000 -db "$out/m1.duckdb"
/usr/bin/time -f "measure-only process: %e s wall, max RSS %M KB" "$out/metrics" -measure-only -db "$out/m1.duckdb"
echo "== Metrics over 1M MRs + 3M commits + 100k deployments + 1M pipelines (issue 18, target 1): all in the 90-day window, then spread over 5 years"
for span in 90 1825; do
  rm -f "$out/m1.duckdb" "$out/m1.duckdb.wal"
  "$out/metrics" -mrs 1000000 -deployments 100000 -pipelines 1000000 -incidents 10000 -span-days $span -db "$out/m1.duckdb"
  /usr/bin/time -f "measure-only process, span $span days: %e s wall, %U s user, %S s sys, max RSS %M KB" "$out/metrics" -measure-only -db "$out/m1.duckdb"
done
rm -f "$out/m1.duckdb" "$out/mem.duckdb"
if [ "${BIG:-}" = 1 ]; then
  # BIG=1: ten million MRs over five years (76M rows: about 35 min to land, 2 GB of file), measured
  # the same way; the file is generated and landed a batch at a time.
  echo "== Metrics over 10M MRs + 30M commits + 1M deployments + 10M pipelines over 5 years, 90-day window"
  rm -f "$out/m10.duckdb" "$out/m10.duckdb.wal"
  "$out/metrics" -mrs 10000000 -deployments 1000000 -pipelines 10000000 -incidents 100000 -span-days 1825 -land-only -db "$out/m10.duckdb"
  /usr/bin/time -f "measure-only process, 10M MRs: %e s wall, %U s user, %S s sys, max RSS %M KB" "$out/metrics" -measure-only -db "$out/m10.duckdb"
  rm -f "$out/m10.duckdb" "$out/m10.duckdb.wal"
fi
