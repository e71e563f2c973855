package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)

func h(hours float64) time.Time {
	return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(hours * float64(time.Hour)))
}
func hp(hours float64) *time.Time {
	t := h(hours)
	return &t
}

// batch: two projects of one server; api ships twice a week, web once.
func batch() *models.Batch {
	o := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	b := &models.Batch{}
	for i := 0; i < 8; i++ {
		project := "acme/api"
		if i%4 == 3 {
			project = "acme/web"
		}
		base := float64(i) * 72
		id := models.GitLabID(o.Instance, int64(1+i%4/3), "mr", int64(i+1))
		title := ""
		if i == 0 {
			title = "Speed up the checkout flow"
		}
		b.MergeRequests = append(b.MergeRequests, models.MergeRequest{Origin: o, ID: id, ProjectPath: project, IID: int64(i + 1), AIAssisted: i%4 == 1,
			Title: title, State: "merged", TargetBranch: "main", Author: models.Person{Token: "a" + string(rune('0'+i%3))},
			CreatedAt: h(base), UpdatedAt: h(base + 10), MergedAt: hp(base + 10 + float64(i)),
			Commits: []models.MRCommit{{MRID: id, SHA: id + "c", AuthoredAt: h(base - 5)}},
			Reviews: []models.MRReview{{MRID: id, ID: id + "r", Reviewer: models.Person{Token: "r"}, CreatedAt: h(base + 2 + float64(i))}},
			WebURL:  "https://gitlab.example.com/" + project + "/-/merge_requests/" + itoa(i+1)})
		b.Deployments = append(b.Deployments, models.Deployment{Origin: o, ID: id + "d", ProjectPath: project, Environment: "production",
			EnvironmentTier: "production", Status: "success", Ref: "main", SHA: itoa(i), PipelineID: int64(100 + i),
			FinishedAt: hp(base + 30), UpdatedAt: h(base + 30), Changes: []models.DeploymentChange{{MRID: id}}})
	}
	b.Issues = append(b.Issues, models.Issue{Origin: o, ID: "inc1", ProjectPath: "acme/api", Key: "#1", Type: "incident",
		CreatedAt: h(32), ClosedAt: hp(36), UpdatedAt: h(36)})
	b.Pipelines = append(b.Pipelines, models.Pipeline{Origin: o, ID: "p1", ProjectPath: "acme/api", Status: "success", IsDefaultBranch: true,
		FinishedAt: hp(5), UpdatedAt: h(5), DurationS: ptrf(600), QueuedDurationS: ptrf(12)})
	// api's deployment of 462 h (sha 06) is rolled back at 472 h to sha 05.
	b.Deployments = append(b.Deployments, models.Deployment{Origin: o, ID: "rollback", ProjectPath: "acme/api", Environment: "production",
		EnvironmentTier: "production", Status: "success", Ref: "main", SHA: itoa(5), PipelineID: 200, FinishedAt: hp(472), UpdatedAt: h(472)})
	b.Sprints, b.Issues = append(b.Sprints, jiraSprints()...), append(b.Issues, jiraIssues()...)
	return b
}

var jira = models.Origin{Source: "jira", Instance: "jira.example.com"}

// jiraSprints: S1 2–16 Mar, S2 16–27 Mar (09:00 UTC, completed).
func jiraSprints() []models.Sprint {
	sp := func(n int, start, end float64) models.Sprint {
		return models.Sprint{Origin: jira, ID: fmt.Sprintf("jira:jira.example.com:sprint:%d", n), ProjectPath: "APP", Name: fmt.Sprintf("APP Sprint %d", n),
			State: "closed", StartAt: hp(start), EndAt: hp(end), CompleteAt: hp(end), UpdatedAt: h(end)}
	}
	return []models.Sprint{sp(1, 0, 336), sp(2, 336, 600)}
}

