package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
)

// day d at hour h, UTC, counting from Monday 2 March 2026.
func dh(d, h float64) time.Time { return at(d*24 + h) }

type step struct {
	at       time.Time
	status   string
	category string
}

func issue(id string, created time.Time, steps ...step) models.Issue {
	x := models.Issue{ID: id, ProjectPath: "ops", Key: id, Type: "Bug", CreatedAt: created, UpdatedAt: created}
	prev := ""
	prevCat := ""
	for i, s := range steps {
		x.Transitions = append(x.Transitions, models.IssueTransition{IssueID: id, ID: id + strconv.FormatInt(int64(i), 10), Field: models.FieldStatus,
			At: s.at, From: prev, To: s.status, FromCategory: prevCat, ToCategory: s.category})
		prev, prevCat = s.status, s.category
		x.Status, x.StatusCategory = s.status, s.category
	}
	return x
}

var (
	todo = func(t time.Time) step { return step{t, "New", "todo"} }
	ip   = func(t time.Time) step { return step{t, "In Progress", "in_progress"} }
	rev  = func(t time.Time) step { return step{t, "Review", "in_progress"} }
	done = func(t time.Time) step { return step{t, "Closed", "done"} }
)

func TestCycleAndLeadTime(t *testing.T) {
	in := Input{Issues: []models.Issue{
		// A: in progress day 1, done day 3, reopened day 4, done again day 6: cycle = 6-1 = 5 days (last entry into done).
		issue("A", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 0)), done(dh(3, 0)), ip(dh(4, 0)), done(dh(6, 0))),
		// B: never in progress: lead time 2 days, no cycle time.
		issue("B", dh(0, 0), todo(dh(0, 0)), done(dh(2, 0))),
		// C: in progress, not done: neither.
		issue("C", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 0))),
	}}
	o := DefaultOptions(dh(0, 0), dh(14, 0))
	ms := Flow(in, o)
	ct := find(ms, "cycle_time")
	if ct.N != 1 {
		t.Errorf("cycle n = %d, want 1 (only A)", ct.N)
	}
	near(t, "cycle p50", ct.P50, 5*day)
	lt := find(ms, "issue_lead_time")
	// A 6 days, B 2 days → p50 4 days
	near(t, "lead p50", lt.P50, 4*day)
	near(t, "throughput", find(ms, "throughput").Value, 2)
	// Age of work in progress at the window end (day 14): C since day 1 → 13 days.
	near(t, "age p50", find(ms, "issue_age").P50, 13*day)
}

func TestWIPIsTheDailyMeanAtEndOfDay(t *testing.T) {
	// Window: days 0..3 (4 days). A in progress during day 1 and 2 (done day 3 at noon); B in progress from day 2 on.
	in := Input{Issues: []models.Issue{
		issue("A", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 10)), done(dh(3, 12))),
		issue("B", dh(0, 0), todo(dh(0, 0)), ip(dh(2, 10))),
	}}
	o := DefaultOptions(dh(0, -9), dh(4, -9)) // midnight UTC of day 0 .. day 4 (t0 is 09:00)
	// End of day 0: 0; day 1: A = 1; day 2: A, B = 2; day 3: B = 1 → mean 4/4 = 1.
	near(t, "wip", find(Flow(in, o), "wip").Value, 1)
}

func TestFlowEfficiencyIsTimeWeighted(t *testing.T) {
	in := Input{Issues: []models.Issue{
		// 10h cycle: 2h In Progress (active), 8h in Review (waiting).
		issue("A", dh(0, 0), todo(dh(0, 0)), ip(dh(0, 1)), rev(dh(0, 3)), done(dh(0, 11))),
		// 30h cycle: all In Progress.
		issue("B", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 0)), done(dh(1, 30))),
	}}
	o := DefaultOptions(dh(0, -9), dh(7, 0))
	// (2 + 30) / (10 + 30) = 0.8 — not the mean of per-issue ratios (0.2 and 1.0 → 0.6).
	near(t, "flow efficiency", find(Flow(in, o), "flow_efficiency").Value, 0.8)
}

