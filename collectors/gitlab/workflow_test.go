package gitlab

import (
	"fmt"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
)

// A team on a GitLab issue board: the workflow:: label history becomes the
// issues' status history, and the flow metrics read it. Worked by hand
// (days of March 2026, 12:00 UTC; the window is 2–6 March):
//
//	#1 created 1 Mar; ready for development 1 Mar 13:00; in dev 2 Mar; in review 4 Mar; closed 5 Mar
//	#2 created 3 Mar; in dev 4 Mar (ready for development removed the same moment); open
//	#3 created 2 Mar, no board label, closed 6 Mar: opened/closed only
//
//	CFD (end of day): 2 Mar: #1 in progress, #3 todo → 1 todo, 1 in progress, 0 done
//	                  3 Mar: + #2 todo           → 2, 1, 0
//	                  4 Mar: #2 in dev            → 1, 2, 0
//	                  5 Mar: #1 closed            → 1, 1, 1
//	                  6 Mar: #3 closed            → 0, 1, 2
//	cycle time of #1: in dev 2 Mar 12:00 → closed 5 Mar 12:00 = 72 h.
func TestWorkflowHistory_BoardLabelsFeedFlow(t *testing.T) {
	day := func(d int, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	tp := func(t time.Time) *time.Time { return &t }
	label := func(id int64, at time.Time, action, name string) *gl.LabelEvent {
		return &gl.LabelEvent{ID: id, Action: action, CreatedAt: tp(at), ResourceType: "Issue", Label: gl.LabelEventLabel{Name: name}}
	}
	issue := func(iid int64, created time.Time, closed *time.Time) models.Issue {
		x := models.Issue{ID: fmt.Sprintf("gitlab:h:1:issue:%d", iid), ProjectPath: "acme/api", Key: fmt.Sprintf("#%d", iid), Type: "issue",
			CreatedAt: created, UpdatedAt: created, ClosedAt: closed, State: "opened"}
		if closed != nil {
			x.State = "closed"
		}
		return x
	}
	set := Defaults()
	one := issue(1, day(1, 12), tp(day(5, 12)))
	WorkflowHistory(&one, []*gl.LabelEvent{
		label(4, day(4, 12), "add", "workflow::in review"), label(3, day(4, 12), "remove", "workflow::in dev"), // out of order: sorted by time
		label(1, day(1, 13), "add", "workflow::ready for development"),
		label(2, day(2, 12), "add", "workflow::in dev"),
		label(9, day(3, 12), "add", "priority::high"), // not a workflow label
	}, set)
	two := issue(2, day(3, 12), nil)
	WorkflowHistory(&two, []*gl.LabelEvent{label(5, day(4, 12), "remove", "workflow::ready for development"), label(6, day(4, 12), "add", "workflow::In Dev")}, set)
	three := issue(3, day(2, 12), tp(day(6, 12)))
	WorkflowHistory(&three, nil, set)

	var steps []string
	for _, tr := range one.Transitions {
		steps = append(steps, tr.To+"/"+tr.ToCategory)
	}
	if fmt.Sprint(steps) != "[workflow::ready for development/todo workflow::in dev/in_progress workflow::in review/in_progress closed/done]" ||
		one.Status != "closed" || one.StatusCategory != models.CategoryDone {
		t.Errorf("#1 history %v, status %s/%s", steps, one.Status, one.StatusCategory)
	}
	if two.StatusCategory != models.CategoryInProgress || len(three.Transitions) != 0 {
		t.Errorf("#2 %s/%s, #3 %d transitions", two.Status, two.StatusCategory, len(three.Transitions))
	}

	in := metrics.Input{Issues: []models.Issue{one, two, three}}
	o := metrics.DefaultOptions(day(2, 0), day(7, 0))
	want := [][3]int{{1, 1, 0}, {2, 1, 0}, {1, 2, 0}, {1, 1, 1}, {0, 1, 2}}
	for i, d := range metrics.CumulativeFlow(in, o) {
		if got := [3]int{d.Todo, d.InProgress, d.Done}; got != want[i] {
			t.Errorf("%s: %v, want %v", d.Day.Format("2 Jan"), got, want[i])
		}
	}
	var cycle []float64
	for _, c := range metrics.CycleTimes(in, o) {
		cycle = append(cycle, c.Seconds/3600)
	}
	if fmt.Sprint(cycle) != "[72]" {
		t.Errorf("cycle times %v h, want [72] (#1; #3 was never in progress)", cycle)
	}
}
