// Package report turns warehouse records into per-scope metric results and
// renders them: rows for metric_values, a terminal table, a documented JSON
// document and a self-contained HTML page.
package report

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/benchmarks"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
	"golang.org/x/sync/errgroup"
)

// Scope is a project or a team.
type Scope struct {
	Kind    string // project | team
	Name    string // group/project path, or team name
	members map[string]bool
}

func (s Scope) has(o models.Origin, project string) bool {
	if s.Kind == "project" {
		return project == s.Name
	}
	return s.members[o.Instance+"\x00"+project]
}

// TeamMembers resolves the configured teams to the projects as they landed:
// a member "<source>:<path>" is matched by the source's host, since records
// carry the server they came from, and a project in a personal namespace
// also under the pseudonym it landed with.
func TeamMembers(cfg *config.Config) []warehouse.TeamMember {
	var out []warehouse.TeamMember
	for t, members := range cfg.Teams {
		for _, m := range members {
			src, path, _ := strings.Cut(m, ":")
			host := ""
			if sc := cfg.Sources[src]; sc != nil {
				if u, err := url.Parse(sc.URL); err == nil {
					host = u.Host
				}
			}
			out = append(out, warehouse.TeamMember{Team: t, Instance: host, ProjectPath: path})
			if pp := policy.PersonalNamespacePath(cfg.Privacy.Secret, path); pp != "" {
				out = append(out, warehouse.TeamMember{Team: t, Instance: host, ProjectPath: pp})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Team+"\x00"+a.Instance+"\x00"+a.ProjectPath < b.Team+"\x00"+b.Instance+"\x00"+b.ProjectPath
	})
	return out
}

// Teams are the teams to report: the configuration's when there is one
// (a configuration with sources), else those stored with the metrics, so a
// warehouse opened without its config (a demo file, a copy) still has them.
func Teams(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse) ([]warehouse.TeamMember, error) {
	if configured(cfg) {
		return TeamMembers(cfg), nil
	}
	return warehouse.LoadTeams(ctx, wh)
}

// configured tells a real configuration (one with sources or teams) from
// the bare defaults a command gets without a file: only the former says
// which teams there are.
func configured(cfg *config.Config) bool { return len(cfg.Sources) > 0 || len(cfg.Teams) > 0 }

// Scopes lists every project found in the records and every team.
func Scopes(teams []warehouse.TeamMember, b *models.Batch) []Scope {
	return ScopesOf(teams, projectsOf(b))
}

// StoredScopes lists every project with live records in the warehouse and
// every team, without reading the records.
func StoredScopes(ctx context.Context, teams []warehouse.TeamMember, wh warehouse.Warehouse) ([]Scope, error) {
	ps, err := warehouse.Projects(ctx, wh)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(ps))
	for i, p := range ps {
		paths[i] = p.Path
	}
	return ScopesOf(teams, paths), nil
}

// selection is what a scope reads from the warehouse.
func (s Scope) selection() *warehouse.Selection {
	if s.Kind == "project" {
		return &warehouse.Selection{Paths: []string{s.Name}}
	}
	sel := &warehouse.Selection{}
	for k := range s.members {
		inst, p, _ := strings.Cut(k, "\x00")
		sel.Members = append(sel.Members, warehouse.ProjectRef{Instance: inst, Path: p})
	}
	sort.Slice(sel.Members, func(i, j int) bool {
		a, b := sel.Members[i], sel.Members[j]
		return a.Instance+"\x00"+a.Path < b.Instance+"\x00"+b.Path
	})
	return sel
}

func projectsOf(b *models.Batch) []string {
	seen := map[string]bool{}
	add := func(p string) { seen[p] = true }
	for i := range b.MergeRequests {
		add(b.MergeRequests[i].ProjectPath)
	}
	for i := range b.Deployments {
		add(b.Deployments[i].ProjectPath)
	}
	for i := range b.Pipelines {
		add(b.Pipelines[i].ProjectPath)
	}
	for i := range b.Issues {
		add(b.Issues[i].ProjectPath)
	}
	for i := range b.Sprints {
		add(b.Sprints[i].ProjectPath)
	}
	var projects []string
	for p := range seen {
		projects = append(projects, p)
	}
	return projects
}

