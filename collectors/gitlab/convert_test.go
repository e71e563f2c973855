package gitlab

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/internal/testutil"
	"github.com/devpulse/devpulse/models"
)

// devlakeItems decodes one of the recorded DevLake raw tables ({"responses": {url: [item...]}})
// into client-go's types, the same decoding the collector does on the wire.
func devlakeItems[T any](t *testing.T, file string) map[string][]T {
	t.Helper()
	var raw struct {
		Responses map[string][]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(testutil.ReadFixture(t, "gitlab/devlake/"+file), &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string][]T{}
	for url, items := range raw.Responses {
		for _, it := range items {
			var v T
			if err := json.Unmarshal(it, &v); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out[url] = append(out[url], v)
		}
	}
	return out
}

func flat[T any](m map[string][]T) []T {
	var out []T
	for _, v := range m {
		out = append(out, v...)
	}
	return out
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func tsp(t *testing.T, s string) *time.Time { v := ts(t, s); return &v }

func TestMergeRequest_FromRecordedFixture(t *testing.T) {
	byIID := map[int64]models.MergeRequest{}
	for _, m := range flat(devlakeItems[*gl.BasicMergeRequest](t, "_raw_gitlab_api_merge_requests.json")) {
		byIID[m.IID] = MergeRequest("gitlab.com", "gitlab-data/snowflake_spend", m)
	}
	if len(byIID) != 18 {
		t.Fatalf("parsed %d MRs, the fixture has 18", len(byIID))
	}
	tests := []struct {
		iid  int64
		want models.MergeRequest
	}{
		{1, models.MergeRequest{
			Origin: models.Origin{Source: "gitlab", Instance: "gitlab.com"}, ID: "gitlab:gitlab.com:12345678:mr:1",
			ProjectID: 12345678, ProjectPath: "gitlab-data/snowflake_spend", IID: 1,
			Title: `Resolve "Add documentation to snowflake spend package"`, State: "merged",
			Author:       models.Person{Username: "emilie", Name: "Emilie Schario", ID: "2295562"},
			SourceBranch: "1-add-documentation-to-snowflake-spend-package", TargetBranch: "master", Labels: gl.Labels{},
			SHA: "ad25fcda15e310a7eb34b3e38ff9b962b54f0e03", MergeCommitSHA: "da1d6dea48f5972ffc683da6cff30934e7d6c52c",
			ClosesIssues: []string{"#1"}, WebURL: "https://gitlab.com/gitlab-data/snowflake_spend/-/merge_requests/1",
			CreatedAt: ts(t, "2019-06-28T05:21:43.743Z"), UpdatedAt: ts(t, "2019-06-28T14:32:05.270Z"),
			MergedAt: tsp(t, "2019-06-28T14:32:06.192Z"),
			// "Closes #1" is also Redmine's fixing keyword: a candidate the pipeline
			// keeps only when a Redmine source is configured.
			IssueLinks: []models.IssueLink{{MRID: "gitlab:gitlab.com:12345678:mr:1", Tracker: "redmine", Key: "1", Via: "description"}},
		}},
		// Squash merge: the squash commit sha is kept; commit times come from the commits API.
		{14, models.MergeRequest{
			Origin: models.Origin{Source: "gitlab", Instance: "gitlab.com"}, ID: "gitlab:gitlab.com:12345678:mr:14",
			ProjectID: 12345678, ProjectPath: "gitlab-data/snowflake_spend", IID: 14, State: "merged",
			SquashCommitSHA: "7f928f936c58b2e001f86d07b1f7b9411413e439", MergedAt: tsp(t, "2021-02-19T20:13:05.969Z"),
		}},
		// Closed, never merged: no merged_at; a draft.
		{20, models.MergeRequest{State: "closed", Draft: true}},
		// Closing reference by URL to another project.
		{21, models.MergeRequest{State: "opened", Draft: true, ClosesIssues: []string{"gitlab-data/analytics#12941"}}},
		// Labels kept as listed.
		{4, models.MergeRequest{Labels: gl.Labels{"Analytics", "Data Team", "Refactor", "dbt"}, ClosesIssues: []string{"#4"}}},
	}
	for _, tc := range tests {
		got := byIID[tc.iid]
		if tc.iid == 1 {
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MR 1:\n got %+v\nwant %+v", got, tc.want)
			}
			continue
		}
		if tc.want.State != "" && got.State != tc.want.State {
			t.Errorf("MR %d state = %q, want %q", tc.iid, got.State, tc.want.State)
		}
		if got.Draft != tc.want.Draft {
			t.Errorf("MR %d draft = %v, want %v", tc.iid, got.Draft, tc.want.Draft)
		}
		if tc.want.SquashCommitSHA != "" && got.SquashCommitSHA != tc.want.SquashCommitSHA {
			t.Errorf("MR %d squash sha = %q", tc.iid, got.SquashCommitSHA)
		}
		if tc.want.MergedAt != nil && (got.MergedAt == nil || !got.MergedAt.Equal(*tc.want.MergedAt)) {
			t.Errorf("MR %d merged_at = %v, want %v", tc.iid, got.MergedAt, tc.want.MergedAt)
		}
		if tc.want.MergedAt == nil && tc.want.State != "" && tc.want.State != "merged" && got.MergedAt != nil {
			t.Errorf("MR %d merged_at = %v, want none", tc.iid, got.MergedAt)
		}
		if tc.want.ClosesIssues != nil && !reflect.DeepEqual(got.ClosesIssues, tc.want.ClosesIssues) {
			t.Errorf("MR %d closes = %v, want %v", tc.iid, got.ClosesIssues, tc.want.ClosesIssues)
		}
		if tc.want.Labels != nil && !reflect.DeepEqual([]string(got.Labels), []string(tc.want.Labels)) {
			t.Errorf("MR %d labels = %v, want %v", tc.iid, got.Labels, tc.want.Labels)
		}
	}
}

func TestCommits_FromRecordedFixture(t *testing.T) {
	pages := devlakeItems[*gl.Commit](t, "_raw_gitlab_api_merge_request_commits.json")
	cs := pages["https://gitlab.com/api/v4/projects/12345678/merge_requests/1/commits?page=1&per_page=100&sort=asc&with_stats=true"]
	got := Commits("mr1", cs)
	if len(got) != 5 {
		t.Fatalf("got %d commits, want 5", len(got))
	}
	// The oldest commit is listed last; its authored time starts the coding time.
	last := got[4]
	want := models.MRCommit{MRID: "mr1", SHA: "abbe0ab2" + last.SHA[8:],
		Author:     models.Person{Name: "emilie", Email: "emilie.burke@gmail.com"},
		AuthoredAt: ts(t, "2019-06-28T05:40:36Z"), CommittedAt: ts(t, "2019-06-28T05:40:36Z")}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("oldest commit:\n got %+v\nwant %+v", last, want)
	}
}

