package metrics

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// FlowOptions are the flow-specific choices of METRICS.md.
type FlowOptions struct {
	ActiveStatuses []string // flow.active_statuses (default In Progress)
}

// SprintStat is one sprint's scope and delivery, as say/do and velocity see it.
type SprintStat struct {
	ID, Name, Project     string
	Start, End            time.Time
	Committed             float64 // points in the sprint at its start, as estimated then
	DoneOfCommitted       float64 // of those, points (at start) of issues done by the end
	Velocity              float64 // points (at end) of issues in the sprint at its end and done by then
	Added, Removed, ReEst float64
	SayDo                 *float64
	// Burn is the burn-up: at the end of each of the sprint's days (the last
	// at its end), the points in the sprint and the points of those done.
	Burn []BurnPoint
	// CarriedOver are the keys of issues in the sprint at its end and not done.
	CarriedOver []string
}

// BurnPoint is one day of a sprint's burn-up, in points as estimated then.
type BurnPoint struct {
	At          time.Time // the end of the day (exclusive instant), or the sprint's end
	Scope, Done float64
}

// state is an issue's value of a field at an instant, rebuilt from its transitions.
type history struct {
	x      *models.Issue
	status []models.IssueTransition // status entries, oldest first
	sprint []models.IssueTransition
	points []models.IssueTransition
}

func newHistory(x *models.Issue) *history {
	h := &history{x: x}
	for _, t := range x.Transitions {
		switch t.Field {
		case models.FieldStatus:
			h.status = append(h.status, t)
		case models.FieldSprint:
			h.sprint = append(h.sprint, t)
		case models.FieldStoryPoints:
			h.points = append(h.points, t)
		}
	}
	for _, l := range [][]models.IssueTransition{h.status, h.sprint, h.points} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].At.Before(l[j].At) })
	}
	if len(h.status) == 0 {
		// GitLab issues carry no history: created (todo), closed (done).
		h.status = append(h.status, models.IssueTransition{Field: models.FieldStatus, At: x.CreatedAt, To: "opened", ToCategory: models.CategoryTodo})
		if x.ClosedAt != nil {
			h.status = append(h.status, models.IssueTransition{Field: models.FieldStatus, At: *x.ClosedAt, From: "opened", To: "closed",
				FromCategory: models.CategoryTodo, ToCategory: models.CategoryDone})
		}
	}
	return h
}

// valueAt is a field's value at t: the last change at or before t, else the
// value before the first change, else the value now.
func valueAt(changes []models.IssueTransition, t time.Time, now string) string {
	if len(changes) == 0 {
		return now
	}
	v := changes[0].From
	for _, c := range changes {
		if c.At.After(t) {
			break
		}
		v = c.To
	}
	return v
}

func (h *history) category(t time.Time) string {
	if t.Before(h.x.CreatedAt) {
		return ""
	}
	c := ""
	for _, s := range h.status {
		if s.At.After(t) {
			break
		}
		c = s.ToCategory
	}
	return c
}

// sprintAt is the sprint the issue was in at t. Nothing is in a sprint
// before it exists: Redmine sets fixed_version at creation without a
// journal and Jira records no history for values set at creation, so
// rebuilding backwards would put an issue created straight into a running
// sprint into its scope at start (METRICS.md: it is added, not committed).
func (h *history) sprintAt(t time.Time) string {
	if !h.x.CreatedAt.IsZero() && t.Before(h.x.CreatedAt) {
		return ""
	}
	return valueAt(h.sprint, t, h.x.SprintID)
}

func (h *history) pointsAt(t time.Time) float64 {
	now := ""
	if h.x.StoryPoints != nil {
		now = strconv.FormatFloat(*h.x.StoryPoints, 'f', -1, 64)
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(valueAt(h.points, t, now)), 64)
	return f
}

