package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

const token = "sandbox-token"

// orgNow is the sandbox's "now" for every test: two orgs generated in one run are identical.
var orgNow = time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

// env is one sandbox + warehouse + config, with retries that do not really sleep.
type env struct {
	t      *testing.T
	srv    *sandbox.Server
	cfg    *config.Config
	wh     *duckdb.DB
	sleeps *sleepLog
}

type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func source(name, url, tok string, projects ...string) *config.Source {
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	return &config.Source{Name: name, Type: "gitlab", URL: url, Token: config.Secret(tok), Projects: projects,
		Streams: append([]string(nil), gitlab.Streams...), Concurrency: 4, MaxRetries: 8,
		Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
}

func newEnv(t *testing.T, size sandbox.Size, opts sandbox.Options) *env {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	org := sandbox.Generate(7, size, orgNow)
	srv := sandbox.Start(org, opts)
	t.Cleanup(srv.Close)
	var projects []string
	for _, p := range org.ProjectPaths() {
		projects = append(projects, p)
	}
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	cfg.File = "test.yaml"
	cfg.Sources["gl"] = source("gl", srv.URL, token, projects...)
	cfg.Warehouse.Path = filepath.Join(t.TempDir(), "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return &env{t: t, srv: srv, cfg: cfg, wh: wh, sleeps: &sleepLog{}}
}

// freshWarehouse is the same sandbox and config with an empty warehouse.
func (e *env) freshWarehouse() *env {
	e.t.Helper()
	wh, err := duckdb.Open(context.Background(), filepath.Join(e.t.TempDir(), "clean.duckdb"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { wh.Close() })
	c := *e
	c.wh = wh
	c.sleeps = &sleepLog{}
	return &c
}

func (e *env) collect(ctx context.Context, o pipeline.Options) (*pipeline.Result, error) {
	e.t.Helper()
	pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	if err != nil {
		e.t.Fatal(err)
	}
	o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats, Deployments: ce.Deployments, Sleep: e.sleeps.sleep})
	}
	r := &pipeline.Runner{Cfg: e.cfg, WH: e.wh, Policy: pol}
	return r.Collect(ctx, o)
}

// collectWith is collect with the caller's collector factory (if any).
func (e *env) collectWith(ctx context.Context, o pipeline.Options) (*pipeline.Result, error) {
	e.t.Helper()
	if o.NewCollector == nil {
		return e.collect(ctx, o)
	}
	pol, err := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	if err != nil {
		e.t.Fatal(err)
	}
	return (&pipeline.Runner{Cfg: e.cfg, WH: e.wh, Policy: pol}).Collect(ctx, o)
}

func (e *env) count(q string) int64 {
	e.t.Helper()
	res, err := e.wh.Query(context.Background(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Rows[0][0].(int64)
}

// fingerprint renders every record table (without collected_at) sorted, to
// compare two warehouses row for row.
func (e *env) fingerprint() string {
	e.t.Helper()
	var sb strings.Builder
	for _, tb := range warehouse.RecordTables {
		var cols []string
		for _, c := range tb.Columns {
			if c != "collected_at" {
				cols = append(cols, fmt.Sprintf("%q", c))
			}
		}
		res, err := e.wh.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ","), tb.Name))
		if err != nil {
			e.t.Fatal(err)
		}
		var lines []string
		for _, r := range res.Rows {
			lines = append(lines, fmt.Sprint(r...))
		}
		sort.Strings(lines)
		fmt.Fprintf(&sb, "%s %d\n%s\n", tb.Name, len(lines), strings.Join(lines, "\n"))
	}
	return sb.String()
}

func TestCollect_PaginatesEveryPage(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 1234}, sandbox.Options{})
	if _, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 1234 {
		t.Errorf("landed %d merge requests, want 1234", n)
	}
	if n := e.count("SELECT count(DISTINCT id) FROM merge_requests"); n != 1234 {
		t.Errorf("%d distinct ids, want 1234", n)
	}
	if got := e.srv.Requests()["merge_requests"]; got != 13 {
		t.Errorf("made %d list requests, want 13 pages of 100", got)
	}
}

