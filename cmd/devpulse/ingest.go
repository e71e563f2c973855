package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/engines"
)

func ingestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ingest FILE",
		Short: "Land deployments and incidents from a JSON file (or - for stdin), as the ingest API does",
		Long: `ingest lands what a CI system or an incident tool reports, for those that prefer a
CLI step to an HTTP call: a JSON document {"deployments": [...], "incidents": [...]} in the
shapes of docs/ingest/*.schema.json. Every item needs an idempotency_key: the same key lands
once, so a retried step never counts twice. Records go through the privacy policy and join
their project's team like collected ones; free text (titles, descriptions) never lands.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{fmt.Errorf("ingest: %w", err)}
				}
				defer f.Close()
				r = f
			}
			body, err := ingest.ReadLimited(r, 64<<20)
			if err != nil {
				return fmt.Errorf("ingest %s: %w (at most 64 MiB per file)", args[0], err)
			}
			var doc ingest.Doc
			if err := ingest.Decode(strings.NewReader(string(body)), &doc); err != nil {
				return usageError{fmt.Errorf("ingest %s: %w", args[0], err)}
			}
			if err := doc.Validate(); err != nil {
				return usageError{fmt.Errorf("ingest %s: %w", args[0], err)}
			}
			pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
			if err != nil {
				return &config.ConfigError{File: cfg.File, Key: "privacy", Msg: err.Error()}
			}
			wh, err := engines.Open(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			defer wh.Close()
			n, err := ingest.Land(cmd.Context(), wh, pol, &doc)
			if err != nil {
				var fe *ingest.FieldError
				if errors.As(err, &fe) {
					return usageError{fmt.Errorf("ingest %s: %w", args[0], err)}
				}
				return err
			}
			fmt.Fprintf(g.stdout, "ingest: landed %d records (%d deployments, %d incidents in the file; a replayed idempotency_key replaces its record)\n",
				n, len(doc.Deployments), len(doc.Incidents))
			return nil
		},
	}
}
