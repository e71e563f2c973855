package jira

import (
	"encoding/json"
	"strings"
	"testing"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/testutil"
)

// Fuzz targets for the JSON conversions of the JIRA collector, seeded from
// the recorded responses (DevLake's raw tables, jira-cli's search page) and
// the shapes that broke collectors before.

func fuzzCollector() *Collector {
	return &Collector{src: &config.Source{URL: "https://j.example"}, set: Defaults(), host: "j.example",
		categories: map[string]string{"1": "todo", "3": "in_progress", "10002": "done"}, sprintID: "customfield_10020", pointsID: "customfield_10016"}
}

func FuzzSearchPage(f *testing.F) {
	var raw struct {
		Responses map[string][]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(testutil.ReadFixture(f, "jira/devlake/_raw_jira_api_issues.json"), &raw); err != nil {
		f.Fatal(err)
	}
	for _, items := range raw.Responses {
		for _, it := range items[:min(3, len(items))] {
			f.Add([]byte(`{"issues":[` + string(it) + `]}`))
		}
	}
	f.Add(testutil.ReadFixture(f, "jira/jira-cli/search.json"))
	for _, s := range []string{`{"issues":null}`, `{"issues":[null]}`, `{"issues":[{}]}`, `{"issues":[{"key":"A-1","fields":{"updated":"x"}}]}`,
		`{"issues":[{"key":"A-1","fields":{"updated":"2026-01-01T10:00:00.000+0000","status":"done","customfield_10020":"[x]"},"changelog":{"histories":[{"created":"bad","items":[{"field":"status","to":null}]}]}}]}`} {
		f.Add([]byte(s))
	}
	c := fuzzCollector()
	f.Fuzz(func(t *testing.T, body []byte) {
		var page struct {
			Issues []*IssueJSON `json:"issues"`
		}
		if json.Unmarshal(body, &page) != nil {
			return
		}
		for _, x := range page.Issues {
			u, err := IssueUpdated(x)
			if err != nil {
				continue
			}
			var hs []history
			if x.Changelog != nil {
				hs = x.Changelog.Histories
			}
			is := c.Issue(x, hs)
			if is.ID != "jira:j.example:"+x.Key || !is.UpdatedAt.Equal(u) {
				t.Fatalf("issue %q keyed %q updated %v, listed %v", x.Key, is.ID, is.UpdatedAt, u)
			}
			for _, tr := range is.Transitions {
				if tr.IssueID != is.ID {
					t.Fatalf("transition %q of %q", tr.ID, tr.IssueID)
				}
			}
		}
	})
}

func FuzzSprintField(f *testing.F) {
	for _, s := range []string{`[{"id":7,"name":"S 7","state":"closed"}]`, `["com.atlassian.greenhopper.service.sprint.Sprint@1[id=12,rapidViewId=3,state=CLOSED,name=S 12]"]`,
		`null`, `"x"`, `[null]`, `[{"id":"7"}]`, `["id=]"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, id := range sprintIDs(raw) {
			if id == "" || strings.ContainsAny(id, ",]") {
				t.Fatalf("sprint id %q from %q", id, raw)
			}
		}
	})
}

func FuzzSprint(f *testing.F) {
	var raw struct {
		Responses map[string][]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(testutil.ReadFixture(f, "jira/devlake/_raw_jira_api_sprints.json"), &raw); err != nil {
		f.Fatal(err)
	}
	for _, items := range raw.Responses {
		for _, it := range items[:min(3, len(items))] {
			f.Add([]byte(it))
		}
	}
	f.Add([]byte(`{}`))
	c := fuzzCollector()
	f.Fuzz(func(t *testing.T, body []byte) {
		var s gojira.Sprint
		if json.Unmarshal(body, &s) != nil {
			return
		}
		sp := c.Sprint(&s, "P")
		if sp.StartAt != nil && sp.EndAt != nil && sp.ID == "" {
			t.Fatal("sprint without id")
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2020-06-12T08:13:13.360+0800", "2026-01-01T10:00:00Z", "", "2020-13-40T99:99:99.999+9999", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm := ParseTime(s); !tm.IsZero() && tm.Location().String() != "UTC" {
			t.Fatalf("%q parsed to %v, not UTC", s, tm)
		}
	})
}