func TestCollect_IncrementalRunFetchesOnlyWhatChanged(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 150, PipelinesPerProject: 120, DeploymentsPerProject: 10, IssuesPerProject: 30}, sandbox.Options{})
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	first := e.fingerprint()
	// Merged MRs carry their size (from the diffs); others do not cost the request.
	if n := e.count(`SELECT count(*) FROM merge_requests WHERE state = 'merged' AND (additions IS NULL OR deletions IS NULL)`); n != 0 {
		t.Errorf("%d merged MRs without a size", n)
	}
	if got, want := int64(e.srv.Requests()["mr_diffs"]), e.count(`SELECT count(*) FROM merge_requests WHERE state = 'merged'`); got != want {
		t.Errorf("%d diff requests for %d merged MRs", got, want)
	}

	// Unchanged: one list request per stream per project (plus resolving each
	// project and reading its members, whose names the policy masks), nothing lands.
	e.srv.ResetCounts()
	t2 := time.Now()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	req := e.srv.Requests()
	want := map[string]int64{"project": 2, "members": 2, "merge_requests": 2, "pipelines": 2, "deployments": 2, "issues": 2, "milestones": 2}
	for k, v := range req {
		if want[k] != v {
			t.Errorf("unchanged re-run made %d %q requests, want %d (all: %v)", v, k, want[k], req)
		}
	}
	for _, tb := range warehouse.RecordTables {
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE collected_at >= '%s'", tb.Name, t2.UTC().Format(time.RFC3339Nano))
		if n := e.count(q); n != 0 {
			t.Errorf("unchanged re-run landed %d rows in %s", n, tb.Name)
		}
	}
	if e.fingerprint() != first {
		t.Error("unchanged re-run changed the warehouse")
	}

	// Five MRs get a new review: exactly those five are fetched again and change.
	touched := e.srv.Touch(5, hostOf(e.srv.URL))
	e.srv.ResetCounts()
	t3 := time.Now()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	req = e.srv.Requests()
	if req["mr_commits"] != 5 || req["mr_notes"] != 5 {
		t.Errorf("after 5 updates: %d commit and %d note requests, want 5 and 5", req["mr_commits"], req["mr_notes"])
	}
	res, err := e.wh.Query(ctx, fmt.Sprintf("SELECT id FROM merge_requests WHERE collected_at >= '%s' ORDER BY id", t3.UTC().Format(time.RFC3339Nano)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r[0].(string))
	}
	sort.Strings(touched)
	if strings.Join(got, ",") != strings.Join(touched, ",") {
		t.Errorf("changed MRs = %v, want %v", got, touched)
	}
	if n := e.count(fmt.Sprintf("SELECT count(*) FROM mr_reviews WHERE collected_at >= '%s'", t3.UTC().Format(time.RFC3339Nano))); n == 0 {
		t.Error("the touched MRs' new reviews did not land")
	}
}

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

