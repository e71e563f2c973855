// Command devpulse collects development data (GitLab, later JIRA and Redmine),
// applies the privacy policy and lands records and metrics in a warehouse.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/version"
)

// Exit codes: scripts and schedulers branch on them.
const (
	exitOK     = 0
	exitFailed = 1 // the run failed (a source, the warehouse)
	exitUsage  = 2 // bad flags or configuration: nothing was attempted
)

// usageError marks errors that mean "fix how you called me".
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

type globals struct {
	configPath string
	logFormat  string
	logLevel   string
	warehouse  string
	stdout     io.Writer
	stderr     io.Writer
	warned     bool
	format     string // log.format of the loaded configuration
	// now is the clock: time.Now, except in tests that run the demo on
	// other days (its data, the collection's look-back and the metric
	// windows all follow it).
	now func() time.Time
}

func main() {
	ctx, stop := signalContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalContext is cancelled by SIGINT or SIGTERM: in-flight batches then
// land or roll back, and the command exits 1 saying it was interrupted.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runAt(ctx, args, stdout, stderr, time.Now)
}

// runAt is run on the given clock.
func runAt(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	g := &globals{stdout: stdout, stderr: stderr, now: now}
	root := &cobra.Command{
		Use:           "devpulse",
		Short:         "Collect development data safely and derive DORA and flow metrics",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.SetVersionTemplate(version.String() + "\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "config file (default ./devpulse.yaml)")
	pf.StringVar(&g.logFormat, "log-format", "", "log format: text or json (overrides log.format)")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn, error (overrides log.level)")
	pf.StringVar(&g.warehouse, "warehouse", "", "warehouse file (overrides warehouse.path)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(collectCmd(g), scheduleCmd(g), metricsCmd(g), reportCmd(g), queryCmd(g), doctorCmd(g), purgeCmd(g), ingestCmd(g), configCmd(g), versionCmd(g), demoCmd(g), healthcheckCmd(g))
	completeFlagValues(g, root)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ue usageError
	var ce *config.ConfigError
	if errors.As(err, &ue) || errors.As(err, &ce) || isCobraUsage(err) {
		code = exitUsage
	}
	if g.logFormat == "json" || (g.logFormat == "" && g.format == "json") {
		// A machine reading JSON logs reads the reason it stopped too.
		slog.New(slog.NewJSONHandler(stderr, nil)).Error(err.Error(), "exit_code", code)
	} else {
		fmt.Fprintln(stderr, "devpulse:", err)
	}
	return code
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "accepts ", "requires ", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// load reads the config with flag overrides applied, for commands that
// make no API request (no token needed).
func (g *globals) load() (*config.Config, error) { return g.loadWith(true) }

func (g *globals) loadWith(withoutTokens bool) (*config.Config, error) {
	ov := map[string]any{}
	if g.logFormat != "" {
		ov["log.format"] = g.logFormat
	}
	if g.logLevel != "" {
		ov["log.level"] = g.logLevel
	}
	if g.warehouse != "" {
		ov["warehouse.path"] = g.warehouse
	}
	cfg, err := config.Load(config.Options{Path: g.configPath, Overrides: ov, WithoutTokens: withoutTokens, Kinds: collectors.Kinds()})
	g.warn(cfg)
	if cfg != nil {
		g.format = cfg.Log.Format
	}
	return cfg, err
}

// warn prints the configuration's warnings once per command.
func (g *globals) warn(cfg *config.Config) {
	if cfg == nil || g.warned {
		return
	}
	g.warned = true
	for _, w := range cfg.Warnings {
		fmt.Fprintln(g.stderr, "devpulse: warning: "+w)
	}
}

// loadSources is load for the commands that talk to sources (collect,
// doctor, schedule): every token must be there, and at least one source.
func (g *globals) loadSources() (*config.Config, error) {
	cfg, err := g.loadWith(false)
	if err != nil {
		return nil, err
	}
	if len(cfg.Sources) == 0 {
		where := cfg.File
		if where == "" {
			where = "no configuration file (./devpulse.yaml does not exist, --config and DEVPULSE_CONFIG are not set)"
		}
		return nil, &config.ConfigError{File: where, Key: "sources", Msg: "no source is configured: nothing to collect; " +
			"start from the example (cp devpulse.example.yaml devpulse.yaml) and set a token, or try `devpulse demo`"}
	}
	return cfg, nil
}

func (g *globals) logger(c config.Log) *slog.Logger { return g.loggerTo(g.stderr, c) }

func (g *globals) loggerTo(w io.Writer, c config.Log) *slog.Logger {
	lvl := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.Level]
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// completeFlagValues gives shell completion the values of the flags that
// take a fixed set or names from the configuration (`devpulse completion`).
func completeFlagValues(g *globals, root *cobra.Command) {
	fixed := func(vals ...string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return vals, cobra.ShellCompDirectiveNoFileComp
		}
	}
	fromConfig := func(pick func(cfg *config.Config) []string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			cfg, err := g.load()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			vals := pick(cfg)
			sort.Strings(vals)
			return slices.Compact(vals), cobra.ShellCompDirectiveNoFileComp
		}
	}
	byFlag := map[string]cobra.CompletionFunc{
		"grain": fixed("day", "week", "month", "quarter"),
		"source": fromConfig(func(cfg *config.Config) (out []string) {
			for n := range cfg.Sources {
				out = append(out, n)
			}
			return out
		}),
		"stream": fromConfig(func(cfg *config.Config) (out []string) {
			for _, s := range cfg.Sources {
				out = append(out, s.Streams...)
			}
			return out
		}),
		"team": fromConfig(func(cfg *config.Config) (out []string) {
			for t := range cfg.Teams {
				out = append(out, t)
			}
			return out
		}),
		"project": fromConfig(func(cfg *config.Config) (out []string) {
			for _, s := range cfg.Sources {
				out = append(out, s.Projects...)
			}
			return out
		}),
	}
	formats := map[string][]string{"query": {"table", "csv", "json"}, "report": {"table", "json", "html"}}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, f := range byFlag {
			if c.LocalNonPersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, f)
			}
		}
		if vals, ok := formats[c.Name()]; ok {
			_ = c.RegisterFlagCompletionFunc("format", fixed(vals...))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	_ = root.RegisterFlagCompletionFunc("log-format", fixed("text", "json"))
	_ = root.RegisterFlagCompletionFunc("log-level", fixed("debug", "info", "warn", "error"))
}
