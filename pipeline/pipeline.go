// Package pipeline runs collection: collector → privacy policy → warehouse.
// It is the only caller of Warehouse.Land, and Land only takes batches the
// policy cleared, so no collector or engine can skip the policy.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/issuelinks"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

// Options select what one collect run does.
type Options struct {
	Sources []string  // empty = all
	Streams []string  // empty = each source's configured streams
	Full    bool      // ignore cursors: re-read the whole lookback
	Since   time.Time // explicit start; overrides cursors and lookback
	Command string    // recorded in runs
	// NewCollector builds collectors; defaults to collectors.New. Tests and
	// the demo use it to inject transports.
	NewCollector func(*config.Source, collectors.Env) (collectors.Collector, error)
}

// Progress receives live events; implementations must be goroutine-safe.
type Progress interface {
	Start(key warehouse.StreamKey)
	Records(key warehouse.StreamKey, n int) // n more records emitted
	Done(key warehouse.StreamKey, total int, err error)
}

// TotalWatcher is the optional part of a Progress that hears how many
// records a stream's list holds, where the server says (for an ETA).
type TotalWatcher interface {
	Total(key warehouse.StreamKey, n int64)
}

// RequestWatcher is the optional part of a Progress that shows requests:
// it is given each source's live counters and its client-side rate limit.
type RequestWatcher interface {
	Watch(source string, stats *httpx.Stats, rateLimit float64)
}

// Runner owns the parts of a run.
type Runner struct {
	Cfg      *config.Config
	WH       warehouse.Warehouse
	Policy   *policy.Policy
	Log      *slog.Logger
	Progress Progress
	Now      func() time.Time
	// Holder names this run in stream leases (default: host, pid and run id).
	Holder string
}

// Result summarises a run.
type Result struct {
	Run      *warehouse.Run
	Requests map[string]*httpx.Stats // per source
	Errors   []error
	Skipped  []string // "source/stream" left alone: another run held its lease (schedule.on_busy: skip)
	// SourceErrors holds each failed source's errors (the scheduler backs
	// off per source).
	SourceErrors map[string]error
}

// Collect runs every selected (source, scope, stream) and records the run.
func (r *Runner) Collect(ctx context.Context, o Options) (*Result, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	if o.NewCollector == nil {
		o.NewCollector = collectors.New
	}
	run := &warehouse.Run{ID: newRunID(r.Now()), Command: o.Command, StartedAt: r.Now().UTC(), Status: "running",
		Records: map[string]int{}, Policy: map[string]int{}}
	holder := r.Holder
	if holder == "" {
		holder = HolderName(run.ID)
	}
	if err := r.WH.BeginRun(ctx, run); err != nil {
		return nil, err
	}
	res := &Result{Run: run, Requests: map[string]*httpx.Stats{}, SourceErrors: map[string]error{}}
	var mu sync.Mutex // guards run.Records, run.Policy, res.Errors
	fail := func(err error) {
		mu.Lock()
		res.Errors = append(res.Errors, err)
		mu.Unlock()
	}

	names := make([]string, 0, len(r.Cfg.Sources))
	for n := range r.Cfg.Sources {
		if len(o.Sources) == 0 || slices.Contains(o.Sources, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, want := range o.Sources {
		if _, ok := r.Cfg.Sources[want]; !ok {
			fail(fmt.Errorf("--source %s: no such source in %s", want, r.Cfg.File))
		}
	}

	// Sources run side by side: one failing (bad token, server down) does not stop the others.
	var wg sync.WaitGroup
	for _, name := range names {
		src := r.Cfg.Sources[name]
		stats := &httpx.Stats{}
		res.Requests[name] = stats
		if w, ok := r.Progress.(RequestWatcher); ok {
			w.Watch(name, stats, src.RateLimit)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts, records, skipped, errs := r.collectSource(ctx, src, stats, o, holder)
			mu.Lock()
			res.Skipped = append(res.Skipped, skipped...)
			if len(errs) > 0 {
				res.SourceErrors[name] = errors.Join(errs...)
			}
			for k, v := range records {
				run.Records[k] += v
			}
			for k, v := range counts {
				run.Policy[k] += v
			}
			res.Errors = append(res.Errors, errs...)
			mu.Unlock()
		}()
	}
	wg.Wait()

	for _, s := range res.Requests {
		run.Requests += s.Requests.Load()
	}
	run.FinishedAt = r.Now().UTC()
	run.Status = "ok"
	if ctx.Err() != nil {
		run.Status = "interrupted"
		res.Errors = append(res.Errors, fmt.Errorf("interrupted: %w", context.Cause(ctx)))
	} else if len(res.Errors) > 0 {
		run.Status = "failed"
	}
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Error()
		}
		run.Error = strings.Join(msgs, "; ")
	}
	if err := r.WH.FinishRun(ctx, run); err != nil {
		res.Errors = append(res.Errors, err)
	}
	if len(res.Errors) > 0 {
		return res, errors.Join(res.Errors...)
	}
	return res, nil
}

