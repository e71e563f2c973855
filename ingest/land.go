package ingest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

// projectName is what a project path may hold (GitLab paths, JIRA keys,
// Redmine identifiers); anything else is refused before it reaches SQL.
var projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,254}$`)

// whResolver resolves projects from what landed, and only from that: a
// project in a user's namespace lands under a pseudonymized path
// (person-…/tool), so a path named in clear ("alice/tool") never matches and
// the request is refused, rather than landing the owner's name. A project
// can receive pushed records once its first collection has landed.
type whResolver struct {
	ctx context.Context
	wh  warehouse.Warehouse
	err error
	// One query per project and per MR, however many items name them.
	instances map[string]string
	mrs       map[string]string
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (r *whResolver) Instance(project string) (string, bool) {
	if !projectName.MatchString(project) {
		return "", false
	}
	if inst, ok := r.instances[project]; ok {
		return inst, inst != ""
	}
	inst, ok := r.instance(project)
	r.instances[project] = inst
	return inst, ok
}

func (r *whResolver) instance(project string) (string, bool) {
	res, err := r.wh.Query(r.ctx, fmt.Sprintf(`SELECT instance FROM merge_requests WHERE project_path = %[1]s
		UNION SELECT instance FROM deployments WHERE project_path = %[1]s
		UNION SELECT instance FROM issues WHERE project_path = %[1]s ORDER BY 1`, lit(project)))
	if err != nil {
		r.err = err
		return "", false
	}
	for _, row := range res.Rows {
		if s, _ := row[0].(string); s != "" {
			return s, true
		}
	}
	return "", false
}

func (r *whResolver) MergeRequest(instance, project string, iid int64) (string, bool) {
	k := fmt.Sprintf("%s\x00%s\x00%d", instance, project, iid)
	if id, ok := r.mrs[k]; ok {
		return id, id != ""
	}
	id, ok := r.mergeRequest(instance, project, iid)
	r.mrs[k] = id
	return id, ok
}

func (r *whResolver) mergeRequest(instance, project string, iid int64) (string, bool) {
	res, err := r.wh.Query(r.ctx, fmt.Sprintf(`SELECT id FROM merge_requests WHERE instance = %s AND project_path = %s AND iid = %d`,
		lit(instance), lit(project), iid))
	if err != nil {
		r.err = err
		return "", false
	}
	if len(res.Rows) == 1 {
		s, _ := res.Rows[0][0].(string)
		return s, s != ""
	}
	return "", false
}

// Land validates the document, resolves its projects and lands it through
// the privacy policy: each record by the id its idempotency key gives, so a
// replay lands nothing new.
func Land(ctx context.Context, wh warehouse.Warehouse, pol *policy.Policy, d *Doc) (int, error) {
	if err := d.Validate(); err != nil {
		return 0, err
	}
	r := &whResolver{ctx: ctx, wh: wh, instances: map[string]string{}, mrs: map[string]string{}}
	b, err := d.Batch(r)
	if r.err != nil {
		return 0, fmt.Errorf("ingest: look up projects: %w", r.err)
	}
	if err != nil {
		return 0, err
	}
	// One landing per project, each atomic; the key names the pushing tool
	// and never holds a cursor.
	by := map[[2]string]*models.Batch{}
	var order [][2]string
	get := func(inst, project string) *models.Batch {
		k := [2]string{inst, project}
		if by[k] == nil {
			by[k] = &models.Batch{}
			order = append(order, k)
		}
		return by[k]
	}
	for _, x := range b.Deployments {
		g := get(x.Instance, x.ProjectPath)
		g.Deployments = append(g.Deployments, x)
	}
	for _, x := range b.Issues {
		g := get(x.Instance, x.ProjectPath)
		g.Issues = append(g.Issues, x)
	}
	n := 0
	for _, k := range order {
		cleared, _ := pol.Apply(by[k])
		if err := wh.Land(ctx, warehouse.StreamKey{Source: "ingest", Instance: k[0], Scope: k[1], Stream: "ingest"}, cleared, time.Time{}); err != nil {
			return n, fmt.Errorf("ingest: land %s: %w", k[1], err)
		}
		n += cleared.Batch().Len()
	}
	return n, nil
}

// Sink lands one pushed document (Land against the service's warehouse).
type Sink func(ctx context.Context, d *Doc) (int, error)

// ErrBusy: the warehouse is in use (a run holds it); the client retries.
var ErrBusy = errors.New("the warehouse is busy")

// Handler serves POST /api/v1/deployments and /api/v1/incidents: one
// deployment or incident object each (or {"deployments": [...]} /
// {"incidents": [...]}), bearer-token authenticated.
type Handler struct {
	Tokens  []string // any of them; compared in constant time
	MaxBody int64    // bytes; default 1 MiB
	Sink    Sink
	Log     *slog.Logger
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/deployments", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "deployments") })
	mux.HandleFunc("POST /api/v1/incidents", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, "incidents") })
	for tool, adapt := range map[string]func([]byte, string) (*Incident, bool, error){"pagerduty": PagerDuty, "opsgenie": Opsgenie} {
		mux.HandleFunc("POST /api/v1/incidents/"+tool, func(w http.ResponseWriter, r *http.Request) { h.serveAdapted(w, r, adapt) })
	}
}

// serveAdapted serves a tool's own webhook payload through its adapter;
// ?project= names the project its incidents are of.
func (h *Handler) serveAdapted(w http.ResponseWriter, r *http.Request, adapt func([]byte, string) (*Incident, bool, error)) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devpulse ingest"`)
		reply(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	project := r.URL.Query().Get("project")
	if project == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "project: required as ?project=<path> in the webhook URL", "field": "project"})
		return
	}
	body, err := ReadLimited(r.Body, h.limit())
	if errors.Is(err, ErrTooLarge) {
		reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body larger than %d bytes", h.limit())})
		return
	}
	inc, ok, err := adapt(body, project)
	if err == nil && !ok {
		reply(w, http.StatusOK, map[string]any{"landed": 0, "ignored": "this event opens, resolves or reopens no incident"})
		return
	}
	if err == nil {
		var n int
		n, err = h.Sink(r.Context(), &Doc{Incidents: []Incident{*inc}})
		if err == nil {
			reply(w, http.StatusOK, map[string]any{"landed": n})
			return
		}
	}
	h.fail(w, err, "incidents", true)
}

