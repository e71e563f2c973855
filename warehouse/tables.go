package warehouse

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// Table describes how one record type becomes rows. Key columns are the
// natural key; Parent, when set, is the column holding the parent record's id:
// children of a re-landed parent are replaced, so a commit dropped by a
// force-push or a review deleted upstream disappears too.
type Table struct {
	Name    string
	Columns []string
	Key     []string
	Parent  string // child tables only: column referencing the parent id
	Of      string // parent table name
}

// Tables in landing order: parents before children.
var (
	MergeRequests = Table{Name: "merge_requests", Key: []string{"id"}, Columns: []string{
		"id", "source", "instance", "project_id", "project_path", "iid", "title", "state", "draft",
		"author", "author_is_bot", "source_branch", "target_branch", "labels", "sha", "merge_commit_sha",
		"squash_commit_sha", "closes_issues", "web_url", "created_at", "updated_at", "ready_at", "merged_at", "closed_at",
		"collected_at", "deleted_at", "is_revert", "reverts_mr_id", "additions", "deletions", "ai_assisted"}}
	MRCommits = Table{Name: "mr_commits", Key: []string{"mr_id", "sha"}, Parent: "mr_id", Of: "merge_requests", Columns: []string{
		"mr_id", "sha", "source", "instance", "author", "authored_at", "committed_at", "collected_at"}}
	IssueLinks = Table{Name: "issue_links", Key: []string{"mr_id", "tracker", "issue_key"}, Parent: "mr_id", Of: "merge_requests", Columns: []string{
		"mr_id", "tracker", "issue_key", "via", "source", "instance", "collected_at"}}
	MRReviews = Table{Name: "mr_reviews", Key: []string{"id"}, Parent: "mr_id", Of: "merge_requests", Columns: []string{
		"id", "mr_id", "source", "instance", "kind", "reviewer", "reviewer_is_bot", "created_at", "collected_at"}}
	Pipelines = Table{Name: "pipelines", Key: []string{"id"}, Columns: []string{
		"id", "source", "instance", "project_id", "project_path", "pipeline_id", "ref", "sha", "status", "trigger",
		"is_default_branch", "triggered_by", "created_at", "updated_at", "started_at", "finished_at",
		"duration_s", "queued_duration_s", "collected_at", "deleted_at"}}
	Deployments = Table{Name: "deployments", Key: []string{"id"}, Columns: []string{
		"id", "source", "instance", "project_id", "project_path", "deployment_id", "environment", "environment_tier",
		"status", "ref", "sha", "pipeline_id", "job_name", "deployer", "created_at", "updated_at", "finished_at",
		"collected_at", "deleted_at"}}
	DeploymentChanges = Table{Name: "deployment_changes", Key: []string{"deployment_id", "mr_id"}, Parent: "deployment_id", Of: "deployments", Columns: []string{
		"deployment_id", "mr_id", "source", "instance", "collected_at"}}
	Issues = Table{Name: "issues", Key: []string{"id"}, Columns: []string{
		"id", "source", "instance", "project_id", "project_path", "key", "title", "type", "labels", "state",
		"author", "assignee", "web_url", "created_at", "updated_at", "closed_at", "collected_at", "deleted_at",
		"status", "status_category", "story_points", "sprint_id", "type_class", "priority", "caused_by"}}
	IssueTransitions = Table{Name: "issue_transitions", Key: []string{"id"}, Parent: "issue_id", Of: "issues", Columns: []string{
		"id", "issue_id", "source", "instance", "field", "changed_at", "from_value", "to_value", "from_category", "to_category", "collected_at"}}
	Sprints = Table{Name: "sprints", Key: []string{"id"}, Columns: []string{
		"id", "source", "instance", "project_path", "name", "state", "start_date", "due_date", "start_at", "end_at",
		"complete_at", "updated_at", "collected_at", "deleted_at"}}
)

// MetricValues holds derived metrics; its key is the metric's identity.
var MetricValues = Table{Name: "metric_values", Key: []string{"scope_kind", "scope", "metric", "grain", "period_start", "environment", "stat"},
	Columns: []string{"scope_kind", "scope", "metric", "grain", "period_start", "period_end", "environment", "stat", "value",
		"unit", "n", "label", "benchmark_year", "computed_at", "partial"}}

