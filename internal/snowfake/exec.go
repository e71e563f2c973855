package snowfake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"
)

// Statement type ids the driver looks at (only the DML range matters to it).
const (
	stmtSelect = 0x1000
	stmtInsert = 0x3100
	stmtUpdate = 0x3200
	stmtDelete = 0x3300
	stmtMerge  = 0x3400
	stmtSCL    = 0x4000
	stmtTCL    = 0x5000
	stmtDDL    = 0x6000
)

var (
	reTZ       = regexp.MustCompile(`(?i)\bTIMESTAMP_(TZ|LTZ)\b`)
	reNTZ      = regexp.MustCompile(`(?i)\bTIMESTAMP_NTZ\b`)
	reNumInt   = regexp.MustCompile(`(?i)\bNUMBER\s*\(\s*\d+\s*(,\s*0\s*)?\)|\bNUMBER\b`)
	reNumDec   = regexp.MustCompile(`(?i)\bNUMBER\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)`)
	reFloat    = regexp.MustCompile(`(?i)\bFLOAT\b`)
	reVariant  = regexp.MustCompile(`(?i)\b(VARIANT|OBJECT)\b`)
	reNowParen = regexp.MustCompile(`(?i)\bCURRENT_TIMESTAMP\s*\(\s*\)`)
	reCurrent  = regexp.MustCompile(`(?i)\bCURRENT_(ROLE|WAREHOUSE|DATABASE|SCHEMA|USER|ACCOUNT)\s*\(\s*\)`)
	reInsert   = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+([\w."$]+)\s*\(([^)]*)\)\s*VALUES\s*\(([?,\s]+)\)\s*;?\s*$`)
	reShowGr   = regexp.MustCompile(`(?i)^\s*SHOW\s+GRANTS\s+TO\s+ROLE\s+"?([\w$]+)"?\s*;?\s*$`)
	reSetTZ    = regexp.MustCompile(`(?i)\bTIMEZONE\s*=\s*'([^']*)'`)
	reDMLTable = regexp.MustCompile(`(?is)^\s*(?:INSERT\s+INTO|MERGE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.$]+)"?`)
	reTempTbl  = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:LOCAL\s+)?(?:TEMP|TEMPORARY)\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([\w.$]+)"?`)
	reBindStg  = regexp.MustCompile(`(?i)TEMPORARY\s+STAGE\s+SYSTEM\$BIND`)
	rePK       = regexp.MustCompile(`(?is),\s*PRIMARY\s+KEY\s*\([^)]*\)`)
)

// rewrite turns the few Snowflake spellings DuckDB does not share into
// DuckDB's; everything else is passed through unchanged.
func (se *session) rewrite(q string) string {
	// Snowflake accepts PRIMARY KEY but does not enforce it; DuckDB would, and
	// hide a MERGE that fails to keep keys unique.
	q = rePK.ReplaceAllString(q, "")
	q = reTZ.ReplaceAllString(q, "TIMESTAMPTZ")
	q = reNTZ.ReplaceAllString(q, "TIMESTAMP")
	q = reNumDec.ReplaceAllStringFunc(q, func(m string) string {
		p := reNumDec.FindStringSubmatch(m)
		if p[2] == "0" {
			return m // handled below as an integer
		}
		return "DECIMAL(" + p[1] + "," + p[2] + ")"
	})
	q = reNumInt.ReplaceAllString(q, "BIGINT")
	q = reFloat.ReplaceAllString(q, "DOUBLE")
	q = reVariant.ReplaceAllString(q, "VARCHAR")
	q = reNowParen.ReplaceAllString(q, "CURRENT_TIMESTAMP")
	q = reCurrent.ReplaceAllStringFunc(q, func(m string) string {
		switch strings.ToUpper(reCurrent.FindStringSubmatch(m)[1]) {
		case "ROLE":
			return quoteLit(se.role)
		case "WAREHOUSE":
			return quoteLit(se.wh)
		case "DATABASE":
			return quoteLit(se.db)
		case "SCHEMA":
			return quoteLit(se.schema)
		case "USER":
			return quoteLit(se.user)
		}
		return "'SNOWFAKE'"
	})
	return q
}

func quoteLit(s string) string {
	if s == "" {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func firstWord(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	i := strings.IndexFunc(q, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == ';' || r == '(' })
	if i < 0 {
		i = len(q)
	}
	return strings.ToUpper(q[:i])
}

func (s *Server) run(ctx context.Context, se *session, req queryRequest) (map[string]any, error) {
	q := strings.TrimSpace(req.SQLText)
	word := firstWord(q)
	switch word {
	case "BEGIN", "START":
		if !se.inTx { // Snowflake ignores BEGIN inside a transaction
			if _, err := se.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
				return nil, mapErr(err)
			}
			se.inTx = true
		}
		return statusResult(stmtTCL, "Statement executed successfully."), nil
	case "COMMIT", "ROLLBACK":
		if se.inTx {
			se.inTx = false
			defer s.unlockTables(se)
			if _, err := se.conn.ExecContext(ctx, word); err != nil {
				return nil, mapErr(err)
			}
		}
		return statusResult(stmtTCL, "Statement executed successfully."), nil
	case "USE":
		return statusResult(stmtSCL, "Statement executed successfully."), nil
	case "ALTER":
		if strings.HasPrefix(strings.ToUpper(strings.Join(strings.Fields(q), " ")), "ALTER SESSION") {
			if m := reSetTZ.FindStringSubmatch(q); m != nil {
				if _, err := se.conn.ExecContext(ctx, "SET TimeZone = "+quoteLit(m[1])); err != nil {
					return nil, mapErr(err)
				}
			}
			return statusResult(stmtSCL, "Statement executed successfully."), nil
		}
	case "PUT":
		return s.put(q)
	case "SHOW":
		if m := reShowGr.FindStringSubmatch(q); m != nil {
			return s.showGrants(strings.ToUpper(m[1])), nil
		}
		return nil, &sfErr{"001003", "42000", "SQL compilation error: snowfake only implements SHOW GRANTS TO ROLE"}
	}
	ddl := word == "CREATE" || word == "ALTER" || word == "DROP"
	if ddl && se.inTx {
		// Snowflake: a DDL statement commits the open transaction first.
		se.inTx = false
		s.unlockTables(se)
		if _, err := se.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return nil, mapErr(err)
		}
	}
	if m := reTempTbl.FindStringSubmatch(q); m != nil {
		se.tempTables[strings.ToUpper(m[1])] = true
	}
	// Snowflake serializes DML on a table: a writer waits for the table's
	// lock, held to the end of its transaction (or statement, in autocommit).
	// DuckDB alone would let two sessions append the same key side by side.
	if m := reDMLTable.FindStringSubmatch(q); m != nil && !se.tempTables[strings.ToUpper(m[1])] {
		if err := s.lockTable(ctx, se, strings.ToUpper(m[1])); err != nil {
			return nil, &sfErr{"000625", "57014", "Statement reached its statement or warehouse timeout while waiting for a lock on " + m[1]}
		}
		if !se.inTx {
			defer s.unlockTables(se)
		}
	}
	if word == "CREATE" && reBindStg.MatchString(q) {
		return statusResult(stmtDDL, "Stage area SYSTEM$BIND successfully created."), nil
	}
	q = se.rewrite(q)
	if req.BindStage != "" {
		return s.stagedInsert(ctx, se, q, req.BindStage)
	}
	args, arrays, n, err := decodeBindings(req.Bindings)
	if err != nil {
		return nil, err
	}
	if arrays {
		if word != "INSERT" {
			return nil, &sfErr{"002047", "42000", "Array bind currently supported only for INSERT statements"}
		}
		return s.arrayInsert(ctx, se, q, args, n)
	}
	switch word {
	case "SELECT", "WITH", "DESCRIBE", "DESC", "EXPLAIN":
		rows, err := se.conn.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, mapErr(err)
		}
		defer rows.Close()
		return encodeRows(rows)
	}
	res, err := se.conn.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	affected, _ := res.RowsAffected()
	switch word {
	case "INSERT":
		return countResult(stmtInsert, []string{"number of rows inserted"}, affected), nil
	case "MERGE":
		return countResult(stmtMerge, []string{"number of rows inserted", "number of rows updated"}, affected, 0), nil
	case "DELETE":
		return countResult(stmtDelete, []string{"number of rows deleted"}, affected), nil
	case "UPDATE":
		return countResult(stmtUpdate, []string{"number of rows updated", "number of multi-joined rows updated"}, affected, 0), nil
	}
	return statusResult(stmtDDL, "Statement executed successfully."), nil
}

