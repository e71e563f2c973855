// Package config loads devpulse's configuration once: devpulse.yaml, then
// DEVPULSE_* environment variables, then flags, decoded strictly into typed
// structs and validated before any network call. Nothing below cmd/ reads viper.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/devpulse/devpulse/benchmarks"

	"github.com/robfig/cron/v3"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Secret is a credential. It prints as *** everywhere (fmt, logs, JSON, YAML)
// so that no code path can leak it by accident; Reveal is the one way out.
type Secret string

func (s Secret) String() string   { return mask(s) }
func (s Secret) GoString() string { return mask(s) }

// MarshalText keeps secrets out of JSON/YAML renderings of the config.
func (s Secret) MarshalText() ([]byte, error) { return []byte(mask(s)), nil }

// Reveal returns the credential for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

func mask(s Secret) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Duration accepts Go durations plus a day unit ("90d"), since lookbacks are in days.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText renders durations readably in `config show`.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// ParseDuration parses Go durations ("10m", "36h", "1h30m") and whole
// days, weeks and years ("90d", "2w", "1y" = 365 days), since lookbacks are
// long. A value past what a duration holds (about 292 years) is "too large",
// never a wrapped negative.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	const hint = "use e.g. 30s, 10m, 12h, 90d, 2w, 1y"
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}} {
		if !strings.HasSuffix(s, u.suffix) {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
		if err != nil || n < 0 || math.IsNaN(n) {
			return 0, fmt.Errorf("invalid duration %q (%s)", s, hint)
		}
		if n*float64(u.unit) > float64(math.MaxInt64) {
			return 0, fmt.Errorf("duration %q is too large (at most %dd)", s, int64(math.MaxInt64/int64(24*time.Hour)))
		}
		return Duration(time.Duration(n * float64(u.unit))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		if strings.Contains(err.Error(), "overflow") {
			return 0, fmt.Errorf("duration %q is too large (at most %dd)", s, int64(math.MaxInt64/int64(24*time.Hour)))
		}
		return 0, fmt.Errorf("invalid duration %q (%s)", s, hint)
	}
	return Duration(d), nil
}

// Config is the whole, validated configuration.
type Config struct {
	File          string `mapstructure:"-" json:"file"`
	withoutTokens bool
	// Warnings are problems that do not stop a run (an unknown DEVPULSE_
	// variable); commands print them.
	Warnings []string `mapstructure:"-" json:"-"`
	// Kinds are the source types there are (collectors.Kinds()); Load
	// takes them from Options, a config built in code sets them.
	Kinds       map[string]Kind     `mapstructure:"-" json:"-"`
	Sources     map[string]*Source  `mapstructure:"sources" json:"sources"`
	Teams       map[string][]string `mapstructure:"teams" json:"teams"`
	Warehouse   Warehouse           `mapstructure:"warehouse" json:"warehouse"`
	Privacy     Privacy             `mapstructure:"privacy" json:"privacy"`
	Metrics     Metrics             `mapstructure:"metrics" json:"metrics"`
	Incidents   Incidents           `mapstructure:"incidents" json:"incidents"`
	Deployments Deployments         `mapstructure:"deployments" json:"deployments"`
	Flow        Flow                `mapstructure:"flow" json:"flow"`
	Log         Log                 `mapstructure:"log" json:"log"`
	Schedule    Schedule            `mapstructure:"schedule" json:"schedule"`
	Ingest      Ingest              `mapstructure:"ingest" json:"ingest"`
	AI          AI                  `mapstructure:"ai" json:"ai"`
	Alerts      Alerts              `mapstructure:"alerts" json:"alerts"`
	Goals       []Goal              `mapstructure:"goals" json:"goals"`
	Notify      Notify              `mapstructure:"notify" json:"notify"`
}

// AI says which merged MRs count as AI-assisted (METRICS.md
// ai_assisted_rate), decided before commit messages are dropped.
type AI struct {
	// Assistants: a Co-authored-by trailer whose name or email contains one
	// of these (case-insensitive) marks the MR.
	Assistants []string `mapstructure:"assistants" json:"assistants"`
	// Labels mark an MR as assisted.
	Labels []string `mapstructure:"labels" json:"labels"`
	// AgentAccounts: MRs these accounts author are assisted (glob patterns
	// over usernames, like metrics.bot_authors).
	AgentAccounts []string `mapstructure:"agent_accounts" json:"agent_accounts"`
}

// Ingest configures the deployments and incidents other tools push to
// `devpulse schedule` (POST /api/v1/deployments, /api/v1/incidents).
type Ingest struct {
	// TokensEnv names the environment variable holding the accepted bearer
	// tokens, comma-separated. No token: the endpoints are off.
	TokensEnv string   `mapstructure:"tokens_env" json:"tokens_env"`
	Tokens    []Secret `mapstructure:"-" json:"tokens"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes" json:"max_body_bytes"`
	// TLSCertFile and TLSKeyFile serve schedule.listen over HTTPS. Without
	// them the ingest endpoints need a loopback listen address (behind a
	// TLS-terminating proxy).
	TLSCertFile string `mapstructure:"tls_cert_file" json:"tls_cert_file"`
	TLSKeyFile  string `mapstructure:"tls_key_file" json:"tls_key_file"`
}

// Schedule configures `devpulse schedule` and the stream leases every
// collect run takes.
type Schedule struct {
	Timezone string   `mapstructure:"timezone" json:"timezone"` // of the cron expressions
	Listen   string   `mapstructure:"listen" json:"listen"`     // health, metrics and the live report; "" = off
	Grace    Duration `mapstructure:"grace" json:"grace"`       // SIGTERM: how long in-flight work may take to finish
	// OnBusy: a stream already being collected elsewhere (another process or
	// machine holds its lease): wait for it, or skip it this time.
	OnBusy       string   `mapstructure:"on_busy" json:"on_busy"`
	BusyTimeout  Duration `mapstructure:"busy_timeout" json:"busy_timeout"` // how long on_busy: wait waits
	LeaseTTL     Duration `mapstructure:"lease_ttl" json:"lease_ttl"`       // a lease not renewed for this long is free again
	FailureAlert int      `mapstructure:"failure_alert" json:"failure_alert"`
	Jobs         []Job    `mapstructure:"jobs" json:"jobs"`
}

// Job is one scheduled collection.
type Job struct {
	Name      string   `mapstructure:"name" json:"name"`
	Cron      string   `mapstructure:"cron" json:"cron"` // 5 fields, 6 with seconds, or @every 15m / @hourly
	Sources   []string `mapstructure:"sources" json:"sources"`
	Streams   []string `mapstructure:"streams" json:"streams"`
	Metrics   bool     `mapstructure:"metrics" json:"metrics"`     // recompute metrics after the run
	Full      bool     `mapstructure:"full" json:"full"`           // ignore cursors (a weekly re-sync)
	Reconcile bool     `mapstructure:"reconcile" json:"reconcile"` // mark records deleted upstream
}

// Source is one server to collect from: the settings every source type
// shares. The keys of its type (GitLab groups, JIRA boards, Redmine's
// sprint field...) are declared, defaulted and checked by the collector
// package, the way Telegraf's plugins own their structs, and decoded into
// Settings.
type Source struct {
	zeroRate    bool     // rate_limit: 0 was set explicitly
	Name        string   `mapstructure:"-" json:"name"`
	Type        string   `mapstructure:"type" json:"type"`
	URL         string   `mapstructure:"url" json:"url"`
	Token       Secret   `mapstructure:"token" json:"token"`
	TokenEnv    string   `mapstructure:"token_env" json:"token_env"`
	CAFile      string   `mapstructure:"ca_file" json:"ca_file"`
	Projects    []string `mapstructure:"projects" json:"projects"` // GitLab paths or ids, JIRA keys, Redmine identifiers
	Streams     []string `mapstructure:"streams" json:"streams"`
	Concurrency int      `mapstructure:"concurrency" json:"concurrency"`
	RateLimit   float64  `mapstructure:"rate_limit" json:"rate_limit"`
	Timeout     Duration `mapstructure:"timeout" json:"timeout"`
	MaxRetries  int      `mapstructure:"max_retries" json:"max_retries"`
	Overlap     Duration `mapstructure:"overlap" json:"overlap"`
	Lookback    Duration `mapstructure:"lookback" json:"lookback"`
	// Settings are the keys of the source's type (a *gitlab.Settings for a
	// gitlab source); nil means that type's defaults.
	Settings Settings `mapstructure:"-" json:"-"`
}

// Settings are the keys a collector package adds to its sources.
type Settings interface {
	// Check reports every problem of the settings, each through bad with
	// the key relative to the source ("boards", "issue_types.Bug").
	Check(src *Source, bad func(key, format string, a ...any) error) []error
}

// Kind is what the loader needs to know of one source type; each collector
// package declares its own, and collectors/registry.go lists them.
type Kind struct {
	Streams []string // in collection order; a source collects them all unless it lists some
	// New returns the type's settings holding their defaults; a source's
	// keys are decoded over them.
	New func() Settings
	// Sample is the documented YAML of one source of this type, as it sits
	// under sources: (the reference file and the README are built from it).
	Sample string
}

// MarshalJSON renders a source as it is written in the file: the shared
// keys, then its type's.
func (s Source) MarshalJSON() ([]byte, error) {
	type plain Source
	common, err := json.Marshal(plain(s))
	if err != nil || s.Settings == nil {
		return common, err
	}
	own, err := json.Marshal(s.Settings)
	if err != nil {
		return nil, err
	}
	if len(own) <= 2 {
		return common, nil
	}
	return append(append(common[:len(common)-1], ','), own[1:]...), nil
}

// Warehouse selects and configures the landing engine.
type Warehouse struct {
	Engine    string `mapstructure:"engine" json:"engine"`
	Path      string `mapstructure:"path" json:"path"`
	BatchSize int    `mapstructure:"batch_size" json:"batch_size"`
	// MemoryLimit caps DuckDB's buffer pool ("512MB"): without it DuckDB may
	// keep up to 80% of RAM of table pages cached, and a long collection grows.
	MemoryLimit string `mapstructure:"memory_limit" json:"memory_limit"`
	// Snowflake is used when Engine is "snowflake".
	Snowflake Snowflake `mapstructure:"snowflake" json:"snowflake"`
}

// Snowflake is the connection of the Snowflake engine. Credentials are
// resolved from their *_env variables at load time into Secret fields.
type Snowflake struct {
	Account   string `mapstructure:"account" json:"account"` // e.g. myorg-myaccount (or the locator xy12345.eu-central-1)
	User      string `mapstructure:"user" json:"user"`
	Role      string `mapstructure:"role" json:"role"`
	Warehouse string `mapstructure:"warehouse" json:"warehouse"`
	Database  string `mapstructure:"database" json:"database"`
	Schema    string `mapstructure:"schema" json:"schema"`
	// Authenticator: keypair (JWT), password, or pat (programmatic access
	// token). Empty picks keypair when a private key is configured, else pat
	// when a token is, else password.
	Authenticator           string `mapstructure:"authenticator" json:"authenticator"`
	PrivateKeyFile          string `mapstructure:"private_key_file" json:"private_key_file"`
	PrivateKey              Secret `mapstructure:"private_key" json:"private_key"` // PEM; prefer private_key_env
	PrivateKeyEnv           string `mapstructure:"private_key_env" json:"private_key_env"`
	PrivateKeyPassphrase    Secret `mapstructure:"private_key_passphrase" json:"private_key_passphrase"`
	PrivateKeyPassphraseEnv string `mapstructure:"private_key_passphrase_env" json:"private_key_passphrase_env"`
	Password                Secret `mapstructure:"password" json:"password"`
	PasswordEnv             string `mapstructure:"password_env" json:"password_env"`
	Token                   Secret `mapstructure:"token" json:"token"`
	TokenEnv                string `mapstructure:"token_env" json:"token_env"`
	// Host, Port and Protocol override <account>.snowflakecomputing.com:443
	// over https (private link, or a test server).
	Host     string   `mapstructure:"host" json:"host"`
	Port     int      `mapstructure:"port" json:"port"`
	Protocol string   `mapstructure:"protocol" json:"protocol"`
	CAFile   string   `mapstructure:"ca_file" json:"ca_file"`
	Timeout  Duration `mapstructure:"timeout" json:"timeout"` // per statement and per login
}

// Privacy is the policy applied before anything lands.
type Privacy struct {
	Secret            Secret            `mapstructure:"secret" json:"secret"`
	People            string            `mapstructure:"people" json:"people"`
	AllowPersonalData bool              `mapstructure:"allow_personal_data" json:"allow_personal_data"`
	Titles            string            `mapstructure:"titles" json:"titles"`
	Refs              string            `mapstructure:"refs" json:"refs"` // branch and tag names: mask | hash | drop
	Identities        map[string]string `mapstructure:"identities" json:"identities"`
	Exclude           Exclude           `mapstructure:"exclude" json:"exclude"`
}

// Exclude lists what contracts forbid analysing; matching records never land.
type Exclude struct {
	Projects   []string `mapstructure:"projects" json:"projects"`
	Groups     []string `mapstructure:"groups" json:"groups"`
	Labels     []string `mapstructure:"labels" json:"labels"`
	IssueTypes []string `mapstructure:"issue_types" json:"issue_types"`
}

// Metrics configures derivations.
type Metrics struct {
	Timezone      string   `mapstructure:"timezone" json:"timezone"`
	BotAuthors    []string `mapstructure:"bot_authors" json:"bot_authors"`
	IncludeBots   bool     `mapstructure:"include_bots" json:"include_bots"`
	BenchmarkYear int      `mapstructure:"benchmark_year" json:"benchmark_year"`
	// BenchmarkIndustry is the DORA 2025 Quick Check reference group shown
	// beside dora_score: an industry or an organisation size.
	BenchmarkIndustry string `mapstructure:"benchmark_industry" json:"benchmark_industry"`
}

// Incidents says which issues are incidents and how they are attributed.
type Incidents struct {
	Labels          []string `mapstructure:"labels" json:"labels"`
	RedmineTrackers []string `mapstructure:"redmine_trackers" json:"redmine_trackers"`
	JiraTypes       []string `mapstructure:"jira_types" json:"jira_types"`
	// JiraPriorities and RedminePriorities: issues of these priorities are
	// incidents too (a team that files outages as Blocker bugs).
	JiraPriorities    []string `mapstructure:"jira_priorities" json:"jira_priorities"`
	RedminePriorities []string `mapstructure:"redmine_priorities" json:"redmine_priorities"`
	AttributionWindow Duration `mapstructure:"attribution_window" json:"attribution_window"`
	// NotChangeLabels mark incidents that no change caused (an outage of a
	// provider, a capacity event): they count in time_to_restore but never
	// fail a deployment.
	NotChangeLabels []string `mapstructure:"not_change_labels" json:"not_change_labels"`
}

// Flow holds the choices of the flow metrics.
type Flow struct {
	// ActiveStatuses are the statuses whose time counts as work in
	// flow_efficiency (the rest of the cycle is waiting).
	ActiveStatuses []string `mapstructure:"active_statuses" json:"active_statuses"`
}

// Deployments says which environments are production.
type Deployments struct {
	// Production is a regular expression over environment names, used when
	// GitLab reports no environment tier.
	Production string `mapstructure:"production" json:"production"`
	// Jobs, for projects without GitLab environments: a regular expression
	// over CI job names; a successful matching job is a production
	// deployment. Empty: no job is one. A GitLab source may override it.
	Jobs string `mapstructure:"jobs" json:"jobs"`
	// JobStages narrows Jobs to stages matching this expression (empty: any).
	JobStages string `mapstructure:"job_stages" json:"job_stages"`
	// JobRefs narrows Jobs to refs matching this expression; empty: the
	// project's default branch and tags.
	JobRefs string `mapstructure:"job_refs" json:"job_refs"`
}

// Log configures logging.
type Log struct {
	Level  string `mapstructure:"level" json:"level"`
	Format string `mapstructure:"format" json:"format"`
}

func setDefaults(v *viper.Viper) {
	v.SetDefault("warehouse.engine", "duckdb")
	v.SetDefault("warehouse.path", "devpulse.duckdb")
	v.SetDefault("warehouse.batch_size", 10000)
	v.SetDefault("warehouse.memory_limit", "512MB")
	v.SetDefault("warehouse.snowflake.schema", "DEVPULSE")
	v.SetDefault("warehouse.snowflake.timeout", "10m")
	v.SetDefault("privacy.secret", "")
	v.SetDefault("privacy.people", "pseudonymize")
	v.SetDefault("privacy.refs", "mask")
	v.SetDefault("privacy.allow_personal_data", false)
	v.SetDefault("privacy.titles", "drop")
	v.SetDefault("metrics.timezone", "UTC")
	v.SetDefault("metrics.bot_authors", []string{"*bot", "*[bot]", "project_*_bot*", "ghost"})
	v.SetDefault("metrics.include_bots", false)
	v.SetDefault("metrics.benchmark_year", 2024)
	v.SetDefault("metrics.benchmark_industry", "all")
	v.SetDefault("incidents.labels", []string{"incident"})
	v.SetDefault("incidents.not_change_labels", []string{"not-change-related"})
	v.SetDefault("incidents.jira_priorities", []string{})
	v.SetDefault("incidents.redmine_priorities", []string{})
	v.SetDefault("ingest.max_body_bytes", 1<<20)
	v.SetDefault("ai.assistants", []string{"GitHub Copilot", "Copilot", "Claude", "Cursor", "Codex", "Devin", "Gemini", "Aider", "Amazon Q"})
	v.SetDefault("ai.labels", []string{"ai-assisted"})
	v.SetDefault("ai.agent_accounts", []string{})
	v.SetDefault("incidents.redmine_trackers", []string{"Incident"})
	v.SetDefault("incidents.jira_types", []string{"Incident"})
	v.SetDefault("incidents.attribution_window", "7d")
	v.SetDefault("flow.active_statuses", []string{"In Progress"})
	v.SetDefault("deployments.production", "^(prod|production)")
	v.SetDefault("log.level", "info")
	v.SetDefault("log.format", "text")
	v.SetDefault("schedule.timezone", "UTC")
	v.SetDefault("schedule.listen", "")
	v.SetDefault("schedule.grace", "30s")
	v.SetDefault("schedule.on_busy", "wait")
	v.SetDefault("schedule.busy_timeout", "2m")
	v.SetDefault("schedule.lease_ttl", "10m")
	v.SetDefault("schedule.failure_alert", 3)
	v.SetDefault("alerts.series", []string{"lead_time_for_changes p50", "pipeline_duration p50", "pipeline_duration p85",
		"pipeline_queue_time p50", "pickup_time p50", "review_time p50", "change_failure_rate", "deployment_frequency", "cycle_time p50"})
	v.SetDefault("alerts.min_weeks", 4)
	v.SetDefault("alerts.p_value", 0.01)
	v.SetDefault("alerts.min_change", 0.15)
	v.SetDefault("alerts.skip_weeks", []int{52, 53, 1})
	v.SetDefault("notify.report_url", "")
	v.SetDefault("notify.digest", "")
	v.SetDefault("notify.retries", 4)
	v.SetDefault("notify.timeout", "10s")
	v.SetDefault("notify.improvements", false)
}

// SourceDefaults are applied to every source for keys it leaves unset.
var SourceDefaults = map[string]any{
	"concurrency": 4,
	"rate_limit":  25.0,
	"timeout":     "30s",
	"max_retries": 8,
	"overlap":     "10m",
	"lookback":    "365d",
}

// Options are what cmd/ passes in: where the file is and flag overrides.
type Options struct {
	Path      string              // --config; "" means ./devpulse.yaml if it exists
	Overrides map[string]any      // flag values, by config key
	Env       func(string) string // os.Getenv by default; tests inject
	// WithoutTokens: the command makes no API request (query, report,
	// metrics, purge), so a missing token is no error.
	WithoutTokens bool
	// Kinds are the source types there are, by `type` (collectors.Kinds()).
	Kinds map[string]Kind
}

// ConfigError is a validation failure: one line naming the key and the file.
type ConfigError struct {
	File, Key, Msg string
}

func (e *ConfigError) Error() string {
	where := e.File
	if where == "" {
		where = "config"
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", where, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Key, e.Msg)
}

// Load reads, decodes and validates the configuration.
func Load(opts Options) (*Config, error) {
	getenv := opts.Env
	if getenv == nil {
		getenv = os.Getenv
	}
	v := viper.New()
	v.SetEnvPrefix("DEVPULSE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	setDefaults(v)

	file := opts.Path
	if file == "" {
		file = getenv("DEVPULSE_CONFIG")
	}
	explicit := file != ""
	if !explicit {
		file = "devpulse.yaml"
	}
	if _, err := os.Stat(file); err == nil {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, &ConfigError{File: file, Msg: "cannot parse: " + oneLine(err.Error())}
		}
	} else if explicit {
		return nil, &ConfigError{File: file, Msg: "cannot read: " + err.Error()}
	} else {
		file = ""
	}

	// Environment: viper only sees env vars for keys it already knows, so bind
	// every default key and every key each configured source may have.
	for _, k := range v.AllKeys() {
		_ = v.BindEnv(k)
	}
	for _, k := range structKeys(reflect.TypeOf(Snowflake{}), "warehouse.snowflake.") {
		_ = v.BindEnv(k)
	}
	for name := range v.GetStringMap("sources") {
		for _, k := range sourceKeys(opts.Kinds, v.GetString("sources."+name+".type")) {
			_ = v.BindEnv("sources." + name + "." + k)
		}
	}
	v.AutomaticEnv()
	for k, val := range opts.Overrides {
		v.Set(k, val)
	}

	if err := checkUnknownKeys(v, file, opts.Kinds); err != nil {
		return nil, err
	}

	var c Config
	if err := v.Unmarshal(&c, decoderOptions); err != nil {
		return nil, decodeError(err, file, "")
	}
	c.Warnings = unknownEnv(v, opts.Kinds)
	c.File = file
	c.Kinds = opts.Kinds
	c.withoutTokens = opts.WithoutTokens
	all, _ := v.AllSettings()["sources"].(map[string]any)
	for name, s := range c.Sources {
		if s == nil {
			return nil, &ConfigError{File: file, Key: "sources." + name, Msg: "is empty"}
		}
		s.Name = name
		if kind, ok := opts.Kinds[s.Type]; ok {
			s.Settings = kind.New()
			raw, _ := all[name].(map[string]any)
			dec, err := mapstructure.NewDecoder(settingsDecoder(s.Settings))
			if err == nil {
				err = dec.Decode(raw)
			}
			if err != nil {
				return nil, decodeError(err, file, "sources."+name+".")
			}
		}
		if len(s.Streams) == 0 {
			s.Streams = append([]string(nil), opts.Kinds[s.Type].Streams...)
		}
		if err := applySourceDefaults(s, func(key string) bool { return v.IsSet("sources." + name + "." + key) }); err != nil {
			key, msg, _ := strings.Cut(err.Error(), ": ")
			return nil, &ConfigError{File: file, Key: "sources." + name + "." + key, Msg: msg}
		}
		if s.Token == "" && s.TokenEnv != "" {
			s.Token = Secret(getenv(s.TokenEnv))
		}
	}
	c.resolveWebhooks(getenv)
	if c.Ingest.TokensEnv != "" {
		for _, t := range strings.Split(getenv(c.Ingest.TokensEnv), ",") {
			if t = strings.TrimSpace(t); t != "" {
				c.Ingest.Tokens = append(c.Ingest.Tokens, Secret(t))
			}
		}
	}
	sf := &c.Warehouse.Snowflake
	for _, r := range []struct {
		dst *Secret
		env string
	}{{&sf.PrivateKey, sf.PrivateKeyEnv}, {&sf.PrivateKeyPassphrase, sf.PrivateKeyPassphraseEnv}, {&sf.Password, sf.PasswordEnv}, {&sf.Token, sf.TokenEnv}} {
		if *r.dst == "" && r.env != "" {
			*r.dst = Secret(getenv(r.env))
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func decoderOptions(dc *mapstructure.DecoderConfig) {
	dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(durationHook, listHook)
	dc.WeaklyTypedInput = true
}

// settingsDecoder decodes a source's keys over its type's defaults: a key
// the source sets replaces the default whole (a list is not merged into
// the default list), a key it leaves out keeps the default. The shared
// keys are in the same map and ignored here; unknown keys were refused
// before.
func settingsDecoder(out Settings) *mapstructure.DecoderConfig {
	dc := &mapstructure.DecoderConfig{Result: out, ZeroFields: true}
	decoderOptions(dc)
	return dc
}

// Defaults is the configuration with every default and no sources: the
// starting point for configs built in code (demo, tests, benchmarks), from the
// same defaults a file gets.
func Defaults() *Config {
	v := viper.New()
	setDefaults(v)
	var c Config
	if err := v.Unmarshal(&c, decoderOptions); err != nil {
		panic("config: defaults do not decode: " + err.Error())
	}
	c.Sources = map[string]*Source{}
	return &c
}

// listHook reads a list from one string, "a,b" (how lists are written in
// environment variables), for a list of any element type (boards: 3,4).
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	str := strings.TrimSpace(data.(string))
	if str == "" {
		return []string{}, nil
	}
	parts := strings.Split(str, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

var durationType = reflect.TypeOf(Duration(0))

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch x := data.(type) {
	case string:
		return ParseDuration(x)
	case int, int64, float64:
		return nil, fmt.Errorf("duration %v needs a unit (e.g. 30s, 10m, 90d)", x)
	}
	return data, nil
}

// applySourceDefaults fills the keys a source does not set. set tells
// whether the file, the environment or a flag set a key (nil: none did): a
// value set to 0 is kept, then accepted (max_retries: 0, overlap: 0s) or
// rejected by Validate (timeout: 0s), never silently replaced by a default.
func applySourceDefaults(s *Source, set func(key string) bool) error {
	if set == nil {
		set = func(string) bool { return false }
	}
	if s.Concurrency == 0 && !set("concurrency") {
		s.Concurrency = SourceDefaults["concurrency"].(int)
	}
	if s.RateLimit == 0 && !set("rate_limit") {
		s.RateLimit = SourceDefaults["rate_limit"].(float64)
	} else if s.RateLimit == 0 {
		s.zeroRate = true // reported by Validate with every other problem
	}
	if s.MaxRetries == 0 && !set("max_retries") {
		s.MaxRetries = SourceDefaults["max_retries"].(int)
	}
	for key, dst := range map[string]*Duration{"timeout": &s.Timeout, "overlap": &s.Overlap, "lookback": &s.Lookback} {
		if *dst == 0 && !set(key) {
			d, err := ParseDuration(SourceDefaults[key].(string))
			if err != nil {
				return err
			}
			*dst = d
		}
	}
	return nil
}

// Validate checks everything that can be checked without the network and
// reports every problem at once (one line each), not one per run.
func (c *Config) Validate() error {
	bad := func(key, format string, a ...any) error {
		return &ConfigError{File: c.File, Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Sources) > 0 && c.Kinds == nil {
		return errors.New("config: no source types are known (the program must pass collectors.Kinds())")
	}
	names := make([]string, 0, len(c.Sources))
	for n := range c.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.Sources[n]
		k := "sources." + n
		kind, known := c.Kinds[s.Type]
		switch {
		case known:
		case s.Type == "":
			add(bad(k+".type", "missing (one of: %s)", strings.Join(c.kindNames(), ", ")))
		default:
			add(bad(k+".type", "unknown source type %q (one of: %s)", s.Type, strings.Join(c.kindNames(), ", ")))
		}
		if known {
			if s.Settings == nil {
				s.Settings = kind.New()
			}
			for _, err := range s.Settings.Check(s, func(key, format string, a ...any) error {
				return bad(k+"."+key, format, a...)
			}) {
				add(err)
			}
		}
		u, err := url.Parse(s.URL)
		if s.URL == "" {
			add(bad(k+".url", "missing (e.g. https://gitlab.example.com)"))
		}
		if s.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			add(bad(k+".url", "malformed URL %q (want http(s)://host[:port][/path])", s.URL))
		} else if err == nil && u.Port() != "" {
			if n, perr := strconv.Atoi(u.Port()); perr != nil || n < 1 || n > 65535 {
				add(bad(k+".url", "port %q of %q is not 1..65535", u.Port(), s.URL))
			}
		}
		if err == nil && u.User != nil {
			add(bad(k+".url", "must not contain credentials; use token or token_env"))
		}
		if s.Token == "" && !c.withoutTokens {
			hint := fmt.Sprintf("set DEVPULSE_SOURCES_%s_TOKEN", strings.ToUpper(n))
			if s.TokenEnv != "" {
				hint = fmt.Sprintf("environment variable %s is empty", s.TokenEnv)
			}
			add(bad(k+".token", "missing API token (%s, or token_env: NAME)", hint))
		}
		for _, st := range s.Streams {
			if known && !slices.Contains(kind.Streams, st) {
				add(bad(k+".streams", "unknown stream %q (one of: %s)", st, strings.Join(kind.Streams, ", ")))
			}
		}
		if s.Concurrency < 1 || s.Concurrency > 64 {
			add(bad(k+".concurrency", "must be 1..64, got %d", s.Concurrency))
		}
		if s.RateLimit < 0 || s.zeroRate {
			add(bad(k+".rate_limit", "must be > 0 requests/s, got %g (leave it out for the default, %g)", s.RateLimit, SourceDefaults["rate_limit"].(float64)))
		}
		if s.MaxRetries < 0 {
			add(bad(k+".max_retries", "must not be negative (0 = no retries)"))
		}
		for key, d := range map[string]Duration{"timeout": s.Timeout, "lookback": s.Lookback} {
			if d <= 0 {
				add(bad(k+"."+key, "must be positive (e.g. 30s, 365d)"))
			}
		}
		if s.Overlap < 0 {
			add(bad(k+".overlap", "must not be negative"))
		}
		if s.CAFile != "" {
			if _, err := os.Stat(s.CAFile); err != nil {
				add(bad(k+".ca_file", "cannot read %s: %v", s.CAFile, errors.Unwrap(err)))
			}
		}
	}
	for team, members := range c.Teams {
		if len(members) == 0 {
			add(bad("teams."+team, "has no members"))
		}
		for _, m := range members {
			src, _, ok := strings.Cut(m, ":")
			if !ok {
				add(bad("teams."+team, "member %q must be <source>:<project path>", m))
			}
			if _, found := c.Sources[src]; !found {
				add(bad("teams."+team, "member %q names unknown source %q", m, src))
			}
		}
	}
	switch c.Warehouse.Engine {
	case "duckdb":
		if c.Warehouse.Path == "" {
			add(bad("warehouse.path", "missing (e.g. devpulse.duckdb)"))
		}
	case "snowflake":
		add(c.Warehouse.Snowflake.validate(bad))
	default:
		add(bad("warehouse.engine", "unknown engine %q (available: duckdb, snowflake)", c.Warehouse.Engine))
	}
	if c.Warehouse.BatchSize < 1 {
		add(bad("warehouse.batch_size", "must be >= 1"))
	}
	switch c.Privacy.People {
	case "pseudonymize", "drop":
	case "keep":
		if !c.Privacy.AllowPersonalData {
			add(bad("privacy.people", "keep lands personal data in clear; it also needs privacy.allow_personal_data: true"))
		}
	default:
		add(bad("privacy.people", "unknown value %q (pseudonymize, drop or keep)", c.Privacy.People))
	}
	switch c.Privacy.Titles {
	case "drop", "keep", "hash":
	default:
		add(bad("privacy.titles", "unknown value %q (drop, keep or hash)", c.Privacy.Titles))
	}
	switch c.Privacy.Refs {
	case "mask", "hash", "drop":
	default:
		add(bad("privacy.refs", "unknown value %q (mask, hash or drop)", c.Privacy.Refs))
	}
	if c.Privacy.Refs == "hash" && c.Privacy.Secret == "" {
		add(bad("privacy.refs", "hash needs privacy.secret (the hash is keyed)"))
	}
	if c.Privacy.Secret != "" {
		if why := SecretWeakness(c.Privacy.Secret.Reveal()); why != "" {
			add(bad("privacy.secret", "%s", why))
		}
	}
	if _, err := time.LoadLocation(c.Metrics.Timezone); err != nil {
		add(bad("metrics.timezone", "unknown time zone %q (e.g. UTC, Europe/Berlin, Asia/Tokyo)", c.Metrics.Timezone))
	}
	add(c.Schedule.validate(bad, c.Sources, c.Kinds))
	for _, err := range c.validateAlerts(bad) {
		add(err)
	}
	if c.Ingest.MaxBodyBytes <= 0 {
		add(bad("ingest.max_body_bytes", "must be positive (default 1048576)"))
	}
	if (c.Ingest.TLSCertFile == "") != (c.Ingest.TLSKeyFile == "") {
		add(bad("ingest.tls_cert_file", "set both tls_cert_file and tls_key_file, or neither"))
	}
	if c.Ingest.TokensEnv != "" && len(c.Ingest.Tokens) == 0 && !c.withoutTokens {
		add(bad("ingest.tokens_env", "$%s is empty: set it to one or more bearer tokens, comma-separated", c.Ingest.TokensEnv))
	}
	if len(c.Ingest.Tokens) > 0 && c.Ingest.TLSCertFile == "" && c.Schedule.Listen != "" && !LoopbackAddr(c.Schedule.Listen) {
		add(bad("schedule.listen", "%s is not a loopback address and ingest is on: tokens would travel in clear; set ingest.tls_cert_file and ingest.tls_key_file, or listen on 127.0.0.1 behind a TLS proxy", c.Schedule.Listen))
	}
	if c.Deployments.Production == "" {
		add(bad("deployments.production", "empty: it would count every environment as production"))
	}
	for key, expr := range map[string]string{"deployments.jobs": c.Deployments.Jobs, "deployments.job_stages": c.Deployments.JobStages,
		"deployments.job_refs": c.Deployments.JobRefs} {
		if err := CheckRegexp(expr); err != nil {
			add(bad(key, "%v", err))
		}
	}
	if _, err := regexp.Compile(c.Deployments.Production); err != nil {
		add(bad("deployments.production", "not a regular expression: %v", err))
	}
	if len(c.Flow.ActiveStatuses) == 0 {
		add(bad("flow.active_statuses", "empty: flow_efficiency needs at least one status that counts as work (default [In Progress])"))
	}
	for i, st := range c.Flow.ActiveStatuses {
		if strings.TrimSpace(st) == "" {
			add(bad(fmt.Sprintf("flow.active_statuses[%d]", i), "empty status name"))
		}
	}
	if c.Incidents.AttributionWindow <= 0 {
		add(bad("incidents.attribution_window", "must be positive (e.g. 7d)"))
	}
	if c.Metrics.BenchmarkYear != 2024 {
		add(bad("metrics.benchmark_year", "no benchmarks for %d (available: 2024)", c.Metrics.BenchmarkYear))
	}
	if _, err := benchmarks.QuickCheck(c.Metrics.BenchmarkIndustry); err != nil {
		add(bad("metrics.benchmark_industry", "%v", err))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add(bad("log.format", "unknown value %q (text or json)", c.Log.Format))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add(bad("log.level", "unknown value %q (debug, info, warn or error)", c.Log.Level))
	}
	return errors.Join(errs...)
}

// kindNames are the configured source types, sorted.
func (c *Config) kindNames() []string {
	names := make([]string, 0, len(c.Kinds))
	for n := range c.Kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StreamsOf lists the streams of a source type (none for an unknown type).
func (c *Config) StreamsOf(typ string) []string { return c.Kinds[typ].Streams }

// commonKeys are the keys every source takes.
var commonKeys = structKeys(reflect.TypeOf(Source{}), "")

// kindKeys are the keys a source type adds, and those of them that hold maps
// (issue_types: {Bug: bug}).
func kindKeys(kind Kind) (keys, maps []string) {
	if kind.New == nil {
		return nil, nil
	}
	t := reflect.TypeOf(kind.New())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" && t.Field(i).Type.Kind() == reflect.Map {
			maps = append(maps, tag)
		}
	}
	return structKeys(t, ""), maps
}

// sourceKeys are every key a source of type typ takes.
func sourceKeys(kinds map[string]Kind, typ string) []string {
	own, maps := kindKeys(kinds[typ])
	return append(append(append([]string(nil), commonKeys...), own...), maps...)
}

// checkUnknownKeys names every key that no setting takes: a typo silently
// ignored is how a collector ends up with half its scope. A key of another
// source type (groups: on a JIRA source) is named as such.
func checkUnknownKeys(v *viper.Viper, file string, kinds map[string]Kind) error {
	known := map[string]bool{}
	for _, k := range structKeys(reflect.TypeOf(Config{}), "") {
		known[k] = true
	}
	common := map[string]bool{}
	for _, k := range commonKeys {
		common[k] = true
	}
	ownerOf := map[string][]string{} // key -> the types that take it
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		keys, maps := kindKeys(kinds[n])
		for _, k := range append(keys, maps...) {
			ownerOf[k] = append(ownerOf[k], n)
		}
	}
	takes := func(typ, key string) bool { return slices.Contains(ownerOf[key], typ) }
	keys := v.AllKeys()
	sort.Strings(keys)
	var errs []error
	for _, k := range keys {
		parts := strings.Split(k, ".")
		switch {
		case known[k]:
		case parts[0] == "teams" && len(parts) == 2:
		case parts[0] == "privacy" && len(parts) == 3 && parts[1] == "identities":
		case parts[0] == "sources" && len(parts) >= 3:
			typ := v.GetString("sources." + parts[1] + ".type")
			key := parts[2]
			_, typeKnown := kinds[typ]
			_, maps := kindKeys(kinds[typ])
			switch {
			case len(parts) == 3 && common[key]:
			case !typeKnown: // reported as an unknown type by Validate
			case len(parts) == 3 && takes(typ, key):
			case len(parts) == 4 && takes(typ, key) && slices.Contains(maps, key):
			case len(ownerOf[key]) > 0:
				errs = append(errs, &ConfigError{File: file, Key: k, Msg: fmt.Sprintf("not a setting of a %s source (%s sources take it)", typ, strings.Join(ownerOf[key], " and "))})
			default:
				errs = append(errs, &ConfigError{File: file, Key: k, Msg: fmt.Sprintf("unknown key for a %s source (see `devpulse config reference` for the keys there are)", typ)})
			}
		default:
			errs = append(errs, &ConfigError{File: file, Key: k, Msg: "unknown key (see `devpulse config reference` for the keys there are)"})
		}
	}
	return errors.Join(errs...)
}

// structKeys lists the dotted keys a struct accepts (maps are open-ended and skipped).
func structKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		ft := f.Type
		if ft.Kind() == reflect.Struct {
			out = append(out, structKeys(ft, key+".")...)
			continue
		}
		if ft.Kind() == reflect.Map {
			continue
		}
		out = append(out, key)
	}
	return out
}

