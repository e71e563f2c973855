package gitlab

import (
	"encoding/json"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/testutil"
	"github.com/devpulse/devpulse/models"
)

// Fuzz targets for every JSON conversion of the collector: a page body goes
// through the same strict decoding (DecodeList) and conversion as on the
// wire. Seeds are the recorded DevLake pages (one page, and single items),
// plus the shapes that crashed before (null, [null], [{}], a label that is a
// string); what a run finds is kept in testdata/fuzz.

func seedPages(f *testing.F, files ...string) {
	for _, file := range files {
		var raw struct {
			Responses map[string][]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(testutil.ReadFixture(f, "gitlab/devlake/"+file), &raw); err != nil {
			f.Fatal(err)
		}
		for _, items := range raw.Responses {
			if page, _ := json.Marshal(items[:min(5, len(items))]); len(page) < 20000 {
				f.Add(page)
			}
			for _, it := range items[:min(2, len(items))] {
				f.Add([]byte("[" + string(it) + "]"))
			}
		}
	}
	for _, s := range []string{`null`, `[null]`, `[{}]`, `[{"id":1,"iid":1,"project_id":2,"labels":"bug"}]`, `{"message":"x"}`, `[]`, `[1]`} {
		f.Add([]byte(s))
	}
}

func FuzzMergeRequestPage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_merge_requests.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, validMR)
		if err != nil {
			return
		}
		for _, m := range items {
			x := MergeRequest("h", "g/p", m)
			if x.ID != models.GitLabID("h", m.ProjectID, "mr", m.IID) || x.IID <= 0 {
				t.Fatalf("MR keyed %q from iid %d project %d", x.ID, m.IID, m.ProjectID)
			}
		}
	})
}

func FuzzIssuePage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_issues.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, func(x *gl.Issue) error {
			if x.IID <= 0 || x.ProjectID <= 0 {
				return errNoID
			}
			return nil
		})
		if err != nil {
			return
		}
		for _, x := range items {
			if i := Issue("h", "g/p", x); i.ID == "" || !strings.HasPrefix(i.Key, "#") {
				t.Fatalf("issue %+v", i)
			}
		}
	})
}

func FuzzPipelinePage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_pipeline.json", "_raw_gitlab_api_pipeline_details.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, func(p *gl.PipelineInfo) error { return needID("id", p.ID) })
		if err != nil {
			return
		}
		details, _ := DecodeList[gl.Pipeline](body, nil)
		for i, p := range items {
			var d *gl.Pipeline
			if i < len(details) {
				d = details[i]
			}
			x := Pipeline("h", "g/p", "main", p, d)
			if x.UpdatedAt.Before(x.CreatedAt) && !x.UpdatedAt.IsZero() && p.UpdatedAt == nil {
				t.Fatalf("updated %v before created %v", x.UpdatedAt, x.CreatedAt)
			}
			if x.DurationS != nil && x.FinishedAt == nil {
				t.Fatal("a duration without a finish")
			}
		}
	})
}

func FuzzDeploymentPage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_deployments.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, func(d *gl.Deployment) error { return needID("id", d.ID) })
		if err != nil {
			return
		}
		for _, d := range items {
			x := Deployment("h", "g/p", 2, d)
			if x.ID != models.GitLabID("h", 2, "deployment", d.ID) {
				t.Fatalf("deployment keyed %q", x.ID)
			}
			if x.UpdatedAt != deploymentUpdated(d) {
				t.Fatalf("updated_at %v, listing key %v: the cursor and the row would disagree", x.UpdatedAt, deploymentUpdated(d))
			}
		}
	})
}

func FuzzCommitsPage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_merge_request_commits.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, validCommit)
		if err != nil {
			return
		}
		if cs := Commits("mr", items); len(cs) != len(items) {
			t.Fatalf("%d commits from %d items", len(cs), len(items))
		}
	})
}

func FuzzNotesPage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_merge_request_notes.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, validNote)
		if err != nil {
			return
		}
		mr := &models.MergeRequest{ID: "mr", Author: models.Person{Username: "author"}}
		reviews, _ := Notes(mr, items)
		for _, r := range reviews {
			if r.Reviewer.Username == "author" {
				t.Fatal("the author's own note counted as a review")
			}
		}
	})
}

func FuzzDiffsPage(f *testing.F) {
	f.Add([]byte(`[{"old_path":"a","new_path":"a","diff":"@@ -1 +1 @@\n-a\n+b\n"}]`))
	f.Add([]byte(`[{"diff":"","too_large":true}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList[gl.MergeRequestDiff](body, nil)
		if err != nil {
			return
		}
		add, del := DiffSize(items)
		if (add == nil) != (del == nil) || (add != nil && (*add < 0 || *del < 0)) {
			t.Fatalf("size %v/%v", add, del)
		}
	})
}

func FuzzJobPage(f *testing.F) {
	seedPages(f, "_raw_gitlab_api_job.json", "_raw_gitlab_api_trigger_job.json")
	rules, _ := newJobRules(&Settings{}, config.Deployments{Jobs: "."})
	s := models.Scope{Path: "g/p", ID: 2, DefaultBranch: "main"}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := DecodeList(body, validJob)
		if err != nil {
			return
		}
		for _, j := range items {
			_ = rules.deploys(s, j)
			x := JobDeployment("h", s, j)
			if x.ID != models.GitLabID("h", 2, "job", j.ID) || x.EnvironmentTier != "production" || x.PipelineID <= 0 {
				t.Fatalf("job deployment %+v", x)
			}
			if x.Ref == "" && j.Tag {
				t.Fatal("a tag job lost its ref")
			}
		}
	})
}
