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

// Type is one source type: what the config loader needs to know of it
// (streams, its own settings, their documented sample) and how to build its
// collector.
type Type struct {
	Kind config.Kind
	New  Factory
}

// Registry is every source type devpulse knows, by config `type`. A new
// collector is one package and one line here.
var Registry = map[string]Type{
	"gitlab": {gitlab.Kind(), func(src *config.Source, env Env) (Collector, error) {
		return gitlab.New(src, gitlab.Options{Logger: env.Logger, Stats: env.Stats, Deployments: env.Deployments, AI: env.AI})
	}},
	"jira": {jira.Kind(), func(src *config.Source, env Env) (Collector, error) {
		return jira.New(src, jira.Options{Logger: env.Logger, Stats: env.Stats})
	}},
	"redmine": {redmine.Kind(), func(src *config.Source, env Env) (Collector, error) {
		return redmine.New(src, redmine.Options{Logger: env.Logger, Stats: env.Stats})
	}},
}

// Kinds is what config.Load needs to know of every type.
func Kinds() map[string]config.Kind {
	out := make(map[string]config.Kind, len(Registry))
	for name, t := range Registry {
		out[name] = t.Kind
	}
	return out
}

// TypeNames are the registered types, sorted (the order of every listing).
func TypeNames() []string {
	types := make([]string, 0, len(Registry))
	for t := range Registry {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// New builds the collector for a configured source.
func New(src *config.Source, env Env) (Collector, error) {
	t, ok := Registry[src.Type]
	if !ok {
		return nil, fmt.Errorf("source %s: unknown type %q (known: %v)", src.Name, src.Type, TypeNames())
	}
	return t.New(src, env)
}
