package jira

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/devpulse/devpulse/config"
)

// Streams a JIRA source offers.
var Streams = []string{"issues", "sprints"}

// Settings are the keys a JIRA source adds to the shared ones.
type Settings struct {
	Email      string `mapstructure:"email" json:"email"`           // Cloud: the account of the API token
	Deployment string `mapstructure:"deployment" json:"deployment"` // cloud | server | "" (detect)
	JQL        string `mapstructure:"jql" json:"jql"`               // scope; default: project in (projects)
	Boards     []int  `mapstructure:"boards" json:"boards"`         // agile boards to read sprints from
	// StoryPointsField is the custom field by name or id; "" discovers it.
	StoryPointsField string `mapstructure:"story_points_field" json:"story_points_field"`
	// IssueTypes maps issue type names to incident | bug | story | task |
	// other; unmapped names use the defaults.
	IssueTypes map[string]string `mapstructure:"issue_types" json:"issue_types"`
	// IncidentJQL marks the issues it matches as incidents, beside
	// incidents.jira_types, jira_priorities and labels: for teams whose
	// incidents are "priority = Highest AND component = Ops" or similar.
	IncidentJQL string `mapstructure:"incident_jql" json:"incident_jql"`
}

// Defaults are the settings of a source that sets none of its own keys.
func Defaults() *Settings { return &Settings{} }

// Check implements config.Settings.
func (s *Settings) Check(src *config.Source, bad func(key, format string, a ...any) error) []error {
	var errs []error
	if len(src.Projects) == 0 && s.JQL == "" {
		errs = append(errs, bad("projects", "no scope: list project keys, or give a jql"))
	}
	switch s.Deployment {
	case "", "cloud", "server":
	default:
		errs = append(errs, bad("deployment", "unknown value %q (cloud, server, or leave empty to detect)", s.Deployment))
	}
	if s.Deployment == "cloud" && s.Email == "" {
		errs = append(errs, bad("email", "Jira Cloud authenticates with email + API token: set the account's email"))
	}
	for i, b := range s.Boards {
		if b < 1 {
			errs = append(errs, bad(fmt.Sprintf("boards[%d]", i), "board id must be a positive number, got %d", b))
		}
	}
	if strings.Contains(strings.ToUpper(s.IncidentJQL), "ORDER BY") {
		errs = append(errs, bad("incident_jql", "a condition only: devpulse adds it to its own search, where ORDER BY is not allowed"))
	}
	return append(errs, config.CheckIssueTypes(s.IssueTypes, bad)...)
}

//go:embed sample.yaml
var sample string

// Kind is what the config loader needs to know of JIRA sources.
func Kind() config.Kind {
	return config.Kind{Streams: Streams, New: func() config.Settings { return Defaults() }, Sample: sample}
}

func settingsOf(src *config.Source) (*Settings, error) { return config.SettingsOf(src, Defaults) }
