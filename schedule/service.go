package schedule

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/devpulse/devpulse/config"
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

	mu      sync.Mutex
	cursors map[[2]string]time.Time // oldest cursor per source/stream
	now     func() time.Time
}

// NewMetrics registers every series on a fresh registry.
func NewMetrics(now func() time.Time) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), cursors: map[[2]string]time.Time{}, now: now}
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
	m.Registry.MustRegister(m.lastSuccess, m.records, m.requests, m.retries, m.runs, m.duration, m.failures, m.skipped, m,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var lagDesc = prometheus.NewDesc("devpulse_collect_lag_seconds",
	"Now minus the stream's oldest cursor over its projects: how far behind the server the warehouse is.", []string{"source", "stream"}, nil)

// Describe implements prometheus.Collector (the lag, computed at scrape time).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, c := range m.cursors {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, now.Sub(c).Seconds(), k[0], k[1])
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
		if res.SourceErrors[src] == nil {
			for _, st := range streams[src] {
				m.lastSuccess.WithLabelValues(src, st).Set(float64(end.Unix()))
			}
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

	ready  atomic.Bool
	report atomic.Pointer[rendered]
}

type rendered struct {
	html, json []byte
	at         time.Time
}

// Run is a RunFunc.
func (jr *JobRunner) Run(ctx context.Context, cfg *config.Config, job config.Job, sources []string) Outcome {
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
	}
	if job.Reconcile && ctx.Err() == nil {
		if rr, rerr := r.Reconcile(ctx, o); rerr != nil {
			out.Err = joinErr(out.Err, rerr)
		} else {
			jr.Log.Info("reconcile done", "job", job.Name, "deleted_upstream", rr.Vanished, "out_of_scope", rr.OutOfScope, "requests", rr.Requests)
		}
	}
	if job.Metrics && ctx.Err() == nil {
		if rerr := jr.Refresh(ctx, cfg, wh); rerr != nil {
			out.Err = joinErr(out.Err, rerr)
		}
	}
	jr.readCursors(ctx, wh)
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
			fmt.Fprintf(w, "ready; running: %s; failing sources: %v\n", strings.Join(s.Running(), ","), s.Failures())
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(jr.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /report.json", func(w http.ResponseWriter, _ *http.Request) {
		if rp := jr.report.Load(); rp != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(rp.json)
			return
		}
		http.Error(w, "no report yet: it is rendered after the first run with metrics", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
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
