package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

// groupEnv is a sandbox whose projects are configured through their group
// (acme holds every project, in four subgroups).
func groupEnv(t *testing.T, size sandbox.Size) *env {
	t.Helper()
	e := newEnv(t, size, sandbox.Options{})
	src := e.cfg.Sources["gl"]
	src.Projects = nil
	set := gitlab.Defaults()
	set.Groups = []string{"acme"}
	src.Settings = set
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCollect_GroupReRunsReadGroupLists: a group's projects are read with
// one group list each for merge requests and issues
// (/groups/:id/merge_requests, /groups/:id/issues) instead of one list per
// project — on the first run from the look-back, on re-runs from the
// cursors — and land exactly what reading each project lands: a first run
// into an empty warehouse of the same server state, with the projects
// listed one by one, gives the same rows.
func TestCollect_GroupReRunsReadGroupLists(t *testing.T) {
	const projects = 8
	e := groupEnv(t, sandbox.Size{Projects: projects, MRsPerProject: 40, PipelinesPerProject: 6, IssuesPerProject: 15})
	ctx := context.Background()
	streams := []string{"merge_requests", "pipelines", "issues"}
	if _, err := e.collect(ctx, pipeline.Options{Streams: streams}); err != nil {
		t.Fatal(err)
	}
	if req := e.srv.Requests(); req["group_merge_requests"] != 4 || req["merge_requests"] != 0 || req["group_issues"] != 2 || req["issues"] != 0 {
		t.Fatalf("a first run should read the group's lists (320 MRs: 4 pages, 120 issues: 2): %v", req)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != projects*40 {
		t.Fatalf("first run landed %d MRs, want %d", n, projects*40)
	}

	e.srv.ResetCounts()
	if _, err := e.collect(ctx, pipeline.Options{Streams: streams}); err != nil {
		t.Fatal(err)
	}
	req := e.srv.Requests()
	// No member list either: nothing lands, so no text is cleared.
	want := map[string]int64{"group_projects": 1, "group_merge_requests": 1, "group_issues": 1, "pipelines": projects}
	for _, k := range append(mapKeys(req), mapKeys(want)...) {
		if want[k] != req[k] {
			t.Errorf("unchanged re-run made %d %q requests, want %d (all: %v)", req[k], k, want[k], req)
		}
	}

	// Changes in five projects' MRs and in issues: read through the group
	// lists, with the children of exactly the changed ones.
	touched := e.srv.Touch(5, hostOf(e.srv.URL))
	e.srv.UpdateRandom("issues", 4, rand.New(rand.NewPCG(3, 4)), hostOf(e.srv.URL))
	e.srv.ResetCounts()
	t3 := time.Now()
	if _, err := e.collect(ctx, pipeline.Options{Streams: streams}); err != nil {
		t.Fatal(err)
	}
	req = e.srv.Requests()
	if req["group_merge_requests"] != 1 || req["merge_requests"] != 0 || req["mr_commits"] != 5 || req["mr_notes"] != 5 {
		t.Errorf("after 5 MR updates: %v; want 1 group list, no project list, 5 commit and 5 note requests", req)
	}
	if req["group_issues"] != 1 || req["issues"] != 0 || req["label_events"] == 0 {
		t.Errorf("after issue updates: %v; want 1 group list, no project list, the label events of the changed issues", req)
	}
	// Records land: the members of every project, changed or not, are
	// known before the first is cleared (a name may appear in any project).
	if req["members"] != projects {
		t.Errorf("%d member lists read before landing, want all %d projects'", req["members"], projects)
	}
	if n := e.count(fmt.Sprintf("SELECT count(*) FROM merge_requests WHERE collected_at >= '%s'", t3.UTC().Format(time.RFC3339Nano))); n != int64(len(touched)) {
		t.Errorf("%d MRs landed again, want the %d touched", n, len(touched))
	}
	grouped := e.fingerprint()
	fresh := e.freshWarehouse()
	cfg := *e.cfg
	one := *cfg.Sources["gl"]
	one.Projects, one.Settings = e.srv.Org.ProjectPaths(), gitlab.Defaults()
	cfg.Sources = map[string]*config.Source{"gl": &one}
	fresh.cfg = &cfg
	if _, err := fresh.collect(ctx, pipeline.Options{Streams: streams}); err != nil {
		t.Fatal(err)
	}
	if req := e.srv.Requests(); req["merge_requests"] != projects {
		t.Fatalf("the reference run should list each project: %v", req)
	}
	if got := fresh.fingerprint(); got != grouped {
		t.Errorf("records landed through the group lists differ from reading each project:\n%s", firstDiff(grouped, got))
	}

	// Every member's cursor moved: the next unchanged run lists nothing new.
	for _, p := range projectsOf(t, e) {
		for _, st := range []string{"merge_requests", "issues"} {
			cur, ok, err := e.wh.Cursor(ctx, warehouse.StreamKey{Source: "gl", Instance: hostOf(e.srv.URL), Scope: p, Stream: st})
			if err != nil || !ok || cur.Before(orgNow) {
				t.Errorf("cursor of %s %s = %v (ok %v, err %v): want it at the newest update read, after %v", p, st, cur, ok, err, orgNow)
			}
		}
	}
}

// TestCollect_GroupListSkipsExcludedProjects: a project the privacy policy
// excludes is no scope, so records the group list returns for it are
// neither built (no child request) nor landed.
func TestCollect_GroupListSkipsExcludedProjects(t *testing.T) {
	e := groupEnv(t, sandbox.Size{Projects: 4, MRsPerProject: 20})
	ctx := context.Background()
	excluded := e.srv.Org.ProjectPaths()[0]
	e.cfg.Privacy.Exclude = config.Exclude{Projects: []string{excluded}}
	o := pipeline.Options{Streams: []string{"merge_requests"}}
	if _, err := e.collect(ctx, o); err != nil {
		t.Fatal(err)
	}
	e.srv.Touch(8, hostOf(e.srv.URL)) // two MRs in each project, the excluded one included
	e.srv.ResetCounts()
	if _, err := e.collect(ctx, o); err != nil {
		t.Fatal(err)
	}
	req := e.srv.Requests()
	if req["group_merge_requests"] != 1 || req["mr_commits"] != 6 {
		t.Errorf("requests %v: want 1 group list and the commits of the 6 changed MRs of the 3 collected projects", req)
	}
	if n := e.count(fmt.Sprintf("SELECT count(*) FROM merge_requests WHERE project_path = '%s'", excluded)); n != 0 {
		t.Errorf("%d MRs of the excluded project %s landed", n, excluded)
	}
}

func projectsOf(t *testing.T, e *env) []string {
	t.Helper()
	res, err := e.wh.Query(context.Background(), "SELECT DISTINCT project_path FROM merge_requests ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, r[0].(string))
	}
	if len(out) == 0 {
		t.Fatal("no project landed")
	}
	return out
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n group:   %.300s\n project: %.300s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}

// landCalls counts the warehouse transactions of a run.
type landCalls struct {
	warehouse.Warehouse
	mu                        sync.Mutex // streams land side by side
	lands, advances, advanced int
}

func (l *landCalls) Land(ctx context.Context, key warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	l.mu.Lock()
	l.lands++
	l.mu.Unlock()
	return l.Warehouse.Land(ctx, key, b, cursor)
}

func (l *landCalls) AdvanceCursors(ctx context.Context, keys []warehouse.StreamKey, cursor time.Time) error {
	l.mu.Lock()
	l.advances++
	l.advanced += len(keys)
	l.mu.Unlock()
	return l.Warehouse.AdvanceCursors(ctx, keys, cursor)
}

// TestCollect_GroupReRunTransactions: a group read lands its records in
// one transaction (per batch_size rows), not one per project, moves every
// member's cursor in one more, and an unchanged re-run commits nothing (a transaction per stream and project
// was the cost of an unchanged run of 1,000 projects: 47 s, now 6 s).
func TestCollect_GroupReRunTransactions(t *testing.T) {
	const projects = 6
	e := groupEnv(t, sandbox.Size{Projects: projects, MRsPerProject: 20})
	ctx := context.Background()
	o := pipeline.Options{Streams: []string{"merge_requests"}}
	run := func() *landCalls {
		t.Helper()
		pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
		if err != nil {
			t.Fatal(err)
		}
		wh := &landCalls{Warehouse: e.wh}
		o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
			return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats})
		}
		if _, err := (&pipeline.Runner{Cfg: e.cfg, WH: wh, Policy: pol}).Collect(ctx, o); err != nil {
			t.Fatal(err)
		}
		return wh
	}
	run()
	run() // aligns the members' cursors (the first group read starts at the oldest)
	if c := run(); c.lands != 0 || c.advances != 0 {
		t.Errorf("unchanged re-run: %d landings and %d cursor updates, want none", c.lands, c.advances)
	}
	e.srv.Touch(1, hostOf(e.srv.URL))
	if c := run(); c.lands != 1 || c.advances != 1 || c.advanced != projects {
		t.Errorf("one MR changed: %d landings, %d cursor updates of %d members; want 1 landing and 1 update of all %d",
			c.lands, c.advances, c.advanced, projects)
	}
	// Every member changed: still one landing for the records, not one each.
	e.srv.Touch(projects, hostOf(e.srv.URL))
	if c := run(); c.lands != 1 || c.advances != 1 || c.advanced != projects {
		t.Errorf("%d MRs changed in %d projects: %d landings and %d cursor updates; want 1 and 1", projects, projects, c.lands, c.advances)
	}
}

