package sandbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RedmineOrg is a seeded Redmine: projects with issues (journals with status
// walks, sprint moves and re-estimates) and two-week versions, served in the
// REST API's shapes as recorded in shared/fixtures/redmine.
type RedmineOrg struct {
	Now      time.Time
	projects []*rmProject
	issues   map[int]*rmIssue
}

type rmProject struct {
	ID         int
	Identifier string
	issues     []*rmIssue // sorted by (updated_on, id)
	versions   []map[string]any
}

type rmIssue struct {
	ID       int
	Project  *rmProject
	Tracker  string
	Status   int
	Created  time.Time
	Updated  time.Time
	Closed   time.Time
	Points   float64
	Version  int
	journals []map[string]any
}

var rmStatuses = []struct {
	ID     int
	Name   string
	Closed bool
}{{1, "New", false}, {2, "In Progress", false}, {3, "Resolved", false}, {4, "Feedback", false}, {5, "Closed", true}, {6, "Rejected", true}}

func rmTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// GenerateRedmine builds projects × issues over the 120 days before now.
func GenerateRedmine(seed uint64, projects, issuesPerProject int, now time.Time) *RedmineOrg {
	now = now.UTC().Truncate(time.Second)
	o := &RedmineOrg{Now: now, issues: map[int]*rmIssue{}}
	start := now.Add(-120 * 24 * time.Hour)
	id := 0
	for pi := 0; pi < projects; pi++ {
		p := &rmProject{ID: pi + 1, Identifier: fmt.Sprintf("ops-%d", pi+1)}
		o.projects = append(o.projects, p)
		var dues []time.Time
		for v := 0; v < 9; v++ {
			due := start.Add(time.Duration(v+1) * 14 * 24 * time.Hour).Truncate(24 * time.Hour)
			dues = append(dues, due)
			status := "closed"
			if due.After(now) {
				status = "open"
			}
			p.versions = append(p.versions, map[string]any{"id": pi*100 + v + 1, "project": map[string]any{"id": p.ID, "name": p.Identifier},
				"name": fmt.Sprintf("Sprint %d", v+1), "description": "", "status": status, "due_date": due.Format("2006-01-02"),
				"sharing": "none", "wiki_page_title": nil, "created_on": rmTS(start), "updated_on": rmTS(start), "custom_fields": []any{}})
		}
		r := rngFor(seed, "redmine", pi)
		for i := 0; i < issuesPerProject; i++ {
			id++
			x := &rmIssue{ID: id, Project: p, Tracker: []string{"Bug", "Feature", "Support", "Incident"}[r.IntN(4)], Status: 1,
				Created: start.Add(time.Duration(r.Int64N(int64(110 * 24 * time.Hour)))).Truncate(time.Second),
				Points:  float64([]int{1, 2, 3, 5, 8, 13}[r.IntN(6)])}
			vi := sort.Search(len(dues), func(k int) bool { return dues[k].After(x.Created) })
			if vi < len(dues) && r.IntN(3) > 0 {
				x.Version = pi*100 + vi + 1
			}
			t := x.Created
			jid := x.ID * 10
			addJournal := func(at time.Time, details ...map[string]any) {
				jid++
				x.journals = append(x.journals, map[string]any{"id": jid, "user": map[string]any{"id": 1 + r.IntN(20), "name": "User " + strconv.Itoa(r.IntN(20))},
					"notes": "status update", "created_on": rmTS(at), "private_notes": false, "details": details})
				x.Updated = at
			}
			change := func(name, from, to string) map[string]any {
				return map[string]any{"property": "attr", "name": name, "old_value": from, "new_value": to}
			}
			x.Updated = x.Created
			for _, next := range []int{2, 3, 5} {
				t = t.Add(time.Duration(1+r.IntN(96)) * time.Hour)
				if t.After(now) || r.IntN(8) == 0 {
					break
				}
				addJournal(t, change("status_id", strconv.Itoa(x.Status), strconv.Itoa(next)))
				x.Status = next
			}
			if x.Status == 5 {
				x.Closed = x.Updated
			}
			if r.IntN(6) == 0 && x.Version != 0 && vi+1 < len(dues) { // carried over to the next sprint
				if at := dues[vi].Add(time.Hour); at.Before(now) {
					addJournal(at, change("fixed_version_id", strconv.Itoa(x.Version), strconv.Itoa(x.Version+1)))
					x.Version++
				}
			}
			if r.IntN(5) == 0 { // re-estimated
				at := x.Created.Add(time.Duration(1+r.IntN(48)) * time.Hour)
				if at.Before(now) {
					old := x.Points
					x.Points = float64([]int{1, 2, 3, 5, 8, 13}[r.IntN(6)])
					addJournal(at, map[string]any{"property": "cf", "name": "1",
						"old_value": strconv.FormatFloat(old, 'f', -1, 64), "new_value": strconv.FormatFloat(x.Points, 'f', -1, 64)})
				}
			}
			sort.SliceStable(x.journals, func(a, b int) bool {
				return x.journals[a]["created_on"].(string) < x.journals[b]["created_on"].(string)
			})
			p.issues = append(p.issues, x)
			o.issues[x.ID] = x
		}
		sort.SliceStable(p.issues, func(a, b int) bool {
			if !p.issues[a].Updated.Equal(p.issues[b].Updated) {
				return p.issues[a].Updated.Before(p.issues[b].Updated)
			}
			return p.issues[a].ID < p.issues[b].ID
		})
	}
	return o
}

// Identifiers lists the projects' identifiers.
func (o *RedmineOrg) Identifiers() []string {
	var out []string
	for _, p := range o.projects {
		out = append(out, p.Identifier)
	}
	return out
}

func (o *RedmineOrg) issueJSON(x *rmIssue, journals bool) map[string]any {
	st := rmStatuses[x.Status-1]
	j := map[string]any{"id": x.ID, "project": map[string]any{"id": x.Project.ID, "name": x.Project.Identifier},
		"tracker": map[string]any{"id": 1, "name": x.Tracker}, "status": map[string]any{"id": st.ID, "name": st.Name, "is_closed": st.Closed},
		"priority": map[string]any{"id": 2, "name": "Normal"}, "author": map[string]any{"id": 1, "name": "Redmine Admin"},
		"subject": fmt.Sprintf("Issue %d", x.ID), "description": "Reported by a customer", "start_date": x.Created.Format("2006-01-02"),
		"due_date": nil, "done_ratio": 0, "is_private": false, "estimated_hours": nil,
		"custom_fields": []map[string]any{{"id": 1, "name": "Story Points", "value": strconv.FormatFloat(x.Points, 'f', -1, 64)}},
		"created_on":    rmTS(x.Created), "updated_on": rmTS(x.Updated), "closed_on": nil}
	if !x.Closed.IsZero() {
		j["closed_on"] = rmTS(x.Closed)
	}
	if x.Version != 0 {
		j["fixed_version"] = map[string]any{"id": x.Version, "name": fmt.Sprintf("Sprint %d", x.Version%100)}
	}
	if journals {
		js := x.journals
		if js == nil {
			js = []map[string]any{}
		}
		j["journals"] = js
	}
	return j
}

// RedmineServer serves a RedmineOrg.
type RedmineServer struct {
	Org   *RedmineOrg
	URL   string
	Key   string
	hs    *httptest.Server
	n     atomic.Int64
	lists atomic.Int64
	gets  atomic.Int64
	mu    sync.Mutex
	// OnList runs after each page of the issue list was served: tests
	// update issues mid-scan here. Set it before the first request.
	OnList  func()
	updates int
}

// StartRedmine serves org on loopback; requests need X-Redmine-API-Key: key.
func StartRedmine(org *RedmineOrg, key string, latency time.Duration) *RedmineServer {
	s := &RedmineServer{Org: org, Key: key}
	s.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.n.Add(1)
		if latency > 0 {
			time.Sleep(latency)
		}
		if r.Header.Get("X-Redmine-API-Key") != key {
			w.WriteHeader(401)
			return
		}
		s.mu.Lock()
		body, status := s.route(r)
		s.mu.Unlock()
		if s.OnList != nil && r.URL.Path == "/issues.json" {
			defer s.OnList()
		}
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(body)
	}))
	s.URL = s.hs.URL
	return s
}