func statusResult(typ int, msg string) map[string]any {
	return map[string]any{
		"rowtype":         []map[string]any{{"name": "status", "type": "text", "nullable": true, "length": 16777216}},
		"rowset":          [][]*string{{&msg}},
		"total":           1,
		"returned":        1,
		"statementTypeId": typ,
	}
}

func countResult(typ int, names []string, counts ...int64) map[string]any {
	var rt []map[string]any
	var row []*string
	for i, n := range names {
		rt = append(rt, map[string]any{"name": n, "type": "fixed", "nullable": false, "precision": 19, "scale": 0})
		v := strconv.FormatInt(counts[i], 10)
		row = append(row, &v)
	}
	return map[string]any{"rowtype": rt, "rowset": [][]*string{row}, "total": 1, "returned": 1, "statementTypeId": typ}
}

func (s *Server) showGrants(role string) map[string]any {
	s.mu.Lock()
	gs := append([]Grant(nil), s.grants[role]...)
	s.mu.Unlock()
	cols := []string{"created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option", "granted_by"}
	var rt []map[string]any
	for _, c := range cols {
		rt = append(rt, map[string]any{"name": c, "type": "text", "nullable": true})
	}
	rows := [][]*string{}
	for _, g := range gs {
		vals := []string{"2026-01-01 00:00:00.000 +0000", g.Privilege, g.GrantedOn, g.Name, "ROLE", role, "false", "SYSADMIN"}
		row := make([]*string, len(vals))
		for i := range vals {
			row[i] = &vals[i]
		}
		rows = append(rows, row)
	}
	return map[string]any{"rowtype": rt, "rowset": rows, "total": len(rows), "returned": len(rows), "statementTypeId": stmtSelect}
}

