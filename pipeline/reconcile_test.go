package pipeline_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

func (e *env) reconcile(o pipeline.Options) *pipeline.ReconcileResult {
	e.t.Helper()
	pol, _ := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats, Deployments: ce.Deployments, Sleep: e.sleeps.sleep})
	}
	r := &pipeline.Runner{Cfg: e.cfg, WH: e.wh, Policy: pol}
	res, err := r.Reconcile(context.Background(), o)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// Deleted upstream and moved out of scope: incremental runs never see either;
// the reconcile pass lists ids only, soft-deletes exactly those records, and
// metrics (warehouse.Load) stop counting them. An unchanged re-run of collect
// does not bring them back, and a second reconcile changes nothing.
func TestReconcile_MarksDeletedAndOutOfScopeRecords(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 3, MRsPerProject: 40, PipelinesPerProject: 30, DeploymentsPerProject: 5, IssuesPerProject: 10}, sandbox.Options{})
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := warehouse.Load(ctx, e.wh)
	u, _ := url.Parse(e.srv.URL)
	gone := e.srv.DeleteMRs(3, u.Host)

	res := e.reconcile(pipeline.Options{})
	if res.Vanished["merge_requests"] != 3 || len(res.OutOfScope) != 0 {
		t.Fatalf("reconcile: %+v, want 3 MRs deleted upstream", res)
	}
	for _, id := range gone {
		if n := e.count("SELECT COUNT(*) FROM merge_requests WHERE deleted_at IS NOT NULL AND id = '" + id + "'"); n != 1 {
			t.Errorf("%s not marked deleted", id)
		}
	}
	if n := e.count("SELECT COUNT(*) FROM merge_requests WHERE deleted_at IS NOT NULL"); n != 3 {
		t.Errorf("%d MRs marked deleted, want exactly 3", n)
	}
	after, _ := warehouse.Load(ctx, e.wh)
	if len(after.MergeRequests) != len(before.MergeRequests)-3 {
		t.Errorf("metrics still see %d of %d MRs", len(after.MergeRequests), len(before.MergeRequests))
	}
	t.Logf("reconcile: %d API requests, %v deleted upstream", res.Requests, res.Vanished)
	// Listing costs list pages only: no commits, notes, diffs or pipeline details.
	if res.Requests > 3*4*2+3 {
		t.Errorf("%d requests for an ids-only pass over 3 projects × 4 streams", res.Requests)
	}
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT COUNT(*) FROM merge_requests WHERE deleted_at IS NOT NULL"); n != 3 {
		t.Errorf("after a re-run %d MRs are marked deleted", n)
	}
	if again := e.reconcile(pipeline.Options{}); len(again.Vanished) != 0 {
		t.Errorf("second reconcile marked %v", again.Vanished)
	}

	// A project leaves the configured scope: all its records go.
	dropped := e.cfg.Sources["gl"].Projects[0]
	e.cfg.Sources["gl"].Projects = e.cfg.Sources["gl"].Projects[1:]
	live := e.count("SELECT COUNT(*) FROM merge_requests WHERE deleted_at IS NULL AND project_path = '" + dropped + "'")
	res = e.reconcile(pipeline.Options{})
	if res.OutOfScope["merge_requests"] != int(live) || res.OutOfScope["pipelines"] == 0 {
		t.Errorf("out of scope: %+v, want %d MRs and the pipelines of %s", res.OutOfScope, live, dropped)
	}
	if n := e.count("SELECT COUNT(*) FROM merge_requests WHERE deleted_at IS NULL AND project_path = '" + dropped + "'"); n != 0 {
		t.Errorf("%d live MRs left in %s", n, dropped)
	}
}