// firstInProgress and lastDone: cycle time runs from the first entry into
// in_progress to the last entry into done, for issues that are done now.
func (h *history) firstInProgress() (time.Time, bool) {
	for _, s := range h.status {
		if s.ToCategory == models.CategoryInProgress {
			return s.At, true
		}
	}
	return time.Time{}, false
}

func (h *history) lastDone() (time.Time, bool) {
	if len(h.status) == 0 || h.status[len(h.status)-1].ToCategory != models.CategoryDone {
		return time.Time{}, false
	}
	for i := len(h.status) - 1; i >= 0; i-- {
		if h.status[i].ToCategory == models.CategoryDone && (i == 0 || h.status[i-1].ToCategory != models.CategoryDone) {
			return h.status[i].At, true
		}
	}
	return h.status[len(h.status)-1].At, true
}

// cycle is an issue's cycle time (METRICS.md cycle_time): first entry into
// in_progress to the last entry into done, for an issue done now that was
// ever in progress. The one definition Flow and CycleTimes read.
func (h *history) cycle() (start, done time.Time, ok bool) {
	ip, hasIP := h.firstInProgress()
	d, isDone := h.lastDone()
	return ip, d, hasIP && isDone && !d.Before(ip)
}

// activeTime sums the time spent in active statuses between from and to.
func (h *history) activeTime(from, to time.Time, active map[string]bool) time.Duration {
	var total time.Duration
	for i, s := range h.status {
		if !active[strings.ToLower(s.To)] {
			continue
		}
		start, end := s.At, to
		if i+1 < len(h.status) {
			end = h.status[i+1].At
		}
		start, end = maxTime(start, from), minTime(end, to)
		if end.After(start) {
			total += end.Sub(start)
		}
	}
	return total
}

// Flow computes the flow and agile metrics over issues and sprints.
func Flow(in Input, o Options) []*Metric {
	active := map[string]bool{}
	for _, s := range o.Flow.ActiveStatuses {
		active[strings.ToLower(s)] = true
	}
	if len(active) == 0 {
		active["in progress"] = true
	}
	hs := make([]*history, len(in.Issues))
	for i := range in.Issues {
		hs[i] = newHistory(&in.Issues[i])
	}
	var cycle, lead, age []sample
	var done []time.Time
	byType := map[string][]time.Time{}
	var effActive, effTotal = map[time.Time]float64{}, map[time.Time]float64{}
	var allActive, allTotal float64
	effN := 0 // issues done in the window after being in progress
	for _, h := range hs {
		ip, hasIP := h.firstInProgress()
		d, isDone := h.lastDone()
		_, _, cycled := h.cycle()
		if isDone {
			done = append(done, d)
			typ := h.x.TypeClass
			if typ == "" {
				typ = h.x.Type
			}
			byType[typ] = append(byType[typ], d)
			if dd := d.Sub(h.x.CreatedAt); dd >= 0 {
				lead = append(lead, sample{d, dd.Seconds()})
			}
			if cycled {
				cycle = append(cycle, sample{d, d.Sub(ip).Seconds()})
				if o.inWindow(d) {
					p := PeriodStart(d, o.Grain, o.Location)
					a := h.activeTime(ip, d, active).Seconds()
					effActive[p] += a
					effTotal[p] += d.Sub(ip).Seconds()
					allActive += a
					allTotal += d.Sub(ip).Seconds()
					effN++
				}
			}
		}
		if hasIP && h.category(o.Until.Add(-time.Nanosecond)) == models.CategoryInProgress {
			age = append(age, sample{o.Until.Add(-time.Nanosecond), o.Until.Sub(ip).Seconds()})
		}
	}
	thr := o.counts("throughput", done)
	thr.Parts = map[string]*Metric{}
	for typ, at := range byType {
		if typ == "" {
			typ = "issue"
		}
		thr.Parts[typ] = o.counts("throughput."+typ, at)
	}
	eff := &Metric{Name: "flow_efficiency", Unit: "ratio"}
	if allTotal > 0 {
		eff.Value = ptr(allActive / allTotal)
	}
	for _, p := range o.periods() {
		pt := Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain)}
		if effTotal[p] > 0 {
			pt.Value = ptr(effActive[p] / effTotal[p])
		}
		eff.Series = append(eff.Series, pt)
	}
	eff.N = effN
	return append([]*Metric{o.durations("cycle_time", cycle), o.durations("issue_lead_time", lead), thr, o.wip(hs),
		o.durations("issue_age", age), eff}, o.sprintMetrics(hs, in.Sprints)...)
}

