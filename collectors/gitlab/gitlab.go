// Package gitlab collects merge requests (with commits and reviews),
// pipelines, deployments (with the MRs they shipped) and issues/incidents
// from GitLab's REST API through client-go, behind devpulse's shared transport.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/devpulse/devpulse/aiassist"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/internal/version"
	"github.com/devpulse/devpulse/models"
)

const perPage = 100

// Options are runtime dependencies the registry passes in.
type Options struct {
	Logger *slog.Logger
	Stats  *httpx.Stats
	// Transport replaces the network (tests); retries and limits still apply.
	Transport http.RoundTripper
	// Sleep replaces waiting in retries (tests).
	Sleep func(context.Context, time.Duration) error
	// Now is the clock a scan's start is read from (tests); default time.Now.
	Now func() time.Time
	// PerPage is the page size of list requests (tests); default 100.
	PerPage int64
	// Deployments are the global deployment rules; the source's deploy_jobs
	// keys override them.
	Deployments config.Deployments
	// AI decides which MRs are AI-assisted (from their commit trailers).
	AI config.AI
}

// Collector is one configured GitLab source.
type Collector struct {
	src     *config.Source
	set     *Settings
	details []string     // what Check learnt, for doctor
	hc      *http.Client // closed (idle connections) when the run is done
	api     *gl.Client
	host    string
	log     *slog.Logger
	now     func() time.Time
	perPage int64
	jobs    jobRules
	ai      aiassist.Rule
}

// New builds the collector. No request is made.
func New(src *config.Source, o Options) (*Collector, error) {
	u, err := url.Parse(src.URL)
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: url: %w", src.Name, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc, err := httpx.NewClient(httpx.ForSource(src, log, o.Stats, o.Transport, o.Sleep))
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: %w", src.Name, err)
	}
	api, err := gl.NewClient(src.Token.Reveal(),
		gl.WithBaseURL(strings.TrimRight(src.URL, "/")+"/api/v4"),
		gl.WithHTTPClient(hc),
		gl.WithoutRetries(), // httpx retries, with the budget and logging shared by all sources
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
		gl.WithUserAgent(version.UserAgent()),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: %w", src.Name, err)
	}
	set, err := settingsOf(src)
	if err != nil {
		return nil, err
	}
	jobs, err := newJobRules(set, o.Deployments)
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: %w", src.Name, err)
	}
	c := &Collector{src: src, set: set, hc: hc, api: api, host: u.Host, log: log, now: o.Now, perPage: o.PerPage, jobs: jobs,
		ai: aiassist.Rule{Assistants: o.AI.Assistants, Labels: o.AI.Labels, AgentAccounts: o.AI.AgentAccounts}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.perPage <= 0 {
		c.perPage = perPage
	}
	return c, nil
}

// Name implements collectors.Collector.
func (c *Collector) Name() string { return c.src.Name }

// Instance implements collectors.Collector.
func (c *Collector) Instance() string { return c.host }

// Streams implements collectors.Collector.
func (c *Collector) Streams() []string { return c.src.Streams }

// apiError turns an HTTP failure into a sentence that says what to fix.
func (c *Collector) apiError(what string, resp *gl.Response, err error) error {
	status := 0
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
	}
	var er *gl.ErrorResponse
	if status == 0 && errors.As(err, &er) && er.Response != nil {
		status = er.Response.StatusCode
	}
	switch status {
	case http.StatusUnauthorized:
		return fmt.Errorf("gitlab %s: %s: 401 Unauthorized: the token was rejected (expired or revoked?); set a valid token in sources.%s.token or its environment variable: %w", c.src.Name, what, c.src.Name, ErrAuth)
	case http.StatusForbidden:
		return fmt.Errorf("gitlab %s: %s: 403 Forbidden: the token lacks the read_api scope or access to this project: %w", c.src.Name, what, ErrAuth)
	case http.StatusNotFound:
		return fmt.Errorf("gitlab %s: %s: 404 Not Found: no such project or group, or the token cannot see it: %w", c.src.Name, what, ErrNotFound)
	case http.StatusTooManyRequests:
		return fmt.Errorf("gitlab %s: %s: still rate limited (429) after %d retries; lower sources.%s.rate_limit", c.src.Name, what, c.src.MaxRetries, c.src.Name)
	}
	if status >= 500 {
		return fmt.Errorf("gitlab %s: %s: server error %d after %d retries", c.src.Name, what, status, c.src.MaxRetries)
	}
	return fmt.Errorf("gitlab %s: %s: %w", c.src.Name, what, httpx.Plain(err))
}

