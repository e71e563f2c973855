// Package warehousetest is the contract every landing engine must meet: the
// same tests run against DuckDB and against Snowflake (through the real
// driver and the fake server), so the engines cannot drift apart.
package warehousetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/dashboards"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

// Engine is what the contract needs of an engine under test.
type Engine struct {
	// Open returns a fresh, empty, migrated warehouse (closed by the test's cleanup).
	Open func(t *testing.T) warehouse.Warehouse
	// Reopen closes w and opens the same store again.
	Reopen func(t *testing.T, w warehouse.Warehouse) warehouse.Warehouse
	// BreakCommit makes the next Land fail after its rows and cursor were
	// written and before they are committed.
	BreakCommit func(t *testing.T, w warehouse.Warehouse)
	// BeforeCommit makes the next Land run fn after its rows and cursor
	// were written and before they are committed (fn's error fails it).
	BeforeCommit func(t *testing.T, w warehouse.Warehouse, fn func() error)
	// BigRows is the size of the large-batch test (1,000,000 unless set).
	BigRows int
}

// Run runs the whole contract.
func Run(t *testing.T, e Engine) {
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, e) })
	t.Run("UpsertIdempotentAndChildren", func(t *testing.T) { testUpsert(t, e) })
	t.Run("KeysStayUnique", func(t *testing.T) { testUnique(t, e) })
	t.Run("ChildMovesToAnotherParent", func(t *testing.T) { testChildMoves(t, e) })
	t.Run("CursorNeverMovesBack", func(t *testing.T) { testCursor(t, e) })
	t.Run("CursorAtomicWithRows", func(t *testing.T) { testAtomic(t, e) })
	t.Run("QueriesBesideAWrite", func(t *testing.T) { testBeside(t, e) })
	t.Run("RoundTripNullsAndTimeZones", func(t *testing.T) { testRoundTrip(t, e) })
	t.Run("LoadSelectionNarrowsAndStreams", func(t *testing.T) { testSelection(t, e) })
	t.Run("LoadForMetricsReadsWhatMetricsUse", func(t *testing.T) { testForMetrics(t, e) })
	t.Run("MetricsIdempotent", func(t *testing.T) { testMetrics(t, e) })
	t.Run("TeamsReplaced", func(t *testing.T) { testTeams(t, e) })
	t.Run("RegressionsReplacedAndForgotten", func(t *testing.T) { testRegressions(t, e) })
	t.Run("DeleteWithChildren", func(t *testing.T) { testDelete(t, e) })
	t.Run("RunsRecorded", func(t *testing.T) { testRuns(t, e) })
	t.Run("QueryErrorsAndReadOnly", func(t *testing.T) { testQuery(t, e) })
	t.Run("DashboardViews", func(t *testing.T) { testViews(t, e) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, e) })
	t.Run("BigBatch", func(t *testing.T) { testBig(t, e) })
}

// Key is the stream key the contract lands under.
var Key = warehouse.StreamKey{Source: "gl", Instance: "gitlab.example.com", Scope: "acme/api", Stream: "merge_requests"}

// Base is the contract's reference time.
var Base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Clear runs the real policy (titles kept, so they can be checked).
func Clear(t testing.TB, b *models.Batch) *policy.Cleared {
	t.Helper()
	pol, err := policy.New(config.Privacy{Secret: "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", People: "pseudonymize", Titles: "keep"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := pol.Apply(b)
	return c
}

// MR builds a merge request of project acme/api with these commit SHAs.
func MR(iid int64, updated time.Time, commits ...string) models.MergeRequest {
	id := models.GitLabID("gitlab.example.com", 7, "mr", iid)
	m := models.MergeRequest{Origin: models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}, ID: id, ProjectID: 7,
		ProjectPath: "acme/api", IID: iid, Title: fmt.Sprintf("MR %d", iid), State: "opened", CreatedAt: Base, UpdatedAt: updated,
		Author: models.Person{Username: "ann"}, TargetBranch: "main", SourceBranch: "feature/x"}
	for _, c := range commits {
		m.Commits = append(m.Commits, models.MRCommit{MRID: id, SHA: c, AuthoredAt: Base, CommittedAt: Base})
	}
	return m
}

func land(t *testing.T, w warehouse.Warehouse, b *models.Batch, cursor time.Time) {
	t.Helper()
	if err := w.Land(context.Background(), Key, Clear(t, b), cursor); err != nil {
		t.Fatal(err)
	}
}

// Count runs a COUNT(*)-style query and returns the number.
func Count(t testing.TB, w warehouse.Warehouse, q string) int64 {
	t.Helper()
	res, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("%s: %d rows", q, len(res.Rows))
	}
	n, ok := res.Rows[0][0].(int64)
	if !ok {
		t.Fatalf("%s: %T %v, want int64", q, res.Rows[0][0], res.Rows[0][0])
	}
	return n
}

func testMigrations(t *testing.T, e Engine) {
	w := e.Open(t)
	for _, tb := range append(append([]warehouse.Table(nil), warehouse.RecordTables...), warehouse.MetricValues) {
		if n := Count(t, w, "SELECT COUNT(*) FROM "+tb.Name); n != 0 {
			t.Errorf("%s has %d rows in a new warehouse", tb.Name, n)
		}
		// Every column the row mapping writes exists.
		if _, err := w.Query(context.Background(), "SELECT "+strings.Join(quoted(tb.Columns), ", ")+" FROM "+tb.Name); err != nil {
			t.Errorf("columns of %s: %v", tb.Name, err)
		}
	}
	n := Count(t, w, "SELECT COUNT(*) FROM schema_migrations")
	if n == 0 {
		t.Fatal("no migration recorded")
	}
	w = e.Reopen(t, w)
	if m := Count(t, w, "SELECT COUNT(*) FROM schema_migrations"); m != n {
		t.Errorf("reopening recorded %d migrations, had %d", m, n)
	}
}

