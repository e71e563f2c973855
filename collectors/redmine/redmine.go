package redmine

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/devpulse/devpulse/collectors/scan"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/models"
)

const limit = 100

// Options are runtime dependencies the registry passes in.
type Options struct {
	Logger    *slog.Logger
	Stats     *httpx.Stats
	Transport http.RoundTripper
	Sleep     func(context.Context, time.Duration) error
	// Now is the clock a scan's start is read from (tests); default time.Now.
	Now func() time.Time
	// Limit is the page size of the issue list (tests); default 100.
	Limit int
}

// Collector is one configured Redmine source.
type Collector struct {
	src   *config.Source
	set   *Settings
	hc    *http.Client
	base  string
	host  string
	log   *slog.Logger
	now   func() time.Time
	limit int

	statusOnce sync.Once
	statuses   map[int]status
	statusErr  error
}

type status struct {
	Name     string
	Category string
}

// New builds the collector. No request is made.
func New(src *config.Source, o Options) (*Collector, error) {
	u, err := url.Parse(src.URL)
	if err != nil {
		return nil, fmt.Errorf("redmine %s: url: %w", src.Name, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc, err := httpx.NewClient(httpx.ForSource(src, log, o.Stats, o.Transport, o.Sleep))
	if err != nil {
		return nil, fmt.Errorf("redmine %s: %w", src.Name, err)
	}
	set, err := settingsOf(src)
	if err != nil {
		return nil, err
	}
	c := &Collector{src: src, set: set, hc: hc, base: strings.TrimRight(src.URL, "/"), host: u.Host, log: log, now: o.Now, limit: o.Limit}
	if c.now == nil {
		c.now = time.Now
	}
	if c.limit <= 0 {
		c.limit = limit
	}
	return c, nil
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return c.src.Name }

// Instance implements collectors.Collector.
func (c *Collector) Instance() string { return c.host }

// Streams implements collectors.Collector.
func (c *Collector) Streams() []string { return c.src.Streams }

// Check implements collectors.Checker.
func (c *Collector) Check(ctx context.Context) error {
	var me struct {
		User struct {
			ID int `json:"id"`
		} `json:"user"`
	}
	if err := c.get(ctx, "check key (GET /users/current.json)", "/users/current.json", nil, &me); err != nil {
		return err
	}
	_, err := c.Scopes(ctx)
	return err
}

// Scopes implements collectors.Collector: each configured project identifier.
func (c *Collector) Scopes(ctx context.Context) ([]models.Scope, error) {
	var out []models.Scope
	for _, p := range c.src.Projects {
		var pr struct {
			Project struct {
				ID         int64  `json:"id"`
				Identifier string `json:"identifier"`
			} `json:"project"`
		}
		if err := c.get(ctx, "get project "+p, "/projects/"+url.PathEscape(p)+".json", nil, &pr); err != nil {
			return nil, err
		}
		out = append(out, models.Scope{Path: pr.Project.Identifier, ID: pr.Project.ID})
	}
	return out, nil
}

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, s models.Scope, stream string, since time.Time, out models.Output) error {
	switch stream {
	case "issues":
		return c.issues(ctx, s, since, out)
	case "versions":
		return c.versions(ctx, s, out)
	}
	return fmt.Errorf("redmine %s: unknown stream %q", c.src.Name, stream)
}

// loadStatuses reads issue statuses once: is_closed decides done.
func (c *Collector) loadStatuses(ctx context.Context) (map[int]status, error) {
	c.statusOnce.Do(func() {
		var r struct {
			IssueStatuses []struct {
				ID       int    `json:"id"`
				Name     string `json:"name"`
				IsClosed bool   `json:"is_closed"`
			} `json:"issue_statuses"`
		}
		if c.statusErr = c.get(ctx, "list issue statuses", "/issue_statuses.json", nil, &r); c.statusErr != nil {
			return
		}
		c.statuses = map[int]status{}
		for _, st := range r.IssueStatuses {
			c.statuses[st.ID] = status{Name: st.Name, Category: c.category(st.Name, st.IsClosed)}
		}
	})
	return c.statuses, c.statusErr
}

// category: is_closed → done; redmine.in_progress_statuses → in_progress; else todo.
func (c *Collector) category(name string, closed bool) string {
	if closed {
		return models.CategoryDone
	}
	for _, s := range c.set.InProgressStatuses {
		if strings.EqualFold(s, name) {
			return models.CategoryInProgress
		}
	}
	return models.CategoryTodo
}

type ref struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	IsClosed *bool  `json:"is_closed"`
}