func TestNotes_ReviewsAndReadyTime(t *testing.T) {
	notes := devlakeItems[*gl.Note](t, "_raw_gitlab_api_merge_request_notes.json")
	byMR := map[int64][]*gl.Note{}
	for _, ns := range notes {
		for _, n := range ns {
			byMR[n.NoteableIID] = append(byMR[n.NoteableIID], n)
		}
	}
	t.Run("author's own notes are not reviews; un-WIP sets ready", func(t *testing.T) {
		mr := &models.MergeRequest{ID: "mr1", Author: models.Person{Username: "emilie"}}
		reviews, ready := Notes(mr, byMR[1])
		if len(reviews) != 0 {
			t.Errorf("MR 1 has only the author's notes, got reviews %+v", reviews)
		}
		if ready == nil || !ready.Equal(ts(t, "2019-06-28T10:55:26.170Z")) {
			t.Errorf("ready = %v, want the 'unmarked as a **Work In Progress**' note time", ready)
		}
	})
	t.Run("comments by others are reviews, in time order", func(t *testing.T) {
		mr := &models.MergeRequest{ID: "mr3", Author: models.Person{Username: "martinguindon"}}
		reviews, ready := Notes(mr, byMR[3])
		if ready != nil {
			t.Errorf("MR 3 was never a draft, ready = %v", ready)
		}
		// emilie commented at 12:14:39 and 14:15:40; the author's reply and system notes do not count.
		if len(reviews) != 2 || !reviews[0].CreatedAt.Equal(ts(t, "2019-08-26T12:14:39.003Z")) ||
			reviews[0].Kind != models.ReviewComment || reviews[0].Reviewer.Username != "emilie" ||
			reviews[0].ID != "mr3:note:208061122" {
			t.Errorf("MR 3 reviews = %+v", reviews)
		}
	})
	t.Run("approvals count, unapprovals do not", func(t *testing.T) {
		mr := &models.MergeRequest{ID: "mr37", Author: models.Person{Username: "someone-else"}}
		reviews, _ := Notes(mr, byMR[37])
		if len(reviews) != 2 || reviews[0].Kind != models.ReviewApproval || reviews[1].Kind != models.ReviewApproval {
			t.Errorf("MR 37 reviews = %+v, want two approvals", reviews)
		}
	})
}