func TestSprintWindows_Redmine(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Tokyo")
	ws := SprintWindows([]models.Sprint{
		{ID: "v1", ProjectPath: "ops", DueDate: "2026-03-13"},                          // first: 14 days before its due date
		{ID: "v2", ProjectPath: "ops", DueDate: "2026-03-27"},                          // the day after v1's due date
		{ID: "v3", ProjectPath: "ops", DueDate: "2026-04-10", StartDate: "2026-03-30"}, // its own start field
		{ID: "v4", ProjectPath: "ops"},                                                 // no due date: not a sprint
	}, loc)
	day := func(s string) time.Time { t, _ := time.ParseInLocation("2006-01-02", s, loc); return t }
	for id, want := range map[string][2]string{"v1": {"2026-02-27", "2026-03-14"}, "v2": {"2026-03-14", "2026-03-28"}, "v3": {"2026-03-30", "2026-04-11"}} {
		if w := ws[id]; !w[0].Equal(day(want[0])) || !w[1].Equal(day(want[1])) {
			t.Errorf("%s window %v..%v, want %s..%s (Tokyo midnights)", id, w[0], w[1], want[0], want[1])
		}
	}
	if _, ok := ws["v4"]; ok {
		t.Error("a version without due date became a sprint")
	}
}

// A hand-worked three-sprint example. Sprints (Redmine versions, UTC):
// S1 2–15 Mar, S2 16–29 Mar, S3 30 Mar–12 Apr (each ends at the end of its due date).
func TestSayDoAndVelocity_ThreeSprints(t *testing.T) {
	sp := func(id, start, due string) models.Sprint {
		return models.Sprint{ID: id, ProjectPath: "ops", StartDate: start, DueDate: due}
	}
	sprints := []models.Sprint{sp("S1", "2026-03-02", "2026-03-15"), sp("S2", "2026-03-16", "2026-03-29"), sp("S3", "2026-03-30", "2026-04-12")}
	d := func(s string, h int) time.Time {
		t, _ := time.Parse("2006-01-02", s)
		return t.Add(time.Duration(h) * time.Hour)
	}
	pts := func(f float64) *float64 { return &f }
	mk := func(id string, created time.Time, sprintNow string, points float64, status []step, changes ...models.IssueTransition) models.Issue {
		x := issue(id, created, status...)
		x.SprintID, x.StoryPoints = sprintNow, pts(points)
		for i, c := range changes {
			c.IssueID, c.ID = id, id+"c"+strconv.FormatInt(int64(i), 10)
			x.Transitions = append(x.Transitions, c)
		}
		return x
	}
	sprintMove := func(at time.Time, from, to string) models.IssueTransition {
		return models.IssueTransition{Field: models.FieldSprint, At: at, From: from, To: to}
	}
	estimate := func(at time.Time, from, to string) models.IssueTransition {
		return models.IssueTransition{Field: models.FieldStoryPoints, At: at, From: from, To: to}
	}
	issues := []models.Issue{
		// S1: A (3 pts) and B (5 pts) committed; A done; B not done, moved to S2 on 16 Mar.
		mk("A", d("2026-03-01", 0), "S1", 3, []step{todo(d("2026-03-01", 0)), done(d("2026-03-10", 0))}),
		mk("B", d("2026-03-01", 0), "S2", 5, []step{todo(d("2026-03-01", 0)), done(d("2026-03-25", 0))},
			sprintMove(d("2026-03-01", 1), "", "S1"), sprintMove(d("2026-03-16", 0), "S1", "S2")),
		// S1: C (2 pts) added mid-sprint on 5 Mar and done.
		mk("C", d("2026-03-05", 0), "S1", 2, []step{todo(d("2026-03-05", 0)), done(d("2026-03-12", 0))},
			sprintMove(d("2026-03-05", 1), "", "S1")),
		// S2: D committed at 8 pts, re-estimated to 13 on 20 Mar, done. B (5) carried over and done.
		mk("D", d("2026-03-10", 0), "S2", 13, []step{todo(d("2026-03-10", 0)), done(d("2026-03-28", 0))},
			estimate(d("2026-03-20", 0), "8", "13")),
		// S2: E committed (3 pts), removed on 18 Mar (back to the backlog).
		mk("E", d("2026-03-10", 0), "", 3, []step{todo(d("2026-03-10", 0))}, sprintMove(d("2026-03-18", 0), "S2", "")),
		// S3: F committed (5), not done.
		mk("F", d("2026-03-20", 0), "S3", 5, []step{todo(d("2026-03-20", 0))}),
	}
	o := DefaultOptions(d("2026-03-01", 0), d("2026-04-20", 0))
	ms := Flow(Input{Issues: issues, Sprints: sprints}, o)
	want := []struct {
		committed, doneC, velocity, added, removed, reEst float64
		sayDo                                             float64
	}{
		// S1: at start A 3 + B 5 = 8 committed; done of those: A 3 → 3/8. End: A, C in S1 and done → 3 + 2 = 5.
		// Added: C 2. B moved to S2 at 16 Mar 00:00, the instant S1 ended: it was still in S1 at its end
		// (unfinished work carried over, not removed), so removed 0; re-estimated A 0 + B 0 = 0.
		{8, 3, 5, 2, 0, 0, 3.0 / 8},
		// S2: at start B 5 + D 8 + E 3 = 16; done of those: B 5 + D 8 = 13 → 13/16. End: B 5 + D 13 = 18.
		// Removed: E 3. Re-estimated: D 13-8 = 5, B 0.
		{16, 13, 18, 0, 3, 5, 13.0 / 16},
		// S3: F 5 committed, not done → 0.
		{5, 0, 0, 0, 0, 0, 0},
	}
	sd := find(ms, "say_do_ratio")
	if len(sd.Sprints) != 3 {
		t.Fatalf("%d sprints, want 3", len(sd.Sprints))
	}
	for i, w := range want {
		s := sd.Sprints[i]
		if s.Committed != w.committed || s.DoneOfCommitted != w.doneC || s.Velocity != w.velocity || s.Added != w.added ||
			s.Removed != w.removed || s.ReEst != w.reEst {
			t.Errorf("sprint %s = %+v, want %+v", s.ID, s, w)
		}
		near(t, s.ID+" say/do", s.SayDo, w.sayDo)
	}
	// Window say/do: (3 + 13 + 0) / (8 + 16 + 5) = 16/29. Velocity: mean of the last three: (5 + 18 + 0) / 3.
	near(t, "say/do", sd.Value, 16.0/29)
	near(t, "velocity", find(ms, "velocity").Value, 23.0/3)

	// Burn-up, at the end of each day (scope, done), worked by hand from the same history:
	// S1: A 3 + B 5 = 8 until C (2) joins on 5 Mar; A done 10 Mar, C done 12 Mar; B still in S1 at its
	//     end (moved at the instant it ended), so the scope stays 10 and B is carried over.
	// S2: B 5 + D 8 + E 3 = 16; E leaves 18 Mar (13); D re-estimated to 13 on 20 Mar (18);
	//     B done 25 Mar (5), D done 28 Mar (18): the last done equals S2's velocity.
	// S3: F 5 all along, nothing done, F carried over.
	type bp struct{ scope, done float64 }
	rep := func(n int, p bp) []bp {
		out := make([]bp, n)
		for i := range out {
			out[i] = p
		}
		return out
	}
	cat := func(parts ...[]bp) []bp {
		var out []bp
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	burns := map[string][]bp{
		"S1": cat(rep(3, bp{8, 0}), rep(5, bp{10, 0}), rep(2, bp{10, 3}), rep(4, bp{10, 5})),
		"S2": cat(rep(2, bp{16, 0}), rep(2, bp{13, 0}), rep(5, bp{18, 0}), rep(3, bp{18, 5}), rep(2, bp{18, 18})),
		"S3": rep(14, bp{5, 0}),
	}
	carried := map[string]string{"S1": "B", "S2": "", "S3": "F"}
	for _, s := range sd.Sprints {
		var got []bp
		for _, p := range s.Burn {
			got = append(got, bp{p.Scope, p.Done})
		}
		if fmt.Sprint(got) != fmt.Sprint(burns[s.ID]) {
			t.Errorf("%s burn-up\n got %v\nwant %v", s.ID, got, burns[s.ID])
		}
		if last := s.Burn[len(s.Burn)-1]; !last.At.Equal(s.End) || last.Done != s.Velocity {
			t.Errorf("%s: last burn-up point %v done %v, want at the sprint's end %v with the velocity %v", s.ID, last.At, last.Done, s.End, s.Velocity)
		}
		if c := strings.Join(s.CarriedOver, ","); c != carried[s.ID] {
			t.Errorf("%s carried over %q, want %q", s.ID, c, carried[s.ID])
		}
	}
}

// TestCumulativeFlow_HandWorked: a 5-day window, Mon 2 – Fri 6 Mar, counted at the end of each day.
//
//	X created before the window; in progress 3 Mar; done 5 Mar.
//	Y created 4 Mar; in progress 6 Mar.
//	W created, started and done on 2 Mar.
//	Z done in February: done before the window began, so never counted.
//
//	day    todo  in progress  done
//	2 Mar   1        0         1    (X todo; W done)
//	3 Mar   0        1         1
//	4 Mar   1        1         1    (Y arrives)
//	5 Mar   1        0         2    (X done)
//	6 Mar   0        1         2    (Y started)
func TestCumulativeFlow_HandWorked(t *testing.T) {
	issues := []models.Issue{
		issue("X", dh(-1, 0), todo(dh(-1, 0)), ip(dh(1, 10)), done(dh(3, 12))),
		issue("Y", dh(2, 9), todo(dh(2, 9)), ip(dh(4, 8))),
		issue("W", dh(0, 1), todo(dh(0, 1)), ip(dh(0, 2)), done(dh(0, 6))),
		issue("Z", dh(-10, 0), todo(dh(-10, 0)), done(dh(-5, 0))),
	}
	o := DefaultOptions(dh(0, -9), dh(5, -9)) // midnight to midnight (dh counts from 09:00)
	got := CumulativeFlow(Input{Issues: issues}, o)
	want := [][3]int{{1, 0, 1}, {0, 1, 1}, {1, 1, 1}, {1, 0, 2}, {0, 1, 2}}
	if len(got) != len(want) {
		t.Fatalf("%d days, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if [3]int{g.Todo, g.InProgress, g.Done} != w || !g.Day.Equal(dh(float64(i), -9)) {
			t.Errorf("%s: todo %d, in progress %d, done %d; want %v", g.Day.Format("2 Jan"), g.Todo, g.InProgress, g.Done, w)
		}
	}
	// The scatter holds the window's cycle-time samples: X (3 Mar 10:00 → 5 Mar 12:00) and W (4 h).
	cs := CycleTimes(Input{Issues: issues}, o)
	if len(cs) != 2 || cs[0].Key != "W" || cs[0].Seconds != 4*3600 || cs[1].Key != "X" || cs[1].Seconds != 50*3600 {
		t.Errorf("cycle times = %+v, want W 4h then X 50h", cs)
	}
	near(t, "cycle_time p50 (the same samples)", find(Flow(Input{Issues: issues}, o), "cycle_time").P50, 27*3600)
}

// TestSayDo_IssueCreatedIntoARunningSprintIsAdded: Redmine sets
// fixed_version at creation without a journal; Jira keeps no history for a
// sprint set at creation. Such an issue has no sprint-field history, yet it
// was not in the sprint at its start: it is added, never committed.
func TestSayDo_IssueCreatedIntoARunningSprintIsAdded(t *testing.T) {
	for _, src := range []struct {
		name, id string
		sprint   models.Sprint
	}{
		{"redmine", "redmine:h:77", models.Sprint{ID: "redmine:h:version:2", ProjectPath: "ops", StartDate: "2026-03-16", DueDate: "2026-03-29"}},
		{"jira", "jira:h:OPS-9", func() models.Sprint {
			st, en := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC)
			return models.Sprint{ID: "jira:h:sprint:2", ProjectPath: "ops", StartAt: &st, EndAt: &en}
		}()},
	} {
		t.Run(src.name, func(t *testing.T) {
			created := time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
			pts := 2.0
			late := issue(src.id, created, todo(created), done(created.Add(5*24*time.Hour)))
			late.SprintID, late.StoryPoints = src.sprint.ID, &pts
			early := issue(src.id+"-early", created.AddDate(0, 0, -10), todo(created.AddDate(0, 0, -10)), done(created.Add(24*time.Hour)))
			three := 3.0
			early.SprintID, early.StoryPoints = src.sprint.ID, &three
			o := DefaultOptions(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC))
			sd := find(Flow(Input{Issues: []models.Issue{late, early}, Sprints: []models.Sprint{src.sprint}}, o), "say_do_ratio")
			if len(sd.Sprints) != 1 {
				t.Fatalf("%d sprints", len(sd.Sprints))
			}
			s := sd.Sprints[0]
			if s.Committed != 3 || s.Added != 2 || s.DoneOfCommitted != 3 || s.Velocity != 5 {
				t.Errorf("sprint = %+v, want committed 3 (the issue that existed), added 2 (created into the running sprint), velocity 5", s)
			}
		})
	}
}

