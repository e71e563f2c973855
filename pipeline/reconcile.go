package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/warehouse"
)

// ReconcileResult counts records marked deleted, per table.
type ReconcileResult struct {
	Vanished   map[string]int // deleted upstream (or no longer visible to the token)
	OutOfScope map[string]int // their project left the configured scope
	Repaired   map[string]int // re-read because their head SHA moved without a newer updated_at
	Requests   int64
}

// Reconcile finds records that incremental runs cannot see go: deleted
// upstream, or in a project no longer in scope. For each selected source,
// scope and stream it lists the ids the server has (updated within the
// source's lookback, the window a listing can vouch for; no detail
// requests), and soft-deletes the landed records of that window it did not
// list. Records of projects that left the scope are marked too. Metrics
// ignore deleted records; a record that comes back is landed again.
func (r *Runner) Reconcile(ctx context.Context, o Options) (*ReconcileResult, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	if o.NewCollector == nil {
		o.NewCollector = collectors.New
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	res := &ReconcileResult{Vanished: map[string]int{}, OutOfScope: map[string]int{}, Repaired: map[string]int{}}
	names := make([]string, 0, len(r.Cfg.Sources))
	for n := range r.Cfg.Sources {
		if len(o.Sources) == 0 || slices.Contains(o.Sources, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	at := r.Now().UTC()
	type server struct{ typ, instance string }
	inScopeOf := map[server][]string{}
	for _, name := range names {
		src := r.Cfg.Sources[name]
		stats := &httpx.Stats{}
		col, err := o.NewCollector(src, collectors.Env{Logger: r.Log, Stats: stats, Deployments: r.Cfg.Deployments, AI: r.Cfg.AI})
		if err != nil {
			return res, err
		}
		defer closeCollector(col)
		scopes, err := col.Scopes(ctx)
		if err != nil {
			return res, fmt.Errorf("reconcile %s: %w", name, err)
		}
		since := at.Add(-time.Duration(src.Lookback))
		var kept []models.Scope
		for _, s := range scopes {
			if _, ex := r.Policy.ExcludesProject(s.Path); !ex {
				kept = append(kept, r.cleared(s))
			}
		}
		// Repairs land records: every member's name is known before their text is cleared.
		members := r.members(col, src, kept)
		var inScope []string
		for _, s := range kept {
			inScope = append(inScope, s.Path)
			for _, st := range col.Streams() {
				if len(o.Streams) > 0 && !slices.Contains(o.Streams, st) {
					continue
				}
				table, ok := warehouse.StreamTable[st]
				if !ok {
					continue
				}
				listed := map[string]bool{}
				var mu sync.Mutex
				record := func(id string) {
					mu.Lock()
					listed[id] = true
					mu.Unlock()
				}
				var heads map[string]string
				out := models.Output{
					List: func(m map[string]time.Time) {
						for id := range m {
							record(id)
						}
					},
					Heads: func(h map[string]string) {
						mu.Lock()
						heads = h
						mu.Unlock()
					},
					Emit: func(_ context.Context, b *models.Batch, _ time.Time) error {
						for _, id := range b.TopIDs() {
							record(id)
						}
						return nil
					},
				}
				if err := col.Collect(ctx, s, st, since, out); err != nil {
					return res, fmt.Errorf("reconcile %s/%s of %s: %w", name, st, s.Path, err)
				}
				if len(heads) > 0 {
					n, err := r.repairHeads(ctx, col, name, s, st, heads, members)
					if err != nil {
						return res, err
					}
					if n > 0 {
						res.Repaired[table] += n
					}
				}
				landed, err := r.liveIDs(ctx, table, src.Type, col.Instance(), name, s.Path, since)
				if err != nil {
					return res, err
				}
				var gone []string
				for _, id := range landed {
					if !owns(st, id) {
						continue
					}
					if !listed[id] {
						gone = append(gone, id)
					}
				}
				if len(gone) > 0 {
					n, err := r.WH.MarkDeleted(ctx, table, gone, at)
					if err != nil {
						return res, err
					}
					res.Vanished[table] += n
					r.Log.Info("reconcile: marked records deleted upstream", "source", name, "scope", s.Path, "stream", st, "records", n)
				}
			}
		}
		k := server{src.Type, col.Instance()}
		inScopeOf[k] = append(inScopeOf[k], inScope...)
		res.Requests += stats.Requests.Load()
	}
	// Records of a project no longer in any scope on its server. Only GitLab
	// and Redmine: there project paths are the scopes (a JIRA scope may be a
	// JQL). Only when every source on that server took part in this pass.
	for k, inScope := range inScopeOf {
		if k.typ != "gitlab" && k.typ != "redmine" {
			continue
		}
		all := true
		for n, s := range r.Cfg.Sources {
			if s.Type == k.typ && !slices.Contains(names, n) && strings.Contains(s.URL, k.instance) {
				all = false
			}
		}
		if !all {
			continue
		}
		for _, table := range []string{"merge_requests", "pipelines", "deployments", "issues"} {
			ids, err := r.outOfScope(ctx, table, k.typ, k.instance, inScope)
			if err != nil {
				return res, err
			}
			if len(ids) > 0 {
				n, err := r.WH.MarkDeleted(ctx, table, ids, at)
				if err != nil {
					return res, err
				}
				res.OutOfScope[table] += n
				r.Log.Info("reconcile: marked records of projects out of scope", "server", k.instance, "table", table, "records", n)
			}
		}
	}
	return res, nil
}

// repairHeads re-reads, children included, the landed merge requests whose
// listed head SHA differs from the landed one: a push that did not bump
// updated_at is invisible to incremental runs, and would leave the MR's
// commits and reviews stale for good.
func (r *Runner) repairHeads(ctx context.Context, col collectors.Collector, source string, s models.Scope, stream string, heads map[string]string, m *members) (int, error) {
	ids := make([]string, 0, len(heads))
	for id := range heads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var stale []string
	for lo := 0; lo < len(ids); lo += 500 {
		chunk := ids[lo:min(lo+500, len(ids))]
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = lit(id)
		}
		res, err := r.WH.Query(ctx, `SELECT id, sha FROM merge_requests WHERE deleted_at IS NULL AND id IN (`+strings.Join(quoted, ", ")+`)`)
		if err != nil {
			return 0, fmt.Errorf("reconcile %s: landed head SHAs of %s: %w", source, s.Path, err)
		}
		for _, row := range res.Rows {
			id, _ := row[0].(string)
			sha, _ := row[1].(string)
			if h := heads[id]; h != "" && h != sha {
				stale = append(stale, id)
			}
		}
	}
	if len(stale) == 0 {
		return 0, nil
	}
	rf, ok := col.(collectors.Refetcher)
	if !ok {
		return 0, nil
	}
	key := warehouse.StreamKey{Source: source, Instance: col.Instance(), Scope: s.Path, Stream: stream}
	_, _, err := r.landStream(ctx, key, stream, false, m, time.Time{}, func(ctx context.Context, out models.Output) error {
		return rf.Refetch(ctx, s, stream, stale, out)
	})
	if err != nil {
		return 0, fmt.Errorf("reconcile %s: re-read merge requests of %s whose head moved: %w", source, s.Path, err)
	}
	r.Log.Info("reconcile: re-read merge requests whose head moved without a newer updated_at", "source", source, "scope", s.Path, "records", len(stale))
	return len(stale), nil
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// liveIDs lists the live records of one scope landed by a source and
// updated since (the window the listing covers).
// owns tells whether a stream's list is where a landed record of its table
// comes from: a deployment landed from a CI job (the jobs stream) shares the
// deployments table but is never in GitLab's deployments list.
func owns(stream, id string) bool {
	return stream != "deployments" || !strings.Contains(id, ":job:")
}

// liveIDs are the live records of a scope that the source type collected:
// records of the same project that another way landed (the ingest API's
// deployments and incidents, source "ingest") are not the list's to delete.
func (r *Runner) liveIDs(ctx context.Context, table, typ, instance, source, scope string, since time.Time) ([]string, error) {
	q := fmt.Sprintf(`SELECT id FROM %s WHERE source = %s AND instance = %s AND project_path = %s AND deleted_at IS NULL AND updated_at >= CAST(%s AS TIMESTAMP)`,
		table, lit(typ), lit(instance), lit(scope), lit(since.UTC().Format("2006-01-02 15:04:05")))
	res, err := r.WH.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: landed ids of %s: %w", source, scope, err)
	}
	ids := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		if id, ok := row[0].(string); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (r *Runner) outOfScope(ctx context.Context, table, typ, instance string, inScope []string) ([]string, error) {
	var paths []string
	for _, p := range inScope {
		paths = append(paths, lit(p))
	}
	cond := ""
	if len(paths) > 0 {
		cond = " AND project_path NOT IN (" + strings.Join(paths, ", ") + ")"
	}
	q := fmt.Sprintf(`SELECT id FROM %s WHERE source = %s AND instance = %s AND deleted_at IS NULL%s`, table, lit(typ), lit(instance), cond)
	res, err := r.WH.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reconcile %s: records out of scope: %w", instance, err)
	}
	var ids []string
	for _, row := range res.Rows {
		if id, ok := row[0].(string); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