func TestDeployment_FromRecordedFixture(t *testing.T) {
	ds := flat(devlakeItems[*gl.Deployment](t, "_raw_gitlab_api_deployments.json"))
	if len(ds) != 8 {
		t.Fatalf("got %d deployments, want 8", len(ds))
	}
	statuses := map[string]int{}
	var first models.Deployment
	for _, d := range ds {
		m := Deployment("gitlab.com", "g/p", 12345678, d)
		statuses[m.Status]++
		if m.UpdatedAt.IsZero() {
			t.Errorf("deployment %d has no updated_at: the cursor needs one", d.ID)
		}
		if d.ID == 13426753 {
			first = m
		}
		// Listed without updated_at: the job's finish stands in.
		if d.ID == 13436915 && !m.UpdatedAt.Equal(ts(t, "2019-03-13T15:28:32.934Z")) {
			t.Errorf("undeployed deployment updated_at = %v, want its job's finished_at", m.UpdatedAt)
		}
	}
	if len(statuses) != 8 {
		t.Errorf("statuses = %v, want the 8 distinct ones the fixture covers", statuses)
	}
	want := models.Deployment{Origin: models.Origin{Source: "gitlab", Instance: "gitlab.com"},
		ID: "gitlab:gitlab.com:12345678:deployment:13426753", ProjectID: 12345678, ProjectPath: "g/p", DeploymentID: 13426753,
		Environment: "staging", Status: "success", Ref: "master", SHA: "add237f6852e6108ee8e0246780a54ce909c6087",
		PipelineID: 51653436, JobName: "test_deploy_vdev", CreatedAt: ts(t, "2019-03-13T14:14:24.109Z"),
		UpdatedAt: ts(t, "2019-03-13T14:17:47.647Z"), FinishedAt: tsp(t, "2019-03-13T14:17:47.640Z"),
		Deployer: models.Person{Username: "hackwaly", Name: "文宇祥", ID: "3014346"}}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("deployment:\n got %+v\nwant %+v", first, want)
	}
}