// pagesAtLand records, at each landing, how many pages of the group's MR
// list the server had answered.
type pagesAtLand struct {
	warehouse.Warehouse
	srv   *sandbox.Server
	mu    sync.Mutex
	pages []int64
}

func (p *pagesAtLand) Land(ctx context.Context, key warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	if b.Batch().Len() > 0 {
		p.mu.Lock()
		p.pages = append(p.pages, p.srv.Requests()["group_merge_requests"])
		p.mu.Unlock()
	}
	return p.Warehouse.Land(ctx, key, b, cursor)
}

// TestCollect_GroupBatchSizeBoundsTheGroup: warehouse.batch_size bounds
// the rows the whole group holds before landing. Each member under the
// bound on its own, a group read held every changed record of every
// member until its list ended (20 members, about 400 changed MRs here:
// nothing landed before the last page).
func TestCollect_GroupBatchSizeBoundsTheGroup(t *testing.T) {
	e := groupEnv(t, sandbox.Size{Projects: 20, MRsPerProject: 30})
	ctx := context.Background()
	o := pipeline.Options{Streams: []string{"merge_requests"}}
	for range 2 { // the second run aligns the cursors
		if _, err := e.collect(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.UpdateRandom("merge_requests", 500, rand.New(rand.NewPCG(5, 6)), hostOf(e.srv.URL))
	e.srv.ResetCounts()
	e.cfg.Warehouse.BatchSize = 300
	pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	if err != nil {
		t.Fatal(err)
	}
	wh := &pagesAtLand{Warehouse: e.wh, srv: e.srv}
	o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats})
	}
	if _, err := (&pipeline.Runner{Cfg: e.cfg, WH: wh, Policy: pol}).Collect(ctx, o); err != nil {
		t.Fatal(err)
	}
	if pages := e.srv.Requests()["group_merge_requests"]; pages < 4 {
		t.Fatalf("the group list took %d pages: the test needs several", pages)
	}
	if len(wh.pages) == 0 || wh.pages[0] > 1 {
		t.Errorf("landings after %v pages of the group's list: the first page (about 600 rows, batch_size 300) should land before the second is read", wh.pages)
	}
}

