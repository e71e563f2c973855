package metrics

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// event is a production deployment as METRICS.md counts it: the successful
// deployments one pipeline made to one environment of one project, once, at
// the latest finish.
type event struct {
	ids     []string
	project string
	env     string
	ref     string
	sha     string
	at      time.Time
	listed  map[string]bool // MR ids GitLab lists for the deployments
	holds   *time.Time      // when an MR merged the SHA it deployed, if one did
	ships   []*change       // deployed changes attributed to this event
	failed  bool
	recover []time.Time // candidate recovery times
	causes  []string    // why it failed, for the drill-down: "incident KEY", "rolled back", "reverted by !IID"
	rework  bool        // isRework, worked out once with the attribution
}

// change is a merged MR and where it was deployed.
type change struct {
	mr *models.MergeRequest
	ev *event
	t  Timing // its breakdown, worked out once with the attribution
}

func finish(d *models.Deployment) time.Time {
	if d.FinishedAt != nil {
		return *d.FinishedAt
	}
	return d.UpdatedAt
}

// IsProduction applies deployments.production: the GitLab environment tier
// when known, else the name pattern.
func (o Options) IsProduction(d *models.Deployment) bool {
	if d.EnvironmentTier != "" {
		return d.EnvironmentTier == "production"
	}
	return o.Production != nil && o.Production.MatchString(d.Environment)
}

// productionEvents groups successful production deployments; failed or
// canceled attempts come back separately for deploy_attempt_failure_rate.
func productionEvents(deps []models.Deployment, o Options) ([]*event, []hit) {
	groups := map[string]*event{}
	var attempts []hit
	for i := range deps {
		d := &deps[i]
		if !o.IsProduction(d) {
			continue
		}
		switch d.Status {
		case "failed", "canceled":
			attempts = append(attempts, hit{finish(d), true})
			continue
		case "success":
			attempts = append(attempts, hit{finish(d), false})
		default:
			continue // running, created, blocked...: not (yet) a deployment
		}
		key := d.ID
		if d.PipelineID != 0 {
			key = d.ProjectPath + "\x00" + d.Environment + "\x00" + strconv.FormatInt(d.PipelineID, 10)
		}
		ev := groups[key]
		if ev == nil {
			ev = &event{project: d.ProjectPath, env: d.Environment, listed: map[string]bool{}}
			groups[key] = ev
		}
		ev.ids = append(ev.ids, d.ID)
		if t := finish(d); !t.Before(ev.at) {
			ev.at, ev.sha, ev.ref = t, d.SHA, d.Ref
		}
		for _, c := range d.Changes {
			ev.listed[c.MRID] = true
		}
	}
	out := make([]*event, 0, len(groups))
	for _, ev := range groups {
		sort.Strings(ev.ids)
		out = append(out, ev)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].ids[0] < out[j].ids[0]
	})
	return out, attempts
}