// jiraIssues: in S1, APP-1 (3 pts) done, APP-2 (5) carried over to S2 and
// done there, APP-3 (2, a bug) added on day 3 and done; APP-4 (8) committed
// to S2 and still in progress; APP-5 a new bug in no sprint.
func jiraIssues() []models.Issue {
	s1, s2 := "jira:jira.example.com:sprint:1", "jira:jira.example.com:sprint:2"
	mk := func(n int, typ string, created float64, sprint string, points float64, ip, done float64, moves ...models.IssueTransition) models.Issue {
		id := fmt.Sprintf("jira:jira.example.com:issue:%d", n)
		x := models.Issue{Origin: jira, ID: id, ProjectPath: "APP", Key: fmt.Sprintf("APP-%d", n), Type: typ, TypeClass: strings.ToLower(typ),
			CreatedAt: h(created), UpdatedAt: h(created), SprintID: sprint, StoryPoints: ptrf(points), Status: "To Do", StatusCategory: "todo"}
		add := func(at float64, to, cat, from, fromCat string) {
			x.Transitions = append(x.Transitions, models.IssueTransition{IssueID: id, ID: fmt.Sprintf("%s:%d", id, len(x.Transitions)), Field: models.FieldStatus,
				At: h(at), From: from, To: to, FromCategory: fromCat, ToCategory: cat})
			x.Status, x.StatusCategory, x.UpdatedAt = to, cat, h(at)
		}
		if ip >= 0 {
			add(ip, "In Progress", "in_progress", "To Do", "todo")
		}
		if done >= 0 {
			add(done, "Done", "done", "In Progress", "in_progress")
			x.ClosedAt = hp(done)
		}
		for i, m := range moves {
			m.IssueID, m.ID = id, fmt.Sprintf("%s:m%d", id, i)
			x.Transitions = append(x.Transitions, m)
		}
		return x
	}
	move := func(at float64, from, to string) models.IssueTransition {
		return models.IssueTransition{Field: models.FieldSprint, At: h(at), From: from, To: to}
	}
	return []models.Issue{
		mk(1, "Story", -24, s1, 3, 24, 100),
		mk(2, "Story", -24, s2, 5, 48, 400, move(336, s1, s2)),
		mk(3, "Bug", 59, s1, 2, 70, 200, move(60, "", s1)),
		mk(4, "Task", 300, s2, 8, 350, -1),
		mk(5, "Bug", 500, "", 1, -1, -1),
	}
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func results(t *testing.T) ([]Result, metrics.Options) {
	cfg := config.Defaults()
	cfg.Sources["gitlab"] = &config.Source{Name: "gitlab", URL: "https://gitlab.example.com"}
	cfg.Sources["jira"] = &config.Source{Name: "jira", Type: "jira", URL: "https://jira.example.com"}
	cfg.Teams = map[string][]string{"shop": {"gitlab:acme/api", "gitlab:acme/web", "jira:APP"}}
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)
	b := batch()
	return Compute(b, Scopes(TeamMembers(cfg), b), o), o
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./report -update and review the diff.\ngot:\n%s", name, got)
	}
}

func TestScopes_ProjectsAndTeams(t *testing.T) {
	rs, _ := results(t)
	var names []string
	for _, r := range rs {
		names = append(names, r.Scope.Kind+":"+r.Scope.Name)
	}
	if strings.Join(names, ",") != "team:shop,project:APP,project:acme/api,project:acme/web" {
		t.Errorf("scopes = %v", names)
	}
	// The team is the union of its projects: 9 deployments = 7 (api, one a roll-back) + 2 (web) + 0 (APP, a tracker).
	if got := *rs[0].Set["deployment_count"].Value; got != 9 {
		t.Errorf("team deployments = %v, want 9", got)
	}
	if got := *rs[1].Set["deployment_count"].Value + *rs[2].Set["deployment_count"].Value + *rs[3].Set["deployment_count"].Value; got != 9 {
		t.Errorf("project deployments add up to %v", got)
	}
}

