package metrics

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
)

// Base: Monday 2 March 2026, 09:00 UTC.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
func atp(h float64) *time.Time {
	t := at(h)
	return &t
}

const P = "acme/api"

type mrOpt func(*models.MergeRequest)

// mr builds a merged MR: created at hour c, merged at hour m, commits authored at the given hours.
func mr(iid int64, c, m float64, commits []float64, opts ...mrOpt) models.MergeRequest {
	id := models.GitLabID("h", 1, "mr", iid)
	x := models.MergeRequest{ID: id, ProjectPath: P, IID: iid, State: "merged", TargetBranch: "main", CreatedAt: at(c),
		UpdatedAt: at(m), MergedAt: atp(m), Author: models.Person{Token: "author"}, SourceBranch: "feature/x"}
	for i, h := range commits {
		x.Commits = append(x.Commits, models.MRCommit{MRID: id, SHA: id + strconv.FormatInt(int64(i), 10), AuthoredAt: at(h)})
	}
	for _, o := range opts {
		o(&x)
	}
	return x
}

func reviewed(h float64) mrOpt {
	return func(m *models.MergeRequest) {
		m.Reviews = append(m.Reviews, models.MRReview{MRID: m.ID, ID: m.ID + ":r", Kind: "comment", Reviewer: models.Person{Token: "rev"}, CreatedAt: at(h)})
	}
}

func dep(id, pipeline int64, env, status, sha string, h float64, mrs ...int64) models.Deployment {
	d := models.Deployment{ID: models.GitLabID("h", 1, "deployment", id), ProjectPath: P, DeploymentID: id, Environment: env,
		EnvironmentTier: env, Status: status, Ref: "main", SHA: sha, PipelineID: pipeline, FinishedAt: atp(h), UpdatedAt: at(h)}
	for _, iid := range mrs {
		d.Changes = append(d.Changes, models.DeploymentChange{DeploymentID: d.ID, MRID: models.GitLabID("h", 1, "mr", iid)})
	}
	return d
}

func incident(iid int64, start, end float64) models.Issue {
	x := models.Issue{ID: models.GitLabID("h", 1, "issue", iid), ProjectPath: P, Key: "#" + strconv.FormatInt(iid, 10), Type: "incident", State: "closed",
		CreatedAt: at(start), UpdatedAt: at(end)}
	if end >= start { // an end before the start means still open
		x.ClosedAt = atp(end)
	}
	return x
}

func opts() Options {
	return DefaultOptions(t0.AddDate(0, 0, -7), t0.AddDate(0, 0, 21))
}

func near(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s absent, want %v", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-6 {
		t.Errorf("%s = %v, want %v", what, *got, want)
	}
}

func absent(t *testing.T, what string, got *float64) {
	t.Helper()
	if got != nil {
		t.Errorf("%s = %v, want absent (no samples)", what, *got)
	}
}

func find(ms []*Metric, name string) *Metric {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return nil
}

func TestPercentile_IsContinuous(t *testing.T) {
	// quantile_cont([1,2,3,4], 0.5) = 2.5; 0.85 → h = 0.85*3 = 2.55 → 3 + 0.55*(4-3) = 3.55
	near(t, "p50", Percentile([]float64{4, 1, 3, 2}, 0.5), 2.5)
	near(t, "p85", Percentile([]float64{4, 1, 3, 2}, 0.85), 3.55)
	near(t, "single", Percentile([]float64{7}, 0.85), 7)
	absent(t, "empty", Percentile(nil, 0.5))
}