// Sentinels shared by all collectors live in httpx.
var (
	ErrAuth     = httpx.ErrAuth
	ErrNotFound = httpx.ErrNotFound
)

// Check implements collectors.Checker: the token works and every project is visible.
func (c *Collector) Check(ctx context.Context) error {
	if _, resp, err := c.api.Users.CurrentUser(gl.WithContext(ctx)); err != nil {
		return c.apiError("check token (GET /user)", resp, err)
	}
	// A personal, project or group access token describes itself; other
	// kinds (OAuth, CI job tokens) and old GitLab versions answer 401/404.
	c.details = nil
	if tok, _, err := c.api.PersonalAccessTokens.GetSinglePersonalAccessToken(gl.WithContext(ctx)); err == nil && tok != nil {
		if !slices.Contains(tok.Scopes, "read_api") && !slices.Contains(tok.Scopes, "api") {
			return fmt.Errorf("gitlab %s: the token has the scopes %v, not read_api: create one with read_api (the API read access devpulse needs)", c.src.Name, tok.Scopes)
		}
		line := "token scopes: " + strings.Join(tok.Scopes, ", ")
		if tok.ExpiresAt != nil {
			exp := time.Time(*tok.ExpiresAt)
			days := int(exp.Sub(c.now()).Hours() / 24)
			line += fmt.Sprintf("; expires %s (in %d days)", exp.Format("2006-01-02"), days)
			if days < 14 {
				line += ": renew it before unattended runs start failing"
			}
		}
		c.details = append(c.details, line)
	}
	_, err := c.Scopes(ctx)
	return err
}

// Details implements collectors.Detailer.
func (c *Collector) Details() []string { return c.details }

// Scopes implements collectors.Collector: configured projects, then every
// project of the configured groups (subgroups included, archived skipped
// unless include_archived), deduplicated.
func (c *Collector) Scopes(ctx context.Context) ([]models.Scope, error) {
	seen := map[int64]bool{}
	var out []models.Scope
	add := func(p *gl.Project, group string) {
		if seen[p.ID] || (p.Archived && !c.set.IncludeArchived) {
			return
		}
		seen[p.ID] = true
		out = append(out, models.Scope{Path: p.PathWithNamespace, ID: p.ID, DefaultBranch: p.DefaultBranch,
			Personal: p.Namespace != nil && p.Namespace.Kind == "user", Group: group})
	}
	for _, p := range c.src.Projects {
		var pid any = p
		if n, err := strconv.ParseInt(p, 10, 64); err == nil {
			pid = n
		}
		proj, resp, err := c.api.Projects.GetProject(pid, nil, gl.WithContext(ctx))
		if err != nil {
			return nil, c.apiError("get project "+p, resp, err)
		}
		add(proj, "")
	}
	for _, g := range c.set.Groups {
		opt := &gl.ListGroupProjectsOptions{
			ListOptions:      gl.ListOptions{PerPage: perPage, Pagination: "keyset", OrderBy: "id", Sort: "asc"},
			IncludeSubGroups: gl.Ptr(true),
			WithShared:       gl.Ptr(false),
		}
		if !c.set.IncludeArchived {
			opt.Archived = gl.Ptr(false)
		}
		reqOpts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
		for {
			ps, resp, err := c.api.Groups.ListGroupProjects(g, opt, reqOpts...)
			if err != nil {
				return nil, c.apiError("list projects of group "+g, resp, err)
			}
			for _, p := range ps {
				add(p, g)
			}
			if resp.NextLink == "" {
				break
			}
			reqOpts = []gl.RequestOptionFunc{gl.WithContext(ctx), gl.WithKeysetPaginationParameters(resp.NextLink)}
		}
	}
	return out, nil
}

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, s models.Scope, stream string, since time.Time, out models.Output) error {
	switch stream {
	case "merge_requests":
		return c.mergeRequests(ctx, s, since, out)
	case "pipelines":
		return c.pipelines(ctx, s, since, out)
	case "deployments":
		return c.deployments(ctx, s, since, out)
	case "jobs":
		return c.jobDeployments(ctx, s, since, out)
	case "milestones":
		return c.milestones(ctx, s, out)
	case "issues":
		return c.issues(ctx, s, since, out)
	}
	return fmt.Errorf("gitlab %s: unknown stream %q", c.src.Name, stream)
}

