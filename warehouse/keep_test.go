package warehouse_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

// TestLoadSelection_ManyKeptOldChangesStillCut: when more old MRs are to
// keep their children than a statement can spell out, those a deployment
// since lists are named by a subquery and only the rest one by one — the
// children of the MRs no one keeps stay in the engine instead of everyone's
// being read (what a long history with deployments listing their MRs hit).
func TestLoadSelection_ManyKeptOldChangesStillCut(t *testing.T) {
	ctx := context.Background()
	w, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	base := warehousetest.Base
	cut := base.Add(100 * time.Hour)
	// MRs 1-3 merged before the cut, 4 after; a deployment since the cut
	// lists 1 and 2; KeepChildren names 1, 2 and 3 (3 as if by the time
	// rule), so only MR 3 needs spelling out.
	var mrs []models.MergeRequest
	for i, merged := range []time.Duration{10, 20, 30, 200} {
		m := warehousetest.MR(int64(i+1), base.Add(300*time.Hour), fmt.Sprintf("c%d", i))
		at := base.Add(merged * time.Hour)
		m.State, m.MergedAt = "merged", &at
		mrs = append(mrs, m)
	}
	fin := base.Add(150 * time.Hour)
	dep := models.Deployment{Origin: mrs[0].Origin, ID: models.GitLabID("gitlab.example.com", 7, "deployment", 1), ProjectID: 7, ProjectPath: "acme/api",
		Environment: "production", EnvironmentTier: "production", Status: "success", Ref: "main", SHA: "abc", CreatedAt: fin, UpdatedAt: fin, FinishedAt: &fin}
	for _, m := range mrs[:2] {
		dep.Changes = append(dep.Changes, models.DeploymentChange{DeploymentID: dep.ID, MRID: m.ID})
	}
	// An old MR no one keeps, listed only by a deployment before the cut.
	old := warehousetest.MR(5, base.Add(300*time.Hour), "c5")
	at := base.Add(5 * time.Hour)
	old.State, old.MergedAt = "merged", &at
	mrs = append(mrs, old)
	early := base.Add(50 * time.Hour)
	dep0 := dep
	dep0.ID, dep0.FinishedAt, dep0.CreatedAt, dep0.UpdatedAt = models.GitLabID("gitlab.example.com", 7, "deployment", 0), &early, early, early
	dep0.Changes = []models.DeploymentChange{{DeploymentID: dep0.ID, MRID: old.ID}}
	b := &models.Batch{MergeRequests: mrs, Deployments: []models.Deployment{dep0, dep}}
	if err := w.Land(ctx, warehousetest.Key, warehousetest.Clear(t, b), base.Add(300*time.Hour)); err != nil {
		t.Fatal(err)
	}
	keep := []string{mrs[0].ID, mrs[1].ID, mrs[2].ID}
	for _, max := range []int{5000, 1} {
		restore := warehouse.SetMaxKeepList(max)
		got, err := warehouse.LoadSelection(ctx, w, &warehouse.Selection{Paths: []string{"acme/api"}, ForMetrics: true, ChildrenSince: cut,
			KeepChildren: func(*models.Batch) []string { return keep }})
		restore()
		if err != nil {
			t.Fatal(err)
		}
		var commits []string
		for _, m := range got.MergeRequests {
			commits = append(commits, fmt.Sprintf("%d:%d", m.IID, len(m.Commits)))
		}
		if want := "[1:1 2:1 3:1 4:1 5:0]"; fmt.Sprint(commits) != want {
			t.Errorf("ids spelt out up to %d: IID:commits %v, want %s", max, commits, want)
		}
	}
}
