package gitlab_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
)

// TestJobs_DeployJobsLandAsProductionDeployments: a project without GitLab
// environments deploys from a job named deploy (and to staging from
// deploy-staging; every pipeline also has a test job). With
// deployments.jobs ^deploy$ the jobs stream lands exactly its production
// deploy jobs, paging GitLab's keyset way (pages of 5, newest first), and
// an incremental run reads back only to a day before its cursor.
func TestJobs_DeployJobsLandAsProductionDeployments(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	org := sandbox.Generate(7, sandbox.Size{Projects: 2, MRsPerProject: 5, PipelinesPerProject: 30, DeploymentsPerProject: 20, IssuesPerProject: 1, JobDeployProjects: 1}, now)
	srv := sandbox.Start(org, sandbox.Options{})
	defer srv.Close()
	jobProject := org.ProjectPaths()[1]

	own := ""
	var byProject map[string]string
	collect := func(t *testing.T, rules config.Deployments, path string, since time.Time) ([]models.Deployment, time.Time, int64) {
		t.Helper()
		src := testSource(srv.URL)
		src.Settings = &gitlab.Settings{MRSize: true, DeployJobs: own, DeployJobsByProject: byProject}
		col, err := gitlab.New(src, gitlab.Options{PerPage: 5, Deployments: rules})
		if err != nil {
			t.Fatal(err)
		}
		defer col.Close()
		var deps []models.Deployment
		var cursor time.Time
		before := srv.Requests()["jobs"]
		out := models.Output{Emit: func(_ context.Context, b *models.Batch, c time.Time) error {
			deps = append(deps, b.Deployments...)
			if c.After(cursor) {
				cursor = c
			}
			return nil
		}}
		scope := models.Scope{Path: path, ID: idOf(t, srv, path), DefaultBranch: "main"}
		if err := col.Collect(context.Background(), scope, "jobs", since, out); err != nil {
			t.Fatal(err)
		}
		return deps, cursor, srv.Requests()["jobs"] - before
	}

	want := org.JobDeploys(jobProject, time.Time{})
	if len(want) < 10 {
		t.Fatalf("the sandbox project deploys only %d times: the test tests little", len(want))
	}
	deps, cursor, requests := collect(t, config.Deployments{Jobs: "^deploy$"}, jobProject, now.AddDate(-1, 0, 0))
	got := map[int64]string{}
	for _, d := range deps {
		got[d.DeploymentID] = d.Status
		if d.Environment != "production" || d.EnvironmentTier != "production" || d.JobName != "deploy" || d.PipelineID == 0 || d.SHA == "" ||
			!strings.Contains(d.ID, ":job:") || d.FinishedAt == nil {
			t.Errorf("deployment %+v", d)
		}
	}
	if len(got) != len(want) {
		t.Errorf("landed %d deploy jobs, want %d", len(got), len(want))
	}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("job %d: landed %q, want %q", id, got[id], st)
		}
	}
	// ~20 deploy jobs + 20 staging + 30 test jobs in pages of 5.
	if requests < 10 {
		t.Errorf("%d requests: the list was not paged", requests)
	}
	if cursor.IsZero() {
		t.Error("a complete scan moved no cursor")
	}

	// Incremental: from 10 days ago, only jobs created since 11 days ago.
	since := now.AddDate(0, 0, -10)
	deps, _, _ = collect(t, config.Deployments{Jobs: "^deploy$"}, jobProject, since)
	recent := org.JobDeploys(jobProject, since.Add(-24*time.Hour))
	if len(deps) != len(recent) {
		t.Errorf("incremental run landed %d, want the %d created since a day before the cursor", len(deps), len(recent))
	}

	// A source's own rule wins over the global one; a stage rule narrows.
	deps, _, _ = collect(t, config.Deployments{Jobs: "^nothing$", JobStages: "^deploy$"}, jobProject, now.AddDate(-1, 0, 0))
	if len(deps) != 0 {
		t.Errorf("rule ^nothing$ landed %d", len(deps))
	}
	own = "^deploy$"
	if deps, _, _ = collect(t, config.Deployments{Jobs: "^nothing$"}, jobProject, now.AddDate(-1, 0, 0)); len(deps) != len(want) {
		t.Errorf("the source's deploy_jobs ^deploy$ over the global ^nothing$ landed %d, want %d", len(deps), len(want))
	}
	if deps, _, _ = collect(t, config.Deployments{JobStages: "^release$"}, jobProject, now.AddDate(-1, 0, 0)); len(deps) != 0 {
		t.Errorf("stage rule ^release$ (the jobs' stage is deploy) landed %d", len(deps))
	}
	own = ""
	// A project's own rule: deploy-staging counts there, and "" turns the global rule off.
	byProject = map[string]string{jobProject: "^deploy-staging$"}
	if deps, _, _ = collect(t, config.Deployments{Jobs: "^deploy$"}, jobProject, now.AddDate(-1, 0, 0)); len(deps) == 0 || deps[0].JobName != "deploy-staging" {
		t.Errorf("per-project rule: %d deployments (%v)", len(deps), deps)
	}
	byProject = map[string]string{jobProject: ""}
	if deps, _, n := collect(t, config.Deployments{Jobs: "^deploy$"}, jobProject, now.AddDate(-1, 0, 0)); len(deps) != 0 || n != 0 {
		t.Errorf("per-project rule off: %d deployments, %d requests", len(deps), n)
	}
	byProject = nil
	// No rule: the stream makes no request at all.
	if deps, _, n := collect(t, config.Deployments{}, jobProject, now.AddDate(-1, 0, 0)); n != 0 || len(deps) != 0 {
		t.Errorf("without a job rule: %d requests, %d deployments", n, len(deps))
	}
	// A project that deploys through environments has no deploy job.
	if deps, _, _ := collect(t, config.Deployments{Jobs: "^deploy$"}, org.ProjectPaths()[0], now.AddDate(-1, 0, 0)); len(deps) != 0 {
		t.Errorf("environment-deployed project: %d job deployments", len(deps))
	}
}