func TestLeadTime_PerCommitAndBreakdown(t *testing.T) {
	in := Input{
		MergeRequests: []models.MergeRequest{
			// MR 1: commits at -10h and -4h, created 0h, reviewed 2h, merged 5h; deployed by deployment 1 at 8h.
			mr(1, 0, 5, []float64{-10, -4}, reviewed(2)),
			// MR 2, squash-merged: its original commits (listed by the MR commits API) still count: -2h.
			// Created 1h, reviewed 3h, merged 6h, deployed by the same train at 8h.
			mr(2, 1, 6, []float64{-2}, reviewed(3), func(m *models.MergeRequest) { m.SquashCommitSHA = "squash" }),
			// MR 3: merged at 30h, never deployed: no lead time, no breakdown.
			mr(3, 20, 30, []float64{19}, reviewed(21)),
			// MR 4: a commit dated after the deployment (clock skew): that commit's lead time is dropped.
			mr(4, 2, 7, []float64{1, 9}),
			// MR 5: bot-authored: excluded from lead time.
			mr(5, 0, 5, []float64{-100}, func(m *models.MergeRequest) { m.Author = models.Person{Token: "b", IsBot: true} }),
		},
		// Deployment 1 was retried in its pipeline: two successful jobs (7h and 8h) count once, at 8h.
		Deployments: []models.Deployment{dep(1, 100, "production", "success", "s1", 7, 1, 2), dep(2, 100, "production", "success", "s1", 8, 4, 5)},
	}
	ms := DORA(in, opts())
	lt := find(ms, "lead_time_for_changes")
	// Per commit, deployment at 8h: MR1 18h, 12h; MR2 10h; MR4 7h (the 9h commit is after 8h: dropped). MR5 is a bot's.
	// Sorted [7, 10, 12, 18] h → p50 = (10+12)/2 = 11h; p85: h = 0.85*3 = 2.55 → 12 + 0.55*(18-12) = 15.3h.
	if lt.N != 4 {
		t.Errorf("lead time n = %d, want 4", lt.N)
	}
	near(t, "lead p50", lt.P50, 11*3600)
	near(t, "lead p85", lt.P85, 15.3*3600)
	if lt.Tier != "elite" || lt.Year != 2024 {
		t.Errorf("tier %q %d, want elite 2024 (p50 11h < 1 day)", lt.Tier, lt.Year)
	}
	bd := find(ms, "lead_time_breakdown").Parts
	// coding: MR1 0-(-10) = 10h, MR2 1-(-2) = 3h, MR4 2-1 = 1h → p50 3h
	near(t, "coding p50", bd["coding"].P50, 3*3600)
	// pickup: MR1 2-0 = 2h, MR2 3-1 = 2h (MR4 unreviewed) → 2h
	near(t, "pickup p50", bd["pickup"].P50, 2*3600)
	// review: MR1 5-2 = 3h, MR2 6-3 = 3h → 3h
	near(t, "review p50", bd["review"].P50, 3*3600)
	// deploy: MR1 8-5 = 3h, MR2 8-6 = 2h, MR4 8-7 = 1h → 2h
	near(t, "deploy p50", bd["deploy"].P50, 2*3600)
	if c := find(ms, "deployment_count"); *c.Value != 1 {
		t.Errorf("deployment_count = %v, want 1: retries in one pipeline count once", *c.Value)
	}
}

func TestChangeFailureRecoveryAndRestore(t *testing.T) {
	in := Input{
		MergeRequests: []models.MergeRequest{
			mr(1, 0, 1, []float64{0}),
			// MR 2 fixes incident #50 and ships in deployment 3.
			mr(2, 30, 31, []float64{30}, func(m *models.MergeRequest) { m.ClosesIssues = []string{"#50"} }),
			mr(3, 60, 61, []float64{60}),
			// MR 4 reverts MR 3; deployment 5 ships it.
			mr(4, 70, 71, []float64{70}, func(m *models.MergeRequest) { m.IsRevert, m.RevertsID = true, m.ID[:len(m.ID)-1]+"3" }),
		},
		Deployments: []models.Deployment{
			dep(1, 1, "production", "success", "a", 2, 1),  // D1 at 2h: incident #50 starts 3h later → failed
			dep(2, 2, "production", "failed", "b", 10),     // a failed job: not a deployment, an attempt failure
			dep(3, 3, "production", "success", "c", 32, 2), // D3 at 32h ships the fix of #50
			dep(4, 4, "production", "success", "d", 62, 3), // D4 at 62h ships MR 3, reverted later → failed
			dep(5, 5, "production", "success", "e", 72, 4), // D5 at 72h ships the revert
			dep(6, 6, "staging", "success", "f", 73),       // not production
		},
		Issues: []models.Issue{
			incident(50, 5, 40),    // starts 3h after D1; closed at 40h
			incident(51, -50, -49), // no production deployment before it: restore counts, no failure
			incident(52, 250, 251), // D5 finished 178h before: outside the 7-day (168h) window
		},
	}
	ms := DORA(in, opts())
	// Production deployments D1, D3, D4, D5 (D2 failed, D6 staging). Failed: D1 (incident), D4 (reverted) → 2/4.
	near(t, "change_failure_rate", find(ms, "change_failure_rate").Value, 0.5)
	if tier := find(ms, "change_failure_rate").Tier; tier != "low" {
		t.Errorf("CFR tier %q, want low (0.5 > 0.40)", tier)
	}
	// Attempts: D1, D3, D4, D5 succeeded, D2 failed → 1/5.
	near(t, "deploy_attempt_failure_rate", find(ms, "deploy_attempt_failure_rate").Value, 0.2)
	// Recovery: D1 recovered at min(incident end 40h, D3 shipping the fix 32h) = 32h → 30h;
	// D4 recovered by D5 (the revert) at 72h → 10h. p50 = 20h.
	rec := find(ms, "failed_deployment_recovery_time")
	if rec.N != 2 {
		t.Errorf("recovery n = %d, want 2", rec.N)
	}
	near(t, "recovery p50", rec.P50, 20*3600)
	// Time to restore, every closed incident: 35h, 1h, 1h → p50 1h.
	ttr := find(ms, "time_to_restore")
	if ttr.N != 3 {
		t.Errorf("time_to_restore n = %d, want 3", ttr.N)
	}
	near(t, "ttr p50", ttr.P50, 3600)
	// Rework: D3 ships a change closing an incident → 1/4.
	near(t, "rework_rate", find(ms, "rework_rate").Value, 0.25)
}

