// Package duckdb is the embedded default engine: one file, no server.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/devpulse/devpulse/dashboards"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is a DuckDB warehouse file.
type DB struct {
	mu sync.Mutex // one pinned connection: statements must not interleave
	// swap is held for reading by every query on a pooled connection and
	// for writing while Compact replaces db: a query never runs on a closed
	// handle.
	swap     sync.RWMutex
	db       *sql.DB
	conn     *sql.Conn // pinned: temp staging tables live on one connection
	path     string
	readOnly bool
	closed   bool
	now      func() time.Time
	// beforeCommit, when set (tests), runs after the rows and the cursor are
	// written and before COMMIT: an error there must leave nothing behind.
	beforeCommit func() error
}

// Open opens (creating if needed) the file read-write and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, false)
}

// SetMemoryLimit caps DuckDB's buffer pool (e.g. "512MB"; "" leaves DuckDB's default).
func (w *DB) SetMemoryLimit(ctx context.Context, limit string) error {
	if limit == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`SET memory_limit = '%s'`, strings.ReplaceAll(limit, "'", ""))); err != nil {
		return fmt.Errorf("duckdb: warehouse.memory_limit %q: %w", limit, err)
	}
	return nil
}

// OpenReadOnly opens an existing file for queries; writes fail inside DuckDB.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("duckdb: warehouse %s does not exist yet (run `devpulse collect` or `devpulse demo` first)", path)
	}
	return open(ctx, path, true)
}

// writers counts this process's read-write handles of each file. DuckDB
// shares one database between them, so only the first one migrates and
// clears what a killed process left (runs 'running', leases): a second
// handle (the ingest API or an overlapping job while a run writes) must not
// mark the running run interrupted nor drop its leases, nor migrate the
// schema concurrently. Opens are serialized per process for the same reason.
var writers = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func writerKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func open(ctx context.Context, path string, readOnly bool) (*DB, error) {
	writers.Lock()
	defer writers.Unlock()
	key := writerKey(path)
	w, err := openLocked(ctx, path, readOnly, writers.n[key] == 0)
	if err == nil && !readOnly {
		writers.n[key]++
	}
	return w, err
}

func openLocked(ctx context.Context, path string, readOnly, firstWriter bool) (*DB, error) {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("duckdb: create directory for %s: %w", path, err)
		}
	}
	dsn := path
	if readOnly {
		dsn += "?access_mode=read_only"
	}
	// Timestamps are stored in UTC; the session zone decides DATE_TRUNC in the
	// dashboard views, so every connection pins it rather than inherit the
	// machine's.
	connector, err := duck.NewConnector(dsn, func(c driver.ExecerContext) error {
		if _, err := c.ExecContext(ctx, `SET TimeZone = 'UTC'`, nil); err != nil {
			return fmt.Errorf("set time zone: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %s: %w", path, lockMessage(path, err))
	}
	db := sql.OpenDB(connector)
	// One pinned connection writes; queries run on the others, side by side
	// (DuckDB reads a committed snapshot on each): a report reads its scopes
	// in parallel instead of one after another.
	db.SetMaxOpenConns(1 + warehouse.Readers)
	db.SetMaxIdleConns(1 + warehouse.Readers)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb: open %s: %w", path, lockMessage(path, err))
	}
	w := &DB{db: db, conn: conn, path: path, readOnly: readOnly, now: time.Now}
	// Bulk batches would otherwise checkpoint the WAL every 16 MB, rewriting
	// the file mid-load; checkpoint every 128 MB (and at close) instead. Larger is
	// faster still but keeps that much committed data in memory until checkpointed.
	if _, err := conn.ExecContext(ctx, `SET checkpoint_threshold = '128MB'`); err != nil && !readOnly {
		w.release()
		return nil, fmt.Errorf("duckdb: set checkpoint threshold: %w", err)
	}
	if !readOnly && firstWriter {
		if err := w.migrate(ctx); err != nil {
			w.release()
			return nil, err
		}
		for _, v := range dashboards.Views() {
			if _, err := conn.ExecContext(ctx, v.SQL); err != nil {
				w.release()
				return nil, fmt.Errorf("duckdb: create dashboard view %s: %w", v.Name, err)
			}
		}
		// A run left 'running' by a killed process is not running any more:
		// only one process can hold this file for writing.
		if _, err := conn.ExecContext(ctx, `UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, now()) WHERE status = 'running'`); err != nil {
			w.release()
			return nil, fmt.Errorf("duckdb: mark interrupted runs: %w", err)
		}
		// Likewise every lease in the file is stale: whoever took it is gone.
		if _, err := conn.ExecContext(ctx, `DELETE FROM locks`); err != nil {
			w.release()
			return nil, fmt.Errorf("duckdb: clear stale leases: %w", err)
		}
	}
	return w, nil
}

