package gitlab

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/models"
)

// jobRules say which CI jobs are production deployments (METRICS.md,
// "Production deployment": deployments.jobs, .job_stages, .job_refs).
type jobRules struct {
	name, stage, ref *regexp.Regexp            // name nil: no job is a deployment
	byProject        map[string]*regexp.Regexp // a project's own name rule (nil: none there)
}

// nameFor is the job-name rule of a project.
func (r jobRules) nameFor(project string) *regexp.Regexp {
	if re, ok := r.byProject[project]; ok {
		return re
	}
	return r.name
}

func newJobRules(set *Settings, global config.Deployments) (jobRules, error) {
	pick := func(own, all string) string {
		if own != "" {
			return own
		}
		return all
	}
	var r jobRules
	for _, x := range []struct {
		key, expr string
		dst       **regexp.Regexp
	}{
		{"deploy_jobs", pick(set.DeployJobs, global.Jobs), &r.name},
		{"deploy_job_stages", pick(set.DeployJobStages, global.JobStages), &r.stage},
		{"deploy_job_refs", pick(set.DeployJobRefs, global.JobRefs), &r.ref},
	} {
		if x.expr == "" {
			continue
		}
		re, err := regexp.Compile(x.expr)
		if err != nil {
			return r, fmt.Errorf("%s: %w", x.key, err)
		}
		*x.dst = re
	}
	for project, expr := range set.DeployJobsByProject {
		if r.byProject == nil {
			r.byProject = map[string]*regexp.Regexp{}
		}
		if expr == "" {
			r.byProject[project] = nil
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return r, fmt.Errorf("deploy_jobs_by_project.%s: %w", project, err)
		}
		r.byProject[project] = re
	}
	return r, nil
}

// deploys tells whether a job of project s is a production deployment
// attempt: its name (and stage) match, on a matching ref, by default the
// project's default branch or a tag.
func (r jobRules) deploys(s models.Scope, j *gl.Job) bool {
	if name := r.nameFor(s.Path); name == nil || !name.MatchString(j.Name) {
		return false
	}
	if r.stage != nil && !r.stage.MatchString(j.Stage) {
		return false
	}
	if r.ref != nil {
		return r.ref.MatchString(j.Ref)
	}
	return j.Tag || j.Ref == s.DefaultBranch
}

// jobLookBehind: a job is listed by id (its creation), so one created before
// the cursor and finished after it is still read. Deploy jobs that run
// longer than this are missed; an unchanged run costs this much of the list.
const jobLookBehind = 24 * time.Hour

func validJob(j *gl.Job) error {
	if err := needID("id", j.ID); err != nil {
		return err
	}
	return needID("pipeline.id", j.Pipeline.ID)
}

// jobDeployments reads the jobs stream: CI jobs that deploy to production,
// for projects without GitLab environments. Without a job rule it makes no
// request. GitLab lists jobs newest first and, for large projects, only
// with keyset pagination (pagination=keyset&order_by=id&sort=desc); there
// is no updated_after, so the scan stops at the first page reaching jobs
// created jobLookBehind before the cursor, and the cursor becomes the
// scan's start once it completes.
func (c *Collector) jobDeployments(ctx context.Context, s models.Scope, since time.Time, out models.Output) error {
	if c.jobs.nameFor(s.Path) == nil {
		return nil
	}
	what := "list jobs of " + s.Path
	start := c.now()
	stop := since.Add(-jobLookBehind)
	opt := &gl.ListJobsOptions{
		ListOptions: gl.ListOptions{Pagination: "keyset", PerPage: c.perPage, OrderBy: "id", Sort: "desc"},
		// Only finished jobs: a running one is read when it has finished.
		Scope: &[]gl.BuildStateValue{gl.Success, gl.Failed, gl.Canceled},
	}
	var next [][2]string
	seen := map[int64]bool{}
	for page := int64(1); ; page++ {
		items, resp, err := getList(ctx, c, what, 0, projectPath(s, "jobs"), opt, validJob, next...)
		if err != nil {
			return err
		}
		var deps []models.Deployment
		older := false
		for _, j := range items {
			if seen[j.ID] {
				return fmt.Errorf("gitlab %s: %s: job %d listed twice: the server's keyset pagination does not advance", c.src.Name, what, j.ID)
			}
			seen[j.ID] = true
			if t0(j.CreatedAt).Before(stop) {
				older = true
				continue
			}
			if c.jobs.deploys(s, j) {
				deps = append(deps, JobDeployment(c.host, s, j))
			}
		}
		if len(deps) > 0 {
			if err := out.Emit(ctx, &models.Batch{Deployments: deps}, time.Time{}); err != nil {
				return err
			}
		}
		if older || len(items) == 0 || resp == nil || resp.NextLink == "" {
			break
		}
		u, err := url.Parse(resp.NextLink)
		if err != nil {
			return fmt.Errorf("gitlab %s: %s (page %d): next link %q: %w", c.src.Name, what, page, resp.NextLink, err)
		}
		next = next[:0]
		for k, vs := range u.Query() {
			if len(vs) > 0 && k != "scope[]" {
				next = append(next, [2]string{k, vs[0]})
			}
		}
	}
	return out.Emit(ctx, &models.Batch{}, start)
}

// JobDeployment is a deploy job as a production deployment. Its environment
// is "production" with tier production, so a pipeline that also deploys
// through a GitLab environment named production counts once (METRICS.md:
// one pipeline, one environment, once). A tag's job deploys what the
// default branch had merged: its ref is recorded as the default branch, so
// the deployed-change rule (the MR's target branch) finds its changes; the
// tag stays in job_name's record of the job.
func JobDeployment(host string, s models.Scope, j *gl.Job) models.Deployment {
	ref := j.Ref
	if j.Tag {
		ref = s.DefaultBranch
	}
	sha := j.Pipeline.Sha
	if sha == "" && j.Commit != nil {
		sha = j.Commit.ID
	}
	updated := t0(j.FinishedAt)
	if updated.IsZero() {
		updated = t0(j.CreatedAt)
	}
	d := models.Deployment{
		Origin:          models.Origin{Source: "gitlab", Instance: host},
		ID:              models.GitLabID(host, s.ID, "job", j.ID),
		ProjectID:       s.ID,
		ProjectPath:     s.Path,
		DeploymentID:    j.ID,
		Environment:     "production",
		EnvironmentTier: "production",
		Status:          j.Status,
		Ref:             ref,
		SHA:             sha,
		PipelineID:      j.Pipeline.ID,
		JobName:         j.Name,
		CreatedAt:       t0(j.CreatedAt),
		UpdatedAt:       updated,
		FinishedAt:      tp(j.FinishedAt),
	}
	if j.Tag {
		d.JobName = j.Name + " (tag " + j.Ref + ")"
	}
	if j.User != nil {
		d.Deployer = models.Person{Username: j.User.Username, Name: j.User.Name, ID: idStr(j.User.ID)}
	}
	return d
}