func TestRollbackToAnOlderSHAFailsTheDeploymentsItReplaces(t *testing.T) {
	in := Input{Deployments: []models.Deployment{
		dep(1, 1, "production", "success", "a", 1),
		dep(2, 2, "production", "success", "b", 2), // rolled back by D3
		dep(3, 3, "production", "success", "a", 5), // deploys the older SHA a
	}}
	ms := DORA(in, opts())
	near(t, "cfr", find(ms, "change_failure_rate").Value, 1.0/3)
	near(t, "recovery p50", find(ms, "failed_deployment_recovery_time").P50, 3*3600) // 5h - 2h
}

func TestNoSamplesMeansAbsent(t *testing.T) {
	ms := DORA(Input{}, opts())
	for _, name := range []string{"lead_time_for_changes", "failed_deployment_recovery_time", "time_to_restore"} {
		absent(t, name, find(ms, name).P50)
	}
	absent(t, "change_failure_rate", find(ms, "change_failure_rate").Value)
	if find(ms, "lead_time_for_changes").Tier != "" {
		t.Error("a tier for a metric with no samples")
	}
}

func TestPeriodsFollowTheConfiguredTimeZone(t *testing.T) {
	// A deployment at 2026-03-02 20:00 UTC is 2026-03-03 05:00 in Tokyo.
	d := dep(1, 1, "production", "success", "a", 11) // t0 + 11h = 20:00 UTC
	for _, tc := range []struct {
		loc  string
		want string
	}{{"UTC", "2026-03-02"}, {"Asia/Tokyo", "2026-03-03"}} {
		o := DefaultOptions(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
		o.Location, _ = time.LoadLocation(tc.loc)
		o.Grain = "day"
		c := find(DORA(Input{Deployments: []models.Deployment{d}}, o), "deployment_count")
		var day string
		for _, p := range c.Series {
			if *p.Value == 1 {
				day = p.PeriodStart.Format("2006-01-02")
			}
		}
		if day != tc.want {
			t.Errorf("%s: deployment counted on %s, want %s", tc.loc, day, tc.want)
		}
	}
}

func TestDeploymentFrequencyBand(t *testing.T) {
	// Window: 4 full ISO weeks, Mon 2 Mar .. Mon 30 Mar 2026.
	o := DefaultOptions(t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).AddDate(0, 0, 28))
	days := func(ds ...int) []models.Deployment {
		var out []models.Deployment
		for i, d := range ds {
			out = append(out, dep(int64(i+1), int64(i+1), "production", "success", "s"+strconv.FormatInt(int64(i), 10), float64(d*24)))
		}
		return out
	}
	tests := []struct {
		name string
		deps []models.Deployment
		band string
		tier string
	}{
		// 3 deploy days in each of the 4 weeks: median days/week 3 → daily.
		{"daily", days(0, 1, 2, 7, 8, 9, 14, 15, 16, 21, 22, 23), "daily", "elite"},
		// one deploy day in 3 of 4 weeks: median of [1,1,1,0] = 1 → weekly.
		{"weekly", days(0, 7, 14), "weekly", "high"},
		// one deployment in 2 weeks of the month: weeks [1,0,1,0] median 0.5; months: March has 2 weeks
		// with deployments (the window's 4 weeks lie in March) → median 2 ≥ 1 → monthly.
		{"monthly", days(0, 14), "monthly", "medium"},
		{"yearly", nil, "yearly", "low"},
	}
	for _, tc := range tests {
		f := find(DORA(Input{Deployments: tc.deps}, o), "deployment_frequency")
		if f.Band != tc.band || f.Tier != tc.tier {
			t.Errorf("%s: band %q tier %q, want %q %q", tc.name, f.Band, f.Tier, tc.band, tc.tier)
		}
	}
	// Frequency: 12 deployments over 28 days.
	near(t, "frequency", find(DORA(Input{Deployments: tests[0].deps}, o), "deployment_frequency").Value, 12.0/28)
}

func TestTier_PublishedOrderIsDeterministic(t *testing.T) {
	b := Benchmarks[2024]
	// 8% CFR: not elite (> 5%), high (≤ 20%) wins before medium's 10%.
	if got := Tier(b.CFR, 0.08); got != "high" {
		t.Errorf("CFR 8%% → %s", got)
	}
	if got := Tier(b.CFR, 0.05); got != "elite" {
		t.Errorf("CFR 5%% → %s (bound is inclusive)", got)
	}
	if got := Tier(b.CFR, 0.5); got != "low" {
		t.Errorf("CFR 50%% → %s", got)
	}
	if got := Tier(b.LeadTime, 200*day); got != "low" {
		t.Errorf("lead 200 days → %s", got)
	}
}

