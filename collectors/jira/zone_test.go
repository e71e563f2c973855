package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/models"
)

// landedIssues is a warehouse of issues by id, with the pipeline's cursor rule.
type landedIssues struct {
	rows   map[string]models.Issue
	cursor time.Time
}

func (l *landedIssues) output(incremental bool) models.Output {
	o := models.Output{Emit: func(_ context.Context, b *models.Batch, cur time.Time) error {
		for _, x := range b.Issues {
			l.rows[x.ID] = x
		}
		if cur.After(l.cursor) {
			l.cursor = cur
		}
		return nil
	}}
	if incremental {
		o.Landed = func(_ context.Context, ids []string) (map[string]time.Time, error) {
			m := map[string]time.Time{}
			for _, id := range ids {
				if x, ok := l.rows[id]; ok {
					m[id] = x.UpdatedAt
				}
			}
			return m, nil
		}
	}
	return o
}

func transitionsOf(rows map[string]models.Issue) map[string]models.IssueTransition {
	out := map[string]models.IssueTransition{}
	for _, x := range rows {
		for _, tr := range x.Transitions {
			out[tr.ID] = tr
		}
	}
	return out
}

// TestIssues_TwoRunsEqualOneInEveryAccountZone: Jira reads the JQL date of
// an incremental search in the searching account's zone. In three zones,
// Cloud and Server, a run against the server as it was at T followed by an
// incremental run against it now must land exactly what one complete run
// lands: no issue or transition missing or different.
func TestIssues_TwoRunsEqualOneInEveryAccountZone(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	for _, zone := range []string{"America/Los_Angeles", "UTC", "Asia/Tokyo"} {
		for _, cloud := range []bool{true, false} {
			name := zone + map[bool]string{true: "/cloud", false: "/server"}[cloud]
			t.Run(name, func(t *testing.T) {
				loc, err := time.LoadLocation(zone)
				if err != nil {
					t.Fatal(err)
				}
				org := sandbox.GenerateJira(5, 3, 200, now)
				srv := sandbox.StartJira(org, cloud)
				defer srv.Close()
				srv.Zone = loc
				// Several moments T, so that some change happens within hours of each.
				changedAfterT := 0
				for k := 0; k < 5; k++ {
					asOf := now.Add(-12*24*time.Hour - time.Duration(k)*(11*24*time.Hour+5*time.Hour))
					d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
					src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(),
						Streams: Streams, Concurrency: 4, MaxRetries: 2, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
					if cloud {
						src.Settings = &Settings{Email: "reader@acme.example"}
					}
					collect := func(clock time.Time, since time.Time, l *landedIssues, incremental bool) {
						t.Helper()
						c, err := New(src, Options{Now: func() time.Time { return clock }, PageSize: 25})
						if err != nil {
							t.Fatal(err)
						}
						defer c.Close()
						scopes, _ := c.Scopes(context.Background())
						if err := c.Collect(context.Background(), scopes[0], "issues", since, l.output(incremental)); err != nil {
							t.Fatal(err)
						}
					}
					start := now.Add(-365 * 24 * time.Hour)
					two := &landedIssues{rows: map[string]models.Issue{}}
					srv.SetAsOf(asOf)
					collect(asOf, start, two, false)
					first, firstTr := len(two.rows), len(transitionsOf(two.rows))
					srv.SetAsOf(time.Time{})
					collect(now, two.cursor.Add(-10*time.Minute), two, true)
					one := &landedIssues{rows: map[string]models.Issue{}}
					collect(now, start, one, false)

					missing, different := diff(one.rows, two.rows)
					tm, td := diff(transitionsOf(one.rows), transitionsOf(two.rows))
					t.Logf("%s: %d issues (%d transitions) as of T, %d after the incremental run, %d in one complete run; issues missing %d, different %d; transitions (%d) missing %d, different %d",
						name, first, firstTr, len(two.rows), len(one.rows), len(missing), len(different), len(transitionsOf(one.rows)), len(tm), len(td))
					changedAfterT += len(transitionsOf(one.rows)) - firstTr
					if len(missing)+len(different)+len(tm)+len(td) > 0 {
						t.Errorf("two runs differ from one: issues missing %v different %v; transitions missing %v different %v",
							head(missing), head(different), head(tm), head(td))
					}
				}
				if changedAfterT == 0 {
					t.Fatal("nothing changed after any T: the test tests nothing")
				}
			})
		}
	}
}

func diff[T any](want, got map[string]T) (missing, different []string) {
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case !reflect.DeepEqual(w, g):
			different = append(different, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(different)
	return missing, different
}

func head(ids []string) string {
	if len(ids) > 3 {
		return fmt.Sprintf("%s … (%d)", strings.Join(ids[:3], ", "), len(ids))
	}
	return strings.Join(ids, ", ")
}

func TestJQLTime_NeverLaterThanTheInstant(t *testing.T) {
	at := time.Date(2026, 1, 22, 12, 0, 30, 0, time.UTC)
	for _, c := range []struct {
		zone, want string
	}{
		{"America/Los_Angeles", "2026/01/22 04:00"},
		{"UTC", "2026/01/22 12:00"},
		{"Asia/Tokyo", "2026/01/22 21:00"},
		{"", "2026/01/21 22:00"}, // zone unknown: 14 hours early
	} {
		var loc *time.Location
		if c.zone != "" {
			loc, _ = time.LoadLocation(c.zone)
		}
		if got := JQLTime(at, loc); got != c.want {
			t.Errorf("%s: %s, want %s", c.zone, got, c.want)
		}
	}
	// Around a fall-back change (US, 1 Nov 2026 02:00 PDT → 01:00 PST) the
	// literal read back in the zone is never after the instant.
	la, _ := time.LoadLocation("America/Los_Angeles")
	for m := -180; m <= 180; m += 7 {
		at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
		lit := JQLTime(at, la)
		for _, off := range []int{-7, -8} { // every instant that wall clock names in the zone
			w, _ := time.Parse("2006/01/02 15:04", lit)
			inst := w.Add(-time.Duration(off) * time.Hour)
			if inst.In(la).Format("2006/01/02 15:04") != lit {
				continue // not a reading of this wall clock
			}
			if inst.After(at) {
				t.Errorf("%v → %q read at UTC%d is %v, after the instant", at, lit, off, inst)
			}
		}
	}
}

// A null or key-less item in a search page is an error naming the page and
// the item, never a panic or an issue keyed "".
func TestIssues_MalformedItemIsAnError(t *testing.T) {
	for _, body := range []string{`{"issues":[null],"total":1}`, `{"issues":[{}],"total":1}`, `{"issues":[{"key":"A-1","fields":{"updated":7}}],"total":1}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/rest/api/2/myself":
				fmt.Fprint(w, `{"accountId":"x","timeZone":"America/Los_Angeles"}`)
			case "/rest/api/2/status", "/rest/api/2/field":
				fmt.Fprint(w, `[]`)
			case "/rest/api/2/search":
				fmt.Fprint(w, body)
			default:
				w.WriteHeader(404)
			}
		}))
		src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "t", Projects: []string{"A"}, Settings: &Settings{Deployment: "server"}, Concurrency: 1, MaxRetries: 1}
		c, _ := New(src, Options{})
		err := c.Collect(context.Background(), models.Scope{Path: `project in ("A")`}, "issues", time.Time{}, models.Output{Emit: func(context.Context, *models.Batch, time.Time) error { return nil }})
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "search issues (startAt 0): malformed response: item 1 of 1") {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}
