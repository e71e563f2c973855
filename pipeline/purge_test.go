package pipeline_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
)

func TestPurge_RemovesNewlyExcludedRowsWithTheirChildren(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 3, MRsPerProject: 90, PipelinesPerProject: 30, DeploymentsPerProject: 8, IssuesPerProject: 40}, sandbox.Options{})
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{}); err != nil {
		t.Fatal(err)
	}
	labelled := e.count(`SELECT count(*) FROM merge_requests WHERE labels LIKE '%confidential-client%'`)
	project := e.srv.Org.ProjectPaths()[1]
	inProject := e.count(`SELECT count(*) FROM merge_requests WHERE project_path = '` + project + `'`)
	incidents := e.count(`SELECT count(*) FROM issues WHERE "type" = 'incident'`)
	if labelled == 0 || inProject == 0 || incidents == 0 {
		t.Fatalf("sandbox lacks the records this test needs: %d %d %d", labelled, inProject, incidents)
	}

	// A contract now forbids a client's MRs, one project and incidents.
	e.cfg.Privacy.Exclude = config.Exclude{Labels: []string{"confidential-client"}, Projects: []string{project}, IssueTypes: []string{"incident"}}
	pol, err := policy.New(e.cfg.Privacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := e.fingerprint()
	dry, err := pipeline.Purge(ctx, e.wh, pol, true)
	if err != nil {
		t.Fatal(err)
	}
	if e.fingerprint() != before {
		t.Fatal("a dry run changed the warehouse")
	}
	done, err := pipeline.Purge(ctx, e.wh, pol, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dry, done) {
		t.Errorf("dry run said %+v, purge did %+v", dry, done)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM merge_requests WHERE labels LIKE '%confidential-client%'`:                             0,
		`SELECT count(*) FROM merge_requests WHERE project_path = '` + project + `'`:                                0,
		`SELECT count(*) FROM pipelines WHERE project_path = '` + project + `'`:                                     0,
		`SELECT count(*) FROM deployments WHERE project_path = '` + project + `'`:                                   0,
		`SELECT count(*) FROM issues WHERE "type" = 'incident'`:                                                     0,
		`SELECT count(*) FROM mr_commits WHERE mr_id NOT IN (SELECT id FROM merge_requests)`:                        0,
		`SELECT count(*) FROM mr_reviews WHERE mr_id NOT IN (SELECT id FROM merge_requests)`:                        0,
		`SELECT count(*) FROM deployment_changes WHERE mr_id NOT IN (SELECT id FROM merge_requests)`:                0,
		`SELECT count(*) FROM deployment_changes WHERE deployment_id NOT IN (SELECT id FROM deployments)`:           0,
		`SELECT count(*) FROM runs WHERE command = 'purge' AND policy LIKE '%exclude.labels[confidential-client]%'`: 1,
	} {
		if got := e.count(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if got := done.ByRule["exclude.projects["+project+"]"]; got == 0 {
		t.Errorf("by rule = %v", done.ByRule)
	}
	// Collecting again with the rule in place lands none of it back, and counts what it dropped.
	e.cfg.Privacy.Exclude = config.Exclude{Labels: []string{"confidential-client"}, Projects: []string{project}, IssueTypes: []string{"incident"}}
	res, err := e.collect(ctx, pipeline.Options{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.count(`SELECT count(*) FROM merge_requests WHERE labels LIKE '%confidential-client%' OR project_path = '` + project + `'`); got != 0 {
		t.Errorf("%d excluded MRs landed again", got)
	}
	if res.Run.Policy["exclude.projects["+project+"] (projects not fetched)"] != 1 || res.Run.Policy["exclude.labels[confidential-client]"] == 0 {
		t.Errorf("run policy counts = %v", res.Run.Policy)
	}
}

// A JIRA project excluded after its keys were named by merge requests: the
// links that name it go (the key is what the contract forbids), the other
// links stay, and a dry run counts exactly what purge removes.
func TestPurge_RemovesLinksToAnExcludedTrackerProject(t *testing.T) {
	e := newEnv(t, sandbox.Size{Projects: 2, MRsPerProject: 40, PipelinesPerProject: 5, DeploymentsPerProject: 2, IssuesPerProject: 2}, sandbox.Options{})
	paths := e.srv.Org.ProjectPaths()
	e.srv.Org.LinkJira("SECRET", 30, paths[0])
	e.srv.Org.LinkJira("APP", 30, paths[1])
	e.cfg.Sources["jr"] = &config.Source{Name: "jr", Type: "jira", URL: "https://jira.example.com", Projects: []string{"APP", "SECRET"}}
	ctx := context.Background()
	if _, err := e.collect(ctx, pipeline.Options{Sources: []string{"gl"}}); err != nil {
		t.Fatal(err)
	}
	secret := e.count(`SELECT count(*) FROM issue_links WHERE issue_key LIKE 'SECRET-%'`)
	app := e.count(`SELECT count(*) FROM issue_links WHERE issue_key LIKE 'APP-%'`)
	if secret == 0 || app == 0 {
		t.Fatalf("links landed: %d SECRET, %d APP; the test needs both", secret, app)
	}
	e.cfg.Privacy.Exclude = config.Exclude{Projects: []string{"SECRET"}}
	pol, err := policy.New(e.cfg.Privacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := pipeline.Purge(ctx, e.wh, pol, true)
	if err != nil {
		t.Fatal(err)
	}
	done, err := pipeline.Purge(ctx, e.wh, pol, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dry, done) || done.ByTable["issue_links"] == 0 {
		t.Errorf("dry run %+v, purge %+v", dry, done)
	}
	if n := e.count(`SELECT count(*) FROM issue_links WHERE issue_key LIKE 'SECRET-%'`); n != 0 {
		t.Errorf("%d links to the excluded project remain", n)
	}
	if n := e.count(`SELECT count(*) FROM issue_links WHERE issue_key LIKE 'APP-%'`); n != app {
		t.Errorf("%d of %d APP links remain", n, app)
	}
}