// A JIRA incident has no deployments of its own project: within a team's
// scope it is attributed to the team's last production deployment before it.
func TestTrackerIncidentIsAttributedWithinTheScope(t *testing.T) {
	inc := incident(60, 10, 12)
	inc.ProjectPath, inc.Type, inc.ID, inc.Source = "APP", "Incident", "jira:h:APP-7", "jira"
	in := Input{
		Deployments: []models.Deployment{dep(1, 1, "production", "success", "a", 2), dep(2, 2, "production", "success", "b", 8)},
		Issues:      []models.Issue{inc},
	}
	o := opts()
	o.IncidentTypes = []string{"Incident"}
	links := IncidentDeployments(in, o)
	if got := links["jira:h:APP-7"]; len(got) != 1 || got[0] != in.Deployments[1].ID {
		t.Errorf("APP-7 attributed to %v, want deployment 2 (8h, the last before 10h)", got)
	}
	// 1 of 2 production deployments failed; recovered when the incident closed: 12h - 8h.
	ms := DORA(in, o)
	near(t, "cfr", find(ms, "change_failure_rate").Value, 0.5)
	near(t, "recovery", find(ms, "failed_deployment_recovery_time").P50, 4*3600)
}

// The incidents drill-down: newest first, with time to restore and the
// deployment each fails (the change failure rate's own attribution).
func TestIncidents_DrillDown(t *testing.T) {
	in := Input{
		Deployments: []models.Deployment{dep(1, 10, "production", "success", "a", 0), dep(2, 11, "production", "success", "b", 100)},
		Issues:      []models.Issue{incident(1, 2, 6), incident(2, 101, 90), incident(3, 400, 401)},
	}
	in.Issues = append(in.Issues, models.Issue{ID: "bug", ProjectPath: P, Type: "bug", CreatedAt: at(3)})
	rows := Incidents(in, opts())
	if len(rows) != 3 || rows[0].Issue.Key != "#3" || rows[1].Issue.Key != "#2" || rows[2].Issue.Key != "#1" {
		t.Fatalf("rows: %+v", rows)
	}
	if rows[2].Restore == nil || *rows[2].Restore != 4*3600 || len(rows[2].Failed) != 1 || rows[2].Failed[0] != models.GitLabID("h", 1, "deployment", 1) {
		t.Errorf("#1: %+v", rows[2])
	}
	if rows[1].Restore != nil || len(rows[1].Failed) != 1 || rows[1].Failed[0] != models.GitLabID("h", 1, "deployment", 2) {
		t.Errorf("#2 (open, after deployment 2): %+v", rows[1])
	}
	if len(rows[0].Failed) != 0 {
		t.Errorf("#3 is beyond the attribution window of any deployment: %+v", rows[0])
	}
}

// TestProductionDeployments_ShipsCausesAndRecovery works one example by hand:
//
//	d1 at 10h (sha a) ships MR 1 (2 commits) and MR 2 (1 commit); fine.
//	d2 at 20h (sha b) ships MR 3; incident #7 opens at 22h and closes at 25h:
//	   d2 failed by "incident #7", recovered at 25h (5h).
//	d3 at 30h (sha c) ships MR 4; d4 at 33h deploys sha b again: d3 is
//	   rolled back, recovered at 33h (3h); d4 itself is fine and ships nothing.
//	a staging deployment and one before the window are not listed.
func TestProductionDeployments_ShipsCausesAndRecovery(t *testing.T) {
	in := Input{
		MergeRequests: []models.MergeRequest{
			mr(1, 0, 5, []float64{-10, -4}), mr(2, 1, 6, []float64{-2}), mr(3, 12, 15, []float64{11}), mr(4, 26, 28, []float64{25}),
		},
		Deployments: []models.Deployment{
			dep(9, 90, "production", "success", "z", -200),
			dep(1, 100, "production", "success", "a", 10, 1, 2),
			dep(2, 101, "production", "success", "b", 20, 3),
			dep(5, 105, "staging", "success", "c", 29),
			dep(3, 102, "production", "success", "c", 30, 4),
			dep(4, 103, "production", "success", "b", 33),
		},
		Issues: []models.Issue{incident(7, 22, 25)},
	}
	o := opts()
	rows := ProductionDeployments(in, o)
	if len(rows) != 4 {
		t.Fatalf("rows = %d, want 4 (production, in the window): %+v", len(rows), rows)
	}
	type want struct {
		sha              string
		changes, commits int
		failed           bool
		causes           string
		recovery         float64 // hours; 0 = none
	}
	wants := []want{{"b", 0, 0, false, "", 0}, {"c", 1, 1, true, "rolled back", 3}, {"b", 1, 1, true, "incident #7", 5}, {"a", 2, 3, false, "", 0}}
	for i, w := range wants {
		r := rows[i]
		if r.SHA != w.sha || r.Changes != w.changes || r.Commits != w.commits || r.Failed != w.failed || strings.Join(r.Causes, ", ") != w.causes {
			t.Errorf("row %d = sha %s, %d changes, %d commits, failed %v, causes %q; want %+v", i, r.SHA, r.Changes, r.Commits, r.Failed, r.Causes, w)
		}
		if w.recovery == 0 {
			absent(t, "recovery of "+r.SHA, r.Recovery)
		} else {
			near(t, "recovery of "+r.SHA, r.Recovery, w.recovery*3600)
		}
	}
	// The drill-down and the metric are one computation.
	ms := DORA(in, o)
	near(t, "change_failure_rate", find(ms, "change_failure_rate").Value, 2.0/4)
	near(t, "failed_deployment_recovery_time p50", find(ms, "failed_deployment_recovery_time").P50, 4*3600)
}