// ScopesOf lists the teams and then the projects (paths, on any server).
func ScopesOf(teams []warehouse.TeamMember, projects []string) []Scope {
	projects = append([]string(nil), projects...)
	sort.Strings(projects)
	projects = slices.Compact(projects)
	var out []Scope
	byName := map[string]*Scope{}
	var names []string
	for _, m := range teams {
		s := byName[m.Team]
		if s == nil {
			s = &Scope{Kind: "team", Name: m.Team, members: map[string]bool{}}
			byName[m.Team] = s
			names = append(names, m.Team)
		}
		s.members[m.Instance+"\x00"+m.ProjectPath] = true
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, *byName[n])
	}
	for _, p := range projects {
		out = append(out, Scope{Kind: "project", Name: p})
	}
	return out
}

// Select keeps the scopes named by --team / --project (all when both empty).
func Select(scopes []Scope, teams, projects []string) ([]Scope, error) {
	if len(teams) == 0 && len(projects) == 0 {
		return scopes, nil
	}
	want := map[string]bool{}
	for _, t := range teams {
		want["team\x00"+t] = true
	}
	for _, p := range projects {
		want["project\x00"+p] = true
	}
	var out []Scope
	for _, s := range scopes {
		if want[s.Kind+"\x00"+s.Name] {
			out = append(out, s)
			delete(want, s.Kind+"\x00"+s.Name)
		}
	}
	for k := range want {
		kind, name, _ := strings.Cut(k, "\x00")
		return nil, fmt.Errorf("no %s %q in the warehouse or config", kind, name)
	}
	return out, nil
}

// Input narrows the records to a scope.
func Input(b *models.Batch, s Scope) metrics.Input {
	var in metrics.Input
	for _, x := range b.MergeRequests {
		if s.has(x.Origin, x.ProjectPath) {
			in.MergeRequests = append(in.MergeRequests, x)
		}
	}
	for _, x := range b.Deployments {
		if s.has(x.Origin, x.ProjectPath) {
			in.Deployments = append(in.Deployments, x)
		}
	}
	for _, x := range b.Pipelines {
		if s.has(x.Origin, x.ProjectPath) {
			in.Pipelines = append(in.Pipelines, x)
		}
	}
	for _, x := range b.Issues {
		if s.has(x.Origin, x.ProjectPath) {
			in.Issues = append(in.Issues, x)
		}
	}
	for _, x := range b.Sprints {
		if s.has(x.Origin, x.ProjectPath) {
			in.Sprints = append(in.Sprints, x)
		}
	}
	return in
}

// Result is one scope's metrics over the window and the window before it.
type Result struct {
	Scope   Scope
	Set     metrics.Set
	Prev    metrics.Set
	Slowest []metrics.Timing  // the window's deployed changes, slowest lead first
	Waiting []metrics.Waiting // open MRs waiting longest for a first review, as of the newest landed change
	Aging   []metrics.Aging   // issues in progress longest, as of the same moment
	// Incidents of the window with time to restore and the deployment each fails.
	Incidents []metrics.IncidentRow
	// Deployments are the window's production deployments, newest first:
	// what each shipped, whether it failed, why, and its recovery.
	Deployments []metrics.DeploymentRow
	Flow        []metrics.FlowDay    // the cumulative flow diagram, one point a day
	Cycle       []metrics.CyclePoint // the cycle-time scatter
	// Reference is the DORA 2025 Quick Check group dora_score is shown beside.
	Reference benchmarks.Group
	// Changes are the scope's regressions and improvements (METRICS.md
	// "Regressions"), newest first; Goals its configured goals, judged.
	Changes []warehouse.Regression
	Goals   []GoalResult
}

