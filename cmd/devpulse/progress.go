package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/devpulse/devpulse/warehouse"
)

// progress shows live collection state: on a terminal one status line that
// redraws, plus a line per finished stream; otherwise one log line per stream.
type progress struct {
	w       io.Writer
	log     *slog.Logger
	tty     bool
	mu      sync.Mutex
	started map[warehouse.StreamKey]time.Time
	running int
	done    int
	records int
	t0      time.Time
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(w io.Writer, log *slog.Logger) *progress {
	p := &progress{w: w, log: log, started: map[warehouse.StreamKey]time.Time{}, t0: time.Now(), stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.redraw()
			p.mu.Unlock()
		}
	}
}

func (p *progress) redraw() {
	el := time.Since(p.t0).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.records) / el
	}
	fmt.Fprintf(p.w, "\r\033[Kcollecting: %d running, %d done, %d records, %.0f records/s", p.running, p.done, p.records, rate)
}

func (p *progress) Start(k warehouse.StreamKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started[k] = time.Now()
	p.running++
}

func (p *progress) Records(k warehouse.StreamKey, n int) {
	p.mu.Lock()
	p.records += n
	p.mu.Unlock()
}

func (p *progress) Done(k warehouse.StreamKey, total int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running--
	p.done++
	d := time.Since(p.started[k])
	status := "ok"
	if err != nil {
		status = "FAILED"
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K  %-8s %-28s %-15s %7d records %6.1fs %s\n", k.Source, k.Scope, k.Stream, total, d.Seconds(), status)
		p.redraw()
		return
	}
	p.log.Info("stream collected", "source", k.Source, "scope", k.Scope, "stream", k.Stream, "records", total,
		"seconds", fmt.Sprintf("%.2f", d.Seconds()), "status", status)
}

// Stop ends the redraw loop and clears the status line.
func (p *progress) Stop() {
	close(p.stop)
	p.wg.Wait()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
