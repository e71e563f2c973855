package collectors

import (
	"fmt"
	"sort"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/collectors/redmine"
	"github.com/devpulse/devpulse/config"
)

// Factory builds a collector from its typed config.
type Factory func(src *config.Source, env Env) (Collector, error)

// Registry is every source type devpulse knows, by config `type`.
var Registry = map[string]Factory{
	"gitlab": func(src *config.Source, env Env) (Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: env.Logger, Stats: env.Stats})
	},
	"jira": func(src *config.Source, env Env) (Collector, error) {
		return jira.New(src, jira.Options{Logger: env.Logger, Stats: env.Stats})
	},
	"redmine": func(src *config.Source, env Env) (Collector, error) {
		return redmine.New(src, redmine.Options{Logger: env.Logger, Stats: env.Stats})
	},
}

// New builds the collector for a configured source.
func New(src *config.Source, env Env) (Collector, error) {
	f, ok := Registry[src.Type]
	if !ok {
		types := make([]string, 0, len(Registry))
		for t := range Registry {
			types = append(types, t)
		}
		sort.Strings(types)
		return nil, fmt.Errorf("source %s: unknown type %q (known: %v)", src.Name, src.Type, types)
	}
	return f(src, env)
}