func TestTable_Golden(t *testing.T) {
	rs, o := results(t)
	var buf bytes.Buffer
	WriteTable(&buf, rs, o)
	for _, line := range strings.Split(buf.String(), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	golden(t, "report.txt", buf.Bytes())
}

func TestJSON_GoldenAndSchema(t *testing.T) {
	rs, o := results(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Document(rs, o, now)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", buf.Bytes())

	var doc struct {
		Window struct{ Since, Until, Timezone string }
		Scopes []struct {
			Kind, Name string
			Metrics    map[string]map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Window.Since != "2026-03-02T00:00:00Z" || doc.Window.Until != "2026-03-30T00:00:00Z" || doc.Window.Timezone != "UTC" {
		t.Errorf("window = %+v", doc.Window)
	}
	m := doc.Scopes[0].Metrics
	for _, k := range []string{"value", "unit", "n", "tier", "benchmark_year", "band", "series"} {
		if _, ok := m["deployment_frequency"][k]; !ok {
			t.Errorf("deployment_frequency lacks %q", k)
		}
	}
	for _, k := range []string{"p50", "p85", "unit", "n", "tier", "benchmark_year", "series"} {
		if _, ok := m["lead_time_for_changes"][k]; !ok {
			t.Errorf("lead_time_for_changes lacks %q", k)
		}
	}
	for _, part := range []string{"coding", "pickup", "review", "deploy"} {
		var p struct {
			P50, P85 *float64
			N        int
		}
		if err := json.Unmarshal(m["lead_time_breakdown"][part], &p); err != nil || p.P50 == nil || p.N == 0 {
			t.Errorf("lead_time_breakdown.%s = %s", part, m["lead_time_breakdown"][part])
		}
	}
	// The team's first api deployment (30h) is followed by incident #1 (32h..36h): recovery 6h;
	// its deployment of 462h is rolled back at 472h: 10h. p50 8h.
	if string(m["failed_deployment_recovery_time"]["p50"]) != "28800" {
		t.Errorf("team recovery p50 = %s, want 28800", m["failed_deployment_recovery_time"]["p50"])
	}
	// A metric with no samples is null, never 0: acme/web had no failed deployment.
	web := doc.Scopes[3]
	if web.Name != "acme/web" || string(web.Metrics["failed_deployment_recovery_time"]["p50"]) != "null" {
		t.Errorf("%s recovery p50 = %s, want null", web.Name, web.Metrics["failed_deployment_recovery_time"]["p50"])
	}

	// The new sections, read back as a consumer would.
	var views struct {
		Scopes []struct {
			Name    string
			Metrics struct {
				Score struct {
					Value     float64
					Edition   int
					Reference struct{ Mean, Std float64 }
					Group     struct{ Key, Name string } `json:"reference_group"`
					Parts     map[string]struct {
						Score     *float64
						Answer    string
						Reference struct{ Mean, Std float64 }
					}
				} `json:"dora_score"`
				SayDo struct {
					Sprints []struct {
						Name    string
						BurnUp  []struct{ Scope, Done float64 } `json:"burn_up"`
						Carried []string                        `json:"carried_over"`
					}
				} `json:"say_do_ratio"`
			}
			Deployments []struct {
				SHA      string
				Failed   bool
				Causes   []string
				MRs      int      `json:"merge_requests"`
				Recovery *float64 `json:"recovery_seconds"`
			}
			Flow []struct {
				Day                    string
				Todo, InProgress, Done int
			} `json:"cumulative_flow"`
			Cycle []struct {
				Key     string
				Seconds float64
			} `json:"cycle_times"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &views); err != nil {
		t.Fatal(err)
	}
	team := views.Scopes[0]
	sc := team.Metrics.Score
	// lead 35h → 6, 9 deployments in 28 days → 6, recovery 8h → 8, 2 of 9 failed → 7.78, rework 0 → 10.
	if math.Abs(sc.Value-(6+6+8+(10-20.0/9)+10)/5) > 1e-9 || sc.Edition != 2025 || sc.Group.Key != "all" || sc.Reference.Mean != 4.3 {
		t.Errorf("dora_score = %+v", sc)
	}
	if p := sc.Parts["lead_time_for_changes"]; p.Score == nil || *p.Score != 6 || p.Answer != "One day to one week" || p.Reference.Mean != 5.5 {
		t.Errorf("dora_score.lead_time_for_changes = %+v", p)
	}
	if p := sc.Parts["change_failure_rate"]; math.Abs(p.Reference.Mean-8.1) > 1e-9 {
		t.Errorf("change failure reference = %+v, want 10 − 1.9 as dora.dev shows it", p.Reference)
	}
	var failed []string
	for _, d := range team.Deployments {
		if d.Failed {
			failed = append(failed, d.SHA+": "+strings.Join(d.Causes, ","))
		}
	}
	if len(team.Deployments) != 9 || strings.Join(failed, "; ") != "06: rolled back; 00: incident #1" {
		t.Errorf("deployments: %d, failed %v", len(team.Deployments), failed)
	}
	sp := team.Metrics.SayDo.Sprints
	if len(sp) != 2 || len(sp[0].BurnUp) != 15 || strings.Join(sp[0].Carried, ",") != "APP-2" || strings.Join(sp[1].Carried, ",") != "APP-4" {
		t.Errorf("sprints = %+v", sp)
	} else if last := sp[0].BurnUp[len(sp[0].BurnUp)-1]; last.Scope != 10 || last.Done != 5 {
		t.Errorf("S1 burn-up ends at scope %v done %v, want 10 and 5 (APP-1 3 + APP-2 5 + APP-3 2; done APP-1 and APP-3)", last.Scope, last.Done)
	}
	if len(team.Flow) != 28 || len(team.Cycle) != 3 {
		t.Errorf("cumulative flow %d days (want 28), cycle times %d (want 3)", len(team.Flow), len(team.Cycle))
	}
}

func TestHTML_SelfContained(t *testing.T) {
	rs, o := results(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rs, o, now); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	// Nothing is loaded from the network: only links to merge requests may point outside.
	for _, m := range regexp.MustCompile(`(?:src|href)="(https?:[^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "/-/merge_requests/") {
			t.Errorf("external resource %s", m[1])
		}
	}
	for _, want := range []string{"Deployment frequency", "<svg", "Speed up the checkout flow", "team · shop", `<nav class="toc">`, `<a href="#team-shop">team · shop</a>`, `<section id="team-shop">`, `<h3 id="team-shop-incidents">Incidents</h3>`, "<td>#1</td>", "yes (1 deployment record(s))"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A withheld title shows as an empty cell beside the reference, not a
	// "withheld" note on every row; no comparison is not bad news.
	if strings.Contains(page, "withheld") {
		t.Error("rows say the title was withheld")
	}
	if regexp.MustCompile(`class="bad"[^>]*>[·→]<`).MatchString(page) {
		t.Error("a · or → trend is drawn as bad news")
	}
}

func TestValues_StoreEachSprint(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Tokyo")
	o := metrics.Options{Location: loc, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Until: time.Date(2026, 4, 1, 0, 0, 0, 0, loc), Grain: "week"}
	sd := 0.75
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, loc)
	sp := []metrics.SprintStat{{Name: "Sprint 7", Start: start, End: start.AddDate(0, 0, 14), Committed: 8, DoneOfCommitted: 6, Added: 3, Removed: 1, ReEst: 2, Velocity: 9, SayDo: &sd}}
	r := Result{Scope: Scope{Kind: "team", Name: "payments"}, Set: map[string]*metrics.Metric{
		"say_do_ratio": {Name: "say_do_ratio", Unit: "ratio", Value: &sd, N: 1, Sprints: sp},
		"velocity":     {Name: "velocity", Unit: "points", Mean: &sd, Value: &sd, N: 1, Sprints: sp},
	}}
	got := map[string]float64{}
	for _, v := range Values([]Result{r}, o) {
		if v.Grain != "sprint" {
			continue
		}
		if v.Label != "Sprint 7" || !v.PeriodStart.Equal(start) || v.PeriodStart.Location() != loc {
			t.Errorf("sprint row %+v", v)
		}
		got[v.Metric] = *v.Value
	}
	want := map[string]float64{"say_do_ratio": 0.75, "velocity": 9, "sprint_committed_points": 8, "sprint_done_of_committed_points": 6,
		"sprint_added_points": 3, "sprint_removed_points": 1, "sprint_re_estimated_points": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sprint rows %v, want %v", got, want)
	}
}

// flow.active_statuses reaches flow_efficiency.
func TestMetricOptions_CarriesFlowActiveStatuses(t *testing.T) {
	cfg := config.Defaults()
	cfg.Flow.ActiveStatuses = []string{"In Progress", "Code Review"}
	o, err := MetricOptions(cfg, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), "week")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.Flow.ActiveStatuses, ",") != "In Progress,Code Review" {
		t.Errorf("metrics see active statuses %v", o.Flow.ActiveStatuses)
	}
}

// A scope without production deployments shows no DORA tiles, no tier and
// no DORA rows, and says why, in every format.
func TestNoDeployments_SaysWhyInsteadOfALowTier(t *testing.T) {
	b := batch()
	b.Deployments = nil
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)
	rs := Compute(b, Scopes(nil, b), o)
	var page, table, js bytes.Buffer
	if err := WriteHTML(&page, rs, o, now); err != nil {
		t.Fatal(err)
	}
	WriteTable(&table, rs, o)
	if err := WriteJSON(&js, Document(rs, o, now)); err != nil {
		t.Fatal(err)
	}
	const why = "no production deployments in the window, so no DORA figures"
	for name, out := range map[string]string{"html": page.String(), "table": table.String(), "json": js.String()} {
		if !strings.Contains(out, why) {
			t.Errorf("%s does not say why DORA is missing", name)
		}
	}
	if strings.Contains(page.String(), `class="tier low"`) || strings.Contains(page.String(), `class="tiles"`) {
		t.Error("the page shows DORA tiles or a low tier without any deployment")
	}
	if strings.Contains(table.String(), "Deployment frequency") || strings.Contains(table.String(), "Change failure rate") {
		t.Errorf("the table lists DORA rows without deployments:\n%s", table.String())
	}
	if !strings.Contains(table.String(), "MRs merged") {
		t.Error("the review figures went too")
	}
}

// A period not ended when the data was read is drawn hollow and dashed, so
// a partial week cannot pass for a spike; whole periods are solid.
func TestLineChart_MarksPartialPeriods(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	week := func(d int) metrics.Point {
		start := time.Date(2026, 3, 2+7*d, 0, 0, 0, 0, time.UTC)
		return metrics.Point{PeriodStart: start, PeriodEnd: start.AddDate(0, 0, 7), Value: v(float64(1 + d)), N: 1}
	}
	last := week(3)
	last.Partial = true
	m := &metrics.Metric{Name: "mr_throughput", Unit: "count", Series: []metrics.Point{week(0), week(1), week(2), last}}
	svg := string(lineChart(m, nil))
	if n := strings.Count(svg, `class="ph"`); n != 1 {
		t.Errorf("%d hollow points; want 1 (the week not ended)", n)
	}
	if n := strings.Count(svg, `stroke-dasharray`); n != 1 {
		t.Errorf("%d dashed segments; want 1", n)
	}
	if !strings.Contains(svg, "partial period") {
		t.Error("no legend for partial periods")
	}
	if strings.Contains(svg, "previous window") {
		t.Error("a previous window drawn without one")
	}
	// The previous window is overlaid faintly, period for period, and the
	// scale makes room for it: a previous peak of 40 sets the top label.
	prev := &metrics.Metric{Name: "mr_throughput", Unit: "count", Series: []metrics.Point{week(0), week(1), week(2)}}
	prev.Series[1].Value = v(40)
	svg = string(lineChart(m, prev))
	if !strings.Contains(svg, "<title>previous window</title>") || !strings.Contains(svg, "grey: previous window") {
		t.Errorf("no previous-window overlay:\n%s", svg)
	}
	if !strings.Contains(svg, `class="ax e">40</text>`) {
		t.Errorf("the scale does not reach the previous window's 40:\n%s", svg)
	}
}

// With two teams or more, a comparison puts them side by side (HTML and
// table), with "–" where a team has no data rather than a number.
func TestComparison_TeamsSideBySide(t *testing.T) {
	cfg := config.Defaults()
	cfg.Sources["gitlab"] = &config.Source{Name: "gitlab", URL: "https://gitlab.example.com"}
	cfg.Teams = map[string][]string{"api": {"gitlab:acme/api"}, "web": {"gitlab:acme/web"}, "ghost": {"gitlab:acme/none"}}
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)
	b := batch()
	rs := Compute(b, Scopes(TeamMembers(cfg), b), o)
	header, rows := Comparison(rs)
	if len(rows) != 3 || header[1] != Titles["dora_score"] || header[2] != Titles["deployment_frequency"] || rows[0][0] != "api" || rows[1][0] != "ghost" {
		t.Fatalf("comparison: %v %v", header, rows)
	}
	// api: lead 35h → 6, 7 deployments in 28 days → 6, recovery 8h → 8, 2 of 7 failed → 7.14, rework 0 → 10: 7.4.
	if rows[0][1] != "7.4 ·" {
		t.Errorf("api's DORA score cell: %q, want 7.4 with no comparison", rows[0][1])
	}
	if !regexp.MustCompile(`^[0-9.]+/(day|week) [·→↑↓]$`).MatchString(rows[0][2]) {
		t.Errorf("api's deployment frequency cell: %q", rows[0][2])
	}
	for _, cell := range rows[1][1:] {
		if cell != "–" {
			t.Errorf("a team without data shows %q", cell)
		}
	}
	var page, table bytes.Buffer
	if err := WriteHTML(&page, rs, o, now); err != nil {
		t.Fatal(err)
	}
	WriteTable(&table, rs, o)
	if !strings.Contains(page.String(), `<section id="teams"><h2>Teams side by side</h2>`) || !strings.Contains(page.String(), `<a href="#teams">`) {
		t.Error("the page has no team comparison")
	}
	if !strings.Contains(table.String(), "teams side by side") {
		t.Errorf("the table has no team comparison:\n%s", table.String())
	}
}

