package pipeline_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/redmine"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func TestRedmine_IncrementalFetchesJournalsOnlyForChangedIssues(t *testing.T) {
	org := sandbox.GenerateRedmine(3, 2, 150, orgNow)
	srv := sandbox.StartRedmine(org, "rm-key", 0)
	defer srv.Close()
	cfg := config.Defaults()
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	cfg.Sources["rm"] = &config.Source{Name: "rm", Type: "redmine", URL: srv.URL, Token: "rm-key", Projects: org.Identifiers(),
		Streams: redmine.Streams, Concurrency: 4, MaxRetries: 3, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d"),
		Settings: &redmine.Settings{InProgressStatuses: []string{"In Progress"}, StoryPointsField: "Story Points", SprintStartField: "Sprint Start"}}
	cfg.Warehouse.Path = filepath.Join(t.TempDir(), "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	pol, _ := policy.New(cfg.Privacy, nil)
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol}
	count := func(q string) int64 {
		res, err := wh.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return res.Rows[0][0].(int64)
	}

	if _, err := r.Collect(context.Background(), pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM issues`); n != 300 {
		t.Errorf("%d issues, want 300", n)
	}
	if _, lists, gets := srv.Counts(); lists != 4 || gets != 300 {
		t.Errorf("first run: %d list pages and %d journal requests, want 4 (2 per project) and 300", lists, gets)
	}
	if n := count(`SELECT count(*) FROM issue_transitions WHERE field = 'status' AND from_value IS NULL`); n != 300 {
		t.Errorf("%d creation entries, want one per issue", n)
	}
	if n := count(`SELECT count(*) FROM sprints`); n != 18 {
		t.Errorf("%d sprints, want 18", n)
	}

	srv.ResetCounts()
	t2 := time.Now()
	res, err := r.Collect(context.Background(), pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	total, lists, gets := srv.Counts()
	// One issue list, one versions list and one project lookup per project,
	// plus the statuses: nothing else. No member list: nothing lands, so no
	// text is cleared and no name needs to be known.
	if lists != 2 || gets != 0 || total != 7 {
		t.Errorf("unchanged re-run: %d requests (%d lists, %d journals), want 7 (2, 0)", total, lists, gets)
	}
	if n := count(`SELECT count(*) FROM issues WHERE collected_at >= '` + t2.UTC().Format(time.RFC3339Nano) + `'`); n != 0 {
		t.Errorf("unchanged re-run landed %d issues", n)
	}
	for _, v := range res.Run.Records {
		if v != 0 {
			t.Errorf("unchanged re-run records = %v", res.Run.Records)
		}
	}

	srv.Touch(6)
	srv.ResetCounts()
	if _, err := r.Collect(context.Background(), pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, _, gets := srv.Counts(); gets != 6 {
		t.Errorf("after 6 issues changed: %d journal requests, want 6", gets)
	}
}
