package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/version"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/schedule"
	"github.com/devpulse/devpulse/warehouse"
)

func collectCmd(g *globals) *cobra.Command {
	var sources, streams []string
	var full, noMetrics, reconcile bool
	var since, metricsFile string
	c := &cobra.Command{
		Use:   "collect",
		Short: "Collect new and changed records from every source into the warehouse",
		Long: `collect reads each source's streams incrementally (since the stored cursor minus
the overlap), applies the privacy policy and lands the records. Interrupting it
(Ctrl-C, SIGTERM) lands the pages already read; the next run resumes from there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadSources()
			if err != nil {
				return err
			}
			o := pipeline.Options{Sources: sources, Streams: streams, Full: full, Command: "collect"}
			if since != "" {
				t, err := parseDate(since)
				if err != nil {
					return usageError{fmt.Errorf("--since: %w", err)}
				}
				o.Since = t
			}
			if err := checkSelection(cfg, sources, streams); err != nil {
				return err
			}
			began := time.Now()
			res, err := collect(cmd.Context(), g, cfg, o)
			if metricsFile != "" {
				if werr := schedule.WriteTextfile(metricsFile, cfg, res, "collect", time.Since(began), time.Now()); werr != nil {
					err = errors.Join(err, werr)
				}
			}
			if err == nil && reconcile {
				err = reconcileRun(cmd.Context(), g, cfg, o)
			}
			if err != nil || noMetrics {
				return err
			}
			mo, err := (&windowFlags{grain: "week"}).options(cfg, time.Now())
			if err != nil {
				return err
			}
			wh, err := openWarehouse(cmd.Context(), g.stderr, cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			_, err = computeMetrics(cmd.Context(), g.stdout, cfg, wh, mo)
			return err
		},
	}
	f := c.Flags()
	f.BoolVar(&noMetrics, "no-metrics", false, "do not recompute metrics after collecting")
	f.StringVar(&metricsFile, "metrics-file", "", "write this run's Prometheus series to this file (node_exporter textfile collector: a *.prom file in its directory)")
	f.BoolVar(&reconcile, "reconcile", false, "afterwards, list ids only and mark records deleted upstream or out of scope (soft; metrics ignore them)")
	f.StringSliceVar(&sources, "source", nil, "only these sources (repeatable)")
	f.StringSliceVar(&streams, "stream", nil, "only these streams ("+streamHelp()+")")
	f.BoolVar(&full, "full", false, "ignore cursors and re-read the whole lookback window")
	f.StringVar(&since, "since", "", "collect records updated since this date (YYYY-MM-DD or RFC 3339), ignoring cursors")
	return c
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD or RFC 3339)", s)
}

// checkSelection refuses --source and --stream values the configuration
// does not have: a usage error (exit 2), nothing attempted.
func checkSelection(cfg *config.Config, sources, streams []string) error {
	for _, s := range sources {
		if _, ok := cfg.Sources[s]; !ok {
			names := make([]string, 0, len(cfg.Sources))
			for n := range cfg.Sources {
				names = append(names, n)
			}
			sort.Strings(names)
			return usageError{fmt.Errorf("--source %q: no such source in %s (configured: %s)", s, cfg.File, strings.Join(names, ", "))}
		}
	}
	offered := map[string]bool{}
	for n, src := range cfg.Sources {
		if len(sources) == 0 || slices.Contains(sources, n) {
			for _, st := range cfg.StreamsOf(src.Type) {
				offered[st] = true
			}
		}
	}
	for _, st := range streams {
		if !offered[st] {
			var all []string
			for k := range offered {
				all = append(all, k)
			}
			sort.Strings(all)
			return usageError{fmt.Errorf("--stream %q: no selected source has it (they offer: %s)", st, strings.Join(all, ", "))}
		}
	}
	return nil
}

// reconcileRun marks records that vanished upstream or left the scope.
func reconcileRun(ctx context.Context, g *globals, cfg *config.Config, o pipeline.Options) error {
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		return &config.ConfigError{File: cfg.File, Key: "privacy", Msg: err.Error()}
	}
	wh, err := openWarehouse(ctx, g.stderr, cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol, Log: g.logger(cfg.Log)}
	start := time.Now()
	res, err := r.Reconcile(ctx, o)
	if res != nil {
		fmt.Fprintf(g.stdout, "reconcile: marked deleted upstream %s; out of scope %s (%d API requests, %s)\n",
			countsText(res.Vanished), countsText(res.OutOfScope), res.Requests, time.Since(start).Round(time.Millisecond))
	}
	return err
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// collect runs the pipeline and prints a summary; shared by collect and demo.
func collect(ctx context.Context, g *globals, cfg *config.Config, o pipeline.Options) (*pipeline.Result, error) {
	prog := newProgress(g.stderr)
	log := g.loggerTo(prog.Writer(), cfg.Log)
	prog.log = log
	stopped := false
	defer func() {
		if !stopped {
			prog.Stop()
		}
	}()
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		return nil, &config.ConfigError{File: cfg.File, Key: "privacy", Msg: err.Error()}
	}
	wh, err := openWarehouse(ctx, g.stderr, cfg)
	if err != nil {
		return nil, err
	}
	defer wh.Close()
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol, Log: log, Progress: prog, Now: g.now}
	start := time.Now()
	res, err := r.Collect(ctx, o)
	prog.Stop()
	stopped = true
	if res != nil {
		printSummary(g.stdout, res, time.Since(start))
	}
	if err != nil && ctx.Err() != nil {
		if o.Full || !o.Since.IsZero() {
			// Cursors move only when a scan completes: such a run starts over.
			return res, fmt.Errorf("interrupted: the pages read so far were landed; a --full or --since run starts over when run again (what landed is upserted, never duplicated), and a plain `devpulse collect` reads on from the last complete cursor")
		}
		return res, fmt.Errorf("interrupted: the pages read so far were landed; run the same command again to resume")
	}
	return res, err
}

func printSummary(w io.Writer, res *pipeline.Result, d time.Duration) {
	keys := make([]string, 0, len(res.Run.Records))
	total := 0
	for k, v := range res.Run.Records {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "run %s: %s in %s, %d records, %d API requests\n", res.Run.ID, res.Run.Status, d.Round(time.Millisecond), total, res.Run.Requests)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-32s %8d\n", k, res.Run.Records[k])
	}
	if len(res.Run.Policy) > 0 {
		fmt.Fprintln(w, "  removed by privacy rules:")
		pk := make([]string, 0, len(res.Run.Policy))
		for k := range res.Run.Policy {
			pk = append(pk, k)
		}
		sort.Strings(pk)
		for _, k := range pk {
			fmt.Fprintf(w, "    %-40s %6d\n", k, res.Run.Policy[k])
		}
	}
}

func queryCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   `query "SQL"`,
		Short: "Run read-only SQL against the warehouse",
		Example: `  devpulse query "SELECT project_path, count(*) FROM merge_requests GROUP BY 1"
  devpulse query --format json "SELECT * FROM runs ORDER BY started_at DESC LIMIT 5"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("query takes one SQL statement, in quotes (got %d arguments)\n\n%s", len(args), cmd.UsageString())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "csv" && format != "json" {
				return usageError{fmt.Errorf("--format %q: use table, csv or json", format)}
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			wh, err := openWarehouseReadOnly(cmd.Context(), g.stderr, cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			res, err := wh.Query(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeResult(g.stdout, res, format)
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return c
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func writeResult(w io.Writer, res *warehouse.Result, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(res.Columns)
		for _, r := range res.Rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = cell(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		return writeJSONRows(w, res)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = cell(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	fmt.Fprintf(tw, "(%d rows)\n", len(res.Rows))
	return tw.Flush()
}

// writeJSONRows writes one object per row with the keys in SELECT order
// (a Go map would sort them) and a repeated column name kept, suffixed as
// DuckDB does (id, id_1), instead of one silently overwriting the other.
func writeJSONRows(w io.Writer, res *warehouse.Result) error {
	keys := make([][]byte, len(res.Columns))
	seen := map[string]int{}
	taken := map[string]bool{}
	for _, c := range res.Columns {
		taken[c] = true
	}
	for i, c := range res.Columns {
		name := c
		if n := seen[c]; n > 0 {
			for name = fmt.Sprintf("%s_%d", c, n); taken[name]; name = fmt.Sprintf("%s_%d", c, n) {
				n++
			}
			seen[c] = n
			taken[name] = true
		}
		seen[c]++
		keys[i], _ = json.Marshal(name)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for r, row := range res.Rows {
		if r > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n  {")
		for i, v := range row {
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format(time.RFC3339Nano)
			}
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				v = nil // JSON has no NaN or Infinity
			}
			val, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("column %s of row %d: %w", res.Columns[i], r+1, err)
			}
			if i > 0 {
				bw.WriteString(", ")
			}
			bw.Write(keys[i])
			bw.WriteString(": ")
			bw.Write(val)
		}
		bw.WriteString("}")
	}
	if len(res.Rows) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func doctorCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, each source's reachability and credentials, and the warehouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := g.stdout
			cfg, err := g.loadSources()
			if err != nil {
				fmt.Fprintln(w, "config: FAIL")
				return err
			}
			where := cfg.File
			if where == "" {
				where = "(no file; defaults and environment)"
			}
			fmt.Fprintf(w, "config: ok %s\n", where)
			failed := 0
			pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
			if err != nil {
				fmt.Fprintf(w, "privacy: FAIL %v\n", err)
				failed++
			} else {
				fmt.Fprintln(w, "privacy policy in effect:")
				for _, l := range pol.Describe() {
					fmt.Fprintln(w, "  "+l)
				}
			}
			names := make([]string, 0, len(cfg.Sources))
			for n := range cfg.Sources {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				src := cfg.Sources[n]
				col, err := collectors.New(src, collectors.Env{Logger: g.logger(cfg.Log), Deployments: cfg.Deployments, AI: cfg.AI})
				if err == nil {
					ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
					if ch, ok := col.(collectors.Checker); ok {
						err = ch.Check(ctx)
					}
					if err == nil {
						var scopes []string
						ss, _ := col.Scopes(ctx)
						for _, s := range ss {
							scopes = append(scopes, s.Path)
						}
						fmt.Fprintf(w, "source %s (%s %s): ok, %d projects\n", n, src.Type, src.URL, len(scopes))
						if d, ok := col.(collectors.Detailer); ok {
							for _, line := range d.Details() {
								fmt.Fprintf(w, "  %s\n", line)
							}
						}
						if src.Type != "jira" || len(src.Projects) > 0 { // a JQL-only scope names no projects to check against
							failed += doctorTeams(w, cfg, n, append(scopes, src.Projects...))
						}
					}
					cancel()
				}
				if err != nil {
					// The line names the source; the error need not say it again.
					msg := strings.TrimPrefix(err.Error(), src.Type+" "+n+": ")
					fmt.Fprintf(w, "source %s (%s %s): FAIL %s\n", n, src.Type, src.URL, msg)
					failed++
				}
			}
			failed += doctorWarehouse(cmd.Context(), w, cfg)
			if len(cfg.Schedule.Jobs) > 0 {
				loc, _ := time.LoadLocation(cfg.Schedule.Timezone)
				for _, j := range cfg.Schedule.Jobs {
					sch, _ := config.CronParser.Parse(j.Cron)
					fmt.Fprintf(w, "schedule job %s (%s): next run %s\n", j.Name, j.Cron, sch.Next(time.Now().In(loc)).Format(time.RFC3339))
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			return nil
		},
	}
}

func configCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	c.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(cfg)
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "reference",
		Short: "Print every configuration key, documented (docs/devpulse.reference.yaml)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(g.stdout, config.Reference(collectors.Kinds()))
			return err
		},
	})
	return c
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(g.stdout, version.String())
		},
	}
}

// streamHelp lists each source type's streams, for --stream's help.
func streamHelp() string {
	var parts []string
	for _, t := range collectors.TypeNames() {
		parts = append(parts, t+": "+strings.Join(collectors.Registry[t].Kind.Streams, ", "))
	}
	return strings.Join(parts, "; ")
}

// doctorTeams checks that every team member "<source>:<project>" of this
// source names a project the source collects: a typo would leave the team's
// numbers silently short of that project. It returns the failures.
func doctorTeams(w io.Writer, cfg *config.Config, source string, projects []string) int {
	failed := 0
	teams := make([]string, 0, len(cfg.Teams))
	for t := range cfg.Teams {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	for _, t := range teams {
		for _, m := range cfg.Teams[t] {
			src, path, _ := strings.Cut(m, ":")
			if src == source && !slices.Contains(projects, path) {
				fmt.Fprintf(w, "  team %s: FAIL member %s is no project of source %s (it collects %d projects; check teams.%s)\n", t, m, source, len(projects), t)
				failed++
			}
		}
	}
	return failed
}