// MetricRows maps metric values to rows of MetricValues.
func MetricRows(vals []MetricValue, now time.Time) Rows {
	date := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	out := Rows{Table: MetricValues}
	for _, v := range vals {
		var val any
		if v.Value != nil {
			val = *v.Value
		}
		var year any
		if v.BenchmarkYear != 0 {
			year = int64(v.BenchmarkYear)
		}
		out.Rows = append(out.Rows, []any{v.ScopeKind, v.Scope, v.Metric, v.Grain, date(v.PeriodStart), date(v.PeriodEnd),
			v.Environment, v.Stat, val, nullStr(v.Unit), int64(v.N), nullStr(v.Label), year, now, v.Partial})
	}
	out.Rows = dedupe(out.Table, out.Rows)
	return out
}

// RecordTables lists every record table, parents first.
var RecordTables = []Table{MergeRequests, MRCommits, IssueLinks, MRReviews, Pipelines, Deployments, DeploymentChanges, Issues, IssueTransitions, Sprints}

// Rows is a table with the rows of one batch, in column order.
type Rows struct {
	Table Table
	Rows  [][]any
}

// BatchRows maps a batch to rows per table. Only a Person's Token is ever
// read: raw names, emails and ids have no column to land in. Duplicates of a
// natural key within the batch keep the last occurrence (the newest page).
func BatchRows(b *models.Batch, now time.Time) []Rows {
	out := make([]Rows, 0, len(batchTables))
	for _, bt := range batchTables {
		// Parents are always listed, even empty, so children get replaced.
		out = append(out, Rows{bt.table, dedupe(bt.table, bt.rows(b, now))})
	}
	return out
}

