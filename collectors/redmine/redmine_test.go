package redmine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/internal/testutil"
	"github.com/devpulse/devpulse/models"
)

// recorded serves shared/fixtures/redmine by request path, as the real
// Redmine 5.0.4 answered when they were recorded.
func recorded(t *testing.T, key string) *httptest.Server {
	dir := filepath.Join(testutil.Shared(t), "fixtures", "redmine")
	files := map[string]string{
		"/issues.json":                "issues_all_statuses_limit100.json",
		"/issue_statuses.json":        "issue_statuses.json",
		"/projects/metrics-demo.json": "project_metrics-demo.json",
		"/users/current.json":         "users_current_redacted.json",
		"/issues/1.json":              "issue_1_journals_changesets.json",
		"/issues/2.json":              "issue_2_journals_changesets.json",
		"/issues/3.json":              "issue_3_journals.json",
		"/issues/4.json":              "issue_4_journals_changesets.json",
		"/projects/1/versions.json":   "",
		"/issues/5.json":              "",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Redmine-API-Key") != key {
			w.WriteHeader(401) // Redmine with login_required answers a bad key with an empty 401
			return
		}
		name, ok := files[r.URL.Path]
		if !ok {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch {
		case r.URL.Path == "/projects/1/versions.json":
			w.Write([]byte(`{"versions":[],"total_count":0}`))
		case r.URL.Path == "/issues/5.json":
			// Issue 5 was not recorded on its own: serve it from the list.
			b, _ := os.ReadFile(filepath.Join(dir, "issues_all_statuses_limit100.json"))
			s := string(b)
			i := strings.Index(s, `{`+"\n"+`      "id": 5,`)
			j := strings.Index(s[i:], "\n    }")
			w.Write([]byte(`{"issue":` + s[i:i+j+6] + `}`))
		default:
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Error(err)
			}
			w.Write(b)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func source(url, key string) *config.Source {
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	return &config.Source{Name: "rm", Type: "redmine", URL: url, Token: config.Secret(key), Projects: []string{"metrics-demo"},
		Streams: []string{"issues", "versions"}, Concurrency: 4, MaxRetries: 2, Timeout: d("5s"), Overlap: d("10m"), Lookback: d("365d"),
		Settings: &Settings{InProgressStatuses: []string{"In Progress"}, SprintStartField: "Sprint Start"}}
}

func collectAll(t *testing.T, c *Collector) []models.Issue {
	t.Helper()
	scopes, err := c.Scopes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) != 1 || scopes[0].Path != "metrics-demo" || scopes[0].ID != 1 {
		t.Fatalf("scopes = %+v", scopes)
	}
	var got []models.Issue
	err = c.Collect(context.Background(), scopes[0], "issues", time.Time{}, models.Output{Emit: func(_ context.Context, b *models.Batch, _ time.Time) error {
		got = append(got, b.Issues...)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestIssues_FromRecordedRedmine(t *testing.T) {
	srv := recorded(t, "k")
	c, err := New(source(srv.URL, "k"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	issues := collectAll(t, c)
	if len(issues) != 5 {
		t.Fatalf("collected %d issues, want 5", len(issues))
	}
	by := map[string]models.Issue{}
	for _, x := range issues {
		by[x.Key] = x
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }

	// #1: created New 23:53:34, In Progress 23:53:35, Resolved 23:53:35, Closed 23:53:36.
	one := by["1"]
	if one.ID != "redmine:"+host+":1" || one.Type != "Feature" || one.Status != "Closed" || one.Priority != "Normal" || one.StatusCategory != "done" ||
		one.State != "closed" || !one.ClosedAt.Equal(at("2026-11-25T23:53:36Z")) || one.Title != "Demo issue 1" || one.Author.Name != "Redmine Admin" {
		t.Errorf("issue 1 = %+v", one)
	}
	want := []struct{ from, to, toCat, at string }{
		{"", "New", "todo", "2026-11-25T23:53:34Z"},
		{"New", "In Progress", "in_progress", "2026-11-25T23:53:35Z"},
		{"In Progress", "Resolved", "todo", "2026-11-25T23:53:35Z"}, // not closed, not configured in progress
		{"Resolved", "Closed", "done", "2026-11-25T23:53:36Z"},
	}
	if len(one.Transitions) != len(want) {
		t.Fatalf("issue 1 transitions = %+v", one.Transitions)
	}
	for i, w := range want {
		tr := one.Transitions[i]
		if tr.Field != "status" || tr.From != w.from || tr.To != w.to || tr.ToCategory != w.toCat || !tr.At.Equal(at(w.at)) {
			t.Errorf("transition %d = %+v, want %+v", i, tr, w)
		}
	}
	// #2: a priority change is not a transition; status New → In Progress only.
	if tr := by["2"].Transitions; len(tr) != 2 || tr[1].To != "In Progress" || by["2"].StatusCategory != "in_progress" {
		t.Errorf("issue 2 transitions = %+v", tr)
	}
	// #3: rejected is closed: done.
	if by["3"].StatusCategory != "done" || by["3"].Status != "Rejected" {
		t.Errorf("issue 3 = %+v", by["3"])
	}
	// #4: a notes-only journal changes nothing; #5 never changed: created in New.
	for _, k := range []string{"4", "5"} {
		if tr := by[k].Transitions; len(tr) != 1 || tr[0].To != "New" || tr[0].From != "" {
			t.Errorf("issue %s transitions = %+v", k, tr)
		}
	}
}

func TestErrors_NameTheProblem(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     string
		sentinel error
	}{
		{"bad key", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, "API key was rejected", httpx.ErrAuth},
		{"REST API disabled", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, "Enable REST web service", httpx.ErrAuth},
		{"unknown project", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, "no such project", httpx.ErrNotFound},
		{"422", func(w http.ResponseWriter, r *http.Request) {
			b := testutil.ReadFixture(t, "redmine/error_422_create_issue.json")
			w.WriteHeader(422)
			w.Write(b)
		}, "Subject cannot be blank", nil},
		{"HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html><body>Sign in</body></html>"))
		}, "HTML page instead of JSON", ErrHTML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c, _ := New(source(srv.URL, "secret-key-123"), Options{})
			_, err := c.Scopes(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "redmine rm") {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err %v is not %v", err, tc.sentinel)
			}
			if strings.Contains(err.Error(), "secret-key-123") {
				t.Error("the key leaked into the error")
			}
		})
	}
}