var decodeRe = regexp.MustCompile(`'([^']+)' (.*)`)

// decodeError turns a decoder failure into one line naming the key in its
// documented spelling (sources.gl.concurrency, not 'sources[gl].concurrency')
// and, when the value came from the environment, the variable instead of
// the file.
func decodeError(err error, file, prefix string) error {
	msg := strings.TrimPrefix(oneLine(err.Error()), "decoding failed due to the following error(s): ")
	m := decodeRe.FindStringSubmatch(msg)
	if m == nil {
		return &ConfigError{File: file, Msg: msg}
	}
	key := prefix + strings.NewReplacer("[", ".", "]", "").Replace(m[1])
	why := m[2]
	for typ, plain := range map[string]string{"'int'": "must be a whole number", "'uint'": "must be a whole number",
		"'float64'": "must be a number", "'float'": "must be a number", "'bool'": "must be true or false"} {
		if strings.Contains(why, "cannot parse value as "+typ) {
			why = plain
		}
	}
	if name := envName(key); os.Getenv(name) != "" {
		return &ConfigError{File: "environment", Key: name, Msg: fmt.Sprintf("%s (%s): %q", why, key, os.Getenv(name))}
	}
	return &ConfigError{File: file, Key: key, Msg: why}
}

func envName(key string) string {
	return "DEVPULSE_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// unknownEnv lists DEVPULSE_ variables that name no setting: a misspelled
// variable is otherwise silently ignored.
func unknownEnv(v *viper.Viper, kinds map[string]Kind) []string {
	known := map[string]bool{"DEVPULSE_CONFIG": true}
	for _, k := range v.AllKeys() {
		known[envName(k)] = true
	}
	for name := range v.GetStringMap("sources") {
		for _, k := range sourceKeys(kinds, v.GetString("sources."+name+".type")) {
			known[envName("sources."+name+"."+k)] = true
		}
	}
	for _, k := range structKeys(reflect.TypeOf(Snowflake{}), "warehouse.snowflake.") {
		known[envName(k)] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "DEVPULSE_") || known[name] || strings.HasPrefix(name, "DEVPULSE_TEST_") {
			continue
		}
		hint := ""
		if near := nearest(name, known); near != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", near)
		}
		out = append(out, fmt.Sprintf("environment variable %s is not a devpulse setting and is ignored%s", name, hint))
	}
	sort.Strings(out)
	return out
}

