package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

// landSizes records the rows of every landing.
type landSizes struct {
	warehouse.Warehouse
	mu   sync.Mutex
	rows []int
}

func (l *landSizes) Land(ctx context.Context, key warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	l.mu.Lock()
	l.rows = append(l.rows, b.Batch().Rows())
	l.mu.Unlock()
	return l.Warehouse.Land(ctx, key, b, cursor)
}

// TestCollect_BatchSizeCountsRows: warehouse.batch_size bounds the rows a
// scope holds before landing, children included. Counted in MRs, each
// concurrent scope held batch_size MRs with all their commits and notes, so
// a run's memory grew with the records (100k MRs: 913 MB against 168 MB
// for 10k, measured with devpulse collect).
func TestCollect_BatchSizeCountsRows(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 500}, sandbox.Options{})
	e.cfg.Warehouse.BatchSize = 1000
	pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	if err != nil {
		t.Fatal(err)
	}
	wh := &landSizes{Warehouse: e.wh}
	r := &pipeline.Runner{Cfg: e.cfg, WH: wh, Policy: pol}
	_, err = r.Collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"},
		NewCollector: func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
			return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats, Deployments: ce.Deployments, Sleep: e.sleeps.sleep})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("landings: %v", wh.rows)
	total := 0
	for _, n := range wh.rows {
		total += n
		// A landing follows the emit that reaches the bound: one page of
		// 100 MRs (about 600 rows here) beyond it at most.
		if n >= 2000 {
			t.Errorf("a landing of %d rows with batch_size 1000: children are not counted", n)
		}
	}
	if mrs := e.count("SELECT count(*) FROM merge_requests"); mrs != 1000 || total < 3*1000 {
		t.Fatalf("%d MRs and %d rows landed: the MRs should carry children, or the bound is not exercised", mrs, total)
	}
}
