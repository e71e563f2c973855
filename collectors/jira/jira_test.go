package jira

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/testutil"
	"github.com/devpulse/devpulse/models"
)

func recordedItems(t *testing.T, file string) []json.RawMessage {
	var raw struct {
		Responses map[string][]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(testutil.ReadFixture(t, "jira/devlake/"+file), &raw); err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, v := range raw.Responses {
		out = append(out, v...)
	}
	return out
}

// Issues recorded from Jira Cloud (expand=changelog, histories newest first),
// with the categories of the recorded /rest/api/2/status.
func TestIssue_FromRecordedCloud(t *testing.T) {
	c := &Collector{src: &config.Source{URL: "https://merico.atlassian.net"}, set: Defaults(), host: "merico.atlassian.net",
		categories: map[string]string{}, sprintID: "customfield_10020", pointsID: "customfield_10016"}
	for _, raw := range recordedItems(t, "_raw_jira_api_status.json") {
		var s struct {
			ID             string               `json:"id"`
			StatusCategory struct{ Key string } `json:"statusCategory"`
		}
		json.Unmarshal(raw, &s)
		c.categories[s.ID] = category(s.StatusCategory.Key)
	}
	var ee1 *models.Issue
	n := 0
	for _, raw := range recordedItems(t, "_raw_jira_api_issues.json") {
		var x IssueJSON
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		is := c.Issue(&x, x.Changelog.Histories)
		n++
		if is.Key == "EE-1" {
			ee1 = &is
		}
	}
	if n != 33 || ee1 == nil {
		t.Fatalf("%d issues, EE-1 found: %v", n, ee1 != nil)
	}
	at := func(s string) time.Time { return ParseTime(s) }
	// Read off the JSON by hand: project EE, type 故事 (Story), created 2020-06-12 08:13:13.360 +0800,
	// labels frontEnd and Saas, in sprint 7 (customfield_10020), no story points.
	if ee1.ID != "jira:merico.atlassian.net:EE-1" || ee1.ProjectPath != "EE" || ee1.Type != "故事" || ee1.TypeClass != "story" || !ee1.CreatedAt.Equal(at("2020-06-12T08:13:13.360+0800")) ||
		len(ee1.Labels) != 2 || ee1.SprintID != "jira:merico.atlassian.net:sprint:7" || ee1.StoryPoints != nil {
		t.Errorf("EE-1 = %+v", ee1)
	}
	// Its status 已完成 (10068): the issue's embedded statusCategory says "new", but /rest/api/2/status
	// (the workflow) says "done". devpulse takes the status list for the current status and the history
	// alike, so an issue never disagrees with itself: done, resolved 2020-06-19 14:31:18.495 +0800.
	if ee1.Status != "已完成" || ee1.StatusCategory != "done" || ee1.State != "closed" || ee1.ClosedAt == nil ||
		!ee1.ClosedAt.Equal(at("2020-06-19T14:31:18.495+0800")) {
		t.Errorf("EE-1 status = %q/%q/%q closed %v", ee1.Status, ee1.StatusCategory, ee1.State, ee1.ClosedAt)
	}
	// History, oldest first: created in Inbox; Inbox → Ready for Dev → In Development (id 3, in progress)
	// → Open → Closed → 已完成; and put into sprint 7 at 08:29:19.
	var statuses []string
	var sprintMoves int
	for _, tr := range ee1.Transitions {
		switch tr.Field {
		case models.FieldStatus:
			statuses = append(statuses, tr.To+"/"+tr.ToCategory)
		case models.FieldSprint:
			sprintMoves++
			if tr.To != "jira:merico.atlassian.net:sprint:7" || !tr.At.Equal(at("2020-06-12T08:29:19.487+0800")) {
				t.Errorf("sprint move = %+v", tr)
			}
		}
	}
	// Inbox and Ready for Dev are not in the status list (retired workflow steps): to do.
	want := []string{"Inbox/todo", "Ready for Dev/todo", "In Development/in_progress", "Open/todo", "Closed/done", "已完成/done"}
	if len(statuses) != len(want) || sprintMoves != 1 {
		t.Fatalf("status history %v, sprint moves %d", statuses, sprintMoves)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Errorf("status %d = %s, want %s", i, statuses[i], want[i])
		}
	}
}

func TestSprintIDs_CloudObjectsAndServerStrings(t *testing.T) {
	for raw, want := range map[string]string{
		`[{"id": 7, "name": "EE Sprint 7"}, {"id": 9}]`:                                                        "7,9",
		`["com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=12,rapidViewId=3,state=CLOSED,name=S 12]"]`: "12",
		`null`: "",
	} {
		got := ""
		for i, id := range sprintIDs(json.RawMessage(raw)) {
			if i > 0 {
				got += ","
			}
			got += id
		}
		if got != want {
			t.Errorf("sprintIDs(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestClassOf(t *testing.T) {
	custom := map[string]string{"Production Issue": "incident", "Bug": "task"}
	for typ, want := range map[string]string{"Incident": "incident", "Production Issue": "incident", "Bug": "task",
		"缺陷": "bug", "Sub-task": "task", "Epic": "other", "User Story": "story"} {
		if got := models.ClassOf(typ, custom); got != want {
			t.Errorf("ClassOf(%q) = %q, want %q", typ, got, want)
		}
	}
}