// nearest is the known name within a few edits of name, if any.
func nearest(name string, known map[string]bool) string {
	best, bestD := "", 4
	for k := range known {
		if d := editDistance(name, k); d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// AuthMethod is the authenticator in effect: keypair, pat or password.
func (s *Snowflake) AuthMethod() string {
	if s.Authenticator != "" {
		return s.Authenticator
	}
	switch {
	case s.PrivateKeyFile != "" || s.PrivateKey != "":
		return "keypair"
	case s.Token != "":
		return "pat"
	}
	return "password"
}

func (s *Snowflake) validate(bad func(key, format string, a ...any) error) error {
	const k = "warehouse.snowflake."
	for _, f := range []struct{ key, val, example string }{
		{"account", s.Account, "myorg-myaccount"}, {"user", s.User, "DEVPULSE"}, {"warehouse", s.Warehouse, "DEVPULSE_WH"},
		{"database", s.Database, "ANALYTICS"}, {"schema", s.Schema, "DEVPULSE"},
	} {
		if f.val == "" {
			return bad(k+f.key, "missing (e.g. %s)", f.example)
		}
	}
	if strings.Contains(s.Account, ".snowflakecomputing.com") {
		return bad(k+"account", "is the account identifier, not the host: use %q", strings.SplitN(s.Account, ".snowflakecomputing.com", 2)[0])
	}
	switch s.AuthMethod() {
	case "keypair":
		if s.PrivateKeyFile == "" && s.PrivateKey == "" {
			hint := "private_key_file: path to the PEM (PKCS#8), or private_key_env: NAME"
			if s.PrivateKeyEnv != "" {
				hint = fmt.Sprintf("environment variable %s is empty", s.PrivateKeyEnv)
			}
			return bad(k+"private_key_file", "key-pair authentication needs the private key (%s)", hint)
		}
		if s.PrivateKeyFile != "" {
			if _, err := os.Stat(s.PrivateKeyFile); err != nil {
				return bad(k+"private_key_file", "cannot read %s: %v", s.PrivateKeyFile, errors.Unwrap(err))
			}
		}
	case "password":
		if s.Password == "" {
			hint := "set DEVPULSE_WAREHOUSE_SNOWFLAKE_PASSWORD, or password_env: NAME"
			if s.PasswordEnv != "" {
				hint = fmt.Sprintf("environment variable %s is empty", s.PasswordEnv)
			}
			return bad(k+"password", "missing (%s); or use key-pair authentication", hint)
		}
	case "pat":
		if s.Token == "" {
			hint := "set DEVPULSE_WAREHOUSE_SNOWFLAKE_TOKEN, or token_env: NAME"
			if s.TokenEnv != "" {
				hint = fmt.Sprintf("environment variable %s is empty", s.TokenEnv)
			}
			return bad(k+"token", "missing programmatic access token (%s)", hint)
		}
	default:
		return bad(k+"authenticator", "unknown value %q (keypair, password or pat)", s.Authenticator)
	}
	switch s.Protocol {
	case "", "https", "http":
	default:
		return bad(k+"protocol", "unknown value %q (https, or http for a local test server)", s.Protocol)
	}
	if s.CAFile != "" {
		if _, err := os.Stat(s.CAFile); err != nil {
			return bad(k+"ca_file", "cannot read %s: %v", s.CAFile, errors.Unwrap(err))
		}
	}
	if s.Timeout <= 0 {
		return bad(k+"timeout", "must be positive (e.g. 10m)")
	}
	return nil
}

// CronParser parses job schedules: 5 fields, an optional leading seconds
// field, or descriptors such as @hourly and @every 15m.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (s *Schedule) validate(bad func(key, format string, a ...any) error, sources map[string]*Source, kinds map[string]Kind) error {
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return bad("schedule.timezone", "unknown time zone %q", s.Timezone)
	}
	switch s.OnBusy {
	case "wait", "skip":
	default:
		return bad("schedule.on_busy", "unknown value %q (wait or skip)", s.OnBusy)
	}
	for k, d := range map[string]Duration{"grace": s.Grace, "busy_timeout": s.BusyTimeout, "lease_ttl": s.LeaseTTL} {
		if d <= 0 {
			return bad("schedule."+k, "must be positive (e.g. 30s)")
		}
	}
	if s.LeaseTTL < Duration(time.Minute) {
		return bad("schedule.lease_ttl", "must be at least 1m (a lease is renewed every third of it)")
	}
	if s.FailureAlert < 1 {
		return bad("schedule.failure_alert", "must be >= 1")
	}
	names := map[string]bool{}
	for i, j := range s.Jobs {
		k := fmt.Sprintf("schedule.jobs[%d]", i)
		if j.Name == "" {
			return bad(k+".name", "missing")
		}
		if names[j.Name] {
			return bad(k+".name", "%q is used twice", j.Name)
		}
		if j.Name == "notify.digest" {
			return bad(k+".name", "%q is the weekly digest's own job (notify.digest): choose another name", j.Name)
		}
		names[j.Name] = true
		if _, err := CronParser.Parse(j.Cron); err != nil {
			return bad(k+".cron", "%q: %v (e.g. \"*/15 * * * *\", \"0 3 * * 0\", \"@every 1h\")", j.Cron, err)
		}
		for _, src := range j.Sources {
			if _, ok := sources[src]; !ok {
				return bad(k+".sources", "unknown source %q", src)
			}
		}
		for _, st := range j.Streams {
			known := false
			for _, src := range sources {
				if len(j.Sources) > 0 && !slices.Contains(j.Sources, src.Name) {
					continue
				}
				known = known || slices.Contains(kinds[src.Type].Streams, st)
			}
			if !known {
				return bad(k+".streams", "no selected source has a stream %q", st)
			}
		}
	}
	return nil
}

