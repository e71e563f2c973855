package jira

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
)

// A story_points_field that names no field is an error before anything is
// collected: it would land 0 points and leave velocity and say/do silently
// empty. A board that does not exist fails the check; Details say what was
// detected.
func TestSetup_WrongPointsFieldAndMissingBoard(t *testing.T) {
	org := sandbox.GenerateJira(3, 1, 5, time.Now())
	srv := sandbox.StartJira(org, true)
	defer srv.Close()
	src := func(set *Settings) *config.Source {
		d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
		set.Email = "reader@acme.example"
		return &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(), Settings: set,
			Streams: Streams, Concurrency: 2, MaxRetries: 1, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
	}
	c, err := New(src(&Settings{StoryPointsField: "Story Pointz"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), `story_points_field "Story Pointz" is no field of this Jira (fields that mention points: "Story point estimate" (customfield_10016))`) {
		t.Errorf("wrong points field: %v", err)
	}
	c, _ = New(src(&Settings{Boards: append(org.Boards(), 9999)}), Options{})
	err = c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "check board 9999 (sources.jr.boards)") {
		t.Errorf("missing board: %v", err)
	}
	for _, b := range org.Boards() {
		if strings.Contains(err.Error(), "check board "+strconv.Itoa(b)+" ") {
			t.Errorf("an existing board failed: %v", err)
		}
	}
	got := strings.Join(c.Details(), "\n")
	for _, want := range []string{"Jira Cloud (detected from serverInfo)", "story points field: Story point estimate (customfield_10016)"} {
		if !strings.Contains(got, want) {
			t.Errorf("details lack %q:\n%s", want, got)
		}
	}
}

// An HTML page (a login page, a proxy's error) or a body cut short is said
// in those words, naming the endpoint, not as "invalid character '<'".
func TestGet_HTMLAndTruncatedBodiesSaySo(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body, want string
	}{
		{"html", "text/html; charset=utf-8", "<html><body>Log in</body></html>", "answered rest/api/2/myself with an HTML page, not JSON: check sources.jr.url"},
		{"truncated", "application/json", `{"accountId": "5b10a`, "was cut short (a truncated body, not whole JSON)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
			c, err := New(&config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "t", Projects: []string{"A"}, Settings: &Settings{Deployment: "server"},
				Concurrency: 1, MaxRetries: 0, Timeout: d("5s")}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v; want it to say %q", err, tc.want)
			}
		})
	}
}