// TestReconcile_RepairsChildrenWhenTheHeadMovedQuietly: some GitLab
// versions do not bump updated_at on a push. An incremental run cannot see
// it; reconcile compares each listed MR's head SHA with the landed one and
// re-reads the commits and notes of those that moved.
func TestReconcile_RepairsChildrenWhenTheHeadMovedQuietly(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 30}, sandbox.Options{})
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.srv.URL)
	pushed := e.srv.PushQuietly(4, u.Host)
	commits := func() int64 {
		return e.count("SELECT COUNT(*) FROM mr_commits WHERE mr_id IN ('" + strings.Join(pushed, "','") + "')")
	}
	before := commits()
	if _, err := e.collect(ctx, pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if commits() != before {
		t.Fatal("the incremental run saw the quiet push: the test tests nothing")
	}
	e.srv.ResetCounts()
	res := e.reconcile(pipeline.Options{Streams: []string{"merge_requests"}})
	if res.Repaired["merge_requests"] != 4 {
		t.Fatalf("reconcile repaired %v, want the 4 pushed MRs", res.Repaired)
	}
	// The repairs land commits and notes: the members' names are known
	// first, as in collect (reconcile learnt none, so none was masked).
	if n := e.srv.Requests()["members"]; n != 2 {
		t.Errorf("reconcile read %d member lists before landing its repairs, want both projects'", n)
	}
	if got := commits(); got != before+4 {
		t.Errorf("%d commits of the pushed MRs after reconcile, want %d (one new each)", got, before+4)
	}
	clean := e.freshWarehouse()
	if _, err := clean.collect(ctx, pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if a, b := e.fingerprint(), clean.fingerprint(); a != b {
		t.Error("after reconcile the warehouse differs from a clean full run")
	}
	if again := e.reconcile(pipeline.Options{Streams: []string{"merge_requests"}}); len(again.Repaired) != 0 {
		t.Errorf("second reconcile repaired %v", again.Repaired)
	}
}

// Deployments landed from CI jobs are not in GitLab's deployments list:
// reconciling the deployments stream must not take them for deployments
// deleted upstream (it did: every job deployment was soft-deleted).
func TestReconcile_KeepsJobDeployments(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 10, PipelinesPerProject: 20, DeploymentsPerProject: 8, IssuesPerProject: 2, JobDeployProjects: 1}, sandbox.Options{})
	e.cfg.Deployments.Jobs = "^deploy$"
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	jobs := e.count("SELECT COUNT(*) FROM deployments WHERE id LIKE '%:job:%' AND deleted_at IS NULL")
	if jobs == 0 {
		t.Fatal("no job deployment landed: the test tests nothing")
	}
	res := e.reconcile(pipeline.Options{})
	if res.Vanished["deployments"] != 0 {
		t.Errorf("reconcile marked %d deployments deleted upstream", res.Vanished["deployments"])
	}
	if n := e.count("SELECT COUNT(*) FROM deployments WHERE id LIKE '%:job:%' AND deleted_at IS NULL"); n != jobs {
		t.Errorf("%d of %d job deployments live after reconcile", n, jobs)
	}
}

// Deployments and incidents pushed through the ingest API for a collected
// project are on the project's server but not in GitLab's lists: reconcile
// must not take them for records deleted upstream (it soft-deleted them).
func TestReconcile_KeepsIngestedRecords(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 5, PipelinesPerProject: 5, DeploymentsPerProject: 3, IssuesPerProject: 3}, sandbox.Options{})
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	project := e.srv.Org.ProjectPaths()[0]
	at := time.Now().UTC().Add(-time.Hour)
	pol, _ := policy.New(e.cfg.Privacy, nil)
	doc := &ingest.Doc{Deployments: []ingest.Deployment{{IdempotencyKey: "argo-1", Project: project, FinishedAt: &at}},
		Incidents: []ingest.Incident{{IdempotencyKey: "pd-1", Project: project, StartedAt: &at}}}
	if n, err := ingest.Land(ctx, e.wh, pol, doc); err != nil || n != 2 {
		t.Fatalf("ingest: %d %v", n, err)
	}
	e.reconcile(pipeline.Options{})
	if n := e.count("SELECT count(*) FROM deployments WHERE source = 'ingest' AND deleted_at IS NULL") +
		e.count("SELECT count(*) FROM issues WHERE source = 'ingest' AND deleted_at IS NULL"); n != 2 {
		t.Errorf("%d of 2 ingested records live after reconcile", n)
	}
}
