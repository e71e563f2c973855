package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/internal/snowfake"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

// The same sandbox collected into DuckDB and into Snowflake (the real driver
// against the fake server) gives the same rows, the same metrics and the same
// report: the engines are interchangeable behind warehouse.engine.
func TestSnowflakeEngine_SameRecordsMetricsAndReportAsDuckDB(t *testing.T) {
	size := sandbox.Size{Projects: 2, MRsPerProject: 60, PipelinesPerProject: 80, DeploymentsPerProject: 15, IssuesPerProject: 20}
	srv := sandbox.Start(sandbox.Generate(9, size, orgNow), sandbox.Options{Token: sandboxToken})
	t.Cleanup(srv.Close)
	fake, err := snowfake.New("acme-devpulse")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.AddUser("DEVPULSE", snowfake.User{Password: "sf-pw-DO-NOT-PRINT", Role: "DEVPULSE_LOADER"})
	fake.SetGrants("DEVPULSE_LOADER", []snowfake.Grant{
		{Privilege: "USAGE", GrantedOn: "WAREHOUSE", Name: "DEVPULSE_WH"}, {Privilege: "USAGE", GrantedOn: "DATABASE", Name: "ANALYTICS"},
		{Privilege: "OWNERSHIP", GrantedOn: "SCHEMA", Name: "ANALYTICS.DEVPULSE"}})
	t.Setenv("SF_PASSWORD", "sf-pw-DO-NOT-PRINT")

	sfCfg := engineParity(t, srv, `warehouse:
  engine: snowflake
  snowflake:
    account: acme-devpulse
    user: DEVPULSE
    role: DEVPULSE_LOADER
    warehouse: DEVPULSE_WH
    database: ANALYTICS
    schema: DEVPULSE
    password_env: SF_PASSWORD
    host: `+fake.Host+`
    port: `+strconv.Itoa(fake.Port)+`
    protocol: http
`, "sf-pw-DO-NOT-PRINT")
	if fake.ArrayBinds.Load() == 0 {
		t.Error("no array binds reached the fake")
	}

	code, out, _ := runCLI(t, "doctor", "--config", sfCfg)
	if code != 0 || !strings.Contains(out, "grant CREATE STAGE on schema ANALYTICS.DEVPULSE: ok") ||
		!strings.Contains(out, "warehouse snowflake ANALYTICS.DEVPULSE on acme-devpulse: ok") {
		t.Errorf("doctor (exit %d):\n%s", code, out)
	}
	fake.SetGrants("DEVPULSE_LOADER", []snowfake.Grant{{Privilege: "USAGE", GrantedOn: "WAREHOUSE", Name: "DEVPULSE_WH"}})
	code, out, _ = runCLI(t, "doctor", "--config", sfCfg)
	if code != 1 || !strings.Contains(out, "grant USAGE on database ANALYTICS: MISSING (an administrator runs: GRANT USAGE ON DATABASE ANALYTICS TO ROLE DEVPULSE_LOADER)") {
		t.Errorf("doctor with missing grants (exit %d):\n%s", code, out)
	}
}