func TestCollect_ResumesFromCursorAfterCancel(t *testing.T) {
	size := sandbox.Size{Projects: 1, MRsPerProject: 500}
	var cancel context.CancelFunc
	var stopAt atomic.Int64
	stopAt.Store(500) // mid-way through the third page's commits and notes
	e := newEnv(t, size, sandbox.Options{FaultFunc: func(r *http.Request, n int64) sandbox.Fault {
		if n == stopAt.Load() && cancel != nil {
			cancel()
		}
		return sandbox.Fault{}
	}})
	e.cfg.Warehouse.BatchSize = 150 // land mid-stream too
	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	res, err := e.collect(ctx, pipeline.Options{Streams: []string{"merge_requests"}})
	if err == nil {
		t.Fatal("cancelled run reported success")
	}
	if res.Run.Status != "interrupted" {
		t.Errorf("run status = %q, want interrupted", res.Run.Status)
	}
	landed := e.count("SELECT count(*) FROM merge_requests")
	if landed == 0 || landed >= 500 {
		t.Fatalf("landed %d MRs before the cancel; want some but not all", landed)
	}
	// A scan that did not finish moves no cursor (it cannot know that no
	// record behind its position changed); if one exists it never runs
	// ahead of landed rows.
	cur, ok, err := e.wh.Cursor(context.Background(), warehouse.StreamKey{Source: "gl", Instance: hostOf(e.srv.URL), Scope: e.srv.Org.ProjectPaths()[0], Stream: "merge_requests"})
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Errorf("an interrupted scan moved the cursor to %v", cur)
	}
	e.srv.ResetCounts()
	stopAt.Store(-1)
	if _, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	// The resumed run re-lists but does not re-read what already landed.
	if got, want := e.srv.Requests()["mr_commits"], int64(500)-landed; got != want {
		t.Errorf("resumed run read the commits of %d MRs, want %d (the ones not landed)", got, want)
	}
	clean := e.freshWarehouse()
	if _, err := clean.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) - count(DISTINCT id) FROM merge_requests"); n != 0 {
		t.Errorf("%d duplicate merge requests", n)
	}
	if n := e.count("SELECT count(*) FROM (SELECT mr_id, sha FROM mr_commits GROUP BY ALL HAVING count(*) > 1)"); n != 0 {
		t.Errorf("%d duplicate commits", n)
	}
	a, b := e.fingerprint(), clean.fingerprint()
	if a != b {
		al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
		for i := range al {
			if i >= len(bl) || al[i] != bl[i] {
				t.Errorf("resumed warehouse differs from a clean full run at line %d:\n%s\n%s", i, al[i], bl[min(i, len(bl)-1)])
				break
			}
		}
	}
}

func TestCollect_WaitsOut429StormHonouringRetryAfter(t *testing.T) {
	// A storm: the first 30 distinct requests are each refused once.
	var mu sync.Mutex
	refused := map[string]bool{}
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 250, IssuesPerProject: 120}, sandbox.Options{
		FaultFunc: func(r *http.Request, n int64) sandbox.Fault {
			mu.Lock()
			defer mu.Unlock()
			if _, seen := refused[r.URL.String()]; !seen && len(refused) < 30 {
				refused[r.URL.String()] = true
				return sandbox.Fault{Status: 429, RetryAfter: "7"}
			}
			return sandbox.Fault{}
		}})
	res, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests", "issues"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 250 {
		t.Errorf("landed %d MRs, want 250", n)
	}
	if n := e.count("SELECT count(*) FROM issues"); n != 120 {
		t.Errorf("landed %d issues, want 120", n)
	}
	waits := e.sleeps.all()
	if len(waits) != 30 {
		t.Errorf("waited %d times, want 30 (one per 429)", len(waits))
	}
	for _, w := range waits {
		if w != 7*time.Second {
			t.Errorf("waited %v after a 429 with Retry-After: 7", w)
		}
	}
	if got := res.Requests["gl"].ByStatus()[429]; got != 30 {
		t.Errorf("client saw %d 429s, want 30", got)
	}
}

func TestCollect_RetriesA500OnOnePage(t *testing.T) {
	var failed atomic.Bool
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 250}, sandbox.Options{
		FaultFunc: func(r *http.Request, n int64) sandbox.Fault {
			if strings.HasSuffix(r.URL.Path, "/merge_requests") && r.URL.Query().Get("page") == "2" && failed.CompareAndSwap(false, true) {
				return sandbox.Fault{Status: 500}
			}
			return sandbox.Fault{}
		}})
	if _, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("the fault was never injected")
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 250 {
		t.Errorf("landed %d MRs, want 250", n)
	}
	if got := e.srv.Requests()["merge_requests"]; got != 3 {
		t.Errorf("%d successful list requests, want 3 (page 2 retried once)", got)
	}
	if len(e.sleeps.all()) != 1 {
		t.Errorf("backed off %d times, want 1", len(e.sleeps.all()))
	}
}

func TestCollect_BadTokenStopsOnlyThatSource(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 30, IssuesPerProject: 10}, sandbox.Options{})
	bad := source("legacy", e.srv.URL, "expired-token", e.srv.Org.ProjectPaths()...)
	e.cfg.Sources["legacy"] = bad
	res, err := e.collect(context.Background(), pipeline.Options{})
	if err == nil {
		t.Fatal("a source with a bad token did not fail the run")
	}
	msg := err.Error()
	for _, want := range []string{"gitlab legacy", "401", "sources.legacy.token"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "expired-token") {
		t.Error("the error leaks the token")
	}
	if res.Run.Status != "failed" {
		t.Errorf("run status %q, want failed", res.Run.Status)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 60 {
		t.Errorf("the good source landed %d MRs, want 60", n)
	}
	if got := e.srv.Requests()["unauthorized"]; got != 1 {
		t.Errorf("the bad source made %d requests, want 1: a 401 is not retried and stops the source", got)
	}
}

