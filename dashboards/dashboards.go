// Package dashboards ships the SQL views dashboards are built on. Each file
// is one CREATE OR REPLACE VIEW in the subset of SQL that DuckDB and
// Snowflake share (DATE_TRUNC, PERCENTILE_CONT ... WITHIN GROUP, QUALIFY,
// window functions; no engine-specific JSON paths). Engines create them on
// open; see README.md here for what each view answers.
package dashboards

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed *.sql
var files embed.FS

// View is one dashboard view.
type View struct {
	Name string // file name without .sql, also the view's name
	SQL  string
}

// Views returns every view, in file order.
func Views() []View {
	names, _ := fs.Glob(files, "*.sql")
	sort.Strings(names)
	out := make([]View, 0, len(names))
	for _, n := range names {
		b, _ := files.ReadFile(n)
		out = append(out, View{Name: n[:len(n)-len(".sql")], SQL: string(b)})
	}
	return out
}
