// Package collectors defines the small contract every source implements and
// registers them in one visible table (registry.go).
package collectors

import (
	"context"
	"log/slog"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/models"
)

// Collector collects the streams of one configured source.
type Collector interface {
	Name() string     // configured name, e.g. "gitlab"
	Instance() string // server host, part of every record id
	Streams() []string
	// Scopes resolves configured projects and groups to project scopes.
	Scopes(ctx context.Context) ([]models.Scope, error)
	// Collect reads one stream of one scope, records updated at or after since.
	Collect(ctx context.Context, scope models.Scope, stream string, since time.Time, out models.Output) error
}

// Checker is the optional ability to verify reachability and credentials (doctor).
type Checker interface {
	Check(ctx context.Context) error
}

// Detailer is the optional ability to say what doctor should show of the
// setup a collection will use (a detected deployment type, a discovered
// field), after Check.
type Detailer interface {
	Details() []string
}

// Env is what the runner gives every collector.
type Env struct {
	Logger *slog.Logger
	Stats  *httpx.Stats
	// Deployments are the configuration's deployment rules, for collectors
	// that derive deployments (GitLab's jobs stream); a source may override.
	Deployments config.Deployments
	// AI says which MRs are AI-assisted, for collectors that read commits.
	AI config.AI
}

// Refetcher is the optional ability to read given records again, children
// included, whatever their updated_at (reconcile repairs with it).
type Refetcher interface {
	Refetch(ctx context.Context, scope models.Scope, stream string, ids []string, out models.Output) error
}

// Grouper is the optional ability to read one stream of many scopes with
// one list (GitLab's /groups/:id/merge_requests and /groups/:id/issues), so
// an unchanged re-run of a group of N projects costs one request for that
// stream instead of N.
type Grouper interface {
	// Groups returns the sets of scopes whose stream can be read together;
	// a scope in none is read on its own.
	Groups(stream string, scopes []models.Scope) []models.ScopeGroup
	// CollectGroup reads stream for every scope of g, records updated at or
	// after since, and sends each scope's records, and the cursor once the
	// whole list is read, to out(scope). Records of projects outside g are
	// neither built nor sent.
	CollectGroup(ctx context.Context, g models.ScopeGroup, stream string, since time.Time, out func(models.Scope) models.Output) error
}

// Peopler is the optional ability to list the people of a scope (project
// members), so the privacy policy knows every name before it clears any
// text that may carry one, whichever streams run and in whatever order.
type Peopler interface {
	People(ctx context.Context, scope models.Scope) ([]models.Person, error)
}