// Open MRs waiting longest for a first review are listed in every format,
// measured to the newest landed change (the same whenever it is rendered).
func TestWaitingForReview_InEveryFormat(t *testing.T) {
	b := batch()
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)
	org := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	b.MergeRequests = append(b.MergeRequests, models.MergeRequest{Origin: org, ID: "open1", ProjectPath: "acme/api", IID: 77, State: "opened",
		Author: models.Person{Token: "a1"}, CreatedAt: h(7*72 + 10 - 72), UpdatedAt: h(7*72 + 10 - 72), TargetBranch: "main"})
	// measured to the newest landed change: the last MR's update, h(7*72+10), three days later
	rs := Compute(b, Scopes(nil, b), o)
	var page, table, js bytes.Buffer
	if err := WriteHTML(&page, rs, o, now); err != nil {
		t.Fatal(err)
	}
	WriteTable(&table, rs, o)
	if err := WriteJSON(&js, Document(rs, o, now)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "waiting longest for a first review") || !strings.Contains(page.String(), "acme/api!77") {
		t.Error("the page does not list the waiting MR")
	}
	if !regexp.MustCompile(`acme/api!77\s+3\.0d`).MatchString(table.String()) {
		t.Errorf("the table does not list the waiting MR:\n%s", table.String())
	}
	if !strings.Contains(js.String(), `"ref": "acme/api!77"`) || !strings.Contains(js.String(), `"waiting_seconds": 259200`) {
		t.Errorf("the JSON does not list it")
	}
}