// TestDORA_JobDeployedProject: a project without GitLab environments
// deploys from a CI job (the jobs stream lands each deploy job as a
// production deployment with no MR list). Worked by hand:
//
//	pipeline 100: job deploy ok at 10h (sha a)            ships MR 1 (merged 5h, commit 0h): lead 10h
//	pipeline 101: job deploy failed at 20h, retried ok at 21h (sha b): one deployment at 21h,
//	              ships MR 2 (merged 15h, commit 12h): lead 9h; incident 22h..24h fails it: recovery 3h
//	pipeline 102: job deploy ok at 40h (sha c)            ships MR 3 (merged 30h, commit 28h): lead 12h
//
//	deployments 3 (3/28 a day), lead p50 10h, change failure 1/3, recovery 3h, attempts failed 1 of 4.
func TestDORA_JobDeployedProject(t *testing.T) {
	job := func(id, pipeline int64, status, sha string, h float64) models.Deployment {
		d := dep(id, pipeline, "production", status, sha, h)
		d.ID = models.GitLabID("h", 1, "job", id)
		d.JobName = "deploy"
		return d
	}
	in := Input{
		MergeRequests: []models.MergeRequest{mr(1, 1, 5, []float64{0}), mr(2, 13, 15, []float64{12}), mr(3, 29, 30, []float64{28})},
		Deployments:   []models.Deployment{job(1, 100, "success", "a", 10), job(2, 101, "failed", "b", 20), job(3, 101, "success", "b", 21), job(4, 102, "success", "c", 40)},
		Issues:        []models.Issue{incident(9, 22, 24)},
	}
	ms := DORA(in, opts())
	near(t, "deployment_count", find(ms, "deployment_count").Value, 3)
	near(t, "deployment_frequency", find(ms, "deployment_frequency").Value, 3.0/28)
	near(t, "lead_time_for_changes p50", find(ms, "lead_time_for_changes").P50, 10*3600)
	near(t, "change_failure_rate", find(ms, "change_failure_rate").Value, 1.0/3)
	near(t, "failed_deployment_recovery_time p50", find(ms, "failed_deployment_recovery_time").P50, 3*3600)
	near(t, "deploy_attempt_failure_rate", find(ms, "deploy_attempt_failure_rate").Value, 1.0/4)
	rows := ProductionDeployments(in, opts())
	if len(rows) != 3 || rows[1].Changes != 1 || !rows[1].Failed || strings.Join(rows[1].Causes, ",") != "incident #9" {
		t.Errorf("drill-down = %+v", rows)
	}
}

// An incident labelled not-change-related (a provider outage) counts in
// time_to_restore but fails no deployment: the same incident without the
// label fails the deployment before it.
func TestIncidents_NotChangeRelated(t *testing.T) {
	in := func(labels ...string) Input {
		x := incident(5, 12, 15)
		x.Labels = labels
		return Input{Deployments: []models.Deployment{dep(1, 100, "production", "success", "a", 10)}, Issues: []models.Issue{x}}
	}
	o := opts()
	plain := DORA(in(), o)
	near(t, "change_failure_rate (a change-related incident)", find(plain, "change_failure_rate").Value, 1)
	ms := DORA(in("not-change-related"), o)
	near(t, "change_failure_rate", find(ms, "change_failure_rate").Value, 0)
	absent(t, "failed_deployment_recovery_time", find(ms, "failed_deployment_recovery_time").P50)
	near(t, "time_to_restore p50", find(ms, "time_to_restore").P50, 3*3600)
	if rows := Incidents(in("Not-Change-Related"), o); len(rows) != 1 || len(rows[0].Failed) != 0 {
		t.Errorf("incident rows = %+v, want the incident with no failed deployment (labels match case-insensitively)", rows)
	}
}

