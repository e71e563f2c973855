package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/devpulse/devpulse/alerts"
)

// Alerts configures regression detection over the weekly series
// (METRICS.md "Regressions").
type Alerts struct {
	Series    []string `mapstructure:"series" json:"series"`         // "pipeline_duration p85", "change_failure_rate"
	MinWeeks  int      `mapstructure:"min_weeks" json:"min_weeks"`   // shortest segment, whole weeks
	PValue    float64  `mapstructure:"p_value" json:"p_value"`       // Mann–Whitney confirmation
	MinChange float64  `mapstructure:"min_change" json:"min_change"` // of the median, relative, in the worse direction
	SkipWeeks []int    `mapstructure:"skip_weeks" json:"skip_weeks"` // ISO weeks left out (holidays)
}

// Settings are the detection settings these keys give.
func (a Alerts) Settings() alerts.Settings {
	s := alerts.DefaultSettings()
	s.MinWeeks, s.PValue, s.MinChange, s.SkipWeeks = a.MinWeeks, a.PValue, a.MinChange, a.SkipWeeks
	return s
}

// Watched are the series of alerts.series.
func (a Alerts) Watched() []alerts.Series {
	out := make([]alerts.Series, 0, len(a.Series))
	for _, s := range a.Series {
		if sr, err := alerts.ParseSeries(s); err == nil {
			out = append(out, sr)
		}
	}
	return out
}

// Goal is one entry of goals: a threshold for one team, one project, or
// (neither set) every scope.
type Goal struct {
	Team    string `mapstructure:"team" json:"team"`
	Project string `mapstructure:"project" json:"project"`
	Goal    string `mapstructure:"goal" json:"goal"` // "pickup_time p50 < 4h"
}

// Parsed is the goal's threshold.
func (g Goal) Parsed() alerts.Goal {
	p, _ := alerts.ParseGoal(g.Goal) // validated on load
	return p
}

// Applies tells whether the goal is for the scope (kind team|project).
func (g Goal) Applies(kind, name string) bool {
	switch {
	case g.Team != "":
		return kind == "team" && name == g.Team
	case g.Project != "":
		return kind == "project" && name == g.Project
	}
	return true
}

// Notify configures what `devpulse schedule` posts to webhooks: a
// regression that opens, a goal missed in a week, and the weekly digest.
type Notify struct {
	// ReportURL is the live report's address, linked from every message
	// (e.g. https://devpulse.example.com/); "" = no link.
	ReportURL string    `mapstructure:"report_url" json:"report_url"`
	Webhooks  []Webhook `mapstructure:"webhooks" json:"webhooks"`
	Digest    string    `mapstructure:"digest" json:"digest"` // cron of the weekly digest; "" = none
	Retries   int       `mapstructure:"retries" json:"retries"`
	Timeout   Duration  `mapstructure:"timeout" json:"timeout"`
	// Improvements: post improvements too (they are always in the report).
	Improvements bool `mapstructure:"improvements" json:"improvements"`
}

// Webhook is one incoming webhook.
type Webhook struct {
	Name   string   `mapstructure:"name" json:"name"`
	Format string   `mapstructure:"format" json:"format"` // slack | teams | generic
	URL    Secret   `mapstructure:"url" json:"url"`       // the URL is the credential: masked everywhere
	URLEnv string   `mapstructure:"url_env" json:"url_env"`
	Teams  []string `mapstructure:"teams" json:"teams"` // only these teams' events (and their projects'); empty = all
	CAFile string   `mapstructure:"ca_file" json:"ca_file"`
}

func (c *Config) resolveWebhooks(getenv func(string) string) {
	for i := range c.Notify.Webhooks {
		w := &c.Notify.Webhooks[i]
		if w.URL == "" && w.URLEnv != "" {
			w.URL = Secret(getenv(w.URLEnv))
		}
	}
}

func (c *Config) validateAlerts(bad func(key, format string, a ...any) error) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	a := c.Alerts
	for i, s := range a.Series {
		if _, err := alerts.ParseSeries(s); err != nil {
			add(bad(fmt.Sprintf("alerts.series[%d]", i), "%v", err))
		}
	}
	if a.MinWeeks < 2 {
		add(bad("alerts.min_weeks", "must be at least 2 (default 4)"))
	}
	if a.PValue <= 0 || a.PValue >= 1 {
		add(bad("alerts.p_value", "must be between 0 and 1 (default 0.01)"))
	}
	if a.MinChange < 0 {
		add(bad("alerts.min_change", "must not be negative (default 0.15, i.e. 15%%)"))
	}
	for i, w := range a.SkipWeeks {
		if w < 1 || w > 53 {
			add(bad(fmt.Sprintf("alerts.skip_weeks[%d]", i), "%d is not an ISO week number (1–53)", w))
		}
	}
	for i, g := range c.Goals {
		k := fmt.Sprintf("goals[%d]", i)
		if _, err := alerts.ParseGoal(g.Goal); err != nil {
			add(bad(k+".goal", "%v", err))
		}
		if g.Team != "" && g.Project != "" {
			add(bad(k, "set team or project, not both"))
		}
		if g.Team != "" && len(c.Teams) > 0 {
			if _, ok := c.Teams[g.Team]; !ok {
				add(bad(k+".team", "unknown team %q (teams: %s)", g.Team, strings.Join(sortedKeys(c.Teams), ", ")))
			}
		}
	}
	n := c.Notify
	if n.ReportURL != "" {
		if u, err := url.Parse(n.ReportURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(bad("notify.report_url", "%q is not an http(s) URL", n.ReportURL))
		}
	}
	if n.Digest != "" {
		if _, err := CronParser.Parse(n.Digest); err != nil {
			add(bad("notify.digest", "%q: %v (e.g. \"0 9 * * 1\": Mondays at 09:00 in schedule.timezone)", n.Digest, err))
		}
	}
	if n.Retries < 0 {
		add(bad("notify.retries", "must not be negative (default 4)"))
	}
	if n.Timeout <= 0 {
		add(bad("notify.timeout", "must be positive (default 10s)"))
	}
	names := map[string]bool{}
	for i, w := range n.Webhooks {
		k := fmt.Sprintf("notify.webhooks[%d]", i)
		if w.Name == "" {
			add(bad(k+".name", "missing (it names the webhook in logs, where its URL never appears)"))
		} else if names[w.Name] {
			add(bad(k+".name", "%q is used twice", w.Name))
		}
		names[w.Name] = true
		if !slices.Contains([]string{"slack", "teams", "generic"}, w.Format) {
			add(bad(k+".format", "unknown format %q (slack, teams or generic)", w.Format))
		}
		switch {
		case w.URL == "" && w.URLEnv != "" && !c.withoutTokens:
			add(bad(k+".url_env", "$%s is empty: set it to the webhook's URL", w.URLEnv))
		case w.URL == "" && w.URLEnv == "":
			add(bad(k+".url", "missing: set url_env to a variable holding the webhook's URL (it is a credential)"))
		case w.URL != "":
			if u, err := url.Parse(w.URL.Reveal()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(bad(k+".url", "not an http(s) URL"))
			}
		}
		for _, t := range w.Teams {
			if _, ok := c.Teams[t]; !ok && len(c.Teams) > 0 {
				add(bad(k+".teams", "unknown team %q", t))
			}
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
