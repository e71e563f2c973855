package warehouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// ProjectRef is a project as records carry it: the server and the path.
type ProjectRef struct {
	Instance, Path string
}

// Selection narrows a load to some projects: those with one of Paths on
// any server, and the exact Members. An empty selection selects nothing;
// a nil one, everything.
type Selection struct {
	Paths   []string
	Members []ProjectRef
	// PipelinesSince, when set, leaves out the pipelines that finished (or,
	// unfinished, were last updated) before it: CI metrics count a pipeline
	// only in the period it finished, and nothing else reads pipelines, so a
	// window's computation needs none from before its earliest period.
	PipelinesSince time.Time
	// ForMetrics reads only what metrics and reports read, for speed over
	// millions of rows: commits carry their authored time only, reviews no
	// id, and pipelines only the default branch's that finished success or
	// failed (the set METRICS.md's CI metrics count), with their status,
	// times and durations. Records read so are not whole; nothing but a
	// computation may use them.
	ForMetrics bool
	// ChildrenSince and KeepChildren (with ForMetrics) leave out the commits
	// and reviews of MRs merged before ChildrenSince, except the ones
	// KeepChildren names: it is given the MRs and deployments (with their
	// changes) and names the MRs merged before ChildrenSince whose commits
	// or reviews a computation from ChildrenSince on reads (those a
	// deployment since ships). Issue links are always read: a change never
	// deployed decides a ticket's lead time whatever its age. When it names
	// more than maxKeepList, those a deployment since lists are named by a
	// subquery; if the rest are still too many, everything is read.
	ChildrenSince time.Time
	KeepChildren  func(b *models.Batch) []string
}

// maxKeepList bounds the ids spelt into one query (Snowflake takes a
// statement of up to 1 MB). A variable only so that a test can lower it.
var maxKeepList = 5000

// mergedBefore reports whether any MR merged before t.
func mergedBefore(mrs []models.MergeRequest, t time.Time) bool {
	for i := range mrs {
		if m := mrs[i].MergedAt; m != nil && m.Before(t) {
			return true
		}
	}
	return false
}

func (s *Selection) forMetrics() bool { return s != nil && s.ForMetrics }

