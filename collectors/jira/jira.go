// Package jira collects issues (with their full changelog) and agile sprints
// from Jira Cloud and Jira Server/Data Center, on go-jira's client behind
// devpulse's shared transport.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // account zones (/myself timeZone) resolve in minimal images too

	gojira "github.com/andygrunwald/go-jira"
	"golang.org/x/sync/errgroup"

	"github.com/devpulse/devpulse/collectors/scan"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/models"
)

const pageSize = 100

// Options are runtime dependencies the registry passes in.
type Options struct {
	Logger    *slog.Logger
	Stats     *httpx.Stats
	Transport http.RoundTripper
	Sleep     func(context.Context, time.Duration) error
	// Now is the clock a scan's start is read from (tests); default time.Now.
	Now func() time.Time
	// PageSize is the search's page size (tests); default 100.
	PageSize int
}

// Collector is one configured JIRA source.
type Collector struct {
	src  *config.Source
	set  *Settings
	hc   *http.Client // closed (idle connections) when the run is done
	api  *gojira.Client
	host string
	log  *slog.Logger

	once       sync.Once
	setupErr   error
	cloud      bool
	categories map[string]string // status id → todo | in_progress | done
	pointsID   string            // custom field id of story points
	pointsName string
	sprintID   string // custom field id of Sprint
	// zone is the searching account's time zone: Jira reads a bare JQL date
	// in it. nil when /myself did not name a zone this binary knows.
	zone     *time.Location
	now      func() time.Time
	pageSize int
}