type customField struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type journal struct {
	ID        int    `json:"id"`
	User      ref    `json:"user"`
	CreatedOn string `json:"created_on"`
	Details   []struct {
		Property string  `json:"property"`
		Name     string  `json:"name"`
		OldValue *string `json:"old_value"`
		NewValue *string `json:"new_value"`
	} `json:"details"`
}

// IssueJSON is an issue as /issues.json and /issues/{id}.json return it.
type IssueJSON struct {
	ID           int           `json:"id"`
	Project      ref           `json:"project"`
	Tracker      ref           `json:"tracker"`
	Status       ref           `json:"status"`
	Priority     ref           `json:"priority"`
	Author       *ref          `json:"author"`
	AssignedTo   *ref          `json:"assigned_to"`
	FixedVersion *ref          `json:"fixed_version"`
	Subject      string        `json:"subject"`
	CreatedOn    string        `json:"created_on"`
	UpdatedOn    string        `json:"updated_on"`
	ClosedOn     *string       `json:"closed_on"`
	CustomFields []customField `json:"custom_fields"`
	Journals     []journal     `json:"journals"`
}

func ts(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t.UTC()
}

func (c *Collector) id(kind string, n int) string {
	if kind == "" {
		return fmt.Sprintf("redmine:%s:%d", c.host, n)
	}
	return fmt.Sprintf("redmine:%s:%s:%d", c.host, kind, n)
}

func (c *Collector) person(r *ref) models.Person {
	if r == nil || r.ID == 0 {
		return models.Person{}
	}
	return models.Person{ID: strconv.Itoa(r.ID), Name: r.Name}
}

// People implements collectors.Peopler: the project's members
// (GET /projects/{id}/memberships.json; groups have no name of a person).
func (c *Collector) People(ctx context.Context, s models.Scope) ([]models.Person, error) {
	var out []models.Person
	for offset := 0; ; {
		var page struct {
			Memberships []struct {
				User *ref `json:"user"`
			} `json:"memberships"`
			TotalCount int `json:"total_count"`
		}
		if err := c.get(ctx, fmt.Sprintf("list members of %s (offset %d)", s.Path, offset), fmt.Sprintf("/projects/%d/memberships.json", s.ID),
			url.Values{"offset": {strconv.Itoa(offset)}, "limit": {"100"}}, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Memberships {
			if m.User != nil {
				out = append(out, c.person(m.User))
			}
		}
		offset += len(page.Memberships)
		if len(page.Memberships) == 0 || offset >= page.TotalCount {
			return out, nil
		}
	}
}

// isPointsField matches story_points_field by id or by name.
func (c *Collector) isPointsField(id int, name string) bool {
	f := c.set.StoryPointsField
	return f != "" && (f == strconv.Itoa(id) || strings.EqualFold(f, name))
}

func (c *Collector) pointsFieldID(cfs []customField) string {
	for _, cf := range cfs {
		if c.isPointsField(cf.ID, cf.Name) {
			return strconv.Itoa(cf.ID)
		}
	}
	return ""
}

func parsePoints(v string) *float64 {
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		return &f
	}
	return nil
}

