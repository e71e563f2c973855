// Package ingest accepts deployments and incidents that other tools push
// (Argo CD, Jenkins, GitHub Actions, PagerDuty, ...), over HTTP
// (POST /api/v1/deployments, /api/v1/incidents) or from a file (devpulse
// ingest FILE), validates them and turns them into records that land like
// collected ones: through the privacy policy, idempotently (the same
// idempotency_key lands once). Schemas: docs/ingest/*.schema.json.
package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// Deployment is one deployment a tool reports.
type Deployment struct {
	IdempotencyKey  string     `json:"idempotency_key"`
	Project         string     `json:"project"`
	Environment     string     `json:"environment"`
	EnvironmentTier string     `json:"environment_tier"`
	Status          string     `json:"status"`
	Ref             string     `json:"ref"`
	SHA             string     `json:"sha"`
	MergeRequests   []int64    `json:"merge_requests"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Tool            string     `json:"tool"`
	DeployedBy      string     `json:"deployed_by"`
}

// Incident is one incident a tool reports. Title and description are
// accepted (tools send them) and dropped: free text never lands.
type Incident struct {
	IdempotencyKey string     `json:"idempotency_key"`
	Project        string     `json:"project"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Severity       string     `json:"severity"`
	Labels         []string   `json:"labels"`
	StartedAt      *time.Time `json:"started_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Tool           string     `json:"tool"`
	// CausedByDeployment is the idempotency_key of the ingested deployment
	// that caused it, or CausedBySHA the commit deployed: the incident then
	// fails that deployment, not the last one before it (METRICS.md (a)).
	CausedByDeployment string `json:"caused_by_deployment"`
	CausedBySHA        string `json:"caused_by_sha"`
}

// Doc is the file form: any number of each.
type Doc struct {
	Deployments []Deployment `json:"deployments"`
	Incidents   []Incident   `json:"incidents"`
}

// FieldError is a validation error naming the field (a 400, never a 500).
type FieldError struct {
	Field, Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// Decode reads one JSON value into v strictly: unknown fields and trailing
// data are errors naming what is wrong.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return bad(te.Field, "want a %s, got a JSON %s", te.Type, te.Value)
		case errors.As(err, &se):
			return bad("(body)", "not JSON: %v at byte %d", err, se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return bad(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "not a field of this document (see docs/ingest)")
		case errors.Is(err, io.EOF):
			return bad("(body)", "empty")
		}
		return bad("(body)", "%v", err)
	}
	if dec.More() {
		return bad("(body)", "more than one JSON value")
	}
	return nil
}

var deployStatuses = map[string]bool{"success": true, "failed": true, "canceled": true}

// Validate checks a deployment; prefix names its place in a document.
func (d *Deployment) Validate(prefix string) error {
	switch {
	case strings.TrimSpace(d.IdempotencyKey) == "":
		return bad(prefix+"idempotency_key", "required: the same key lands once (e.g. the CI pipeline id and environment)")
	case len(d.IdempotencyKey) > 200:
		return bad(prefix+"idempotency_key", "longer than 200 characters")
	case strings.TrimSpace(d.Project) == "":
		return bad(prefix+"project", "required: the project path as devpulse collects it (e.g. acme/payments/api)")
	case d.FinishedAt == nil:
		return bad(prefix+"finished_at", "required: when the deployment finished (RFC 3339)")
	case d.StartedAt != nil && d.StartedAt.After(*d.FinishedAt):
		return bad(prefix+"started_at", "after finished_at")
	}
	if d.Status == "" {
		d.Status = "success"
	}
	if !deployStatuses[d.Status] {
		return bad(prefix+"status", "%q: want success, failed or canceled (a running deployment is reported when it has finished)", d.Status)
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	for i, iid := range d.MergeRequests {
		if iid <= 0 {
			return bad(fmt.Sprintf("%smerge_requests[%d]", prefix, i), "want a merge request iid (a positive number)")
		}
	}
	return nil
}

// Validate checks an incident; prefix names its place in a document.
func (x *Incident) Validate(prefix string) error {
	switch {
	case strings.TrimSpace(x.IdempotencyKey) == "":
		return bad(prefix+"idempotency_key", "required: the same key lands once (e.g. the PagerDuty incident id)")
	case len(x.IdempotencyKey) > 200:
		return bad(prefix+"idempotency_key", "longer than 200 characters")
	case strings.TrimSpace(x.Project) == "":
		return bad(prefix+"project", "required: the project (or a project of the team) the incident is of")
	case x.StartedAt == nil:
		return bad(prefix+"started_at", "required: when the incident began (RFC 3339)")
	case x.ResolvedAt != nil && x.ResolvedAt.Before(*x.StartedAt):
		return bad(prefix+"resolved_at", "before started_at")
	}
	return nil
}

// Validate checks every item, naming the first bad field.
func (d *Doc) Validate() error {
	if len(d.Deployments)+len(d.Incidents) == 0 {
		return bad("(body)", "no deployments and no incidents")
	}
	for i := range d.Deployments {
		if err := d.Deployments[i].Validate(fmt.Sprintf("deployments[%d].", i)); err != nil {
			return err
		}
	}
	for i := range d.Incidents {
		if err := d.Incidents[i].Validate(fmt.Sprintf("incidents[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

// Resolver says on which server a project's records are (the instance that
// joins them to its team), and the devpulse id of one of its merge requests.
type Resolver interface {
	Instance(project string) (string, bool)
	MergeRequest(instance, project string, iid int64) (string, bool)
}

func key(kind, instance, k string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + k))
	return "ingest:" + instance + ":" + kind + ":" + hex.EncodeToString(h[:12])
}

// Batch turns a validated document into records, or names the first project
// devpulse does not know (a 400: records of an unknown project would join no
// scope and count nowhere).
func (d *Doc) Batch(r Resolver) (*models.Batch, error) {
	b := &models.Batch{}
	for i, x := range d.Deployments {
		inst, ok := r.Instance(x.Project)
		if !ok {
			return nil, bad(fmt.Sprintf("deployments[%d].project", i), "%q is not a project devpulse collects (a configured scope)", x.Project)
		}
		dep := models.Deployment{
			Origin: models.Origin{Source: "ingest", Instance: inst}, ID: key("deployment", inst, x.IdempotencyKey),
			ProjectPath: x.Project, Environment: x.Environment, EnvironmentTier: x.EnvironmentTier, Status: x.Status,
			Ref: x.Ref, SHA: x.SHA, JobName: strings.TrimSpace("ingest " + x.Tool), FinishedAt: x.FinishedAt,
			CreatedAt: x.FinishedAt.UTC(), UpdatedAt: x.FinishedAt.UTC(), Deployer: models.Person{Username: x.DeployedBy},
		}
		if x.StartedAt != nil {
			dep.CreatedAt = x.StartedAt.UTC()
		}
		for _, iid := range x.MergeRequests {
			if id, ok := r.MergeRequest(inst, x.Project, iid); ok {
				dep.Changes = append(dep.Changes, models.DeploymentChange{DeploymentID: dep.ID, MRID: id})
			}
		}
		b.Deployments = append(b.Deployments, dep)
	}
	for i, x := range d.Incidents {
		inst, ok := r.Instance(x.Project)
		if !ok {
			return nil, bad(fmt.Sprintf("incidents[%d].project", i), "%q is not a project devpulse collects (a configured scope)", x.Project)
		}
		id := key("incident", inst, x.IdempotencyKey)
		is := models.Issue{
			Origin: models.Origin{Source: "ingest", Instance: inst}, ID: id, ProjectPath: x.Project,
			Key: "ingest-" + id[len(id)-8:], Type: "incident", TypeClass: "incident", Labels: x.Labels,
			CreatedAt: x.StartedAt.UTC(), UpdatedAt: x.StartedAt.UTC(), ClosedAt: x.ResolvedAt,
			State: "opened", Status: "open", StatusCategory: models.CategoryInProgress,
		}
		if x.ResolvedAt != nil {
			is.UpdatedAt, is.State, is.Status, is.StatusCategory = x.ResolvedAt.UTC(), "closed", "resolved", models.CategoryDone
		}
		if x.Severity != "" {
			is.Labels = append(append([]string(nil), is.Labels...), "severity::"+x.Severity)
		}
		switch {
		case x.CausedByDeployment != "":
			is.CausedBy = key("deployment", inst, x.CausedByDeployment)
		case x.CausedBySHA != "":
			is.CausedBy = "sha:" + x.CausedBySHA
		}
		b.Issues = append(b.Issues, is)
	}
	return b, nil
}

// limitReader errors once more than n bytes are read.
type limitReader struct {
	r io.Reader
	n int64
}

// ErrTooLarge: the body exceeds the limit (a 413).
var ErrTooLarge = errors.New("body too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// ReadLimited reads all of r, at most limit bytes.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := io.Copy(&buf, &limitReader{r: r, n: limit})
	return buf.Bytes(), err
}