// decodeBindings turns the request's bindings ("1".."n") into Go values.
// arrays reports array binds (every binding then holds n values).
func decodeBindings(b map[string]binding) (args []any, arrays bool, n int, err error) {
	for i := 1; i <= len(b); i++ {
		bv, found := b[strconv.Itoa(i)]
		if !found {
			return nil, false, 0, &sfErr{"002049", "42601", fmt.Sprintf("SQL compilation error: bind variable %d not set", i)}
		}
		if len(bv.Value) > 0 && bv.Value[0] == '[' {
			var vals []*string
			if err := json.Unmarshal(bv.Value, &vals); err != nil {
				return nil, false, 0, &sfErr{"002049", "42601", "malformed array binding: " + err.Error()}
			}
			col := make([]any, len(vals))
			for j, v := range vals {
				if col[j], err = bindValue(bv.Type, v); err != nil {
					return nil, false, 0, err
				}
			}
			if i > 1 && len(vals) != n {
				return nil, false, 0, &sfErr{"002049", "42601", "array bindings of different lengths"}
			}
			n = len(vals)
			arrays = true
			args = append(args, col)
			continue
		}
		var v *string
		if err := json.Unmarshal(bv.Value, &v); err != nil {
			return nil, false, 0, &sfErr{"002049", "42601", "malformed binding: " + err.Error()}
		}
		val, err := bindValue(bv.Type, v)
		if err != nil {
			return nil, false, 0, err
		}
		args = append(args, val)
	}
	return args, arrays, n, nil
}

