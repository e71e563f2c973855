package snowflake

import (
	"context"
	"fmt"
	"strings"
)

// GrantCheck is one privilege devpulse needs and whether the role has it.
type GrantCheck struct {
	Privilege, On, Name string // e.g. USAGE, WAREHOUSE, DEVPULSE_WH
	OK                  bool
	Fix                 string // the GRANT statement an administrator runs
}

func (g GrantCheck) String() string {
	return fmt.Sprintf("%s on %s %s", g.Privilege, strings.ToLower(g.On), g.Name)
}

// CheckGrants lists the privileges devpulse needs (USAGE on the warehouse,
// database and schema; CREATE TABLE to migrate; CREATE STAGE for the
// driver's staged array binds) and whether the session's role holds each,
// directly, through OWNERSHIP, or through a role granted to it.
func (w *DB) CheckGrants(ctx context.Context) (role string, checks []GrantCheck, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	role = strings.ToUpper(w.cfg.Role)
	if role == "" {
		if err := w.conn.QueryRowContext(ctx, `SELECT CURRENT_ROLE()`).Scan(&role); err != nil {
			return "", nil, fmt.Errorf("snowflake: current role: %w", err)
		}
	}
	type obj struct{ on, name string }
	held := map[obj]map[string]bool{}
	seen := map[string]bool{}
	queue := []string{role}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if seen[r] {
			continue
		}
		seen[r] = true
		rows, err := w.conn.QueryContext(ctx, `SHOW GRANTS TO ROLE `+ident(r))
		if err != nil {
			return role, nil, fmt.Errorf("snowflake: SHOW GRANTS TO ROLE %s: %w", r, err)
		}
		cols, _ := rows.Columns()
		idx := map[string]int{}
		for i, c := range cols {
			idx[strings.ToLower(c)] = i
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return role, nil, err
			}
			get := func(c string) string { return strings.ToUpper(strings.Trim(fmt.Sprint(vals[idx[c]]), `"`)) }
			priv, on, name := get("privilege"), get("granted_on"), normName(get("name"))
			if on == "ROLE" && priv == "USAGE" {
				queue = append(queue, name) // an inherited role
				continue
			}
			o := obj{on, name}
			if held[o] == nil {
				held[o] = map[string]bool{}
			}
			held[o][priv] = true
		}
		rows.Close()
	}
	schema := normName(strings.ToUpper(w.cfg.Database + "." + w.cfg.Schema))
	need := []GrantCheck{
		{Privilege: "USAGE", On: "WAREHOUSE", Name: strings.ToUpper(w.cfg.Warehouse)},
		{Privilege: "USAGE", On: "DATABASE", Name: strings.ToUpper(w.cfg.Database)},
		{Privilege: "USAGE", On: "SCHEMA", Name: schema},
		{Privilege: "CREATE TABLE", On: "SCHEMA", Name: schema},
		{Privilege: "CREATE VIEW", On: "SCHEMA", Name: schema},
		{Privilege: "CREATE STAGE", On: "SCHEMA", Name: schema},
	}
	for i := range need {
		g := &need[i]
		p := held[obj{g.On, g.Name}]
		g.OK = p[g.Privilege] || p["OWNERSHIP"]
		g.Fix = fmt.Sprintf("GRANT %s ON %s %s TO ROLE %s", g.Privilege, g.On, g.Name, role)
	}
	return role, need, nil
}

// normName drops the quotes SHOW GRANTS puts around parts of qualified names.
func normName(s string) string { return strings.ReplaceAll(s, `"`, "") }
