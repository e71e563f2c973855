package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
)

// windowFlags are the --since/--until/--grain shared by metrics and report.
type windowFlags struct {
	since, until, grain string
}

func (f *windowFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.since, "since", "", "window start, a date (YYYY-MM-DD) in metrics.timezone (default: until - 90 days)")
	c.Flags().StringVar(&f.until, "until", "", "window end, exclusive: --until 2026-02-01 ends with 31 January (default: now)")
	c.Flags().StringVar(&f.grain, "grain", "week", "period of the series: day, week, month or quarter")
}

// options resolves the window in metrics.timezone: dates are local midnights.
func (f *windowFlags) options(cfg *config.Config, now time.Time) (metrics.Options, error) {
	o, err := report.WindowOptions(cfg, f.since, f.until, f.grain, now)
	if err != nil {
		return metrics.Options{}, usageError{fmt.Errorf("--%w", err)}
	}
	return o, nil
}

// computeMetrics derives every scope's metrics from the warehouse and stores them.
func computeMetrics(ctx context.Context, w io.Writer, cfg *config.Config, wh warehouse.Warehouse, o metrics.Options) ([]report.Result, error) {
	start := time.Now()
	rs, n, err := report.Refresh(ctx, cfg, wh, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "metrics: %d values for %d scopes (%s, by %s) in %s\n", n, len(rs),
		report.Window(o), o.Grain, time.Since(start).Round(time.Millisecond))
	return rs, nil
}

func metricsCmd(g *globals) *cobra.Command {
	var wf windowFlags
	c := &cobra.Command{
		Use:   "metrics",
		Short: "Compute every metric over the warehouse and store them in metric_values",
		Long: `metrics derives the DORA, review and CI metrics of METRICS.md for every project
and team over the window and upserts them into metric_values (re-running replaces
the same rows; nothing is duplicated). collect runs it at the end unless --no-metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			o, err := wf.options(cfg, time.Now())
			if err != nil {
				return err
			}
			wh, err := openExistingWarehouse(cmd.Context(), g.stderr, cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			_, err = computeMetrics(cmd.Context(), g.stdout, cfg, wh, o)
			return err
		},
	}
	wf.register(c)
	return c
}

func reportCmd(g *globals) *cobra.Command {
	var wf windowFlags
	var teams, projects []string
	var format, out string
	c := &cobra.Command{
		Use:   "report",
		Short: "Show the metrics of projects and teams: terminal table, JSON or a self-contained HTML page",
		Example: `  devpulse report --team payments
  devpulse report --format json --since 2026-01-01 --until 2026-04-01 --grain month
  devpulse report --format html --out retro.html --project acme/payments/api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" && format != "html" {
				return usageError{fmt.Errorf("--format %q: use table, json or html", format)}
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			o, err := wf.options(cfg, time.Now())
			if err != nil {
				return err
			}
			wh, err := openWarehouseReadOnly(cmd.Context(), g.stderr, cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			return renderReport(cmd.Context(), g, cfg, wh, o, teams, projects, format, out)
		},
	}
	wf.register(c)
	c.Flags().StringSliceVar(&teams, "team", nil, "only these teams (repeatable)")
	c.Flags().StringSliceVar(&projects, "project", nil, "only these projects (repeatable)")
	c.Flags().StringVar(&format, "format", "table", "table, json or html")
	c.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return c
}

func renderReport(ctx context.Context, g *globals, cfg *config.Config, wh warehouse.Warehouse, o metrics.Options, teams, projects []string, format, out string) error {
	stored, err := report.Teams(ctx, cfg, wh)
	if err != nil {
		return err
	}
	all, err := report.StoredScopes(ctx, stored, wh)
	if err != nil {
		return err
	}
	scopes, err := report.Select(all, teams, projects)
	if err != nil {
		return usageError{err}
	}
	rs, err := report.ComputeStored(ctx, wh, scopes, o)
	if err != nil {
		return err
	}
	if _, err := report.Watch(ctx, cfg, wh, rs, o.Now, false); err != nil {
		return err
	}
	newest, err := warehouse.NewestUpdate(ctx, wh, "merge_requests", "pipelines", "deployments", "issues")
	if err != nil {
		return err
	}
	if hint := report.EmptyWindowHint(rs, newest, o); hint != "" {
		fmt.Fprintln(g.stderr, "devpulse: "+hint)
	}
	return writeReport(g, rs, o, format, out)
}

// writeReport renders computed results in a format, to out or standard output.
func writeReport(g *globals, rs []report.Result, o metrics.Options, format, out string) (err error) {
	w := g.stdout
	if out != "" {
		f, cerr := os.Create(out)
		if cerr != nil {
			return cerr
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr // a report that did not reach the disk is a failure
			}
		}()
		w = f
	}
	switch format {
	case "json":
		err = report.WriteJSON(w, report.Document(rs, o, time.Now()))
	case "html":
		err = report.WriteHTML(w, rs, o, time.Now())
	default:
		report.WriteTable(w, rs, o)
	}
	if err == nil && out != "" {
		fmt.Fprintf(g.stdout, "report written to %s\n", out)
	}
	return err
}