// The oldest work in progress is listed in every format, as of the newest
// landed change.
func TestAgingWIP_InEveryFormat(t *testing.T) {
	b := batch()
	o := metrics.DefaultOptions(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), now)
	org := models.Origin{Source: "jira", Instance: "jira.example.com"}
	b.Issues = append(b.Issues, models.Issue{Origin: org, ID: "jira:APP-9", ProjectPath: "APP", Key: "APP-9", Type: "Story", Status: "In Progress",
		StatusCategory: "in_progress", CreatedAt: h(0), UpdatedAt: h(7*72 + 10),
		Transitions: []models.IssueTransition{{IssueID: "jira:APP-9", ID: "t1", Field: models.FieldStatus, At: h(7*72 + 10 - 96), From: "To Do", To: "In Progress", FromCategory: "todo", ToCategory: "in_progress"}}})
	rs := Compute(b, Scopes(nil, b), o)
	var page, table, js bytes.Buffer
	if err := WriteHTML(&page, rs, o, now); err != nil {
		t.Fatal(err)
	}
	WriteTable(&table, rs, o)
	if err := WriteJSON(&js, Document(rs, o, now)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "-wip\">Oldest work in progress</h3>") || !strings.Contains(page.String(), "<td>APP-9</td>") {
		t.Error("the page does not list the aging issue")
	}
	if !regexp.MustCompile(`APP-9\s+In Progress\s+4\.0d`).MatchString(table.String()) {
		t.Errorf("the table does not list it:\n%s", table.String())
	}
	if !strings.Contains(js.String(), `"key": "APP-9"`) || !strings.Contains(js.String(), `"age_seconds": 345600`) {
		t.Error("the JSON does not list it")
	}
}

