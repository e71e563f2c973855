package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func TestJira_BothSearchStylesLongChangelogsAnd429s(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		t.Run(map[bool]string{true: "cloud", false: "server"}[cloud], func(t *testing.T) {
			org := sandbox.GenerateJira(9, 2, 120, orgNow)
			srv := sandbox.StartJira(org, cloud)
			defer srv.Close()
			srv.Every429 = 7
			cfg := config.Defaults()
			d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
			src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(),
				Streams: jira.Streams, Concurrency: 4, MaxRetries: 8, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d"), Settings: &jira.Settings{Boards: org.Boards()}}
			if cloud {
				src.Settings.(*jira.Settings).Email = "reader@acme.example"
			}
			cfg.Sources["jr"] = src
			cfg.Warehouse.Path = filepath.Join(t.TempDir(), "w.duckdb")
			cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
			wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer wh.Close()
			pol, _ := policy.New(cfg.Privacy, nil)
			sleeps := &sleepLog{}
			r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol}
			opts := pipeline.Options{NewCollector: func(s *config.Source, e collectors.Env) (collectors.Collector, error) {
				return jira.New(s, jira.Options{Stats: e.Stats, Sleep: sleeps.sleep})
			}}
			count := func(q string) int64 {
				res, err := wh.Query(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				return res.Rows[0][0].(int64)
			}
			if _, err := r.Collect(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if n := count(`SELECT count(*) FROM issues`); n != 240 {
				t.Errorf("%d issues, want 240", n)
			}
			// The first issue of each project has 250 changelog entries (more than the 100 embedded): all are kept.
			for _, k := range org.ProjectKeys() {
				q := fmt.Sprintf(`SELECT count(*) FROM issue_transitions t JOIN issues i ON i.id = t.issue_id WHERE i."key" = '%s-1' AND t.field = 'status'`, k)
				if n := count(q); n != sandbox.JiraLongChangelog+1 {
					t.Errorf("%s-1 has %d status transitions, want %d (+1 for creation)", k, n, sandbox.JiraLongChangelog+1)
				}
			}
			if n := count(`SELECT count(*) FROM sprints`); n != 16 {
				t.Errorf("%d sprints, want 16", n)
			}
			if n := count(`SELECT count(*) FROM issues WHERE story_points IS NULL OR status_category IS NULL`); n != 0 {
				t.Errorf("%d issues without points or category", n)
			}
			_, searches, extra, throttled := srv.Counts()
			if throttled == 0 {
				t.Error("no 429 was sent")
			}
			for _, w := range sleeps.all() {
				if w != time.Second {
					t.Errorf("waited %v after 429 Retry-After: 1", w)
				}
			}
			// 240 issues: 3 search pages of 100 (plus their retries); the 2 long changelogs need 3 pages each
			// on Cloud, or one re-fetch each on Server.
			// Retries of throttled requests come on top.
			wantExtra := map[bool]int64{true: 6, false: 2}[cloud]
			if extra < wantExtra || extra > wantExtra+throttled || searches < 3 || searches > 3+throttled {
				t.Errorf("searches %d, changelog requests %d (want 3 and %d, plus at most %d retries)", searches, extra, wantExtra, throttled)
			}

			srv.ResetCounts()
			srv.Every429 = 0
			res, err := r.Collect(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			total, searches, extra, _ := srv.Counts()
			if searches != 1 || extra != 0 {
				t.Errorf("unchanged re-run: %d searches, %d changelog requests (all %d); want 1 search", searches, extra, total)
			}
			if res.Run.Records["jr/issues"] != 0 || res.Run.Records["jr/sprints"] != 0 {
				t.Errorf("unchanged re-run collected %v", res.Run.Records)
			}
		})
	}
}