// Issue converts an issue with its journals. Journals become transitions:
// status (with category), fixed_version (sprint moves) and story points.
func (c *Collector) Issue(project string, x *IssueJSON, statuses map[int]status) models.Issue {
	id := c.id("", x.ID)
	st := statuses[x.Status.ID]
	if st.Name == "" {
		closed := x.Status.IsClosed != nil && *x.Status.IsClosed
		st = status{Name: x.Status.Name, Category: c.category(x.Status.Name, closed)}
	}
	out := models.Issue{Origin: models.Origin{Source: "redmine", Instance: c.host}, ID: id, ProjectID: int64(x.Project.ID),
		ProjectPath: project, Key: strconv.Itoa(x.ID), Title: x.Subject, Type: x.Tracker.Name,
		TypeClass: models.ClassOf(x.Tracker.Name, c.set.IssueTypes), Status: st.Name, Priority: x.Priority.Name,
		StatusCategory: st.Category, Author: c.person(x.Author), Assignee: c.person(x.AssignedTo),
		WebURL: fmt.Sprintf("%s/issues/%d", c.base, x.ID), CreatedAt: ts(x.CreatedOn), UpdatedAt: ts(x.UpdatedOn)}
	out.State = "opened"
	if st.Category == models.CategoryDone {
		out.State = "closed"
	}
	if x.ClosedOn != nil && *x.ClosedOn != "" {
		t := ts(*x.ClosedOn)
		out.ClosedAt = &t
	}
	if x.FixedVersion != nil && x.FixedVersion.ID != 0 {
		out.SprintID = c.id("version", x.FixedVersion.ID)
	}
	pointsID := c.pointsFieldID(x.CustomFields)
	for _, cf := range x.CustomFields {
		if c.isPointsField(cf.ID, cf.Name) {
			if s, ok := cf.Value.(string); ok {
				out.StoryPoints = parsePoints(s)
			}
		}
	}
	js := append([]journal(nil), x.Journals...)
	sort.SliceStable(js, func(i, j int) bool {
		return js[i].CreatedOn < js[j].CreatedOn || (js[i].CreatedOn == js[j].CreatedOn && js[i].ID < js[j].ID)
	})
	name := func(v *string) (string, string) {
		if v == nil || *v == "" {
			return "", ""
		}
		n, _ := strconv.Atoi(*v)
		s := statuses[n]
		if s.Name == "" {
			s = status{Name: *v, Category: models.CategoryTodo}
		}
		return s.Name, s.Category
	}
	version := func(v *string) string {
		if v == nil || *v == "" {
			return ""
		}
		n, _ := strconv.Atoi(*v)
		return c.id("version", n)
	}
	str := func(v *string) string {
		if v == nil {
			return ""
		}
		return *v
	}
	var initial *string
	for _, j := range js {
		at := ts(j.CreatedOn)
		for _, d := range j.Details {
			t := models.IssueTransition{IssueID: id, At: at}
			switch {
			case d.Property == "attr" && d.Name == "status_id":
				if initial == nil {
					initial = d.OldValue
				}
				t.Field = models.FieldStatus
				t.From, t.FromCategory = name(d.OldValue)
				t.To, t.ToCategory = name(d.NewValue)
			case d.Property == "attr" && d.Name == "fixed_version_id":
				t.Field, t.From, t.To = models.FieldSprint, version(d.OldValue), version(d.NewValue)
			case d.Property == "cf" && pointsID != "" && d.Name == pointsID:
				t.Field, t.From, t.To = models.FieldStoryPoints, str(d.OldValue), str(d.NewValue)
			default:
				continue
			}
			t.ID = fmt.Sprintf("%s:%d:%s", id, j.ID, t.Field)
			out.Transitions = append(out.Transitions, t)
		}
	}
	// The status the issue was created in: the first change's old value, or
	// today's if it never changed. Flow metrics need the entry at creation.
	first := models.IssueTransition{IssueID: id, ID: id + ":0:status", Field: models.FieldStatus, At: out.CreatedAt}
	if initial != nil {
		first.To, first.ToCategory = name(initial)
	} else {
		first.To, first.ToCategory = st.Name, st.Category
	}
	out.Transitions = append([]models.IssueTransition{first}, out.Transitions...)
	return out
}

