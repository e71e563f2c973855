package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real Redmine (scripts/redmine-up.sh, started by .ci/run) is seeded through
// its REST API; devpulse collects it and the transitions, cycle times and
// say/do are checked against what the test itself created.
type redmineAPI struct {
	t        *testing.T
	url, key string
}

func (r redmineAPI) do(method, path string, body any, out any) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.url+path, rd)
	req.Header.Set("X-Redmine-API-Key", r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		r.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

func TestRedmine_RealServer(t *testing.T) {
	url, key, field := os.Getenv("REDMINE_URL"), os.Getenv("REDMINE_API_KEY"), os.Getenv("REDMINE_STORY_POINTS_FIELD")
	if url == "" || key == "" || field == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the Redmine integration tests: REDMINE_URL, REDMINE_API_KEY and REDMINE_STORY_POINTS_FIELD are unset (.ci/run sets them)")
		}
		t.Skip("no Redmine: run scripts/redmine-up.sh and scripts/redmine-fields.sh and export REDMINE_URL, REDMINE_API_KEY, REDMINE_STORY_POINTS_FIELD (bash .ci/run does)")
	}
	api := redmineAPI{t: t, url: url, key: key}
	ident := fmt.Sprintf("dp-%d", time.Now().UnixNano())

	var statuses struct {
		IssueStatuses []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"issue_statuses"`
	}
	api.do("GET", "/issue_statuses.json", nil, &statuses)
	sid := map[string]int{}
	for _, s := range statuses.IssueStatuses {
		sid[s.Name] = s.ID
	}
	var proj struct {
		Project struct{ ID int } `json:"project"`
	}
	api.do("POST", "/projects.json", map[string]any{"project": map[string]any{"name": "devpulse " + ident, "identifier": ident,
		"tracker_ids": []int{1, 2}, "enabled_module_names": []string{"issue_tracking"}}}, &proj)
	// A version due in 15 days and no start field: by METRICS.md its sprint starts 14 days before, tomorrow.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var ver struct {
		Version struct{ ID int } `json:"version"`
	}
	api.do("POST", fmt.Sprintf("/projects/%d/versions.json", proj.Project.ID), map[string]any{"version": map[string]any{
		"name": "Sprint 1", "due_date": today.AddDate(0, 0, 15).Format("2006-01-02")}}, &ver)

	create := func(subject string, points string) int {
		var out struct {
			Issue struct{ ID int } `json:"issue"`
		}
		api.do("POST", "/issues.json", map[string]any{"issue": map[string]any{"project_id": proj.Project.ID, "tracker_id": 1,
			"subject": subject, "fixed_version_id": ver.Version.ID, "custom_fields": []map[string]any{{"id": field, "value": points}}}}, &out)
		return out.Issue.ID
	}
	move := func(id int, status string) (time.Time, time.Time) {
		before := time.Now().UTC()
		api.do("PUT", fmt.Sprintf("/issues/%d.json", id), map[string]any{"issue": map[string]any{"status_id": sid[status]}}, nil)
		return before, time.Now().UTC()
	}
	a, b, c := create("A", "3"), create("B", "5"), create("C", "8")
	aIP0, aIP1 := move(a, "In Progress")
	bIP0, bIP1 := move(b, "In Progress")
	time.Sleep(1100 * time.Millisecond)
	aD0, aD1 := move(a, "Closed")
	time.Sleep(1100 * time.Millisecond)
	bD0, bD1 := move(b, "Closed")
	// C is re-estimated before the sprint starts: 8 → 13.
	api.do("PUT", fmt.Sprintf("/issues/%d.json", c), map[string]any{"issue": map[string]any{"custom_fields": []map[string]any{{"id": field, "value": "13"}}}}, nil)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "devpulse.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  rm:
    type: redmine
    url: %s
    token_env: RM_KEY
    projects: [%s]
    story_points_field: Story Points
    lookback: 2d
warehouse:
  path: %s
privacy:
  secret: redmine-c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0
  titles: keep
`, url, ident, filepath.Join(dir, "w.duckdb"))), 0o600)
	t.Setenv("RM_KEY", key)
	if code, out, errs := runCLI(t, "collect", "--config", cfg, "--no-metrics"); code != 0 {
		t.Fatalf("collect: %s %s", out, errs)
	}

	// Transitions as created: A New → In Progress → Closed, with the times of our PUTs (Redmine keeps seconds).
	rows := queryJSON(t, cfg, fmt.Sprintf(`SELECT t.to_value, t.to_category, epoch(t.changed_at) AS at FROM issue_transitions t
		JOIN issues i ON i.id = t.issue_id WHERE i."key" = '%d' AND t.field = 'status' ORDER BY t.changed_at, t.id`, a))
	if len(rows) != 3 || rows[0]["to_value"] != "New" || rows[1]["to_value"] != "In Progress" || rows[1]["to_category"] != "in_progress" ||
		rows[2]["to_value"] != "Closed" || rows[2]["to_category"] != "done" {
		t.Fatalf("issue A transitions = %v", rows)
	}
	within := func(what string, got float64, lo, hi time.Time) {
		if got < float64(lo.Unix())-1 || got > float64(hi.Unix())+1 {
			t.Errorf("%s at %v, our request ran %v..%v", what, time.Unix(int64(got), 0).UTC(), lo, hi)
		}
	}
	within("A in progress", rows[1]["at"].(float64), aIP0, aIP1)
	within("A closed", rows[2]["at"].(float64), aD0, aD1)
	if got := queryJSON(t, cfg, `SELECT count(*) AS n FROM issues WHERE story_points IS NOT NULL`)[0]["n"]; got != 3.0 {
		t.Errorf("%v issues with story points, want 3", got)
	}

	// Cycle time and say/do from the report, against the times and points we made.
	code, out, errs := runCLI(t, "report", "--config", cfg, "--format", "json", "--project", ident,
		"--since", today.AddDate(0, 0, -1).Format("2006-01-02"), "--until", today.AddDate(0, 0, 17).Format("2006-01-02"))
	if code != 0 {
		t.Fatalf("report: %s", errs)
	}
	var doc struct {
		Scopes []struct {
			Metrics map[string]map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Scopes[0].Metrics
	var p50 float64
	json.Unmarshal(m["cycle_time"]["p50"], &p50)
	// Two cycle times, A and B: the p50 is their mean; each is bounded by our request times.
	lo := (aD0.Sub(aIP1).Seconds() + bD0.Sub(bIP1).Seconds()) / 2
	hi := (aD1.Sub(aIP0).Seconds() + bD1.Sub(bIP0).Seconds()) / 2
	if p50 < math.Floor(lo)-1 || p50 > math.Ceil(hi)+1 {
		t.Errorf("cycle time p50 %.1fs, want between %.1f and %.1f", p50, lo, hi)
	}
	var sprints []struct {
		Committed, DoneOfCommitted, Velocity float64
		SayDo                                *float64
	}
	var raw []map[string]any
	json.Unmarshal(m["say_do_ratio"]["sprints"], &raw)
	for _, s := range raw {
		sprints = append(sprints, struct {
			Committed, DoneOfCommitted, Velocity float64
			SayDo                                *float64
		}{s["committed"].(float64), s["done_of_committed"].(float64), s["velocity"].(float64), nil})
	}
	// At the sprint's start (tomorrow): A 3 + B 5 + C 13 (re-estimated) = 21 committed; A and B done: 8.
	if len(sprints) != 1 || sprints[0].Committed != 21 || sprints[0].DoneOfCommitted != 8 || sprints[0].Velocity != 8 {
		t.Errorf("sprints = %+v (raw %s)", sprints, m["say_do_ratio"]["sprints"])
	}
	var sd float64
	json.Unmarshal(m["say_do_ratio"]["value"], &sd)
	if math.Abs(sd-8.0/21) > 1e-9 {
		t.Errorf("say/do = %v, want 8/21", sd)
	}
	if !strings.Contains(string(m["throughput"]["value"]), "2") {
		t.Errorf("throughput = %s, want 2", m["throughput"]["value"])
	}

	// A bad key is a clear, named error.
	t.Setenv("RM_KEY", "0000000000000000000000000000000000000000")
	code, _, errs = runCLI(t, "collect", "--config", cfg, "--no-metrics")
	if code != 1 || !strings.Contains(errs, "API key was rejected") {
		t.Errorf("bad key: exit %d, %s", code, errs)
	}
}
