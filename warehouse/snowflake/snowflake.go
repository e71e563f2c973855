// Package snowflake lands devpulse's tables in Snowflake through gosnowflake.
// Each batch is staged in session temporary tables with array binds (never
// row by row) and merged on the natural key in one transaction together with
// the stream's cursor. Snowflake does not enforce primary keys: the MERGE,
// fed one row per key by QUALIFY, is what keeps rows unique.
package snowflake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/dashboards"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// maxBinds bounds the values bound by one INSERT (rows × columns): above
// Snowflake's CLIENT_STAGE_ARRAY_BINDING_THRESHOLD the driver uploads them to
// a temporary stage itself; the bound keeps each request well below the
// service's request size limit either way.
const maxBinds = 200_000

// DB is a Snowflake warehouse.
type DB struct {
	mu       sync.Mutex // one pinned connection (= one session: temp tables live there)
	db       *sql.DB
	conn     *sql.Conn
	cfg      config.Snowflake
	readOnly bool
	now      func() time.Time
	// beforeCommit, when set (tests), runs after the MERGEs and the cursor
	// update and before COMMIT: an error there must leave nothing behind.
	beforeCommit func() error
}

// Open connects, applies pending migrations and (re)creates the dashboard views.
func Open(ctx context.Context, cfg config.Snowflake) (*DB, error) {
	return open(ctx, cfg, false)
}

// OpenReadOnly connects for queries only: no migrations, no views, and
// Query refuses anything but reading statements.
func OpenReadOnly(ctx context.Context, cfg config.Snowflake) (*DB, error) {
	return open(ctx, cfg, true)
}

func open(ctx context.Context, cfg config.Snowflake, readOnly bool) (*DB, error) {
	dc, err := DriverConfig(cfg)
	if err != nil {
		return nil, err
	}
	connector := sf.NewConnector(sf.SnowflakeDriver{}, *dc)
	db := sql.OpenDB(connector)
	// One pinned session writes; queries run on sessions of their own, side
	// by side: a report reads its scopes at once, each a round trip away,
	// instead of one after another.
	db.SetMaxOpenConns(1 + warehouse.Readers)
	db.SetMaxIdleConns(1 + warehouse.Readers)
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("snowflake: connect to %s as %s: %w", cfg.Account, cfg.User, explain(err, cfg))
	}
	w := &DB{db: db, conn: conn, cfg: cfg, readOnly: readOnly, now: time.Now}
	if !readOnly {
		if err := w.migrate(ctx); err != nil {
			w.Close()
			return nil, err
		}
		for _, v := range dashboards.Views() {
			if _, err := conn.ExecContext(ctx, v.SQL); err != nil {
				w.Close()
				return nil, fmt.Errorf("snowflake: create dashboard view %s: %w", v.Name, explain(err, cfg))
			}
		}
	}
	return w, nil
}