// OverCycleP85 tells whether an issue in progress is older than the scope's
// cycle-time p85: work that is already slower than most finished work.
func (r Result) OverCycleP85(a metrics.Aging) bool {
	ct := r.Set["cycle_time"]
	return ct != nil && ct.P85 != nil && a.Age > *ct.P85
}

// byProject splits the records by (instance, project) once; scopes are then
// made of whole groups instead of filtering every record for every scope.
// Records loaded in project order (warehouse.Load) are shared, not copied.
func byProject(b *models.Batch) map[string]*metrics.Input {
	g := map[string]*metrics.Input{}
	get := func(k string) *metrics.Input {
		if g[k] == nil {
			g[k] = &metrics.Input{}
		}
		return g[k]
	}
	key := func(o models.Origin, p string) string { return o.Instance + "\x00" + p }
	groupRuns(b.MergeRequests, func(x *models.MergeRequest) string { return key(x.Origin, x.ProjectPath) },
		func(k string, run []models.MergeRequest) {
			in := get(k)
			in.MergeRequests = join(in.MergeRequests, run)
		})
	groupRuns(b.Deployments, func(x *models.Deployment) string { return key(x.Origin, x.ProjectPath) },
		func(k string, run []models.Deployment) { in := get(k); in.Deployments = join(in.Deployments, run) })
	groupRuns(b.Pipelines, func(x *models.Pipeline) string { return key(x.Origin, x.ProjectPath) },
		func(k string, run []models.Pipeline) { in := get(k); in.Pipelines = join(in.Pipelines, run) })
	groupRuns(b.Issues, func(x *models.Issue) string { return key(x.Origin, x.ProjectPath) },
		func(k string, run []models.Issue) { in := get(k); in.Issues = join(in.Issues, run) })
	groupRuns(b.Sprints, func(x *models.Sprint) string { return key(x.Origin, x.ProjectPath) },
		func(k string, run []models.Sprint) { in := get(k); in.Sprints = join(in.Sprints, run) })
	return g
}

// join is append that takes a first run as it is.
func join[T any](dst, run []T) []T {
	if dst == nil {
		return run
	}
	return append(dst, run...)
}

// groupRuns hands each run of consecutive records with the same key to add,
// capped at its length, so a later run of the same key joined to it makes
// append copy instead of writing over the records that follow.
func groupRuns[T any](xs []T, key func(*T) string, add func(k string, run []T)) {
	for lo := 0; lo < len(xs); {
		k := key(&xs[lo])
		hi := lo + 1
		for hi < len(xs) && key(&xs[hi]) == k {
			hi++
		}
		add(k, xs[lo:hi:hi])
		lo = hi
	}
}

// scopeInput joins the groups a scope covers; a project scope with one
// group shares its slices, nothing is copied.
func scopeInput(groups map[string]*metrics.Input, s Scope) metrics.Input {
	var parts []*metrics.Input
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		inst, p, _ := strings.Cut(k, "\x00")
		if s.has(models.Origin{Instance: inst}, p) {
			parts = append(parts, groups[k])
		}
	}
	if len(parts) == 1 {
		return *parts[0]
	}
	var in metrics.Input
	for _, p := range parts {
		in.MergeRequests = append(in.MergeRequests, p.MergeRequests...)
		in.Deployments = append(in.Deployments, p.Deployments...)
		in.Pipelines = append(in.Pipelines, p.Pipelines...)
		in.Issues = append(in.Issues, p.Issues...)
		in.Sprints = append(in.Sprints, p.Sprints...)
	}
	return in
}

