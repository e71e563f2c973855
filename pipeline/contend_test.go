package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/internal/snowfake"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

// Two processes (two Snowflake sessions, two runners) start the same streams
// at once against a shared warehouse: with on_busy skip exactly one collects
// each stream and the other skips it; with wait the second runs after the
// first. Either way every record lands once.
func TestLeases_TwoRunnersOneWarehouseExactlyOneCollectsEachStream(t *testing.T) {
	for _, mode := range []string{"skip", "wait"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 60, PipelinesPerProject: 60, DeploymentsPerProject: 5, IssuesPerProject: 10},
				sandbox.Options{Latency: 3 * time.Millisecond})
			fake, err := snowfake.New("acme")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			fake.AddUser("loader", snowfake.User{Password: "pw"})
			sc := config.Snowflake{Account: "acme", User: "loader", Password: "pw", Warehouse: "WH", Database: "DB", Schema: "S",
				Host: fake.Host, Port: fake.Port, Protocol: "http", Timeout: config.Duration(time.Minute)}
			e.cfg.Schedule.OnBusy = mode
			e.cfg.Schedule.BusyTimeout = config.Duration(time.Minute)
			pol, _ := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
			var wg sync.WaitGroup
			results := make([]*pipeline.Result, 2)
			for i := range results {
				wh, err := snowflake.Open(context.Background(), sc)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { wh.Close() })
				r := &pipeline.Runner{Cfg: e.cfg, WH: wh, Policy: pol, Holder: []string{"host-a pid 1 run a", "host-b pid 2 run b"}[i]}
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := r.Collect(context.Background(), pipeline.Options{})
					if err != nil {
						t.Error(err)
					}
					results[i] = res
				}()
			}
			wg.Wait()
			skipped := append(append([]string(nil), results[0].Skipped...), results[1].Skipped...)
			collected := results[0].Run.Records["gl/merge_requests"] + results[1].Run.Records["gl/merge_requests"]
			switch mode {
			case "skip":
				if len(skipped) != len(gitlab.Streams) {
					t.Errorf("skipped %v: want each of the %d streams skipped by exactly one runner", skipped, len(gitlab.Streams))
				}
				seen := map[string]bool{}
				for _, s := range skipped {
					if seen[s] {
						t.Errorf("%s skipped by both runners", s)
					}
					seen[s] = true
				}
				if collected != 120 {
					t.Errorf("%d MRs collected by the two runners, want 120 (one collection)", collected)
				}
			case "wait":
				if len(skipped) != 0 {
					t.Errorf("skipped %v with on_busy: wait", skipped)
				}
			}
			w, _ := snowflake.OpenReadOnly(context.Background(), sc)
			defer w.Close()
			res, err := w.Query(context.Background(), "SELECT COUNT(*), COUNT(DISTINCT id) FROM merge_requests")
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows[0][0] != int64(120) || res.Rows[0][1] != int64(120) {
				t.Errorf("merge_requests: %v rows/distinct, want 120", res.Rows[0])
			}
			if n, _ := w.Query(context.Background(), "SELECT COUNT(*) FROM locks"); n.Rows[0][0] != int64(0) {
				t.Errorf("%v leases left after both runs", n.Rows[0][0])
			}
		})
	}
}