// explain adds what to do to the driver's errors people meet at connect time.
// The driver's messages never contain the credential itself.
func explain(err error, cfg config.Snowflake) error {
	var se *sf.SnowflakeError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Number {
	case 390100:
		return fmt.Errorf("%w (check warehouse.snowflake.user and the password)", err)
	case 390144:
		return fmt.Errorf("%w (is the public key of warehouse.snowflake.private_key registered for %s? ALTER USER %s SET RSA_PUBLIC_KEY='...')", err, cfg.User, cfg.User)
	case 394400:
		return fmt.Errorf("%w (check warehouse.snowflake.token: expired or revoked?)", err)
	case 2003:
		return fmt.Errorf("%w (does %s.%s exist, and does role %s have USAGE on it? `devpulse doctor` lists the grants)", err, cfg.Database, cfg.Schema, firstNonEmpty(cfg.Role, "(default)"))
	}
	return err
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// Close ends the session.
func (w *DB) Close() error {
	if w.conn != nil {
		w.conn.Close()
	}
	return w.db.Close()
}

var stmtSplit = regexp.MustCompile(`;\s*(\n|$)`)

// statements splits a migration file into statements (one per request: the
// driver runs one statement per call unless multi-statement is enabled).
func statements(body string) []string {
	var out []string
	for _, s := range stmtSplit.Split(body, -1) {
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out
}

// migrate applies pending migrations. Snowflake commits each DDL statement
// on its own, so a migration cannot be atomic: its statements are written to
// be re-runnable (IF NOT EXISTS) and it is recorded only after all of them ran.
func (w *DB) migrate(ctx context.Context) error {
	if _, err := w.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version NUMBER(38,0) NOT NULL, name VARCHAR, applied_at TIMESTAMP_TZ)`); err != nil {
		return fmt.Errorf("snowflake: create schema_migrations: %w", explain(err, w.cfg))
	}
	applied := map[int]bool{}
	rows, err := w.conn.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("snowflake: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		n, _ := strconv.Atoi(v)
		applied[n] = true
	}
	rows.Close()
	files, _ := fs.Glob(migrationFS, "migrations/*.sql")
	sort.Strings(files)
	for _, f := range files {
		name := filepath.Base(f)
		num, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("snowflake: migration %s has no number", name)
		}
		if applied[num] {
			continue
		}
		body, _ := migrationFS.ReadFile(f)
		for _, st := range statements(string(body)) {
			if _, err := w.conn.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("snowflake: apply migration %s: %w", name, explain(err, w.cfg))
			}
		}
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) SELECT ?, ?, CURRENT_TIMESTAMP()`, num, name); err != nil {
			return fmt.Errorf("snowflake: record migration %s: %w", name, err)
		}
	}
	return nil
}

// ident quotes a column name upper-case: the same identifier Snowflake makes
// of it unquoted, and safe for reserved words (TRIGGER).
func ident(c string) string { return `"` + strings.ToUpper(c) + `"` }

func stagingName(t warehouse.Table) string { return "DEVPULSE_STG_" + strings.ToUpper(t.Name) }

// inTx runs fn between BEGIN and COMMIT on the pinned session, rolling back
// on any error (with a fresh context: the caller's may be why we stopped).
func (w *DB) inTx(ctx context.Context, fn func() error) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = w.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	_, err = w.conn.ExecContext(ctx, "COMMIT")
	return err
}

// stage creates the table's session-temporary staging table and fills it
// with array binds. DDL commits an open transaction in Snowflake, so staging
// happens before BEGIN; the temporary table is private to this session.
func (w *DB) stage(ctx context.Context, r warehouse.Rows) error {
	t := r.Table
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = ident(c)
	}
	if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMPORARY TABLE %s AS SELECT %s FROM %s WHERE 1 = 0`,
		stagingName(t), strings.Join(cols, ", "), t.Name)); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	insert := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, stagingName(t), strings.Join(cols, ", "),
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	per := max(1, maxBinds/len(cols))
	for start := 0; start < len(r.Rows); start += per {
		chunk := r.Rows[start:min(start+per, len(r.Rows))]
		args := make([]any, len(cols))
		for j, c := range t.Columns {
			col := make([]any, len(chunk))
			isTime := false
			for i, row := range chunk {
				col[i] = row[j]
				if t, ok := row[j].(time.Time); ok {
					// Staged binds are CSV without an offset, read in the
					// session's time zone (UTC): bind instants in UTC.
					col[i] = t.UTC()
					isTime = true
				}
			}
			switch {
			case warehouse.DateColumns[c]:
				// As text: the driver's staged CSV would spell a DATE bind as
				// epoch milliseconds; 'YYYY-MM-DD' casts the same inline and staged.
				for i, v := range col {
					if t, ok := v.(time.Time); ok {
						col[i] = t.Format("2006-01-02")
					}
				}
				args[j] = sf.Array(&col)
			case isTime:
				args[j] = sf.Array(&col, sf.TimestampTZType)
			default:
				args[j] = sf.Array(&col)
			}
		}
		if _, err := w.conn.ExecContext(ctx, insert, args...); err != nil {
			return fmt.Errorf("stage %d rows: %w", len(chunk), err)
		}
	}
	return nil
}

// merge upserts the staged rows into the table, one row per natural key
// (the newest by OrderColumn, should the batch hold duplicates).
func (w *DB) merge(ctx context.Context, t warehouse.Table) error {
	var keys, on, set, cols, vals []string
	isKey := map[string]bool{}
	for _, k := range t.Key {
		isKey[k] = true
		keys = append(keys, ident(k))
		on = append(on, fmt.Sprintf("t.%s = s.%s", ident(k), ident(k)))
	}
	for _, c := range t.Columns {
		cols = append(cols, ident(c))
		vals = append(vals, "s."+ident(c))
		if !isKey[c] {
			set = append(set, fmt.Sprintf("%s = s.%s", ident(c), ident(c)))
		}
	}
	q := fmt.Sprintf(`MERGE INTO %s t USING (SELECT * FROM %s QUALIFY ROW_NUMBER() OVER (PARTITION BY %s ORDER BY %s DESC) = 1) s ON %s