// Compute derives every scope's metrics from records already loaded. The
// previous window (same length, just before) gives the trend.
func Compute(b *models.Batch, scopes []Scope, o metrics.Options) []Result {
	groups := byProject(b)
	var newest time.Time
	for i := range b.MergeRequests {
		if u := b.MergeRequests[i].UpdatedAt; u.After(newest) {
			newest = u
		}
	}
	for i := range b.Issues {
		if u := b.Issues[i].UpdatedAt; u.After(newest) {
			newest = u
		}
	}
	out, _ := computeAll(scopes, o, newest, func(s Scope) (metrics.Input, error) { return scopeInput(groups, s), nil })
	return out
}

// ComputeStored derives every scope's metrics reading each scope's records
// from the warehouse on its own: memory follows the largest scope being
// computed, not everything landed.
func ComputeStored(ctx context.Context, wh warehouse.Warehouse, scopes []Scope, o metrics.Options) ([]Result, error) {
	newest, err := warehouse.NewestUpdate(ctx, wh, "merge_requests", "issues")
	if err != nil {
		return nil, err
	}
	// The earliest instant any computation below looks at: the previous
	// window's first whole period.
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	from := metrics.PeriodStart(o.Since.Add(-o.Until.Sub(o.Since)), o.Grain, loc)
	return computeAll(scopes, o, newest, func(s Scope) (metrics.Input, error) {
		sel := s.selection()
		sel.PipelinesSince, sel.ForMetrics = from, true
		sel.ChildrenSince = from
		sel.KeepChildren = func(b *models.Batch) []string {
			return metrics.ShippedSince(metrics.Input{MergeRequests: b.MergeRequests, Deployments: b.Deployments}, o, from)
		}
		b, err := warehouse.LoadSelection(ctx, wh, sel)
		if err != nil {
			return metrics.Input{}, fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		}
		return metrics.Input{MergeRequests: b.MergeRequests, Deployments: b.Deployments, Pipelines: b.Pipelines,
			Issues: b.Issues, Sprints: b.Sprints}, nil
	})
}

