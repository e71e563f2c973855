package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/collectors/redmine"
	. "github.com/devpulse/devpulse/config"
)

const valid = `
sources:
  gl:
    type: gitlab
    url: https://gitlab.example.com
    token_env: TEST_GL_TOKEN
    projects: [acme/api]
warehouse:
  path: w.duckdb
privacy:
  secret: c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0
`

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "devpulse.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad_ValidFileWithDefaults(t *testing.T) {
	p := write(t, valid)
	c, err := load(Options{Path: p, Env: env(map[string]string{"TEST_GL_TOKEN": "glpat-secret"})})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources["gl"]
	if s.Token.Reveal() != "glpat-secret" || s.Name != "gl" || s.Concurrency != 4 || time.Duration(s.Overlap) != 10*time.Minute ||
		time.Duration(s.Lookback) != 365*24*time.Hour || len(s.Streams) != len(gitlab.Streams) {
		t.Errorf("source = %+v", s)
	}
	if c.Warehouse.Engine != "duckdb" || c.Privacy.People != "pseudonymize" || c.Privacy.Titles != "drop" || c.Metrics.Timezone != "UTC" {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// flow.active_statuses is the key METRICS.md names for flow_efficiency.
func TestLoad_FlowActiveStatuses(t *testing.T) {
	c, err := load(Options{Path: write(t, valid+"\nflow:\n  active_statuses: [In Progress, Code Review]\n"), Env: env(map[string]string{"TEST_GL_TOKEN": "t"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Flow.ActiveStatuses, ","); got != "In Progress,Code Review" {
		t.Errorf("active statuses %q", got)
	}
	d, err := load(Options{Path: write(t, valid), Env: env(map[string]string{"TEST_GL_TOKEN": "t"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Flow.ActiveStatuses, ","); got != "In Progress" {
		t.Errorf("default active statuses %q, want In Progress", got)
	}
}

func TestLoad_EnvironmentOverridesFile(t *testing.T) {
	p := write(t, valid)
	t.Setenv("DEVPULSE_WAREHOUSE_PATH", "/tmp/other.duckdb")
	t.Setenv("DEVPULSE_SOURCES_GL_TOKEN", "from-env")
	t.Setenv("DEVPULSE_SOURCES_GL_CONCURRENCY", "9")
	c, err := load(Options{Path: p, Env: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse.Path != "/tmp/other.duckdb" {
		t.Errorf("warehouse.path = %q, want the environment's", c.Warehouse.Path)
	}
	if c.Sources["gl"].Token.Reveal() != "from-env" || c.Sources["gl"].Concurrency != 9 {
		t.Errorf("source from env = %+v", c.Sources["gl"])
	}
}

func TestLoad_FlagOverridesWin(t *testing.T) {
	p := write(t, valid)
	c, err := load(Options{Path: p, Env: env(map[string]string{"TEST_GL_TOKEN": "x"}), Overrides: map[string]any{"warehouse.path": "flag.duckdb", "log.format": "json"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse.Path != "flag.duckdb" || c.Log.Format != "json" {
		t.Errorf("flags not applied: %+v %+v", c.Warehouse, c.Log)
	}
}

// validJira is valid with a JIRA source too.
var validJira = strings.Replace(valid, "warehouse:\n", `  jr:
    type: jira
    url: https://jira.example.com
    token_env: TEST_GL_TOKEN
    projects: [APP]
    boards: [8]
    issue_types:
      Production Issue: incident
warehouse:
`, 1)

func TestLoad_ValidationErrorsNameKeyAndFile(t *testing.T) {
	tokenEnv := map[string]string{"TEST_GL_TOKEN": "tok"}
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		wantKey string
		wantMsg string
	}{
		{"unknown top-level key", valid + "\nwarehose:\n  path: x\n", tokenEnv, "warehose.path", "unknown key"},
		{"unknown source key", strings.Replace(valid, "token_env:", "tokn_env:", 1), tokenEnv, "sources.gl.tokn_env", "unknown key"},
		{"missing token", valid, nil, "sources.gl.token", "environment variable TEST_GL_TOKEN is empty"},
		{"missing token without token_env", strings.Replace(valid, "    token_env: TEST_GL_TOKEN\n", "", 1), nil, "sources.gl.token", "DEVPULSE_SOURCES_GL_TOKEN"},
		{"malformed url", strings.Replace(valid, "https://gitlab.example.com", "gitlab.example.com", 1), tokenEnv, "sources.gl.url", "malformed URL"},
		{"url with credentials", strings.Replace(valid, "https://gitlab.example.com", "https://u:p@gitlab.example.com", 1), tokenEnv, "sources.gl.url", "must not contain credentials"},
		{"bad duration", strings.Replace(valid, "    projects:", "    overlap: 10 minutes\n    projects:", 1), tokenEnv, "", "invalid duration \"10 minutes\""},
		{"duration too large", strings.Replace(valid, "    projects:", "    lookback: 200000d\n    projects:", 1), tokenEnv, "", "too large"},
		{"duration without unit", strings.Replace(valid, "    projects:", "    timeout: 30\n    projects:", 1), tokenEnv, "", "needs a unit"},
		{"unknown type", strings.Replace(valid, "type: gitlab", "type: gitlub", 1), tokenEnv, "sources.gl.type", "unknown source type"},
		{"empty active statuses", valid + "\nflow:\n  active_statuses: []\n", tokenEnv, "flow.active_statuses", "at least one status"},
		{"no scope", strings.Replace(valid, "    projects: [acme/api]\n", "", 1), tokenEnv, "sources.gl.projects", "no scope"},
		{"unknown stream", strings.Replace(valid, "    projects:", "    streams: [merge_requests, commits]\n    projects:", 1), tokenEnv, "sources.gl.streams", "unknown stream \"commits\""},
		{"missing ca_file", strings.Replace(valid, "    projects:", "    ca_file: /nonexistent/ca.pem\n    projects:", 1), tokenEnv, "sources.gl.ca_file", "cannot read"},
		{"bad engine", strings.Replace(valid, "warehouse:\n", "warehouse:\n  engine: postgres\n", 1), tokenEnv, "warehouse.engine", "unknown engine \"postgres\""},
		{"keep people needs allow", strings.Replace(valid, "privacy:\n", "privacy:\n  people: keep\n", 1), tokenEnv, "privacy.people", "allow_personal_data"},
		{"bad titles", strings.Replace(valid, "privacy:\n", "privacy:\n  titles: show\n", 1), tokenEnv, "privacy.titles", "unknown value"},
		{"bad timezone", valid + "metrics:\n  timezone: Mars/Olympus\n", tokenEnv, "metrics.timezone", "unknown time zone"},
		{"unknown benchmark industry", valid + "metrics:\n  benchmark_industry: fintech\n", tokenEnv, "metrics.benchmark_industry", "no DORA 2025 reference \"fintech\" (industries and organisation sizes: all, consumer,"},
		{"ingest on a public address in clear", valid + "schedule:\n  listen: 0.0.0.0:9090\ningest:\n  tokens_env: TEST_INGEST\n", map[string]string{"TEST_GL_TOKEN": "glpat-x", "TEST_INGEST": "t1,t2"}, "schedule.listen", "not a loopback address and ingest is on"},
		{"ingest tokens variable empty", valid + "ingest:\n  tokens_env: TEST_INGEST_UNSET\n", tokenEnv, "ingest.tokens_env", "$TEST_INGEST_UNSET is empty"},
		{"bad deployments.jobs", valid + "deployments:\n  jobs: \"deploy(\"\n", tokenEnv, "deployments.jobs", "not a regular expression"},
		{"team with unknown source", valid + "teams:\n  payments: [jira:APP]\n", tokenEnv, "teams.payments", "unknown source \"jira\""},
		{"bad goal", valid + "goals:\n  - goal: \"pickup_time p50 ~ 4h\"\n", tokenEnv, "goals[0].goal", "operator \"~\""},
		{"goal target not a number", valid + "goals:\n  - goal: \"mr_size p50 < big\"\n", tokenEnv, "goals[0].goal", "want a number"},
		{"goal of an unknown team", valid + "teams:\n  payments: [gl:acme/api]\ngoals:\n  - {team: mobile, goal: \"change_failure_rate < 15%\"}\n", tokenEnv, "goals[0].team", "unknown team \"mobile\""},
		{"bad alert series", valid + "alerts:\n  series: [\"pipeline_duration p99\"]\n", tokenEnv, "alerts.series[0]", "want a metric"},
		{"bad p value", valid + "alerts:\n  p_value: 5\n", tokenEnv, "alerts.p_value", "between 0 and 1"},
		{"bad skip week", valid + "alerts:\n  skip_weeks: [60]\n", tokenEnv, "alerts.skip_weeks[0]", "ISO week"},
		{"webhook format", valid + "notify:\n  webhooks:\n    - {name: chat, format: discord, url_env: TEST_HOOK}\n", map[string]string{"TEST_GL_TOKEN": "t", "TEST_HOOK": "https://h.example.com/x"}, "notify.webhooks[0].format", "slack, teams or generic"},
		{"webhook url variable empty", valid + "notify:\n  webhooks:\n    - {name: chat, format: slack, url_env: TEST_HOOK_UNSET}\n", tokenEnv, "notify.webhooks[0].url_env", "$TEST_HOOK_UNSET is empty"},
		{"webhook url not http", valid + "notify:\n  webhooks:\n    - {name: chat, format: slack, url_env: TEST_HOOK}\n", map[string]string{"TEST_GL_TOKEN": "t", "TEST_HOOK": "ftp://h/x"}, "notify.webhooks[0].url", "not an http(s) URL"},
		{"bad digest cron", valid + "notify:\n  digest: \"mondays\"\n", tokenEnv, "notify.digest", "Mondays at 09:00"},
		{"job named like the digest", valid + "schedule:\n  jobs:\n    - {name: notify.digest, cron: \"@hourly\"}\n", tokenEnv, "schedule.jobs[0].name", "weekly digest"},
		{"yaml syntax", "sources: [", tokenEnv, "", "cannot parse"},
		{"bad cron", valid + "schedule:\n  jobs:\n    - {name: j, cron: \"*/15 * *\"}\n", tokenEnv, "schedule.jobs[0].cron", "@every 1h"},
		{"job with unknown source", valid + "schedule:\n  jobs:\n    - {name: j, cron: \"@hourly\", sources: [jira]}\n", tokenEnv, "schedule.jobs[0].sources", "unknown source \"jira\""},
		{"job with unknown stream", valid + "schedule:\n  jobs:\n    - {name: j, cron: \"@hourly\", streams: [sprints]}\n", tokenEnv, "schedule.jobs[0].streams", "no selected source has a stream \"sprints\""},
		{"duplicate job", valid + "schedule:\n  jobs:\n    - {name: j, cron: \"@hourly\"}\n    - {name: j, cron: \"@daily\"}\n", tokenEnv, "schedule.jobs[1].name", "used twice"},
		{"bad on_busy", valid + "schedule:\n  on_busy: queue\n", tokenEnv, "schedule.on_busy", "wait or skip"},
		{"snowflake without account", strings.Replace(valid, "warehouse:\n", "warehouse:\n  engine: snowflake\n", 1), tokenEnv, "warehouse.snowflake.account", "missing"},
		{"snowflake host as account", strings.Replace(valid, "warehouse:\n", "warehouse:\n  engine: snowflake\n  snowflake: {account: xy12345.snowflakecomputing.com, user: U, warehouse: W, database: D, password_env: NOPE}\n", 1), tokenEnv, "warehouse.snowflake.account", "use \"xy12345\""},
		{"snowflake password env empty", strings.Replace(valid, "warehouse:\n", "warehouse:\n  engine: snowflake\n  snowflake: {account: acme, user: U, warehouse: W, database: D, password_env: NOPE}\n", 1), tokenEnv, "warehouse.snowflake.password", "environment variable NOPE is empty"},
		{"issue types on gitlab", strings.Replace(valid, "    projects:", "    issue_types:\n      Defect: bug\n    projects:", 1), tokenEnv, "sources.gl.issue_types.defect", "not a setting of a gitlab source (jira and redmine sources take it)"},
		{"bad issue type class", strings.Replace(validJira, "Production Issue: incident", "Defect: bugg", 1), tokenEnv, "sources.jr.issue_types.defect", "unknown class"}, // viper lower-cases map keys; ClassOf matches case-insensitively
		{"gitlab key on jira", strings.Replace(validJira, "    boards:", "    groups: [acme]\n    boards:", 1), tokenEnv, "sources.jr.groups", "not a setting of a jira source (gitlab sources take it)"},
		{"redmine key on jira", strings.Replace(validJira, "    boards:", "    include_subprojects: true\n    boards:", 1), tokenEnv, "sources.jr.include_subprojects", "not a setting of a jira source (redmine sources take it)"},
		{"jira board not a number", strings.Replace(validJira, "boards: [8]", "boards: [eight]", 1), tokenEnv, "sources.jr.boards", "must be a whole number"},
		{"jira cloud without email", strings.Replace(validJira, "    boards:", "    deployment: cloud\n    boards:", 1), tokenEnv, "sources.jr.email", "email + API token"},
		{"jira without scope", strings.Replace(validJira, "    projects: [APP]\n", "", 1), tokenEnv, "sources.jr.projects", "no scope"},
		{"jira unknown stream", strings.Replace(validJira, "    boards:", "    streams: [issues, pipelines]\n    boards:", 1), tokenEnv, "sources.jr.streams", "unknown stream \"pipelines\" (one of: issues, sprints)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, tc.yaml)
			_, err := load(Options{Path: p, Env: env(tc.env)})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, p+":") {
				t.Errorf("error %q does not start with the file %s", msg, p)
			}
			if tc.wantKey != "" && !strings.Contains(msg, tc.wantKey) {
				t.Errorf("error %q does not name key %q", msg, tc.wantKey)
			}
			if tc.wantMsg != "" && !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("error %q does not say %q", msg, tc.wantMsg)
			}
		})
	}
}

func TestLoad_ExplicitMissingFile(t *testing.T) {
	_, err := load(Options{Path: "/nonexistent/devpulse.yaml"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/devpulse.yaml: cannot read") {
		t.Errorf("err = %v", err)
	}
}

func TestSecret_NeverPrints(t *testing.T) {
	p := write(t, valid)
	c, err := load(Options{Path: p, Env: env(map[string]string{"TEST_GL_TOKEN": "glpat-TOPSECRET"})})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(c)
	for _, out := range []string{fmt.Sprint(c.Sources["gl"]), fmt.Sprintf("%+v", *c.Sources["gl"]), fmt.Sprintf("%#v", c.Sources["gl"].Token), string(js), fmt.Sprint(c.Privacy)} {
		if strings.Contains(out, "TOPSECRET") || strings.Contains(out, "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if !strings.Contains(string(js), `"token":"***"`) {
		t.Errorf("masked token missing from %s", js)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"10m": 10 * time.Minute, "90d": 90 * 24 * time.Hour, "1.5h": 90 * time.Minute, "0.5d": 12 * time.Hour} {
		got, err := ParseDuration(in)
		if err != nil || time.Duration(got) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ten", "5 d", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

// Weak secrets are refused: with one, a person who knows their own token
// recovers the secret offline (the audit: `aaaaaaaaaaaaaaaa` in 171 guesses).
func TestSecretWeakness(t *testing.T) {
	for _, c := range []struct {
		secret string
		weak   string // substring of the reason; "" = accepted
	}{
		{"aaaaaaaaaaaaaaaa", "repeats a 1-character pattern"},
		{"abababababababababababababababab", "repeats a 2-character pattern"},
		{"0123456789abcdef0123456789abcdef", "repeats a 16-character pattern"},
		{"abcdefghijklmnopqrstuvwxyz012345", "sequence"},
		{"my-devpulse-secret-2026-01-01!!", "common word"},
		{"Password123456789012345678901234", "common word"},
		{"xq7", "too short"},
		{"3f9a1c7e5b2d8f04", "about 64 bits"},
		{"c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", ""},
		{"4b1f0e9d27c85a3e6f90d1b2c47a58e3", ""},         // 32 hex = 128 bits
		{"Qm7vT2xK9pL4wZ8rN3cF6yH1", ""},                 // 24 mixed
		{"wN5f/Yk2+Qe8RrTz0aLm9PcVx3Bd7Hs1JgUo4Ei6", ""}, // base64 of 30 bytes
	} {
		got := SecretWeakness(c.secret)
		if (c.weak == "") != (got == "") || (c.weak != "" && !strings.Contains(got, c.weak)) {
			t.Errorf("%q: %q, want %q", c.secret, got, c.weak)
		}
		if got != "" && (strings.Contains(got, c.secret) || !strings.Contains(got, "openssl rand -hex 32")) {
			t.Errorf("%q: the reason must say how to make one and never print the secret: %q", c.secret, got)
		}
	}
	p := write(t, strings.Replace(valid, "secret: c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", "secret: aaaaaaaaaaaaaaaa", 1))
	_, err := load(Options{Path: p, Env: env(map[string]string{"TEST_GL_TOKEN": "t"})})
	if err == nil || !strings.Contains(err.Error(), "privacy.secret: repeats") {
		t.Errorf("a weak secret loaded: %v", err)
	}
}

// Zero values are the user's, not a cue for defaults; every error at once.
func TestLoad_ZeroValuesAndAllErrorsAtOnce(t *testing.T) {
	tok := env(map[string]string{"TEST_GL_TOKEN": "t"})
	c, err := load(Options{Path: write(t, strings.Replace(valid, "    projects:", "    max_retries: 0\n    overlap: 0s\n    lookback: 2w\n    projects:", 1)), Env: tok})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Sources["gl"]; s.MaxRetries != 0 || s.Overlap != 0 || time.Duration(s.Lookback) != 14*24*time.Hour {
		t.Errorf("max_retries %d overlap %v lookback %v: explicit zeros must stay", s.MaxRetries, s.Overlap, s.Lookback)
	}
	body := strings.Replace(valid, "    projects:", "    timeout: 0s\n    rate_limit: 0\n    concurrency: 0\n    projects:", 1)
	body = strings.Replace(body, "https://gitlab.example.com", "http://127.0.0.1:99999", 1)
	body += "\nmetrics:\n  timezone: Mars/Olympus\n"
	_, err = load(Options{Path: write(t, body), Env: tok})
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{"sources.gl.timeout: must be positive", "sources.gl.rate_limit: must be > 0", "sources.gl.concurrency: must be 1..64",
		`sources.gl.url: port "99999"`, "metrics.timezone: unknown time zone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("%d lines, want the 5 problems, one per line:\n%v", n, err)
	}
}

// A bad value from the environment names the variable, not the file, in
// the documented spelling; a misspelled DEVPULSE_ variable is reported.
func TestLoad_EnvironmentErrorsAndUnknownVariables(t *testing.T) {
	tok := env(map[string]string{"TEST_GL_TOKEN": "t"})
	t.Setenv("DEVPULSE_SOURCES_GL_CONCURRENCY", "abc")
	_, err := load(Options{Path: write(t, valid), Env: tok})
	if err == nil || !strings.HasPrefix(err.Error(), "environment: DEVPULSE_SOURCES_GL_CONCURRENCY: must be a whole number (sources.gl.concurrency)") ||
		strings.Contains(err.Error(), "strconv") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("DEVPULSE_SOURCES_GL_CONCURRENCY", "")
	t.Setenv("DEVPULSE_WAREHOUSE_PAHT", "x.duckdb")
	c, err := load(Options{Path: write(t, valid), Env: tok})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "DEVPULSE_WAREHOUSE_PAHT is not a devpulse setting") ||
		!strings.Contains(c.Warnings[0], "did you mean DEVPULSE_WAREHOUSE_PATH?") {
		t.Errorf("warnings = %v", c.Warnings)
	}
}

// Each source type decodes its own keys over its defaults: a list it sets
// replaces the default (not merged into it), one it leaves out keeps it,
// the environment reaches a type's keys, and `config show` prints a source
// with its own type's keys only.
func TestLoad_SettingsOfEachType(t *testing.T) {
	body := strings.Replace(validJira, "warehouse:\n", `  rm:
    type: redmine
    url: https://redmine.example.com
    token_env: TEST_GL_TOKEN
    projects: [ops]
    in_progress_statuses: [Doing, Review]
  rm2:
    type: redmine
    url: https://redmine.example.com
    token_env: TEST_GL_TOKEN
    projects: [ops]
warehouse:
`, 1)
	t.Setenv("DEVPULSE_SOURCES_JR_BOARDS", "3,4")
	c, err := load(Options{Path: write(t, body), Env: env(map[string]string{"TEST_GL_TOKEN": "t"})})
	if err != nil {
		t.Fatal(err)
	}
	rm := c.Sources["rm"].Settings.(*redmine.Settings)
	if !slices.Equal(rm.InProgressStatuses, []string{"Doing", "Review"}) || rm.SprintStartField != "Sprint Start" {
		t.Errorf("redmine settings over defaults: %+v", rm)
	}
	if rm2 := c.Sources["rm2"].Settings.(*redmine.Settings); !slices.Equal(rm2.InProgressStatuses, []string{"In Progress"}) {
		t.Errorf("redmine defaults: %+v", rm2)
	}
	jr := c.Sources["jr"].Settings.(*jira.Settings)
	if !slices.Equal(jr.Boards, []int{3, 4}) || jr.IssueTypes["production issue"] != "incident" {
		t.Errorf("jira settings (boards from DEVPULSE_SOURCES_JR_BOARDS): %+v", jr)
	}
	if gl := c.Sources["gl"].Settings.(*gitlab.Settings); !gl.MRSize || len(c.Sources["gl"].Streams) != len(gitlab.Streams) {
		t.Errorf("gitlab defaults: %+v", gl)
	}
	js, err := json.Marshal(c.Sources)
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]map[string]any
	if err := json.Unmarshal(js, &shown); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][2]string{"gl": {"mr_size", "boards"}, "jr": {"boards", "mr_size"}, "rm": {"sprint_start_field", "groups"}} {
		if _, ok := shown[name][want[0]]; !ok {
			t.Errorf("config show of %s lacks its key %s: %s", name, want[0], js)
		}
		if _, ok := shown[name][want[1]]; ok {
			t.Errorf("config show of %s prints another type's key %s", name, want[1])
		}
		if _, ok := shown[name]["url"]; !ok {
			t.Errorf("config show of %s lacks the shared keys", name)
		}
	}
}

// Every unknown key is named in one run, not one per run.
func TestLoad_EveryUnknownKeyAtOnce(t *testing.T) {
	body := strings.Replace(validJira, "    boards:", "    groups: [x]\n    mr_siz: true\n    boards:", 1) + "\nwarehose:\n  path: x\n"
	_, err := load(Options{Path: write(t, body), Env: env(map[string]string{"TEST_GL_TOKEN": "t"})})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"sources.jr.groups", "sources.jr.mr_siz", "warehose.path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestLoad_IngestTokensFromTheEnvironment(t *testing.T) {
	p := write(t, valid+"schedule:\n  listen: 127.0.0.1:9090\ningest:\n  tokens_env: TEST_INGEST\n")
	c, err := load(Options{Path: p, Env: env(map[string]string{"TEST_GL_TOKEN": "glpat-x", "TEST_INGEST": " t1 , t2,"})})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Ingest.Tokens) != 2 || c.Ingest.Tokens[0].Reveal() != "t1" || c.Ingest.Tokens[1].Reveal() != "t2" || c.Ingest.MaxBodyBytes != 1<<20 {
		t.Errorf("ingest = %+v", c.Ingest)
	}
	js, _ := json.Marshal(c.Ingest)
	if strings.Contains(string(js), "t1") {
		t.Errorf("config show would print a token: %s", js)
	}
}
