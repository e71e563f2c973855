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
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

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
}

// Collector is one configured GitLab source.
type Collector struct {
	src  *config.Source
	api  *gl.Client
	host string
	log  *slog.Logger
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
	hc, err := httpx.NewClient(httpx.Options{
		Source: src.Name, CAFile: src.CAFile, Timeout: time.Duration(src.Timeout), RateLimit: src.RateLimit,
		Burst: src.Concurrency, MaxRetries: src.MaxRetries, Logger: log, Stats: o.Stats,
		Transport: o.Transport, Sleep: o.Sleep, MaxInFlight: src.Concurrency,
	})
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
	return &Collector{src: src, api: api, host: u.Host, log: log}, nil
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
	return fmt.Errorf("gitlab %s: %s: %w", c.src.Name, what, err)
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
	_, err := c.Scopes(ctx)
	return err
}

// Scopes implements collectors.Collector: configured projects, then every
// project of the configured groups (subgroups included, archived skipped
// unless include_archived), deduplicated.
func (c *Collector) Scopes(ctx context.Context) ([]models.Scope, error) {
	seen := map[int64]bool{}
	var out []models.Scope
	add := func(p *gl.Project) {
		if seen[p.ID] || (p.Archived && !c.src.IncludeArchived) {
			return
		}
		seen[p.ID] = true
		out = append(out, models.Scope{Path: p.PathWithNamespace, ID: p.ID, DefaultBranch: p.DefaultBranch})
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
		add(proj)
	}
	for _, g := range c.src.Groups {
		opt := &gl.ListGroupProjectsOptions{
			ListOptions:      gl.ListOptions{PerPage: perPage, Pagination: "keyset", OrderBy: "id", Sort: "asc"},
			IncludeSubGroups: gl.Ptr(true),
			WithShared:       gl.Ptr(false),
		}
		if !c.src.IncludeArchived {
			opt.Archived = gl.Ptr(false)
		}
		reqOpts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
		for {
			ps, resp, err := c.api.Groups.ListGroupProjects(g, opt, reqOpts...)
			if err != nil {
				return nil, c.apiError("list projects of group "+g, resp, err)
			}
			for _, p := range ps {
				add(p)
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
func (c *Collector) Collect(ctx context.Context, s models.Scope, stream string, since time.Time, emit models.Emit) error {
	switch stream {
	case "merge_requests":
		return c.mergeRequests(ctx, s, since, emit)
	case "pipelines":
		return c.pipelines(ctx, s, since, emit)
	case "deployments":
		return c.deployments(ctx, s, since, emit)
	case "issues":
		return c.issues(ctx, s, since, emit)
	}
	return fmt.Errorf("gitlab %s: unknown stream %q", c.src.Name, stream)
}

func pid(s models.Scope) any {
	if s.ID != 0 {
		return s.ID
	}
	return s.Path
}

// allPages follows offset pagination to the end of a child list.
func allPages[T any](fetch func(page int64) ([]T, *gl.Response, error)) ([]T, *gl.Response, error) {
	var all []T
	page := int64(1)
	for {
		items, resp, err := fetch(page)
		if err != nil {
			return nil, resp, err
		}
		all = append(all, items...)
		if resp == nil || resp.NextPage == 0 {
			return all, resp, nil
		}
		page = resp.NextPage
	}
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

func (c *Collector) mergeRequests(ctx context.Context, s models.Scope, since time.Time, emit models.Emit) error {
	opt := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage, Page: 1},
		State:        gl.Ptr("all"),
		Scope:        gl.Ptr("all"),
		OrderBy:      gl.Ptr("updated_at"),
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	for {
		list, resp, err := c.api.MergeRequests.ListProjectMergeRequests(pid(s), opt, gl.WithContext(ctx))
		if err != nil {
			return c.apiError(fmt.Sprintf("list merge requests of %s (page %d)", s.Path, opt.Page), resp, err)
		}
		mrs := make([]models.MergeRequest, len(list))
		for i, m := range list {
			mrs[i] = MergeRequest(c.host, s.Path, m)
		}
		// Children only for MRs on this page: they were updated since the cursor.
		err = c.forEach(ctx, len(mrs), func(ctx context.Context, i int) error {
			m := &mrs[i]
			commits, resp, err := allPages(func(page int64) ([]*gl.Commit, *gl.Response, error) {
				return c.api.MergeRequests.GetMergeRequestCommits(m.ProjectID, m.IID,
					&gl.GetMergeRequestCommitsOptions{ListOptions: gl.ListOptions{PerPage: perPage, Page: page}}, gl.WithContext(ctx))
			})
			if err != nil {
				return c.apiError(fmt.Sprintf("list commits of %s!%d", s.Path, m.IID), resp, err)
			}
			m.Commits = Commits(m.ID, commits)
			notes, resp, err := allPages(func(page int64) ([]*gl.Note, *gl.Response, error) {
				return c.api.Notes.ListMergeRequestNotes(m.ProjectID, m.IID, &gl.ListMergeRequestNotesOptions{
					ListOptions: gl.ListOptions{PerPage: perPage, Page: page}, OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("asc")}, gl.WithContext(ctx))
			})
			if err != nil {
				return c.apiError(fmt.Sprintf("list notes of %s!%d", s.Path, m.IID), resp, err)
			}
			m.Reviews, m.ReadyAt = Notes(m, notes)
			return nil
		})
		if err != nil {
			return err
		}
		if len(mrs) > 0 {
			if err := emit(ctx, &models.Batch{MergeRequests: mrs}, mrs[len(mrs)-1].UpdatedAt); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

// finished statuses: a pipeline in one of these no longer changes its timings.
var finished = map[string]bool{"success": true, "failed": true, "canceled": true}

func (c *Collector) pipelines(ctx context.Context, s models.Scope, since time.Time, emit models.Emit) error {
	opt := &gl.ListProjectPipelinesOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage, Page: 1},
		OrderBy:      gl.Ptr("updated_at"),
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	for {
		list, resp, err := c.api.Pipelines.ListProjectPipelines(pid(s), opt, gl.WithContext(ctx))
		if err != nil {
			return c.apiError(fmt.Sprintf("list pipelines of %s (page %d)", s.Path, opt.Page), resp, err)
		}
		out := make([]models.Pipeline, len(list))
		// duration and queued_duration exist only on the single-pipeline
		// endpoint; metrics use them for finished default-branch pipelines, so
		// only those cost a request.
		err = c.forEach(ctx, len(list), func(ctx context.Context, i int) error {
			p := list[i]
			var detail *gl.Pipeline
			if finished[p.Status] && p.Ref == s.DefaultBranch {
				d, resp, err := c.api.Pipelines.GetPipeline(p.ProjectID, p.ID, gl.WithContext(ctx))
				if err != nil {
					return c.apiError(fmt.Sprintf("get pipeline %d of %s", p.ID, s.Path), resp, err)
				}
				detail = d
			}
			out[i] = Pipeline(c.host, s.Path, s.DefaultBranch, p, detail)
			return nil
		})
		if err != nil {
			return err
		}
		if len(out) > 0 {
			if err := emit(ctx, &models.Batch{Pipelines: out}, out[len(out)-1].UpdatedAt); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

func (c *Collector) deployments(ctx context.Context, s models.Scope, since time.Time, emit models.Emit) error {
	opt := &gl.ListProjectDeploymentsOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage, Page: 1},
		OrderBy:      gl.Ptr("updated_at"),
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	for {
		list, resp, err := c.api.Deployments.ListProjectDeployments(pid(s), opt, gl.WithContext(ctx))
		if err != nil {
			return c.apiError(fmt.Sprintf("list deployments of %s (page %d)", s.Path, opt.Page), resp, err)
		}
		out := make([]models.Deployment, len(list))
		err = c.forEach(ctx, len(list), func(ctx context.Context, i int) error {
			d := Deployment(c.host, s.Path, s.ID, list[i])
			// Only a successful deployment ships changes; the others need no call.
			if d.Status == "success" {
				mrs, resp, err := allPages(func(page int64) ([]*gl.MergeRequest, *gl.Response, error) {
					return c.api.DeploymentMergeRequests.ListDeploymentMergeRequests(pid(s), d.DeploymentID,
						&gl.ListMergeRequestsOptions{ListOptions: gl.ListOptions{PerPage: perPage, Page: page}}, gl.WithContext(ctx))
				})
				if err != nil {
					return c.apiError(fmt.Sprintf("list merge requests of deployment %d of %s", d.DeploymentID, s.Path), resp, err)
				}
				for _, m := range mrs {
					d.Changes = append(d.Changes, models.DeploymentChange{DeploymentID: d.ID,
						MRID: models.GitLabID(c.host, m.ProjectID, "mr", m.IID), MRLabels: m.Labels})
				}
			}
			out[i] = d
			return nil
		})
		if err != nil {
			return err
		}
		if len(out) > 0 {
			if err := emit(ctx, &models.Batch{Deployments: out}, out[len(out)-1].UpdatedAt); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}

func (c *Collector) issues(ctx context.Context, s models.Scope, since time.Time, emit models.Emit) error {
	opt := &gl.ListProjectIssuesOptions{
		ListOptions:  gl.ListOptions{PerPage: perPage, Page: 1},
		Scope:        gl.Ptr("all"),
		OrderBy:      gl.Ptr("updated_at"),
		Sort:         gl.Ptr("asc"),
		UpdatedAfter: gl.Ptr(since),
	}
	for {
		list, resp, err := c.api.Issues.ListProjectIssues(pid(s), opt, gl.WithContext(ctx))
		if err != nil {
			return c.apiError(fmt.Sprintf("list issues of %s (page %d)", s.Path, opt.Page), resp, err)
		}
		out := make([]models.Issue, len(list))
		for i, x := range list {
			out[i] = Issue(c.host, s.Path, x)
		}
		if len(out) > 0 {
			if err := emit(ctx, &models.Batch{Issues: out}, out[len(out)-1].UpdatedAt); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opt.Page = resp.NextPage
	}
}