func pid(s models.Scope) any {
	if s.ID != 0 {
		return s.ID
	}
	return s.Path
}

// forEach runs fn over n items with the source's concurrency.
func (c *Collector) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.src.Concurrency)
	for i := 0; i < n; i++ {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}

// projectPath is the API path of a project: its id, else its escaped path.
func projectPath(s models.Scope, rest string) string {
	id := s.Path
	if s.ID != 0 {
		id = strconv.FormatInt(s.ID, 10)
	}
	return "projects/" + gl.PathEscape(id) + "/" + rest
}

func validMR(m *gl.BasicMergeRequest) error {
	if m.IID <= 0 || m.ProjectID <= 0 {
		return errors.New("merge request without iid or project_id")
	}
	return nil
}

func validCommit(c *gl.Commit) error {
	if c.ID == "" {
		return errors.New("commit without id")
	}
	return nil
}

func validNote(n *gl.Note) error { return needID("id", n.ID) }

// mrKey and issueKey are a listed record's id and updated_at, the same in
// a project's list and a group's.
func (c *Collector) mrKey(m *gl.BasicMergeRequest) (string, time.Time) {
	return models.GitLabID(c.host, m.ProjectID, "mr", m.IID), t0(m.UpdatedAt)
}

func (c *Collector) issueKey(x *gl.Issue) (string, time.Time) {
	return models.GitLabID(c.host, x.ProjectID, "issue", x.IID), t0(x.UpdatedAt)
}

func validIssue(x *gl.Issue) error {
	if x.IID <= 0 || x.ProjectID <= 0 {
		return errors.New("issue without iid or project_id")
	}
	return nil
}

func (c *Collector) mergeRequests(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	opt := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: c.perPage},
		State:        gl.Ptr("all"),
		Scope:        gl.Ptr("all"),
		OrderBy:      gl.Ptr("created_at"), // an update does not move a record (see scanList)
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	var heads map[string]string
	if out.List != nil && out.Heads != nil {
		heads = map[string]string{}
		defer func() { out.Heads(heads) }()
	}
	return scanList(ctx, c, "list merge requests of "+s.Path, projectPath(s, "merge_requests"), opt, out, false, validMR,
		func(m *gl.BasicMergeRequest) (string, time.Time) {
			id, u := c.mrKey(m)
			if heads != nil {
				heads[id] = m.SHA
			}
			return id, u
		},
		func(ctx context.Context, list []*gl.BasicMergeRequest) (*models.Batch, error) {
			mrs := make([]models.MergeRequest, len(list))
			for i, m := range list {
				mrs[i] = MergeRequest(c.host, s.Path, m)
			}
			err := c.forEach(ctx, len(mrs), func(ctx context.Context, i int) error {
				if out.Skips(mrs[i].ProjectPath, mrs[i].Labels, "") {
					return nil // excluded: its children are not even read
				}
				return c.mrChildren(ctx, s, &mrs[i])
			})
			return &models.Batch{MergeRequests: mrs}, err
		})
}

// People implements collectors.Peopler: the project's members, inherited
// ones included (GET /projects/:id/members/all).
func (c *Collector) People(ctx context.Context, s models.Scope) ([]models.Person, error) {
	ms, err := allPages(ctx, c, "list members of "+s.Path, projectPath(s, "members/all"),
		&gl.ListProjectMembersOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}},
		func(m *gl.ProjectMember) error { return needID("id", m.ID) }, func(m *gl.ProjectMember) string { return strconv.FormatInt(m.ID, 10) })
	if err != nil {
		return nil, err
	}
	out := make([]models.Person, 0, len(ms))
	for _, m := range ms {
		out = append(out, models.Person{Username: m.Username, Name: m.Name, Email: m.Email, ID: idStr(m.ID)})
	}
	return out, nil
}