// deployedChanges maps each merged MR to the first production event that
// contains it: one whose GitLab MR list names it, else the first production
// deployment of its target branch finished at or after it was merged and,
// when the deployment's SHA is a merged MR's merge or squash commit, whose
// SHA was merged no earlier than this MR. The second bound is what a CI-job
// deployment needs (it has no MR list): a deploy job of a pipeline started
// before a merge finishes after it without containing it, and a roll-back
// to an older SHA contains nothing newer. The changes of a deployment are
// then the MRs merged into its ref between the previous deployment's SHA and
// its own, with no git clone. A SHA that no MR merged (a direct push) leaves
// the time rule alone. timed works out each change's lead-time breakdown
// too (from its commits and reviews).
func deployedChanges(mrs []models.MergeRequest, events []*event, timed bool) (map[string]*change, []*change) {
	// Keyed by (project, id) and (project, SHA) as pairs rather than as
	// joined strings: a string built per MR costs an allocation each, and
	// a history holds millions of MRs.
	type key struct{ project, id string }
	byProject := map[string][]*event{}
	firstListing := map[key]*event{}
	for _, ev := range events { // time order: the first listing wins
		byProject[ev.project] = append(byProject[ev.project], ev)
		for id := range ev.listed {
			if k := (key{ev.project, id}); firstListing[k] == nil {
				firstListing[k] = ev
			}
		}
	}
	// Each project's finish times side by side, for the binary search
	// below: the events themselves are scattered in memory. Seconds and
	// nanoseconds apart, which orders every instant (UnixNano overflows
	// outside 1678–2262, and a bad record's zero time is one of those).
	finished := make(map[string][]instant, len(byProject))
	for p, evs := range byProject {
		ts := make([]instant, len(evs))
		for j, ev := range evs {
			ts[j] = instantOf(ev.at)
		}
		finished[p] = ts
	}
	mergedAt := map[key]time.Time{} // project + SHA → when an MR merged it
	for i := range mrs {
		m := &mrs[i]
		if m.MergedAt == nil {
			continue
		}
		for _, sha := range [2]string{m.MergeCommitSHA, m.SquashCommitSHA} {
			if sha != "" {
				mergedAt[key{m.ProjectPath, sha}] = *m.MergedAt
			}
		}
	}
	for _, ev := range events {
		if t, ok := mergedAt[key{ev.project, ev.sha}]; ok && ev.sha != "" {
			ev.holds = &t
		}
	}
	out := make(map[string]*change, len(mrs))
	for i := range mrs {
		m := &mrs[i]
		if m.MergedAt == nil {
			continue
		}
		var found *event
		if len(firstListing) > 0 {
			found = firstListing[key{m.ProjectPath, m.ID}] // only the MR's own project deploys it
		}
		if found == nil {
			evs := byProject[m.ProjectPath]
			ts, merged := finished[m.ProjectPath], instantOf(*m.MergedAt)
			k := sort.Search(len(ts), func(j int) bool { return !ts[j].before(merged) })
			for ; k < len(evs); k++ {
				if evs[k].ref != m.TargetBranch {
					continue
				}
				if t := evs[k].holds; t != nil && t.Before(*m.MergedAt) {
					continue // its SHA predates this merge
				}
				found = evs[k]
				break
			}
		}
		c := &change{mr: m, ev: found}
		if timed {
			c.t = timing(c)
		}
		out[m.ID] = c
		if found != nil {
			found.ships = append(found.ships, c)
		}
	}
	// The same changes by MR index (nil: not merged, or an earlier record of
	// an id a later one took over): walked in the records' order, which a
	// map's is not, and without a lookup per MR.
	of := make([]*change, len(mrs))
	for i := range mrs {
		if c := out[mrs[i].ID]; c != nil && c.mr == &mrs[i] {
			of[i] = c
		}
	}
	return out, of
}

// instant is a time as comparable numbers.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

func (a instant) before(b instant) bool { return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec }

// ShippedSince names the MRs merged before since that a production
// deployment at or after it ships, by the same attribution as every metric:
// of the changes merged before a window, the only ones whose commits and
// reviews its metrics read (lead time and its breakdown are timed by the
// deployment). A reader of a long history reads the others' children not at
// all. Only the MRs' own fields and the deployments (with their MR lists)
// are needed.
func ShippedSince(in Input, o Options, since time.Time) []string {
	events, _ := productionEvents(in.Deployments, o)
	_, of := deployedChanges(in.MergeRequests, events, false) // where, not how long
	var out []string
	for _, c := range of {
		if c != nil && c.ev != nil && c.mr.MergedAt.Before(since) && !c.ev.at.Before(since) {
			out = append(out, c.mr.ID)
		}
	}
	return out
}

// IsIncident: GitLab issue type incident, a Redmine tracker in
// incidents.redmine_trackers, or a label in incidents.labels.
func (o Options) IsIncident(x *models.Issue) bool {
	if x.TypeClass == "incident" || strings.EqualFold(x.Type, "incident") || hasAny([]string{x.Type}, o.IncidentTypes) {
		return true
	}
	if x.Priority != "" && hasAny([]string{x.Priority}, o.IncidentPriorities[x.Source]) {
		return true
	}
	return hasAny(x.Labels, o.IncidentLabels)
}