WHEN MATCHED THEN UPDATE SET %s
WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)`,
		t.Name, stagingName(t), strings.Join(keys, ", "), ident(t.OrderColumn()), strings.Join(on, " AND "),
		strings.Join(set, ", "), strings.Join(cols, ", "), strings.Join(vals, ", "))
	_, err := w.conn.ExecContext(ctx, q)
	return err
}

// upsert stages the tables' rows, then in one transaction replaces the
// children of every re-landed parent, merges every table and runs extra
// (the cursor update).
func (w *DB) upsert(ctx context.Context, tables []warehouse.Rows, extra func() error) error {
	staged := map[string]bool{}
	for _, r := range tables {
		if len(r.Rows) == 0 {
			continue
		}
		if err := w.stage(ctx, r); err != nil {
			return fmt.Errorf("%s: %w", r.Table.Name, err)
		}
		staged[r.Table.Name] = true
	}
	return w.inTx(ctx, func() error {
		for _, r := range tables {
			t := r.Table
			if t.Parent != "" && staged[t.Of] {
				// Every child of a re-landed parent goes, including ones the new batch no longer has.
				if _, err := w.conn.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s IN (SELECT %s FROM %s)`,
					t.Name, ident(t.Parent), ident("id"), stagingName(warehouse.Table{Name: t.Of}))); err != nil {
					return fmt.Errorf("replace children in %s: %w", t.Name, err)
				}
			}
			if staged[t.Name] {
				if err := w.merge(ctx, t); err != nil {
					return fmt.Errorf("merge %s: %w", t.Name, err)
				}
			}
		}
		if extra != nil {
			if err := extra(); err != nil {
				return err
			}
		}
		if w.beforeCommit != nil {
			return w.beforeCommit()
		}
		return nil
	})
}

// Cursor implements warehouse.Warehouse.
func (w *DB) Cursor(ctx context.Context, k warehouse.StreamKey) (time.Time, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Time
	err := w.conn.QueryRowContext(ctx, `SELECT cursor FROM collection_state WHERE source = ? AND instance = ? AND scope = ? AND stream = ?`,
		k.Source, k.Instance, k.Scope, k.Stream).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("snowflake: read cursor of %s/%s: %w", k.Scope, k.Stream, err)
	}
	return t.UTC(), true, nil
}

