package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
)

// store is the warehouse as a collector sees it: records by id with their
// updated_at, and one cursor per stream that, as in the pipeline, only
// moves forward to the newest cursor emitted.
type store struct {
	mu     sync.Mutex
	landed map[string]time.Time
	cursor time.Time
}

func newStore() *store { return &store{landed: map[string]time.Time{}} }

func (s *store) output(incremental bool) models.Output {
	o := models.Output{Emit: func(_ context.Context, b *models.Batch, cursor time.Time) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range b.MergeRequests {
			s.landed[m.ID] = m.UpdatedAt
		}
		for _, p := range b.Pipelines {
			s.landed[p.ID] = p.UpdatedAt
		}
		for _, d := range b.Deployments {
			s.landed[d.ID] = d.UpdatedAt
		}
		for _, x := range b.Issues {
			s.landed[x.ID] = x.UpdatedAt
		}
		if cursor.After(s.cursor) {
			s.cursor = cursor
		}
		return nil
	}}
	if incremental {
		o.Landed = func(_ context.Context, ids []string) (map[string]time.Time, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			out := map[string]time.Time{}
			for _, id := range ids {
				if t, ok := s.landed[id]; ok {
					out[id] = t
				}
			}
			return out, nil
		}
	}
	return o
}

func testSource(url string) *config.Source {
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	return &config.Source{Name: "gl", Type: "gitlab", URL: url, Token: "t", Concurrency: 2, MaxRetries: 2,
		Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d"), Streams: gitlab.Streams}
}

// TestScan_RecordsUpdatedMidScanAreNeverSkipped: people keep working while
// devpulse pages through a list. After each page the server updates records
// at random (so they would move to the end of an updated_at ordering). One
// run must land every record that existed, and an incremental run after it
// must land every record's newest version: nothing skipped, in 100 runs per
// stream.
func TestScan_RecordsUpdatedMidScanAreNeverSkipped(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	size := sandbox.Size{Projects: 1, MRsPerProject: 23, PipelinesPerProject: 23, DeploymentsPerProject: 12, IssuesPerProject: 23}
	runs := 100
	if testing.Short() {
		runs = 20
	}
	for _, stream := range []string{"merge_requests", "pipelines", "deployments", "issues"} {
		t.Run(stream, func(t *testing.T) {
			missingFirst, staleSecond, updates := 0, 0, 0
			for run := 0; run < runs; run++ {
				org := sandbox.Generate(uint64(run+1), size, now)
				rng := rand.New(rand.NewPCG(uint64(run), 99))
				var srv *sandbox.Server
				var mu sync.Mutex
				active := true
				srv = sandbox.Start(org, sandbox.Options{OnListPage: func(kind string, page int) {
					mu.Lock()
					defer mu.Unlock()
					if active && kind == stream {
						n := rng.IntN(3)
						updates += n
						srv.UpdateRandom(kind, n, rng, hostOf(srv.URL))
					}
				}})
				col, err := gitlab.New(testSource(srv.URL), gitlab.Options{PerPage: 5})
				if err != nil {
					t.Fatal(err)
				}
				scope := models.Scope{Path: org.ProjectPaths()[0], ID: projectID(t, srv, col), DefaultBranch: "main"}
				before := srv.State(stream, hostOf(srv.URL))
				st := newStore()
				if err := col.Collect(context.Background(), scope, stream, now.Add(-365*24*time.Hour), st.output(false)); err != nil {
					t.Fatal(err)
				}
				for id := range before {
					if _, ok := st.landed[id]; !ok {
						missingFirst++
					}
				}
				mu.Lock()
				active = false
				mu.Unlock()
				if st.cursor.IsZero() {
					t.Fatal("a complete scan moved no cursor")
				}
				if err := col.Collect(context.Background(), scope, stream, st.cursor.Add(-10*time.Minute), st.output(true)); err != nil {
					t.Fatal(err)
				}
				for id, u := range srv.State(stream, hostOf(srv.URL)) {
					if got, ok := st.landed[id]; !ok || !got.Equal(u) {
						staleSecond++
					}
				}
				srv.Close()
				_ = col.Close()
			}
			t.Logf("%s: %d runs, %d records updated mid-scan: %d missing after the first run, %d missing or stale after the incremental run",
				stream, runs, updates, missingFirst, staleSecond)
			if missingFirst != 0 || staleSecond != 0 {
				t.Fatalf("%d records missing after the first run, %d missing or stale after the incremental one", missingFirst, staleSecond)
			}
			if updates == 0 {
				t.Fatal("the server updated nothing mid-scan: the test tested nothing")
			}
		})
	}
}

func hostOf(u string) string { p, _ := url.Parse(u); return p.Host }

func projectID(t *testing.T, srv *sandbox.Server, _ *gitlab.Collector) int64 {
	t.Helper()
	var id int64
	path := srv.Org.ProjectPaths()[0]
	resp, err := http.Get(srv.URL + "/api/v4/projects/" + url.PathEscape(path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		ID int64 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	id = p.ID
	return id
}

const oneMR = `[{"id":1,"iid":1,"project_id":7,"title":"t","state":"merged","created_at":"2026-01-01T10:00:00Z","updated_at":"2026-01-02T10:00:00Z","merged_at":"2026-01-02T10:00:00Z","author":{"id":1,"username":"a"},"source_branch":"b","target_branch":"main"}]`

// TestCollect_MalformedResponsesAreErrorsNotEmptyOrPanics: a child list
// that is null, an element that is null or an empty object, a label of the
// wrong shape: each is an error naming the list, page and item, never an
// empty list that lands "0 commits" for good, never a panic.
func TestCollect_MalformedResponsesAreErrorsNotEmptyOrPanics(t *testing.T) {
	cases := []struct {
		name, stream, path, body, want string
	}{
		{"null commits", "merge_requests", "/merge_requests/1/commits", `null`, "list commits of g/p!1 (page 1): malformed response: want a JSON array, got null"},
		{"null notes", "merge_requests", "/merge_requests/1/notes", `null`, "list notes of g/p!1 (page 1): malformed response: want a JSON array, got null"},
		{"commits object", "merge_requests", "/merge_requests/1/commits", `{"message":"x"}`, "want a JSON array, got an object"},
		{"null commit", "merge_requests", "/merge_requests/1/commits", `[null]`, "item 1 of 1: want an object, got null"},
		{"null MR", "merge_requests", "/projects/7/merge_requests", `[null]`, "list merge requests of g/p (page 1): malformed response: item 1 of 1: want an object, got null"},
		{"empty issue", "issues", "/projects/7/issues", `[{}]`, "item 1 of 1: cannot decode"},
		{"string labels object", "issues", "/projects/7/issues", `[{"id":1,"iid":1,"project_id":7,"labels":"bug"}]`, "item 1 of 1"},
		{"empty pipeline", "pipelines", "/projects/7/pipelines", `[{"status":"success"}]`, "item 1 of 1: item has no id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch {
				case strings.HasSuffix(r.URL.Path, c.path):
					fmt.Fprint(w, c.body)
				case strings.HasSuffix(r.URL.Path, "/projects/7/merge_requests"):
					fmt.Fprint(w, oneMR)
				default:
					fmt.Fprint(w, "[]")
				}
			}))
			defer srv.Close()
			col, err := gitlab.New(testSource(srv.URL), gitlab.Options{})
			if err != nil {
				t.Fatal(err)
			}
			st := newStore()
			err = col.Collect(context.Background(), models.Scope{Path: "g/p", ID: 7, DefaultBranch: "main"}, c.stream, time.Time{}, st.output(false))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			if len(st.landed) != 0 {
				t.Fatalf("landed %d records from a malformed page", len(st.landed))
			}
		})
	}
}

// TestCollect_PaginationThatDoesNotAdvanceIsAnError: a next-page header
// that points at the same page (or back) is an error, not an endless loop.
func TestCollect_PaginationThatDoesNotAdvanceIsAnError(t *testing.T) {
	for _, next := range []string{"1", "2"} {
		var n int
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/projects/7/issues") {
				n++
				if n > 50 {
					t.Error("still paging after 50 requests")
					fmt.Fprint(w, "[]")
					return
				}
				w.Header().Set("X-Next-Page", next)
				w.Header().Set("X-Page", r.URL.Query().Get("page"))
				fmt.Fprintf(w, `[{"id":1,"iid":1,"project_id":7,"updated_at":"2026-01-02T10:00:00Z"}]`)
				return
			}
			fmt.Fprint(w, "[]")
		}))
		col, _ := gitlab.New(testSource(srv.URL), gitlab.Options{})
		err := col.Collect(context.Background(), models.Scope{Path: "g/p", ID: 7}, "issues", time.Time{}, newStore().output(false))
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "pagination does not advance") {
			t.Fatalf("next page %s: err = %v, want a pagination error", next, err)
		}
	}
}
