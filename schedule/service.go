package schedule

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/internal/version"
	"github.com/devpulse/devpulse/notify"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/engines"
)

// Metrics are the service's Prometheus series.
type Metrics struct {
	Registry    *prometheus.Registry
	lastSuccess *prometheus.GaugeVec
	records     *prometheus.CounterVec
	requests    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	failures    *prometheus.GaugeVec
	skipped     *prometheus.CounterVec
	jobSuccess  *prometheus.GaugeVec
	computeSecs prometheus.Gauge
	watch       watchSeries

	mu      sync.Mutex
	cursors map[[2]string]time.Time // oldest cursor per source/stream
	success map[[2]string]time.Time // last run that collected the stream without error
	now     func() time.Time
}

// NewMetrics registers every series on a fresh registry, with the Go and
// process metrics of the service.
func NewMetrics(now func() time.Time) *Metrics {
	m := newMetrics(now)
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WriteTextfile writes what one `collect` run did in the Prometheus text
// format, atomically, for node_exporter's textfile collector: a CronJob or
// systemd timer run is as observable as the service. No Go or process
// series: node_exporter has its own, and duplicates would break its scrape.
func WriteTextfile(path string, cfg *config.Config, res *pipeline.Result, job string, took time.Duration, now time.Time) error {
	m := newMetrics(func() time.Time { return now })
	m.Init(cfg)
	if res == nil {
		return nil
	}
	streams := map[string][]string{}
	for name, src := range cfg.Sources {
		if _, ran := res.Requests[name]; ran {
			streams[name] = src.Streams
		}
	}
	m.observe(res, streams, now)
	for _, st := range []string{"ok", "failed", "interrupted"} {
		m.runs.WithLabelValues(job, st).Add(0)
	}
	m.runs.WithLabelValues(job, res.Run.Status).Inc()
	m.duration.WithLabelValues(job).Observe(took.Seconds())
	if res.Run.Status == "ok" && len(res.SourceErrors) == 0 {
		m.jobSuccess.WithLabelValues(job).Set(float64(now.Unix()))
	}
	for src, err := range res.SourceErrors {
		if err != nil {
			m.failures.WithLabelValues(src).Set(1)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	if err := prometheus.WriteToTextfile(path, m.Registry); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	return nil
}

func newMetrics(now func() time.Time) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), cursors: map[[2]string]time.Time{}, success: map[[2]string]time.Time{}, now: now}
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_collect_last_success_timestamp_seconds",
		Help: "When a run last collected the stream without error (Unix time)."}, []string{"source", "stream"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_collect_records_total",
		Help: "Records collected and landed."}, []string{"source", "stream"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_api_requests_total",
		Help: "API requests sent, by HTTP status (0: no response)."}, []string{"source", "code"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_api_retries_total",
		Help: "API requests retried (429, 5xx, network)."}, []string{"source"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_job_runs_total",
		Help: "Scheduled runs by outcome (ok, failed, interrupted)."}, []string{"job", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "devpulse_job_run_duration_seconds",
		Help: "Duration of scheduled runs.", Buckets: prometheus.ExponentialBuckets(0.1, 2, 14)}, []string{"job"})
	m.failures = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_source_consecutive_failures",
		Help: "Failed runs of the source in a row (0 when healthy)."}, []string{"source"})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_collect_skipped_total",
		Help: "Streams skipped because another run held their lease."}, []string{"source", "stream"})
	m.jobSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_job_last_success_timestamp_seconds",
		Help: "When the job last ended without error (Unix time)."}, []string{"job"})
	m.computeSecs = prometheus.NewGauge(prometheus.GaugeOpts{Name: "devpulse_metrics_compute_duration_seconds",
		Help: "How long the last metrics computation (and live report render) took."})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_build_info",
		Help: "Always 1; the labels name the running build."}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(version.Version, version.Commit, runtime.Version()).Set(1)
	m.watch = newWatchSeries(m.Registry)
	m.Registry.MustRegister(m.lastSuccess, m.records, m.requests, m.retries, m.runs, m.duration, m.failures, m.skipped, m,
		m.jobSuccess, m.computeSecs, build)
	return m
}

