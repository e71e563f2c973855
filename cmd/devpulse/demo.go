package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

// demoConfig points a GitLab source at the sandbox. The privacy secret is
// random per demo, so the demo needs no set-up and its tokens mean nothing elsewhere.
func demoConfig(url, jiraURL, token, path string) (*config.Config, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	src := &config.Source{Name: "gitlab", Type: "gitlab", URL: url, Token: config.Secret(token),
		Settings: demoGitLabSettings(), Concurrency: 8, RateLimit: 2000}
	for k, v := range map[string]string{"timeout": "30s", "overlap": "10m", "lookback": "180d"} {
		d, _ := config.ParseDuration(v)
		switch k {
		case "timeout":
			src.Timeout = d
		case "overlap":
			src.Overlap = d
		case "lookback":
			src.Lookback = d
		}
	}
	src.MaxRetries = 8
	src.Streams = append([]string(nil), gitlab.Streams...)
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	cfg.File = "(demo)"
	cfg.Sources["gitlab"] = src
	teams := []string{"gitlab:acme/payments/api", "gitlab:acme/mobile/ledger"}
	if jiraURL != "" {
		// The team plans in JIRA: its sprints, burn-ups and flow come from there.
		jr := &config.Source{Name: "jira", Type: "jira", URL: jiraURL, Token: config.Secret(token), Projects: []string{"APP"},
			Settings: &jira.Settings{Email: "demo@example.com", Boards: []int{1}}, Concurrency: 4, RateLimit: 2000,
			Timeout: src.Timeout, Overlap: src.Overlap, Lookback: src.Lookback, MaxRetries: 8, Streams: append([]string(nil), jira.Streams...)}
		cfg.Sources["jira"] = jr
		teams = append(teams, "jira:APP")
	}
	cfg.Teams = map[string][]string{"payments": teams}
	// Goals the team set itself, judged every week with a back-test.
	cfg.Goals = []config.Goal{{Team: "payments", Goal: "pipeline_duration p50 < 20m"}, {Team: "payments", Goal: "pickup_time p50 < 1d"}}
	// The GitLab board's in-dev column is work, for flow efficiency.
	cfg.Flow.ActiveStatuses = append(cfg.Flow.ActiveStatuses, "workflow::in dev")
	cfg.Warehouse.Path = path
	cfg.Privacy.Secret = config.Secret(hex.EncodeToString(secret))
	cfg.Privacy.Titles = "keep" // the demo's titles are generated, and show the masking
	return cfg, cfg.Validate()
}

// demoSlowdownDays is how long ago the demo's planted CI slowdown began.
// Nine weeks, not six: with five whole weeks after it, E-Divisive's
// permutation test at alerts' significance 0.01 missed the +50% shift on
// some days (on 2026-12-04 it needed 0.05), so the demo showed no change
// depending on the weekday it ran.
const demoSlowdownDays = 63

// demoJiraIssues is the size of the demo team's JIRA project.
const demoJiraIssues = 120

