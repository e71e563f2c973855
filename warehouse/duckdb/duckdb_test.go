package duckdb

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

var key = warehousetest.Key

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "w.duckdb")
	w, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, p
}

// The contract's helpers: the real policy (engines only take cleared
// batches) and merge requests of acme/api.
var (
	clear = warehousetest.Clear
	mr    = warehousetest.MR
	base  = warehousetest.Base
)

func count(t *testing.T, w *DB, q string) int64 {
	t.Helper()
	res, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows[0][0].(int64)
}

func TestOpen_AppliesMigrationsOnce(t *testing.T) {
	w, p := openTemp(t)
	n := count(t, w, "SELECT count(*) FROM schema_migrations")
	if n == 0 {
		t.Fatal("no migration recorded")
	}
	w.Close()
	w2, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if m := count(t, w2, "SELECT count(*) FROM schema_migrations"); m != n {
		t.Errorf("reopening recorded %d migrations, had %d", m, n)
	}
}

func TestLand_UpsertIsIdempotentAndReplacesChildren(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	b := &models.Batch{MergeRequests: []models.MergeRequest{mr(1, base, "a", "b", "c"), mr(2, base, "d")}}
	for i := 0; i < 2; i++ {
		if err := w.Land(ctx, key, clear(t, b), base); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, w, "SELECT count(*) FROM merge_requests"); n != 2 {
		t.Errorf("%d MRs after landing the same batch twice, want 2", n)
	}
	if n := count(t, w, "SELECT count(*) FROM mr_commits"); n != 4 {
		t.Errorf("%d commits, want 4", n)
	}
	// MR 1 force-pushed: now commits a and e. Its old b and c must go; MR 2's stay.
	b2 := &models.Batch{MergeRequests: []models.MergeRequest{mr(1, base.Add(time.Hour), "a", "e")}}
	if err := w.Land(ctx, key, clear(t, b2), base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res, _ := w.Query(ctx, "SELECT string_agg(sha, ',' ORDER BY sha) FROM mr_commits")
	if got := res.Rows[0][0]; got != "a,d,e" {
		t.Errorf("commits = %v, want a,d,e", got)
	}
	// A duplicate inside one batch keeps the last (newest) version.
	m := mr(3, base)
	m2 := mr(3, base.Add(time.Minute))
	m2.State = "merged"
	if err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{m, m2}}), base); err != nil {
		t.Fatal(err)
	}
	res, _ = w.Query(ctx, "SELECT count(*), max(state) FROM merge_requests WHERE iid = 3")
	if res.Rows[0][0] != int64(1) || res.Rows[0][1] != "merged" {
		t.Errorf("duplicate in batch: %v", res.Rows[0])
	}
}

func TestLand_CursorNeverMovesBack(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	later := base.Add(48 * time.Hour)
	if err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{mr(1, later)}}), later); err != nil {
		t.Fatal(err)
	}
	// A --since re-read lands older records; the cursor must stay.
	if err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{mr(2, base)}}), base); err != nil {
		t.Fatal(err)
	}
	got, ok, err := w.Cursor(ctx, key)
	if err != nil || !ok || !got.Equal(later) {
		t.Errorf("cursor = %v %v %v, want %v", got, ok, err, later)
	}
}

func TestLand_FailureBeforeCommitLeavesNothing(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	if err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{mr(1, base, "a")}}), base); err != nil {
		t.Fatal(err)
	}
	w.beforeCommit = func() error { return errors.New("power cut") }
	later := base.Add(time.Hour)
	err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{mr(1, later, "x"), mr(2, later, "y")}}), later)
	if err == nil || !strings.Contains(err.Error(), "power cut") {
		t.Fatalf("err = %v", err)
	}
	w.beforeCommit = nil
	if n := count(t, w, "SELECT count(*) FROM merge_requests"); n != 1 {
		t.Errorf("%d MRs after a failed batch, want the 1 from before", n)
	}
	res, _ := w.Query(ctx, "SELECT string_agg(sha, ',') FROM mr_commits")
	if res.Rows[0][0] != "a" {
		t.Errorf("commits = %v, want a", res.Rows[0][0])
	}
	if got, _, _ := w.Cursor(ctx, key); !got.Equal(base) {
		t.Errorf("cursor moved to %v with rows that did not land", got)
	}
}

func TestLand_PersonColumnsHoldOnlyTokens(t *testing.T) {
	w, _ := openTemp(t)
	ctx := context.Background()
	m := mr(1, base)
	m.Author = models.Person{Username: "ann.lee", Name: "Ann Lee", Email: "ann@example.com", ID: "42"}
	if err := w.Land(ctx, key, clear(t, &models.Batch{MergeRequests: []models.MergeRequest{m}}), base); err != nil {
		t.Fatal(err)
	}
	res, _ := w.Query(ctx, "SELECT author FROM merge_requests")
	a, _ := res.Rows[0][0].(string)
	if len(a) != 16 || strings.Contains(a, "ann") {
		t.Errorf("author column = %q, want a 16-hex token", a)
	}
}

func TestOpen_MarksRunsOfAKilledProcessInterrupted(t *testing.T) {
	w, p := openTemp(t)
	ctx := context.Background()
	if err := w.BeginRun(ctx, &warehouse.Run{ID: "r1", Command: "collect", StartedAt: base}); err != nil {
		t.Fatal(err)
	}
	w.Close() // as if killed: the run never finished
	w2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	res, _ := w2.Query(ctx, "SELECT status FROM runs WHERE run_id = 'r1'")
	if res.Rows[0][0] != "interrupted" {
		t.Errorf("status = %v, want interrupted", res.Rows[0][0])
	}
}

func TestQuery_ReadOnlyHandleRefusesWrites(t *testing.T) {
	w, p := openTemp(t)
	w.Close()
	ro, err := OpenReadOnly(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Query(context.Background(), "DELETE FROM runs"); err == nil {
		t.Error("a read-only handle ran DELETE")
	}
	if _, err := OpenReadOnly(context.Background(), filepath.Join(t.TempDir(), "missing.duckdb")); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Errorf("missing file: %v", err)
	}
}