// The two ages, computed at scrape time. Alert on the first: it grows only
// when collection stops succeeding. The second grows on a quiet project
// that nobody touched (it measured 308 days on a healthy one), so it is
// data age, not lag.
var (
	sinceSuccessDesc = prometheus.NewDesc("devpulse_collect_seconds_since_last_success",
		"Now minus the end of the last run that collected the stream without error: alert when it passes a few job intervals.", []string{"source", "stream"}, nil)
	dataAgeDesc = prometheus.NewDesc("devpulse_collect_data_age_seconds",
		"Now minus the stream's oldest cursor over its projects: the age of the newest change seen (large on quiet projects; not an alert signal).", []string{"source", "stream"}, nil)
)

// Describe implements prometheus.Collector (the ages, computed at scrape time).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- sinceSuccessDesc
	ch <- dataAgeDesc
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, c := range m.cursors {
		ch <- prometheus.MustNewConstMetric(dataAgeDesc, prometheus.GaugeValue, now.Sub(c).Seconds(), k[0], k[1])
	}
	for k, t := range m.success {
		ch <- prometheus.MustNewConstMetric(sinceSuccessDesc, prometheus.GaugeValue, now.Sub(t).Seconds(), k[0], k[1])
	}
}

// Init creates the series of every configured job, source and stream at 0,
// so that increase() and rate() see their first failure or record instead
// of a series that appears with it.
func (m *Metrics) Init(cfg *config.Config) {
	for _, j := range cfg.Schedule.Jobs {
		for _, st := range []string{"ok", "failed", "interrupted"} {
			m.runs.WithLabelValues(j.Name, st).Add(0)
		}
	}
	for name, src := range cfg.Sources {
		m.retries.WithLabelValues(name).Add(0)
		m.failures.WithLabelValues(name).Set(0)
		for _, st := range src.Streams {
			m.records.WithLabelValues(name, st).Add(0)
			m.skipped.WithLabelValues(name, st).Add(0)
		}
	}
}

// observe records one collect result.
func (m *Metrics) observe(res *pipeline.Result, streams map[string][]string, end time.Time) {
	if res == nil {
		return
	}
	for key, n := range res.Run.Records {
		src, st, _ := strings.Cut(key, "/")
		m.records.WithLabelValues(src, st).Add(float64(n))
	}
	for src, stats := range res.Requests {
		for code, n := range stats.ByStatus() {
			m.requests.WithLabelValues(src, fmt.Sprint(code)).Add(float64(n))
		}
		m.retries.WithLabelValues(src).Add(float64(stats.Retries.Load()))
		if res.SourceErrors[src] == nil && res.Run.Status == "ok" {
			m.mu.Lock()
			for _, st := range streams[src] {
				m.lastSuccess.WithLabelValues(src, st).Set(float64(end.Unix()))
				m.success[[2]string{src, st}] = end
			}
			m.mu.Unlock()
		}
	}
	for _, k := range res.Skipped {
		src, st, _ := strings.Cut(k, "/")
		m.skipped.WithLabelValues(src, st).Inc()
	}
}

// JobRunner runs one scheduled job end to end: it opens the warehouse (only
// for the run: DuckDB's file is free between runs), collects, reconciles
// deletions when the job says so, recomputes metrics and refreshes the live
// report, and closes the warehouse again.
type JobRunner struct {
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// Options are the base of every run's collect options (tests set NewCollector).
	Options pipeline.Options
	// Ingest, when set, serves POST /api/v1/deployments and /api/v1/incidents.
	Ingest *ingest.Handler
	// Sender posts notifications (nil: one from the configuration's notify).
	Sender *notify.Sender

	ready  atomic.Bool
	report atomic.Pointer[rendered]
	cfg    atomic.Pointer[config.Config] // of the last run, for reports asked with a window
}

type rendered struct {
	html, json []byte
	at         time.Time
}

