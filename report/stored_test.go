package report

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/devpulse/devpulse/benchmarks"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

// TestComputeStored_SameAsEverythingLoaded: reading each scope from the
// warehouse on its own (what devpulse metrics and report do) gives every
// scope exactly the result of loading everything and narrowing in memory,
// teams across projects included, in the same order.
func TestComputeStored_SameAsEverythingLoaded(t *testing.T) {
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	pol, err := policy.New(config.Privacy{Secret: "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", People: "pseudonymize", Titles: "keep"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := batch()
	// A second server with a project of the same path: a project scope
	// spans both, a team only the member it names.
	other := models.Origin{Source: "gitlab", Instance: "gitlab.other.example"}
	for i := range 3 {
		m := b.MergeRequests[i]
		m.Origin, m.ID = other, m.ID+"-other"
		m.Commits = []models.MRCommit{{MRID: m.ID, SHA: "x", AuthoredAt: m.CreatedAt.Add(-time.Hour)}}
		m.Reviews, m.IssueLinks = nil, nil
		b.MergeRequests = append(b.MergeRequests, m)
	}
	// Pipelines around the earliest period read (the previous window's
	// first week, from Monday 2 Feb 2026 00:00 UTC), and long before it.
	for i, at := range []time.Time{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)} {
		fin, dur := at, float64(100*(i+1))
		b.Pipelines = append(b.Pipelines, models.Pipeline{Origin: b.Pipelines[0].Origin, ID: fmt.Sprintf("old%d", i), ProjectPath: "acme/api",
			Status: "success", IsDefaultBranch: true, CreatedAt: at.Add(-time.Hour), UpdatedAt: at, FinishedAt: &fin, DurationS: &dur})
	}
	// Pipelines a load for metrics leaves out (canceled, another branch,
	// still running), each next to a counted one: if metrics.CI ever counts
	// one of them, the whole load counts it and the narrowed read does not.
	mid := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for i, p := range []struct {
		status string
		branch bool
	}{{"canceled", true}, {"failed", false}, {"success", false}, {"running", true}, {"skipped", true}, {"failed", true}} {
		fin, dur, q := mid.Add(time.Duration(i)*time.Hour), float64(60*(i+1)), float64(i)
		pl := models.Pipeline{Origin: b.Pipelines[0].Origin, ID: fmt.Sprintf("kind%d", i), ProjectPath: "acme/api", Status: p.status,
			IsDefaultBranch: p.branch, CreatedAt: fin.Add(-time.Hour), UpdatedAt: fin, FinishedAt: &fin, DurationS: &dur, QueuedDurationS: &q}
		if p.status == "running" {
			pl.FinishedAt = nil
		}
		b.Pipelines = append(b.Pipelines, pl)
	}
	// Changes merged before the earliest period read (2 Feb): one deployed
	// long before it, whose commits and reviews no metric reads, and one
	// first deployed inside the window (its branch is deployed rarely),
	// whose commits make lead time.
	old := func(iid int64, branch string, merged, deployed time.Time, listed bool) {
		o := b.MergeRequests[0].Origin
		id := models.GitLabID(o.Instance, 1, "mr", iid)
		b.MergeRequests = append(b.MergeRequests, models.MergeRequest{Origin: o, ID: id, ProjectPath: "acme/api", IID: iid, State: "merged",
			TargetBranch: branch, Author: models.Person{Username: "ann"}, CreatedAt: merged.Add(-48 * time.Hour), UpdatedAt: merged, MergedAt: &merged,
			Commits: []models.MRCommit{{MRID: id, SHA: id + "c", AuthoredAt: merged.Add(-72 * time.Hour)}},
			Reviews: []models.MRReview{{MRID: id, ID: id + "r", Reviewer: models.Person{Username: "bob"}, CreatedAt: merged.Add(-24 * time.Hour)}}})
		d := models.Deployment{Origin: o, ID: id + "d", ProjectPath: "acme/api", Environment: "production", EnvironmentTier: "production",
			Status: "success", Ref: branch, SHA: id + "sha", PipelineID: 900 + iid, FinishedAt: &deployed, UpdatedAt: deployed}
		if listed {
			d.Changes = []models.DeploymentChange{{DeploymentID: d.ID, MRID: id}}
		}
		b.Deployments = append(b.Deployments, d)
	}
	old(90, "main", time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), true)
	old(91, "release", time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), false)
	// An open MR that has had its review: not waiting for one, as long as
	// an open MR's reviews are read.
	{
		o := b.MergeRequests[0].Origin
		id := models.GitLabID(o.Instance, 1, "mr", 95)
		opened := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
		b.MergeRequests = append(b.MergeRequests, models.MergeRequest{Origin: o, ID: id, ProjectPath: "acme/api", IID: 95, State: "opened",
			TargetBranch: "main", Author: models.Person{Username: "ann"}, CreatedAt: opened, UpdatedAt: opened.Add(time.Hour),
			Reviews: []models.MRReview{{MRID: id, ID: id + "r", Reviewer: models.Person{Username: "bob"}, CreatedAt: opened.Add(time.Hour)}}})
	}
	cleared, _ := pol.Apply(b)
	if err := wh.Land(ctx, warehouse.StreamKey{Source: "t", Instance: "t", Scope: "all", Stream: "merge_requests"}, cleared, now); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Sources["gitlab"] = &config.Source{Name: "gitlab", URL: "https://gitlab.example.com"}
	cfg.Sources["jira"] = &config.Source{Name: "jira", Type: "jira", URL: "https://jira.example.com"}
	cfg.Teams = map[string][]string{"shop": {"gitlab:acme/api", "gitlab:acme/web", "jira:APP"}, "api": {"gitlab:acme/api"}}
	teams := TeamMembers(cfg)
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)

	loaded, err := warehouse.Load(ctx, wh)
	if err != nil {
		t.Fatal(err)
	}
	want := Compute(loaded, Scopes(teams, loaded), o)
	scopes, err := StoredScopes(ctx, teams, wh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ComputeStored(ctx, wh, scopes, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != 5 {
		t.Fatalf("%d scopes stored, %d loaded; want 5", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s %s: read on its own it differs from the whole load", want[i].Scope.Kind, want[i].Scope.Name)
		}
	}
	if n := want[3].Set["mr_throughput"]; n == nil || n.Value == nil || *n.Value == 0 {
		t.Fatalf("scope %s has no throughput: the comparison compares nothing", want[3].Scope.Name)
	}
	// The cut happened: the change deployed long ago came without its
	// commits and reviews, the one deployed in the window with them.
	from := time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	lean, err := warehouse.LoadSelection(ctx, wh, &warehouse.Selection{Paths: []string{"acme/api"}, ForMetrics: true, ChildrenSince: from,
		KeepChildren: func(b *models.Batch) []string {
			return metrics.ShippedSince(metrics.Input{MergeRequests: b.MergeRequests, Deployments: b.Deployments}, o, from)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range lean.MergeRequests {
		switch m.IID {
		case 90:
			if len(m.Commits)+len(m.Reviews) != 0 {
				t.Errorf("!90, deployed in June 2025, came with %d commits and %d reviews", len(m.Commits), len(m.Reviews))
			}
		case 91:
			if len(m.Commits) != 1 || len(m.Reviews) != 1 {
				t.Errorf("!91, first deployed in the window, came with %d commits and %d reviews, want 1 and 1", len(m.Commits), len(m.Reviews))
			}
		}
	}
	// The previous window, 2 Feb - 2 Mar (whole weeks), counts the pipelines
	// of 2 Feb 00:00, 20 Feb and 1 Mar, not the ones before: the earliest
	// is the edge a later cut-off would lose.
	for _, r := range got {
		if r.Scope.Name == "acme/api" {
			if n := r.Prev["pipeline_duration"].N; n != 3 {
				t.Errorf("acme/api's previous window counts %d pipelines, want 3", n)
			}
		}
	}
}

// TestDetach_ResultsKeepNoScopeRecords: the drill-downs of a result point at
// copies, in slices no longer than they are, so a run holding every scope's
// result does not hold every scope's records.
func TestDetach_ResultsKeepNoScopeRecords(t *testing.T) {
	mrs := make([]models.MergeRequest, 50)
	issues := make([]models.Issue, 50)
	var r Result
	for i := range mrs {
		r.Slowest = append(r.Slowest, metrics.Timing{MR: &mrs[i]})
		r.Waiting = append(r.Waiting, metrics.Waiting{MR: &mrs[i]})
		r.Aging = append(r.Aging, metrics.Aging{Issue: &issues[i]})
		r.Incidents = append(r.Incidents, metrics.IncidentRow{Issue: &issues[i]})
	}
	r.Slowest, r.Waiting, r.Aging, r.Incidents = r.Slowest[:10], r.Waiting[:10], r.Aging[:10], r.Incidents[:10]
	detach(&r)
	if cap(r.Slowest) != 10 || cap(r.Waiting) != 10 || cap(r.Aging) != 10 || cap(r.Incidents) != 10 {
		t.Errorf("capacities %d %d %d %d: the cut-off tail still holds the scope's records", cap(r.Slowest), cap(r.Waiting), cap(r.Aging), cap(r.Incidents))
	}
	in := func(p *models.MergeRequest) bool {
		for i := range mrs {
			if p == &mrs[i] {
				return true
			}
		}
		return false
	}
	for i := range 10 {
		if in(r.Slowest[i].MR) || in(r.Waiting[i].MR) || r.Aging[i].Issue == &issues[i] || r.Incidents[i].Issue == &issues[i] {
			t.Fatalf("row %d still points into the scope's records", i)
		}
	}
}

// TestComputeStored_ReadErrorIsAnError: a scope that cannot be read fails the
// computation; it never comes back as a scope without records.
func TestComputeStored_ReadErrorIsAnError(t *testing.T) {
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	scopes := ScopesOf(nil, []string{"acme/api", "acme/web"})
	wh.Close()
	rs, err := ComputeStored(ctx, wh, scopes, metrics.DefaultOptions(now.AddDate(0, 0, -28), now))
	if err == nil || rs != nil {
		t.Fatalf("a closed warehouse gave %d results and error %v, want no results and an error", len(rs), err)
	}
}

// TestComputeScope_SlowestAreTheTenLongest: of 40 deployed changes (with
// ties), the drill-down keeps the ten with the longest total, ties by id,
// exactly the first ten of sorting them all.
func TestComputeScope_SlowestAreTheTenLongest(t *testing.T) {
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC))
	origin := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	deployAt := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	dep := models.Deployment{Origin: origin, ID: "d1", ProjectPath: "acme/api", Environment: "production", EnvironmentTier: "production",
		Status: "success", Ref: "main", SHA: "s", CreatedAt: deployAt, UpdatedAt: deployAt, FinishedAt: &deployAt}
	var in metrics.Input
	for i := range 40 {
		created := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%7) * time.Hour)
		merged := created.Add(time.Duration(i%5) * time.Hour)
		id := fmt.Sprintf("gitlab:gitlab.example.com:1:mr:%d", 100-i)
		in.MergeRequests = append(in.MergeRequests, models.MergeRequest{Origin: origin, ID: id, ProjectPath: "acme/api", IID: int64(i),
			State: "merged", TargetBranch: "main", CreatedAt: created, UpdatedAt: merged, MergedAt: &merged, Author: models.Person{Token: "a"},
			Commits: []models.MRCommit{{MRID: id, AuthoredAt: created.Add(-time.Duration(i%3) * time.Hour)}}})
		dep.Changes = append(dep.Changes, models.DeploymentChange{DeploymentID: "d1", MRID: id})
	}
	in.Deployments = []models.Deployment{dep}
	prev := o
	prev.Since, prev.Until = o.Since.Add(-o.Until.Sub(o.Since)), o.Since
	r := computeScope(in, Scope{Kind: "project", Name: "acme/api"}, o, prev, o.Until, benchmarks.Group{})
	all := metrics.Timings(metrics.Share(in, o), o)
	sort.Slice(all, func(i, j int) bool {
		if a, b := total(all[i]), total(all[j]); a != b {
			return a > b
		}
		return all[i].MR.ID < all[j].MR.ID
	})
	if len(all) != 40 || all[0].DeployedAt == nil {
		t.Fatalf("%d timings, the first deployed %v: the example deploys nothing", len(all), all[0].DeployedAt)
	}
	var got, want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("%s %g", all[i].MR.ID, total(all[i])))
	}
	for _, s := range r.Slowest {
		got = append(got, fmt.Sprintf("%s %g", s.MR.ID, total(s)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("slowest:\n%v\nwant the first ten of all sorted:\n%v", got, want)
	}
}