// quoted spells columns upper-case and quoted: the one spelling both engines
// resolve the same (DuckDB matches identifiers case-insensitively).
func quoted(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = `"` + strings.ToUpper(c) + `"`
	}
	return out
}

func testUpsert(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	b := &models.Batch{MergeRequests: []models.MergeRequest{MR(1, Base, "a", "b", "c"), MR(2, Base, "d")}}
	land(t, w, b, Base)
	land(t, w, b, Base)
	if n := Count(t, w, "SELECT COUNT(*) FROM merge_requests"); n != 2 {
		t.Errorf("%d MRs after landing the same batch twice, want 2", n)
	}
	if n := Count(t, w, "SELECT COUNT(*) FROM mr_commits"); n != 4 {
		t.Errorf("%d commits, want 4", n)
	}
	// MR 1 force-pushed: now commits a and e. Its old b and c must go; MR 2's stay.
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{MR(1, Base.Add(time.Hour), "a", "e")}}, Base.Add(time.Hour))
	res, err := w.Query(ctx, "SELECT sha FROM mr_commits ORDER BY sha")
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for _, r := range res.Rows {
		shas = append(shas, r[0].(string))
	}
	if got := strings.Join(shas, ","); got != "a,d,e" {
		t.Errorf("commits = %s, want a,d,e", got)
	}
	// A duplicate inside one batch keeps the last (newest) version.
	m, m2 := MR(3, Base), MR(3, Base.Add(time.Minute))
	m2.State = "merged"
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{m, m2}}, Base)
	res, err = w.Query(ctx, "SELECT COUNT(*), MAX(state) FROM merge_requests WHERE iid = 3")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(1) || res.Rows[0][1] != "merged" {
		t.Errorf("duplicate in batch: %v", res.Rows[0])
	}
	// The newer version replaces every column, including ones that became NULL.
	m3 := MR(3, Base.Add(2*time.Minute))
	m3.Title = ""
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{m3}}, Base)
	if n := Count(t, w, "SELECT COUNT(*) FROM merge_requests WHERE iid = 3 AND title IS NULL AND state = 'opened'"); n != 1 {
		t.Errorf("re-landed MR 3 kept old values")
	}
}

func testUnique(t *testing.T, e Engine) {
	w := e.Open(t)
	b := sample()
	for i := 0; i < 3; i++ {
		land(t, w, b, Base)
	}
	for _, tb := range warehouse.RecordTables {
		keys := strings.Join(quoted(tb.Key), " || '|' || ")
		total := Count(t, w, "SELECT COUNT(*) FROM "+tb.Name)
		distinct := Count(t, w, "SELECT COUNT(DISTINCT "+keys+") FROM "+tb.Name)
		if total == 0 || total != distinct {
			t.Errorf("%s: %d rows for %d keys after landing one batch 3 times", tb.Name, total, distinct)
		}
	}
}

// testChildMoves: a child with a key of its own (a review, a transition)
// that turns up under another parent replaces the row under the old one,
// which is not in the batch; its siblings there stay.
func testChildMoves(t *testing.T, e Engine) {
	w := e.Open(t)
	review := func(m *models.MergeRequest, id string) {
		m.Reviews = append(m.Reviews, models.MRReview{ID: id, MRID: m.ID, Kind: "approval", Reviewer: models.Person{Username: "bob"}, CreatedAt: Base})
	}
	m1, m2 := MR(1, Base, "a"), MR(2, Base, "b")
	review(&m1, "r1")
	review(&m1, "r2")
	issue := func(key string, trans ...string) models.Issue {
		x := models.Issue{Origin: models.Origin{Source: "jira", Instance: "jira.example.com"}, ID: key, ProjectPath: "PAY", Key: key,
			State: "opened", CreatedAt: Base, UpdatedAt: Base}
		for _, id := range trans {
			x.Transitions = append(x.Transitions, models.IssueTransition{ID: id, Field: "status", At: Base, From: "To Do", To: "Done"})
		}
		return x
	}
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{m1}, Issues: []models.Issue{issue("PAY-1", "t1", "t2")}}, Base)
	review(&m2, "r1")
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{m2}, Issues: []models.Issue{issue("PAY-2", "t1")}}, Base)
	for _, c := range []struct{ q, want string }{
		{"SELECT string_agg(r.id || '@' || m.iid, ',' ORDER BY r.id) FROM mr_reviews r JOIN merge_requests m ON m.id = r.mr_id", "r1@2,r2@1"},
		{"SELECT string_agg(id || '@' || issue_id, ',' ORDER BY id) FROM issue_transitions", "t1@PAY-2,t2@PAY-1"},
		{"SELECT string_agg(sha, ',' ORDER BY sha) FROM mr_commits", "a,b"},
	} {
		res, err := w.Query(context.Background(), c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Rows[0][0]); got != c.want {
			t.Errorf("%s = %s, want %s", c.q, got, c.want)
		}
	}
}