// Run is a RunFunc.
func (jr *JobRunner) Run(ctx context.Context, cfg *config.Config, job config.Job, sources []string) Outcome {
	jr.cfg.Store(cfg)
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		return Outcome{Err: err}
	}
	wh, err := engines.Open(ctx, cfg, func(holder string) {
		jr.Log.Info("warehouse busy; waiting", "held_by", holder, "up_to", time.Duration(cfg.Schedule.BusyTimeout).String())
	})
	if err != nil {
		jr.ready.Store(false)
		return Outcome{Err: fmt.Errorf("open warehouse: %w", err)}
	}
	jr.ready.Store(true)
	defer wh.Close()
	if job.Name == DigestJob {
		return Outcome{Err: jr.Digest(ctx, cfg, wh)}
	}
	o := jr.Options
	o.Sources, o.Streams, o.Full, o.Command = sources, job.Streams, job.Full, "schedule "+job.Name
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol, Log: jr.Log, Holder: ""}
	res, err := r.Collect(ctx, o)
	out := Outcome{Err: err}
	if res != nil {
		out.SourceErrors = res.SourceErrors
		streams := map[string][]string{}
		for _, src := range sources {
			if sc := cfg.Sources[src]; sc != nil {
				streams[src] = selectStreams(sc.Streams, job.Streams)
			}
		}
		jr.Metrics.observe(res, streams, jr.Now())
		status := res.Run.Status
		jr.Metrics.runs.WithLabelValues(job.Name, status).Inc()
		for _, n := range res.Run.Records {
			out.Records += n
		}
		out.Requests = res.Run.Requests
	}
	if job.Reconcile && ctx.Err() == nil {
		if rr, rerr := r.Reconcile(ctx, o); rerr != nil {
			out.Err = joinErr(out.Err, rerr)
		} else {
			jr.Log.Info("reconcile done", "job", job.Name, "deleted_upstream", rr.Vanished, "out_of_scope", rr.OutOfScope, "requests", rr.Requests)
		}
	}
	if job.Metrics && ctx.Err() == nil {
		began := time.Now()
		if rerr := jr.Refresh(ctx, cfg, wh); rerr != nil {
			out.Err = joinErr(out.Err, rerr)
		}
		jr.Metrics.computeSecs.Set(time.Since(began).Seconds())
	}
	jr.readCursors(ctx, wh)
	if out.Err == nil && len(out.SourceErrors) == 0 {
		jr.Metrics.jobSuccess.WithLabelValues(job.Name).Set(float64(jr.Now().Unix()))
	}
	return out
}

func selectStreams(have, want []string) []string {
	if len(want) == 0 {
		return have
	}
	var out []string
	for _, s := range have {
		for _, w := range want {
			if s == w {
				out = append(out, s)
			}
		}
	}
	return out
}

func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return fmt.Errorf("%w; %w", a, b)
}

// Refresh recomputes metrics over the default window (the last 90 days by
// week) and re-renders the live report from them.
func (jr *JobRunner) Refresh(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse) error {
	now := jr.Now()
	o, err := report.MetricOptions(cfg, now.AddDate(0, 0, -90), now, "week")
	if err != nil {
		return err
	}
	o.Now = now
	rs, _, err := report.Refresh(ctx, cfg, wh, o)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	jr.Metrics.watch.observe(rs)
	if len(cfg.Notify.Webhooks) > 0 {
		if members, err := report.Teams(ctx, cfg, wh); err != nil {
			jr.Log.Warn("notifications: read the teams; nothing posted this time", "err", err)
		} else {
			jr.post(ctx, cfg, wh, Events(cfg, rs, members))
		}
	}
	var h, j bytes.Buffer
	if err := report.WriteHTML(&h, rs, o, now); err != nil {
		return err
	}
	if err := report.WriteJSON(&j, report.Document(rs, o, now)); err != nil {
		return err
	}
	jr.report.Store(&rendered{html: h.Bytes(), json: j.Bytes(), at: now})
	return nil
}

// readCursors refreshes the lag gauges from collection_state.
func (jr *JobRunner) readCursors(ctx context.Context, wh warehouse.Warehouse) {
	res, err := wh.Query(context.WithoutCancel(ctx), `SELECT source, stream, MIN(cursor) FROM collection_state GROUP BY source, stream`)
	if err != nil {
		jr.Log.Warn("read cursors for the lag metric", "err", err)
		return
	}
	jr.Metrics.mu.Lock()
	defer jr.Metrics.mu.Unlock()
	for _, r := range res.Rows {
		src, _ := r[0].(string)
		st, _ := r[1].(string)
		if c, ok := r[2].(time.Time); ok {
			jr.Metrics.cursors[[2]string{src, st}] = c
		}
	}
}

// Start opens the warehouse once before the first slot: migrations, and the
// live report from what is already there. Not ready until this succeeds.
func (jr *JobRunner) Start(ctx context.Context, cfg *config.Config) error {
	jr.cfg.Store(cfg)
	wh, err := engines.Open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer wh.Close()
	jr.ready.Store(true)
	jr.readCursors(ctx, wh)
	return jr.Refresh(ctx, cfg, wh)
}