// bindValue decodes one bound value as the driver encodes it.
func bindValue(typ string, v *string) (any, error) {
	if v == nil {
		return nil, nil
	}
	s := *v
	bad := func(err error) (any, error) {
		return nil, &sfErr{"100038", "22018", fmt.Sprintf("Numeric value '%s' is not recognized (%s binding): %v", s, typ, err)}
	}
	switch strings.ToUpper(typ) {
	case "FIXED":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad(err)
		}
		return n, nil
	case "REAL":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad(err)
		}
		return f, nil
	case "BOOLEAN":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "DATE": // milliseconds since the epoch
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad(err)
		}
		return time.UnixMilli(ms).UTC(), nil
	case "TIMESTAMP_TZ": // "<nanoseconds> <offset minutes + 1440>"
		parts := strings.Fields(s)
		ns, ok := new(big.Int).SetString(parts[0], 10)
		if !ok || len(parts) != 2 {
			return bad(fmt.Errorf("not <nanos> <offset>"))
		}
		off, err := strconv.Atoi(parts[1])
		if err != nil {
			return bad(err)
		}
		return time.Unix(0, ns.Int64()).In(time.FixedZone("", (off-1440)*60)), nil
	case "TIMESTAMP_NTZ", "TIMESTAMP_LTZ":
		ns, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return bad(fmt.Errorf("not nanoseconds"))
		}
		return time.Unix(0, ns.Int64()).UTC(), nil
	}
	return s, nil
}

// arrayInsert runs INSERT ... VALUES (?, ...) once per bound row, through
// DuckDB's Appender when the statement names every column of the table in
// order (as a staging insert does), else row by row.
func (s *Server) arrayInsert(ctx context.Context, se *session, q string, cols []any, n int) (map[string]any, error) {
	m := reInsert.FindStringSubmatch(q)
	if m == nil {
		return nil, &sfErr{"002047", "42000", "snowfake: array binds need INSERT INTO t (cols) VALUES (?, ...)"}
	}
	table := strings.Trim(m[1], `"`)
	var names []string
	for _, c := range strings.Split(m[2], ",") {
		names = append(names, strings.ToLower(strings.Trim(strings.TrimSpace(c), `"`)))
	}
	if len(names) != len(cols) {
		return nil, &sfErr{"002020", "21S01", fmt.Sprintf("SQL compilation error: Insert value list does not match column list expecting %d but got %d", len(names), len(cols))}
	}
	s.ArrayBinds.Add(1)
	s.BoundRows.Add(int64(n))
	tcols, ttypes, temp, err := describe(ctx, se.conn, table)
	if err != nil {
		return nil, err
	}
	typeOf := map[string]string{}
	for i, c := range tcols {
		typeOf[c] = ttypes[i]
	}
	for _, c := range names {
		if _, known := typeOf[c]; !known {
			return nil, &sfErr{"000904", "42000", fmt.Sprintf("SQL compilation error: error line 1 at position 0\ninvalid identifier '%s'", strings.ToUpper(c))}
		}
	}
	row := make([]any, len(cols))
	fill := func(i int) error {
		for j := range cols {
			v, err := coerce(cols[j].([]any)[i], typeOf[names[j]])
			if err != nil {
				return err
			}
			row[j] = v
		}
		return nil
	}
	if strings.EqualFold(strings.Join(names, ","), strings.Join(tcols, ",")) {
		catalog := ""
		if temp {
			catalog = "temp"
		}
		err := se.conn.Raw(func(dc any) error {
			app, err := duck.NewAppender(dc.(driver.Conn), catalog, "main", strings.ToLower(table))
			if err != nil {
				return err
			}
			vals := make([]driver.Value, len(cols))
			for i := 0; i < n; i++ {
				if err := fill(i); err != nil {
					app.Close()
					return err
				}
				for j := range row {
					vals[j] = row[j]
				}
				if err := app.AppendRow(vals...); err != nil {
					app.Close()
					return err
				}
			}
			return app.Close()
		})
		if err != nil {
			return nil, mapErr(err)
		}
	} else {
		stmt, err := se.conn.PrepareContext(ctx, q)
		if err != nil {
			return nil, mapErr(err)
		}
		defer stmt.Close()
		for i := 0; i < n; i++ {
			if err := fill(i); err != nil {
				return nil, err
			}
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				return nil, mapErr(err)
			}
		}
	}
	return countResult(stmtInsert, []string{"number of rows inserted"}, int64(n)), nil
}