// Refetch implements collectors.Refetcher for merge requests: each MR is
// read again (GET /projects/:id/merge_requests/:iid) with its commits,
// notes and size, and emitted without moving the cursor.
func (c *Collector) Refetch(ctx context.Context, s models.Scope, stream string, ids []string, out models.Output) error {
	if stream != "merge_requests" {
		return fmt.Errorf("gitlab %s: refetch: stream %q is not supported", c.src.Name, stream)
	}
	mrs := make([]models.MergeRequest, len(ids))
	err := c.forEach(ctx, len(ids), func(ctx context.Context, i int) error {
		iid, err := strconv.ParseInt(ids[i][strings.LastIndex(ids[i], ":")+1:], 10, 64)
		if err != nil {
			return fmt.Errorf("gitlab %s: refetch: not a merge request id: %q", c.src.Name, ids[i])
		}
		m, resp, err := c.api.MergeRequests.GetMergeRequest(pid(s), iid, nil, gl.WithContext(ctx))
		if err != nil {
			return c.apiError(fmt.Sprintf("get merge request %s!%d", s.Path, iid), resp, err)
		}
		if err := validMR(&m.BasicMergeRequest); err != nil {
			return fmt.Errorf("gitlab %s: get merge request %s!%d: malformed response: %w", c.src.Name, s.Path, iid, err)
		}
		mrs[i] = MergeRequest(c.host, s.Path, &m.BasicMergeRequest)
		return c.mrChildren(ctx, s, &mrs[i])
	})
	if err != nil {
		return err
	}
	return out.Emit(ctx, &models.Batch{MergeRequests: mrs}, time.Time{})
}

// mrChildren reads an MR's commits, notes (reviews) and, when merged, its diff size.
func (c *Collector) mrChildren(ctx context.Context, s models.Scope, m *models.MergeRequest) error {
	base := fmt.Sprintf("projects/%d/merge_requests/%d/", m.ProjectID, m.IID)
	commits, err := allPages(ctx, c, fmt.Sprintf("list commits of %s!%d", s.Path, m.IID), base+"commits",
		&gl.GetMergeRequestCommitsOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}}, validCommit,
		func(x *gl.Commit) string { return x.ID })
	if err != nil {
		return err
	}
	m.Commits = Commits(m.ID, commits)
	CommitLinks(m, commits)
	messages := make([]string, 0, len(commits))
	for _, cm := range commits {
		messages = append(messages, cm.Message)
	}
	m.AIAssisted = c.ai.Assisted(messages, m.Labels, m.Author.Username)
	notes, err := allPages(ctx, c, fmt.Sprintf("list notes of %s!%d", s.Path, m.IID), base+"notes",
		&gl.ListMergeRequestNotesOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}, OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("asc")},
		validNote, func(n *gl.Note) string { return strconv.FormatInt(n.ID, 10) })
	if err != nil {
		return err
	}
	m.Reviews, m.ReadyAt = Notes(m, notes)
	// Size (additions + deletions) exists only in the diffs, and
	// mr_size is over merged MRs: only those cost the request.
	if m.MergedAt != nil && c.set.MRSize {
		diffs, err := allPages(ctx, c, fmt.Sprintf("list diffs of %s!%d", s.Path, m.IID), base+"diffs",
			&gl.ListMergeRequestDiffsOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}}, nil,
			func(d *gl.MergeRequestDiff) string { return "" })
		if err != nil {
			return err
		}
		m.Additions, m.Deletions = DiffSize(diffs)
	}
	return nil
}

// finished statuses: a pipeline in one of these no longer changes its timings.
var finished = map[string]bool{"success": true, "failed": true, "canceled": true}