// engineParity collects srv into DuckDB and into the Snowflake engine that
// warehouseYAML configures, runs metrics, report, purge --dry-run and a set of
// queries over records, metric values and the dashboard views on both, and
// fails where any output differs. It returns the Snowflake config's path.
func engineParity(t *testing.T, srv *sandbox.Server, warehouseYAML, secret string) string {
	t.Helper()
	duckCfg := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
	body, _ := os.ReadFile(duckCfg)
	sfBody := regexp.MustCompile(`(?m)^warehouse:\n  path: .*\n`).ReplaceAllString(string(body), warehouseYAML)
	sfCfg := filepath.Join(t.TempDir(), "snowflake.yaml")
	if err := os.WriteFile(sfCfg, []byte(sfBody), 0o600); err != nil {
		t.Fatal(err)
	}

	window := []string{"--since", orgNow.AddDate(0, 0, -120).Format("2006-01-02"), "--until", orgNow.Add(24 * time.Hour).Format("2006-01-02")}
	outputs := map[string][]string{}
	for _, cfg := range []string{duckCfg, sfCfg} {
		var all []string
		for _, args := range [][]string{
			{"collect", "--config", cfg, "--no-metrics"},
			{"metrics", "--config", cfg},
			{"report", "--config", cfg, "--format", "json"},
			{"purge", "--config", cfg, "--dry-run"},
		} {
			if args[0] == "metrics" || args[0] == "report" {
				args = append(args, window...)
			}
			code, out, errs := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errs)
			}
			if secret != "" && strings.Contains(out+errs, secret) {
				t.Fatalf("%s printed the Snowflake password", args[0])
			}
			if args[0] == "report" {
				out = regexp.MustCompile(`"generated_at": "[^"]*"`).ReplaceAllString(out, "")
				all = append(all, out)
			}
		}
		all = append(all, dump(t, cfg))
		for _, q := range []string{
			`SELECT metric, grain, stat, COUNT(*) AS n, ROUND(SUM(value), 3) AS total FROM metric_values GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
			`SELECT * FROM dora_overview ORDER BY scope_kind, scope, metric, stat`,
			`SELECT project_path, week_start, n, succeeded, duration_p50_s FROM ci_pipeline_duration_weekly ORDER BY 1, 2`,
			`SELECT id, coding_s, pickup_s, review_s, reviewers, unreviewed FROM merge_request_flow ORDER BY id`,
		} {
			code, out, errs := runCLI(t, "query", "--config", cfg, "--format", "csv", q)
			if code != 0 {
				t.Fatalf("query %s: %s", q, errs)
			}
			// computed_at differs between the two runs by construction.
			out = regexp.MustCompile(`(?m),\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).ReplaceAllString(out, "")
			all = append(all, out)
		}
		outputs[cfg] = all
	}
	d, s := outputs[duckCfg], outputs[sfCfg]
	for i := range d {
		if d[i] != s[i] {
			t.Errorf("output %d differs between engines:\nduckdb:\n%.2000s\nsnowflake:\n%.2000s", i, d[i], s[i])
		}
	}
	if !strings.Contains(d[0], "deployment_frequency") || !strings.Contains(d[1], "gitlab:") {
		t.Fatalf("nothing was compared:\n%.500s", d[0])
	}

	return sfCfg
}

// TestLive_SnowflakeCollectMetricsReport is the live smoke test: migrations,
// one collect of the sandbox, metrics and the report in a scratch schema of a
// real account, compared output by output with DuckDB. Skipped unless an
// account is configured (README: Snowflake).
func TestLive_SnowflakeCollectMetricsReport(t *testing.T) {
	c, ok, err := snowflake.LiveConfig()
	if !ok {
		t.Skip(snowflake.LiveSkip)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, drop, err := snowflake.ScratchSchema(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	// Credentials reach the CLI through the environment, never the file.
	t.Setenv("DEVPULSE_WAREHOUSE_SNOWFLAKE_PASSWORD", c.Password.Reveal())
	t.Setenv("DEVPULSE_WAREHOUSE_SNOWFLAKE_TOKEN", c.Token.Reveal())
	t.Setenv("DEVPULSE_WAREHOUSE_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", c.PrivateKeyPassphrase.Reveal())
	yaml := fmt.Sprintf("warehouse:\n  engine: snowflake\n  snowflake:\n    account: %s\n    user: %s\n    role: %q\n    warehouse: %s\n    database: %s\n    schema: %s\n    authenticator: %q\n    private_key_file: %q\n",
		c.Account, c.User, c.Role, c.Warehouse, c.Database, c.Schema, c.Authenticator, c.PrivateKeyFile)
	size := sandbox.Size{Projects: 2, MRsPerProject: 60, PipelinesPerProject: 80, DeploymentsPerProject: 15, IssuesPerProject: 20}
	srv := sandbox.Start(sandbox.Generate(9, size, orgNow), sandbox.Options{Token: sandboxToken})
	t.Cleanup(srv.Close)
	secret := c.Password.Reveal() + c.Token.Reveal()
	if secret == "" {
		secret = c.PrivateKeyPassphrase.Reveal()
	}
	engineParity(t, srv, yaml, secret)
}