// describe lists a table's columns (lower-case) and DuckDB types, and whether it is temporary.
func describe(ctx context.Context, conn *sql.Conn, table string) (cols, types []string, temp bool, err error) {
	rows, err := conn.QueryContext(ctx, `SELECT c.column_name, c.data_type, t.temporary
		FROM duckdb_columns() c JOIN duckdb_tables() t ON t.table_oid = c.table_oid
		WHERE lower(c.table_name) = lower(?) ORDER BY t.temporary DESC, c.column_index`, table)
	if err != nil {
		return nil, nil, false, mapErr(err)
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		var c, t string
		var tmp bool
		if err := rows.Scan(&c, &t, &tmp); err != nil {
			return nil, nil, false, err
		}
		if first {
			temp, first = tmp, false
		} else if tmp != temp {
			break // a temporary table hides a permanent one of the same name
		}
		cols = append(cols, strings.ToLower(c))
		types = append(types, t)
	}
	if len(cols) == 0 {
		return nil, nil, false, &sfErr{"002003", "42S02", fmt.Sprintf("SQL compilation error:\nTable '%s' does not exist or not authorized.", strings.ToUpper(table))}
	}
	return cols, types, temp, rows.Err()
}

// coerce converts a bound value to the column's type, as Snowflake casts binds.
func coerce(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	t := strings.ToUpper(typ)
	switch {
	case t == "VARCHAR":
		switch x := v.(type) {
		case string:
			return x, nil
		case time.Time:
			return x.Format(time.RFC3339Nano), nil
		}
		return fmt.Sprint(v), nil
	case t == "DOUBLE" || t == "FLOAT" || strings.HasPrefix(t, "DECIMAL"):
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, &sfErr{"100038", "22018", fmt.Sprintf("Numeric value '%s' is not recognized", x)}
			}
			return f, nil
		}
	case t == "BIGINT" || t == "INTEGER" || t == "SMALLINT" || t == "HUGEINT":
		switch x := v.(type) {
		case int64:
			if t == "INTEGER" {
				return int32(x), nil
			}
			return x, nil
		case float64:
			return int64(x), nil
		case string:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, &sfErr{"100038", "22018", fmt.Sprintf("Numeric value '%s' is not recognized", x)}
			}
			return n, nil
		}
	case t == "BOOLEAN":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, &sfErr{"100037", "22018", fmt.Sprintf("Boolean value '%s' is not recognized", x)}
			}
			return b, nil
		}
	case t == "DATE" || strings.HasPrefix(t, "TIMESTAMP"):
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			// The staged CSV spells times without a zone: the session's, UTC.
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
				if tm, err := time.Parse(layout, x); err == nil {
					return tm, nil
				}
			}
			return nil, &sfErr{"100035", "22007", fmt.Sprintf("Timestamp '%s' is not recognized", x)}
		}
	}
	return v, nil
}