// CheckIssueTypes checks a tracker's type-name → class map (issue_types).
func CheckIssueTypes(types map[string]string, bad func(key, format string, a ...any) error) []error {
	var errs []error
	for name, class := range types {
		switch class {
		case "incident", "bug", "story", "task", "other":
		default:
			errs = append(errs, bad("issue_types."+name, "unknown class %q (incident, bug, story, task or other)", class))
		}
	}
	return errs
}

// SettingsOf is a source's settings of its type T, or T's defaults for a
// source built in code without any.
func SettingsOf[T Settings](src *Source, defaults func() T) (T, error) {
	switch s := src.Settings.(type) {
	case nil:
		return defaults(), nil
	case T:
		return s, nil
	default:
		var zero T
		return zero, fmt.Errorf("%s %s: settings of type %T, not %T", src.Type, src.Name, s, zero)
	}
}

// CheckRegexp says what is wrong with a regular expression of the
// configuration ("" is no expression and fine).
func CheckRegexp(expr string) error {
	if expr == "" {
		return nil
	}
	if _, err := regexp.Compile(expr); err != nil {
		return fmt.Errorf("not a regular expression (Go RE2 syntax): %v", err)
	}
	return nil
}

// LoopbackAddr tells whether a listen address (host:port) binds loopback only.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