func testCursor(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	if _, ok, err := w.Cursor(ctx, Key); err != nil || ok {
		t.Fatalf("cursor of a new stream: ok=%v err=%v", ok, err)
	}
	land(t, w, &models.Batch{}, Base.Add(time.Hour))
	land(t, w, &models.Batch{}, Base) // an older page must not move it back
	c, ok, err := w.Cursor(ctx, Key)
	if err != nil || !ok || !c.Equal(Base.Add(time.Hour)) {
		t.Errorf("cursor = %v ok=%v err=%v, want %v", c, ok, err, Base.Add(time.Hour))
	}
	other := Key
	other.Stream = "pipelines"
	if _, ok, _ := w.Cursor(ctx, other); ok {
		t.Error("cursor of another stream was set")
	}

	// Many at once: new keys are created, a newer cursor is kept, and
	// more keys than one statement takes land in the same call.
	var keys []warehouse.StreamKey
	for i := range 1203 {
		k := Key
		k.Scope = fmt.Sprintf("acme/p%d", i)
		keys = append(keys, k)
	}
	keys = append(keys, Key)
	if err := w.AdvanceCursors(ctx, keys, Base.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := w.Cursor(ctx, Key); !c.Equal(Base.Add(time.Hour)) {
		t.Errorf("AdvanceCursors moved a cursor back: %v, want %v", c, Base.Add(time.Hour))
	}
	for _, k := range []warehouse.StreamKey{keys[0], keys[1000], keys[1202]} {
		if c, ok, err := w.Cursor(ctx, k); err != nil || !ok || !c.Equal(Base.Add(30*time.Minute)) {
			t.Errorf("cursor of %s = %v ok=%v err=%v, want %v", k.Scope, c, ok, err, Base.Add(30*time.Minute))
		}
	}
	if err := w.AdvanceCursors(ctx, keys[:2], Base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := w.Cursor(ctx, keys[1]); !c.Equal(Base.Add(2 * time.Hour)) {
		t.Errorf("a newer cursor did not move it: %v", c)
	}
	if c, _, _ := w.Cursor(ctx, keys[2]); !c.Equal(Base.Add(30 * time.Minute)) {
		t.Errorf("a key not named moved: %v", c)
	}
}

// testBeside: a query runs on a connection (a session) of its own, beside
// the one that writes: it reads what is committed while a batch is being
// landed, not the batch's rows, instead of waiting for it, and two queries
// run at once. One pinned connection for everything made a report's scopes
// read one after another.
func testBeside(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{MR(1, Base, "a")}}, Base)
	var during []string
	read := func() error {
		done := make(chan string, 1)
		go func() {
			res, err := w.Query(ctx, "SELECT COUNT(*) FROM merge_requests")
			if err != nil {
				done <- err.Error()
				return
			}
			done <- fmt.Sprint(res.Rows[0][0])
		}()
		select {
		case n := <-done:
			during = append(during, n)
			return nil
		case <-time.After(time.Minute):
			return fmt.Errorf("a query waited for the landing to finish")
		}
	}
	e.BeforeCommit(t, w, func() error {
		if err := read(); err != nil {
			return err
		}
		return w.Each(ctx, "SELECT id FROM merge_requests", func([]any) error { return read() })
	})
	land(t, w, &models.Batch{MergeRequests: []models.MergeRequest{MR(2, Base.Add(time.Hour), "b"), MR(3, Base.Add(time.Hour), "c")}}, Base.Add(time.Hour))
	if fmt.Sprint(during) != "[1 1]" {
		t.Errorf("queries during the landing counted %v MRs, want [1 1]: what was committed before it", during)
	}
	if n := Count(t, w, "SELECT COUNT(*) FROM merge_requests"); n != 3 {
		t.Errorf("%d MRs after the landing, want 3", n)
	}
}

func testAtomic(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	e.BreakCommit(t, w)
	err := w.Land(ctx, Key, Clear(t, sample()), Base)
	if err == nil {
		t.Fatal("Land succeeded although its commit failed")
	}
	for _, tb := range warehouse.RecordTables {
		if n := Count(t, w, "SELECT COUNT(*) FROM "+tb.Name); n != 0 {
			t.Errorf("%s: %d rows landed by a failed transaction", tb.Name, n)
		}
	}
	if _, ok, _ := w.Cursor(ctx, Key); ok {
		t.Error("cursor advanced by a failed transaction")
	}
	// The same batch lands cleanly afterwards.
	land(t, w, sample(), Base)
	if n := Count(t, w, "SELECT COUNT(*) FROM merge_requests"); n != 2 {
		t.Errorf("%d MRs after the retry, want 2", n)
	}
}

// sample is one batch touching every record table, with NULLs and non-UTC times.
func sample() *models.Batch {
	tokyo := time.FixedZone("JST", 9*3600)
	merged := time.Date(2026, 3, 2, 18, 30, 15, 123456000, tokyo)
	fin := 61.5
	adds, dels := int64(12), int64(0)
	m1 := MR(1, Base, "a", "b")
	m1.MergedAt = &merged
	m1.State = "merged"
	m1.Labels = []string{"bug", "api"}
	m1.Additions, m1.Deletions = &adds, &dels
	m1.Reviews = []models.MRReview{{ID: "r1", MRID: m1.ID, Kind: "approval", Reviewer: models.Person{Username: "bob"}, CreatedAt: Base.Add(time.Hour)}}
	m1.IssueLinks = []models.IssueLink{{MRID: m1.ID, Tracker: "jira", Key: "PAY-1", Via: "branch"}, {MRID: m1.ID, Tracker: "redmine", Key: "12", Via: "commit"}}
	m2 := MR(2, Base) // no merge, no labels, no size: NULLs
	m2.Title = ""
	org := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	b := &models.Batch{MergeRequests: []models.MergeRequest{m1, m2}}
	b.Pipelines = []models.Pipeline{{Origin: org, ID: "p1", ProjectID: 7, ProjectPath: "acme/api", PipelineID: 11, Ref: "main", Status: "success",
		IsDefaultBranch: true, CreatedAt: Base, UpdatedAt: Base, FinishedAt: &merged, DurationS: &fin}}
	b.Deployments = []models.Deployment{{Origin: org, ID: "d1", ProjectID: 7, ProjectPath: "acme/api", DeploymentID: 5, Environment: "production",
		Status: "success", CreatedAt: Base, UpdatedAt: Base, FinishedAt: &merged, Changes: []models.DeploymentChange{{DeploymentID: "d1", MRID: m1.ID}}}}
	sp := 3.0
	b.Issues = []models.Issue{{Origin: models.Origin{Source: "jira", Instance: "jira.example.com"}, ID: "i1", ProjectPath: "PAY", Key: "PAY-1",
		Type: "Story", TypeClass: "story", State: "closed", Status: "Done", StatusCategory: "done", StoryPoints: &sp, CreatedAt: Base, UpdatedAt: Base,
		ClosedAt: &merged, Transitions: []models.IssueTransition{{ID: "t1", Field: "status", At: merged, From: "To Do", To: "Done", FromCategory: "todo", ToCategory: "done"}}}}
	b.Sprints = []models.Sprint{{Origin: models.Origin{Source: "jira", Instance: "jira.example.com"}, ID: "s1", ProjectPath: "PAY", Name: "Sprint 1",
		State: "closed", StartDate: "2026-03-01", DueDate: "2026-03-14", UpdatedAt: Base}}
	return b
}