// encodeRows turns a DuckDB result into Snowflake's JSON result set.
func encodeRows(rows *sql.Rows) (map[string]any, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, mapErr(err)
	}
	rt := make([]map[string]any, len(cts))
	kinds := make([]string, len(cts))
	for i, ct := range cts {
		dt := strings.ToUpper(ct.DatabaseTypeName())
		col := map[string]any{"name": strings.ToUpper(ct.Name()), "nullable": true, "database": "", "schema": "", "table": ""}
		switch {
		case dt == "BIGINT" || dt == "INTEGER" || dt == "SMALLINT" || dt == "TINYINT" || dt == "HUGEINT" ||
			dt == "UBIGINT" || dt == "UINTEGER" || dt == "USMALLINT" || dt == "UTINYINT":
			kinds[i] = "fixed"
			col["type"], col["precision"], col["scale"] = "fixed", 38, 0
		case strings.HasPrefix(dt, "DECIMAL"):
			kinds[i] = "fixed"
			p, s, _ := ct.DecimalSize()
			col["type"], col["precision"], col["scale"] = "fixed", p, s
		case dt == "DOUBLE" || dt == "FLOAT":
			kinds[i] = "real"
			col["type"] = "real"
		case dt == "BOOLEAN":
			kinds[i] = "boolean"
			col["type"] = "boolean"
		case dt == "DATE":
			kinds[i] = "date"
			col["type"] = "date"
		case dt == "TIMESTAMPTZ" || dt == "TIMESTAMP WITH TIME ZONE":
			kinds[i] = "timestamp_tz"
			col["type"], col["scale"] = "timestamp_tz", 9
		case strings.HasPrefix(dt, "TIMESTAMP"):
			kinds[i] = "timestamp_ntz"
			col["type"], col["scale"] = "timestamp_ntz", 9
		default:
			kinds[i] = "text"
			col["type"], col["length"] = "text", 16777216
		}
		rt[i] = col
	}
	out := [][]*string{}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, mapErr(err)
		}
		row := make([]*string, len(cts))
		for i, v := range vals {
			if v == nil {
				continue
			}
			s := encodeValue(kinds[i], v)
			row[i] = &s
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return map[string]any{"rowtype": rt, "rowset": out, "total": len(out), "returned": len(out), "statementTypeId": stmtSelect}, nil
}

func encodeValue(kind string, v any) string {
	switch kind {
	case "boolean":
		if b, _ := v.(bool); b {
			return "1"
		}
		return "0"
	case "date":
		t := v.(time.Time)
		return strconv.FormatInt(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()/86400, 10)
	case "timestamp_tz":
		t := v.(time.Time)
		_, off := t.Zone()
		return fmt.Sprintf("%d.%09d %d", t.Unix(), t.Nanosecond(), off/60+1440)
	case "timestamp_ntz":
		t := v.(time.Time)
		return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
	case "real":
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case float32:
			return strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
	case "fixed":
		if d, isDec := v.(duck.Decimal); isDec {
			return d.String()
		}
	case "text":
		switch x := v.(type) {
		case string:
			return x
		case []byte:
			return string(x)
		}
	}
	return fmt.Sprint(v)
}

// mapErr turns a DuckDB error into Snowflake's codes and SQL states.
func mapErr(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Catalog Error"):
		return &sfErr{"002003", "42S02", "SQL compilation error:\n" + msg}
	case strings.Contains(msg, "Parser Error"):
		return &sfErr{"001003", "42000", "SQL compilation error:\nsyntax error: " + msg}
	case strings.Contains(msg, "Binder Error"):
		return &sfErr{"000904", "42000", "SQL compilation error:\ninvalid identifier: " + msg}
	case strings.Contains(msg, "Conversion Error"), strings.Contains(msg, "Invalid Input Error"):
		return &sfErr{"100038", "22018", msg}
	case strings.Contains(msg, "Constraint Error"):
		return &sfErr{"100072", "22000", msg}
	}
	return &sfErr{"000603", "XX000", "SQL execution internal error: " + msg}
}

type tableLock chan struct{}

func (s *Server) lockTable(ctx context.Context, se *session, name string) error {
	if se.held[name] {
		return nil
	}
	s.mu.Lock()
	l := s.locks[name]
	if l == nil {
		l = make(tableLock, 1)
		s.locks[name] = l
	}
	s.mu.Unlock()
	select {
	case l <- struct{}{}:
		se.held[name] = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) unlockTables(se *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range se.held {
		<-s.locks[name]
		delete(se.held, name)
	}
}