// failFirstRecords fails the first landing that carries records.
type failFirstRecords struct {
	warehouse.Warehouse
	mu     sync.Mutex
	failed bool
}

func (f *failFirstRecords) Land(ctx context.Context, key warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	f.mu.Lock()
	fail := !f.failed && b.Batch().Len() > 0
	f.failed = f.failed || fail
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("injected: the warehouse refused the batch")
	}
	return f.Warehouse.Land(ctx, key, b, cursor)
}

// TestCollect_GroupFailedLandingKeepsCursors: when the group's records
// could not land, no member's cursor moves, although the list itself was
// read to its end: the cursor the list reached was landed per member
// afterwards, past records that never landed.
func TestCollect_GroupFailedLandingKeepsCursors(t *testing.T) {
	e := groupEnv(t, sandbox.Size{Projects: 4, MRsPerProject: 20})
	ctx := context.Background()
	o := pipeline.Options{Streams: []string{"merge_requests"}}
	for range 2 {
		if _, err := e.collect(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	paths := projectsOf(t, e)
	key := func(p string) warehouse.StreamKey {
		return warehouse.StreamKey{Source: "gl", Instance: hostOf(e.srv.URL), Scope: p, Stream: "merge_requests"}
	}
	before := map[string]time.Time{}
	for _, p := range paths {
		before[p], _, _ = e.wh.Cursor(ctx, key(p))
	}
	e.srv.Touch(4, hostOf(e.srv.URL))
	pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	if err != nil {
		t.Fatal(err)
	}
	o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats})
	}
	if _, err := (&pipeline.Runner{Cfg: e.cfg, WH: &failFirstRecords{Warehouse: e.wh}, Policy: pol}).Collect(ctx, o); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("a refused landing must fail the run, got %v", err)
	}
	for _, p := range paths {
		if c, _, _ := e.wh.Cursor(ctx, key(p)); !c.Equal(before[p]) {
			t.Errorf("cursor of %s moved from %v to %v although its changed records did not land", p, before[p], c)
		}
	}
}

// noMembers is a GitLab collector whose member lists cannot be read.
type noMembers struct{ *gitlab.Collector }

func (noMembers) People(context.Context, models.Scope) ([]models.Person, error) {
	return nil, fmt.Errorf("gitlab gl: list members: 403 Forbidden")
}

// TestCollect_MembersUnreadableLandsNothing: records are cleared only when
// every member's name is known; a run that cannot read them fails loudly,
// once, and lands no record and no cursor.
func TestCollect_MembersUnreadableLandsNothing(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 3, MRsPerProject: 10, IssuesPerProject: 5}, sandbox.Options{})
	_, err := e.collectWith(context.Background(), pipeline.Options{Streams: []string{"merge_requests", "issues"},
		NewCollector: func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
			c, err := gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats})
			return noMembers{c}, err
		}})
	if err == nil || strings.Count(err.Error(), "403 Forbidden") != 1 || !strings.Contains(err.Error(), "masked") {
		t.Fatalf("want one error naming the member lists and why they are needed, got %v", err)
	}
	for _, q := range []string{"SELECT count(*) FROM merge_requests", "SELECT count(*) FROM issues", "SELECT count(*) FROM collection_state"} {
		if n := e.count(q); n != 0 {
			t.Errorf("%s = %d: nothing may land without the members' names", q, n)
		}
	}
}