// ErrBusy marks the failure to open a file another process holds.
var ErrBusy = errors.New("warehouse file busy")

// OpenWait is Open (or OpenReadOnly) that, when another process holds the
// file, retries for up to wait, calling notify once with who holds it, and
// then fails with a plain message naming that process. DuckDB lets one
// process write a file at a time; `devpulse schedule` holds it only while a
// run writes, so a report or query usually gets in within seconds.
func OpenWait(ctx context.Context, path string, readOnly bool, wait time.Duration, notify func(holder string)) (*DB, error) {
	deadline := time.Now().Add(wait)
	pause := 100 * time.Millisecond
	notified := false
	for {
		w, err := open(ctx, path, readOnly)
		if err == nil || !errors.Is(err, ErrBusy) || !time.Now().Before(deadline) {
			if err != nil && errors.Is(err, ErrBusy) && wait > 0 {
				err = fmt.Errorf("%w (waited %s)", err, wait.Round(time.Second))
			}
			return w, err
		}
		if !notified && notify != nil {
			notify(holderOf(err))
			notified = true
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(min(pause, time.Until(deadline))):
		}
		pause = min(2*pause, time.Second)
	}
}

var lockRe = regexp.MustCompile(`(?:PID|process) (\d+)`)

func holderOf(err error) string {
	if m := lockRe.FindStringSubmatch(err.Error()); m != nil {
		return "process " + m[1]
	}
	return "another process"
}

// lockMessage turns DuckDB's lock conflict into something a person can act on.
func lockMessage(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock") {
		holder := "another process"
		if m := lockRe.FindStringSubmatch(msg); m != nil {
			holder = "process " + m[1]
		}
		return fmt.Errorf("%w: %s is in use by %s (DuckDB allows one process at a time while one writes); wait for it to finish or stop it", ErrBusy, path, holder)
	}
	// The same process holds the file open for writing (a scheduled run while
	// the live report reads): DuckDB refuses a read-only connection beside
	// it. Busy as well: the run closes the file when it is done.
	if strings.Contains(msg, "different configuration than existing connections") {
		return fmt.Errorf("%w: %s is open for writing in this process (a run in progress); wait for it to finish", ErrBusy, path)
	}
	return err
}

// Path is the file's path.
func (w *DB) Path() string { return w.path }

// Close releases the file.
// release closes the handles of a DB that was never handed out (a failed
// open, under the writers lock).
func (w *DB) release() {
	if w.conn != nil {
		w.conn.Close()
	}
	w.db.Close()
}

func (w *DB) Close() error {
	writers.Lock()
	if !w.readOnly && !w.closed {
		if key := writerKey(w.path); writers.n[key] > 0 {
			writers.n[key]--
		}
	}
	w.closed = true
	writers.Unlock()
	if w.conn != nil {
		w.conn.Close()
	}
	return w.db.Close()
}

