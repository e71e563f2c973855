package redmine

import (
	"context"
	"math/rand/v2"
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
