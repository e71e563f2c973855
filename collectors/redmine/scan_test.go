package redmine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
)

// TestIssues_UpdatedMidScanAreNeverSkipped: issues updated at random while
// the list is paged (pages of 5) must all land in the first run, and the
// incremental run after it must land every issue's newest version, over
// 100 runs.
func TestIssues_UpdatedMidScanAreNeverSkipped(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	runs := 100
	if testing.Short() {
		runs = 20
	}
	missing, stale, updates := 0, 0, 0
	for run := 0; run < runs; run++ {
		org := sandbox.GenerateRedmine(uint64(run+1), 1, 23, now)
		srv := sandbox.StartRedmine(org, "k", 0)
		rng := rand.New(rand.NewPCG(uint64(run), 7))
		var mu sync.Mutex
		active := true
		srv.OnList = func() {
			mu.Lock()
			defer mu.Unlock()
			if active {
				n := rng.IntN(3)
				updates += n
				srv.UpdateRandom(n, rng)
			}
		}
		src := source(srv.URL, "k")
		src.Projects = org.Identifiers()
		c, err := New(src, Options{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		scopes, err := c.Scopes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		before := srv.State()
		landed := map[int]time.Time{}
		var cursor time.Time
		out := func(incremental bool) models.Output {
			o := models.Output{Emit: func(_ context.Context, b *models.Batch, cur time.Time) error {
				for _, x := range b.Issues {
					n, _ := strconv.Atoi(x.ID[strings.LastIndex(x.ID, ":")+1:])
					landed[n] = x.UpdatedAt
				}
				if cur.After(cursor) {
					cursor = cur
				}
				return nil
			}}
			if incremental {
				o.Landed = func(_ context.Context, ids []string) (map[string]time.Time, error) {
					m := map[string]time.Time{}
					for _, id := range ids {
						n, _ := strconv.Atoi(id[strings.LastIndex(id, ":")+1:])
						if u, ok := landed[n]; ok {
							m[id] = u
						}
					}
					return m, nil
				}
			}
			return o
		}
		if err := c.Collect(context.Background(), scopes[0], "issues", now.Add(-400*24*time.Hour), out(false)); err != nil {
			t.Fatal(err)
		}
		for id := range before {
			if _, ok := landed[id]; !ok {
				missing++
			}
		}
		mu.Lock()
		active = false
		mu.Unlock()
		if err := c.Collect(context.Background(), scopes[0], "issues", cursor.Add(-10*time.Minute), out(true)); err != nil {
			t.Fatal(err)
		}
		for id, u := range srv.State() {
			if got, ok := landed[id]; !ok || !got.Equal(u) {
				stale++
			}
		}
		srv.Close()
	}
	t.Logf("%d runs, %d issues updated mid-scan: %d missing after the first run, %d missing or stale after the incremental run", runs, updates, missing, stale)
	if missing != 0 || stale != 0 {
		t.Fatalf("%d issues missing after the first run, %d missing or stale after the incremental one", missing, stale)
	}
	if updates == 0 {
		t.Fatal("nothing was updated mid-scan")
	}
}

// A null or empty item in an issues page is an error naming the list, the
// offset and the item, and nothing of the page lands.
func TestIssues_MalformedItemIsAnError(t *testing.T) {
	for _, body := range []string{`{"issues":[null],"total_count":1}`, `{"issues":[{}],"total_count":1}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/issue_statuses.json":
				fmt.Fprint(w, `{"issue_statuses":[{"id":1,"name":"New","is_closed":false}]}`)
			case "/issues.json":
				fmt.Fprint(w, body)
			default:
				w.WriteHeader(404)
			}
		}))
		c, _ := New(source(srv.URL, "k"), Options{})
		landed := 0
		err := c.Collect(context.Background(), models.Scope{Path: "p", ID: 1}, "issues", time.Time{}, models.Output{Emit: func(_ context.Context, b *models.Batch, _ time.Time) error {
			landed += len(b.Issues)
			return nil
		}})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "list issues of p (offset 0): malformed response: item 1 of 1 has no id") || landed != 0 {
			t.Errorf("%s: err = %v, landed %d", body, err, landed)
		}
	}
}
