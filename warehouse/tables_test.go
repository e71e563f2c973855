package warehouse

import (
	"errors"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devpulse/devpulse/models"
)

func rowsBatch() *models.Batch {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	org := models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	mr := func(id string, shas ...string) models.MergeRequest {
		m := models.MergeRequest{Origin: org, ID: id, ProjectPath: "acme/api", State: "merged", CreatedAt: at, UpdatedAt: at}
		for _, s := range shas {
			m.Commits = append(m.Commits, models.MRCommit{MRID: id, SHA: s, AuthoredAt: at, CommittedAt: at})
		}
		m.Reviews = []models.MRReview{{ID: id + ":r", MRID: id, Kind: "approval", CreatedAt: at}}
		return m
	}
	return &models.Batch{
		// mr1 twice: the later copy wins, in both paths.
		MergeRequests: []models.MergeRequest{mr("mr1", "a"), mr("mr2", "b", "c"), mr("mr1", "a", "d")},
		Pipelines:     []models.Pipeline{{Origin: org, ID: "p1", Ref: "main", Status: "success", CreatedAt: at, UpdatedAt: at}},
		Deployments: []models.Deployment{{Origin: org, ID: "d1", Environment: "production", Status: "success", CreatedAt: at, UpdatedAt: at,
			Changes: []models.DeploymentChange{{DeploymentID: "d1", MRID: "mr2"}}}},
		Issues: []models.Issue{{Origin: org, ID: "i1", Key: "1", State: "closed", CreatedAt: at, UpdatedAt: at,
			Transitions: []models.IssueTransition{{ID: "t1", Field: "status", At: at}}}},
		Sprints: []models.Sprint{{Origin: org, ID: "s1", UpdatedAt: at}},
	}
}

// TestEachRows_SameAsBatchRows: the pipelined path hands over exactly the
// tables, order and rows of BatchRows (parents before children, duplicates
// resolved to the last copy).
func TestEachRows_SameAsBatchRows(t *testing.T) {
	b, now := rowsBatch(), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	want := BatchRows(b, now)
	var got []Rows
	if err := EachRows(b, now, func(r Rows) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("EachRows differs from BatchRows:\n got %v\nwant %v", got, want)
	}
	if len(want[0].Rows) != 2 || len(want[1].Rows) != 4 {
		t.Errorf("%d merge requests and %d commits, want 2 and 4 (mr1's a once, then b, c, d)", len(want[0].Rows), len(want[1].Rows))
	}
}

// TestEachRows_StopsAtTheFirstError: no table after the failing one is
// handed over, and the builder goroutine has ended when EachRows returns
// (synctest fails the test if a goroutine of the bubble is left blocked).
func TestEachRows_StopsAtTheFirstError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		var seen []string
		err := EachRows(rowsBatch(), time.Now(), func(r Rows) error {
			seen = append(seen, r.Table.Name)
			if r.Table.Name == MRCommits.Name {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		if want := []string{"merge_requests", "mr_commits"}; !reflect.DeepEqual(seen, want) {
			t.Errorf("tables handed over: %v, want %v", seen, want)
		}
	})
}