// The oldest work in progress: issues in progress at the moment, by age
// since they first entered in progress; done and to-do issues are not.
func TestAgingWIP(t *testing.T) {
	in := Input{Issues: []models.Issue{
		issue("old", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 0)), rev(dh(5, 0))),
		issue("new", dh(0, 0), todo(dh(0, 0)), ip(dh(8, 0))),
		issue("done", dh(0, 0), ip(dh(0, 0)), done(dh(2, 0))),
		issue("todo", dh(0, 0), todo(dh(0, 0))),
		issue("later", dh(0, 0), todo(dh(0, 0)), ip(dh(12, 0))),
	}}
	got := AgingWIP(in, dh(10, 0), 10)
	if len(got) != 2 || got[0].Issue.ID != "old" || got[0].Age != 9*day || got[1].Issue.ID != "new" || got[1].Age != 2*day {
		t.Errorf("aging: %+v", got)
	}
}

// A window before the tracker held any issue has no flow figures: not a WIP
// of 0 over 60 days, nor a flow efficiency "of 82 issues" that were all done
// years later (both were so, and made an empty window look measured).
func TestFlow_WindowBeforeAnyIssueIsEmpty(t *testing.T) {
	issues := []models.Issue{
		issue("X", dh(0, 0), todo(dh(0, 0)), ip(dh(1, 0)), done(dh(3, 0))),
		issue("Y", dh(0, 0), todo(dh(0, 0)), ip(dh(2, 0))),
	}
	before := DefaultOptions(dh(-400, 0), dh(-340, 0))
	ms := Flow(Input{Issues: issues}, before)
	for _, name := range []string{"wip", "flow_efficiency", "cycle_time", "throughput"} {
		if m := find(ms, name); m.N != 0 {
			t.Errorf("%s n = %d in a window before any issue, want 0", name, m.N)
		}
	}
	absent(t, "wip", find(ms, "wip").Value)
	// The window that holds them still counts: WIP from the day X was created, flow efficiency of X.
	in := DefaultOptions(dh(-2, -9), dh(5, -9))
	ms = Flow(Input{Issues: issues}, in)
	if w := find(ms, "wip"); w.N != 5 {
		t.Errorf("wip n = %d days, want 5 (2–6 Mar; 28 Feb and 1 Mar had no issue yet)", w.N)
	}
	if e := find(ms, "flow_efficiency"); e.N != 1 {
		t.Errorf("flow_efficiency n = %d, want 1 (X)", e.N)
	}
}