// wip is the mean over each period's days of the issues in progress at the end of the day.
// Without any issue that was ever in progress (GitLab issues only have
// opened/closed) there is nothing to measure: absent, not 0.
func (o Options) wip(hs []*history) *Metric {
	m := &Metric{Name: "wip", Unit: "count"}
	tracked := false
	for _, h := range hs {
		if _, ok := h.firstInProgress(); ok {
			tracked = true
			break
		}
	}
	if !tracked {
		return m
	}
	// Days before the first issue existed measure the collection, not the
	// team: they are not days of WIP 0 but days without a tracker.
	first := hs[0].x.CreatedAt
	for _, h := range hs {
		if h.x.CreatedAt.Before(first) {
			first = h.x.CreatedAt
		}
	}
	by := map[time.Time][]float64{}
	var all []float64
	for d := PeriodStart(o.Since, "day", o.Location); d.Before(o.Until); d = d.AddDate(0, 0, 1) {
		end := d.AddDate(0, 0, 1).Add(-time.Nanosecond)
		if end.After(o.Until) {
			end = o.Until.Add(-time.Nanosecond)
		}
		if end.Before(first) {
			continue
		}
		n := 0
		for _, h := range hs {
			if !h.x.CreatedAt.After(end) && h.category(end) == models.CategoryInProgress {
				n++
			}
		}
		p := PeriodStart(d, o.Grain, o.Location)
		by[p] = append(by[p], float64(n))
		all = append(all, float64(n))
	}
	m.Value, m.Mean, m.N = mean(all), mean(all), len(all)
	for _, p := range o.periods() {
		m.Series = append(m.Series, Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain), Value: mean(by[p]), N: len(by[p])})
	}
	return m
}

// SprintWindows resolves when each sprint runs: JIRA start → complete (else
// end); a Redmine version from its start field (00:00 local), else the day
// after the previous version's due date, else 14 days before its due date,
// to the end of its due date.
func SprintWindows(sprints []models.Sprint, loc *time.Location) map[string][2]time.Time {
	out := map[string][2]time.Time{}
	byProject := map[string][]models.Sprint{}
	for _, s := range sprints {
		if s.StartAt != nil {
			end := s.EndAt
			if s.CompleteAt != nil {
				end = s.CompleteAt
			}
			if end != nil {
				out[s.ID] = [2]time.Time{*s.StartAt, *end}
			}
			continue
		}
		if s.DueDate != "" {
			byProject[s.ProjectPath] = append(byProject[s.ProjectPath], s)
		}
	}
	for _, ss := range byProject {
		sort.Slice(ss, func(i, j int) bool { return ss[i].DueDate < ss[j].DueDate })
		for i, s := range ss {
			due, err := time.ParseInLocation("2006-01-02", s.DueDate, loc)
			if err != nil {
				continue
			}
			start := due.AddDate(0, 0, -14)
			if i > 0 {
				if prev, err := time.ParseInLocation("2006-01-02", ss[i-1].DueDate, loc); err == nil {
					start = prev.AddDate(0, 0, 1)
				}
			}
			if s.StartDate != "" {
				if st, err := time.ParseInLocation("2006-01-02", s.StartDate, loc); err == nil {
					start = st
				}
			}
			out[s.ID] = [2]time.Time{start, due.AddDate(0, 0, 1)}
		}
	}
	return out
}

