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
	"golang.org/x/sync/errgroup"
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
	// group, when set, is read with one list from since (see collectGroup);
	// scope is then its first member, for messages.
	group   *models.ScopeGroup
	since   time.Time
	cursors map[string]time.Time // of the group's members, as read before
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
		kept = append(kept, r.cleared(s))
	}
	for _, st := range streams {
		grouped, gunits, err := r.groupUnits(sctx, col, src, st, kept, o)
		if err != nil {
			errs = append(errs, err)
			return counts, records, skipped, errs
		}
		units = append(units, gunits...)
		for _, s := range kept {
			if !grouped[s.Path] {
				units = append(units, unit{scope: s, stream: st})
			}
		}
	}
	members := r.members(col, src, kept)
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
			var n int
			var c policy.Counts
			var err error
			if u.group != nil {
				n, c, err = r.collectGroup(sctx, col.(collectors.Grouper), src, col.Instance(), u, members)
			} else {
				n, c, err = r.collectUnit(sctx, col, src, key, u, o, members)
			}
			mu.Lock()
			records[src.Name+"/"+u.stream] += n
			counts.Add(c)
			if err != nil && !(errors.Is(err, context.Canceled) && context.Cause(sctx) != nil && ctx.Err() == nil) && !errors.Is(err, errMembersReported) {
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

// groupUnits are the group reads of one stream on an incremental run. The
// members of a group that have landed the stream are read with the
// group's one list from the oldest of their cursors (less the overlap);
// those that never landed it (a first run, a project new to the group)
// with another, from the look-back: for sparse projects that is a few
// pages instead of one list each. Either needs two members; a lone one is
// read on its own. --full and --since read every scope on its own, as
// they always did.
func (r *Runner) groupUnits(ctx context.Context, col collectors.Collector, src *config.Source, stream string, scopes []models.Scope, o Options) (map[string]bool, []unit, error) {
	g, ok := col.(collectors.Grouper)
	if !ok || o.Full || !o.Since.IsZero() {
		return nil, nil, nil
	}
	grouped := map[string]bool{}
	var units []unit
	add := func(name string, members []models.Scope, since time.Time, cursors map[string]time.Time) {
		if len(members) < 2 {
			return
		}
		for _, s := range members {
			grouped[s.Path] = true
		}
		units = append(units, unit{scope: members[0], stream: stream, group: &models.ScopeGroup{Name: name, Scopes: members},
			since: since, cursors: cursors})
	}
	for _, gr := range g.Groups(stream, scopes) {
		var landed, fresh []models.Scope
		var oldest time.Time
		cursors := map[string]time.Time{}
		for _, s := range gr.Scopes {
			cur, ok, err := r.WH.Cursor(ctx, warehouse.StreamKey{Source: src.Name, Instance: col.Instance(), Scope: s.Path, Stream: stream})
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				fresh = append(fresh, s)
				continue
			}
			landed = append(landed, s)
			cursors[s.Path] = cur
			if oldest.IsZero() || cur.Before(oldest) {
				oldest = cur
			}
		}
		add(gr.Name, landed, oldest.Add(-time.Duration(src.Overlap)), cursors)
		add(gr.Name, fresh, r.Now().Add(-time.Duration(src.Lookback)), nil)
	}
	return grouped, units, nil
}

