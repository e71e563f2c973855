package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"errors"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/ingest"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

const token = "ingest-token-7c1f"

// server is the ingest API over a real DuckDB warehouse holding one landed
// MR of acme/api (so the project is known, and its MR !1 resolvable).
func server(t *testing.T) (*httptest.Server, *duckdb.DB) {
	t.Helper()
	ctx := context.Background()
	wh, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	b := &models.Batch{MergeRequests: []models.MergeRequest{warehousetest.MR(1, warehousetest.Base, "a")}}
	if err := wh.Land(ctx, warehousetest.Key, warehousetest.Clear(t, b), time.Time{}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	pol, err := policy.New(cfg.Privacy, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &ingest.Handler{Tokens: []string{"other-token", token}, MaxBody: 4096,
		Sink: func(ctx context.Context, d *ingest.Doc) (int, error) { return ingest.Land(ctx, wh, pol, d) }}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, wh
}

func post(t *testing.T, srv *httptest.Server, path, auth, body string) (int, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

func count(t *testing.T, wh warehouse.Warehouse, q string) int64 {
	t.Helper()
	return warehousetest.Count(t, wh, q)
}

const deployment = `{"idempotency_key": "argo-prod-42", "project": "acme/api", "environment": "production",
	"status": "success", "sha": "abc123", "ref": "main", "merge_requests": [1], "finished_at": "2026-03-02T10:00:00Z",
	"tool": "argocd", "deployed_by": "jane.doe"}`

func TestIngest_DeploymentLandsOnceAndJoinsItsProject(t *testing.T) {
	srv, wh := server(t)
	for i := 0; i < 3; i++ { // a retried webhook: the same key, three times
		code, out, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, deployment)
		if code != 200 || out["landed"] != float64(1) {
			t.Fatalf("post %d: %d %s", i, code, raw)
		}
	}
	if n := count(t, wh, `SELECT count(*) FROM deployments`); n != 1 {
		t.Errorf("%d deployments after three posts of one key, want 1", n)
	}
	// On the project's server (so it joins the project's team), with the MR it names.
	if n := count(t, wh, `SELECT count(*) FROM deployments d JOIN deployment_changes c ON c.deployment_id = d.id
		WHERE d.instance = 'gitlab.example.com' AND d.project_path = 'acme/api' AND d.environment = 'production'
		AND c.mr_id = 'gitlab:gitlab.example.com:7:mr:1' AND d.job_name = 'ingest argocd'`); n != 1 {
		t.Error("the deployment is not on the project's server with its MR")
	}
	// The deployer is a pseudonym, never the name sent.
	if n := count(t, wh, `SELECT count(*) FROM deployments WHERE deployer = 'jane.doe' OR deployer IS NULL`); n != 0 {
		t.Error("the deployer landed in clear")
	}
	b, err := warehouse.Load(context.Background(), wh)
	if err != nil || len(b.Deployments) != 1 || b.Deployments[0].FinishedAt == nil {
		t.Fatalf("load: %v %+v", err, b)
	}
}

func TestIngest_IncidentDropsFreeText(t *testing.T) {
	srv, wh := server(t)
	body := `{"idempotency_key": "PD-Q1W2E3", "project": "acme/api", "title": "Checkout down for Jane Doe's customers",
		"description": "Paged Jane", "severity": "critical", "labels": ["pagerduty"],
		"started_at": "2026-03-02T11:00:00Z", "resolved_at": "2026-03-02T12:30:00Z"}`
	if code, _, raw := post(t, srv, "/api/v1/incidents", "Bearer "+token, body); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	if n := count(t, wh, `SELECT count(*) FROM issues WHERE "type" = 'incident' AND closed_at IS NOT NULL AND title IS NULL
		AND labels LIKE '%severity::critical%'`); n != 1 {
		t.Error("the incident did not land as a closed incident without its title")
	}
	res, err := wh.Query(context.Background(), `SELECT * FROM issues`)
	if err != nil {
		t.Fatal(err)
	}
	if dump := strings.ToLower(strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(jsonOf(res.Rows), `\u0027`, "'"), "[]")), " ")); strings.Contains(dump, "jane") {
		t.Errorf("a name from the free text landed: %s", dump)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestIngest_RefusesWithoutDetail(t *testing.T) {
	srv, wh := server(t)
	cases := []struct {
		name, path, auth, body string
		code                   int
		field                  string
	}{
		{"no token", "/api/v1/deployments", "", deployment, 401, ""},
		{"wrong token", "/api/v1/deployments", "Bearer nope", deployment, 401, ""},
		{"basic auth", "/api/v1/deployments", "Basic " + token, deployment, 401, ""},
		{"not JSON", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": `, 400, "(body)"},
		{"unknown field", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": "k", "project": "acme/api", "finished_at": "2026-03-02T10:00:00Z", "envirnoment": "prod"}`, 400, "envirnoment"},
		{"no finished_at", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": "k", "project": "acme/api"}`, 400, "finished_at"},
		{"bad status", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": "k", "project": "acme/api", "finished_at": "2026-03-02T10:00:00Z", "status": "running"}`, 400, "status"},
		{"wrong type", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": 7}`, 400, "idempotency_key"},
		{"unknown project", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": "k", "project": "acme/nope", "finished_at": "2026-03-02T10:00:00Z"}`, 400, "project"},
		{"injection as a project", "/api/v1/incidents", "Bearer " + token, `{"idempotency_key": "k", "project": "x' OR '1'='1", "started_at": "2026-03-02T10:00:00Z"}`, 400, "project"},
		{"resolved before started", "/api/v1/incidents", "Bearer " + token, `{"idempotency_key": "k", "project": "acme/api", "started_at": "2026-03-02T10:00:00Z", "resolved_at": "2026-03-01T10:00:00Z"}`, 400, "resolved_at"},
		{"too large", "/api/v1/deployments", "Bearer " + token, `{"idempotency_key": "` + strings.Repeat("k", 5000) + `"}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, raw := post(t, srv, c.path, c.auth, c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d: %s", code, c.code, raw)
			}
			if c.field != "" && out["field"] != c.field {
				t.Errorf("field %v, want %q: %s", out["field"], c.field, raw)
			}
			if code == 401 && (raw != `{"error":"unauthorized"}`+"\n" || bytes.Contains([]byte(raw), []byte(token))) {
				t.Errorf("401 says more than unauthorized: %s", raw)
			}
		})
	}
	if n := count(t, wh, `SELECT count(*) FROM deployments`) + count(t, wh, `SELECT count(*) FROM issues`); n != 0 {
		t.Errorf("%d records landed from refused requests", n)
	}
}

// The list form lands several, all or nothing per project; a replay of the
// whole file (a CI step retried after a kill) lands nothing twice.
func TestIngest_ListFormAndReplay(t *testing.T) {
	srv, wh := server(t)
	body := `{"deployments": [` + deployment + `, {"idempotency_key": "argo-prod-43", "project": "acme/api", "finished_at": "2026-03-03T10:00:00Z", "status": "failed"}]}`
	for i := 0; i < 2; i++ {
		if code, out, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, body); code != 200 || out["landed"] != float64(2) {
			t.Fatalf("%d %s", code, raw)
		}
	}
	if n := count(t, wh, `SELECT count(*) FROM deployments`); n != 2 {
		t.Errorf("%d deployments, want 2", n)
	}
	if code, out, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, `{"deployments": [{"idempotency_key": "x", "project": "acme/api"}]}`); code != 400 || out["field"] != "deployments[0].finished_at" {
		t.Errorf("a list's bad item is named by its place: %d %s", code, raw)
	}
	if code, _, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, `{"incidents": []}`); code != 400 {
		t.Errorf("an incidents list on the deployments endpoint: %d %s", code, raw)
	}
}

type stubResolver struct{}

func (stubResolver) Instance(p string) (string, bool) { return "h", p != "" }
func (stubResolver) MergeRequest(_, _ string, iid int64) (string, bool) {
	return "mr", iid == 1
}

// FuzzDecode: any body either fails with a field error or becomes records
// with the ids, times and kinds the schema promises; never a panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{deployment, `{"deployments":[` + deployment + `]}`, `{"incidents":[{"idempotency_key":"k","project":"p","started_at":"2026-01-01T00:00:00Z"}]}`,
		`{}`, `[]`, `null`, `{"deployments":null}`, `{"deployments":[{}]}`, `{"deployments":[{"finished_at":"x"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d ingest.Doc
		if err := ingest.Decode(bytes.NewReader(body), &d); err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			var fe *ingest.FieldError
			if !errorsAs(err, &fe) || fe.Field == "" {
				t.Fatalf("validation error without a field: %v", err)
			}
			return
		}
		b, err := d.Batch(stubResolver{})
		if err != nil {
			return
		}
		if len(b.Deployments) != len(d.Deployments) || len(b.Issues) != len(d.Incidents) {
			t.Fatalf("%d deployments and %d incidents from %d and %d", len(b.Deployments), len(b.Issues), len(d.Deployments), len(d.Incidents))
		}
		for _, x := range b.Deployments {
			if !strings.HasPrefix(x.ID, "ingest:h:deployment:") || x.FinishedAt == nil || x.Status == "" || x.Environment == "" {
				t.Fatalf("deployment %+v", x)
			}
		}
		for _, x := range b.Issues {
			if x.Title != "" || x.TypeClass != "incident" || (x.ClosedAt != nil && x.ClosedAt.Before(x.CreatedAt)) {
				t.Fatalf("incident %+v", x)
			}
		}
	})
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// PagerDuty and Opsgenie post their own documented payloads to
// /api/v1/incidents/<tool>?project=; the incident lands once (triggered,
// then resolved, replace one record), a note after the resolution is
// ignored, and the responder names in the payloads never land.
func TestIngest_PagerDutyAndOpsgenieWebhooks(t *testing.T) {
	srv, wh := server(t)
	auth := "Bearer " + token
	steps := []struct {
		tool, file string
		landed     float64
	}{
		{"pagerduty", "pagerduty-incident-triggered.json", 1},
		{"pagerduty", "pagerduty-incident-resolved.json", 1},
		{"pagerduty", "pagerduty-incident-annotated.json", 0},
		{"opsgenie", "opsgenie-create.json", 1},
		{"opsgenie", "opsgenie-close.json", 1},
	}
	for _, s := range steps {
		code, out, raw := post(t, srv, "/api/v1/incidents/"+s.tool+"?project=acme/api", auth, fixture(t, s.file))
		if code != 200 || out["landed"] != s.landed {
			t.Fatalf("%s: %d %s", s.file, code, raw)
		}
	}
	res, err := wh.Query(context.Background(), `SELECT labels, CAST(created_at AS VARCHAR), CAST(closed_at AS VARCHAR), title FROM issues ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(res.Rows)
	// Opsgenie: created 1420452191104 ms, closed 1420452224764002246 ns; PagerDuty: created 2020-04-09T15:16:27Z,
	// resolved at the event's occurred_at 2020-10-02T18:45:22.169Z.
	want := `[["opsgenie,tag1,tag2","2015-01-05 10:03:11.104+00","2015-01-05 10:03:44.764002+00",null],` +
		`["pagerduty,priority::P1,severity::high","2020-04-09 15:16:27+00","2020-10-02 18:45:22.169+00",null]]`
	if got != want {
		t.Errorf("incidents\n got %s\nwant %s", got, want)
	}
	all, _ := wh.Query(context.Background(), `SELECT * FROM issues`)
	for _, name := range []string{"fili", "Tenex", "User 123", "bump in the road"} {
		if strings.Contains(jsonOf(all.Rows), name) {
			t.Errorf("%q landed", name)
		}
	}
	if code, out, _ := post(t, srv, "/api/v1/incidents/pagerduty", auth, fixture(t, "pagerduty-incident-triggered.json")); code != 400 || out["field"] != "project" {
		t.Errorf("without ?project=: %d %v", code, out)
	}
	if code, _, _ := post(t, srv, "/api/v1/incidents/opsgenie?project=acme/api", "Bearer x", fixture(t, "opsgenie-create.json")); code != 401 {
		t.Errorf("a wrong token: %d", code)
	}
}

// An incident that names the deployment that caused it fails that one
// (rule (a)), not the later deployment just before it (rule (b)).
func TestIngest_IncidentNamesItsDeployment(t *testing.T) {
	srv, wh := server(t)
	body := `{"deployments": [
	  {"idempotency_key": "d-old", "project": "acme/api", "sha": "aaa", "finished_at": "2026-03-02T10:00:00Z"},
	  {"idempotency_key": "d-new", "project": "acme/api", "sha": "bbb", "finished_at": "2026-03-02T11:00:00Z"}]}`
	if code, _, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, body); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	inc := `{"idempotency_key": "i-1", "project": "acme/api", "started_at": "2026-03-02T11:30:00Z", "caused_by_deployment": "d-old"}`
	if code, _, raw := post(t, srv, "/api/v1/incidents", "Bearer "+token, inc); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	b, err := warehouse.Load(context.Background(), wh)
	if err != nil {
		t.Fatal(err)
	}
	o := metrics.DefaultOptions(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC))
	var failed []string
	for _, r := range metrics.ProductionDeployments(metrics.Input{Deployments: b.Deployments, Issues: b.Issues}, o) {
		if r.Failed {
			failed = append(failed, r.SHA)
		}
	}
	if strings.Join(failed, ",") != "aaa" {
		t.Errorf("failed deployments %v, want the named one (aaa)", failed)
	}
}

// A project in a user's namespace lands under a pseudonymized path; named
// in clear by a pushing tool it matches nothing and is refused, so the
// owner's name cannot land through the ingest.
func TestIngest_PersonalNamespaceInClearIsRefused(t *testing.T) {
	srv, wh := server(t)
	pol, _ := policy.New(config.Privacy{Secret: "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", People: "pseudonymize"}, nil)
	masked := pol.PersonalPath("alice/tool", 9)
	b := &models.Batch{MergeRequests: []models.MergeRequest{warehousetest.MR(5, warehousetest.Base, "x")}}
	b.MergeRequests[0].ProjectPath = masked
	if err := wh.Land(context.Background(), warehousetest.Key, warehousetest.Clear(t, b), time.Time{}); err != nil {
		t.Fatal(err)
	}
	code, out, raw := post(t, srv, "/api/v1/deployments", "Bearer "+token, `{"idempotency_key": "k", "project": "alice/tool", "finished_at": "2026-03-02T10:00:00Z"}`)
	if code != 400 || out["field"] != "project" {
		t.Errorf("alice/tool in clear: %d %s", code, raw)
	}
	// Nor when the configuration lists the project by its clear path (the
	// service resolved configured paths before anything landed: it landed alice).
	cfg := config.Defaults()
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	cfg.Sources["gl"] = &config.Source{Name: "gl", Type: "gitlab", URL: "https://gitlab.example.com", Projects: []string{"alice/tool"}}
	sink, err := ingest.Service(cfg, func(context.Context) (warehouse.Warehouse, error) { return noClose{wh}, nil })
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, err := sink(context.Background(), &ingest.Doc{Deployments: []ingest.Deployment{{IdempotencyKey: "k", Project: "alice/tool", FinishedAt: &at}}}); err == nil {
		t.Error("a configured personal project named in clear was accepted")
	}
	if n := count(t, wh, `SELECT count(*) FROM deployments`); n != 0 {
		t.Errorf("%d deployments landed", n)
	}
}

// noClose keeps the test's warehouse open when the service closes its handle.
type noClose struct{ warehouse.Warehouse }

func (noClose) Close() error { return nil }