func (c *Collector) issues(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	statuses, err := c.loadStatuses(ctx)
	if err != nil {
		return err
	}
	// Sorted by id, not updated_on: an issue updated mid-scan would move to
	// the end and push the one at the next page boundary back onto a page
	// already read (see collectors/scan).
	what := fmt.Sprintf("redmine %s: list issues of %s", c.src.Name, s.Path)
	sc := scan.New(what, c.now())
	offset := 0
	for {
		q := url.Values{"project_id": {strconv.FormatInt(s.ID, 10)}, "status_id": {"*"}, "sort": {"id"},
			"updated_on": {">=" + since.UTC().Format("2006-01-02T15:04:05Z")}, "offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(c.limit)}}
		if !c.set.IncludeSubprojects {
			q.Set("subproject_id", "!*")
		}
		var page struct {
			Issues     []*IssueJSON `json:"issues"`
			TotalCount int          `json:"total_count"`
		}
		if err := c.get(ctx, fmt.Sprintf("list issues of %s (offset %d)", s.Path, offset), "/issues.json", q, &page); err != nil {
			return err
		}
		if page.Issues == nil && offset == 0 && page.TotalCount > 0 {
			return fmt.Errorf("%s (offset %d): malformed response: no issues array but total_count %d", what, offset, page.TotalCount)
		}
		sc.Total(int64(page.TotalCount))
		if offset == 0 {
			out.ReportTotal(int64(page.TotalCount))
		}
		listed := map[string]time.Time{}
		var fresh []*IssueJSON
		for i, x := range page.Issues {
			if x == nil || x.ID <= 0 {
				return fmt.Errorf("%s (offset %d): malformed response: item %d of %d has no id", what, offset, i+1, len(page.Issues))
			}
			u := ts(x.UpdatedOn)
			if !sc.Fresh(c.id("", x.ID), u) {
				continue
			}
			listed[c.id("", x.ID)] = u
			fresh = append(fresh, x)
		}
		if len(fresh) > 0 {
			same, err := out.Unchanged(ctx, listed)
			if err != nil {
				return fmt.Errorf("redmine %s: look up landed issues: %w", c.src.Name, err)
			}
			var changed []*IssueJSON
			for _, x := range fresh {
				if !same[c.id("", x.ID)] {
					changed = append(changed, x)
				}
			}
			// Journals only for issues changed since the cursor, a few at a time.
			issues := make([]models.Issue, len(changed))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(c.src.Concurrency)
			for i := range changed {
				g.Go(func() error {
					if pre := c.Issue(s.Path, changed[i], statuses); out.Skips(pre.ProjectPath, pre.Labels, pre.Type) {
						issues[i] = pre // excluded: its journals are not even read
						return nil
					}
					var one struct {
						Issue *IssueJSON `json:"issue"`
					}
					if err := c.get(gctx, fmt.Sprintf("get issue %d with journals", changed[i].ID), fmt.Sprintf("/issues/%d.json", changed[i].ID),
						url.Values{"include": {"journals"}}, &one); err != nil {
						return err
					}
					if one.Issue == nil || one.Issue.ID != changed[i].ID {
						return fmt.Errorf("redmine %s: get issue %d with journals: malformed response: no issue %d in it", c.src.Name, changed[i].ID, changed[i].ID)
					}
					issues[i] = c.Issue(s.Path, one.Issue, statuses)
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			if err := out.Emit(ctx, &models.Batch{Issues: issues}, time.Time{}); err != nil {
				return err
			}
		}
		if err := sc.Page(len(fresh), len(page.Issues)); err != nil {
			return err
		}
		offset += len(page.Issues)
		if len(page.Issues) == 0 || offset >= page.TotalCount {
			break
		}
	}
	if sc.Shrank() {
		c.log.Warn("issues left the list while it was read; the cursor stays so the next run reads the window again", "source", c.src.Name, "project", s.Path)
	}
	if cur := sc.Cursor(); !cur.IsZero() {
		return out.Emit(ctx, &models.Batch{}, cur)
	}
	return nil
}

// VersionJSON is a version as /projects/{id}/versions.json returns it.
type VersionJSON struct {
	ID           int           `json:"id"`
	Project      ref           `json:"project"`
	Name         string        `json:"name"`
	Status       string        `json:"status"`
	DueDate      *string       `json:"due_date"`
	CreatedOn    string        `json:"created_on"`
	UpdatedOn    string        `json:"updated_on"`
	CustomFields []customField `json:"custom_fields"`
}

// Sprint converts a version; its start comes from redmine.sprint_start_field.
func (c *Collector) Sprint(project string, v *VersionJSON) models.Sprint {
	sp := models.Sprint{Origin: models.Origin{Source: "redmine", Instance: c.host}, ID: c.id("version", v.ID), ProjectPath: project,
		Name: v.Name, State: v.Status, UpdatedAt: ts(v.UpdatedOn)}
	if v.DueDate != nil {
		sp.DueDate = *v.DueDate
	}
	for _, cf := range v.CustomFields {
		if strings.EqualFold(cf.Name, c.set.SprintStartField) || c.set.SprintStartField == strconv.Itoa(cf.ID) {
			if s, ok := cf.Value.(string); ok {
				if _, err := time.Parse("2006-01-02", s); err == nil {
					sp.StartDate = s
				}
			}
		}
	}
	return sp
}

func (c *Collector) versions(ctx context.Context, s models.Scope, out models.Output) error {
	var r struct {
		Versions []VersionJSON `json:"versions"`
	}
	if err := c.get(ctx, "list versions of "+s.Path, fmt.Sprintf("/projects/%d/versions.json", s.ID), nil, &r); err != nil {
		return err
	}
	// The versions list has no updated_on filter: it is read whole (one
	// request), and versions unchanged since they landed are not landed again.
	listed := map[string]time.Time{}
	var all []models.Sprint
	var cursor time.Time
	for i := range r.Versions {
		sp := c.Sprint(s.Path, &r.Versions[i])
		if sp.UpdatedAt.After(cursor) {
			cursor = sp.UpdatedAt
		}
		listed[sp.ID] = sp.UpdatedAt
		all = append(all, sp)
	}
	same, err := out.Unchanged(ctx, listed)
	if err != nil {
		return fmt.Errorf("redmine %s: look up landed versions: %w", c.src.Name, err)
	}
	b := &models.Batch{}
	for _, sp := range all {
		if !same[sp.ID] {
			b.Sprints = append(b.Sprints, sp)
		}
	}
	if len(b.Sprints) == 0 {
		return nil
	}
	return out.Emit(ctx, b, cursor)
}

// Close drops the collector's idle connections: a long-running scheduler
// builds collectors per run and must not keep their sockets.
func (c *Collector) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