func TestCollect_TruncatedPageIsAnErrorNotMissingRows(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 250}, sandbox.Options{
		FaultFunc: func(r *http.Request, n int64) sandbox.Fault {
			if broken.Load() && strings.HasSuffix(r.URL.Path, "/merge_requests") && r.URL.Query().Get("page") == "2" {
				return sandbox.Fault{Truncate: true}
			}
			return sandbox.Fault{}
		}})
	_, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}})
	if err == nil {
		t.Fatal("a truncated page was accepted")
	}
	if !strings.Contains(err.Error(), "list merge requests of") || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("error %q does not name the stream and page", err)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 100 {
		t.Errorf("landed %d MRs, want the 100 of page 1", n)
	}
	broken.Store(false)
	if _, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 250 {
		t.Errorf("after the fault cleared, %d MRs, want 250", n)
	}
}

// TestCollect_MalformedItemFailsItsStreamOnly: a source whose issues page
// holds `[{}]` (which panics inside client-go) fails that stream with an
// error naming source, list, page and item; the run is recorded as failed,
// not left running, and the other source's records land.
func TestCollect_MalformedItemFailsItsStreamOnly(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 1, MRsPerProject: 20, IssuesPerProject: 5}, sandbox.Options{})
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/projects/g%2Fbroken"), strings.HasSuffix(r.URL.Path, "/projects/g/broken"):
			fmt.Fprint(w, `{"id":9,"path_with_namespace":"g/broken","default_branch":"main"}`)
		case strings.HasSuffix(r.URL.Path, "/projects/9/issues"):
			fmt.Fprint(w, `[{}]`)
		default:
			fmt.Fprint(w, `[]`)
		}
	}))
	defer broken.Close()
	e.cfg.Sources["bad"] = source("bad", broken.URL, token, "g/broken")
	res, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests", "issues"}})
	if err == nil || !strings.Contains(err.Error(), "gitlab bad: list issues of g/broken (page 1): malformed response: item 1 of 1") {
		t.Fatalf("err = %v, want the malformed item named", err)
	}
	if res.Run.Status == "running" || res.Run.Status == "" {
		t.Errorf("run status %q", res.Run.Status)
	}
	if n := e.count("SELECT count(*) FROM merge_requests"); n != 20 {
		t.Errorf("the healthy source landed %d of 20 MRs", n)
	}
	if n := e.count("SELECT count(*) FROM issues"); n != 5 {
		t.Errorf("%d issues landed, want the healthy source's 5", n)
	}
}

