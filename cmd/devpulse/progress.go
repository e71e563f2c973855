package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/warehouse"
)

// progress shows live collection state: on a terminal one status line that
// redraws (streams, records, requests and their rate, and when the
// client-side rate_limit is what holds the speed), a line per finished
// stream, and log lines printed above it rather than over it; otherwise one
// log line per stream and a summary line every 30 seconds.
type progress struct {
	w       io.Writer
	log     *slog.Logger
	tty     bool
	every   time.Duration // non-terminal summary interval
	mu      sync.Mutex
	started map[warehouse.StreamKey]time.Time
	running map[string]int // running streams by source
	done    int
	records int
	// per running stream: records emitted, and the list's total when the
	// server said it, for "of ~N" and the ETA
	emitted  map[warehouse.StreamKey]int
	expected map[warehouse.StreamKey]int64
	t0       time.Time
	sources  map[string]*watched
	stop     chan struct{}
	wg       sync.WaitGroup
}

type watched struct {
	stats *httpx.Stats
	limit float64
	// the request count some seconds ago, for the current rate
	lastN int64
	lastT time.Time
	rate  float64
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, started: map[warehouse.StreamKey]time.Time{}, running: map[string]int{}, t0: time.Now(),
		emitted: map[warehouse.StreamKey]int{}, expected: map[warehouse.StreamKey]int64{},
		sources: map[string]*watched{}, stop: make(chan struct{}), every: 30 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	p.log = slog.New(slog.DiscardHandler)
	p.wg.Add(1)
	go p.loop()
	return p
}

// Writer is where log lines go while progress runs: on a terminal each is
// written above the status line, which is then drawn again.
func (p *progress) Writer() io.Writer { return progressWriter{p} }

type progressWriter struct{ p *progress }

func (pw progressWriter) Write(b []byte) (int, error) {
	p := pw.p
	if !p.tty {
		// Not locked: progress logs its own lines while holding mu.
		return p.w.Write(b)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
	n, err := p.w.Write(b)
	p.redraw()
	return n, err
}

func (p *progress) loop() {
	defer p.wg.Done()
	tick := 200 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	lastSummary := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			p.sample(now)
			if p.tty {
				p.redraw()
			} else if now.Sub(lastSummary) >= p.every {
				lastSummary = now
				p.log.Info("collecting", p.summaryAttrs()...)
			}
			p.mu.Unlock()
		}
	}
}

// sample updates each source's request rate over the last ~2 seconds.
func (p *progress) sample(now time.Time) {
	for _, s := range p.sources {
		n := s.stats.Requests.Load()
		if s.lastT.IsZero() {
			s.lastN, s.lastT = n, now
			continue
		}
		if d := now.Sub(s.lastT); d >= 2*time.Second {
			s.rate = float64(n-s.lastN) / d.Seconds()
			s.lastN, s.lastT = n, now
		}
	}
}

func (p *progress) requests() int64 {
	var n int64
	for _, s := range p.sources {
		n += s.stats.Requests.Load()
	}
	return n
}

// limited names the sources whose requests run at their rate_limit while
// they have streams running: then the limit, not the server, sets the speed.
func (p *progress) limited() []string {
	var out []string
	for name, s := range p.sources {
		if p.running[name] > 0 && s.limit > 0 && s.rate >= 0.9*s.limit {
			out = append(out, fmt.Sprintf("%s at its rate_limit of %g req/s (sources.%s.rate_limit, if the server allows more)", name, s.limit, name))
		}
	}
	sort.Strings(out)
	return out
}

func (p *progress) rate() float64 {
	r := 0.0
	for _, s := range p.sources {
		r += s.rate
	}
	return r
}

func (p *progress) runningTotal() int {
	n := 0
	for _, v := range p.running {
		n += v
	}
	return n
}

// remaining is what the running streams with a known total still have to
// list, and the ETA at the records rate so far ("" when unknown). The ETA
// is an upper bound on incremental runs, which skip unchanged records.
func (p *progress) remaining() (left int64, eta string) {
	for k, total := range p.expected {
		if n := total - int64(p.emitted[k]); n > 0 {
			left += n
		}
	}
	el := time.Since(p.t0).Seconds()
	if left == 0 || p.records == 0 || el <= 0 {
		return left, ""
	}
	d := time.Duration(float64(left) / (float64(p.records) / el) * float64(time.Second))
	return left, "ETA " + d.Round(time.Second).String()
}

func (p *progress) redraw() {
	line := fmt.Sprintf("collecting %s: %d streams running, %d done, %d records, %d requests (%.0f/s)",
		time.Since(p.t0).Round(time.Second), p.runningTotal(), p.done, p.records, p.requests(), p.rate())
	if left, eta := p.remaining(); left > 0 {
		line += fmt.Sprintf(", ~%d to go", left)
		if eta != "" {
			line += ", " + eta
		}
	}
	if l := p.limited(); len(l) > 0 {
		line += "; limited by " + strings.Join(l, ", ")
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
}

func (p *progress) summaryAttrs() []any {
	attrs := []any{"running", p.runningTotal(), "done", p.done, "records", p.records, "requests", p.requests(),
		"requests_per_second", math.Round(p.rate()*10) / 10, "seconds", math.Round(time.Since(p.t0).Seconds())}
	if left, eta := p.remaining(); left > 0 {
		attrs = append(attrs, "to_go", left)
		if eta != "" {
			attrs = append(attrs, "eta", strings.TrimPrefix(eta, "ETA "))
		}
	}
	if l := p.limited(); len(l) > 0 {
		attrs = append(attrs, "limited_by", strings.Join(l, ", "))
	}
	return attrs
}

// Watch implements pipeline.RequestWatcher.
func (p *progress) Watch(source string, stats *httpx.Stats, rateLimit float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sources[source] = &watched{stats: stats, limit: rateLimit}
}

func (p *progress) Start(k warehouse.StreamKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started[k] = time.Now()
	p.running[k.Source]++
}

func (p *progress) Records(k warehouse.StreamKey, n int) {
	p.mu.Lock()
	p.records += n
	p.emitted[k] += n
	p.mu.Unlock()
}

// Total implements pipeline.TotalWatcher.
func (p *progress) Total(k warehouse.StreamKey, n int64) {
	p.mu.Lock()
	p.expected[k] = n
	p.mu.Unlock()
}

func (p *progress) Done(k warehouse.StreamKey, total int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[k.Source]--
	p.done++
	delete(p.expected, k)
	delete(p.emitted, k)
	d := time.Since(p.started[k])
	status := "ok"
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		status = "interrupted"
	case err != nil:
		status = "FAILED"
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K  %-8s %-28s %-15s %7d records %6.1fs %s\n", k.Source, k.Scope, k.Stream, total, d.Seconds(), status)
		p.redraw()
		return
	}
	p.log.Info("stream collected", "source", k.Source, "scope", k.Scope, "stream", k.Stream, "records", total,
		"seconds", math.Round(d.Seconds()*100)/100, "status", status)
}

// Stop ends the redraw loop and clears the status line.
func (p *progress) Stop() {
	close(p.stop)
	p.wg.Wait()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
