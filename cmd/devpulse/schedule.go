package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/schedule"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/engines"
)

func scheduleCmd(g *globals) *cobra.Command {
	var listen string
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Run the configured collection jobs on their cron schedules (a long-running service)",
		Long: `schedule runs schedule.jobs at their times until stopped. Each run opens the
warehouse only while it writes, takes a lease per stream (no two runs collect one
stream at once, across processes and machines), and recomputes metrics if the job
says so. A failing source does not stop the others; it is retried with back-off.

With --listen (or schedule.listen) it serves /healthz, /readyz, Prometheus /metrics,
the live HTML report at / and its JSON at /report.json.

SIGTERM/SIGINT: no new runs; runs in flight get schedule.grace to finish, then
are cancelled (their last batch commits or rolls back) and the process exits.
SIGHUP: reload the configuration (validated first; a bad one keeps the old).`,
		Example: `  devpulse schedule --listen 127.0.0.1:9090`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadSources()
			if err != nil {
				return err
			}
			if len(cfg.Schedule.Jobs) == 0 {
				return &config.ConfigError{File: cfg.File, Key: "schedule.jobs", Msg: "no jobs to run (see the schedule section of `devpulse config reference`)"}
			}
			if listen == "" {
				listen = cfg.Schedule.Listen
			}
			return runSchedule(cmd.Context(), g, cfg, listen)
		},
	}
	c.Flags().StringVar(&listen, "listen", "", "serve health, metrics and the live report on this address (e.g. 127.0.0.1:9090)")
	return c
}

func runSchedule(ctx context.Context, g *globals, cfg *config.Config, listen string) error {
	log := g.logger(cfg.Log)
	m := schedule.NewMetrics(time.Now)
	m.Init(cfg)
	jr := &schedule.JobRunner{Log: log, Metrics: m, Now: time.Now}
	// Runs get their own context: a signal stops the loop at once, runs get the grace period.
	runCtx, cancelRuns := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRuns(nil)
	s, err := schedule.New(cfg, schedule.RealClock{}, log, jr.Run)
	if err != nil {
		return err
	}
	s.RunCtx = runCtx
	s.OnRun = m.ObserveRun(s)
	var stopping atomic.Bool

	if len(cfg.Ingest.Tokens) > 0 {
		if listen == "" {
			return fmt.Errorf("schedule: ingest tokens are set but nothing listens: set schedule.listen (or --listen)")
		}
		if cfg.Ingest.TLSCertFile == "" && !config.LoopbackAddr(listen) {
			return fmt.Errorf("schedule: --listen %s is not a loopback address and ingest is on: set ingest.tls_cert_file and ingest.tls_key_file, or listen on 127.0.0.1 behind a TLS proxy", listen)
		}
		sink, err := ingest.Service(cfg, func(ctx context.Context) (warehouse.Warehouse, error) { return engines.Open(ctx, cfg, nil) })
		if err != nil {
			return err
		}
		var tokens []string
		for _, t := range cfg.Ingest.Tokens {
			tokens = append(tokens, t.Reveal())
		}
		jr.Ingest = &ingest.Handler{Tokens: tokens, MaxBody: cfg.Ingest.MaxBodyBytes, Sink: sink, Log: log}
	}
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("schedule: listen on %s: %w", listen, err)
		}
		srv := &http.Server{Handler: jr.Handler(s, &stopping), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute}
		scheme := "http"
		if cfg.Ingest.TLSCertFile != "" {
			// Loaded here, so a missing or mismatched pair stops the start loudly.
			pair, err := tls.LoadX509KeyPair(cfg.Ingest.TLSCertFile, cfg.Ingest.TLSKeyFile)
			if err != nil {
				ln.Close()
				return fmt.Errorf("schedule: ingest.tls_cert_file/tls_key_file: %w", err)
			}
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
			scheme = "https"
			go func() { _ = srv.ServeTLS(ln, "", "") }()
		} else {
			go func() { _ = srv.Serve(ln) }()
		}
		defer srv.Close()
		log.Info("serving health, metrics and the live report", "addr", scheme+"://"+ln.Addr().String(), "ingest", jr.Ingest != nil)
	}
	if err := jr.Start(ctx, cfg); err != nil {
		log.Error("warehouse not reachable at start; runs will retry", "err", err)
	}
	for name, at := range s.Next() {
		log.Info("job scheduled", "job", name, "next", at.Format(time.RFC3339))
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			next, err := g.loadSources()
			if err == nil {
				err = s.SetConfig(next)
			}
			if err != nil {
				log.Error("configuration reload failed; the running configuration stays in effect", "err", err)
				continue
			}
			m.Init(next)
			log.Info("configuration reloaded", "jobs", len(next.Schedule.Jobs))
		}
	}()

	s.Loop(ctx) // returns on SIGTERM/SIGINT
	stopping.Store(true)
	grace := time.Duration(s.Config().Schedule.Grace)
	log.Info("stopping: no new runs", "running", s.Running(), "grace", grace.String())
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		log.Warn("grace period over: cancelling runs in flight (their last batch commits or rolls back)", "running", s.Running())
		cancelRuns(errors.New("shutdown grace period over"))
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			return errors.New("schedule: runs did not stop 30s after cancellation")
		}
	}
	log.Info("stopped")
	return nil
}

// healthcheckCmd probes a running service, for a container HEALTHCHECK in
// an image that has no shell or curl.
func healthcheckCmd(g *globals) *cobra.Command {
	var url string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if the running service answers its health URL (for container HEALTHCHECKs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError{fmt.Errorf("--url: %w", err)}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("healthcheck %s: %w", url, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("healthcheck %s: HTTP %d", url, resp.StatusCode)
			}
			fmt.Fprintln(g.stdout, "ok")
			return nil
		},
	}
	c.Flags().StringVar(&url, "url", "http://127.0.0.1:9090/healthz", "health URL of the running service")
	c.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return c
}