// sprintMetrics: velocity and say/do per sprint, rebuilt from the sprint-field
// and story-point history, so scope and estimates are those at the sprint's
// start and end.
func (o Options) sprintMetrics(hs []*history, sprints []models.Sprint) []*Metric {
	windows := SprintWindows(sprints, o.Location)
	touched := map[string][]*history{}
	for _, h := range hs {
		seen := map[string]bool{h.x.SprintID: true}
		for _, t := range h.sprint {
			seen[t.From], seen[t.To] = true, true
		}
		for id := range seen {
			if id != "" {
				touched[id] = append(touched[id], h)
			}
		}
	}
	var stats []SprintStat
	for _, s := range sprints {
		w, ok := windows[s.ID]
		if !ok || w[1].After(o.Until) || w[1].Before(o.Since) {
			continue // only sprints that ended inside the window
		}
		st := SprintStat{ID: s.ID, Name: s.Name, Project: s.ProjectPath, Start: w[0], End: w[1]}
		endAt := w[1].Add(-time.Nanosecond)
		for _, h := range touched[s.ID] {
			inStart := h.sprintAt(w[0]) == s.ID
			inEnd := h.sprintAt(endAt) == s.ID
			doneByEnd := h.category(endAt) == models.CategoryDone
			ps, pe := h.pointsAt(w[0]), h.pointsAt(endAt)
			if inStart {
				st.Committed += ps
				if doneByEnd {
					st.DoneOfCommitted += ps
				}
			}
			if inEnd && doneByEnd {
				st.Velocity += pe
			}
			switch {
			case inEnd && !inStart:
				st.Added += pe
			case inStart && !inEnd:
				st.Removed += ps
			case inStart && inEnd:
				st.ReEst += pe - ps
			}
		}
		if st.Committed > 0 {
			st.SayDo = ptr(st.DoneOfCommitted / st.Committed)
		}
		st.Burn, st.CarriedOver = burnUp(touched[s.ID], s.ID, w, o.Location)
		stats = append(stats, st)
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].End.Before(stats[j].End) })
	vel := &Metric{Name: "velocity", Unit: "points", Sprints: stats, N: len(stats)}
	if n := len(stats); n > 0 {
		last := stats[max(0, n-3):]
		var v []float64
		for _, s := range last {
			v = append(v, s.Velocity)
		}
		vel.Value = mean(v)
	}
	sd := &Metric{Name: "say_do_ratio", Unit: "ratio", Sprints: stats, N: len(stats)}
	var committed, did float64
	for _, s := range stats {
		committed += s.Committed
		did += s.DoneOfCommitted
	}
	if committed > 0 {
		sd.Value = ptr(did / committed)
	}
	for _, s := range stats {
		for _, m := range []*Metric{vel, sd} {
			pt := Point{PeriodStart: s.Start, PeriodEnd: s.End, N: 1}
			if m == vel {
				pt.Value = ptr(s.Velocity)
			} else {
				pt.Value = s.SayDo
			}
			m.Series = append(m.Series, pt)
		}
	}
	return []*Metric{vel, sd}
}

// Aging is an issue in progress at a moment, with how long it has been.
type Aging struct {
	Issue *models.Issue
	Since time.Time // first entry into in progress
	Age   float64   // seconds until at
}

// AgingWIP lists the issues in progress at at, oldest first (ties by id),
// at most limit of them: the work a retro asks about.
func AgingWIP(in Input, at time.Time, limit int) []Aging {
	var out []Aging
	for i := range in.Issues {
		h := newHistory(&in.Issues[i])
		ip, ok := h.firstInProgress()
		if !ok || ip.After(at) || h.category(at) != models.CategoryInProgress {
			continue
		}
		out = append(out, Aging{Issue: &in.Issues[i], Since: ip, Age: at.Sub(ip).Seconds()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Age != out[j].Age {
			return out[i].Age > out[j].Age
		}
		return out[i].Issue.ID < out[j].Issue.ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