// TestIssueLinks_TicketLeadTimeReworkUnlinkedRecovery: a team plans in JIRA
// and ships from GitLab; its MRs name JIRA keys. Worked by hand:
//
//	APP-1 story, created 0h, in progress 10h, done 50h     MR 1 (merged 20h) → d1 30h; MR 2 (merged 35h) → d2 40h
//	APP-2 bug, created 5h, done 45h                        MR 2
//	APP-9 incident, 31h..60h                               fails d1 (the deployment before it); MR 2 names it
//	APP-3 story, done, linked only from MR 4, never deployed: no ticket lead time
//	MR 3 names nothing
//
//	ticket_lead_time: APP-1 40h, APP-2 35h (both end at d2, the deployment of their last change): p50 37.5h;
//	                  in progress: APP-1 30h. APP-9 (done, shipped by d2) 9h: created 31h → 40h.
//	                  So samples 40h, 35h, 9h: p50 35h; in progress 30h.
//	rework_rate: d2 ships a bug and an incident fix, d1 only a story: 1/2.
//	recovery of d1: the incident ends at 60h, but d2 ships the change that names it at 40h: 10h.
//	unlinked_change_rate: MR 3 of 4 merged MRs: 1/4.
func TestIssueLinks_TicketLeadTimeReworkUnlinkedRecovery(t *testing.T) {
	jira := func(key, typ, class string, created, done float64, inProgress float64) models.Issue {
		x := models.Issue{Origin: models.Origin{Source: "jira", Instance: "jira.example"}, ID: "jira:" + key, ProjectPath: "APP", Key: key,
			Type: typ, TypeClass: class, CreatedAt: at(created), UpdatedAt: at(done), ClosedAt: atp(done), Status: "Done", StatusCategory: "done"}
		prev, prevCat := "To Do", "todo"
		if inProgress >= 0 {
			x.Transitions = append(x.Transitions, models.IssueTransition{IssueID: x.ID, ID: key + "1", Field: models.FieldStatus, At: at(inProgress),
				From: prev, To: "In Progress", FromCategory: prevCat, ToCategory: "in_progress"})
			prev, prevCat = "In Progress", "in_progress"
		}
		x.Transitions = append(x.Transitions, models.IssueTransition{IssueID: x.ID, ID: key + "2", Field: models.FieldStatus, At: at(done),
			From: prev, To: "Done", FromCategory: prevCat, ToCategory: "done"})
		return x
	}
	links := func(keys ...string) mrOpt {
		return func(m *models.MergeRequest) {
			for _, k := range keys {
				m.IssueLinks = append(m.IssueLinks, models.IssueLink{MRID: m.ID, Tracker: "jira", Key: k, Via: "title"})
			}
		}
	}
	in := Input{
		MergeRequests: []models.MergeRequest{
			mr(1, 15, 20, []float64{14}, links("APP-1")),
			mr(2, 33, 35, []float64{32}, links("APP-1", "APP-2", "APP-9")),
			mr(3, 34, 36, []float64{33}),
			mr(4, 44, 45, []float64{43}, links("APP-3")),
		},
		Deployments: []models.Deployment{dep(1, 100, "production", "success", "a", 30, 1), dep(2, 101, "production", "success", "b", 40, 2, 3)},
		Issues: []models.Issue{jira("APP-1", "Story", "story", 0, 50, 10), jira("APP-2", "Bug", "bug", 5, 45, -1),
			jira("APP-9", "Incident", "incident", 31, 60, -1), jira("APP-3", "Story", "story", 1, 46, -1)},
	}
	ms := DORA(in, opts())
	tl := find(ms, "ticket_lead_time")
	near(t, "ticket_lead_time p50", tl.P50, 35*3600)
	if tl.N != 3 {
		t.Errorf("ticket_lead_time n = %d, want 3 (APP-1, APP-2, APP-9; APP-3's change never deployed)", tl.N)
	}
	near(t, "ticket_lead_time.in_progress p50", tl.Parts["in_progress"].P50, 30*3600)
	near(t, "rework_rate", find(ms, "rework_rate").Value, 0.5)
	near(t, "failed_deployment_recovery_time p50", find(ms, "failed_deployment_recovery_time").P50, 10*3600)
	near(t, "unlinked_change_rate", find(ms, "unlinked_change_rate").Value, 0.25)

	// Without tracker issues in the scope, no unlinked rate (not "100% unlinked").
	in.Issues = nil
	absent(t, "unlinked_change_rate without a tracker", find(DORA(in, opts()), "unlinked_change_rate").Value)
}

// A JIRA Blocker (incidents.jira_priorities) is an incident: it fails the
// deployment before it; the same priority on a Redmine issue is not one
// unless redmine_priorities names it.
func TestIncidents_ByPriority(t *testing.T) {
	blocker := func(source string) models.Issue {
		x := incident(5, 12, 15)
		x.Type, x.TypeClass, x.Source, x.Priority = "Bug", "bug", source, "Blocker"
		return x
	}
	o := opts()
	o.IncidentPriorities = map[string][]string{"jira": {"blocker"}}
	for _, c := range []struct {
		source string
		want   float64
	}{{"jira", 1}, {"redmine", 0}} {
		in := Input{Deployments: []models.Deployment{dep(1, 100, "production", "success", "a", 10)}, Issues: []models.Issue{blocker(c.source)}}
		near(t, c.source+" Blocker: change_failure_rate", find(DORA(in, o), "change_failure_rate").Value, c.want)
	}
}

// Rule (a): an incident that names the deployment it was caused by (by SHA
// or deployment id, e.g. reported through the ingest) fails that one, not
// the last deployment before it (rule (b)).
func TestIncidents_NamedDeploymentFails(t *testing.T) {
	deps := []models.Deployment{dep(1, 100, "production", "success", "a", 10), dep(2, 101, "production", "success", "b", 20)}
	for _, c := range []struct{ name, causedBy, failedSHA string }{
		{"unnamed: the last before it (b)", "", "b"},
		{"by sha", "sha:a", "a"},
		{"by deployment id", models.GitLabID("h", 1, "deployment", 1), "a"},
		{"naming nothing deployed: back to (b)", "sha:zzz", "b"},
	} {
		x := incident(5, 22, 25)
		x.CausedBy = c.causedBy
		rows := ProductionDeployments(Input{Deployments: deps, Issues: []models.Issue{x}}, opts())
		var failed []string
		for _, r := range rows {
			if r.Failed {
				failed = append(failed, r.SHA)
			}
		}
		if strings.Join(failed, ",") != c.failedSHA {
			t.Errorf("%s: failed %v, want %s", c.name, failed, c.failedSHA)
		}
	}
}