// AdvanceCursors implements warehouse.Warehouse: one MERGE per thousand keys.
func (w *DB) AdvanceCursors(ctx context.Context, keys []warehouse.StreamKey, cursor time.Time) error {
	if len(keys) == 0 || cursor.IsZero() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.inTx(ctx, func() error {
		for chunk := range slices.Chunk(keys, 1000) {
			rows := make([]string, len(chunk))
			args := make([]any, 0, 4*len(chunk)+4)
			for i, k := range chunk {
				rows[i] = "SELECT ? AS source, ? AS instance, ? AS scope, ? AS stream"
				args = append(args, k.Source, k.Instance, k.Scope, k.Stream)
			}
			args = append(args, sf.DataTypeTimestampTz, cursor.UTC(), sf.DataTypeTimestampTz, cursor.UTC())
			_, err := w.conn.ExecContext(ctx, `MERGE INTO collection_state t
USING (`+strings.Join(rows, " UNION ALL ")+`) s
ON t.source = s.source AND t.instance = s.instance AND t.scope = s.scope AND t.stream = s.stream
WHEN MATCHED THEN UPDATE SET cursor = GREATEST(t.cursor, CAST(? AS TIMESTAMP_TZ)), updated_at = CURRENT_TIMESTAMP()
WHEN NOT MATCHED THEN INSERT (source, instance, scope, stream, cursor, updated_at) VALUES (s.source, s.instance, s.scope, s.stream, CAST(? AS TIMESTAMP_TZ), CURRENT_TIMESTAMP())`, args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("snowflake: advance %d cursors: %w", len(keys), err)
	}
	return nil
}

// Land implements warehouse.Warehouse.
func (w *DB) Land(ctx context.Context, k warehouse.StreamKey, b *policy.Cleared, cursor time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	tables := warehouse.BatchRows(b.Batch(), w.now().UTC())
	err := w.upsert(ctx, tables, func() error {
		if cursor.IsZero() {
			return nil
		}
		// The cursor never moves back: GREATEST keeps a newer one.
		_, err := w.conn.ExecContext(ctx, `MERGE INTO collection_state t
USING (SELECT ? AS source, ? AS instance, ? AS scope, ? AS stream, CAST(? AS TIMESTAMP_TZ) AS cursor) s
ON t.source = s.source AND t.instance = s.instance AND t.scope = s.scope AND t.stream = s.stream
WHEN MATCHED THEN UPDATE SET cursor = GREATEST(t.cursor, s.cursor), updated_at = CURRENT_TIMESTAMP()
WHEN NOT MATCHED THEN INSERT (source, instance, scope, stream, cursor, updated_at) VALUES (s.source, s.instance, s.scope, s.stream, s.cursor, CURRENT_TIMESTAMP())`,
			k.Source, k.Instance, k.Scope, k.Stream, sf.DataTypeTimestampTz, cursor.UTC())
		if err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("snowflake: land %s/%s: %w", k.Scope, k.Stream, err)
	}
	return nil
}

// Landed implements warehouse.Warehouse.
func (w *DB) Landed(ctx context.Context, stream string, ids []string) (map[string]time.Time, error) {
	table, ok := warehouse.StreamTable[stream]
	if !ok {
		return nil, fmt.Errorf("snowflake: unknown stream %q", stream)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]time.Time, len(ids))
	err := warehouse.InChunks(ids, 1000, nil, func(args []any, in string) error {
		rows, err := w.conn.QueryContext(ctx, fmt.Sprintf(warehouse.LandedSQL(table), in), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var t sql.NullTime
			if err := rows.Scan(&id, &t); err != nil {
				return err
			}
			out[id] = t.Time.UTC()
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("snowflake: look up landed %s: %w", table, err)
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// Delete implements warehouse.Warehouse.
func (w *DB) Delete(ctx context.Context, table string, ids []string) (n int, err error) {
	if !warehouse.Deletable(table) {
		return 0, fmt.Errorf("snowflake: delete from %q: not a record table", table)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.inTx(ctx, func() (err error) {
		n, err = warehouse.DeleteRecords(w.execer(ctx), table, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("snowflake: delete from %s: %w", table, err)
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
		return 0, fmt.Errorf("snowflake: mark deleted in %q: not a record table", table)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.inTx(ctx, func() (err error) {
		n, err = warehouse.MarkRecordsDeleted(w.execer(ctx), table, ids, []any{sf.DataTypeTimestampTz, at.UTC()})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("snowflake: mark deleted in %s: %w", table, err)
	}
	return n, nil
}

// PutMetrics implements warehouse.Warehouse.
func (w *DB) PutMetrics(ctx context.Context, vals []warehouse.MetricValue) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := warehouse.MetricRows(vals, w.now().UTC())
	if err := w.upsert(ctx, []warehouse.Rows{rows}, nil); err != nil {
		return fmt.Errorf("snowflake: store metric values: %w", err)
	}
	return nil
}

// PutRegressions implements warehouse.Warehouse: the rows are staged, then
// the old ones deleted and the new merged in one transaction.
func (w *DB) PutRegressions(ctx context.Context, regs []warehouse.Regression) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := warehouse.RegressionRows(regs, w.now().UTC())
	if len(rows.Rows) > 0 {
		if err := w.stage(ctx, rows); err != nil { // DDL: before the transaction
			return fmt.Errorf("snowflake: store regressions: %w", err)
		}
	}
	err := w.inTx(ctx, func() error {
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM regressions`); err != nil {
			return err
		}
		if len(rows.Rows) == 0 {
			return nil
		}
		return w.merge(ctx, rows.Table)
	})
	if err != nil {
		return fmt.Errorf("snowflake: store regressions: %w", err)
	}
	return nil
}

// PutNotified implements warehouse.Warehouse.
func (w *DB) PutNotified(ctx context.Context, keys []string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.upsert(ctx, []warehouse.Rows{warehouse.NotificationRows(keys, w.now().UTC())}, nil); err != nil {
		return fmt.Errorf("snowflake: record notifications: %w", err)
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
		return 0, 0, fmt.Errorf("snowflake: forget derived data: %w", err)
	}
	return cursors, metricValues, nil
}

// PutTeams implements warehouse.Warehouse.
func (w *DB) PutTeams(ctx context.Context, members []warehouse.TeamMember) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.inTx(ctx, func() error { return warehouse.ReplaceTeams(w.execer(ctx), members) }); err != nil {
		return fmt.Errorf("snowflake: store teams: %w", err)
	}
	return nil
}

// Acquire implements warehouse.Warehouse with one autocommit MERGE (DML on a
// table is serialized by Snowflake, so two sessions cannot both take a free
// lease), then reads back who holds it.
func (w *DB) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, time.Time, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now().UTC()
	_, err := w.conn.ExecContext(ctx, `MERGE INTO locks t
USING (SELECT ? AS name, ? AS holder, CAST(? AS TIMESTAMP_TZ) AS now, CAST(? AS TIMESTAMP_TZ) AS expires_at) s ON t.name = s.name
WHEN MATCHED AND (t.holder = s.holder OR t.expires_at <= s.now) THEN UPDATE SET
  acquired_at = CASE WHEN t.holder = s.holder THEN t.acquired_at ELSE s.now END, holder = s.holder, expires_at = s.expires_at
WHEN NOT MATCHED THEN INSERT (name, holder, acquired_at, expires_at) VALUES (s.name, s.holder, s.now, s.expires_at)`,
		name, holder, sf.DataTypeTimestampTz, now, now.Add(ttl))
	if err != nil {
		return false, "", time.Time{}, fmt.Errorf("snowflake: lease %s: %w", name, err)
	}
	var by string
	var until time.Time
	if err := w.conn.QueryRowContext(ctx, `SELECT holder, expires_at FROM locks WHERE name = ? ORDER BY expires_at DESC LIMIT 1`, name).Scan(&by, &until); err != nil {
		return false, "", time.Time{}, fmt.Errorf("snowflake: read lease %s: %w", name, err)
	}
	return by == holder, by, until.UTC(), nil
}

// Release implements warehouse.Warehouse.
func (w *DB) Release(ctx context.Context, name, holder string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.conn.ExecContext(context.WithoutCancel(ctx), `DELETE FROM locks WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("snowflake: release lease %s: %w", name, err)
	}
	return nil
}

// BeginRun implements warehouse.Warehouse.
func (w *DB) BeginRun(ctx context.Context, r *warehouse.Run) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.ExecContext(ctx, `INSERT INTO runs (run_id, command, started_at, status) SELECT ?, ?, CAST(? AS TIMESTAMP_TZ), 'running'`,
		r.ID, r.Command, sf.DataTypeTimestampTz, r.StartedAt.UTC())
	if err != nil {
		return fmt.Errorf("snowflake: record run start: %w", err)
	}
	return nil
}

// FinishRun implements warehouse.Warehouse.
func (w *DB) FinishRun(ctx context.Context, r *warehouse.Run) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, _ := json.Marshal(r.Records)
	pol, _ := json.Marshal(r.Policy)
	var errText any
	if r.Error != "" {
		errText = r.Error
	}
	_, err := w.conn.ExecContext(context.WithoutCancel(ctx), `UPDATE runs SET finished_at = CAST(? AS TIMESTAMP_TZ), status = ?, records = ?, requests = ?, policy = ?, error = ? WHERE run_id = ?`,
		sf.DataTypeTimestampTz, r.FinishedAt.UTC(), r.Status, string(rec), r.Requests, string(pol), errText, r.ID)
	if err != nil {
		return fmt.Errorf("snowflake: record run end: %w", err)
	}
	return nil
}

var readVerbs = map[string]bool{"SELECT": true, "WITH": true, "SHOW": true, "DESCRIBE": true, "DESC": true, "EXPLAIN": true}

// Query implements warehouse.Warehouse. Snowflake has no read-only session,
// and DDL commits on its own, so a rolled-back transaction would not stop a
// CREATE: only reading statements are accepted at all. Values are returned
// as the DuckDB engine returns them (int64, float64, bool, time.Time, string)
// and column names Snowflake upper-cased are given back in lower case.
func (w *DB) Query(ctx context.Context, q string) (*warehouse.Result, error) {
	return warehouse.Gather(func(cols func([]string), row func([]any) error) error { return w.each(ctx, q, cols, row) })
}

// Each implements warehouse.Warehouse: rows are handed on as the driver
// reads its result chunks, so a large answer is never held whole.
func (w *DB) Each(ctx context.Context, q string, fn func(row []any) error) error {
	return w.each(ctx, q, nil, fn)
}

func (w *DB) each(ctx context.Context, q string, columns func([]string), fn func(row []any) error) error {
	verb := strings.ToUpper(strings.Fields(strings.TrimLeft(q, "( \t\n") + " x")[0])
	if !readVerbs[verb] {
		return fmt.Errorf("query: only reading statements (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) run here, not %s", verb)
	}
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("query: %w", explain(err, w.cfg))
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	if columns != nil {
		cols := make([]string, 0, len(cts))
		for _, ct := range cts {
			name := ct.Name()
			if name == strings.ToUpper(name) {
				name = strings.ToLower(name)
			}
			cols = append(cols, name)
		}
		columns(cols)
	}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
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
		for i, ct := range cts {
			if vals[i], err = normalize(vals[i], ct); err != nil {
				return fmt.Errorf("query: column %s: %w", ct.Name(), err)
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// normalize maps the driver's values (strings for numbers and booleans in
// JSON results; native types in Arrow results) to Go types.
func normalize(v any, ct *sql.ColumnType) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch strings.ToUpper(ct.DatabaseTypeName()) {
	case "FIXED":
		_, scale, _ := ct.DecimalSize()
		s := fmt.Sprint(v)
		if scale == 0 {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
		}
		return strconv.ParseFloat(s, 64)
	case "REAL":
		if f, ok := v.(float64); ok {
			return f, nil
		}
		return strconv.ParseFloat(fmt.Sprint(v), 64)
	case "BOOLEAN":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			return x == "1" || strings.EqualFold(x, "true"), nil
		}
	case "DATE", "TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ":
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
	}
	if vl, ok := v.(driver.Valuer); ok {
		return vl.Value()
	}
	return v, nil
}

// Exec runs a write statement; for maintenance commands and tests.
func (w *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.execer(ctx)(q, args...)
}

var _ warehouse.Warehouse = (*DB)(nil)