func testRoundTrip(t *testing.T, e Engine) {
	w := e.Open(t)
	land(t, w, sample(), Base)
	got, err := warehouse.Load(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.MergeRequests) != 2 || len(got.Pipelines) != 1 || len(got.Deployments) != 1 || len(got.Issues) != 1 || len(got.Sprints) != 1 {
		t.Fatalf("loaded %d MRs %d pipelines %d deployments %d issues %d sprints", len(got.MergeRequests), len(got.Pipelines),
			len(got.Deployments), len(got.Issues), len(got.Sprints))
	}
	want := sample()
	m1, m2 := got.MergeRequests[0], got.MergeRequests[1]
	if m1.MergedAt == nil || !m1.MergedAt.Equal(*want.MergeRequests[0].MergedAt) || m1.MergedAt.Location() != time.UTC {
		t.Errorf("merged_at %v, want the instant %v in UTC", m1.MergedAt, want.MergeRequests[0].MergedAt)
	}
	if m1.MergedAt != nil && m1.MergedAt.Nanosecond() != 123456000 {
		t.Errorf("sub-second precision lost: %v", m1.MergedAt)
	}
	if strings.Join(m1.Labels, ",") != "api,bug" || m1.Additions == nil || *m1.Additions != 12 || m1.Deletions == nil || *m1.Deletions != 0 {
		t.Errorf("labels %v additions %v deletions %v", m1.Labels, m1.Additions, m1.Deletions)
	}
	if len(m1.Commits) != 2 || len(m1.Reviews) != 1 || m1.Reviews[0].Kind != "approval" || m1.Reviews[0].Reviewer.Token == "" {
		t.Errorf("children: %d commits %+v", len(m1.Commits), m1.Reviews)
	}
	if fmt.Sprint(m1.IssueLinks) != fmt.Sprintf("[{%s jira PAY-1 branch} {%s redmine 12 commit}]", m1.ID, m1.ID) || len(m2.IssueLinks) != 0 {
		t.Errorf("issue links %v / %v", m1.IssueLinks, m2.IssueLinks)
	}
	if m2.MergedAt != nil || m2.Additions != nil || m2.Title != "" || len(m2.Labels) != 0 || m2.ReadyAt != nil {
		t.Errorf("NULLs came back as values: %+v", m2)
	}
	if m1.Author.Token == "" || m1.Author.Token == "ann" {
		t.Errorf("author %q: want a pseudonym", m1.Author.Token)
	}
	p := got.Pipelines[0]
	if p.DurationS == nil || *p.DurationS != 61.5 || !p.IsDefaultBranch || p.QueuedDurationS != nil || p.PipelineID != 11 {
		t.Errorf("pipeline %+v", p)
	}
	d := got.Deployments[0]
	if len(d.Changes) != 1 || d.Changes[0].MRID != m1.ID || d.DeploymentID != 5 {
		t.Errorf("deployment %+v", d)
	}
	is := got.Issues[0]
	if is.StoryPoints == nil || *is.StoryPoints != 3 || len(is.Transitions) != 1 || !is.Transitions[0].At.Equal(*want.Issues[0].ClosedAt) ||
		is.Key != "PAY-1" || is.Type != "Story" {
		t.Errorf("issue %+v", is)
	}
	if s := got.Sprints[0]; s.StartDate != "2026-03-01" || s.DueDate != "2026-03-14" || s.StartAt != nil {
		t.Errorf("sprint dates %q %q start_at %v", s.StartDate, s.DueDate, s.StartAt)
	}
}

// The stored teams are replaced whole: a team or member dropped from the
// config is gone after the next computation, and storing twice keeps one copy.
func testTeams(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	first := []warehouse.TeamMember{{Team: "payments", Instance: "gitlab.example.com", ProjectPath: "acme/api"},
		{Team: "payments", Instance: "jira.example.com", ProjectPath: "PAY"}, {Team: "web", Instance: "gitlab.example.com", ProjectPath: "acme/web"}}
	for i := 0; i < 2; i++ {
		if err := w.PutTeams(ctx, first); err != nil {
			t.Fatal(err)
		}
	}
	got, err := warehouse.LoadTeams(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Errorf("teams after storing twice: %v", got)
	}
	if err := w.PutTeams(ctx, first[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ = warehouse.LoadTeams(ctx, w); !reflect.DeepEqual(got, first[:1]) {
		t.Errorf("teams after dropping members: %v", got)
	}
}

func testMetrics(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	v := func(x float64) *float64 { return &x }
	vals := []warehouse.MetricValue{
		{ScopeKind: "project", Scope: "acme/api", Metric: "lead_time_for_changes", Grain: "window", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 90),
			Environment: "production", Stat: "p50", Value: v(3600), Unit: "seconds", N: 10, Label: "elite", BenchmarkYear: 2024},
		{ScopeKind: "project", Scope: "acme/api", Metric: "deployment_frequency", Grain: "week", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 7),
			Environment: "production", Stat: "value", Value: nil, Unit: "per_day", N: 0},
	}
	for i := 0; i < 2; i++ {
		if err := w.PutMetrics(ctx, vals); err != nil {
			t.Fatal(err)
		}
	}
	if n := Count(t, w, "SELECT COUNT(*) FROM metric_values"); n != 2 {
		t.Errorf("%d metric rows after storing 2 values twice", n)
	}
	vals[0].Value = v(7200)
	if err := w.PutMetrics(ctx, vals[:1]); err != nil {
		t.Fatal(err)
	}
	res, err := w.Query(ctx, "SELECT value, period_start, period_end, label, benchmark_year FROM metric_values WHERE stat = 'p50'")
	if err != nil {
		t.Fatal(err)
	}
	r := res.Rows[0]
	ps, _ := r[1].(time.Time)
	if r[0] != 7200.0 || ps.Format("2006-01-02") != "2026-03-01" || r[3] != "elite" || r[4] != int64(2024) {
		t.Errorf("recomputed value row = %v", r)
	}
	if n := Count(t, w, "SELECT COUNT(*) FROM metric_values WHERE value IS NULL AND label IS NULL AND benchmark_year IS NULL"); n != 1 {
		t.Errorf("absent value not stored as NULL")
	}
}