// Close stops the server.
func (s *RedmineServer) Close() { s.hs.Close() }

// Counts returns all requests, issue list pages and single-issue requests.
func (s *RedmineServer) Counts() (total, lists, gets int64) {
	return s.n.Load(), s.lists.Load(), s.gets.Load()
}

// ResetCounts zeroes the counters.
func (s *RedmineServer) ResetCounts() { s.n.Store(0); s.lists.Store(0); s.gets.Store(0) }

// Touch updates n issues (a new journal), as a person commenting would.
func (s *RedmineServer) Touch(n int) {
	at := s.Org.Now.Add(time.Minute)
	for i := 0; i < n; i++ {
		p := s.Org.projects[i%len(s.Org.projects)]
		x := p.issues[(i*7919)%len(p.issues)]
		x.journals = append(x.journals, map[string]any{"id": x.ID*10 + 9, "user": map[string]any{"id": 1, "name": "Redmine Admin"},
			"notes": "ping", "created_on": rmTS(at), "private_notes": false, "details": []any{}})
		x.Updated = at
	}
	s.sortIssues()
}

// UpdateRandom gives n issues, chosen with rng, a newer updated_on (each
// later than the one before), as people editing them mid-scan would.
func (s *RedmineServer) UpdateRandom(n int, rng *rand.Rand) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		p := s.Org.projects[rng.IntN(len(s.Org.projects))]
		s.updates++
		p.issues[rng.IntN(len(p.issues))].Updated = s.Org.Now.Add(time.Minute + time.Duration(s.updates)*time.Second)
	}
	s.sortIssues()
}

