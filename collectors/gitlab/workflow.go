package gitlab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/models"
)

// workflowCategory is a board label's flow category, "" for a label that is
// not a workflow label.
func (s *Settings) workflowCategory(label string) string {
	if s.WorkflowPrefix == "" || !strings.HasPrefix(strings.ToLower(label), strings.ToLower(s.WorkflowPrefix)) {
		return ""
	}
	for l, cat := range s.WorkflowLabels {
		if strings.EqualFold(l, label) {
			return cat
		}
	}
	return models.CategoryTodo
}

// WorkflowHistory turns an issue's label events into its status history:
// each workflow label added is a status (removing the current one without
// another returns it to "opened"), and closing the issue is "closed", done.
// Without any workflow label event it leaves the issue as it is (opened and
// closed only, as METRICS.md has GitLab issues).
func WorkflowHistory(x *models.Issue, events []*gl.LabelEvent, set *Settings) {
	sort.SliceStable(events, func(i, j int) bool { return t0(events[i].CreatedAt).Before(t0(events[j].CreatedAt)) })
	cur, curCat := "opened", models.CategoryTodo
	var out []models.IssueTransition
	move := func(id string, ev *gl.LabelEvent, to, cat string) {
		if to == cur {
			return
		}
		out = append(out, models.IssueTransition{IssueID: x.ID, ID: x.ID + ":wf:" + id, Field: models.FieldStatus,
			At: t0(ev.CreatedAt), From: cur, To: to, FromCategory: curCat, ToCategory: cat})
		cur, curCat = to, cat
	}
	for _, ev := range events {
		cat := set.workflowCategory(ev.Label.Name)
		if cat == "" || ev.CreatedAt == nil {
			continue
		}
		switch ev.Action {
		case "add":
			move(strconv.FormatInt(ev.ID, 10), ev, ev.Label.Name, cat)
		case "remove":
			if strings.EqualFold(ev.Label.Name, cur) {
				move(strconv.FormatInt(ev.ID, 10), ev, "opened", models.CategoryTodo)
			}
		}
	}
	if len(out) == 0 {
		return
	}
	if x.ClosedAt != nil && cur != "closed" {
		closed := &gl.LabelEvent{CreatedAt: x.ClosedAt}
		if !x.ClosedAt.Before(out[len(out)-1].At) {
			move("closed", closed, "closed", models.CategoryDone)
		}
	}
	x.Transitions = out
	x.Status, x.StatusCategory = cur, curCat
}

// labelHistory reads the label events of changed issues (one list per
// issue: only issues changed since the cursor cost a request).
func (c *Collector) labelHistory(ctx context.Context, scopeOf func(i int) models.Scope, issues []models.Issue, list []*gl.Issue) error {
	if c.set.WorkflowPrefix == "" {
		return nil
	}
	return c.forEach(ctx, len(list), func(ctx context.Context, i int) error {
		x, s := list[i], scopeOf(i)
		events, err := allPages(ctx, c, fmt.Sprintf("list label events of %s#%d", s.Path, x.IID),
			projectPath(s, fmt.Sprintf("issues/%d/resource_label_events", x.IID)),
			&gl.ListLabelEventsOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}},
			func(e *gl.LabelEvent) error { return needID("id", e.ID) },
			func(e *gl.LabelEvent) string { return strconv.FormatInt(e.ID, 10) })
		if errors.Is(err, ErrNotFound) {
			// An issue moved or deleted between the list and this request: its
			// opened/closed history stands; the next run reads it again.
			c.log.Debug("label events not found; the issue keeps its opened/closed history", "project", s.Path, "issue", x.IID)
			return nil
		}
		if err != nil {
			return err
		}
		WorkflowHistory(&issues[i], events, c.set)
		return nil
	})
}

// milestones reads a project's milestones, every state, whole each run:
// a project has few, and a due date moved must be seen.
func (c *Collector) milestones(ctx context.Context, s models.Scope, out models.Output) error {
	start := c.now()
	list, err := allPages(ctx, c, "list milestones of "+s.Path, projectPath(s, "milestones"),
		&gl.ListMilestonesOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}},
		func(m *gl.Milestone) error { return needID("id", m.ID) },
		func(m *gl.Milestone) string { return strconv.FormatInt(m.ID, 10) })
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrAuth) && strings.Contains(err.Error(), "403") {
		// A project with issues (and so milestones) disabled answers 404 or
		// 403: it has no board to read, which is no failure of the run.
		c.log.Debug("no milestones to read", "project", s.Path, "err", err)
		return out.Emit(ctx, &models.Batch{}, start)
	}
	if err != nil {
		return err
	}
	var all []models.Sprint
	listed := map[string]time.Time{}
	for _, m := range list {
		if m.DueDate != nil { // no due date, no sprint window
			sp := Milestone(c.host, s.Path, s.ID, m)
			all = append(all, sp)
			listed[sp.ID] = sp.UpdatedAt
		}
	}
	same := map[string]bool{}
	if len(listed) > 0 {
		if same, err = out.Unchanged(ctx, listed); err != nil {
			return fmt.Errorf("gitlab %s: list milestones of %s: look up landed records: %w", c.src.Name, s.Path, err)
		}
	}
	b := &models.Batch{}
	for _, sp := range all {
		if !same[sp.ID] {
			b.Sprints = append(b.Sprints, sp)
		}
	}
	return out.Emit(ctx, b, start)
}