// collectGroup reads one stream of a group's members with one list. Each
// member lands its own records and, once the list was read to its end, the
// cursor, exactly as if it had been read alone; the outcome is logged once
// for the group.
func (r *Runner) collectGroup(ctx context.Context, g collectors.Grouper, src *config.Source, instance string, u unit, m *members) (int, policy.Counts, error) {
	// The group is one line of progress, with the group list's total.
	gkey := warehouse.StreamKey{Source: src.Name, Instance: instance, Scope: fmt.Sprintf("group %s (%d projects)", u.group.Name, len(u.group.Scopes)), Stream: u.stream}
	if r.Progress != nil {
		r.Progress.Start(gkey)
	}
	landers := make(map[string]*lander, len(u.group.Scopes))
	for _, s := range u.group.Scopes {
		key := warehouse.StreamKey{Source: src.Name, Instance: instance, Scope: s.Path, Stream: u.stream}
		landers[s.Path] = r.newLander(key, u.stream, landerOptions{incremental: true, members: m, known: u.cursors[s.Path], progress: &gkey})
	}
	// warehouse.batch_size bounds what the whole group holds, not each
	// member: 1,000 members each under the bound held a group's every
	// changed record (a first re-run after a week's pause) until the end.
	held := 0
	counts := policy.Counts{}
	// flush lands every member's pending records in one transaction, without
	// a cursor: one transaction per member made a first run of 1,000
	// projects land in thousands of small ones (minutes on DuckDB, a MERGE
	// round trip each on Snowflake). Cursors move afterwards, once the list
	// is complete (advanceQuiet): a stop in between re-reads, never skips.
	flush := func(ctx context.Context) error {
		merged := &models.Batch{}
		var first *lander
		for _, s := range u.group.Scopes {
			l := landers[s.Path]
			if l.pending.Len() == 0 {
				continue
			}
			if first == nil {
				first = l
			}
			merged.Append(l.pending)
			l.pending, l.pendingRows = &models.Batch{}, 0
		}
		if first == nil {
			return nil
		}
		if err := m.learn(ctx); err != nil {
			return err
		}
		r.keepLinks(merged, first.trackers)
		cleared, c := r.Policy.Apply(merged)
		counts.Add(c)
		return r.WH.Land(ctx, first.key, cleared, time.Time{})
	}
	err := recovered(src.Name, u.stream, "group "+u.group.Name, func() error {
		return g.CollectGroup(ctx, *u.group, u.stream, u.since, func(s models.Scope) models.Output {
			if l := landers[s.Path]; l != nil {
				out := l.out
				out.Emit = func(ctx context.Context, b *models.Batch, cursor time.Time) error {
					before := l.pendingRows
					if err := l.out.Emit(ctx, b, cursor); err != nil {
						return err
					}
					if held += l.pendingRows - before; held < r.Cfg.Warehouse.BatchSize {
						return nil
					}
					held = 0
					return flush(ctx)
				}
				return out
			}
			return models.Output{Emit: func(context.Context, *models.Batch, time.Time) error {
				return fmt.Errorf("%s %s of group %s: a record of %s, which is not a member, was routed to it", src.Name, u.stream, u.group.Name, s.Path)
			}}
		})
	})
	// What was fully read lands even when stopping; the cursors only when
	// the whole list was read.
	if ferr := flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
		err = ferr
	}
	if err == nil {
		err = r.advanceQuiet(ctx, landers)
	}
	if err != nil {
		// A member's cursor moves only with advanceQuiet, after every record
		// landed: finish must not land the cursor the list emitted when a
		// flush (or the list) failed, or the records not landed would be
		// behind it.
		for _, l := range landers {
			l.pendingCursor = time.Time{}
		}
	}
	total := 0
	for _, s := range u.group.Scopes {
		n, c, lerr := landers[s.Path].finish(ctx, err, false)
		total += n
		counts.Add(c)
		if err == nil && lerr != nil {
			err = lerr
		}
	}
	if r.Progress != nil {
		r.Progress.Done(gkey, total, err)
	}
	r.logStream(ctx, src.Name, gkey.Scope, u.stream, total, err)
	return total, counts, err
}

