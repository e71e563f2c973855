package issuelinks

import (
	"fmt"
	"testing"

	"github.com/devpulse/devpulse/models"
)

func TestExtract(t *testing.T) {
	cases := []struct {
		name   string
		fields []Field
		want   string
	}{
		{"jira key in the title", []Field{{ViaTitle, "APP-12: speed up checkout"}}, "[jira:APP-12@title]"},
		{"lower-case branch", []Field{{ViaBranch, "feature/app-7-login"}}, "[jira:APP-7@branch]"},
		{"several, first place wins", []Field{{ViaTitle, "Fix PAY-3"}, {ViaDescription, "Also PAY-3 and OPS-44."}, {ViaCommit, "OPS-44 wip\n\nCloses PAY-9"}},
			"[jira:PAY-3@title jira:OPS-44@description jira:PAY-9@commit]"},
		{"redmine keywords with lists", []Field{{ViaDescription, "refs #12, #13 and #14; Fixes: #0007"}}, "[redmine:12@description redmine:13@description redmine:14@description redmine:7@description]"},
		{"redmine branch", []Field{{ViaBranch, "redmine-123-fix-login"}}, "[redmine:123@branch]"},
		{"redmine id 0 is no issue (found by FuzzExtract)", []Field{{ViaTitle, "ref#0"}, {ViaBranch, "redmine-0"}}, "[]"},
		{"redmine branch with leading zeros", []Field{{ViaBranch, "redmine-007"}, {ViaDescription, "refs #7"}}, "[redmine:7@branch]"},
		{"a bare #12 is GitLab's, not Redmine's", []Field{{ViaDescription, "see #12"}}, "[]"},
		{"not keys", []Field{{ViaTitle, "utf-8, sha-256, APP-0, APP12, xAPP-12, APP-12x, A-1"}}, "[]"},
		{"key at the edges", []Field{{ViaCommit, "(APP-5)"}, {ViaCommit, "APP-6"}}, "[jira:APP-5@commit jira:APP-6@commit]"},
		{"keys one after the other", []Field{{ViaTitle, "APP-5 APP-6,APP-7"}}, "[jira:APP-5@title jira:APP-6@title jira:APP-7@title]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, l := range Extract("mr1", c.fields...) {
				if l.MRID != "mr1" {
					t.Errorf("link of %q", l.MRID)
				}
				got = append(got, l.Tracker+":"+l.Key+"@"+l.Via)
			}
			if s := fmt.Sprint(got); s != c.want && !(c.want == "[]" && len(got) == 0) {
				t.Errorf("got %s, want %s", s, c.want)
			}
		})
	}
}

func TestFilter_KeepsConfiguredTrackersOnly(t *testing.T) {
	b := &models.Batch{MergeRequests: []models.MergeRequest{{ID: "m", IssueLinks: Extract("m",
		Field{ViaTitle, "APP-1 UTF-8 OPS-2"}, Field{ViaDescription, "refs #9"})}}}
	Trackers{JiraProjects: map[string]bool{"APP": true}}.Filter(b)
	if got := fmt.Sprint(b.MergeRequests[0].IssueLinks); got != "[{m jira APP-1 title}]" {
		t.Errorf("kept %s, want APP-1 only (UTF is no project, OPS is not configured, no Redmine source)", got)
	}
	b.MergeRequests[0].IssueLinks = Extract("m", Field{ViaTitle, "OPS-2"}, Field{ViaDescription, "refs #9"})
	Trackers{AnyJira: true, Redmine: true}.Filter(b)
	if got := len(b.MergeRequests[0].IssueLinks); got != 2 {
		t.Errorf("kept %d, want both (a JQL-scoped JIRA source and a Redmine source)", got)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"APP-12 fix", "refs #1, #2 and #3", "redmine-5", "feature/app-7", "", "#", "refs", "A-1-2-3"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, title, branch string) {
		for _, l := range Extract("m", Field{ViaTitle, title}, Field{ViaBranch, branch}, Field{ViaDescription, title}) {
			if l.Key == "" || (l.Tracker != Jira && l.Tracker != Redmine) || len(l.Key) > 20 {
				t.Fatalf("link %+v from %q / %q", l, title, branch)
			}
		}
	})
}