func testDelete(t *testing.T, e Engine) {
	w := e.Open(t)
	land(t, w, sample(), Base)
	n, err := w.Delete(context.Background(), "merge_requests", []string{sample().MergeRequests[0].ID})
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, err %v", n, err)
	}
	for q, want := range map[string]int64{
		"SELECT COUNT(*) FROM merge_requests":     1,
		"SELECT COUNT(*) FROM mr_commits":         0,
		"SELECT COUNT(*) FROM mr_reviews":         0,
		"SELECT COUNT(*) FROM deployment_changes": 0,
		"SELECT COUNT(*) FROM deployments":        1,
	} {
		if got := Count(t, w, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if _, err := w.Delete(context.Background(), "runs", []string{"x"}); err == nil {
		t.Error("deleting from a non-record table was accepted")
	}
	got, err := w.Landed(context.Background(), "merge_requests", []string{sample().MergeRequests[1].ID, "nope"})
	if err != nil || len(got) != 1 || !got[sample().MergeRequests[1].ID].Equal(Base) {
		t.Errorf("Landed = %v, %v", got, err)
	}
}

func testRuns(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	r := &warehouse.Run{ID: "run-1", Command: "collect", StartedAt: Base}
	if err := w.BeginRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.FinishedAt, r.Status, r.Records, r.Requests, r.Error = Base.Add(time.Minute), "failed", map[string]int{"gl/merge_requests": 3}, 42, "gitlab: 401"
	if err := w.FinishRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	res, err := w.Query(ctx, "SELECT status, requests, records, error, finished_at FROM runs WHERE run_id = 'run-1'")
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	fin, _ := row[4].(time.Time)
	if row[0] != "failed" || row[1] != int64(42) || row[2] != `{"gl/merge_requests":3}` || row[3] != "gitlab: 401" || !fin.Equal(Base.Add(time.Minute)) {
		t.Errorf("run row = %v", row)
	}
}

func testQuery(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	land(t, w, sample(), Base)
	_, err := w.Query(ctx, "SELECT * FROM no_such_table")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "no_such_table") {
		t.Errorf("missing table: %v (want an error naming it)", err)
	}
	if _, err := w.Query(ctx, "SELEC 1"); err == nil {
		t.Error("syntax error accepted")
	}
	// Query never changes anything: engines refuse or roll back writes.
	_, _ = w.Query(ctx, "DELETE FROM merge_requests")
	if n := Count(t, w, "SELECT COUNT(*) FROM merge_requests"); n != 2 {
		t.Errorf("a DELETE through Query removed rows: %d left", n)
	}
	res, err := w.Query(ctx, "SELECT id, draft, project_id, merged_at FROM merge_requests ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Columns, ",") != "id,draft,project_id,merged_at" {
		t.Errorf("columns %v, want the names as written", res.Columns)
	}
	if _, ok := res.Rows[0][1].(bool); !ok {
		t.Errorf("BOOLEAN came back as %T", res.Rows[0][1])
	}
	if _, ok := res.Rows[0][2].(int64); !ok {
		t.Errorf("BIGINT came back as %T", res.Rows[0][2])
	}
	if _, ok := res.Rows[0][3].(time.Time); !ok {
		t.Errorf("timestamp came back as %T", res.Rows[0][3])
	}
}

func testViews(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	land(t, w, sample(), Base)
	v, half, eight := 3600.0, 0.5, 8.0
	if err := w.PutMetrics(ctx, []warehouse.MetricValue{
		{ScopeKind: "project", Scope: "acme/api", Metric: "lead_time_for_changes", Grain: "window", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 90),
			Environment: "production", Stat: "p50", Value: &v, Unit: "seconds", N: 1},
		{ScopeKind: "project", Scope: "acme/api", Metric: "lead_time_breakdown.review", Grain: "window", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 90),
			Environment: "production", Stat: "p50", Value: &v, Unit: "seconds", N: 1},
		{ScopeKind: "project", Scope: "acme/api", Metric: "deployment_count", Grain: "week", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 7),
			Environment: "production", Stat: "value", Value: &v, Unit: "count", N: 1},
		{ScopeKind: "team", Scope: "payments", Metric: "cycle_time", Grain: "window", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 90),
			Stat: "p50", Value: &v, Unit: "seconds", N: 4},
		{ScopeKind: "team", Scope: "payments", Metric: "say_do_ratio", Grain: "sprint", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 14),
			Stat: "value", Value: &half, Unit: "ratio", N: 1, Label: "Sprint 1"},
		{ScopeKind: "team", Scope: "payments", Metric: "sprint_committed_points", Grain: "sprint", PeriodStart: Base, PeriodEnd: Base.AddDate(0, 0, 14),
			Stat: "value", Value: &eight, Unit: "points", N: 1, Label: "Sprint 1"},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := w.Query(ctx, "SELECT sprint, sprint_start, committed_points, say_do_ratio, velocity_points FROM flow_sprints")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != "Sprint 1" || res.Rows[0][2] != 8.0 || res.Rows[0][3] != 0.5 || res.Rows[0][4] != nil {
		t.Errorf("flow_sprints = %v", res.Rows)
	}
	if n := Count(t, w, "SELECT COUNT(*) FROM metric_series WHERE grain = 'sprint'"); n != 0 {
		t.Errorf("metric_series shows %d sprint rows", n)
	}
	for _, view := range dashboards.Views() {
		n := Count(t, w, "SELECT COUNT(*) FROM "+view.Name)
		if n == 0 {
			t.Errorf("view %s is empty over the sample", view.Name)
		}
	}
}