// computeAll computes the scopes side by side, keeping their order; input
// gives each scope's records. newest is the latest landed update.
func computeAll(scopes []Scope, o metrics.Options, newest time.Time, input func(Scope) (metrics.Input, error)) ([]Result, error) {
	prev := o
	prev.Since, prev.Until = o.Since.Add(-o.Until.Sub(o.Since)), o.Since
	// Waiting is measured to the newest change that landed (or the window's
	// end, if earlier): what the data knows, the same whenever the report is
	// rendered, not a clock that makes two renders differ.
	asOf := o.Until
	if !newest.IsZero() && newest.Before(asOf) {
		asOf = newest
	}
	// The reference group was checked when the configuration loaded; a code-
	// built Options without one gets All industries.
	ref, err := benchmarks.QuickCheck(o.BenchmarkIndustry)
	if err != nil {
		ref, _ = benchmarks.QuickCheck("all")
	}
	out := make([]Result, len(scopes))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, s := range scopes {
		g.Go(func() error {
			in, err := input(s)
			if err != nil {
				return err
			}
			out[i] = computeScope(in, s, o, prev, asOf, ref)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// computeScope derives one scope's result; the attribution to deployments
// is shared by the window, the previous window and the drill-downs.
func computeScope(in metrics.Input, s Scope, o, prev metrics.Options, asOf time.Time, ref benchmarks.Group) Result {
	in = metrics.Share(in, o)
	r := Result{Scope: s, Set: metrics.Compute(in, o), Prev: metrics.Compute(in, prev)}
	// The ten slowest, kept in order as they come: a sort of every deployed
	// change would order tens of thousands to show ten.
	slower := func(a, b metrics.Timing) bool {
		if x, y := total(a), total(b); x != y {
			return x > y
		}
		return a.MR.ID < b.MR.ID // ties in a stable, input-independent order
	}
	for _, t := range metrics.Timings(in, o) {
		if t.DeployedAt == nil || t.MR.Author.IsBot || t.DeployedAt.Before(o.Since) || !t.DeployedAt.Before(o.Until) {
			continue
		}
		if len(r.Slowest) == 10 && !slower(t, r.Slowest[9]) {
			continue
		}
		i := sort.Search(len(r.Slowest), func(i int) bool { return slower(t, r.Slowest[i]) })
		r.Slowest = slices.Insert(r.Slowest, i, t)
		if len(r.Slowest) > 10 {
			r.Slowest = r.Slowest[:10]
		}
	}
	r.Waiting = metrics.WaitingForReview(in, asOf, 10)
	r.Aging = metrics.AgingWIP(in, asOf, 10)
	r.Deployments, r.Incidents = metrics.Delivery(in, o)
	if len(in.Issues) > 0 { // no tracker, no diagram (not a flat line of zeros)
		r.Flow = metrics.CumulativeFlow(in, o)
	}
	r.Cycle = metrics.CycleTimes(in, o)
	r.Reference = ref
	detach(&r)
	return r
}

// detach copies the few records a result points at out of the scope's
// slices: a pointer into them would keep every record of the scope alive
// for as long as the result, and a run holds all scopes' results.
func detach(r *Result) {
	mr := func(p **models.MergeRequest) {
		if *p != nil {
			c := **p
			// A drill-down shows the MR, not its children (which a load for
			// metrics reads only in part).
			c.Commits, c.Reviews, c.IssueLinks = nil, nil, nil
			*p = &c
		}
	}
	issue := func(p **models.Issue) {
		if *p != nil {
			c := **p
			*p = &c
		}
	}
	// Cloned too: a slice cut to its first ten keeps its whole array, whose
	// tail points at every merged MR.
	r.Slowest, r.Waiting, r.Aging, r.Incidents = slices.Clone(r.Slowest), slices.Clone(r.Waiting), slices.Clone(r.Aging), slices.Clone(r.Incidents)
	for i := range r.Slowest {
		mr(&r.Slowest[i].MR)
	}
	for i := range r.Waiting {
		mr(&r.Waiting[i].MR)
	}
	for i := range r.Aging {
		issue(&r.Aging[i].Issue)
	}
	for i := range r.Incidents {
		issue(&r.Incidents[i].Issue)
	}
}

func total(t metrics.Timing) float64 {
	s := 0.0
	for _, p := range []*float64{t.Coding, t.Pickup, t.Review, t.Deploy} {
		if p != nil {
			s += *p
		}
	}
	return s
}

// Values flattens results into metric_values rows: the window (grain
// "window") and each period of the series.
func Values(rs []Result, o metrics.Options) []warehouse.MetricValue {
	var out []warehouse.MetricValue
	for _, r := range rs {
		names := make([]string, 0, len(r.Set))
		for n := range r.Set {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			m := r.Set[n]
			if n != "lead_time_breakdown" { // the breakdown has no value of its own, only stages
				out = append(out, metricRows(r.Scope, n, m, o)...)
			}
			for _, part := range sortedKeys(m.Parts) {
				out = append(out, metricRows(r.Scope, n+"."+part, m.Parts[part], o)...)
			}
		}
	}
	return out
}

func env(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 && !strings.HasPrefix(name, "lead_time_breakdown") {
		name = name[:i]
	}
	switch name {
	case "deployment_count", "deployment_frequency", "lead_time_for_changes", "change_failure_rate",
		"failed_deployment_recovery_time", "rework_rate", "deploy_attempt_failure_rate", "ticket_lead_time", "dora_score":
		return "production"
	}
	if strings.HasPrefix(name, "lead_time_breakdown") {
		return "production"
	}
	return ""
}

func metricRows(s Scope, name string, m *metrics.Metric, o metrics.Options) []warehouse.MetricValue {
	base := warehouse.MetricValue{ScopeKind: s.Kind, Scope: s.Name, Metric: name, Environment: env(name), Unit: m.Unit, N: m.N, BenchmarkYear: m.Year}
	local := func(t time.Time) time.Time { return t.In(o.Location) }
	var out []warehouse.MetricValue
	win := base
	win.Grain, win.PeriodStart, win.PeriodEnd = "window", local(o.Since), local(o.Until)
	label := m.Tier
	if m.Band != "" {
		label = m.Band + "/" + m.Tier
	}
	if m.P50 != nil || (m.Value == nil && (m.IsDistribution())) {
		for _, st := range []struct {
			stat string
			v    *float64
		}{{"p50", m.P50}, {"p85", m.P85}} {
			v := win
			v.Stat, v.Value, v.Label = st.stat, st.v, label
			out = append(out, v)
		}
	} else {
		v := win
		v.Stat, v.Value, v.Label = "value", m.Value, label
		if m.Mean != nil {
			v.Stat = "mean"
		}
		out = append(out, v)
	}
	stat := "value"
	if m.IsDistribution() {
		stat = "p50"
	} else if m.Mean != nil {
		stat = "mean"
	}
	for _, p := range m.Series {
		v := base
		v.Grain, v.PeriodStart, v.PeriodEnd, v.Stat, v.Value, v.N, v.BenchmarkYear, v.Partial = o.Grain, p.PeriodStart, p.PeriodEnd, stat, p.Value, p.N, 0, p.Partial
		out = append(out, v)
		if stat == "p50" && m.Unit == "seconds" {
			// The p85 series too: alerts watch pipeline_duration p85, and a
			// dashboard of the tail needs it per period.
			v.Stat, v.Value = "p85", p.P85
			out = append(out, v)
		}
	}
	return append(out, sprintRows(base, name, m, o)...)
}

// sprintRows stores each sprint's figures with grain "sprint" (period = the
// sprint, label = its name) for the flow_sprints dashboard view: the
// committed/done/added/removed/re-estimated points ride along with say_do_ratio.
func sprintRows(base warehouse.MetricValue, name string, m *metrics.Metric, o metrics.Options) []warehouse.MetricValue {
	var out []warehouse.MetricValue
	f := func(x float64) *float64 { return &x }
	for _, sp := range m.Sprints {
		row := func(metric, unit string, v *float64) {
			r := base
			r.Metric, r.Unit, r.Grain, r.Stat, r.Value, r.N, r.BenchmarkYear = metric, unit, "sprint", "value", v, 1, 0
			r.PeriodStart, r.PeriodEnd, r.Label = sp.Start.In(o.Location), sp.End.In(o.Location), sp.Name
			out = append(out, r)
		}
		switch name {
		case "velocity":
			row("velocity", m.Unit, f(sp.Velocity))
		case "say_do_ratio":
			row("say_do_ratio", m.Unit, sp.SayDo)
			row("sprint_committed_points", "points", f(sp.Committed))
			row("sprint_done_of_committed_points", "points", f(sp.DoneOfCommitted))
			row("sprint_added_points", "points", f(sp.Added))
			row("sprint_removed_points", "points", f(sp.Removed))
			row("sprint_re_estimated_points", "points", f(sp.ReEst))
		}
	}
	return out
}

func sortedKeys(m map[string]*metrics.Metric) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EmptyWindowHint says where the data is when no scope has anything in the
// window (every metric n = 0): a report of dashes and a "low" tier would
// otherwise look like a finding. "" when the window holds data.
func EmptyWindowHint(rs []Result, newest time.Time, o metrics.Options) string {
	for _, r := range rs {
		for _, m := range r.Set {
			if m != nil && m.N > 0 {
				return ""
			}
		}
	}
	if newest.IsZero() {
		return "the warehouse holds no records yet: run `devpulse collect` first"
	}
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	n := newest.In(loc)
	return fmt.Sprintf("no data in %s: the newest record is of %s; try --since %s --until %s",
		Window(o), n.Format("2 Jan 2006"), n.AddDate(0, 0, -90).Format("2006-01-02"), n.AddDate(0, 0, 1).Format("2006-01-02"))
}