func (h *Handler) limit() int64 {
	if h.MaxBody <= 0 {
		return 1 << 20
	}
	return h.MaxBody
}

func (h *Handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return false
	}
	match := 0
	for _, t := range h.Tokens { // every token is compared: the time says nothing of which matched
		match |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
	}
	return match == 1
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, kind string) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devpulse ingest"`)
		reply(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	limit := h.limit()
	body, err := ReadLimited(r.Body, limit)
	if errors.Is(err, ErrTooLarge) {
		reply(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("body larger than %d bytes", limit)})
		return
	}
	if err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": "reading the body: " + err.Error()})
		return
	}
	doc, single, err := decodeOne(body, kind)
	if err == nil {
		var n int
		n, err = h.Sink(r.Context(), doc)
		if err == nil {
			reply(w, http.StatusOK, map[string]any{"landed": n})
			return
		}
	}
	h.fail(w, err, kind, single)
}

// fail answers a failed request: a field error is a 400 naming the field.
func (h *Handler) fail(w http.ResponseWriter, err error, kind string, single bool) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		if single { // one object posted: name its field, not a list position
			fe = &FieldError{Field: strings.TrimPrefix(fe.Field, kind+"[0]."), Problem: fe.Problem}
		}
		reply(w, http.StatusBadRequest, map[string]string{"error": fe.Error(), "field": fe.Field})
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "5")
		reply(w, http.StatusServiceUnavailable, map[string]string{"error": "the warehouse is busy; retry with the same idempotency_key"})
	default:
		if h.Log != nil {
			h.Log.Error("ingest failed", "kind", kind, "err", err)
		}
		reply(w, http.StatusInternalServerError, map[string]string{"error": "ingest failed; retry with the same idempotency_key (a replay never lands twice)"})
	}
}

// decodeOne reads the body of /api/v1/<kind>: one object, or the list form.
func decodeOne(body []byte, kind string) (*Doc, bool, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err == nil {
		if _, list := probe[kind]; list && len(probe) == 1 {
			var d Doc
			if err := Decode(strings.NewReader(string(body)), &d); err != nil {
				return nil, false, err
			}
			if kind == "deployments" && len(d.Incidents) > 0 || kind == "incidents" && len(d.Deployments) > 0 {
				return nil, false, bad("(body)", "only %s here", kind)
			}
			return &d, false, nil
		}
	}
	d := &Doc{}
	if kind == "deployments" {
		var x Deployment
		if err := Decode(strings.NewReader(string(body)), &x); err != nil {
			return nil, true, err
		}
		d.Deployments = []Deployment{x}
	} else {
		var x Incident
		if err := Decode(strings.NewReader(string(body)), &x); err != nil {
			return nil, true, err
		}
		d.Incidents = []Incident{x}
	}
	return d, true, nil
}

// Service is the Sink of `devpulse schedule`: each request opens the
// warehouse, lands and closes it, like a run. A warehouse another run holds
// (DuckDB's single writer) is ErrBusy, for the client to retry.
func Service(cfg *config.Config, open func(ctx context.Context) (warehouse.Warehouse, error)) (Sink, error) {
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, d *Doc) (int, error) {
		if err := d.Validate(); err != nil {
			return 0, err
		}
		// A run holds the warehouse batch by batch; the open waits for a gap
		// (duckdb.OpenWait), here at most 10 s before the client is told to retry.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		wh, err := open(wctx)
		if errors.Is(err, duckdb.ErrBusy) {
			return 0, fmt.Errorf("%w: %v", ErrBusy, err)
		}
		if err != nil {
			return 0, err
		}
		defer wh.Close()
		return Land(ctx, wh, pol, d)
	}, nil
}
