package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
)

func purgeCmd(g *globals) *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "purge",
		Short: "Delete landed records that the current privacy.exclude rules exclude",
		Long: `purge applies today's exclusion rules to what already landed: a project, group,
label or issue type excluded after it was collected is deleted from the warehouse,
with its commits, reviews and deployment links. --dry-run only counts.`,
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
			wh, err := openWarehouse(cmd.Context(), g.stderr, cfg)
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
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be deleted, delete nothing")
	return c
}