// advanceQuiet moves, in one transaction, the cursors of the members that
// have no record left to land (most of a large group): one landing each
// cost a transaction per project (a MERGE round trip per project on
// Snowflake) on every run a group's list moved.
func (r *Runner) advanceQuiet(ctx context.Context, landers map[string]*lander) error {
	by := map[time.Time][]*lander{}
	for _, l := range landers {
		if l.pending.Len() == 0 && l.pendingCursor.After(l.known) {
			by[l.pendingCursor] = append(by[l.pendingCursor], l)
		}
	}
	for at, ls := range by {
		keys := make([]warehouse.StreamKey, len(ls))
		for i, l := range ls {
			keys[i] = l.key
		}
		if err := r.WH.AdvanceCursors(context.WithoutCancel(ctx), keys, at); err != nil {
			return err
		}
		for _, l := range ls {
			l.known, l.pendingCursor = at, time.Time{}
		}
	}
	return nil
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
func (r *Runner) collectUnit(ctx context.Context, col collectors.Collector, src *config.Source, key warehouse.StreamKey, u unit, o Options, m *members) (int, policy.Counts, error) {
	since := r.Now().Add(-time.Duration(src.Lookback))
	var known time.Time
	if !o.Since.IsZero() {
		since = o.Since
	} else if !o.Full {
		cur, ok, err := r.WH.Cursor(ctx, key)
		if err != nil {
			return 0, policy.Counts{}, err
		}
		if ok {
			since = cur.Add(-time.Duration(src.Overlap))
			known = cur
		}
	}
	incremental := !o.Full && o.Since.IsZero()
	return r.landStream(ctx, key, u.stream, incremental, m, known, func(ctx context.Context, out models.Output) error {
		return col.Collect(ctx, u.scope, u.stream, since, out)
	})
}

// landStream runs collect with an Output that clears every batch through the
// policy and lands it, batch_size records at a time, with the cursor it
// reached. A panic in a collector becomes the stream's error: one malformed
// record stops its stream, never the process or the other sources.
func (r *Runner) landStream(ctx context.Context, key warehouse.StreamKey, stream string, incremental bool, m *members, known time.Time,
	collect func(ctx context.Context, out models.Output) error) (int, policy.Counts, error) {
	l := r.newLander(key, stream, landerOptions{incremental: incremental, members: m, known: known})
	err := recovered(key.Source, key.Stream, key.Scope, func() error { return collect(ctx, l.out) })
	return l.finish(ctx, err, true)
}

// members are the people of a source's scopes, read once, when the first
// records of the run are about to be cleared: every name is known before
// any text that may carry one is cleared, so masking does not depend on
// which streams run or in which order, and a run that lands no record (an
// unchanged re-run) reads none of them.
type members struct {
	mu     sync.Mutex
	done   bool
	err    error
	read   func(ctx context.Context) error
	failed bool // the error was returned once; later callers get errMembersReported
}

// errMembersReported fails the streams after the first one that could not
// read the members: the source's error is reported once.
var errMembersReported = errors.New("the members could not be read (reported above)")

func (r *Runner) members(col collectors.Collector, src *config.Source, scopes []models.Scope) *members {
	pp, ok := col.(collectors.Peopler)
	if !ok || len(scopes) == 0 {
		return nil
	}
	return &members{read: func(ctx context.Context) error {
		people := make([][]models.Person, len(scopes))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(src.Concurrency)
		for i, s := range scopes {
			g.Go(func() error {
				p, err := pp.People(gctx, s)
				people[i] = p
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return fmt.Errorf("%w (the members are read before any record is cleared, so their names are masked wherever they appear)", err)
		}
		for _, p := range people {
			r.Policy.Learn(models.Origin{Source: src.Type, Instance: col.Instance()}, p)
		}
		return nil
	}}
}

// learn reads the members unless done; a nil members has none to read.
func (m *members) learn(ctx context.Context) error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		m.err = m.read(ctx)
		m.done = m.err == nil || ctx.Err() == nil
	}
	if m.err == nil {
		return nil
	}
	if m.failed {
		return errMembersReported
	}
	m.failed = true
	return m.err
}

// recovered runs collect, turning a panic into the stream's error.
func recovered(source, stream, scope string, collect func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s %s of %s: malformed data from the server (%v); nothing of the page being read landed", source, stream, scope, p)
		}
	}()
	return collect()
}

// lander is one stream's landing: what a collector emitted for it, cleared
// and landed batch_size rows at a time with the cursor reached.
type lander struct {
	r             *Runner
	key           warehouse.StreamKey
	out           models.Output
	pending       *models.Batch
	pendingCursor time.Time
	pendingRows   int
	total         int
	counts        policy.Counts
	trackers      issuelinks.Trackers
	members       *members            // learnt before the first records are cleared
	known         time.Time           // the stream's cursor as landed: an empty batch that does not pass it lands nothing
	pkey          warehouse.StreamKey // progress counts records under it
	ownProgress   bool                // started and done here (not by a group)
}