// State is every issue's id and updated_on: what a complete collection lands.
func (s *RedmineServer) State() map[int]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]time.Time{}
	for _, p := range s.Org.projects {
		for _, x := range p.issues {
			out[x.ID] = x.Updated
		}
	}
	return out
}

func (s *RedmineServer) sortIssues() {
	for _, p := range s.Org.projects {
		sort.SliceStable(p.issues, func(a, b int) bool {
			if !p.issues[a].Updated.Equal(p.issues[b].Updated) {
				return p.issues[a].Updated.Before(p.issues[b].Updated)
			}
			return p.issues[a].ID < p.issues[b].ID
		})
	}
}

func (s *RedmineServer) route(r *http.Request) (any, int) {
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case p == "/users/current.json":
		return map[string]any{"user": map[string]any{"id": 1, "login": "admin"}}, 200
	case p == "/issue_statuses.json":
		var out []map[string]any
		for _, st := range rmStatuses {
			out = append(out, map[string]any{"id": st.ID, "name": st.Name, "is_closed": st.Closed})
		}
		return map[string]any{"issue_statuses": out}, 200
	case strings.HasPrefix(p, "/projects/") && strings.HasSuffix(p, "/memberships.json"):
		// The people the org's journals and authors name.
		ms := []map[string]any{{"id": 1, "user": map[string]any{"id": 1, "name": "Redmine Admin"}, "roles": []any{}}}
		for i := 0; i < 20; i++ {
			ms = append(ms, map[string]any{"id": i + 2, "user": map[string]any{"id": i + 2, "name": "User " + strconv.Itoa(i)}, "roles": []any{}})
		}
		if off, _ := strconv.Atoi(q.Get("offset")); off > 0 {
			return map[string]any{"memberships": []any{}, "total_count": len(ms)}, 200
		}
		return map[string]any{"memberships": ms, "total_count": len(ms), "offset": 0, "limit": 100}, 200
	case strings.HasPrefix(p, "/projects/") && strings.HasSuffix(p, "/versions.json"):
		id, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/projects/"), "/versions.json"))
		for _, pr := range s.Org.projects {
			if pr.ID == id {
				return map[string]any{"versions": pr.versions, "total_count": len(pr.versions)}, 200
			}
		}
		return nil, 404
	case strings.HasPrefix(p, "/projects/"):
		ident, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(p, "/projects/"), ".json"))
		for _, pr := range s.Org.projects {
			if pr.Identifier == ident {
				return map[string]any{"project": map[string]any{"id": pr.ID, "name": pr.Identifier, "identifier": pr.Identifier}}, 200
			}
		}
		return nil, 404
	case p == "/issues.json":
		s.lists.Add(1)
		pid, _ := strconv.Atoi(q.Get("project_id"))
		var pr *rmProject
		for _, x := range s.Org.projects {
			if x.ID == pid {
				pr = x
			}
		}
		if pr == nil {
			return nil, 404
		}
		items := pr.issues // sorted by updated_on, id, as sort=updated_on:asc,id asks
		if ge := strings.TrimPrefix(q.Get("updated_on"), ">="); ge != "" {
			if t, err := time.Parse(time.RFC3339, ge); err == nil {
				k := sort.Search(len(items), func(i int) bool { return !items[i].Updated.Before(t) })
				items = items[k:]
			}
		}
		// Redmine sorts by the columns sort names; the list is kept by
		// (updated_on, id), so sort=id is a sort of what the filter kept.
		if srt := q.Get("sort"); srt == "id" || srt == "id:asc" {
			items = append([]*rmIssue(nil), items...)
			sort.Slice(items, func(a, b int) bool { return items[a].ID < items[b].ID })
		}
		off, _ := strconv.Atoi(q.Get("offset"))
		lim, _ := strconv.Atoi(q.Get("limit"))
		if lim <= 0 || lim > 100 {
			lim = 25
		}
		total := len(items)
		lo, hi := min(off, total), min(off+lim, total)
		out := make([]map[string]any, 0, hi-lo)
		for _, x := range items[lo:hi] {
			out = append(out, s.Org.issueJSON(x, false))
		}
		return map[string]any{"issues": out, "total_count": total, "offset": off, "limit": lim}, 200
	case strings.HasPrefix(p, "/issues/"):
		s.gets.Add(1)
		id, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/issues/"), ".json"))
		x := s.Org.issues[id]
		if x == nil {
			return nil, 404
		}
		return map[string]any{"issue": s.Org.issueJSON(x, strings.Contains(q.Get("include"), "journals"))}, 200
	}
	return nil, 404
}
