// Package warehouse defines what a landing engine must do. Engines live in
// sub-packages (duckdb, later snowflake) and share the row mapping here, so
// the tables mean the same thing whichever engine holds them.
package warehouse

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/devpulse/devpulse/policy"
)

// Readers is how many queries an engine runs at once beside the connection
// (or session) that writes: a report computes as many scopes at once as
// there are cores, and at least two, so that a query can run while another
// streams its rows. Engines size their connection pools by it.
var Readers = max(2, runtime.GOMAXPROCS(0))

// StreamKey names one incremental stream: its cursor is kept per key.
type StreamKey struct {
	Source   string // configured source name
	Instance string // server host
	Scope    string // project path (or group) the stream covers
	Stream   string // merge_requests, pipelines, ...
}

// Run is one row of the runs table.
type Run struct {
	ID         string
	Command    string
	StartedAt  time.Time
	FinishedAt time.Time
	Status     string         // running, ok, failed, interrupted
	Records    map[string]int // per "source/stream"
	Requests   int64
	Policy     map[string]int // records removed per privacy rule (counts only)
	Error      string
}

// Result is a query answer, engine-neutral.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Gather is Query made of an engine's streaming read: each runs the
// statement, names its columns, then hands over every row in a reused slice.
func Gather(each func(columns func([]string), row func([]any) error) error) (*Result, error) {
	res := &Result{}
	err := each(func(cols []string) { res.Columns = cols }, func(row []any) error {
		res.Rows = append(res.Rows, append([]any(nil), row...))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Warehouse is a landing engine.
type Warehouse interface {
	// Cursor returns the stream's cursor, ok=false if it never landed.
	Cursor(ctx context.Context, key StreamKey) (cursor time.Time, ok bool, err error)
	// Land upserts the batch by natural key and advances the stream's cursor
	// (never backwards) in one transaction: all of it lands or none of it.
	// Only a batch cleared by the privacy policy can be landed.
	Land(ctx context.Context, key StreamKey, b *policy.Cleared, cursor time.Time) error
	// AdvanceCursors moves the cursors of these streams to cursor (never
	// backwards) in one transaction and one statement per thousand keys:
	// a group list read to its end moves every member's cursor at once.
	AdvanceCursors(ctx context.Context, keys []StreamKey, cursor time.Time) error
	// Landed returns the landed updated_at of these ids in the stream's table
	// (records marked deleted count as not landed).
	Landed(ctx context.Context, stream string, ids []string) (map[string]time.Time, error)
	// Delete removes top-level records of a table by id, with their children
	// and the deployment links that point at them, in one transaction.
	Delete(ctx context.Context, table string, ids []string) (int, error)
	// MarkDeleted soft-deletes top-level records (deleted_at = at) that
	// vanished upstream; metrics ignore them, a re-appearance re-lands them.
	MarkDeleted(ctx context.Context, table string, ids []string, at time.Time) (int, error)
	// Forget removes what was derived from records a purge removed: the
	// cursors of the given scopes (collection_state.scope), every metric
	// value and every regression found in them (the caller recomputes the
	// windows it wants back), in one
	// transaction. It returns how many cursors and metric values went.
	Forget(ctx context.Context, scopes []string) (cursors, metricValues int, err error)
	// PutTeams replaces the stored teams with these (the teams the stored
	// metrics were computed for), in one transaction.
	PutTeams(ctx context.Context, members []TeamMember) error
	// PutMetrics upserts metric values by (scope_kind, scope, metric, grain,
	// period_start, environment, stat): recomputing a window is idempotent.
	PutMetrics(ctx context.Context, vals []MetricValue) error
	// PutRegressions replaces the stored regressions with these (the caller
	// merged what was stored with what it found), in one transaction.
	PutRegressions(ctx context.Context, regs []Regression) error
	// PutNotified records that the events with these keys were posted.
	PutNotified(ctx context.Context, keys []string) error
	// Acquire takes (or, for its holder, renews) the named lease until
	// now+ttl unless another holder has it unexpired; it returns who holds it
	// and until when. Leases work across processes and machines.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (ok bool, heldBy string, until time.Time, err error)
	// Release gives the lease up if holder has it.
	Release(ctx context.Context, name, holder string) error
	BeginRun(ctx context.Context, r *Run) error
	FinishRun(ctx context.Context, r *Run) error
	// Query runs read-only SQL.
	Query(ctx context.Context, sql string) (*Result, error)
	// Each runs read-only SQL as Query does and hands every row to fn as it
	// is read, in a slice fn must not keep: memory stays one row, however
	// many the answer has. An error from fn stops the scan and is returned.
	Each(ctx context.Context, sql string, fn func(row []any) error) error
	Close() error
}

// TeamMember is one project of a team, as it landed (instance = host).
type TeamMember struct {
	Team, Instance, ProjectPath string
}

// LoadTeams reads the stored teams.
func LoadTeams(ctx context.Context, wh Warehouse) ([]TeamMember, error) {
	res, err := wh.Query(ctx, `SELECT team, instance, project_path FROM teams ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("load teams: %w", err)
	}
	out := make([]TeamMember, 0, len(res.Rows))
	for _, r := range res.Rows {
		out = append(out, TeamMember{Team: fmt.Sprint(r[0]), Instance: fmt.Sprint(r[1]), ProjectPath: fmt.Sprint(r[2])})
	}
	return out, nil
}

// ReplaceTeams is PutTeams inside an engine's transaction.
func ReplaceTeams(exec ExecFunc, members []TeamMember) error {
	if _, err := exec(`DELETE FROM teams`); err != nil {
		return err
	}
	for _, m := range members {
		if _, err := exec(`INSERT INTO teams (team, instance, project_path) VALUES (?, ?, ?)`, m.Team, m.Instance, m.ProjectPath); err != nil {
			return err
		}
	}
	return nil
}

// Deletable tells whether Delete takes a table: a record table, or
// issue_links (by "tracker:key", for links to a project purge excludes).
func Deletable(table string) bool {
	_, ok := StreamTable[table]
	return ok || table == IssueLinks.Name
}

// StreamTable maps a stream name to the table holding its top-level records.
var StreamTable = map[string]string{
	"merge_requests": "merge_requests",
	"pipelines":      "pipelines",
	"deployments":    "deployments",
	"issues":         "issues",
	"versions":       "sprints",
	"milestones":     "sprints",
	"sprints":        "sprints",
}

// MetricValue is one row of metric_values.
type MetricValue struct {
	ScopeKind, Scope, Metric, Grain string
	PeriodStart, PeriodEnd          time.Time // dates in metrics.timezone (time of day ignored)
	Environment, Stat               string
	Value                           *float64
	Unit                            string
	N                               int
	Label                           string // tier or band
	BenchmarkYear                   int
	// Partial: the period had not ended when it was computed; a partial
	// value never replaces a whole one (report.Refresh keeps it out).
	Partial bool
}