func hasAny(labels, want []string) bool {
	for _, l := range labels {
		for _, w := range want {
			if strings.EqualFold(l, w) {
				return true
			}
		}
	}
	return false
}

// linked are the collected issues an MR closes (GitLab closing references)
// or names (JIRA and Redmine issue links), each once.
func linked(issues map[string]*models.Issue, m *models.MergeRequest) []*models.Issue {
	var out []*models.Issue
	add := func(x *models.Issue) { // a few links each: a scan, not a map per MR
		if x != nil && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	for _, ref := range m.ClosesIssues {
		add(issueRef(issues, m.ProjectPath, ref))
	}
	for _, l := range m.IssueLinks {
		add(issues[l.Tracker+":"+l.Key])
	}
	return out
}

// issueRef resolves an MR's closing reference ("#12" or "group/p#12") to an issue.
func issueRef(byKey map[string]*models.Issue, project, ref string) *models.Issue {
	if strings.HasPrefix(ref, "#") {
		return byKey[project+ref]
	}
	return byKey[ref]
}

// analysis is one pass of the failed-deployment rules over a scope: the
// production events with their changes, failures, causes and recovery
// candidates. DORA's metrics and the report's deployment drill-down are both
// read from it, so the two can never disagree.
type analysis struct {
	events   []*event
	attempts []hit
	changes  map[string]*change
	// of is each MR's change by its index in the input's records (nil for
	// none), the order every walk over the changes takes: deterministic
	// (a deployment's causes are listed the same way every run).
	of       []*change
	issues   map[string]*models.Issue
	restores []sample
	// failedBy maps each incident id to the deployment ids of the
	// production deployment it fails (rules (a) and (b)).
	failedBy map[string][]string
}

// analyse applies METRICS.md's rules of a failed deployment: (b) incidents,
// (c) roll-backs and reverts, and the recoveries each implies.
func analyse(in Input, o Options) analysis {
	if in.shared != nil && in.shared.key == o.analysisKey() && in.shared.same(in) {
		return in.shared.a
	}
	events, attempts := productionEvents(in.Deployments, o)
	changes, of := deployedChanges(in.MergeRequests, events, true)

	issues := map[string]*models.Issue{}
	for i := range in.Issues {
		x := &in.Issues[i]
		issues[x.ProjectPath+x.Key] = x
		if x.Source == "jira" || x.Source == "redmine" {
			// What an issue link names (issuelinks): "jira:APP-12", "redmine:123".
			issues[x.Source+":"+x.Key] = x
		}
	}
	byProject := map[string][]*event{}
	for _, ev := range events {
		byProject[ev.project] = append(byProject[ev.project], ev)
	}

	// Failed deployments. (b) incidents: the last production deployment of the
	// incident's project that finished before it started, within the window.
	type incidentLink struct {
		x  *models.Issue
		ev *event
	}
	var restores []sample
	var links []incidentLink
	failed := map[string][]string{}
	for i := range in.Issues {
		x := &in.Issues[i]
		if !o.IsIncident(x) {
			continue
		}
		if x.ClosedAt != nil {
			if d := x.ClosedAt.Sub(x.CreatedAt); d >= 0 {
				restores = append(restores, sample{*x.ClosedAt, d.Seconds()})
			}
		}
		if hasAny(x.Labels, o.NotChangeLabels) {
			continue // counted in time_to_restore above, never a failed deployment
		}
		if last := failedBy(x, events, byProject, o); last != nil {
			last.failed = true
			last.causes = append(last.causes, "incident "+x.Key)
			links = append(links, incidentLink{x, last})
			failed[x.ID] = last.ids
			if x.ClosedAt != nil {
				last.recover = append(last.recover, *x.ClosedAt)
			}
		}
	}
	// A later deployment that ships a change closing the incident restores too.
	closers := map[*models.Issue][]*change{}
	for _, c := range of {
		if c == nil {
			continue
		}
		for _, x := range linked(issues, c.mr) {
			closers[x] = append(closers[x], c)
		}
	}
	for _, l := range links {
		for _, c := range closers[l.x] {
			if c.ev != nil && c.ev.at.After(l.ev.at) {
				l.ev.recover = append(l.ev.recover, c.ev.at)
			}
		}
	}
	// (c) rolled back: a later deployment of an older SHA...
	for _, evs := range byProject {
		firstOf := map[string]int{}
		for j, ev := range evs {
			if i, seen := firstOf[ev.sha]; seen && ev.sha != "" && evs[j-1].sha != ev.sha {
				for k := i + 1; k < j; k++ {
					if evs[k].sha != ev.sha {
						evs[k].failed = true
						evs[k].causes = appendOnce(evs[k].causes, "rolled back")
						evs[k].recover = append(evs[k].recover, ev.at)
					}
				}
			}
			if _, seen := firstOf[ev.sha]; !seen {
				firstOf[ev.sha] = j
			}
		}
	}
	// ...or a merged revert MR of one of its changes.
	for _, c := range of {
		if c == nil || !c.mr.IsRevert || c.mr.RevertsID == "" {
			continue
		}
		orig := changes[c.mr.RevertsID]
		if orig == nil || orig.ev == nil {
			continue
		}
		orig.ev.failed = true
		orig.ev.causes = appendOnce(orig.ev.causes, "reverted by !"+strconv.FormatInt(c.mr.IID, 10))
		if c.ev != nil && c.ev.at.After(orig.ev.at) {
			orig.ev.recover = append(orig.ev.recover, c.ev.at)
		}
	}
	// Rework depends on the changes shipped and the incident options only,
	// like the rest of the analysis: the same for every window.
	for _, ev := range events {
		ev.rework = isRework(ev, issues, o)
	}
	return analysis{events: events, attempts: attempts, changes: changes, of: of, issues: issues, restores: restores, failedBy: failed}
}

// recovered is the earliest recovery of a failed event after it finished.
func (ev *event) recovered() (time.Time, bool) {
	if !ev.failed || len(ev.recover) == 0 {
		return time.Time{}, false
	}
	first := ev.recover[0]
	for _, t := range ev.recover[1:] {
		if t.Before(first) {
			first = t
		}
	}
	return first, first.After(ev.at)
}

func appendOnce(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// DORA computes the four keys, the 2024 fifth (rework rate), their 2024
// tiers (legacy) and the 2025 Quick Check score.
func DORA(in Input, o Options) []*Metric { return doraOf(analyse(in, o), in, o) }

func doraOf(a analysis, in Input, o Options) []*Metric {
	events, attempts, changes, issues, restores := a.events, a.attempts, a.of, a.issues, a.restores
	// Sized for the most they can hold: appends to slices that grow from
	// nothing copy millions of samples per scope.
	deployAt := make([]time.Time, 0, len(events))
	cfr, rework := make([]hit, 0, len(events)), make([]hit, 0, len(events))
	var recovery []sample
	for _, ev := range events {
		deployAt = append(deployAt, ev.at)
		cfr = append(cfr, hit{ev.at, ev.failed})
		rework = append(rework, hit{ev.at, ev.rework})
		if first, ok := ev.recovered(); ok {
			recovery = append(recovery, sample{first, first.Sub(ev.at).Seconds()})
		}
	}

	// Lead time per commit, and the breakdown per change, of deployed non-bot changes.
	n := len(a.changes)
	lead := make([]sample, 0, n)
	coding, pickup, review, deploy := make([]sample, 0, n), make([]sample, 0, n), make([]sample, 0, n), make([]sample, 0, n)
	for _, c := range changes {
		if c == nil || c.ev == nil || c.mr.Author.IsBot || !o.inSeries(c.ev.at) { // durations keeps the series' range's only
			continue
		}
		at := c.ev.at
		for _, cm := range c.mr.Commits {
			if d := at.Sub(cm.AuthoredAt); d > 0 {
				lead = append(lead, sample{at, d.Seconds()})
			}
		}
		t := c.t
		for _, part := range []struct {
			dst *[]sample
			v   *float64
		}{{&coding, t.Coding}, {&pickup, t.Pickup}, {&review, t.Review}, {&deploy, t.Deploy}} {
			if part.v != nil {
				*part.dst = append(*part.dst, sample{at, *part.v})
			}
		}
	}

	b := Benchmarks[o.BenchmarkYear]
	count := o.counts("deployment_count", deployAt)
	freq := o.frequency(deployAt)
	freq.Band = o.band(deployAt)
	if t, ok := b.Bands[freq.Band]; ok {
		freq.Tier, freq.Year = t, b.Year
	}
	lt := o.durations("lead_time_for_changes", lead)
	tierOf(lt, lt.P50, b.LeadTime, b.Year)
	bd := &Metric{Name: "lead_time_breakdown", Unit: "seconds", Parts: map[string]*Metric{
		"coding": o.durations("coding", coding), "pickup": o.durations("pickup", pickup),
		"review": o.durations("review", review), "deploy": o.durations("deploy", deploy)}}
	bd.N = bd.Parts["deploy"].N
	cf := o.ratio("change_failure_rate", cfr)
	tierOf(cf, cf.Value, b.CFR, b.Year)
	rec := o.durations("failed_deployment_recovery_time", recovery)
	tierOf(rec, rec.P50, b.Recovery, b.Year)
	ttr := o.durations("time_to_restore", restores)
	tierOf(ttr, ttr.P50, b.Recovery, b.Year)
	rw := o.ratio("rework_rate", rework)
	daf := o.ratio("deploy_attempt_failure_rate", attempts)
	return []*Metric{count, freq, lt, bd, cf, rec, ttr, rw, daf, doraScore(freq, lt, rec, cf, rw),
		o.ticketLeadTime(issues, changes), o.unlinked(in)}
}

// failedBy is the deployment an incident fails: the one it names (rule (a):
// by deployment id or deployed SHA, the latest such that finished before
// the incident began, else the latest of them), else rule (b), attributed.
func failedBy(x *models.Issue, events []*event, byProject map[string][]*event, o Options) *event {
	if x.CausedBy == "" {
		return attributed(x, byProject, o)
	}
	var best *event
	for _, ev := range events { // time order
		named := names(x.CausedBy, ev)
		if !named {
			continue
		}
		if best == nil || !ev.at.After(x.CreatedAt) {
			best = ev
		}
	}
	if best != nil {
		return best
	}
	return attributed(x, byProject, o)
}

// names says whether an incident's cause names the event: one of its
// deployment ids, its SHA (or a prefix of at least 7 hex digits, as a
// person pastes it), or an MR it shipped.
func names(cause string, ev *event) bool {
	switch {
	case strings.HasPrefix(cause, "sha:"):
		sha := cause[len("sha:"):]
		return ev.sha != "" && (sha == ev.sha || len(sha) >= 7 && strings.HasPrefix(strings.ToLower(ev.sha), strings.ToLower(sha)))
	case strings.HasPrefix(cause, "mr:"):
		for _, c := range ev.ships {
			if c.mr.ID == cause[len("mr:"):] {
				return true
			}
		}
		return false
	}
	for _, id := range ev.ids {
		if id == cause {
			return true
		}
	}
	return false
}

// attributed is the last production deployment of the incident's scope that
// finished before it started, within incidents.attribution_window. The scope
// is the incident's project when that project deploys (GitLab); a tracker
// project (JIRA, Redmine) deploys nothing itself, so its incidents are
// attributed within the scope being computed, e.g. the team.
func attributed(x *models.Issue, byProject map[string][]*event, o Options) *event {
	evs := byProject[x.ProjectPath]
	if len(evs) == 0 && (x.Source == "jira" || x.Source == "redmine") {
		for _, e := range byProject {
			evs = append(evs, e...)
		}
		sort.Slice(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	}
	// evs are in time order: the last one finished before the incident started.
	k := sort.Search(len(evs), func(i int) bool { return !evs[i].at.Before(x.CreatedAt) })
	if k == 0 {
		return nil
	}
	if last := evs[k-1]; x.CreatedAt.Sub(last.at) <= o.AttributionWindow {
		return last
	}
	return nil
}

// IncidentDeployments maps each incident id to the deployment ids of the
// production deployment it is attributed to (the rule (b) of METRICS.md).
func IncidentDeployments(in Input, o Options) map[string][]string {
	return analyse(in, o).failedBy
}

// Timing is one merged MR's way to production; absent parts are nil.
type Timing struct {
	MR                             *models.MergeRequest
	DeployedAt                     *time.Time
	Coding, Pickup, Review, Deploy *float64 // seconds
}

// Timings lists every merged MR with its lead-time breakdown (bots included;
// callers filter). It is what lead_time_breakdown and the report's slowest
// MRs are made of.
func Timings(in Input, o Options) []Timing {
	a := analyse(in, o)
	out := make([]Timing, 0, len(a.changes))
	for _, c := range a.of {
		if c != nil {
			out = append(out, c.t)
		}
	}
	return out
}

func nonNeg(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	return ptr(d.Seconds())
}

func timing(c *change) Timing {
	m := c.mr
	t := Timing{MR: m}
	var first time.Time
	for _, cm := range m.Commits {
		if !cm.AuthoredAt.IsZero() && (first.IsZero() || cm.AuthoredAt.Before(first)) {
			first = cm.AuthoredAt
		}
	}
	if !first.IsZero() {
		t.Coding = nonNeg(m.CreatedAt.Sub(first))
	}
	if fr, ok := firstReview(m); ok {
		t.Pickup = nonNeg(fr.Sub(ready(m)))
		t.Review = nonNeg(m.MergedAt.Sub(fr))
	}
	if c.ev != nil {
		at := c.ev.at
		t.DeployedAt = &at
		t.Deploy = nonNeg(at.Sub(*m.MergedAt))
	}
	return t
}

func tierOf(m *Metric, v *float64, bounds []Bound, year int) {
	if v != nil && bounds != nil {
		m.Tier, m.Year = Tier(bounds, *v), year
	}
}

func addNonNeg(dst *[]sample, at time.Time, d time.Duration) {
	if d >= 0 { // negative durations come from clock skew: dropped
		*dst = append(*dst, sample{at, d.Seconds()})
	}
}

func ready(m *models.MergeRequest) time.Time {
	if m.ReadyAt != nil && m.ReadyAt.After(m.CreatedAt) {
		return *m.ReadyAt
	}
	return m.CreatedAt
}

// firstReview is the earliest note, approval or review by someone other than
// the author (collectors emit only those as reviews).
func firstReview(m *models.MergeRequest) (time.Time, bool) {
	var first time.Time
	for _, r := range m.Reviews {
		if r.Reviewer.Token != "" && r.Reviewer.Token == m.Author.Token {
			continue
		}
		if first.IsZero() || r.CreatedAt.Before(first) {
			first = r.CreatedAt
		}
	}
	return first, !first.IsZero()
}

func isRework(ev *event, issues map[string]*models.Issue, o Options) bool {
	for _, c := range ev.ships {
		m := c.mr
		if hasAny(m.Labels, []string{"bug", "incident", "hotfix"}) || strings.HasPrefix(m.SourceBranch, "hotfix/") {
			return true
		}
		for _, x := range linked(issues, m) {
			if o.IsIncident(x) || x.TypeClass == "bug" || strings.EqualFold(x.Type, "bug") || hasAny(x.Labels, []string{"bug"}) {
				return true
			}
		}
	}
	return false
}

// frequency is deployments per day of each period, days counted inside the window.
func (o Options) frequency(at []time.Time) *Metric {
	m := &Metric{Name: "deployment_frequency", Unit: "per_day"}
	by := map[time.Time]int{}
	for _, t := range at {
		if o.inWindow(t) {
			m.N++
		}
		if o.inSeries(t) {
			by[PeriodStart(t, o.Grain, o.Location)]++
		}
	}
	if days := o.Until.Sub(o.Since).Hours() / 24; days > 0 {
		m.Value = ptr(float64(m.N) / days)
	}
	since, until := o.seriesSpan()
	for _, p := range o.periods() {
		end := NextPeriod(p, o.Grain)
		lo, hi := maxTime(p, since), minTime(end, until)
		pt := Point{PeriodStart: p, PeriodEnd: end, N: by[p]}
		if days := hi.Sub(lo).Hours() / 24; days > 0 {
			pt.Value = ptr(float64(by[p]) / days)
		}
		m.Series = append(m.Series, pt)
	}
	return m
}

// band is Four Keys' deployment frequency rule over the window's days.
func (o Options) band(at []time.Time) string {
	days := map[time.Time]bool{}
	for _, t := range at {
		if o.inWindow(t) {
			days[PeriodStart(t, "day", o.Location)] = true
		}
	}
	weekDays := map[time.Time]int{}
	monthWeeks := map[time.Time]map[time.Time]bool{}
	for d := PeriodStart(o.Since, "day", o.Location); d.Before(o.Until); d = d.AddDate(0, 0, 1) {
		w := PeriodStart(d, "week", o.Location)
		mo := PeriodStart(d, "month", o.Location)
		if _, ok := weekDays[w]; !ok {
			weekDays[w] = 0
		}
		if monthWeeks[mo] == nil {
			monthWeeks[mo] = map[time.Time]bool{}
		}
		if days[d] {
			weekDays[w]++
			monthWeeks[mo][w] = true
		}
	}
	var perWeek, weekHas, perMonth []float64
	for _, n := range weekDays {
		perWeek = append(perWeek, float64(n))
		if n > 0 {
			weekHas = append(weekHas, 1)
		} else {
			weekHas = append(weekHas, 0)
		}
	}
	for _, ws := range monthWeeks {
		perMonth = append(perMonth, float64(len(ws)))
	}
	switch {
	case atLeast(perWeek, 3):
		return "daily"
	case atLeast(weekHas, 1):
		return "weekly"
	case atLeast(perMonth, 1):
		return "monthly"
	}
	return "yearly"
}

func atLeast(xs []float64, v float64) bool {
	m := Percentile(xs, 0.5)
	return m != nil && *m >= v
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// IncidentRow is one incident of the window, for the drill-down.
type IncidentRow struct {
	Issue *models.Issue
	// Restore is time_to_restore's sample (closed − opened), nil while open.
	Restore *float64
	// Failed names the production deployment the incident fails (rule (b)),
	// by its deployment ids; empty when none is attributed.
	Failed []string
}

// Incidents lists the incidents opened in the window, or closed in it, newest
// first (ties by id), with their time to restore and the deployment they
// fail: the same attribution DORA's change failure rate counts.
func Incidents(in Input, o Options) []IncidentRow { return incidentRows(analyse(in, o), in, o) }

func incidentRows(a analysis, in Input, o Options) []IncidentRow {
	failed := a.failedBy
	var out []IncidentRow
	for i := range in.Issues {
		x := &in.Issues[i]
		if !o.IsIncident(x) {
			continue
		}
		opened := o.inWindow(x.CreatedAt)
		closed := x.ClosedAt != nil && o.inWindow(*x.ClosedAt)
		if !opened && !closed {
			continue
		}
		row := IncidentRow{Issue: x, Failed: failed[x.ID]}
		if x.ClosedAt != nil {
			row.Restore = nonNeg(x.ClosedAt.Sub(x.CreatedAt))
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Issue.CreatedAt.Equal(out[j].Issue.CreatedAt) {
			return out[i].Issue.CreatedAt.After(out[j].Issue.CreatedAt)
		}
		return out[i].Issue.ID < out[j].Issue.ID
	})
	return out
}

// DeploymentRow is one production deployment of the window, for the
// drill-down: what it shipped, whether it failed, why, and when it recovered.
type DeploymentRow struct {
	IDs         []string // deployment record ids of the event (one pipeline, one environment)
	Project     string
	Environment string
	Ref, SHA    string
	FinishedAt  time.Time
	Changes     int // merged MRs it shipped
	Commits     int // their commits
	Rework      bool
	Failed      bool
	Causes      []string // "incident KEY", "rolled back", "reverted by !IID"
	RecoveredAt *time.Time
	Recovery    *float64 // failed_deployment_recovery_time's sample, seconds
}

// ProductionDeployments lists the window's production deployments, newest
// first, as change_failure_rate and failed_deployment_recovery_time count them.
func ProductionDeployments(in Input, o Options) []DeploymentRow {
	return deploymentRows(analyse(in, o), o)
}

// Delivery is both drill-downs of a scope from one analysis: the window's
// production deployments and its incidents.
func Delivery(in Input, o Options) ([]DeploymentRow, []IncidentRow) {
	a := analyse(in, o)
	return deploymentRows(a, o), incidentRows(a, in, o)
}

func deploymentRows(a analysis, o Options) []DeploymentRow {
	var out []DeploymentRow
	for _, ev := range a.events {
		if !o.inWindow(ev.at) {
			continue
		}
		row := DeploymentRow{IDs: ev.ids, Project: ev.project, Environment: ev.env, Ref: ev.ref, SHA: ev.sha,
			FinishedAt: ev.at, Changes: len(ev.ships), Rework: ev.rework, Failed: ev.failed, Causes: ev.causes}
		for _, c := range ev.ships {
			row.Commits += len(c.mr.Commits)
		}
		if first, ok := ev.recovered(); ok {
			row.RecoveredAt, row.Recovery = &first, ptr(first.Sub(ev.at).Seconds())
		}
		out = append(out, row)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].FinishedAt.After(out[j].FinishedAt) })
	return out
}

// ticketLeadTime is ticket_lead_time: per tracker issue that is done and
// linked to merged changes that all reached production, created → the
// production deployment that shipped the last of them (and, as the part
// in_progress, first in progress → that deployment). A sample belongs to
// the period of that deployment, its end event.
func (o Options) ticketLeadTime(issues map[string]*models.Issue, changes []*change) *Metric {
	type ticket struct {
		last     time.Time
		deployed bool
	}
	byIssue := map[*models.Issue]*ticket{}
	for _, c := range changes {
		if c == nil {
			continue
		}
		for _, x := range linked(issues, c.mr) {
			t := byIssue[x]
			if t == nil {
				t = &ticket{deployed: true}
				byIssue[x] = t
			}
			if c.ev == nil {
				t.deployed = false
			} else if c.ev.at.After(t.last) {
				t.last = c.ev.at
			}
		}
	}
	var created, started []sample
	for x, t := range byIssue {
		done := x.ClosedAt != nil || x.StatusCategory == models.CategoryDone
		if !t.deployed || !done {
			continue
		}
		if d := t.last.Sub(x.CreatedAt); d > 0 {
			created = append(created, sample{t.last, d.Seconds()})
		}
		if ip, ok := newHistory(x).firstInProgress(); ok {
			if d := t.last.Sub(ip); d > 0 {
				started = append(started, sample{t.last, d.Seconds()})
			}
		}
	}
	m := o.durations("ticket_lead_time", created)
	m.Parts = map[string]*Metric{"in_progress": o.durations("in_progress", started)}
	return m
}

// unlinked is unlinked_change_rate: merged MRs that name no tracker issue
// (no issue link, no closing reference) over merged MRs, bots left out
// unless metrics.include_bots. Only a scope with a tracker (JIRA or Redmine
// issues) has it: elsewhere every change would be "unlinked".
func (o Options) unlinked(in Input) *Metric {
	tracker := false
	for i := range in.Issues {
		if s := in.Issues[i].Source; s == "jira" || s == "redmine" {
			tracker = true
			break
		}
	}
	var hits []hit
	if tracker {
		for i := range in.MergeRequests {
			m := &in.MergeRequests[i]
			if m.MergedAt == nil || (m.Author.IsBot && !o.IncludeBots) {
				continue
			}
			hits = append(hits, hit{*m.MergedAt, len(m.IssueLinks) == 0 && len(m.ClosesIssues) == 0})
		}
	}
	return o.ratio("unlinked_change_rate", hits)
}