// Handler serves /healthz, /readyz, /metrics, the live report at / and its
// JSON at /report.json. stopping reports a shutdown in progress.
func (jr *JobRunner) Handler(s *Scheduler, stopping *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case stopping.Load():
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case !jr.ready.Load():
			http.Error(w, "warehouse not reachable yet (see the log)", http.StatusServiceUnavailable)
		default:
			running := strings.Join(s.Running(), ", ")
			if running == "" {
				running = "no job"
			}
			var failing []string
			for src, n := range s.Failures() {
				if n > 0 {
					failing = append(failing, fmt.Sprintf("%s (%d runs in a row)", src, n))
				}
			}
			sort.Strings(failing)
			if len(failing) == 0 {
				failing = []string{"none"}
			}
			fmt.Fprintf(w, "ready; running: %s; failing sources: %s\n", running, strings.Join(failing, ", "))
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(jr.Metrics.Registry, promhttp.HandlerOpts{}))
	if jr.Ingest != nil {
		jr.Ingest.Register(mux)
	}
	mux.HandleFunc("GET /report.json", func(w http.ResponseWriter, r *http.Request) {
		if jr.serveWindow(w, r, true) {
			return
		}
		if rp := jr.report.Load(); rp != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(rp.json)
			return
		}
		http.Error(w, "no report yet: it is rendered after the first run with metrics", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if jr.serveWindow(w, r, false) {
			return
		}
		if rp := jr.report.Load(); rp != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Refresh", "300") // a team screen stays current
			w.Write(rp.html)
			return
		}
		http.Error(w, "no report yet: it is rendered after the first run with metrics", http.StatusServiceUnavailable)
	})
	return mux
}

// serveWindow answers a report asked with ?since=&until=&grain= (dates
// YYYY-MM-DD in metrics.timezone, until exclusive, as on the command line)
// and ?team= / ?project= (repeatable), computed from the warehouse opened
// read-only; it returns false when the request names none of them (the
// rendered default report is served then).
func (jr *JobRunner) serveWindow(w http.ResponseWriter, r *http.Request, asJSON bool) bool {
	q := r.URL.Query()
	if q.Get("since") == "" && q.Get("until") == "" && q.Get("grain") == "" && len(q["team"]) == 0 && len(q["project"]) == 0 {
		return false
	}
	cfg := jr.cfg.Load()
	if cfg == nil {
		http.Error(w, "not started yet", http.StatusServiceUnavailable)
		return true
	}
	now := jr.Now()
	o, err := report.WindowOptions(cfg, q.Get("since"), q.Get("until"), q.Get("grain"), now)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	// A run in this process (or another) holds the file for writing: the
	// open waits for it, up to this request's 20 s, before answering 503.
	wh, err := engines.OpenReadOnly(ctx, cfg, nil)
	if err != nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "warehouse busy or not reachable (a run may be writing it); try again shortly", http.StatusServiceUnavailable)
		return true
	}
	defer wh.Close()
	teams, err := report.Teams(ctx, cfg, wh)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return true
	}
	all, err := report.StoredScopes(ctx, teams, wh)
	if err != nil {
		http.Error(w, "load records: "+err.Error(), http.StatusInternalServerError)
		return true
	}
	scopes, err := report.Select(all, q["team"], q["project"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return true
	}
	rs, err := report.ComputeStored(ctx, wh, scopes, o)
	if err != nil {
		http.Error(w, "load records: "+err.Error(), http.StatusInternalServerError)
		return true
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		_ = report.WriteJSON(w, report.Document(rs, o, now))
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = report.WriteHTML(w, rs, o, now)
	}
	return true
}

// ObserveRun is a Scheduler.OnRun that records run durations and streaks.
func (m *Metrics) ObserveRun(s *Scheduler) func(string, time.Time, time.Duration, Outcome) {
	return func(job string, _ time.Time, took time.Duration, o Outcome) {
		m.duration.WithLabelValues(job).Observe(took.Seconds())
		f := s.Failures()
		for _, src := range o.Sources {
			m.failures.WithLabelValues(src).Set(float64(f[src]))
		}
	}
}