// One window rule for the CLI and the live report: until defaults to now,
// since to 90 days before it, dates in metrics.timezone.
func TestWindowOptions_Defaults(t *testing.T) {
	cfg := config.Defaults()
	cfg.Metrics.Timezone = "Asia/Tokyo"
	at := time.Date(2026, 3, 30, 15, 0, 0, 0, time.UTC)
	o, err := WindowOptions(cfg, "", "", "", at)
	if err != nil || !o.Until.Equal(at) || !o.Since.Equal(at.AddDate(0, 0, -90)) || o.Grain != "week" || !o.Now.Equal(at) {
		t.Errorf("defaults: %v %v %v %v", o.Since, o.Until, o.Grain, err)
	}
	o, err = WindowOptions(cfg, "2026-01-01", "2026-02-01", "month", at)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if err != nil || !o.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo)) || o.Grain != "month" {
		t.Errorf("dates: %v %v", o.Since, err)
	}
	if _, err := WindowOptions(cfg, "yesterday", "", "", at); err == nil || !strings.Contains(err.Error(), `since "yesterday" is not a date`) {
		t.Errorf("bad date: %v", err)
	}
}

// The page is a golden file too: every section of the three-project,
// one-team batch (delivery, DORA score, deployments, sprints, flow, trends,
// drill-downs), so a change to any of them shows in review.
func TestHTML_Golden(t *testing.T) {
	rs, o := results(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rs, o, now); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", buf.Bytes())
}