// TestDeployedChanges_BoundedBySHA: deploy jobs carry no MR list, so a
// deployment's changes are the MRs merged between the previous deployment's
// SHA and its own. Worked by hand (hours):
//
//	MR 1 merged 5 (merge commit m1), MR 2 merged 12 (squash s2), MR 3 merged 25 (m3), MR 4 merged 33
//	j1 deploys m1, finished 13: its pipeline began before MR 2 merged, so it ships MR 1 only
//	   (the time rule alone would give it MR 2 too)
//	j2 deploys s2, finished 20: MR 2
//	j3 deploys m1 again at 30, a roll-back: ships nothing (the time rule gave it MR 3)
//	j4 deploys m3 at 40: MR 3
//	j5 deploys x, a direct push no MR merged, at 45: the time rule, MR 4
//
//	lead times per commit: MR1 13-4=9, MR2 20-11=9, MR3 40-24=16, MR4 45-32=13: p50 11
func TestDeployedChanges_BoundedBySHA(t *testing.T) {
	job := func(id, pipeline int64, sha string, h float64) models.Deployment {
		d := dep(id, pipeline, "production", "success", sha, h)
		d.ID = models.GitLabID("h", 1, "job", id)
		d.JobName = "deploy"
		return d
	}
	sha := func(merge, squash string) mrOpt {
		return func(m *models.MergeRequest) { m.MergeCommitSHA, m.SquashCommitSHA = merge, squash }
	}
	in := Input{
		MergeRequests: []models.MergeRequest{mr(1, 1, 5, []float64{4}, sha("m1", "")), mr(2, 10, 12, []float64{11}, sha("", "s2")),
			mr(3, 23, 25, []float64{24}, sha("m3", "")), mr(4, 31, 33, []float64{32})},
		Deployments: []models.Deployment{job(1, 100, "m1", 13), job(2, 101, "s2", 20), job(3, 102, "m1", 30), job(4, 103, "m3", 40), job(5, 104, "x", 45)},
	}
	rows := ProductionDeployments(in, opts())
	var got []int
	for _, r := range rows {
		got = append(got, r.Changes)
	}
	if want := []int{1, 1, 0, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("changes per deployment = %v, want %v", got, want)
	}
	near(t, "lead_time_for_changes p50", find(DORA(in, opts()), "lead_time_for_changes").P50, 11*3600)
}

// TestFailedBy_IncidentNamesItsMROrCommit: rule (a) through what a GitLab
// incident's description states ("caused by !1", "caused by 3f2a9c1"):
// the named deployment fails, not the last one before the incident (rule
// (b) would pick d2 for both).
//
//	MR 1 merged 5 → d1 (sha 3f2a9c1e…) at 10; MR 2 merged 15 → d2 at 20; incident 22..25
func TestFailedBy_IncidentNamesItsMROrCommit(t *testing.T) {
	for _, cause := range []string{"mr:" + models.GitLabID("h", 1, "mr", 1), "sha:3f2a9c1", "sha:3F2A9C1E77"} {
		x := incident(9, 22, 25)
		x.CausedBy = cause
		in := Input{
			MergeRequests: []models.MergeRequest{mr(1, 1, 5, []float64{4}), mr(2, 12, 15, []float64{14})},
			Deployments:   []models.Deployment{dep(1, 100, "production", "success", "3f2a9c1e77aa", 10), dep(2, 101, "production", "success", "b", 20)},
			Issues:        []models.Issue{x},
		}
		rows := Incidents(in, opts())
		if len(rows) != 1 || len(rows[0].Failed) != 1 || rows[0].Failed[0] != models.GitLabID("h", 1, "deployment", 1) {
			t.Errorf("%s: incident rows = %+v, want it to fail deployment 1", cause, rows)
		}
		near(t, cause+": failed_deployment_recovery_time p50", find(DORA(in, opts()), "failed_deployment_recovery_time").P50, 15*3600)
	}
}

// TestShare_NeverReusedUnderOtherOptions: an input shared under one set of
// production and incident options gives, computed with another, exactly
// what the other gives unshared: the shared attribution is only a cache.
func TestShare_NeverReusedUnderOtherOptions(t *testing.T) {
	base := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := base.Add(time.Duration(h) * time.Hour); return &x }
	in := Input{
		MergeRequests: []models.MergeRequest{{ID: "m1", ProjectPath: "p", TargetBranch: "main", State: "merged", CreatedAt: base, UpdatedAt: *at(2), MergedAt: at(2)}},
		Deployments:   []models.Deployment{{ID: "d1", ProjectPath: "p", Environment: "live", Status: "success", Ref: "main", UpdatedAt: *at(5), FinishedAt: at(5)}},
	}
	o := DefaultOptions(base, base.AddDate(0, 0, 7)) // "live" is not production by default
	other := o
	other.Production = regexp.MustCompile(`^live$`)
	shared := Share(in, o)
	if got, want := Compute(shared, other)["deployment_count"].Value, Compute(in, other)["deployment_count"].Value; *got != *want || *want != 1 {
		t.Errorf("deployment_count with live as production: shared under other options %v, unshared %v (want 1)", *got, *want)
	}
	if got := Compute(shared, o)["deployment_count"].Value; *got != 0 {
		t.Errorf("deployment_count under the shared options = %v, want 0", *got)
	}
}