func TestPipeline_ListAndDetail(t *testing.T) {
	list := flat(devlakeItems[*gl.PipelineInfo](t, "_raw_gitlab_api_pipeline.json"))
	var running *gl.PipelineInfo
	for _, p := range list {
		if p.ID == 457474837 {
			running = p
		}
	}
	if running == nil {
		t.Fatal("pipeline 457474837 missing")
	}
	m := Pipeline("gitlab.com", "g/p", "main", running, nil)
	// updated_at is null for a running pipeline: created_at stands in, timings stay absent.
	if !m.UpdatedAt.Equal(ts(t, "2022-01-27T10:07:09.429Z")) || m.DurationS != nil || m.FinishedAt != nil || m.IsDefaultBranch {
		t.Errorf("running pipeline = %+v", m)
	}
	details := flat(devlakeItems[*gl.Pipeline](t, "_raw_gitlab_api_pipeline_details.json"))
	var d *gl.Pipeline
	for _, x := range details {
		if x.ID == 1078343570 {
			d = x
		}
	}
	info := &gl.PipelineInfo{ID: d.ID, ProjectID: d.ProjectID, Ref: d.Ref, Status: d.Status, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	m = Pipeline("gitlab.com", "g/p", "refs/merge-requests/5394/head", info, d)
	if m.DurationS == nil || *m.DurationS != 1512 || m.QueuedDurationS == nil || *m.QueuedDurationS != 1 ||
		!m.FinishedAt.Equal(ts(t, "2023-11-21T01:54:29.748Z")) || !m.IsDefaultBranch || m.User.Username != "sunlei.sam" {
		t.Errorf("detailed pipeline = %+v", m)
	}
}

func TestIssue_FromRecordedFixture(t *testing.T) {
	is := flat(devlakeItems[*gl.Issue](t, "_raw_gitlab_api_issues.json"))
	if len(is) != 16 {
		t.Fatalf("got %d issues, want 16", len(is))
	}
	for _, x := range is {
		m := Issue("gitlab.com", "g/p", x)
		switch x.IID {
		case 1:
			if m.Key != "#1" || m.Type != "issue" || m.State != "closed" || !m.ClosedAt.Equal(ts(t, "2019-06-28T14:32:05.376Z")) ||
				m.Assignee.Username != "emilie" || m.Author.Username != "emilie" {
				t.Errorf("issue 1 = %+v", m)
			}
		case 3:
			if m.ClosedAt != nil || m.State != "opened" || m.Assignee.Username != "" || len(m.Labels) != 5 {
				t.Errorf("issue 3 = %+v", m)
			}
		}
	}
}

func TestClosingRefs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Closes #1", []string{"#1"}},
		{"fixes #2, #3 and group/p#4", []string{"#2", "#3", "group/p#4"}},
		{"Resolves https://gitlab.example.com/a/b/-/issues/9", []string{"a/b#9"}},
		{"Related to #5", nil},
		{"closed #7 twice; Closes #7", []string{"#7"}},
	}
	for _, tc := range tests {
		if got := ClosingRefs(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ClosingRefs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestDiffSize(t *testing.T) {
	var docs []*gl.MergeRequestDiff
	if err := json.Unmarshal(testutil.ReadFixture(t, "gitlab/client-go/list_merge_request_diff.json"), &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].NewPath != "README" || docs[1].OldPath != "VERSION" {
		t.Fatalf("fixture decoded as %+v", docs)
	}
	tests := []struct {
		name     string
		diffs    []*gl.MergeRequestDiff
		add, del int64
		unknown  bool
	}{
		{"two files", []*gl.MergeRequestDiff{
			{Diff: "@@ -1,3 +1,4 @@\n context\n-old\n+new\n+newer\n"},
			{Diff: "@@ -0,0 +1,2 @@\n+a\n+b\n", NewFile: true},
		}, 4, 1, false},
		// "--" inside a line that is not a removal does not count; only line starts do.
		{"dashes in context", []*gl.MergeRequestDiff{{Diff: "@@ -1 +1 @@\n a -- b\n-x\n+y\n"}}, 1, 1, false},
		{"no files", nil, 0, 0, false},
		// GitLab withheld a file's diff: the size is unknown, not undercounted.
		{"too large", []*gl.MergeRequestDiff{{Diff: "@@ -1 +1 @@\n-x\n+y\n"}, {TooLarge: true}}, 0, 0, true},
	}
	for _, tc := range tests {
		a, d := DiffSize(tc.diffs)
		if tc.unknown {
			if a != nil || d != nil {
				t.Errorf("%s: size %v/%v, want unknown", tc.name, *a, *d)
			}
			continue
		}
		if a == nil || *a != tc.add || *d != tc.del {
			t.Errorf("%s: +%v -%v, want +%d -%d", tc.name, a, d, tc.add, tc.del)
		}
	}
}

// An incident's own statement of its cause becomes rule (a)'s reference;
// other issues, and text that names no MR or commit, give none.
func TestIssue_IncidentCausedBy(t *testing.T) {
	incident := "incident"
	for _, tc := range []struct{ typ, desc, want string }{
		{incident, "Checkout 500s.\n\nCaused by !42 (the cache change).", "mr:" + models.GitLabID("gitlab.example", 7, "mr", 42)},
		{incident, "caused by: 3F2A9C1E\nrolled back at 10:20", "sha:3f2a9c1e"},
		{incident, "Caused by the provider's outage, see status page", ""},
		{incident, "caused by abc12 (too short for a commit)", ""},
		{"issue", "Caused by !42", ""},
	} {
		x := &gl.Issue{ProjectID: 7, IID: 1, IssueType: &tc.typ, Description: tc.desc}
		if got := Issue("gitlab.example", "g/p", x).CausedBy; got != tc.want {
			t.Errorf("%s %q: caused_by %q, want %q", tc.typ, tc.desc, got, tc.want)
		}
	}
}