// EachRows hands BatchRows' tables to fn one at a time, in the same order,
// building the next table's rows on another goroutine while fn lands the
// current one: converting a batch costs about a third of what landing it
// does, and the engine's append runs on the calling goroutine, so the two
// overlap on a second core. fn's first error stops it and is returned.
func EachRows(b *models.Batch, now time.Time, fn func(Rows) error) error {
	next := make(chan Rows, 1)
	stop := make(chan struct{})
	go func() {
		defer close(next)
		for _, bt := range batchTables {
			select {
			case next <- Rows{bt.table, dedupe(bt.table, bt.rows(b, now))}:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		for range next { // the builder stops at its next table; wait so b is no longer read
		}
	}()
	for r := range next {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// batchTables builds each record table's rows from a batch, parents before
// their children.
var batchTables = []struct {
	table Table
	rows  func(b *models.Batch, now time.Time) [][]any
}{
	{MergeRequests, func(b *models.Batch, now time.Time) [][]any {
		out := make([][]any, 0, len(b.MergeRequests))
		for i := range b.MergeRequests {
			m := &b.MergeRequests[i]
			out = append(out, []any{m.ID, m.Source, m.Instance, m.ProjectID, m.ProjectPath, m.IID, nullStr(m.Title), m.State, m.Draft,
				nullStr(m.Author.Token), m.Author.IsBot, m.SourceBranch, m.TargetBranch, joinLabels(m.Labels), nullStr(m.SHA),
				nullStr(m.MergeCommitSHA), nullStr(m.SquashCommitSHA), joinLabels(m.ClosesIssues), nullStr(m.WebURL), m.CreatedAt, m.UpdatedAt,
				nullTime(m.ReadyAt), nullTime(m.MergedAt), nullTime(m.ClosedAt), now, nil, m.IsRevert, nullStr(m.RevertsID), nullInt(m.Additions), nullInt(m.Deletions), m.AIAssisted})
		}
		return out
	}},
	{MRCommits, func(b *models.Batch, now time.Time) (out [][]any) {
		for i := range b.MergeRequests {
			m := &b.MergeRequests[i]
			for _, c := range m.Commits {
				out = append(out, []any{m.ID, c.SHA, m.Source, m.Instance, nullStr(c.Author.Token), c.AuthoredAt, c.CommittedAt, now})
			}
		}
		return out
	}},
	{IssueLinks, func(b *models.Batch, now time.Time) (out [][]any) {
		for i := range b.MergeRequests {
			m := &b.MergeRequests[i]
			for _, l := range m.IssueLinks {
				out = append(out, []any{m.ID, l.Tracker, l.Key, nullStr(l.Via), m.Source, m.Instance, now})
			}
		}
		return out
	}},
	{MRReviews, func(b *models.Batch, now time.Time) (out [][]any) {
		for i := range b.MergeRequests {
			m := &b.MergeRequests[i]
			for _, r := range m.Reviews {
				out = append(out, []any{r.ID, m.ID, m.Source, m.Instance, r.Kind, nullStr(r.Reviewer.Token), r.Reviewer.IsBot, r.CreatedAt, now})
			}
		}
		return out
	}},
	{Pipelines, func(b *models.Batch, now time.Time) [][]any {
		out := make([][]any, 0, len(b.Pipelines))
		for i := range b.Pipelines {
			p := &b.Pipelines[i]
			out = append(out, []any{p.ID, p.Source, p.Instance, p.ProjectID, p.ProjectPath, p.PipelineID, p.Ref, nullStr(p.SHA), p.Status,
				nullStr(p.Trigger), p.IsDefaultBranch, nullStr(p.User.Token), p.CreatedAt, p.UpdatedAt, nullTime(p.StartedAt),
				nullTime(p.FinishedAt), nullFloat(p.DurationS), nullFloat(p.QueuedDurationS), now, nil})
		}
		return out
	}},
	{Deployments, func(b *models.Batch, now time.Time) [][]any {
		out := make([][]any, 0, len(b.Deployments))
		for i := range b.Deployments {
			d := &b.Deployments[i]
			out = append(out, []any{d.ID, d.Source, d.Instance, d.ProjectID, d.ProjectPath, d.DeploymentID, d.Environment,
				nullStr(d.EnvironmentTier), d.Status, nullStr(d.Ref), nullStr(d.SHA), d.PipelineID, nullStr(d.JobName),
				nullStr(d.Deployer.Token), d.CreatedAt, d.UpdatedAt, nullTime(d.FinishedAt), now, nil})
		}
		return out
	}},
	{DeploymentChanges, func(b *models.Batch, now time.Time) (out [][]any) {
		for i := range b.Deployments {
			d := &b.Deployments[i]
			for _, c := range d.Changes {
				out = append(out, []any{d.ID, c.MRID, d.Source, d.Instance, now})
			}
		}
		return out
	}},
	{Issues, func(b *models.Batch, now time.Time) [][]any {
		out := make([][]any, 0, len(b.Issues))
		for i := range b.Issues {
			x := &b.Issues[i]
			out = append(out, []any{x.ID, x.Source, x.Instance, x.ProjectID, x.ProjectPath, x.Key, nullStr(x.Title), nullStr(x.Type),
				joinLabels(x.Labels), x.State, nullStr(x.Author.Token), nullStr(x.Assignee.Token), nullStr(x.WebURL),
				x.CreatedAt, x.UpdatedAt, nullTime(x.ClosedAt), now, nil, nullStr(x.Status), nullStr(x.StatusCategory),
				nullFloat(x.StoryPoints), nullStr(x.SprintID), nullStr(x.TypeClass), nullStr(x.Priority), nullStr(x.CausedBy)})
		}
		return out
	}},
	{IssueTransitions, func(b *models.Batch, now time.Time) (out [][]any) {
		for i := range b.Issues {
			x := &b.Issues[i]
			for _, t := range x.Transitions {
				out = append(out, []any{t.ID, x.ID, x.Source, x.Instance, t.Field, t.At.UTC(), nullStr(t.From), nullStr(t.To),
					nullStr(t.FromCategory), nullStr(t.ToCategory), now})
			}
		}
		return out
	}},
	{Sprints, func(b *models.Batch, now time.Time) [][]any {
		out := make([][]any, 0, len(b.Sprints))
		for i := range b.Sprints {
			s := &b.Sprints[i]
			out = append(out, []any{s.ID, s.Source, s.Instance, nullStr(s.ProjectPath), nullStr(s.Name), nullStr(s.State),
				nullDate(s.StartDate), nullDate(s.DueDate), nullTime(s.StartAt), nullTime(s.EndAt), nullTime(s.CompleteAt),
				s.UpdatedAt.UTC(), now, nil})
		}
		return out
	}},
}

func dedupe(t Table, rows [][]any) [][]any {
	if len(rows) < 2 {
		return rows
	}
	idx := make([]int, len(t.Key))
	for i, k := range t.Key {
		for j, c := range t.Columns {
			if c == k {
				idx[i] = j
			}
		}
	}
	seen := make(map[string]int, len(rows))
	out := rows[:0:0]
	var sb strings.Builder
	for _, r := range rows {
		if s, ok := r[idx[0]].(string); ok && len(idx) == 1 {
			// The common case (one string key) needs no key built.
			if at, ok := seen[s]; ok {
				out[at] = r
				continue
			}
			seen[s] = len(out)
			out = append(out, r)
			continue
		}
		sb.Reset()
		for _, i := range idx {
			if s, ok := r[i].(string); ok {
				sb.WriteString(s)
			} else {
				fmt.Fprint(&sb, r[i])
			}
			sb.WriteByte(0)
		}
		k := sb.String()
		if at, ok := seen[k]; ok {
			out[at] = r
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out
}

// joinLabels stores labels sorted and comma-joined: portable across engines
// (no arrays/VARIANT needed) and easy to filter with LIKE or SPLIT.
func joinLabels(l []string) any {
	if len(l) == 0 {
		return nil
	}
	c := append([]string(nil), l...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullDate(d string) any {
	if d == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return nil
	}
	return t
}

// DateColumns are the DATE columns (the rest of the time columns are
// timestamps with time zone): engines that bind by type need to know.
var DateColumns = map[string]bool{"start_date": true, "due_date": true, "period_start": true, "period_end": true, "first_week": true}

// OrderColumn is the column that says which of two rows with one natural key
// is newer: updated_at where a table has it, else when it was collected or computed.
func (t Table) OrderColumn() string {
	for _, c := range []string{"updated_at", "computed_at", "sent_at"} {
		for _, have := range t.Columns {
			if have == c {
				return c
			}
		}
	}
	return "collected_at"
}

// InChunks calls fn with the ids n at a time, as bind arguments (after
// prefix, e.g. a timestamp bound first) and the matching "?, ?, ?" list:
// engines bound how many values one IN list binds.
func InChunks(ids []string, n int, prefix []any, fn func(args []any, in string) error) error {
	for len(ids) > 0 {
		k := min(len(ids), n)
		args := append([]any(nil), prefix...)
		for _, id := range ids[:k] {
			args = append(args, id)
		}
		ids = ids[k:]
		if err := fn(args, strings.TrimSuffix(strings.Repeat("?, ", k), ", ")); err != nil {
			return err
		}
	}
	return nil
}

// ExecFunc runs one statement and returns the rows it affected.
type ExecFunc func(q string, args ...any) (int64, error)

// DeleteRecords deletes top-level records with their children and the
// deployment links to them (call it inside the engine's transaction).
func DeleteRecords(exec ExecFunc, table string, ids []string) (int, error) {
	deleted := 0
	err := InChunks(ids, 500, nil, func(args []any, in string) error {
		stmts := DeleteSQL(table)
		for i, q := range stmts {
			n, err := exec(fmt.Sprintf(q, in), args...)
			if err != nil {
				return err
			}
			if i == len(stmts)-1 {
				deleted += int(n)
			}
		}
		return nil
	})
	return deleted, err
}

// MarkRecordsDeleted soft-deletes records; at is bound first (engines that
// bind by type pass their marker with it).
func MarkRecordsDeleted(exec ExecFunc, table string, ids []string, at []any) (int, error) {
	marked := 0
	err := InChunks(ids, 500, at, func(args []any, in string) error {
		n, err := exec(fmt.Sprintf(MarkDeletedSQL(table), in), args...)
		marked += int(n)
		return err
	})
	return marked, err
}

// LandedSQL selects the live records' updated_at among ids (an IN list template).
func LandedSQL(table string) string {
	return fmt.Sprintf(`SELECT id, updated_at FROM %s WHERE id IN (%%s) AND deleted_at IS NULL`, table)
}

// DeleteSQL lists the statements that delete top-level records of a table,
// children first and the deployment links to deleted merge requests too, as
// templates whose %s is an IN list. The last statement deletes the records.
func DeleteSQL(table string) []string {
	if table == IssueLinks.Name { // links have no id of their own: "tracker:key" names them
		return []string{`DELETE FROM issue_links WHERE tracker || ':' || issue_key IN (%s)`}
	}
	var out []string
	for _, child := range RecordTables {
		if child.Of == table {
			out = append(out, fmt.Sprintf(`DELETE FROM %s WHERE %s IN (%%s)`, child.Name, child.Parent))
		}
	}
	if table == "merge_requests" {
		out = append(out, `DELETE FROM deployment_changes WHERE mr_id IN (%s)`)
	}
	return append(out, fmt.Sprintf(`DELETE FROM %s WHERE id IN (%%s)`, table))
}

// MarkDeletedSQL soft-deletes records of a table: bind the time, then the ids.
func MarkDeletedSQL(table string) string {
	return fmt.Sprintf(`UPDATE %s SET deleted_at = ? WHERE id IN (%%s) AND deleted_at IS NULL`, table)
}

// ForgetDerived deletes the cursors of scopes and every metric value.
func ForgetDerived(exec ExecFunc, scopes []string) (cursors, metricValues int, err error) {
	err = InChunks(scopes, 500, nil, func(args []any, in string) error {
		n, err := exec(fmt.Sprintf(`DELETE FROM collection_state WHERE scope IN (%s)`, in), args...)
		cursors += int(n)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	n, err := exec(`DELETE FROM metric_values`)
	if err != nil {
		return 0, 0, err
	}
	// Regressions were found in the values that just went; the next
	// metrics run finds them again in what is left (notifications stay, so
	// a regression found again is not posted twice).
	_, err = exec(`DELETE FROM regressions`)
	return cursors, int(n), err
}

// Regressions holds the shifts alerts found in the weekly series (METRICS.md
// "Regressions"): derived data, replaced whole by every metrics run.
var Regressions = Table{Name: "regressions", Key: []string{"scope_kind", "scope", "metric", "stat", "kind", "first_week"},
	Columns: []string{"scope_kind", "scope", "metric", "stat", "environment", "kind", "first_week", "median_before", "median_after",
		"relative_change", "p_value", "unit", "state", "detected_at", "resolved_at", "updated_at"}}

// Notifications records what was posted to webhooks, by a key naming the
// event (a regression, a goal's missed week, a digest's week), so a restart
// or a re-run never posts it twice.
var Notifications = Table{Name: "notifications", Key: []string{"key"}, Columns: []string{"key", "sent_at"}}

// Regression is one row of regressions.
type Regression struct {
	ScopeKind, Scope, Metric, Stat, Environment string
	Kind                                        string // regression | improvement
	FirstWeek                                   time.Time
	Before, After                               float64
	Change                                      *float64 // nil when Before is 0
	P                                           float64
	Unit                                        string
	State                                       string // open | resolved
	DetectedAt                                  time.Time
	ResolvedAt                                  *time.Time
}

// Key names the regression for notifications: what it is, not its numbers.
func (r Regression) Key() string {
	return strings.Join([]string{"regression", r.ScopeKind, r.Scope, r.Metric, r.Stat, r.Kind, r.FirstWeek.Format("2006-01-02")}, "|")
}

// RegressionRows maps regressions to rows of Regressions.
func RegressionRows(regs []Regression, now time.Time) Rows {
	out := Rows{Table: Regressions}
	for _, r := range regs {
		var change, resolved any
		if r.Change != nil {
			change = *r.Change
		}
		if r.ResolvedAt != nil {
			resolved = r.ResolvedAt.UTC()
		}
		d := r.FirstWeek
		out.Rows = append(out.Rows, []any{r.ScopeKind, r.Scope, r.Metric, r.Stat, r.Environment, r.Kind,
			time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), r.Before, r.After, change, r.P, nullStr(r.Unit),
			r.State, r.DetectedAt.UTC(), resolved, now})
	}
	out.Rows = dedupe(out.Table, out.Rows)
	return out
}

// NotificationRows maps sent keys to rows of Notifications.
func NotificationRows(keys []string, at time.Time) Rows {
	out := Rows{Table: Notifications}
	for _, k := range keys {
		out.Rows = append(out.Rows, []any{k, at.UTC()})
	}
	out.Rows = dedupe(out.Table, out.Rows)
	return out
}
