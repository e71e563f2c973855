package jira

import (
	"context"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
)

// TestIncidentJQL_MarksWhatItMatches: incident_jql turns the issues it
// matches into incidents (type class incident) and leaves the rest as they
// were, on Cloud and Server; an unchanged re-run makes no request for it.
func TestIncidentJQL_MarksWhatItMatches(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	for _, cloud := range []bool{true, false} {
		org := sandbox.GenerateJira(7, 2, 60, now)
		srv := sandbox.StartJira(org, cloud)
		d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
		set := &Settings{IncidentJQL: `issuetype = "Bug"`}
		if cloud {
			set.Email = "reader@acme.example"
		}
		src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(), Settings: set,
			Streams: Streams, Concurrency: 2, MaxRetries: 1, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
		l := &landedIssues{rows: map[string]models.Issue{}}
		run := func() int64 {
			c, err := New(src, Options{Now: func() time.Time { return now }, PageSize: 25})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			scopes, _ := c.Scopes(context.Background())
			_, before, _, _ := srv.Counts()
			if err := c.Collect(context.Background(), scopes[0], "issues", now.AddDate(-1, 0, 0), l.output(true)); err != nil {
				t.Fatal(err)
			}
			_, after, _, _ := srv.Counts()
			return after - before
		}
		first := run()
		bugs, others := 0, 0
		for _, x := range l.rows {
			switch {
			case x.Type == "Bug" && x.TypeClass == "incident":
				bugs++
			case x.Type == "Bug":
				t.Errorf("cloud=%v: %s is a Bug but not marked an incident", cloud, x.Key)
			case x.TypeClass == "incident" && x.Type != "Incident":
				t.Errorf("cloud=%v: %s (%s) marked an incident though incident_jql does not match it", cloud, x.Key, x.Type)
			default:
				others++
			}
		}
		if bugs == 0 || others == 0 {
			t.Fatalf("cloud=%v: %d bugs and %d others: the test tests nothing", cloud, bugs, others)
		}
		pages := int64((len(l.rows) + 24) / 25)
		if first != 2*pages {
			t.Errorf("cloud=%v: first run made %d searches for %d pages of issues, want one incident_jql search per page (%d)", cloud, first, pages, 2*pages)
		}
		if again := run(); again != pages { // the same window again, nothing changed
			t.Errorf("cloud=%v: an unchanged re-run made %d searches, want %d (no incident_jql search without changed issues)", cloud, again, pages)
		}
		srv.Close()
	}
}

// An incident_jql with its own ORDER BY would make every search a 400; the
// config check says so before a run.
func TestIncidentJQL_OrderByRefused(t *testing.T) {
	var got []string
	bad := func(key, format string, a ...any) error { got = append(got, key); return nil }
	(&Settings{JQL: "project = APP", IncidentJQL: "priority = Highest order by created"}).Check(&config.Source{}, bad)
	if len(got) != 1 || got[0] != "incident_jql" {
		t.Errorf("errors for keys %v, want incident_jql", got)
	}
}

// TestIncidentJQL_ReadsEveryPage: a server that caps a search page below the
// page of keys asked about (jira.search.views.default.max) answers the
// incident_jql search in several pages; each is read, so no incident lands
// as an ordinary issue.
func TestIncidentJQL_ReadsEveryPage(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	for _, cloud := range []bool{true, false} {
		org := sandbox.GenerateJira(7, 2, 60, now)
		srv := sandbox.StartJira(org, cloud)
		srv.KeyListMax = 3 // fewer than the matches on a page of 100
		d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
		set := &Settings{IncidentJQL: `issuetype in ("Bug", "Task", "Story")`}
		if cloud {
			set.Email = "reader@acme.example"
		}
		src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(), Settings: set,
			Streams: Streams, Concurrency: 2, MaxRetries: 1, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
		l := &landedIssues{rows: map[string]models.Issue{}}
		c, err := New(src, Options{Now: func() time.Time { return now }, PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		scopes, _ := c.Scopes(context.Background())
		if err := c.Collect(context.Background(), scopes[0], "issues", now.AddDate(-1, 0, 0), l.output(true)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		matched, missed := 0, 0
		for _, x := range l.rows {
			switch x.Type {
			case "Bug", "Task", "Story":
				if x.TypeClass == "incident" {
					matched++
				} else {
					missed++
				}
			}
		}
		if matched <= 3 {
			t.Fatalf("cloud=%v: only %d matching issues: the cap of 3 is not exercised", cloud, matched)
		}
		if missed > 0 {
			t.Errorf("cloud=%v: %d issues match incident_jql but landed as ordinary issues (%d marked): the capped answer was read only in part", cloud, missed, matched)
		}
		srv.Close()
	}
}