type unit struct {
	scope  models.Scope
	stream string
}

func (r *Runner) collectSource(ctx context.Context, src *config.Source, stats *httpx.Stats, o Options, holder string) (policy.Counts, map[string]int, []string, []error) {
	counts := policy.Counts{}
	records := map[string]int{}
	var mu sync.Mutex
	var errs []error

	col, err := o.NewCollector(src, collectors.Env{Logger: r.Log, Stats: stats, Deployments: r.Cfg.Deployments, AI: r.Cfg.AI})
	if err != nil {
		return counts, records, nil, []error{err}
	}
	defer closeCollector(col)
	scopes, err := col.Scopes(ctx)
	if err != nil {
		return counts, records, nil, []error{err}
	}
	streams := col.Streams()
	if len(o.Streams) > 0 {
		var sel []string
		for _, s := range o.Streams {
			if slices.Contains(streams, s) {
				sel = append(sel, s)
			}
		}
		streams = sel
	}
	// An authentication failure or a lost lease stops the source's remaining work at once.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	streams, skipped, release, err := r.lease(sctx, cancel, src.Name, streams, holder)
	defer release()
	if err != nil {
		errs = append(errs, err)
	}
	var units []unit
	var kept []models.Scope
	for _, s := range scopes {
		// Excluded projects are not even fetched.
		if rule, ex := r.Policy.ExcludesProject(s.Path); ex {
			counts[rule+" (projects not fetched)"]++
			continue
		}
		s = r.cleared(s)
		kept = append(kept, s)
		for _, st := range streams {
			units = append(units, unit{s, st})
		}
	}
	// Every name is known before any text that may carry one is cleared, so
	// masking does not depend on which streams run or in which order.
	if pp, ok := col.(collectors.Peopler); ok && len(units) > 0 {
		for _, s := range kept {
			people, err := pp.People(sctx, s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w (the members are read first, so their names are masked wherever they appear)", err))
				return counts, records, skipped, errs
			}
			r.Policy.Learn(models.Origin{Source: src.Type, Instance: col.Instance()}, people)
		}
	}

	sem := make(chan struct{}, src.Concurrency)
	var wg sync.WaitGroup
	for _, u := range units {
		select {
		case sem <- struct{}{}:
		case <-sctx.Done():
		}
		if sctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			key := warehouse.StreamKey{Source: src.Name, Instance: col.Instance(), Scope: u.scope.Path, Stream: u.stream}
			n, c, err := r.collectUnit(sctx, col, src, key, u, o)
			mu.Lock()
			records[src.Name+"/"+u.stream] += n
			counts.Add(c)
			if err != nil && !(errors.Is(err, context.Canceled) && context.Cause(sctx) != nil && ctx.Err() == nil) {
				errs = append(errs, err)
			}
			mu.Unlock()
			if err != nil && isAuth(err) {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return counts, records, skipped, errs
}

// cleared is the scope as everything after the collector's Scopes knows it:
// a project in a user's namespace by its pseudonymized path only (records,
// cursors, metrics, reports, log lines). Exclusion rules were applied to the
// path as configured, before.
func (r *Runner) cleared(s models.Scope) models.Scope {
	if s.Personal {
		s.Path = r.Policy.PersonalPath(s.Path, s.ID)
	}
	return s
}

func isAuth(err error) bool { return errors.Is(err, httpx.ErrAuth) }

// collectUnit reads one stream of one scope, landing every batch_size records
// with the cursor they reach. Whatever was emitted before an error or a
// cancellation is still landed: pages are complete, so the cursor is exact.
func (r *Runner) collectUnit(ctx context.Context, col collectors.Collector, src *config.Source, key warehouse.StreamKey, u unit, o Options) (int, policy.Counts, error) {
	since := r.Now().Add(-time.Duration(src.Lookback))
	if !o.Since.IsZero() {
		since = o.Since
	} else if !o.Full {
		cur, ok, err := r.WH.Cursor(ctx, key)
		if err != nil {
			return 0, policy.Counts{}, err
		}
		if ok {
			since = cur.Add(-time.Duration(src.Overlap))
		}
	}
	incremental := !o.Full && o.Since.IsZero()
	return r.landStream(ctx, key, u.stream, incremental, func(ctx context.Context, out models.Output) error {
		return col.Collect(ctx, u.scope, u.stream, since, out)
	})
}

// landStream runs collect with an Output that clears every batch through the
// policy and lands it, batch_size records at a time, with the cursor it
// reached. A panic in a collector becomes the stream's error: one malformed
// record stops its stream, never the process or the other sources.
func (r *Runner) landStream(ctx context.Context, key warehouse.StreamKey, stream string, incremental bool,
	collect func(ctx context.Context, out models.Output) error) (int, policy.Counts, error) {
	counts := policy.Counts{}
	if r.Progress != nil {
		r.Progress.Start(key)
	}
	pending := &models.Batch{}
	var pendingCursor time.Time
	pendingRows := 0
	total := 0
	trackers := r.trackers()
	land := func(ctx context.Context) error {
		if pending.Len() == 0 && pendingCursor.IsZero() {
			return nil
		}
		r.keepLinks(pending, trackers)
		cleared, c := r.Policy.Apply(pending)
		counts.Add(c)
		if err := r.WH.Land(ctx, key, cleared, pendingCursor); err != nil {
			return err
		}
		pending = &models.Batch{}
		pendingCursor = time.Time{}
		pendingRows = 0
		return nil
	}
	out := models.Output{Excluded: func(project string, labels []string, typ string) bool {
		_, ex := r.Policy.Excluded(project, labels, typ)
		return ex
	}}
	if t, ok := r.Progress.(TotalWatcher); ok {
		out.Total = func(n int64) { t.Total(key, n) }
	}
	if incremental {
		// Incremental: records re-listed by the overlap window are skipped if unchanged.
		out.Landed = func(ctx context.Context, ids []string) (map[string]time.Time, error) {
			return r.WH.Landed(ctx, stream, ids)
		}
	}
	out.Emit = func(ctx context.Context, b *models.Batch, cursor time.Time) error {
		pending.Append(b)
		if cursor.After(pendingCursor) {
			pendingCursor = cursor
		}
		total += b.Len()
		if r.Progress != nil {
			r.Progress.Records(key, b.Len())
		}
		// Counted in rows, not records: 10,000 MRs with their commits and
		// notes held by each of a source's concurrent scopes made a run's
		// memory grow with the records until the first landing.
		pendingRows += b.Rows()
		if pendingRows >= r.Cfg.Warehouse.BatchSize {
			return land(ctx)
		}
		return nil
	}
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s %s of %s: malformed data from the server (%v); nothing of the page being read landed", key.Source, key.Stream, key.Scope, p)
			}
		}()
		return collect(ctx, out)
	}()
	// Land what was fully read even when stopping: a re-run then resumes after it.
	if lerr := land(context.WithoutCancel(ctx)); lerr != nil && err == nil {
		err = lerr
	}
	if r.Progress != nil {
		r.Progress.Done(key, total, err)
	}
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Ctrl-C or SIGTERM, not a fault: what was read landed.
		r.Log.Warn("stream interrupted", "source", key.Source, "scope", key.Scope, "stream", key.Stream, "records", total)
	case err != nil:
		r.Log.Error("stream failed", "source", key.Source, "scope", key.Scope, "stream", key.Stream, "records", total, "error", err.Error())
	default:
		r.Log.Debug("stream done", "source", key.Source, "scope", key.Scope, "stream", key.Stream, "records", total)
	}
	return total, counts, err
}