func idOf(t *testing.T, srv *sandbox.Server, path string) int64 {
	t.Helper()
	resp, err := http.Get(srv.URL + "/api/v4/projects/" + url.PathEscape(path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.ID == 0 {
		t.Fatalf("project %s: %v", path, err)
	}
	return p.ID
}

// An MR whose commit carries an assistant's Co-authored-by trailer is
// flagged AI-assisted while the collector still sees the message (it never
// lands); without the assistant in ai.assistants it is not.
func TestMergeRequests_AIAssistedFromCommitTrailers(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	org := sandbox.Generate(3, sandbox.Size{Projects: 1, MRsPerProject: 30, PipelinesPerProject: 1, DeploymentsPerProject: 1, IssuesPerProject: 1}, now)
	srv := sandbox.Start(org, sandbox.Options{})
	defer srv.Close()
	path := org.ProjectPaths()[0]
	flagged := func(ai config.AI) (n, of int) {
		col, err := gitlab.New(testSource(srv.URL), gitlab.Options{AI: ai})
		if err != nil {
			t.Fatal(err)
		}
		defer col.Close()
		out := models.Output{Emit: func(_ context.Context, b *models.Batch, _ time.Time) error {
			for _, m := range b.MergeRequests {
				of++
				if m.AIAssisted {
					n++
				}
			}
			return nil
		}}
		if err := col.Collect(context.Background(), models.Scope{Path: path, ID: idOf(t, srv, path), DefaultBranch: "main"}, "merge_requests", now.AddDate(-1, 0, 0), out); err != nil {
			t.Fatal(err)
		}
		return n, of
	}
	n, of := flagged(config.AI{Assistants: []string{"GitHub Copilot"}})
	if n == 0 || n == of {
		t.Errorf("%d of %d MRs flagged: want some (one in five carries the trailer), not all", n, of)
	}
	if n, _ := flagged(config.AI{Assistants: []string{"Claude"}}); n != 0 {
		t.Errorf("%d MRs flagged for an assistant no commit names", n)
	}
}

// A team that plans on a GitLab board: milestones land as sprints (with
// their start and due dates), issues carry their milestone as sprint and
// their weight as points, and the workflow:: label history as statuses.
func TestIssues_MilestonesWeightsAndBoardHistory(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	org := sandbox.Generate(4, sandbox.Size{Projects: 1, MRsPerProject: 1, PipelinesPerProject: 1, DeploymentsPerProject: 1, IssuesPerProject: 30}, now)
	srv := sandbox.Start(org, sandbox.Options{})
	defer srv.Close()
	path := org.ProjectPaths()[0]
	col, err := gitlab.New(testSource(srv.URL), gitlab.Options{PerPage: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	b := &models.Batch{}
	out := models.Output{Emit: func(_ context.Context, x *models.Batch, _ time.Time) error {
		b.Sprints = append(b.Sprints, x.Sprints...)
		b.Issues = append(b.Issues, x.Issues...)
		return nil
	}}
	scope := models.Scope{Path: path, ID: idOf(t, srv, path), DefaultBranch: "main"}
	for _, stream := range []string{"milestones", "issues"} {
		if err := col.Collect(context.Background(), scope, stream, now.AddDate(-1, 0, 0), out); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, s := range b.Sprints {
		ids[s.ID] = true
		if s.StartDate == "" || s.DueDate == "" || s.DueDate <= s.StartDate || !strings.Contains(s.ID, ":milestone:") {
			t.Errorf("sprint %+v", s)
		}
	}
	var planned, weighted, boarded int
	for _, x := range b.Issues {
		if x.SprintID != "" {
			planned++
			if !ids[x.SprintID] {
				t.Errorf("%s is in sprint %s, which did not land", x.Key, x.SprintID)
			}
		}
		if x.StoryPoints != nil {
			weighted++
		}
		if len(x.Transitions) > 0 {
			boarded++
		}
	}
	if len(b.Sprints) < 8 || planned == 0 || weighted == 0 || boarded == 0 {
		t.Errorf("%d sprints, %d issues in a sprint, %d with a weight, %d with a board history (of %d)", len(b.Sprints), planned, weighted, boarded, len(b.Issues))
	}
}

// A project with issues disabled answers its milestones list with 403 (or
// 404): no board, not a failed stream.
func TestMilestones_ProjectWithoutIssuesIsNoFailure(t *testing.T) {
	for _, code := range []int{403, 404} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			w.Write([]byte(`{"message":"403 Forbidden"}`))
		}))
		col, err := gitlab.New(testSource(srv.URL), gitlab.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var cursor time.Time
		out := models.Output{Emit: func(_ context.Context, b *models.Batch, c time.Time) error { cursor = c; return nil }}
		if err := col.Collect(context.Background(), models.Scope{Path: "g/p", ID: 9}, "milestones", time.Time{}, out); err != nil || cursor.IsZero() {
			t.Errorf("%d: %v (cursor %v)", code, err, cursor)
		}
		col.Close()
		srv.Close()
	}
}
