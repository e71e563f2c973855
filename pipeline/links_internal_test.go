package pipeline

import (
	"fmt"
	"testing"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/issuelinks"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
)

// Only links to issues of a configured tracker land, and none to a tracker
// project the privacy policy excludes: a contract-forbidden project's keys
// are not even named.
func TestKeepLinks_ConfiguredTrackersNotExcluded(t *testing.T) {
	cfg := config.Defaults()
	cfg.Sources["jr"] = &config.Source{Name: "jr", Type: "jira", Projects: []string{"app", "SECRET"}}
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	cfg.Privacy.Exclude = config.Exclude{Projects: []string{"SECRET"}}
	pol, err := policy.New(cfg.Privacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Cfg: cfg, Policy: pol}
	b := &models.Batch{MergeRequests: []models.MergeRequest{{ID: "m", IssueLinks: issuelinks.Extract("m",
		issuelinks.Field{Via: issuelinks.ViaTitle, Text: "APP-1 SECRET-2 OPS-3 UTF-8"}, issuelinks.Field{Via: issuelinks.ViaDescription, Text: "refs #4"})}}}
	r.keepLinks(b, r.trackers())
	if got := fmt.Sprint(b.MergeRequests[0].IssueLinks); got != "[{m jira APP-1 title}]" {
		t.Errorf("kept %s: want APP-1 only (SECRET excluded, OPS not configured, UTF no project, no Redmine source)", got)
	}
}