func newRunID(t time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// closeCollector releases what a collector holds (idle connections), if anything.
func closeCollector(col collectors.Collector) {
	if c, ok := col.(io.Closer); ok {
		_ = c.Close()
	}
}

// keepLinks drops the candidate issue links of a batch that name no issue
// of a configured tracker, or one of a tracker project the privacy policy
// excludes: only keys that can join a collected issue land.
func (r *Runner) keepLinks(b *models.Batch, t issuelinks.Trackers) {
	t.Filter(b)
	for i := range b.MergeRequests {
		m := &b.MergeRequests[i]
		kept := m.IssueLinks[:0]
		for _, l := range m.IssueLinks {
			project, _, _ := strings.Cut(l.Key, "-")
			if l.Tracker == issuelinks.Jira {
				if _, ex := r.Policy.Excluded(project, nil, ""); ex {
					continue
				}
			}
			kept = append(kept, l)
		}
		m.IssueLinks = kept
	}
}

// trackers are the trackers the configuration collects, which links may name.
func (r *Runner) trackers() issuelinks.Trackers {
	t := issuelinks.Trackers{JiraProjects: map[string]bool{}}
	for _, src := range r.Cfg.Sources {
		switch src.Type {
		case "jira":
			for _, p := range src.Projects {
				t.JiraProjects[strings.ToUpper(p)] = true
			}
			if len(src.Projects) == 0 {
				t.AnyJira = true // scoped by JQL: its projects are known only from what it lands
			}
		case "redmine":
			t.Redmine = true
		}
	}
	return t
}
