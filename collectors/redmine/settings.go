package redmine

import (
	_ "embed"
	"fmt"

	"github.com/devpulse/devpulse/config"
)

// Streams a Redmine source offers.
var Streams = []string{"issues", "versions"}

// Settings are the keys a Redmine source adds to the shared ones.
type Settings struct {
	IncludeSubprojects bool     `mapstructure:"include_subprojects" json:"include_subprojects"`
	InProgressStatuses []string `mapstructure:"in_progress_statuses" json:"in_progress_statuses"`
	StoryPointsField   string   `mapstructure:"story_points_field" json:"story_points_field"` // issue custom field, by name or id
	SprintStartField   string   `mapstructure:"sprint_start_field" json:"sprint_start_field"` // version custom field, by name or id
	// IssueTypes maps tracker names to incident | bug | story | task | other.
	IssueTypes map[string]string `mapstructure:"issue_types" json:"issue_types"`
}

// Defaults are the settings of a source that sets none of its own keys.
func Defaults() *Settings {
	return &Settings{InProgressStatuses: []string{"In Progress"}, SprintStartField: "Sprint Start"}
}

// Check implements config.Settings.
func (s *Settings) Check(src *config.Source, bad func(key, format string, a ...any) error) []error {
	var errs []error
	if len(src.Projects) == 0 {
		errs = append(errs, bad("projects", "no scope: list project identifiers (include_subprojects: true for their subprojects)"))
	}
	for i, st := range s.InProgressStatuses {
		if st == "" {
			errs = append(errs, bad(fmt.Sprintf("in_progress_statuses[%d]", i), "empty status name"))
		}
	}
	return append(errs, config.CheckIssueTypes(s.IssueTypes, bad)...)
}

//go:embed sample.yaml
var sample string

// Kind is what the config loader needs to know of Redmine sources.
func Kind() config.Kind {
	return config.Kind{Streams: Streams, New: func() config.Settings { return Defaults() }, Sample: sample}
}

func settingsOf(src *config.Source) (*Settings, error) { return config.SettingsOf(src, Defaults) }