// where is the SQL condition on a top-level table's instance and
// project_path columns.
func (s *Selection) where() string {
	if s == nil {
		return "TRUE"
	}
	var or []string
	if len(s.Paths) > 0 {
		lits := make([]string, len(s.Paths))
		for i, p := range s.Paths {
			lits[i] = literal(p)
		}
		or = append(or, "project_path IN ("+strings.Join(lits, ", ")+")")
	}
	for _, m := range s.Members {
		or = append(or, "(instance = "+literal(m.Instance)+" AND project_path = "+literal(m.Path)+")")
	}
	if len(or) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

func (s *Selection) pipelinesSince() string {
	if s == nil || s.PipelinesSince.IsZero() {
		return ""
	}
	return " AND COALESCE(finished_at, updated_at) >= " + timestamp(s.PipelinesSince)
}

// timestamp is an instant as a literal with its offset, which both engines
// read as that instant when comparing it with a zoned column (DuckDB
// TIMESTAMPTZ, Snowflake TIMESTAMP_TZ), whatever the session's time zone.
func timestamp(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05.000000") + "+00:00'"
}

// literal is a SQL string literal both engines read the same way: quotes
// doubled, and a backslash (an escape in Snowflake, not in DuckDB) spelt
// chr(92).
func literal(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "(" + strings.ReplaceAll(q, `\`, "' || chr(92) || '") + ")"
	}
	return q
}

// Projects lists every project that has a live record.
func Projects(ctx context.Context, w Warehouse) ([]ProjectRef, error) {
	var out []ProjectRef
	var parts []string
	for _, t := range []string{"merge_requests", "deployments", "pipelines", "issues", "sprints"} {
		parts = append(parts, "SELECT instance, project_path FROM "+t+" WHERE deleted_at IS NULL")
	}
	err := w.Each(ctx, "SELECT DISTINCT instance, project_path FROM ("+strings.Join(parts, " UNION ALL ")+") p ORDER BY 1, 2", func(v []any) error {
		r := row{v: v}
		out = append(out, ProjectRef{Instance: r.s(0), Path: r.s(1)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return out, nil
}

// NewestUpdate is the latest updated_at of the tables' live records: how far
// the landed data reaches (zero when they hold none).
func NewestUpdate(ctx context.Context, w Warehouse, tables ...string) (time.Time, error) {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = "SELECT max(updated_at) AS u FROM " + t + " WHERE deleted_at IS NULL"
	}
	var at time.Time
	err := w.Each(ctx, "SELECT max(u) FROM ("+strings.Join(parts, " UNION ALL ")+") n", func(v []any) error {
		at = row{v: v}.t(0)
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read the newest update: %w", err)
	}
	return at, nil
}

// Load reads every live record (deleted_at IS NULL) back into models, with
// children attached, for metrics. It only uses Query, so any engine serves.
// Person fields carry only the pseudonym and the bot flag, as landed.
func Load(ctx context.Context, w Warehouse) (*models.Batch, error) { return LoadSelection(ctx, w, nil) }

// LoadSelection is Load narrowed to the selected projects (nil: all), so a
// scope is read on its own and memory follows the scope, not the warehouse.
func LoadSelection(ctx context.Context, w Warehouse, sel *Selection) (*models.Batch, error) {
	where := sel.where()
	b := &models.Batch{}
	// Rows are streamed, never held whole, and the strings a million rows
	// repeat (origin, project, branch, pseudonym, status) are kept once.
	in := &interner{}
	q := func(sql string, fn func(r row)) error {
		err := w.Each(ctx, sql, func(vals []any) error {
			fn(row{vals, in})
			return nil
		})
		if err != nil {
			return fmt.Errorf("load records: %w", err)
		}
		return nil
	}
	lean := sel.forMetrics()
	of := childrenOf(w)
	pipelines := `deleted_at IS NULL AND ` + where + sel.pipelinesSince()
	if lean {
		// Go still applies the whole definition (metrics.CI); the engine only
		// leaves out rows it would skip.
		pipelines += ` AND is_default_branch AND status IN ('success', 'failed')`
	}
	// Sized up front: the records are large, and a slice grown by appends
	// copies them at every doubling.
	if err := q(`SELECT (SELECT count(*) FROM merge_requests WHERE deleted_at IS NULL AND `+where+`),
		(SELECT count(*) FROM pipelines WHERE `+pipelines+`)`, func(r row) {
		b.MergeRequests = make([]models.MergeRequest, 0, r.i(0))
		b.Pipelines = make([]models.Pipeline, 0, r.i(1))
	}); err != nil {
		return nil, err
	}
	mrIdx := make(map[string]int, cap(b.MergeRequests))
	err := q(`SELECT id, source, instance, project_id, project_path, iid, title, state, draft, author, author_is_bot,
		source_branch, target_branch, labels, closes_issues, is_revert, reverts_mr_id, created_at, updated_at, ready_at,
		merged_at, closed_at, sha, merge_commit_sha, squash_commit_sha, web_url, additions, deletions, COALESCE(ai_assisted, false)
		FROM merge_requests WHERE deleted_at IS NULL AND `+where, func(r row) {
		m := models.MergeRequest{ID: r.s(0), Origin: models.Origin{Source: r.k(1), Instance: r.k(2)}, ProjectID: r.i(3),
			ProjectPath: r.k(4), IID: r.i(5), Title: r.s(6), State: r.k(7), Draft: r.b(8),
			Author: models.Person{Token: r.k(9), IsBot: r.b(10)}, SourceBranch: r.k(11), TargetBranch: r.k(12),
			Labels: r.list(13), ClosesIssues: r.list(14), IsRevert: r.b(15), RevertsID: r.s(16), CreatedAt: r.t(17),
			UpdatedAt: r.t(18), ReadyAt: r.tp(19), MergedAt: r.tp(20), ClosedAt: r.tp(21), SHA: r.s(22),
			MergeCommitSHA: r.s(23), SquashCommitSHA: r.s(24), WebURL: r.s(25), Additions: r.ip(26), Deletions: r.ip(27), AIAssisted: r.b(28)}
		b.MergeRequests = append(b.MergeRequests, m)
	})
	if err != nil {
		return nil, err
	}
	// Ordered here rather than by the engine, whose sort moves every column
	// of every row: by server, project and id, as the other tables are.
	permute(b.MergeRequests, func(x, y *models.MergeRequest) int {
		if c := strings.Compare(x.Instance, y.Instance); c != 0 {
			return c
		}
		if c := strings.Compare(x.ProjectPath, y.ProjectPath); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	for i := range b.MergeRequests {
		mrIdx[b.MergeRequests[i].ID] = i
	}
	depIdx := map[string]int{}
	if err := q(`SELECT id, source, instance, project_id, project_path, deployment_id, environment, environment_tier, status,
		ref, sha, pipeline_id, job_name, deployer, created_at, updated_at, finished_at
		FROM deployments WHERE deleted_at IS NULL AND `+where+` ORDER BY instance, project_path, id`, func(r row) {
		d := models.Deployment{ID: r.s(0), Origin: models.Origin{Source: r.k(1), Instance: r.k(2)}, ProjectID: r.i(3),
			ProjectPath: r.k(4), DeploymentID: r.i(5), Environment: r.k(6), EnvironmentTier: r.k(7), Status: r.k(8),
			Ref: r.k(9), SHA: r.s(10), PipelineID: r.i(11), JobName: r.k(12), Deployer: models.Person{Token: r.k(13)},
			CreatedAt: r.t(14), UpdatedAt: r.t(15), FinishedAt: r.tp(16)}
		depIdx[d.ID] = len(b.Deployments)
		b.Deployments = append(b.Deployments, d)
	}); err != nil {
		return nil, err
	}
	var changes children[models.DeploymentChange]
	if err := q(`SELECT deployment_id, mr_id FROM `+of("deployment_changes", "deployment_id", `SELECT id FROM deployments WHERE deleted_at IS NULL AND `+where)+` ORDER BY 1, 2`, func(r row) {
		if i, ok := depIdx[r.s(0)]; ok {
			changes.add(i, models.DeploymentChange{DeploymentID: b.Deployments[i].ID, MRID: r.s(1)})
		}
	}); err != nil {
		return nil, err
	}
	changes.attach(len(b.Deployments), func(i int, cs []models.DeploymentChange) { b.Deployments[i].Changes = cs })
	// A computation from ChildrenSince on reads the commits and reviews only
	// of MRs open, merged since, or (merged before) shipped by a deployment
	// since: which, the caller's attribution says (KeepChildren). The rest of
	// a long history's children stay in the engine.
	scopeMRs := `SELECT id FROM merge_requests WHERE deleted_at IS NULL AND ` + where
	childMRs := scopeMRs
	if lean && !sel.ChildrenSince.IsZero() && sel.KeepChildren != nil && mergedBefore(b.MergeRequests, sel.ChildrenSince) {
		keep := sel.KeepChildren(b)
		since := timestamp(sel.ChildrenSince)
		listed := ""
		if len(keep) > maxKeepList {
			// Too many to spell out: the ones a deployment since lists (most,
			// when deployments list their MRs) are named by a subquery, which
			// may name more (a listing that is not the first), never fewer;
			// only the rest are spelt out.
			cut := sel.ChildrenSince
			byList := map[string]bool{}
			for i := range b.Deployments {
				if d := &b.Deployments[i]; d.FinishedAt == nil || !d.FinishedAt.Before(cut) {
					for _, c := range d.Changes {
						byList[c.MRID] = true
					}
				}
			}
			keep = slices.DeleteFunc(slices.Clone(keep), func(id string) bool { return byList[id] })
			listed = ` OR id IN (SELECT mr_id FROM deployment_changes WHERE deployment_id IN (SELECT id FROM deployments WHERE deleted_at IS NULL AND ` +
				where + ` AND (finished_at IS NULL OR finished_at >= ` + since + `)))`
		}
		if len(keep) <= maxKeepList {
			lits := make([]string, 0, len(keep)+1)
			lits = append(lits, "NULL")
			for _, id := range keep {
				lits = append(lits, literal(id))
			}
			childMRs = scopeMRs + ` AND (merged_at IS NULL OR merged_at >= ` + since + listed + ` OR id IN (` + strings.Join(lits, ", ") + `))`
		}
	}
	commits := `SELECT mr_id, sha, author, authored_at, committed_at FROM `
	if lean {
		commits = `SELECT mr_id, authored_at FROM `
	}
	// Children are held in a compact form until attached, their parent's id
	// (and with it the record's size) filled in only then.
	type commit struct {
		sha, author         string
		authored, committed time.Time
	}
	var kids children[commit]
	if err := q(commits+of("mr_commits", "mr_id", childMRs), func(r row) {
		if i, ok := mrIdx[r.s(0)]; ok {
			if lean {
				kids.add(i, commit{authored: r.t(1)})
				return
			}
			kids.add(i, commit{sha: r.s(1), author: r.k(2), authored: r.t(3), committed: r.t(4)})
		}
	}); err != nil {
		return nil, err
	}
	attachAs(&kids, len(b.MergeRequests), func(i int, c commit) models.MRCommit {
		return models.MRCommit{MRID: b.MergeRequests[i].ID, SHA: c.sha, Author: models.Person{Token: c.author}, AuthoredAt: c.authored, CommittedAt: c.committed}
	}, func(i int, cs []models.MRCommit) { b.MergeRequests[i].Commits = cs })
	var links children[models.IssueLink]
	if err := q(`SELECT mr_id, tracker, issue_key, via FROM `+of("issue_links", "mr_id", scopeMRs)+` ORDER BY mr_id, tracker, issue_key`, func(r row) {
		if i, ok := mrIdx[r.s(0)]; ok {
			links.add(i, models.IssueLink{MRID: b.MergeRequests[i].ID, Tracker: r.k(1), Key: r.s(2), Via: r.k(3)})
		}
	}); err != nil {
		return nil, err
	}
	links.attach(len(b.MergeRequests), func(i int, ls []models.IssueLink) { b.MergeRequests[i].IssueLinks = ls })
	type review struct {
		id, kind, reviewer string
		bot                bool
		at                 time.Time
	}
	var reviews children[review]
	reviewID := "id"
	if lean {
		reviewID = "NULL"
	}
	if err := q(`SELECT `+reviewID+`, mr_id, kind, reviewer, reviewer_is_bot, created_at FROM `+of("mr_reviews", "mr_id", childMRs), func(r row) {
		if i, ok := mrIdx[r.s(1)]; ok {
			reviews.add(i, review{id: r.s(0), kind: r.k(2), reviewer: r.k(3), bot: r.b(4), at: r.t(5)})
		}
	}); err != nil {
		return nil, err
	}
	attachAs(&reviews, len(b.MergeRequests), func(i int, x review) models.MRReview {
		return models.MRReview{ID: x.id, MRID: b.MergeRequests[i].ID, Kind: x.kind, Reviewer: models.Person{Token: x.reviewer, IsBot: x.bot}, CreatedAt: x.at}
	}, func(i int, rs []models.MRReview) { b.MergeRequests[i].Reviews = rs })
	// Children come unordered (a sort of millions of rows in the engine costs
	// more than thousands of small ones here) and are put in the order the
	// engines' ORDER BY gave: by time, NULL last, then by SHA or id.
	for i := range b.MergeRequests {
		m := &b.MergeRequests[i]
		slices.SortFunc(m.Commits, func(x, y models.MRCommit) int {
			return cmp.Or(byTime(x.AuthoredAt, y.AuthoredAt), strings.Compare(x.SHA, y.SHA))
		})
		slices.SortFunc(m.Reviews, func(x, y models.MRReview) int {
			return cmp.Or(byTime(x.CreatedAt, y.CreatedAt), strings.Compare(x.ID, y.ID))
		})
	}
	if lean {
		if err := q(`SELECT status, updated_at, finished_at, duration_s, queued_duration_s FROM pipelines
			WHERE `+pipelines, func(r row) {
			b.Pipelines = append(b.Pipelines, models.Pipeline{Status: r.k(0), IsDefaultBranch: true, UpdatedAt: r.t(1),
				FinishedAt: r.tp(2), DurationS: r.fp(3), QueuedDurationS: r.fp(4)})
		}); err != nil {
			return nil, err
		}
	} else if err := q(`SELECT id, source, instance, project_id, project_path, pipeline_id, ref, sha, status, "TRIGGER",
		is_default_branch, triggered_by, created_at, updated_at, started_at, finished_at, duration_s, queued_duration_s
		FROM pipelines WHERE `+pipelines+` ORDER BY instance, project_path, id`, func(r row) {
		b.Pipelines = append(b.Pipelines, models.Pipeline{ID: r.s(0), Origin: models.Origin{Source: r.k(1), Instance: r.k(2)},
			ProjectID: r.i(3), ProjectPath: r.k(4), PipelineID: r.i(5), Ref: r.k(6), SHA: r.s(7), Status: r.k(8),
			Trigger: r.k(9), IsDefaultBranch: r.b(10), User: models.Person{Token: r.k(11)}, CreatedAt: r.t(12),
			UpdatedAt: r.t(13), StartedAt: r.tp(14), FinishedAt: r.tp(15), DurationS: r.fp(16), QueuedDurationS: r.fp(17)})
	}); err != nil {
		return nil, err
	}
	issueIdx := map[string]int{}
	if err := q(`SELECT id, source, instance, project_id, project_path, "KEY", title, "TYPE", labels, state, author, assignee,
		web_url, created_at, updated_at, closed_at, status, status_category, story_points, sprint_id, type_class, priority, caused_by
		FROM issues WHERE deleted_at IS NULL AND `+where+` ORDER BY instance, project_path, id`, func(r row) {
		issueIdx[r.s(0)] = len(b.Issues)
		b.Issues = append(b.Issues, models.Issue{ID: r.s(0), Origin: models.Origin{Source: r.k(1), Instance: r.k(2)},
			ProjectID: r.i(3), ProjectPath: r.k(4), Key: r.s(5), Title: r.s(6), Type: r.k(7), Labels: r.list(8),
			State: r.k(9), Author: models.Person{Token: r.k(10)}, Assignee: models.Person{Token: r.k(11)}, WebURL: r.s(12),
			CreatedAt: r.t(13), UpdatedAt: r.t(14), ClosedAt: r.tp(15), Status: r.k(16), StatusCategory: r.k(17),
			StoryPoints: r.fp(18), SprintID: r.k(19), TypeClass: r.k(20), Priority: r.k(21), CausedBy: r.s(22)})
	}); err != nil {
		return nil, err
	}
	var transitions children[models.IssueTransition]
	if err := q(`SELECT id, issue_id, field, changed_at, from_value, to_value, from_category, to_category
		FROM `+of("issue_transitions", "issue_id", `SELECT id FROM issues WHERE deleted_at IS NULL AND `+where)+` ORDER BY issue_id, changed_at, id`, func(r row) {
		if i, ok := issueIdx[r.s(1)]; ok {
			transitions.add(i, models.IssueTransition{ID: r.s(0), IssueID: b.Issues[i].ID, Field: r.k(2), At: r.t(3),
				From: r.k(4), To: r.k(5), FromCategory: r.k(6), ToCategory: r.k(7)})
		}
	}); err != nil {
		return nil, err
	}
	transitions.attach(len(b.Issues), func(i int, ts []models.IssueTransition) { b.Issues[i].Transitions = ts })
	if err := q(`SELECT id, source, instance, project_path, name, state, start_date,
		due_date, start_at, end_at, complete_at, updated_at FROM sprints WHERE deleted_at IS NULL AND `+where+` ORDER BY instance, project_path, id`, func(r row) {
		b.Sprints = append(b.Sprints, models.Sprint{ID: r.s(0), Origin: models.Origin{Source: r.k(1), Instance: r.k(2)},
			ProjectPath: r.s(3), Name: r.s(4), State: r.s(5), StartDate: r.date(6), DueDate: r.date(7), StartAt: r.tp(8),
			EndAt: r.tp(9), CompleteAt: r.tp(10), UpdatedAt: r.t(11)})
	}); err != nil {
		return nil, err
	}
	return b, nil
}

// permute sorts xs by order, moving each record once: records are large,
// and a sort swapping them moves each many times.
func permute[T any](xs []T, order func(x, y *T) int) {
	idx := make([]int32, len(xs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return order(&xs[a], &xs[b]) })
	// xs[i] is to hold what is now at idx[i]: follow each cycle once.
	for i := range idx {
		if int(idx[i]) == i || idx[i] < 0 {
			continue
		}
		held := xs[i]
		j := i
		for {
			k := int(idx[j])
			idx[j] = -1
			if k == i {
				xs[j] = held
				break
			}
			xs[j] = xs[k]
			j = k
		}
	}
}

// SemiJoiner is an engine that reads the children of selected parents
// faster as a semi join than as column IN (subquery): DuckDB plans the IN
// as a mark join, a quarter slower over a scope's commits and reviews.
type SemiJoiner interface {
	// SemiJoin is the FROM clause of table's rows whose column is among the
	// id column that parents (a SELECT id …) selects.
	SemiJoin(table, column, parents string) string
}

// childrenOf returns how this engine spells "FROM table, the rows whose
// column is among the ids parents selects" (parents: SELECT id FROM …).
func childrenOf(w Warehouse) func(table, column, parents string) string {
	if j, ok := w.(SemiJoiner); ok {
		return j.SemiJoin
	}
	return func(table, column, parents string) string {
		return table + ` WHERE ` + column + ` IN (` + parents + `)`
	}
}

// children gathers child rows as they stream, each with its parent's
// index, and hands every parent its children in one shared array: an append
// per parent costs a few allocations each, millions for a large scope, and
// the collector's time to scan them.
type children[T any] struct {
	of []int32
	// rows in chunks: one growing slice would copy its rows at every
	// doubling.
	rows [][]T
}

const chunk = 4096

func (c *children[T]) add(parent int, x T) {
	c.of = append(c.of, int32(parent))
	if n := len(c.rows); n == 0 || len(c.rows[n-1]) == chunk {
		c.rows = append(c.rows, make([]T, 0, chunk))
	}
	last := &c.rows[len(c.rows)-1]
	*last = append(*last, x)
}

// attach calls set for each parent with children, in the order they came
// (stable), capped so that an append to one never writes into the next.
func (c *children[T]) attach(parents int, set func(i int, kids []T)) {
	attachAs(c, parents, func(_ int, x T) T { return x }, set)
}

// attachAs is attach with each child made into its record by as (given
// its parent's index) on the way.
func attachAs[C, T any](c *children[C], parents int, as func(parent int, x C) T, set func(i int, kids []T)) {
	start := make([]int, parents+1)
	for _, p := range c.of {
		start[p+1]++
	}
	for i := 1; i <= parents; i++ {
		start[i] += start[i-1]
	}
	out := make([]T, len(c.of))
	next := slices.Clone(start[:parents])
	for j, p := range c.of {
		out[next[p]] = as(int(p), c.rows[j/chunk][j%chunk])
		next[p]++
	}
	for i := range parents {
		if a, z := start[i], start[i+1]; a < z {
			set(i, out[a:z:z])
		}
	}
	c.of, c.rows = nil, nil
}

// byTime orders instants ascending with the zero time (NULL) last.
func byTime(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// interner keeps one copy of each repeated string.
type interner struct {
	m map[string]string
	// last is the copy kept for each column's previous value: a column
	// that repeats its value row after row (a scope's server and project,
	// a state) costs a comparison instead of a lookup.
	last [32]string
}

func (in *interner) of(s string) string {
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	in.m[s] = s
	return s
}

// at interns column i's value s.
func (in *interner) at(i int, s string) string {
	if i >= len(in.last) {
		return in.of(s)
	}
	if v := in.last[i]; v == s {
		return v
	}
	v := in.of(s)
	in.last[i] = v
	return v
}

// row reads engine values (NULL as zero) by column index.
type row struct {
	v  []any
	in *interner
}

func (r row) s(i int) string { v, _ := r.v[i].(string); return v }

// k is s for a value many rows repeat: stored once.
func (r row) k(i int) string { return r.in.at(i, r.s(i)) }
func (r row) b(i int) bool   { v, _ := r.v[i].(bool); return v }
func (r row) i(i int) int64 {
	switch v := r.v[i].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}
func (r row) ip(i int) *int64 {
	if r.v[i] == nil {
		return nil
	}
	v := r.i(i)
	return &v
}
func (r row) t(i int) time.Time {
	v, _ := r.v[i].(time.Time)
	return v.UTC()
}

// date formats a DATE column (read as midnight UTC by both engines) as YYYY-MM-DD.
func (r row) date(i int) string {
	v, ok := r.v[i].(time.Time)
	if !ok {
		return ""
	}
	return v.UTC().Format("2006-01-02")
}

func (r row) tp(i int) *time.Time {
	v, ok := r.v[i].(time.Time)
	if !ok {
		return nil
	}
	v = v.UTC()
	return &v
}
func (r row) fp(i int) *float64 {
	switch v := r.v[i].(type) {
	case float64:
		return &v
	case int64:
		f := float64(v)
		return &f
	}
	return nil
}
func (r row) list(i int) []string {
	if s := r.s(i); s != "" {
		xs := strings.Split(s, ",")
		for j, x := range xs {
			xs[j] = r.in.of(x)
		}
		return xs
	}
	return nil
}