func demoCmd(g *globals) *cobra.Command {
	var out, html string
	var seed uint64
	var force bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Collect a generated GitLab organisation and JIRA project into ./devpulse-demo.duckdb (no network, no credentials)",
		Long: `demo starts devpulse's sandbox (a seeded, realistic GitLab organisation and a
JIRA project with sprints, served on 127.0.0.1 in the GitLab and JIRA REST
APIs' shapes), runs the real collectors against them with a privacy policy and
lands everything in a fresh DuckDB file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if g.warehouse != "" {
				if cmd.Flags().Changed("out") && out != g.warehouse {
					return usageError{fmt.Errorf("--out %s and --warehouse %s name two files: give one", out, g.warehouse)}
				}
				out = g.warehouse
			}
			if !force {
				if err := onlyDemoData(ctx, out); err != nil {
					return err
				}
			}
			start := time.Now()
			org := sandbox.Generate(seed, sandbox.DemoSize, g.now())
			// The payments team plans in JIRA: its branches name APP keys.
			org.LinkJira("APP", demoJiraIssues, "acme/payments/api", "acme/mobile/ledger")
			// Nine weeks ago the API's CI got 70% slower (a new test suite):
			// the lasting shift regression alerts are for.
			org.SlowPipelines("acme/payments/api", g.now().AddDate(0, 0, -demoSlowdownDays), 1.7)
			srv := sandbox.Start(org, sandbox.Options{Token: "demo-token"})
			defer srv.Close()
			jr := sandbox.StartJira(sandbox.GenerateJira(seed, 1, demoJiraIssues, g.now()), true)
			defer jr.Close()
			for _, f := range []string{out, out + ".wal"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("demo: remove old %s: %w", f, err)
				}
			}
			cfg, err := demoConfig(srv.URL, jr.URL, "demo-token", out)
			if err != nil {
				return err
			}
			if g.logLevel != "" {
				cfg.Log.Level = g.logLevel
			}
			if g.logFormat != "" {
				cfg.Log.Format = g.logFormat
			}
			fmt.Fprintf(g.stdout, "sandbox: GitLab-shaped API on %s (seed %d: %d projects, %d merge requests), JIRA-shaped API on %s (project APP, %d issues in sprints)\n",
				srv.URL, seed, sandbox.DemoSize.Projects, sandbox.DemoSize.Projects*sandbox.DemoSize.MRsPerProject, jr.URL, demoJiraIssues)
			if _, err := collect(ctx, g, cfg, pipeline.Options{Command: "demo"}); err != nil {
				return err
			}
			jrTotal, _, _, _ := jr.Counts()
			fmt.Fprintf(g.stdout, "the sandboxes served %d requests; collection took %s\n\n", srv.Total()+jrTotal, time.Since(start).Round(time.Millisecond))
			wh, err := duckdb.Open(ctx, out)
			if err != nil {
				return err
			}
			defer wh.Close()
			// The platform team is paged through PagerDuty: its incidents
			// arrive over the ingest API's path, not from a tracker.
			pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
			if err != nil {
				return err
			}
			n, err := ingest.Land(ctx, wh, pol, demoIncidents(g.now()))
			if err != nil {
				return fmt.Errorf("demo: ingest: %w", err)
			}
			fmt.Fprintf(g.stdout, "ingested %d PagerDuty incidents of acme/platform/web (as POST /api/v1/incidents would)\n\n", n)
			// The weekly history alerts compare against: every whole week the
			// sandbox holds, as `devpulse metrics --since` backfills it.
			full, err := (&windowFlags{grain: "week", since: g.now().Add(-sandbox.Span).Format("2006-01-02")}).options(cfg, g.now())
			if err != nil {
				return err
			}
			if _, _, err := report.Refresh(ctx, cfg, wh, full); err != nil {
				return fmt.Errorf("demo: backfill the weekly history: %w", err)
			}
			o, err := (&windowFlags{grain: "week"}).options(cfg, g.now())
			if err != nil {
				return err
			}
			rs, err := computeMetrics(ctx, g.stdout, cfg, wh, o)
			if err != nil {
				return err
			}
			res, err := wh.Query(ctx, demoLanded)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "landed in %s:\n", out)
			if err := writeResult(g.stdout, res, "table"); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout)
			// One load and computation serves the metrics, the table and the page.
			var team []report.Result
			for _, r := range rs {
				if r.Scope.Kind == "team" && r.Scope.Name == "payments" {
					team = append(team, r)
				}
			}
			if err := writeReport(g, team, o, "table", ""); err != nil {
				return err
			}
			if err := writeReport(g, rs, o, "html", html); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "demo took %s\n\nexplore it (no config needed: the teams are stored with the metrics):\n  devpulse report --warehouse %s --team payments\n  devpulse query --warehouse %s \"SELECT * FROM metric_values WHERE grain = 'window' AND scope_kind = 'team'\"\n  open %s\n",
				time.Since(start).Round(time.Millisecond), out, out, html)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "devpulse-demo.duckdb", "warehouse file to (re)create")
	c.Flags().StringVar(&html, "html", "devpulse-demo.html", "HTML report to write")
	c.Flags().Uint64Var(&seed, "seed", 42, "sandbox seed (same seed, same organisation)")
	c.Flags().BoolVar(&force, "force", false, "replace --out even if it holds more than an earlier demo")
	return c
}

// onlyDemoData refuses to replace a file that holds anything but an earlier
// demo: `demo --out devpulse.duckdb` must not wipe a real warehouse.
func onlyDemoData(ctx context.Context, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	refuse := func(why string) error {
		return usageError{fmt.Errorf("demo: %s %s; it is not replaced (choose another --out, or add --force to replace it)", path, why)}
	}
	wh, err := duckdb.OpenReadOnly(ctx, path)
	if err != nil {
		return refuse("exists and is not a devpulse warehouse")
	}
	defer wh.Close()
	res, err := wh.Query(ctx, "SELECT count(*) FILTER (WHERE command IS DISTINCT FROM 'demo') FROM runs")
	if err != nil || len(res.Rows) != 1 {
		return refuse("exists and is not a devpulse demo warehouse")
	}
	if n, _ := res.Rows[0][0].(int64); n > 0 {
		return refuse(fmt.Sprintf("holds %d runs that are not demos", n))
	}
	return nil
}

const demoLanded = `
SELECT 'merge_requests' AS "table", count(*) AS "rows" FROM merge_requests
UNION ALL SELECT 'mr_commits', count(*) FROM mr_commits
UNION ALL SELECT 'mr_reviews', count(*) FROM mr_reviews
UNION ALL SELECT 'pipelines', count(*) FROM pipelines
UNION ALL SELECT 'deployments', count(*) FROM deployments
UNION ALL SELECT 'deployment_changes', count(*) FROM deployment_changes
UNION ALL SELECT 'issues', count(*) FROM issues
UNION ALL SELECT 'issues (incidents)', count(*) FROM issues WHERE "TYPE" = 'incident'`

// demoIncidents are what a pager would push for acme/platform/web over the
// last weeks: deterministic offsets from now, two still open.
func demoIncidents(now time.Time) *ingest.Doc {
	d := &ingest.Doc{}
	for i, h := range []struct{ ago, lasted float64 }{{500, 3}, {380, 0.5}, {260, 7}, {150, 1.5}, {60, -1}, {8, -1}} {
		start := now.Add(-time.Duration(h.ago * float64(time.Hour))).UTC().Truncate(time.Minute)
		x := ingest.Incident{IdempotencyKey: fmt.Sprintf("pagerduty:PDEMO%d", i+1), Project: "acme/platform/web", Tool: "pagerduty",
			Severity: "high", Labels: []string{"pagerduty"}, StartedAt: &start, Title: "dropped: free text never lands"}
		if h.lasted >= 0 {
			end := start.Add(time.Duration(h.lasted * float64(time.Hour)))
			x.ResolvedAt = &end
		}
		d.Incidents = append(d.Incidents, x)
	}
	return d
}

// demoGitLabSettings are a GitLab source's defaults (board labels included)
// for the sandbox's group, with a deploy job for its job-deployed project.
func demoGitLabSettings() *gitlab.Settings {
	set := gitlab.Defaults()
	set.Groups, set.DeployJobs = []string{"acme"}, "^deploy$"
	return set
}
