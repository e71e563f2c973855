package duckdb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/devpulse/devpulse/warehouse"
)

// The live report of `devpulse schedule` opens the file read-only while a
// run of the same process may hold it for writing. DuckDB refuses that
// connection; it must count as busy (waited for), not fail at once, which
// answered the live report with a 503 during every run.
func TestOpenWait_ReadOnlyBesideAWriterOfThisProcess(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.duckdb")
	ctx := context.Background()
	rw, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWait(ctx, p, true, 0, nil); !errors.Is(err, ErrBusy) {
		rw.Close()
		t.Fatalf("read-only beside this process's writer: %v, want ErrBusy", err)
	}
	go func() { time.Sleep(300 * time.Millisecond); rw.Close() }()
	ro, err := OpenWait(ctx, p, true, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("once the writer closed: %v", err)
	}
	ro.Close()
}

// A second read-write handle of this process (the ingest API while a
// scheduled run writes) shares the database: opening it must not take the
// running run for one a killed process left, nor drop its leases (it did),
// nor migrate again.
func TestOpen_SecondWriterOfThisProcessKeepsRunsAndLeases(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "w.duckdb")
	a, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.BeginRun(ctx, &warehouse.Run{ID: "r1", Command: "collect", StartedAt: time.Now().UTC(), Records: map[string]int{}, Policy: map[string]int{}}); err != nil {
		t.Fatal(err)
	}
	if ok, _, _, err := a.Acquire(ctx, "gl/merge_requests", "run r1", time.Hour); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	b, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Query(ctx, `SELECT status FROM runs WHERE run_id = 'r1'`)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != "running" {
		t.Fatalf("the running run after a second handle opened: %v %v", res, err)
	}
	if ok, holder, _, _ := b.Acquire(ctx, "gl/merge_requests", "someone else", time.Hour); ok || holder != "run r1" {
		t.Errorf("the run's lease was dropped: taken by someone else (%v, held by %q)", ok, holder)
	}
	b.Close()
	// Once every handle of this process is closed, the next open is a new
	// start again and clears what was left.
	a.Close()
	c, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res, err := c.Query(ctx, `SELECT status FROM runs WHERE run_id = 'r1'`); err != nil || len(res.Rows) != 1 || res.Rows[0][0] != "interrupted" {
		t.Errorf("a run left running by closed handles: %v", res)
	}
}