// Compact rewrites the file so that it holds no copy of deleted rows:
// DuckDB keeps them in its blocks until they are rewritten, so `strings` on
// the file would still find what purge removed. The database is copied into
// a fresh file (COPY FROM DATABASE), which atomically replaces the old one,
// and reopened. It returns the file's size before and after.
func (w *DB) Compact(ctx context.Context) (before, after int64, err error) {
	if w.readOnly {
		return 0, 0, errors.New("duckdb: compact: the warehouse is open read-only")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.swap.Lock()
	defer w.swap.Unlock()
	if st, err := os.Stat(w.path); err == nil {
		before = st.Size()
	}
	tmp := w.path + ".compact"
	_ = os.Remove(tmp)
	_ = os.Remove(tmp + ".wal")
	var name string
	if err := w.conn.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		return 0, 0, fmt.Errorf("duckdb: compact: %w", err)
	}
	for _, q := range []string{`CHECKPOINT`, fmt.Sprintf(`ATTACH '%s' AS devpulse_compact`, strings.ReplaceAll(tmp, "'", "''")),
		fmt.Sprintf(`COPY FROM DATABASE %s TO devpulse_compact`, quote(name)), `DETACH devpulse_compact`} {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			_, _ = w.conn.ExecContext(ctx, `DETACH DATABASE IF EXISTS devpulse_compact`)
			_ = os.Remove(tmp)
			return 0, 0, fmt.Errorf("duckdb: compact (%s): %w", strings.Fields(q)[0], err)
		}
	}
	w.conn.Close()
	w.db.Close()
	if err := os.Rename(tmp, w.path); err != nil {
		return 0, 0, fmt.Errorf("duckdb: compact: replace %s: %w", w.path, err)
	}
	_ = os.Remove(w.path + ".wal")
	fresh, err := open(ctx, w.path, false)
	if err != nil {
		return 0, 0, fmt.Errorf("duckdb: compact: reopen: %w", err)
	}
	fresh.now, fresh.beforeCommit = w.now, w.beforeCommit
	w.db, w.conn = fresh.db, fresh.conn
	// fresh's handle is w's again: count it once.
	writers.Lock()
	writers.n[writerKey(w.path)]--
	writers.Unlock()
	if st, err := os.Stat(w.path); err == nil {
		after = st.Size()
	}
	return before, after, nil
}

func (w *DB) migrate(ctx context.Context) error {
	if _, err := w.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)`); err != nil {
		return fmt.Errorf("duckdb: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := w.conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("duckdb: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		name := filepath.Base(f)
		num, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("duckdb: migration %s has no number", name)
		}
		if applied[num] {
			continue
		}
		body, _ := migrationFS.ReadFile(f)
		if err := w.inTx(ctx, func() error {
			if _, err := w.conn.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := w.conn.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, now())`, num, name)
			return err
		}); err != nil {
			return fmt.Errorf("duckdb: apply migration %s: %w", name, err)
		}
	}
	return nil
}

// inTx runs fn in a transaction on the pinned connection. SQL-level BEGIN is
// used (not sql.Tx) so the Appender, which works on the raw connection, writes
// inside the same transaction.
func (w *DB) inTx(ctx context.Context, fn func() error) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Roll back on a fresh context: the caller's may be the reason we stopped.
			_, _ = w.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	_, err = w.conn.ExecContext(ctx, "COMMIT")
	return err
}

// Cursor implements warehouse.Warehouse.
func (w *DB) Cursor(ctx context.Context, k warehouse.StreamKey) (time.Time, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Time
	err := w.conn.QueryRowContext(ctx, `SELECT "cursor" FROM collection_state WHERE source=? AND instance=? AND scope=? AND stream=?`,
		k.Source, k.Instance, k.Scope, k.Stream).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("duckdb: read cursor of %s/%s: %w", k.Scope, k.Stream, err)
	}
	return t.UTC(), true, nil
}