// New builds the collector. No request is made.
func New(src *config.Source, o Options) (*Collector, error) {
	u, err := url.Parse(src.URL)
	if err != nil {
		return nil, fmt.Errorf("jira %s: url: %w", src.Name, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc, err := httpx.NewClient(httpx.ForSource(src, log, o.Stats, o.Transport, o.Sleep))
	if err != nil {
		return nil, fmt.Errorf("jira %s: %w", src.Name, err)
	}
	// Cloud: email + API token (basic). Server/DC: a personal access token (bearer), or user + password (basic).
	set, err := settingsOf(src)
	if err != nil {
		return nil, err
	}
	if set.Email != "" {
		hc.Transport = &gojira.BasicAuthTransport{Username: set.Email, Password: src.Token.Reveal(), Transport: hc.Transport}
	} else {
		hc.Transport = &gojira.BearerAuthTransport{Token: src.Token.Reveal(), Transport: hc.Transport}
	}
	api, err := gojira.NewClient(hc, strings.TrimRight(src.URL, "/")+"/")
	if err != nil {
		return nil, fmt.Errorf("jira %s: %w", src.Name, err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	ps := o.PageSize
	if ps <= 0 {
		ps = pageSize
	}
	return &Collector{src: src, set: set, hc: hc, api: api, host: u.Host, log: log, now: now, pageSize: ps}, nil
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return c.src.Name }

// Instance implements collectors.Collector.
func (c *Collector) Instance() string { return c.host }

// Streams implements collectors.Collector.
func (c *Collector) Streams() []string { return c.src.Streams }

// get fetches one JSON document, turning failures into sentences.
func (c *Collector) get(ctx context.Context, what, path string, q url.Values, v any) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := c.api.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("jira %s: %s: %w", c.src.Name, what, err)
	}
	resp, err := c.api.Do(req, v)
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	switch status {
	case http.StatusUnauthorized:
		return fmt.Errorf("jira %s: %s: 401 Unauthorized: the token was rejected; check sources.%s.token (and email for Jira Cloud): %w", c.src.Name, what, c.src.Name, httpx.ErrAuth)
	case http.StatusForbidden:
		return fmt.Errorf("jira %s: %s: 403 Forbidden: the account may not browse this project or board: %w", c.src.Name, what, httpx.ErrAuth)
	case http.StatusNotFound:
		return fmt.Errorf("jira %s: %s: 404 Not Found (unknown project, board or issue, or an endpoint this Jira does not have): %w", c.src.Name, what, httpx.ErrNotFound)
	case http.StatusBadRequest:
		return fmt.Errorf("jira %s: %s: 400 Bad Request (check sources.%s.jql): %v", c.src.Name, what, c.src.Name, err)
	}
	if resp != nil && strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		return fmt.Errorf("jira %s: %s: the server answered %s with an HTML page, not JSON: check sources.%s.url is Jira's base URL and no login page or proxy is in the way",
			c.src.Name, what, path, c.src.Name)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON") || strings.Contains(err.Error(), "unexpected EOF") {
		return fmt.Errorf("jira %s: %s: the server's answer to %s was cut short (a truncated body, not whole JSON); run again, and check any proxy in between if it repeats: %w", c.src.Name, what, path, err)
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Errorf("jira %s: %s: the server answered %s with malformed JSON: %w", c.src.Name, what, path, err)
	}
	return fmt.Errorf("jira %s: %s: %w", c.src.Name, what, httpx.Plain(err))
}

// setup detects Cloud or Server and reads statuses and custom fields once.
func (c *Collector) setup(ctx context.Context) error {
	c.once.Do(func() {
		switch c.set.Deployment {
		case "cloud":
			c.cloud = true
		case "server":
		default:
			var info struct {
				DeploymentType string `json:"deploymentType"`
			}
			if c.setupErr = c.get(ctx, "detect deployment (GET serverInfo)", "rest/api/2/serverInfo", nil, &info); c.setupErr != nil {
				return
			}
			c.cloud = strings.EqualFold(info.DeploymentType, "Cloud")
		}
		var me struct {
			TimeZone string `json:"timeZone"`
		}
		if c.setupErr = c.get(ctx, "read the account's time zone (GET myself)", "rest/api/2/myself", nil, &me); c.setupErr != nil {
			return
		}
		if loc, err := time.LoadLocation(me.TimeZone); me.TimeZone != "" && err == nil {
			c.zone = loc
		} else {
			c.log.Warn("Jira did not name the account's time zone (or it is unknown here); incremental searches start 14 hours early to be safe",
				"source", c.src.Name, "time_zone", me.TimeZone)
		}
		var statuses []struct {
			ID             string `json:"id"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		}
		if c.setupErr = c.get(ctx, "list statuses", "rest/api/2/status", nil, &statuses); c.setupErr != nil {
			return
		}
		c.categories = map[string]string{}
		for _, s := range statuses {
			c.categories[s.ID] = category(s.StatusCategory.Key)
		}
		var fields []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if c.setupErr = c.get(ctx, "list fields", "rest/api/2/field", nil, &fields); c.setupErr != nil {
			return
		}
		for _, f := range fields {
			switch {
			case c.set.StoryPointsField != "" && (f.ID == c.set.StoryPointsField || strings.EqualFold(f.Name, c.set.StoryPointsField)):
				c.pointsID, c.pointsName = f.ID, f.Name
			case c.set.StoryPointsField == "" && c.pointsID == "" && (strings.EqualFold(f.Name, "Story Points") || strings.EqualFold(f.Name, "Story point estimate")):
				c.pointsID, c.pointsName = f.ID, f.Name
			case strings.EqualFold(f.Name, "Sprint"):
				c.sprintID = f.ID
			}
		}
		if c.pointsID == "" {
			var like []string
			for _, f := range fields {
				if strings.Contains(strings.ToLower(f.Name), "point") && len(like) < 5 {
					like = append(like, fmt.Sprintf("%q (%s)", f.Name, f.ID))
				}
			}
			hint := "no field's name mentions points"
			if len(like) > 0 {
				hint = "fields that mention points: " + strings.Join(like, ", ")
			}
			if c.set.StoryPointsField != "" {
				// A wrong name would land every issue with 0 points and leave
				// velocity and say/do silently empty.
				c.setupErr = fmt.Errorf("jira %s: story_points_field %q is no field of this Jira (%s); fix sources.%s.story_points_field (a name or an id)",
					c.src.Name, c.set.StoryPointsField, hint, c.src.Name)
				return
			}
			c.log.Warn("no story points field found (Story Points / Story point estimate): velocity and say/do stay empty; set story_points_field",
				"source", c.src.Name, "hint", hint)
		}
	})
	return c.setupErr
}

// Details implements collectors.Detailer: what doctor should show of the
// setup collection will use.
func (c *Collector) Details() []string {
	kind := "Server/Data Center"
	if c.cloud {
		kind = "Cloud"
	}
	how := "detected from serverInfo"
	if c.set.Deployment != "" {
		how = "deployment: " + c.set.Deployment
	}
	points := "none found: velocity and say/do stay empty"
	if c.pointsID != "" {
		points = fmt.Sprintf("%s (%s)", c.pointsName, c.pointsID)
	}
	zone := "not named by Jira: searches start 14 h early"
	if c.zone != nil {
		zone = c.zone.String()
	}
	return []string{"Jira " + kind + " (" + how + ")", "story points field: " + points, "account time zone: " + zone}
}

// category maps JIRA's status category keys.
func category(key string) string {
	switch key {
	case "indeterminate":
		return models.CategoryInProgress
	case "done":
		return models.CategoryDone
	}
	return models.CategoryTodo
}

// categoryOf is a status id's category from /rest/api/2/status: one source for
// an issue's current status and its history, so they never disagree. A status
// missing from the list (a deleted workflow step) counts as to do.
func (c *Collector) categoryOf(id string) string {
	if cat, ok := c.categories[id]; ok {
		return cat
	}
	return models.CategoryTodo
}

// Check implements collectors.Checker.
func (c *Collector) Check(ctx context.Context) error {
	var me map[string]any
	if err := c.get(ctx, "check token (GET myself)", "rest/api/2/myself", nil, &me); err != nil {
		return err
	}
	if err := c.setup(ctx); err != nil {
		return err
	}
	var errs []error
	for _, board := range c.set.Boards {
		var b struct {
			Name string `json:"name"`
		}
		if err := c.get(ctx, fmt.Sprintf("check board %d (sources.%s.boards)", board, c.src.Name), fmt.Sprintf("rest/agile/1.0/board/%d", board), nil, &b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Scopes implements collectors.Collector: one scope per source, its JQL (the
// issues carry their own project key, which is how reports name them).
func (c *Collector) Scopes(ctx context.Context) ([]models.Scope, error) {
	return []models.Scope{{Path: c.scopeJQL()}}, nil
}

func (c *Collector) scopeJQL() string {
	if c.set.JQL != "" {
		return c.set.JQL
	}
	keys := make([]string, len(c.src.Projects))
	for i, p := range c.src.Projects {
		keys[i] = strconv.Quote(p)
	}
	return "project in (" + strings.Join(keys, ", ") + ")"
}

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, s models.Scope, stream string, since time.Time, out models.Output) error {
	if err := c.setup(ctx); err != nil {
		return err
	}
	switch stream {
	case "issues":
		return c.issues(ctx, s, since, out)
	case "sprints":
		return c.sprints(ctx, out)
	}
	return fmt.Errorf("jira %s: unknown stream %q", c.src.Name, stream)
}

type user struct {
	AccountID    string `json:"accountId"`
	Name         string `json:"name"`
	Key          string `json:"key"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName"`
}

type item struct {
	Field      string  `json:"field"`
	FieldID    string  `json:"fieldId"`
	From       *string `json:"from"`
	FromString *string `json:"fromString"`
	To         *string `json:"to"`
	ToString   *string `json:"toString"`
}

type history struct {
	ID      string `json:"id"`
	Created string `json:"created"`
	Items   []item `json:"items"`
}

// IssueJSON is an issue as the search APIs return it with expand=changelog.
type IssueJSON struct {
	ID        string                     `json:"id"`
	Key       string                     `json:"key"`
	Fields    map[string]json.RawMessage `json:"fields"`
	Changelog *struct {
		StartAt    int       `json:"startAt"`
		MaxResults int       `json:"maxResults"`
		Total      int       `json:"total"`
		Histories  []history `json:"histories"`
	} `json:"changelog"`
}

// ParseTime reads JIRA's timestamps ("2006-01-02T15:04:05.000-0700").
func ParseTime(s string) time.Time {
	for _, l := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

var serverSprintID = regexp.MustCompile(`\bid=(\d+)`)

// sprintIDs reads the Sprint field: objects on Cloud, "…Sprint@x[id=1,…]" strings on older Servers.
func sprintIDs(raw json.RawMessage) []string {
	var objs []struct {
		ID int `json:"id"`
	}
	if json.Unmarshal(raw, &objs) == nil && len(objs) > 0 && objs[0].ID != 0 {
		out := make([]string, len(objs))
		for i, o := range objs {
			out[i] = strconv.Itoa(o.ID)
		}
		return out
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		var out []string
		for _, s := range strs {
			if m := serverSprintID.FindStringSubmatch(s); m != nil {
				out = append(out, m[1])
			}
		}
		return out
	}
	return nil
}

func (c *Collector) sprintRef(ids []string) string {
	// The issue's current sprint is the last one it was put in.
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf("jira:%s:sprint:%s", c.host, strings.TrimSpace(ids[len(ids)-1]))
}

func (c *Collector) person(raw json.RawMessage) models.Person {
	var u user
	if len(raw) == 0 || json.Unmarshal(raw, &u) != nil {
		return models.Person{}
	}
	id := u.AccountID
	if id == "" {
		id = u.Key
	}
	return models.Person{ID: id, Username: u.Name, Email: u.EmailAddress, Name: u.DisplayName}
}

// People implements collectors.Peopler: the users who may be assigned
// issues of each configured project (GET /rest/api/2/user/assignable/search,
// Cloud and Server alike). A scope given only as a JQL names no projects:
// then the people of each batch are all the masker knows.
func (c *Collector) People(ctx context.Context, s models.Scope) ([]models.Person, error) {
	if len(c.src.Projects) == 0 {
		c.log.Warn("the source's scope is a jql, which names no projects: their users cannot be read first, so names in sprint names are masked only when the person appears in an issue; list the projects to mask them all",
			"source", c.src.Name)
	}
	var out []models.Person
	for _, key := range c.src.Projects {
		for start := 0; ; {
			var page []json.RawMessage
			if err := c.get(ctx, fmt.Sprintf("list the users of project %s (startAt %d)", key, start), "rest/api/2/user/assignable/search",
				url.Values{"project": {key}, "startAt": {strconv.Itoa(start)}, "maxResults": {"1000"}}, &page); err != nil {
				return nil, err
			}
			for _, raw := range page {
				if p := c.person(raw); p != (models.Person{}) {
					out = append(out, p)
				}
			}
			if len(page) < 1000 {
				break
			}
			start += len(page)
		}
	}
	return out, nil
}

// Issue converts an issue with its changelog (histories oldest first).
func (c *Collector) Issue(x *IssueJSON, histories []history) models.Issue {
	f := x.Fields
	var s struct {
		Summary  string `json:"summary"`
		Priority *struct {
			Name string `json:"name"`
		} `json:"priority"`
		IssueType struct {
			Name string `json:"name"`
		} `json:"issuetype"`
		Status struct {
			ID             string `json:"id"`
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Project struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"project"`
		Labels         []string `json:"labels"`
		Created        string   `json:"created"`
		Updated        string   `json:"updated"`
		ResolutionDate *string  `json:"resolutiondate"`
	}
	if b, err := json.Marshal(f); err == nil { // the raw fields, decoded once into the ones devpulse reads
		_ = json.Unmarshal(b, &s)
	}
	id := fmt.Sprintf("jira:%s:%s", c.host, x.Key)
	cat := category(s.Status.StatusCategory.Key)
	if cc, ok := c.categories[s.Status.ID]; ok {
		cat = cc
	}
	pid, _ := strconv.ParseInt(s.Project.ID, 10, 64)
	out := models.Issue{Origin: models.Origin{Source: "jira", Instance: c.host}, ID: id, ProjectID: pid, ProjectPath: s.Project.Key,
		Key: x.Key, Title: s.Summary, Type: s.IssueType.Name, TypeClass: models.ClassOf(s.IssueType.Name, c.set.IssueTypes), Labels: s.Labels, Status: s.Status.Name, StatusCategory: cat,
		Author: c.person(f["reporter"]), Assignee: c.person(f["assignee"]), WebURL: strings.TrimRight(c.src.URL, "/") + "/browse/" + x.Key,
		CreatedAt: ParseTime(s.Created), UpdatedAt: ParseTime(s.Updated)}
	if s.Priority != nil {
		out.Priority = s.Priority.Name
	}
	out.State = "opened"
	if cat == models.CategoryDone {
		out.State = "closed"
		if s.ResolutionDate != nil && *s.ResolutionDate != "" {
			t := ParseTime(*s.ResolutionDate)
			out.ClosedAt = &t
		}
	}
	if c.pointsID != "" {
		var p *float64
		if json.Unmarshal(f[c.pointsID], &p) == nil {
			out.StoryPoints = p
		}
	}
	if c.sprintID != "" {
		out.SprintID = c.sprintRef(sprintIDs(f[c.sprintID]))
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var initial *item
	sort.SliceStable(histories, func(i, j int) bool { return ParseTime(histories[i].Created).Before(ParseTime(histories[j].Created)) })
	for _, h := range histories {
		at := ParseTime(h.Created)
		for k, it := range h.Items {
			t := models.IssueTransition{IssueID: id, At: at}
			switch {
			case strings.EqualFold(it.Field, "status"):
				if initial == nil {
					i := it
					initial = &i
				}
				t.Field = models.FieldStatus
				t.From, t.To = str(it.FromString), str(it.ToString)
				t.FromCategory, t.ToCategory = c.categoryOf(str(it.From)), c.categoryOf(str(it.To))
			case strings.EqualFold(it.Field, "Sprint") || (c.sprintID != "" && it.FieldID == c.sprintID):
				t.Field = models.FieldSprint
				t.From, t.To = c.sprintRef(splitIDs(str(it.From))), c.sprintRef(splitIDs(str(it.To)))
			case c.pointsID != "" && (it.FieldID == c.pointsID || strings.EqualFold(it.Field, c.pointsName)):
				t.Field, t.From, t.To = models.FieldStoryPoints, str(it.FromString), str(it.ToString)
			default:
				continue
			}
			t.ID = fmt.Sprintf("%s:%s:%d", id, h.ID, k)
			out.Transitions = append(out.Transitions, t)
		}
	}
	first := models.IssueTransition{IssueID: id, ID: id + ":created:status", Field: models.FieldStatus, At: out.CreatedAt}
	if initial != nil {
		first.To, first.ToCategory = str(initial.FromString), c.categoryOf(str(initial.From))
	} else {
		first.To, first.ToCategory = out.Status, cat
	}
	out.Transitions = append([]models.IssueTransition{first}, out.Transitions...)
	return out
}

func splitIDs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fullChangelog returns every history of an issue: the embedded page, then
// the rest from /issue/{key}/changelog (Cloud) or by re-fetching the issue
// with the changelog expanded (Server, whose search embeds all of it anyway).
func (c *Collector) fullChangelog(ctx context.Context, x *IssueJSON) ([]history, error) {
	if x.Changelog == nil {
		return nil, nil
	}
	hs := append([]history(nil), x.Changelog.Histories...)
	if len(hs) >= x.Changelog.Total {
		return hs, nil
	}
	if !c.cloud {
		var full IssueJSON
		if err := c.get(ctx, "get issue "+x.Key+" with changelog", "rest/api/2/issue/"+url.PathEscape(x.Key), url.Values{"expand": {"changelog"}, "fields": {"created"}}, &full); err != nil {
			return nil, err
		}
		if full.Changelog != nil && len(full.Changelog.Histories) > len(hs) {
			return full.Changelog.Histories, nil
		}
		return hs, nil
	}
	seen := map[string]bool{}
	for _, h := range hs {
		seen[h.ID] = true
	}
	for start := 0; ; {
		var page struct {
			Values     []history `json:"values"`
			StartAt    int       `json:"startAt"`
			MaxResults int       `json:"maxResults"`
			Total      int       `json:"total"`
			IsLast     bool      `json:"isLast"`
		}
		if err := c.get(ctx, fmt.Sprintf("page changelog of %s (startAt %d)", x.Key, start), "rest/api/2/issue/"+url.PathEscape(x.Key)+"/changelog",
			url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(pageSize)}}, &page); err != nil {
			return nil, err
		}
		for _, h := range page.Values {
			if !seen[h.ID] {
				seen[h.ID] = true
				hs = append(hs, h)
			}
		}
		start += len(page.Values)
		if page.IsLast || len(page.Values) == 0 || (page.Total > 0 && start >= page.Total) {
			return hs, nil
		}
	}
}

// IssueUpdated checks that a listed item is an issue devpulse can key and
// order (a key, fields, a valid updated time) and returns its updated time.
func IssueUpdated(x *IssueJSON) (time.Time, error) {
	if x == nil || x.Key == "" || x.Fields == nil {
		return time.Time{}, errors.New("not an issue with a key and fields")
	}
	var upd string
	if err := json.Unmarshal(x.Fields["updated"], &upd); err != nil || ParseTime(upd).IsZero() {
		return time.Time{}, fmt.Errorf("%s has no valid updated time", x.Key)
	}
	return ParseTime(upd), nil
}

// JQLTime writes an instant as a JQL date literal that means no later an
// instant in the account's zone loc. Jira reads a bare JQL date in the
// searching account's time zone, not in UTC or the server's: written in UTC,
// the bound of an account at UTC−8 would start 8 hours late and skip every
// update in between for good. Minutes are truncated (earlier, never later);
// near a daylight-saving change a wall clock can name two instants, so the
// literal steps back two hours there; without a known zone it steps back 14
// hours, the largest offset there is.
func JQLTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		return t.UTC().Add(-14 * time.Hour).Format("2006/01/02 15:04")
	}
	_, before := t.Add(-2 * time.Hour).In(loc).Zone()
	_, after := t.Add(2 * time.Hour).In(loc).Zone()
	if before != after {
		t = t.Add(-2 * time.Hour)
	}
	return t.In(loc).Format("2006/01/02 15:04")
}

// scanOrder is the search's order: by creation, which an update does not
// move (ordered by updated, an issue updated mid-scan jumps to the end and
// the one at the next page boundary is never read; see collectors/scan).
const scanOrder = "ORDER BY created ASC, key ASC"

func (c *Collector) issues(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	jql := fmt.Sprintf(`(%s) AND updated >= "%s" %s`, s.Path, JQLTime(since, c.zone), scanOrder)
	fields := "summary,issuetype,status,priority,project,labels,created,updated,resolutiondate,reporter,assignee"
	if c.pointsID != "" {
		fields += "," + c.pointsID
	}
	if c.sprintID != "" {
		fields += "," + c.sprintID
	}
	what := fmt.Sprintf("jira %s: search issues", c.src.Name)
	sc := scan.New(what, c.now())
	token, startAt := "", 0
	tokens := map[string]bool{}
	for {
		q := url.Values{"jql": {jql}, "maxResults": {strconv.Itoa(c.pageSize)}, "expand": {"changelog"}, "fields": {fields}}
		var page struct {
			Issues        []*IssueJSON `json:"issues"`
			NextPageToken string       `json:"nextPageToken"`
			IsLast        *bool        `json:"isLast"`
			Total         int          `json:"total"`
		}
		var err error
		where := fmt.Sprintf("startAt %d", startAt)
		if c.cloud { // the old /search with startAt is gone on Cloud
			if token != "" {
				q.Set("nextPageToken", token)
			}
			where = fmt.Sprintf("page %d", len(tokens)+1)
			err = c.get(ctx, "search issues (search/jql, "+where+")", "rest/api/3/search/jql", q, &page)
		} else {
			q.Set("startAt", strconv.Itoa(startAt))
			err = c.get(ctx, fmt.Sprintf("search issues (startAt %d)", startAt), "rest/api/2/search", q, &page)
			sc.Total(int64(page.Total))
			if startAt == 0 && err == nil {
				out.ReportTotal(int64(page.Total)) // Cloud's search/jql tells no total
			}
		}
		if err != nil {
			return err
		}
		listed := map[string]time.Time{}
		var fresh []*IssueJSON
		for i, x := range page.Issues {
			u, err := IssueUpdated(x)
			if err != nil {
				return fmt.Errorf("%s (%s): malformed response: item %d of %d: %w", what, where, i+1, len(page.Issues), err)
			}
			id := fmt.Sprintf("jira:%s:%s", c.host, x.Key)
			if !sc.Fresh(id, u) {
				continue
			}
			listed[id] = u
			fresh = append(fresh, x)
		}
		if len(fresh) > 0 {
			same, err := out.Unchanged(ctx, listed)
			if err != nil {
				return fmt.Errorf("jira %s: look up landed issues: %w", c.src.Name, err)
			}
			var changed []*IssueJSON
			for _, x := range fresh {
				if !same[fmt.Sprintf("jira:%s:%s", c.host, x.Key)] {
					changed = append(changed, x)
				}
			}
			issues := make([]models.Issue, len(changed))
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(c.src.Concurrency)
			for i, x := range changed {
				g.Go(func() (err error) {
					defer func() {
						if p := recover(); p != nil {
							err = fmt.Errorf("%s (%s): malformed issue %s: %v", what, where, x.Key, p)
						}
					}()
					if pre := c.Issue(x, nil); out.Skips(pre.ProjectPath, pre.Labels, pre.Type) {
						issues[i] = pre // excluded: its changelog is not even read
						return nil
					}
					hs, err := c.fullChangelog(gctx, x)
					if err != nil {
						return err
					}
					issues[i] = c.Issue(x, hs)
					return nil
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			if err := c.markIncidents(ctx, issues, out); err != nil {
				return err
			}
			if err := out.Emit(ctx, &models.Batch{Issues: issues}, time.Time{}); err != nil {
				return err
			}
		}
		if err := sc.Page(len(fresh), len(page.Issues)); err != nil {
			return err
		}
		if c.cloud {
			if page.NextPageToken == "" || (page.IsLast != nil && *page.IsLast) || len(page.Issues) == 0 {
				break
			}
			if tokens[page.NextPageToken] {
				return fmt.Errorf("%s (%s): the next page token repeats an earlier one: the server's pagination does not advance", what, where)
			}
			tokens[page.NextPageToken] = true
			token = page.NextPageToken
			continue
		}
		startAt += len(page.Issues)
		if len(page.Issues) == 0 || startAt >= page.Total {
			break
		}
	}
	if sc.Shrank() {
		c.log.Warn("issues left the search while it was read; the cursor stays so the next run reads the window again", "source", c.src.Name)
	}
	if cur := sc.Cursor(); !cur.IsZero() {
		return out.Emit(ctx, &models.Batch{}, cur)
	}
	return nil
}

// markIncidents applies the source's incident_jql to a page of changed
// issues: one search, "key in (the page's keys) AND (incident_jql)", asking
// for keys only. It runs per page of changed issues, so an unchanged run
// makes no request for it, and an issue is judged as it was when its page
// was read: a whole-window search run before or after the scan would judge
// an issue changed in between by another version than the one that lands.
// A match becomes type class incident, which every incident rule reads.
func (c *Collector) markIncidents(ctx context.Context, issues []models.Issue, out models.Output) error {
	if c.set.IncidentJQL == "" || len(issues) == 0 {
		return nil
	}
	at := map[string]int{}
	var keys []string
	for i := range issues {
		x := &issues[i]
		if out.Skips(x.ProjectPath, x.Labels, x.Type) {
			continue
		}
		at[x.Key] = i
		keys = append(keys, strconv.Quote(x.Key))
	}
	if len(keys) == 0 {
		return nil
	}
	jql := fmt.Sprintf("key in (%s) AND (%s)", strings.Join(keys, ","), c.set.IncidentJQL)
	what, path := "apply incident_jql (search/jql)", "rest/api/3/search/jql"
	if !c.cloud {
		what, path = "apply incident_jql (search)", "rest/api/2/search"
	}
	// A server may cap maxResults below the page's keys (jira.search.views.
	// default.max on Server, 100 or 5,000 on Cloud): the answer is read to
	// its end, or an incident would land as an ordinary issue, silently.
	token, startAt, tokens := "", 0, map[string]bool{}
	for {
		q := url.Values{"jql": {jql}, "maxResults": {strconv.Itoa(len(keys))}, "fields": {"key"}}
		if c.cloud && token != "" {
			q.Set("nextPageToken", token)
		} else if !c.cloud {
			q.Set("startAt", strconv.Itoa(startAt))
		}
		var page struct {
			Issues []struct {
				Key string `json:"key"`
			} `json:"issues"`
			NextPageToken string `json:"nextPageToken"`
			IsLast        *bool  `json:"isLast"`
			Total         *int   `json:"total"`
		}
		if err := c.get(ctx, what, path, q, &page); err != nil {
			return fmt.Errorf("%w (sources.%s.incident_jql is %q)", err, c.src.Name, c.set.IncidentJQL)
		}
		for _, x := range page.Issues {
			if i, ok := at[x.Key]; ok {
				issues[i].TypeClass = "incident"
			}
		}
		if c.cloud {
			if page.NextPageToken == "" || (page.IsLast != nil && *page.IsLast) || len(page.Issues) == 0 {
				return nil
			}
			if tokens[page.NextPageToken] {
				return fmt.Errorf("%s: the next page token repeats an earlier one: the server's pagination does not advance", what)
			}
			tokens[page.NextPageToken] = true
			token = page.NextPageToken
			continue
		}
		if page.Total == nil {
			return fmt.Errorf("%s: malformed response: no \"total\", so whether every incident was read cannot be told", what)
		}
		startAt += len(page.Issues)
		if startAt >= *page.Total {
			return nil
		}
		if len(page.Issues) == 0 {
			return fmt.Errorf("%s: the server reported %d matches but returned %d: incidents would be missed", what, *page.Total, startAt)
		}
	}
}

// Sprint converts an agile sprint.
func (c *Collector) Sprint(s *gojira.Sprint, project string) models.Sprint {
	out := models.Sprint{Origin: models.Origin{Source: "jira", Instance: c.host}, ID: fmt.Sprintf("jira:%s:sprint:%d", c.host, s.ID),
		ProjectPath: project, Name: s.Name, State: s.State}
	utc := func(t *time.Time) *time.Time {
		if t == nil || t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	out.StartAt, out.EndAt, out.CompleteAt = utc(s.StartDate), utc(s.EndDate), utc(s.CompleteDate)
	for _, t := range []*time.Time{out.StartAt, out.EndAt, out.CompleteAt} {
		if t != nil && t.After(out.UpdatedAt) {
			out.UpdatedAt = *t
		}
	}
	return out
}

func (c *Collector) sprints(ctx context.Context, out models.Output) error {
	for _, board := range c.set.Boards {
		var cfg struct {
			Location struct {
				Key string `json:"projectKey"`
			} `json:"location"`
		}
		// The board's project names its sprints' scope in reports.
		_ = c.get(ctx, fmt.Sprintf("get board %d", board), fmt.Sprintf("rest/agile/1.0/board/%d", board), nil, &cfg)
		project := cfg.Location.Key
		if project == "" && len(c.src.Projects) > 0 {
			project = c.src.Projects[0]
		}
		for start := 0; ; {
			var page struct {
				Values []gojira.Sprint `json:"values"`
				IsLast bool            `json:"isLast"`
			}
			if err := c.get(ctx, fmt.Sprintf("list sprints of board %d (startAt %d)", board, start), fmt.Sprintf("rest/agile/1.0/board/%d/sprint", board),
				url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {"50"}}, &page); err != nil {
				return err
			}
			// Sprint lists have no "updated since": sprints unchanged since they landed are skipped.
			listed := map[string]time.Time{}
			var all []models.Sprint
			for i := range page.Values {
				sp := c.Sprint(&page.Values[i], project)
				listed[sp.ID] = sp.UpdatedAt
				all = append(all, sp)
			}
			same, err := out.Unchanged(ctx, listed)
			if err != nil {
				return fmt.Errorf("jira %s: look up landed sprints: %w", c.src.Name, err)
			}
			b := &models.Batch{}
			for _, sp := range all {
				if !same[sp.ID] {
					b.Sprints = append(b.Sprints, sp)
				}
			}
			if len(b.Sprints) > 0 {
				if err := out.Emit(ctx, b, time.Time{}); err != nil {
					return err
				}
			}
			start += len(page.Values)
			if page.IsLast || len(page.Values) == 0 {
				break
			}
		}
	}
	return nil
}

// Close drops the collector's idle connections: a long-running scheduler
// builds collectors per run and must not keep their sockets.
func (c *Collector) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
