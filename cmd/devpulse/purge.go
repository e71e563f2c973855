package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
)

func purgeCmd(g *globals) *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "purge",
		Short: "Delete landed records that the current privacy.exclude rules exclude",
		Long: `purge applies today's exclusion rules to what already landed: a project, group,
label or issue type excluded after it was collected is deleted from the warehouse,
with its commits, reviews and deployment links; so are the sprints and cursors of
excluded projects and every metric value that counted them (the stored windows are
recomputed), and the DuckDB file is rewritten so it keeps no copy. --dry-run only counts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
			if err != nil {
				return &config.ConfigError{File: cfg.File, Key: "privacy", Msg: err.Error()}
			}
			wh, err := openExistingWarehouse(cmd.Context(), g.stderr, cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			res, err := pipeline.Purge(cmd.Context(), wh, pol, dryRun)
			if err != nil {
				return err
			}
			verb := "deleted"
			if dryRun {
				verb = "would delete (dry run)"
			}
			total := 0
			for _, n := range res.ByTable {
				total += n
			}
			fmt.Fprintf(g.stdout, "purge %s %d records (children and deployment links with them)\n", verb, total)
			for _, m := range []map[string]int{res.ByTable, res.ByRule} {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(g.stdout, "  %-44s %7d\n", k, m[k])
				}
			}
			if res.Cursors+res.MetricValues > 0 || total > 0 {
				fmt.Fprintf(g.stdout, "purge %s derived data: %d cursors of excluded scopes, %d metric values (%d stored windows recomputed without the removed records)\n",
					verb, res.Cursors, res.MetricValues, len(res.Windows))
			}
			if dryRun || total+res.Cursors == 0 {
				return nil
			}
			// Recompute what was stored, now without the removed records.
			now := time.Now()
			for _, w := range res.Windows {
				o, err := report.MetricOptions(cfg, w.Since, w.Until, "week")
				if err != nil {
					return err
				}
				o.Now = now
				if _, _, err := report.Refresh(cmd.Context(), cfg, wh, o); err != nil {
					return fmt.Errorf("purge: recompute the window %s .. %s: %w", w.Since.Format("2006-01-02"), w.Until.Format("2006-01-02"), err)
				}
			}
			// Leave no copy of what was removed in the warehouse's storage.
			if c, ok := wh.(interface {
				Compact(context.Context) (int64, int64, error)
			}); ok {
				before, after, err := c.Compact(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "purge rewrote %s without the deleted rows (%d → %d bytes)\n", cfg.Warehouse.Path, before, after)
			}
			if cfg.Warehouse.Engine == "snowflake" {
				fmt.Fprintln(g.stdout, "purge: Snowflake keeps deleted rows in Time Travel for DATA_RETENTION_TIME_IN_DAYS (1 day by default, up to 90) and then 7 days of Fail-safe;"+
					" to shorten it for devpulse's tables: ALTER SCHEMA <database>.<schema> SET DATA_RETENTION_TIME_IN_DAYS = 0 (see README, Snowflake)")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be deleted, delete nothing")
	return c
}
