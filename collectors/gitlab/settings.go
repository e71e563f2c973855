package gitlab

import (
	_ "embed"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/models"
)

// Streams a GitLab source offers, in collection order.
var Streams = []string{"merge_requests", "pipelines", "deployments", "jobs", "issues", "milestones"}

// Settings are the keys a GitLab source adds to the shared ones.
type Settings struct {
	Groups          []string `mapstructure:"groups" json:"groups"`                     // every project of these groups, subgroups included
	IncludeArchived bool     `mapstructure:"include_archived" json:"include_archived"` // archived projects of groups are skipped unless true
	MRSize          bool     `mapstructure:"mr_size" json:"mr_size"`                   // fetch diffs of merged MRs for mr_size
	// This source's own deployments.jobs, .job_stages, .job_refs ("": the global one).
	DeployJobs      string `mapstructure:"deploy_jobs" json:"deploy_jobs"`
	DeployJobStages string `mapstructure:"deploy_job_stages" json:"deploy_job_stages"`
	DeployJobRefs   string `mapstructure:"deploy_job_refs" json:"deploy_job_refs"`
	// DeployJobsByProject overrides deploy_jobs for single projects (path →
	// regex; "" turns job deployments off for that project).
	DeployJobsByProject map[string]string `mapstructure:"deploy_jobs_by_project" json:"deploy_jobs_by_project"`
	// WorkflowLabels map scoped board labels to a flow category (todo,
	// in_progress, done): their add/remove history (resource_label_events)
	// becomes the status history. A label with WorkflowPrefix that is
	// not listed is todo. Empty prefix: no label history is read.
	WorkflowPrefix string            `mapstructure:"workflow_prefix" json:"workflow_prefix"`
	WorkflowLabels map[string]string `mapstructure:"workflow_labels" json:"workflow_labels"`
}

// Defaults are the settings of a source that sets none of its own keys.
func Defaults() *Settings {
	return &Settings{MRSize: true, WorkflowPrefix: "workflow::", WorkflowLabels: map[string]string{
		"workflow::in dev": models.CategoryInProgress, "workflow::in progress": models.CategoryInProgress,
		"workflow::doing": models.CategoryInProgress, "workflow::in review": models.CategoryInProgress,
		"workflow::verification": models.CategoryInProgress, "workflow::blocked": models.CategoryInProgress,
		"workflow::complete": models.CategoryDone, "workflow::done": models.CategoryDone,
	}}
}

// Check implements config.Settings.
func (s *Settings) Check(src *config.Source, bad func(key, format string, a ...any) error) []error {
	var errs []error
	if len(src.Projects) == 0 && len(s.Groups) == 0 {
		errs = append(errs, bad("projects", "no scope: list projects (path or numeric id) and/or groups"))
	}
	for label, cat := range s.WorkflowLabels {
		switch cat {
		case models.CategoryTodo, models.CategoryInProgress, models.CategoryDone:
		default:
			errs = append(errs, bad("workflow_labels."+label, "category %q: want todo, in_progress or done", cat))
		}
	}
	for project, expr := range s.DeployJobsByProject {
		if err := config.CheckRegexp(expr); err != nil {
			errs = append(errs, bad("deploy_jobs_by_project."+project, "%v", err))
		}
	}
	for key, expr := range map[string]string{"deploy_jobs": s.DeployJobs, "deploy_job_stages": s.DeployJobStages, "deploy_job_refs": s.DeployJobRefs} {
		if err := config.CheckRegexp(expr); err != nil {
			errs = append(errs, bad(key, "%v", err))
		}
	}
	return errs
}

//go:embed sample.yaml
var sample string

// Kind is what the config loader needs to know of GitLab sources.
func Kind() config.Kind {
	return config.Kind{Streams: Streams, New: func() config.Settings { return Defaults() }, Sample: sample}
}

func settingsOf(src *config.Source) (*Settings, error) { return config.SettingsOf(src, Defaults) }