// TestCollect_PersonalNamespaceIsPseudonymized: a project in a user's
// namespace (alice/shop) must not land its owner's username anywhere — not
// in project_path or web_url of any table, the cursor's scope, the metric
// scopes — and stays one scope, which a team naming it as configured finds.
func TestCollect_PersonalNamespaceIsPseudonymized(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 30, PipelinesPerProject: 20, DeploymentsPerProject: 5, IssuesPerProject: 10}, sandbox.Options{})
	raw := e.srv.Org.Personalize(1, 3)
	owner := strings.Split(raw, "/")[0]
	e.cfg.Sources["gl"].Projects = e.srv.Org.ProjectPaths()
	e.cfg.Teams = map[string][]string{"shop": {"gl:" + raw}}
	if _, err := e.collect(context.Background(), pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	masked := policy.PersonalNamespacePath(e.cfg.Privacy.Secret, raw)
	cells := 0
	for _, tb := range append(append([]warehouse.Table{}, warehouse.RecordTables...), warehouse.Table{Name: "collection_state"}) {
		res, err := e.wh.Query(context.Background(), "SELECT * FROM "+tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range res.Rows {
			for _, v := range row {
				if s, ok := v.(string); ok && strings.Contains(strings.ToLower(s), "/"+strings.ToLower(owner)+"/") || fmt.Sprint(v) == raw {
					cells++
				}
			}
		}
	}
	if cells != 0 {
		t.Errorf("%d cells name the namespace owner %q", cells, owner)
	}
	if n := e.count("SELECT count(*) FROM merge_requests WHERE project_path = '" + masked + "'"); n != 30 {
		t.Errorf("%d MRs under %s, want the project's 30 as one scope", n, masked)
	}
	// Every stream but jobs (no job rule: no request, no cursor).
	if n := e.count("SELECT count(*) FROM collection_state WHERE scope = '" + masked + "'"); n != int64(len(gitlab.Streams)-1) {
		t.Errorf("%d cursors under the pseudonymized path, want %d streams", n, len(gitlab.Streams)-1)
	}
	if n := e.count("SELECT count(*) FROM merge_requests WHERE web_url LIKE '%/" + masked + "/-/merge_requests/%'"); n != 30 {
		t.Errorf("%d web URLs carry the pseudonymized path", n)
	}
	// Metric scopes: the project, and the team that names it as configured.
	b, err := warehouse.Load(context.Background(), e.wh)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range report.Scopes(report.TeamMembers(e.cfg), b) {
		names = append(names, s.Kind+":"+s.Name)
		if strings.Contains(s.Name, owner) {
			t.Errorf("scope %q names the owner", s.Name)
		}
	}
	rs := report.Compute(b, report.Scopes(report.TeamMembers(e.cfg), b), metrics.DefaultOptions(orgNow.AddDate(0, -6, 0), orgNow))
	for _, r := range rs {
		if r.Scope.Kind == "team" && r.Scope.Name == "shop" {
			if m := r.Set["mr_throughput"]; m == nil || m.N == 0 {
				t.Errorf("team shop (configured as %s) counts no MRs: %v", raw, names)
			}
		}
	}
}

// TestCollect_ExcludedItemsChildrenAreNotFetched: a label-excluded MR's
// commits, notes and diffs are not even requested; it is still counted.
func TestCollect_ExcludedItemsChildrenAreNotFetched(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 90}, sandbox.Options{})
	e.cfg.Privacy.Exclude = config.Exclude{Labels: []string{"confidential-client"}}
	res, err := e.collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests"}})
	if err != nil {
		t.Fatal(err)
	}
	excluded := res.Run.Policy["exclude.labels[confidential-client]"]
	if excluded == 0 {
		t.Fatal("the sandbox has no confidential-client MR: the test tests nothing")
	}
	req := e.srv.Requests()
	for _, kind := range []string{"mr_commits", "mr_notes"} {
		if got, want := req[kind], int64(180-excluded); got != want {
			t.Errorf("%d %s requests, want %d: the %d excluded MRs' children must not be fetched", got, kind, want, excluded)
		}
	}
}

type totals struct {
	mu sync.Mutex
	by map[string]int64
}

func (t *totals) Start(warehouse.StreamKey)            {}
func (t *totals) Records(warehouse.StreamKey, int)     {}
func (t *totals) Done(warehouse.StreamKey, int, error) {}
func (t *totals) Total(k warehouse.StreamKey, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.by[k.Stream] += n
}

// The list totals the server sends (X-Total) reach the progress display,
// which turns them into "~N to go" and an ETA.
func TestCollect_ReportsListTotalsToProgress(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 130, PipelinesPerProject: 20}, sandbox.Options{})
	pol, _ := policy.New(e.cfg.Privacy, e.cfg.Metrics.BotAuthors)
	tot := &totals{by: map[string]int64{}}
	r := &pipeline.Runner{Cfg: e.cfg, WH: e.wh, Policy: pol, Progress: tot}
	if _, err := r.Collect(context.Background(), pipeline.Options{Streams: []string{"merge_requests", "pipelines"}}); err != nil {
		t.Fatal(err)
	}
	if tot.by["merge_requests"] != 260 || tot.by["pipelines"] != 40 {
		t.Errorf("totals reported: %v; want 260 merge requests and 40 pipelines", tot.by)
	}
}