func (c *Collector) pipelines(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	opt := &gl.ListProjectPipelinesOptions{
		ListOptions:  gl.ListOptions{PerPage: c.perPage},
		OrderBy:      gl.Ptr("id"), // an update does not move a record (see scanList)
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	return scanList(ctx, c, "list pipelines of "+s.Path, projectPath(s, "pipelines"), opt, out, false,
		func(p *gl.PipelineInfo) error { return needID("id", p.ID) },
		func(p *gl.PipelineInfo) (string, time.Time) {
			u := t0(p.UpdatedAt)
			if u.IsZero() {
				u = t0(p.CreatedAt)
			}
			return models.GitLabID(c.host, p.ProjectID, "pipeline", p.ID), u
		},
		func(ctx context.Context, list []*gl.PipelineInfo) (*models.Batch, error) {
			pls := make([]models.Pipeline, len(list))
			// duration and queued_duration exist only on the single-pipeline
			// endpoint; metrics use them for finished default-branch pipelines,
			// so only those cost a request.
			err := c.forEach(ctx, len(list), func(ctx context.Context, i int) error {
				p := list[i]
				var detail *gl.Pipeline
				if finished[p.Status] && p.Ref == s.DefaultBranch {
					d, resp, err := c.api.Pipelines.GetPipeline(p.ProjectID, p.ID, gl.WithContext(ctx))
					if err != nil {
						return c.apiError(fmt.Sprintf("get pipeline %d of %s", p.ID, s.Path), resp, err)
					}
					detail = d
				}
				pls[i] = Pipeline(c.host, s.Path, s.DefaultBranch, p, detail)
				return nil
			})
			return &models.Batch{Pipelines: pls}, err
		})
}

func (c *Collector) deployments(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	// GitLab accepts updated_after on deployments only with order_by=updated_at
	// (DeploymentsFinder: "`updated_at` filter requires `updated_at` sort"),
	// so this list is re-queried from the newest updated_at after each page.
	opt := &gl.ListProjectDeploymentsOptions{
		ListOptions:  gl.ListOptions{PerPage: c.perPage},
		OrderBy:      gl.Ptr("updated_at"),
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	return scanList(ctx, c, "list deployments of "+s.Path, projectPath(s, "deployments"), opt, out,
		true,
		func(d *gl.Deployment) error { return needID("id", d.ID) },
		func(d *gl.Deployment) (string, time.Time) {
			return models.GitLabID(c.host, s.ID, "deployment", d.ID), deploymentUpdated(d)
		},
		func(ctx context.Context, list []*gl.Deployment) (*models.Batch, error) {
			deps := make([]models.Deployment, len(list))
			err := c.forEach(ctx, len(list), func(ctx context.Context, i int) error {
				d := Deployment(c.host, s.Path, s.ID, list[i])
				// Only a successful deployment ships changes; the others need no call.
				if d.Status == "success" {
					mrs, err := allPages(ctx, c, fmt.Sprintf("list merge requests of deployment %d of %s", d.DeploymentID, s.Path),
						projectPath(s, fmt.Sprintf("deployments/%d/merge_requests", d.DeploymentID)),
						&gl.ListMergeRequestsOptions{ListOptions: gl.ListOptions{PerPage: c.perPage}},
						func(m *gl.MergeRequest) error { return validMR(&m.BasicMergeRequest) },
						func(m *gl.MergeRequest) string { return fmt.Sprintf("%d:%d", m.ProjectID, m.IID) })
					if err != nil {
						return err
					}
					for _, m := range mrs {
						d.Changes = append(d.Changes, models.DeploymentChange{DeploymentID: d.ID,
							MRID: models.GitLabID(c.host, m.ProjectID, "mr", m.IID), MRLabels: m.Labels})
					}
				}
				deps[i] = d
				return nil
			})
			return &models.Batch{Deployments: deps}, err
		})
}

func (c *Collector) issues(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	opt := &gl.ListProjectIssuesOptions{
		ListOptions:  gl.ListOptions{PerPage: c.perPage},
		Scope:        gl.Ptr("all"),
		OrderBy:      gl.Ptr("created_at"), // an update does not move a record (see scanList)
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	return scanList(ctx, c, "list issues of "+s.Path, projectPath(s, "issues"), opt, out, false, validIssue, c.issueKey,
		func(ctx context.Context, list []*gl.Issue) (*models.Batch, error) {
			out := make([]models.Issue, len(list))
			for i, x := range list {
				out[i] = Issue(c.host, s.Path, x)
			}
			if err := c.labelHistory(ctx, func(int) models.Scope { return s }, out, list); err != nil {
				return nil, err
			}
			return &models.Batch{Issues: out}, nil
		})
}

// Close drops the collector's idle connections: a long-running scheduler
// builds collectors per run and must not keep their sockets.
func (c *Collector) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