func testBig(t *testing.T, e Engine) {
	n := e.BigRows
	if n == 0 {
		n = 1_000_000
	}
	w := e.Open(t)
	ctx := context.Background()
	// One batch of n deployment→MR links (the narrowest table) under 1,000 deployments.
	b := &models.Batch{}
	per := max(1, n/1000)
	org := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	for d := 0; d*per < n; d++ {
		id := fmt.Sprintf("d%d", d)
		dep := models.Deployment{Origin: org, ID: id, ProjectID: 7, ProjectPath: "acme/api", DeploymentID: int64(d), Environment: "production",
			Status: "success", CreatedAt: Base, UpdatedAt: Base}
		for m := 0; m < per && d*per+m < n; m++ {
			dep.Changes = append(dep.Changes, models.DeploymentChange{DeploymentID: id, MRID: fmt.Sprintf("mr%d", d*per+m)})
		}
		b.Deployments = append(b.Deployments, dep)
	}
	for i := 0; i < 2; i++ {
		if err := w.Land(ctx, Key, Clear(t, b), Base); err != nil {
			t.Fatal(err)
		}
	}
	if got := Count(t, w, "SELECT COUNT(*) FROM deployment_changes"); got != int64(n) {
		t.Errorf("%d links after landing %d twice", got, n)
	}
	if got := Count(t, w, "SELECT COUNT(DISTINCT mr_id) FROM deployment_changes"); got != int64(n) {
		t.Errorf("%d distinct links, want %d", got, n)
	}
}