// AdvanceCursors implements warehouse.Warehouse.
func (w *DB) AdvanceCursors(ctx context.Context, keys []warehouse.StreamKey, cursor time.Time) error {
	if len(keys) == 0 || cursor.IsZero() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.inTx(ctx, func() error {
		for chunk := range slices.Chunk(keys, 1000) {
			values := strings.Repeat("(?, ?, ?, ?, ?, now()), ", len(chunk))
			args := make([]any, 0, 5*len(chunk))
			for _, k := range chunk {
				args = append(args, k.Source, k.Instance, k.Scope, k.Stream, cursor.UTC())
			}
			if _, err := w.conn.ExecContext(ctx, `INSERT INTO collection_state VALUES `+strings.TrimSuffix(values, ", ")+`
			ON CONFLICT (source, instance, scope, stream) DO UPDATE
			SET "cursor" = greatest(collection_state."cursor", excluded."cursor"), updated_at = now()`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("duckdb: advance %d cursors: %w", len(keys), err)
	}
	return nil
}

// Land implements warehouse.Warehouse.
func (w *DB) Land(ctx context.Context, k warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.inTx(ctx, func() error {
		if err := warehouse.EachRows(b.Batch(), w.now().UTC(), func(t warehouse.Rows) error {
			if err := w.upsert(ctx, t); err != nil {
				return fmt.Errorf("upsert %s: %w", t.Table.Name, err)
			}
			return nil
		}); err != nil {
			return err
		}
		if !cursor.IsZero() {
			if _, err := w.conn.ExecContext(ctx, `INSERT INTO collection_state VALUES (?, ?, ?, ?, ?, now())
			ON CONFLICT (source, instance, scope, stream) DO UPDATE
			SET "cursor" = greatest(collection_state."cursor", excluded."cursor"), updated_at = now()`,
				k.Source, k.Instance, k.Scope, k.Stream, cursor.UTC()); err != nil {
				return err
			}
		}
		if w.beforeCommit != nil {
			return w.beforeCommit()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("duckdb: land %s/%s: %w", k.Scope, k.Stream, err)
	}
	return nil
}

// upsert replaces rows by natural key with one write per row: the keys go to
// a temp table (Appender), the rows they replace (and, for parents, all their
// children) are deleted, and the new rows are appended straight into the
// table. All of it runs in the caller's transaction: the Appender writes
// through the same connection, so a failure before COMMIT leaves nothing.
// Parents come before their children (warehouse.EachRows' order), so a
// child's delete finds its parent's keys.
func (w *DB) upsert(ctx context.Context, r warehouse.Rows) error {
	t := r.Table
	keys := "keys_" + t.Name
	// A parent's keys are read by its children; a child whose key holds its
	// parent's (mr_commits) is deleted with the parent and needs no keys of its
	// own, which saves appending them (a quarter of mr_commits' landing).
	ownKey := t.Parent == "" || !sameKey(t)
	if ownKey {
		if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %s (%s)`, keys, keyColumns(t))); err != nil {
			return err
		}
		if len(r.Rows) > 0 {
			if err := w.appendRows(keys, "temp", r.Rows, keyIndexes(t)); err != nil { // temp tables live in catalog temp
				return err
			}
		}
	}
	var where []string
	if t.Parent != "" {
		// Every child of a re-landed parent goes, including ones the new batch no longer has.
		where = append(where, fmt.Sprintf(`%s IN (SELECT %s FROM keys_%s)`, quote(t.Parent), quote("id"), t.Of))
	}
	if ownKey && len(r.Rows) > 0 {
		var on []string
		for _, k := range t.Key {
			on = append(on, fmt.Sprintf(`%s.%s = k.%s`, t.Name, quote(k), quote(k)))
		}
		// One statement for both, so the table is scanned once.
		where = append(where, fmt.Sprintf(`EXISTS (SELECT 1 FROM %s k WHERE %s)`, keys, strings.Join(on, " AND ")))
	}
	if len(where) > 0 {
		if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s`, t.Name, strings.Join(where, " OR "))); err != nil {
			return err
		}
	}
	if len(r.Rows) == 0 {
		return nil
	}
	return w.appendRows(t.Name, "", r.Rows, nil)
}

// sameKey: a child table whose rows are all deleted with their parent needs
// no delete by its own key.
func sameKey(t warehouse.Table) bool {
	for _, k := range t.Key {
		if k == t.Parent {
			return true
		}
	}
	return false
}

func keyIndexes(t warehouse.Table) []int {
	idx := make([]int, len(t.Key))
	for i, k := range t.Key {
		for j, c := range t.Columns {
			if c == k {
				idx[i] = j
			}
		}
	}
	return idx
}

// keyColumns declares the key columns of a table for its keys_ temp table,
// with the types they have in the table.
func keyColumns(t warehouse.Table) string {
	var cols []string
	for _, k := range t.Key {
		typ := "VARCHAR"
		if warehouse.DateColumns[k] {
			typ = "DATE"
		}
		cols = append(cols, quote(k)+" "+typ)
	}
	return strings.Join(cols, ", ")
}

// appendRows bulk-appends rows (or only the columns at idx) into a table of
// a catalog ("" is the database itself, "temp" its temp tables).
func (w *DB) appendRows(table, catalog string, rows [][]any, idx []int) error {
	return w.conn.Raw(func(dc any) error {
		app, err := duck.NewAppender(dc.(driver.Conn), catalog, "main", table)
		if err != nil {
			return err
		}
		vals := make([]driver.Value, 0, 32)
		for _, row := range rows {
			vals = vals[:0]
			if idx == nil {
				for _, v := range row {
					vals = append(vals, v)
				}
			} else {
				for _, i := range idx {
					vals = append(vals, row[i])
				}
			}
			if err := app.AppendRow(vals...); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
}

func quote(c string) string { return `"` + c + `"` }

// Landed implements warehouse.Warehouse.
func (w *DB) Landed(ctx context.Context, stream string, ids []string) (map[string]time.Time, error) {
	table, ok := warehouse.StreamTable[stream]
	if !ok {
		return nil, fmt.Errorf("duckdb: unknown stream %q", stream)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]time.Time, len(ids))
	err := warehouse.InChunks(ids, 500, nil, func(args []any, in string) error {
		rows, err := w.conn.QueryContext(ctx, fmt.Sprintf(warehouse.LandedSQL(table), in), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var t time.Time
			if err := rows.Scan(&id, &t); err != nil {
				return err
			}
			out[id] = t.UTC()
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: look up landed %s: %w", table, err)
	}
	return out, nil
}

// Delete implements warehouse.Warehouse.
func (w *DB) Delete(ctx context.Context, table string, ids []string) (n int, err error) {
	if !warehouse.Deletable(table) {
		return 0, fmt.Errorf("duckdb: delete from %q: not a record table", table)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.inTx(ctx, func() (err error) {
		n, err = warehouse.DeleteRecords(w.execer(ctx), table, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("duckdb: delete from %s: %w", table, err)
	}
	return n, nil
}

// execer runs statements on the pinned connection (the lock is held).
func (w *DB) execer(ctx context.Context) warehouse.ExecFunc {
	return func(q string, args ...any) (int64, error) {
		r, err := w.conn.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		n, _ := r.RowsAffected()
		return n, nil
	}
}

// MarkDeleted implements warehouse.Warehouse.
func (w *DB) MarkDeleted(ctx context.Context, table string, ids []string, at time.Time) (n int, err error) {
	if _, ok := warehouse.StreamTable[table]; !ok {
		return 0, fmt.Errorf("duckdb: mark deleted in %q: not a record table", table)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.inTx(ctx, func() (err error) {
		n, err = warehouse.MarkRecordsDeleted(w.execer(ctx), table, ids, []any{at.UTC()})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("duckdb: mark deleted in %s: %w", table, err)
	}
	return n, nil
}

// PutMetrics implements warehouse.Warehouse.
func (w *DB) PutMetrics(ctx context.Context, vals []warehouse.MetricValue) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := warehouse.MetricRows(vals, w.now().UTC())
	if err := w.inTx(ctx, func() error { return w.upsert(ctx, rows) }); err != nil {
		return fmt.Errorf("duckdb: store metric values: %w", err)
	}
	return nil
}

// PutRegressions implements warehouse.Warehouse.
func (w *DB) PutRegressions(ctx context.Context, regs []warehouse.Regression) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := warehouse.RegressionRows(regs, w.now().UTC())
	err := w.inTx(ctx, func() error {
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM regressions`); err != nil {
			return err
		}
		return w.upsert(ctx, rows)
	})
	if err != nil {
		return fmt.Errorf("duckdb: store regressions: %w", err)
	}
	return nil
}

// PutNotified implements warehouse.Warehouse.
func (w *DB) PutNotified(ctx context.Context, keys []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := warehouse.NotificationRows(keys, w.now().UTC())
	if err := w.inTx(ctx, func() error { return w.upsert(ctx, rows) }); err != nil {
		return fmt.Errorf("duckdb: record notifications: %w", err)
	}
	return nil
}

// Forget implements warehouse.Warehouse.
func (w *DB) Forget(ctx context.Context, scopes []string) (cursors, metricValues int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.inTx(ctx, func() (err error) {
		cursors, metricValues, err = warehouse.ForgetDerived(w.execer(ctx), scopes)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("duckdb: forget derived data: %w", err)
	}
	return cursors, metricValues, nil
}

// PutTeams implements warehouse.Warehouse.
func (w *DB) PutTeams(ctx context.Context, members []warehouse.TeamMember) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.inTx(ctx, func() error { return warehouse.ReplaceTeams(w.execer(ctx), members) }); err != nil {
		return fmt.Errorf("duckdb: store teams: %w", err)
	}
	return nil
}

// Acquire implements warehouse.Warehouse.
func (w *DB) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, time.Time, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now().UTC()
	var by string
	var until time.Time
	err := w.inTx(ctx, func() error {
		err := w.conn.QueryRowContext(ctx, `SELECT holder, expires_at FROM locks WHERE name = ?`, name).Scan(&by, &until)
		if err == nil && by != holder && until.After(now) {
			return nil // held by someone else
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		by, until = holder, now.Add(ttl)
		_, err = w.conn.ExecContext(ctx, `INSERT INTO locks VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE
			SET holder = excluded.holder, acquired_at = CASE WHEN locks.holder = excluded.holder THEN locks.acquired_at ELSE excluded.acquired_at END,
			expires_at = excluded.expires_at`, name, holder, now, until)
		return err
	})
	if err != nil {
		return false, "", time.Time{}, fmt.Errorf("duckdb: lease %s: %w", name, err)
	}
	return by == holder, by, until.UTC(), nil
}

// Release implements warehouse.Warehouse.
func (w *DB) Release(ctx context.Context, name, holder string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.conn.ExecContext(context.WithoutCancel(ctx), `DELETE FROM locks WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("duckdb: release lease %s: %w", name, err)
	}
	return nil
}

// BeginRun implements warehouse.Warehouse.
func (w *DB) BeginRun(ctx context.Context, r *warehouse.Run) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.ExecContext(ctx, `INSERT INTO runs (run_id, command, started_at, status) VALUES (?, ?, ?, 'running')`,
		r.ID, r.Command, r.StartedAt.UTC())
	if err != nil {
		return fmt.Errorf("duckdb: record run start: %w", err)
	}
	return nil
}

// FinishRun implements warehouse.Warehouse.
func (w *DB) FinishRun(ctx context.Context, r *warehouse.Run) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, _ := json.Marshal(r.Records)
	pol, _ := json.Marshal(r.Policy)
	_, err := w.conn.ExecContext(context.WithoutCancel(ctx), `UPDATE runs SET finished_at=?, status=?, records=?, requests=?, policy=?, error=? WHERE run_id=?`,
		r.FinishedAt.UTC(), r.Status, string(rec), r.Requests, string(pol), nullIfEmpty(r.Error), r.ID)
	if err != nil {
		return fmt.Errorf("duckdb: record run end: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Query implements warehouse.Warehouse.
func (w *DB) Query(ctx context.Context, q string) (*warehouse.Result, error) {
	return warehouse.Gather(func(cols func([]string), row func([]any) error) error { return w.each(ctx, q, cols, row) })
}

// SemiJoin implements warehouse.SemiJoiner. Columns of table stay
// unqualified in the statement: a semi join returns only its left side's.
func (w *DB) SemiJoin(table, column, parents string) string {
	return table + ` SEMI JOIN (` + parents + `) AS parent ON ` + table + `.` + column + ` = parent.id`
}

// Each implements warehouse.Warehouse.
func (w *DB) Each(ctx context.Context, q string, fn func(row []any) error) error {
	return w.each(ctx, q, nil, fn)
}

// each runs q and streams its rows. On a read-write handle the statement
// runs in a transaction that is always rolled back, so nothing it does sticks.
func (w *DB) each(ctx context.Context, q string, columns func([]string), fn func(row []any) error) error {
	w.swap.RLock()
	defer w.swap.RUnlock()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer conn.Close()
	if !w.readOnly {
		if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if columns != nil {
		columns(cols)
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		for i := range vals {
			vals[i] = nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok && len(b) == 16 && types[i].DatabaseTypeName() == "UUID" {
				u := duck.UUID(b)
				v = u.String()
			}
			vals[i] = plainValue(v)
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// plainValue turns the driver's types into the plain values every caller
// can print and encode (fmt, CSV, JSON), as the Snowflake engine returns:
// one integer type whatever the column's width, DECIMAL as a number (not
// {Width, Scale, Value}), INTERVAL as an ISO 8601 duration, UUID as text,
// MAP with text keys, and the same inside LISTs and STRUCTs.
func plainValue(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case duck.Decimal:
		return x.Float64()
	case duck.Interval:
		return isoInterval(x)
	case duck.UUID:
		return x.String()
	case *duck.UUID:
		return x.String()
	case duck.Map:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(plainValue(k))] = plainValue(e)
		}
		return m
	case map[string]any:
		for k, e := range x {
			x[k] = plainValue(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = plainValue(e)
		}
		return x
	}
	return v
}

// isoInterval writes an INTERVAL as ISO 8601 ("P1M2DT3H4M5.5S", "PT0S").
func isoInterval(iv duck.Interval) string {
	var b strings.Builder
	b.WriteString("P")
	if y, m := iv.Months/12, iv.Months%12; y != 0 || m != 0 {
		if y != 0 {
			fmt.Fprintf(&b, "%dY", y)
		}
		if m != 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
	}
	if iv.Days != 0 {
		fmt.Fprintf(&b, "%dD", iv.Days)
	}
	if us := iv.Micros; us != 0 || b.Len() == 1 {
		b.WriteString("T")
		neg := us < 0
		if neg {
			us = -us
			b.WriteString("-")
		}
		h, us := us/3_600_000_000, us%3_600_000_000
		m, us := us/60_000_000, us%60_000_000
		if h != 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m != 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if us != 0 || (h == 0 && m == 0) {
			sec := strconv.FormatFloat(float64(us)/1e6, 'f', -1, 64)
			b.WriteString(sec + "S")
		}
	}
	return b.String()
}

// Exec runs a write statement; for maintenance commands and tests.
func (w *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.execer(ctx)(q, args...)
}

var _ warehouse.Warehouse = (*DB)(nil)