// TestProductionDeployments_CausesInRecordOrder: a deployment whose two
// changes are both reverted lists both reverts, in the order of the records
// (MR 5's revert, then MR 6's), every time: the changes were walked in a
// map's order, so the two swapped places from one run to the next.
func TestProductionDeployments_CausesInRecordOrder(t *testing.T) {
	revert := func(of int64) mrOpt {
		return func(m *models.MergeRequest) { m.IsRevert, m.RevertsID = true, models.GitLabID("h", 1, "mr", of) }
	}
	in := Input{
		MergeRequests: []models.MergeRequest{
			mr(1, 0, 5, []float64{-1}), mr(2, 1, 6, []float64{0}), mr(3, 12, 15, []float64{11}, revert(1)), mr(4, 13, 16, []float64{12}, revert(2)),
		},
		Deployments: []models.Deployment{dep(1, 100, "production", "success", "a", 10, 1, 2), dep(2, 101, "production", "success", "b", 20, 3, 4)},
	}
	for run := range 30 {
		rows := ProductionDeployments(in, opts())
		if len(rows) != 2 {
			t.Fatalf("rows = %d, want 2: %+v", len(rows), rows)
		}
		if got := strings.Join(rows[1].Causes, ", "); got != "reverted by !3, reverted by !4" {
			t.Fatalf("run %d: causes of deployment 1 %q, want %q", run, got, "reverted by !3, reverted by !4")
		}
	}
}

// TestShippedSince: of the changes merged before the cut (50h), only those a
// production deployment at or after it ships are named: MR 2 (merged 40h on
// a branch first deployed at 60h; the staging deployment listing it at 41h
// does not count) and MR 3 (merged 42h, listed by the deployment at 70h).
// MR 1 was deployed at 30h, MR 4 merged after the cut, and MR 5's branch is
// never deployed.
func TestShippedSince(t *testing.T) {
	release := func(m *models.MergeRequest) { m.TargetBranch = "release" }
	legacy := func(m *models.MergeRequest) { m.TargetBranch = "legacy" }
	rel := func(d models.Deployment) models.Deployment { d.Ref = "release"; return d }
	in := Input{
		MergeRequests: []models.MergeRequest{mr(1, 0, 20, []float64{0}), mr(2, 30, 40, []float64{30}, release), mr(3, 35, 42, []float64{35}),
			mr(4, 50, 55, []float64{50}), mr(5, 10, 20, []float64{10}, legacy)},
		Deployments: []models.Deployment{dep(1, 1, "production", "success", "a", 30), dep(2, 2, "staging", "success", "b", 41, 2),
			rel(dep(3, 3, "production", "success", "c", 60)), dep(4, 4, "production", "success", "d", 70, 3, 4)},
	}
	got := ShippedSince(in, opts(), at(50))
	want := []string{models.GitLabID("h", 1, "mr", 2), models.GitLabID("h", 1, "mr", 3)}
	if !slices.Equal(got, want) {
		t.Errorf("ShippedSince = %v, want %v", got, want)
	}
}

// TestShare_RecordsReplacedAreAnalysedAgain: the shared attribution indexes
// changes by their records' positions, so an input whose records were
// replaced after Share is worked out again, never read through the old
// analysis (which would time the new records by the old ones' deployments).
func TestShare_RecordsReplacedAreAnalysedAgain(t *testing.T) {
	deps := []models.Deployment{dep(1, 1, "production", "success", "a", 30, 1), dep(2, 2, "production", "success", "b", 90, 1)}
	first := Input{MergeRequests: []models.MergeRequest{mr(1, 0, 20, []float64{0})}, Deployments: deps[:1]}
	second := Input{MergeRequests: []models.MergeRequest{mr(1, 0, 20, []float64{10})}, Deployments: deps[1:]}
	o := opts()
	in := Share(first, o)
	in.MergeRequests, in.Deployments = second.MergeRequests, second.Deployments
	got := find(DORA(in, o), "lead_time_for_changes").P50
	want := find(DORA(second, o), "lead_time_for_changes").P50
	if got == nil || want == nil || *got != *want {
		t.Errorf("lead time after replacing the records: %s, analysed afresh: %s", show(got), show(want))
	}
	// The deployments alone replaced: the same.
	in = Share(first, o)
	in.Deployments = deps[1:]
	got = find(DORA(in, o), "lead_time_for_changes").P50
	want = find(DORA(Input{MergeRequests: first.MergeRequests, Deployments: deps[1:]}, o), "lead_time_for_changes").P50
	if got == nil || want == nil || *got != *want {
		t.Errorf("lead time after replacing the deployments: %s, analysed afresh: %s", show(got), show(want))
	}
}

func show(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}