func testLeases(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	acquire := func(holder string, ttl time.Duration) (bool, string) {
		t.Helper()
		ok, by, until, err := w.Acquire(ctx, "collect/gl/merge_requests", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if until.IsZero() {
			t.Errorf("no expiry returned")
		}
		return ok, by
	}
	if ok, _ := acquire("a", time.Minute); !ok {
		t.Fatal("a free lease was refused")
	}
	if ok, by := acquire("b", time.Minute); ok || by != "a" {
		t.Errorf("b took a held lease (ok=%v, held by %q)", ok, by)
	}
	if ok, _ := acquire("a", time.Minute); !ok {
		t.Error("the holder could not renew")
	}
	if ok, _, _, _ := w.Acquire(ctx, "collect/gl/pipelines", "b", time.Minute); !ok {
		t.Error("another stream's lease was refused")
	}
	if err := w.Release(ctx, "collect/gl/merge_requests", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := acquire("b", time.Minute); ok {
		t.Error("release by a non-holder freed the lease")
	}
	if err := w.Release(ctx, "collect/gl/merge_requests", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := acquire("b", 300*time.Millisecond); !ok {
		t.Error("a released lease was refused")
	}
	time.Sleep(500 * time.Millisecond) // b "crashed": its lease expires
	if ok, _ := acquire("c", time.Minute); !ok {
		t.Error("an expired lease was refused")
	}
}

// testForMetrics: a load for metrics reads the same MRs with the same
// commit times and reviewers as a whole load, and of the pipelines only the
// default branch's that finished success or failed, with their durations.
func testForMetrics(t *testing.T, e Engine) {
	ctx := context.Background()
	w := e.Open(t)
	b := &models.Batch{MergeRequests: []models.MergeRequest{MR(1, Base, "a", "b"), MR(2, Base.Add(time.Hour), "c")}}
	b.MergeRequests[0].Reviews = []models.MRReview{{MRID: b.MergeRequests[0].ID, ID: "r1", Kind: "approval", Reviewer: models.Person{Username: "bob"}, CreatedAt: Base.Add(time.Hour)}}
	for i, p := range []struct {
		status string
		branch bool
	}{{"success", true}, {"failed", true}, {"canceled", true}, {"success", false}, {"running", true}} {
		fin, dur, q := Base.Add(time.Duration(i)*time.Hour), float64(10*(i+1)), float64(i+1)
		b.Pipelines = append(b.Pipelines, models.Pipeline{Origin: models.Origin{Source: "gitlab", Instance: "gitlab.example.com"},
			ID: fmt.Sprintf("p%d", i), ProjectPath: "acme/api", Ref: "main", Status: p.status, IsDefaultBranch: p.branch,
			CreatedAt: Base, UpdatedAt: fin, FinishedAt: &fin, DurationS: &dur, QueuedDurationS: &q})
	}
	land(t, w, b, Base)
	whole, err := warehouse.LoadSelection(ctx, w, &warehouse.Selection{Paths: []string{"acme/api"}})
	if err != nil {
		t.Fatal(err)
	}
	lean, err := warehouse.LoadSelection(ctx, w, &warehouse.Selection{Paths: []string{"acme/api"}, ForMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(lean.MergeRequests) != 2 || len(whole.MergeRequests) != 2 {
		t.Fatalf("%d MRs for metrics, %d in a whole load; want 2", len(lean.MergeRequests), len(whole.MergeRequests))
	}
	for i, m := range lean.MergeRequests {
		wm := whole.MergeRequests[i]
		if m.ID != wm.ID || m.Title != wm.Title || !m.CreatedAt.Equal(wm.CreatedAt) || len(m.Commits) != len(wm.Commits) || len(m.Reviews) != len(wm.Reviews) {
			t.Fatalf("MR %d for metrics: %+v, whole: %+v", i, m, wm)
		}
		for k, c := range m.Commits {
			if !c.AuthoredAt.Equal(wm.Commits[k].AuthoredAt) || c.MRID != m.ID {
				t.Errorf("%s commit %d: authored %v, whole load %v", m.ID, k, c.AuthoredAt, wm.Commits[k].AuthoredAt)
			}
		}
		for k, r := range m.Reviews {
			if r.Reviewer.Token == "" || r.Reviewer != wm.Reviews[k].Reviewer || !r.CreatedAt.Equal(wm.Reviews[k].CreatedAt) || r.Kind != "approval" {
				t.Errorf("%s review %d: %+v, whole load %+v", m.ID, k, r, wm.Reviews[k])
			}
		}
	}
	var got []string
	for _, p := range lean.Pipelines {
		got = append(got, fmt.Sprintf("%s %v %s %g %g", p.Status, p.IsDefaultBranch, p.FinishedAt.UTC().Format("15:04"), *p.DurationS, *p.QueuedDurationS))
	}
	slices.Sort(got)
	if want := "[failed true 10:00 20 2 success true 09:00 10 1]"; fmt.Sprint(got) != want {
		t.Errorf("pipelines for metrics: %v, want %s", got, want)
	}
	if len(whole.Pipelines) != 5 {
		t.Errorf("a whole load has %d pipelines, want 5", len(whole.Pipelines))
	}

	// Children since a cut: MRs 3 and 4 merged before it, 5 after, 6 open
	// (MRs 1 and 2 are open too). Only the MR KeepChildren names (4) of the
	// ones before the cut comes with its commits; the open ones and the one
	// after the cut come with theirs. Issue links come with every MR.
	cut := Base.Add(100 * time.Hour)
	var more []models.MergeRequest
	for i, merged := range []time.Duration{10, 20, 200, -1} {
		m := MR(int64(3+i), Base.Add(300*time.Hour), fmt.Sprintf("m%d", i))
		if merged >= 0 {
			at := Base.Add(merged * time.Hour)
			m.State, m.MergedAt = "merged", &at
		}
		m.IssueLinks = []models.IssueLink{{MRID: m.ID, Tracker: "jira", Key: fmt.Sprintf("APP-%d", i), Via: "title"}}
		more = append(more, m)
	}
	land(t, w, &models.Batch{MergeRequests: more}, Base.Add(300*time.Hour))
	var asked int
	cutLoad, err := warehouse.LoadSelection(ctx, w, &warehouse.Selection{Paths: []string{"acme/api"}, ForMetrics: true, ChildrenSince: cut,
		KeepChildren: func(b *models.Batch) []string {
			asked = len(b.MergeRequests)
			return []string{more[1].ID}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if asked != 6 {
		t.Errorf("KeepChildren saw %d MRs, want all 6", asked)
	}
	got = nil
	for _, m := range cutLoad.MergeRequests {
		got = append(got, fmt.Sprintf("%d:%d/%d", m.IID, len(m.Commits), len(m.IssueLinks)))
	}
	if want := "[1:2/0 2:1/0 3:0/1 4:1/1 5:1/1 6:1/1]"; fmt.Sprint(got) != want {
		t.Errorf("IID:commits/links after the cut: %v, want %s", got, want)
	}
}

// testSelection: a load narrowed to projects returns exactly their records
// with their children, a path with a quote or a backslash is matched as
// written on both engines, Each streams what Query returns, and Projects
// and NewestUpdate read the same records.
func testSelection(t *testing.T, e Engine) {
	ctx := context.Background()
	w := e.Open(t)
	b := &models.Batch{}
	paths := []string{"acme/api", "acme/web", `o'brien\\tools`}
	for i, p := range paths {
		for k := range 3 {
			m := MR(int64(10*i+k+1), Base.Add(time.Duration(10*i+k)*time.Hour), fmt.Sprintf("c%d%d", i, k))
			m.ID = models.GitLabID("gitlab.example.com", int64(i+1), "mr", int64(k+1))
			m.ProjectPath, m.ProjectID = p, int64(i+1)
			m.Commits[0].MRID = m.ID
			m.Reviews = []models.MRReview{{MRID: m.ID, ID: m.ID + ":r", Kind: "comment", Reviewer: models.Person{Username: "bob"}, CreatedAt: Base}}
			b.MergeRequests = append(b.MergeRequests, m)
		}
		b.Pipelines = append(b.Pipelines, models.Pipeline{Origin: models.Origin{Source: "gitlab", Instance: "gitlab.example.com"},
			ID: fmt.Sprintf("p%d", i), ProjectPath: p, Ref: "main", Status: "success", CreatedAt: Base, UpdatedAt: Base.Add(time.Duration(100+i) * time.Hour)})
	}
	first := &b.MergeRequests[0]
	first.Commits = []models.MRCommit{{MRID: first.ID, SHA: "z", AuthoredAt: Base.Add(2 * time.Hour)},
		{MRID: first.ID, SHA: "b", AuthoredAt: Base.Add(time.Hour)}, {MRID: first.ID, SHA: "a", AuthoredAt: Base.Add(time.Hour)}}
	land(t, w, b, Base)

	all, err := warehouse.Load(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range all.MergeRequests {
		if m.ID == first.ID {
			for _, c := range m.Commits {
				order = append(order, c.SHA)
			}
		}
	}
	if strings.Join(order, ",") != "a,b,z" {
		t.Errorf("commits of %s come as %v, want by authored time then SHA: a,b,z", first.ID, order)
	}
	if len(all.MergeRequests) != 9 || len(all.Pipelines) != 3 {
		t.Fatalf("Load: %d MRs, %d pipelines, want 9 and 3", len(all.MergeRequests), len(all.Pipelines))
	}
	for _, sel := range []*warehouse.Selection{
		{Paths: []string{`o'brien\\tools`}},
		{Members: []warehouse.ProjectRef{{Instance: "gitlab.example.com", Path: "acme/web"}, {Instance: "gitlab.example.com", Path: `o'brien\\tools`}}},
		{Members: []warehouse.ProjectRef{{Instance: "other.example.com", Path: "acme/web"}}},
		{},
	} {
		want := map[string]bool{}
		for _, p := range sel.Paths {
			want[p] = true
		}
		for _, m := range sel.Members {
			if m.Instance == "gitlab.example.com" {
				want[m.Path] = true
			}
		}
		got, err := warehouse.LoadSelection(ctx, w, sel)
		if err != nil {
			t.Fatalf("%+v: %v", sel, err)
		}
		if len(got.MergeRequests) != 3*len(want) || len(got.Pipelines) != len(want) {
			t.Errorf("%+v: %d MRs and %d pipelines, want %d and %d", sel, len(got.MergeRequests), len(got.Pipelines), 3*len(want), len(want))
		}
		for _, m := range got.MergeRequests {
			if !want[m.ProjectPath] {
				t.Errorf("%+v: loaded an MR of %q", sel, m.ProjectPath)
			}
			if (len(m.Commits) != 1 && m.ID != first.ID) || len(m.Reviews) != 1 || m.Commits[0].MRID != m.ID {
				t.Errorf("%+v: %s came with %d commits and %d reviews, want 1 and 1", sel, m.ID, len(m.Commits), len(m.Reviews))
			}
		}
	}

	// Pipelines updated at Base+100h, +101h, +102h (p0, p1, p2).
	for _, c := range []struct {
		since time.Time
		want  int
	}{{Base.Add(101 * time.Hour), 2}, {Base.Add(101*time.Hour + time.Microsecond), 1}, {Base.Add(200 * time.Hour), 0}, {time.Time{}, 3}} {
		got, err := warehouse.LoadSelection(ctx, w, &warehouse.Selection{Paths: paths, PipelinesSince: c.since.In(time.FixedZone("UTC+5", 5*3600))})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Pipelines) != c.want || len(got.MergeRequests) != 9 {
			t.Errorf("pipelines since %v: %d pipelines and %d MRs, want %d and 9", c.since, len(got.Pipelines), len(got.MergeRequests), c.want)
		}
	}

	ps, err := warehouse.Projects(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ps) != fmt.Sprintf("[{gitlab.example.com acme/api} {gitlab.example.com acme/web} {gitlab.example.com %s}]", paths[2]) {
		t.Errorf("Projects: %v", ps)
	}
	for _, c := range []struct {
		tables []string
		want   time.Time
	}{{[]string{"merge_requests"}, Base.Add(22 * time.Hour)}, {[]string{"merge_requests", "pipelines"}, Base.Add(102 * time.Hour)}, {[]string{"issues"}, time.Time{}}} {
		if got, err := warehouse.NewestUpdate(ctx, w, c.tables...); err != nil || !got.Equal(c.want) {
			t.Errorf("NewestUpdate(%v) = %v, %v; want %v", c.tables, got, err, c.want)
		}
	}

	q := "SELECT id, project_path, updated_at FROM merge_requests ORDER BY id"
	res, err := w.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var streamed [][]any
	if err := w.Each(ctx, q, func(r []any) error { streamed = append(streamed, append([]any(nil), r...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(streamed, res.Rows) {
		t.Errorf("Each gave %v, Query %v", streamed, res.Rows)
	}
	stop := fmt.Errorf("enough")
	n := 0
	if err := w.Each(ctx, q, func([]any) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error from fn: Each returned %v after %d rows, want it back after 1", err, n)
	}
}

// Regressions are replaced whole (the caller merged them), a change of nil
// (a shift from 0) stays NULL, notifications are recorded once per key, and
// a purge's Forget drops the regressions with the metric values they were
// found in but keeps what was sent, so nothing is posted twice.
func testRegressions(t *testing.T, e Engine) {
	w := e.Open(t)
	ctx := context.Background()
	c := 0.55
	resolved := Base.Add(40 * 24 * time.Hour)
	regs := []warehouse.Regression{
		{ScopeKind: "project", Scope: "acme/api", Metric: "pipeline_duration", Stat: "p85", Kind: "regression", FirstWeek: Base,
			Before: 1445, After: 2242, Change: &c, P: 0.0002, Unit: "seconds", State: "open", DetectedAt: Base.Add(30 * 24 * time.Hour)},
		{ScopeKind: "team", Scope: "payments", Metric: "change_failure_rate", Stat: "value", Environment: "production", Kind: "regression",
			FirstWeek: Base.AddDate(0, 0, 7), Before: 0, After: 0.2, P: 0.004, Unit: "ratio", State: "resolved", DetectedAt: Base, ResolvedAt: &resolved},
	}
	for i := 0; i < 2; i++ {
		if err := w.PutRegressions(ctx, regs); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Query(ctx, `SELECT scope, relative_change, state, CAST(first_week AS VARCHAR), resolved_at FROM regressions ORDER BY scope`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0][0] != "acme/api" || res.Rows[0][1] != 0.55 || res.Rows[1][1] != nil || res.Rows[1][2] != "resolved" ||
		!strings.HasPrefix(fmt.Sprint(res.Rows[0][3]), Base.Format("2006-01-02")) || res.Rows[0][4] != nil {
		t.Errorf("regressions: %v", res.Rows)
	}
	if rt, ok := res.Rows[1][4].(time.Time); !ok || !rt.Equal(resolved) {
		t.Errorf("resolved_at %v, want %v", res.Rows[1][4], resolved)
	}
	if err := w.PutRegressions(ctx, regs[:1]); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, w, `SELECT count(*) FROM regressions`); n != 1 {
		t.Errorf("%d regressions after storing one", n)
	}
	for i := 0; i < 2; i++ {
		if err := w.PutNotified(ctx, []string{regs[0].Key() + "|chat", regs[0].Key() + "|chat"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := Count(t, w, `SELECT count(*) FROM notifications`); n != 1 {
		t.Errorf("%d notification rows for one key", n)
	}
	if _, _, err := w.Forget(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r, n := Count(t, w, `SELECT count(*) FROM regressions`), Count(t, w, `SELECT count(*) FROM notifications`); r != 0 || n != 1 {
		t.Errorf("after Forget: %d regressions (want 0), %d notifications (want 1)", r, n)
	}
}