type landerOptions struct {
	incremental bool
	members     *members
	known       time.Time
	// progress, when set, is the key the records count under, started and
	// done by the caller (a group's one line); else the stream's own key.
	progress *warehouse.StreamKey
}

func (r *Runner) newLander(key warehouse.StreamKey, stream string, o landerOptions) *lander {
	l := &lander{r: r, key: key, pending: &models.Batch{}, counts: policy.Counts{}, trackers: r.trackers(), members: o.members, known: o.known,
		pkey: key, ownProgress: o.progress == nil}
	incremental := o.incremental
	if o.progress != nil {
		l.pkey = *o.progress
	} else if r.Progress != nil {
		r.Progress.Start(key)
	}
	l.out = models.Output{Excluded: func(project string, labels []string, typ string) bool {
		_, ex := r.Policy.Excluded(project, labels, typ)
		return ex
	}}
	if t, ok := r.Progress.(TotalWatcher); ok {
		l.out.Total = func(n int64) { t.Total(l.pkey, n) }
	}
	if incremental {
		// Incremental: records re-listed by the overlap window are skipped if unchanged.
		l.out.Landed = func(ctx context.Context, ids []string) (map[string]time.Time, error) {
			return r.WH.Landed(ctx, stream, ids)
		}
	}
	l.out.Emit = func(ctx context.Context, b *models.Batch, cursor time.Time) error {
		l.pending.Append(b)
		if cursor.After(l.pendingCursor) {
			l.pendingCursor = cursor
		}
		l.total += b.Len()
		if r.Progress != nil {
			r.Progress.Records(l.pkey, b.Len())
		}
		// Counted in rows, not records: 10,000 MRs with their commits and
		// notes held by each of a source's concurrent scopes made a run's
		// memory grow with the records until the first landing.
		l.pendingRows += b.Rows()
		if l.pendingRows >= r.Cfg.Warehouse.BatchSize {
			return l.land(ctx)
		}
		return nil
	}
	return l
}

func (l *lander) land(ctx context.Context) error {
	if l.pending.Len() == 0 && !l.pendingCursor.After(l.known) {
		// Nothing to land and a cursor that does not move (an unchanged
		// re-run): one transaction per stream and project saved (on
		// Snowflake, a MERGE round trip).
		l.pendingCursor = time.Time{}
		return nil
	}
	if l.pending.Len() > 0 {
		if err := l.members.learn(ctx); err != nil {
			return err
		}
	}
	l.r.keepLinks(l.pending, l.trackers)
	cleared, c := l.r.Policy.Apply(l.pending)
	l.counts.Add(c)
	if err := l.r.WH.Land(ctx, l.key, cleared, l.pendingCursor); err != nil {
		return err
	}
	if l.pendingCursor.After(l.known) {
		l.known = l.pendingCursor
	}
	l.pending = &models.Batch{}
	l.pendingCursor = time.Time{}
	l.pendingRows = 0
	return nil
}

// finish lands what was fully read, even when stopping (a re-run then
// resumes after it), and reports the stream's end; logged says whether the
// stream's own outcome is logged here (a group's is logged once, by its caller).
func (l *lander) finish(ctx context.Context, err error, logged bool) (int, policy.Counts, error) {
	r, key := l.r, l.key
	if lerr := l.land(context.WithoutCancel(ctx)); lerr != nil && err == nil {
		err = lerr
	}
	if r.Progress != nil && l.ownProgress {
		r.Progress.Done(key, l.total, err)
	}
	if logged {
		r.logStream(ctx, key.Source, key.Scope, key.Stream, l.total, err)
	}
	return l.total, l.counts, err
}

func (r *Runner) logStream(ctx context.Context, source, scope, stream string, total int, err error) {
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Ctrl-C or SIGTERM, not a fault: what was read landed.
		r.Log.Warn("stream interrupted", "source", source, "scope", scope, "stream", stream, "records", total)
	case err != nil:
		r.Log.Error("stream failed", "source", source, "scope", scope, "stream", stream, "records", total, "error", err.Error())
	default:
		r.Log.Debug("stream done", "source", source, "scope", scope, "stream", stream, "records", total)
	}
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
