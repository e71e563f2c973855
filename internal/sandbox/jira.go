package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// JiraOrg is a seeded Jira: projects with issues whose changelogs walk
// through statuses, sprints and estimates, and one board of sprints per
// project, served in the REST v2/v3 and Agile 1.0 shapes of shared/fixtures/jira.
type JiraOrg struct {
	Now      time.Time
	projects []*jProject
	byKey    map[string]*jIssue
}

type jProject struct {
	ID      int
	Key     string
	Board   int
	issues  []*jIssue // by (updated, key)
	sprints []map[string]any
}

type jIssue struct {
	ID        int
	Key       string
	Project   *jProject
	Type      string
	Status    int
	Created   time.Time
	Updated   time.Time
	Resolved  time.Time
	Points    *float64
	Sprints   []int
	histories []map[string]any
}

var jStatuses = []struct {
	ID       int
	Name     string
	Category string
}{{1, "To Do", "new"}, {3, "In Progress", "indeterminate"}, {10001, "In Review", "indeterminate"}, {10002, "Done", "done"}}

func jStatus(id int) (string, string) {
	for _, s := range jStatuses {
		if s.ID == id {
			return s.Name, s.Category
		}
	}
	return "", ""
}

func jTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// JiraLongChangelog is how many changelog entries the first issue of each
// project has: more than one page of changelog.
const JiraLongChangelog = 250

// GenerateJira builds projects × issues over the 120 days before now.
func GenerateJira(seed uint64, projects, issuesPerProject int, now time.Time) *JiraOrg {
	now = now.UTC().Truncate(time.Second)
	o := &JiraOrg{Now: now, byKey: map[string]*jIssue{}}
	start := now.Add(-120 * 24 * time.Hour)
	id := 10000
	for pi := 0; pi < projects; pi++ {
		p := &jProject{ID: 100 + pi, Key: []string{"APP", "API", "WEB", "OPS", "DATA", "INFRA"}[pi%6] + strings.Repeat("X", pi/6), Board: pi + 1}
		o.projects = append(o.projects, p)
		var ends []time.Time
		for s := 0; s < 8; s++ {
			st := start.Add(time.Duration(s) * 14 * 24 * time.Hour)
			en := st.Add(14 * 24 * time.Hour)
			ends = append(ends, en)
			sp := map[string]any{"id": p.ID*100 + s + 1, "self": "", "state": "closed", "name": fmt.Sprintf("%s Sprint %d", p.Key, s+1),
				"startDate": st.Format(time.RFC3339), "endDate": en.Format(time.RFC3339), "completeDate": en.Format(time.RFC3339), "originBoardId": p.Board}
			if en.After(now) {
				sp["state"] = "active"
				delete(sp, "completeDate")
			}
			if st.After(now) {
				sp["state"] = "future"
			}
			p.sprints = append(p.sprints, sp)
		}
		r := rngFor(seed, "jira", pi)
		for i := 0; i < issuesPerProject; i++ {
			id++
			x := &jIssue{ID: id, Key: fmt.Sprintf("%s-%d", p.Key, i+1), Project: p, Type: []string{"Story", "Task", "Bug", "Incident"}[r.IntN(4)],
				Status: 1, Created: start.Add(time.Duration(r.Int64N(int64(110 * 24 * time.Hour)))).Truncate(time.Second)}
			pts := float64([]int{1, 2, 3, 5, 8}[r.IntN(5)])
			x.Points = &pts
			x.Updated = x.Created
			hid := id * 1000
			add := func(at time.Time, items ...map[string]any) {
				hid++
				x.histories = append(x.histories, map[string]any{"id": strconv.Itoa(hid), "created": jTS(at),
					"author": map[string]any{"accountId": "acc-" + strconv.Itoa(r.IntN(30)), "displayName": "Person " + strconv.Itoa(r.IntN(30)), "emailAddress": fmt.Sprintf("p%d@acme.example", r.IntN(30))},
					"items":  items})
				x.Updated = at
			}
			status := func(from, to int) map[string]any {
				fn, _ := jStatus(from)
				tn, _ := jStatus(to)
				return map[string]any{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": strconv.Itoa(from), "fromString": fn, "to": strconv.Itoa(to), "toString": tn}
			}
			si := sort.Search(len(ends), func(k int) bool { return ends[k].After(x.Created) })
			// Most work is planned: created in the backlog and put into the
			// next sprint before it starts (committed); a quarter lands in
			// the running sprint (added), as in a real team's board.
			if si+1 < len(ends) && id%4 != 0 {
				si++
			}
			if si < len(ends) && r.IntN(3) > 0 {
				x.Sprints = []int{p.ID*100 + si + 1}
			}
			t := x.Created
			if len(x.Sprints) > 0 {
				// Planned work starts when its sprint does.
				if st := ends[si].Add(-14 * 24 * time.Hour); st.After(t) {
					t = st
				}
			}
			walk := []int{3, 10001, 10002}
			if i == 0 {
				// A long changelog: flipping between In Progress and In Review.
				walk = nil
				for k := 0; k < JiraLongChangelog-1; k++ {
					walk = append(walk, []int{3, 10001}[k%2])
				}
				walk = append(walk, 10002)
			}
			for _, next := range walk {
				step := time.Duration(1+r.IntN(40)) * time.Hour
				if i == 0 {
					step = time.Duration(1+r.IntN(20)) * time.Minute
				}
				t = t.Add(step)
				if t.After(now) || (i != 0 && r.IntN(8) == 0) {
					break
				}
				add(t, status(x.Status, next))
				x.Status = next
				if next == 10002 {
					x.Resolved = t
				}
			}
			if len(x.Sprints) > 0 && x.Status != 10002 && si+1 < len(ends) && ends[si].Before(now) && r.IntN(2) == 0 {
				from, to := x.Sprints[0], x.Sprints[0]+1
				// Completing a sprint moves its open issues into the next one at that instant.
				add(ends[si], map[string]any{"field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020",
					"from": strconv.Itoa(from), "fromString": "", "to": fmt.Sprintf("%d, %d", from, to), "toString": ""})
				x.Sprints = append(x.Sprints, to)
			}
			if r.IntN(5) == 0 {
				at := x.Created.Add(time.Duration(1+r.IntN(10)) * time.Hour)
				if at.Before(now) {
					old := *x.Points
					np := float64([]int{1, 2, 3, 5, 8, 13}[r.IntN(6)])
					x.Points = &np
					add(at, map[string]any{"field": "Story point estimate", "fieldtype": "custom", "fieldId": "customfield_10016",
						"from": nil, "fromString": strconv.FormatFloat(old, 'f', -1, 64), "to": nil, "toString": strconv.FormatFloat(np, 'f', -1, 64)})
				}
			}
			sort.SliceStable(x.histories, func(a, b int) bool { return x.histories[a]["created"].(string) < x.histories[b]["created"].(string) })
			if n := len(x.histories); n > 0 { // updated is the newest change, as in Jira
				x.Updated, _ = time.Parse("2006-01-02T15:04:05.000-0700", x.histories[n-1]["created"].(string))
			}
			p.issues = append(p.issues, x)
			o.byKey[x.Key] = x
		}
		o.sortProject(p)
	}
	return o
}

func (o *JiraOrg) sortProject(p *jProject) {
	sort.SliceStable(p.issues, func(a, b int) bool {
		if !p.issues[a].Updated.Equal(p.issues[b].Updated) {
			return p.issues[a].Updated.Before(p.issues[b].Updated)
		}
		return p.issues[a].Key < p.issues[b].Key
	})
}

// ProjectKeys lists the project keys.
func (o *JiraOrg) ProjectKeys() []string {
	var out []string
	for _, p := range o.projects {
		out = append(out, p.Key)
	}
	return out
}

// Boards lists the board ids.
func (o *JiraOrg) Boards() []int {
	var out []int
	for _, p := range o.projects {
		out = append(out, p.Board)
	}
	return out
}

func (o *JiraOrg) issueJSON(x *jIssue, embed int) map[string]any {
	name, cat := jStatus(x.Status)
	var sprints []map[string]any
	for _, s := range x.Sprints {
		sprints = append(sprints, map[string]any{"id": s, "name": fmt.Sprintf("Sprint %d", s%100), "state": "closed", "boardId": x.Project.Board})
	}
	fields := map[string]any{
		"summary": fmt.Sprintf("Do the thing %d", x.ID), "issuetype": map[string]any{"id": "1", "name": x.Type},
		"status":  map[string]any{"id": strconv.Itoa(x.Status), "name": name, "statusCategory": map[string]any{"key": cat}},
		"project": map[string]any{"id": strconv.Itoa(x.Project.ID), "key": x.Project.Key}, "labels": []string{},
		"created": jTS(x.Created), "updated": jTS(x.Updated), "resolutiondate": nil,
		"reporter":          map[string]any{"accountId": "acc-rep", "displayName": "Reporting Person", "emailAddress": "reporter@acme.example"},
		"assignee":          nil,
		"customfield_10016": x.Points, "customfield_10020": sprints,
		"description": "Steps to reproduce, written by Reporting Person",
	}
	if !x.Resolved.IsZero() {
		fields["resolutiondate"] = jTS(x.Resolved)
	}
	hs := x.histories
	if hs == nil {
		hs = []map[string]any{}
	}
	shown := hs
	if embed >= 0 && len(shown) > embed {
		shown = shown[:embed]
	}
	return map[string]any{"id": strconv.Itoa(x.ID), "key": x.Key, "self": "", "fields": fields,
		"changelog": map[string]any{"startAt": 0, "maxResults": len(shown), "total": len(hs), "histories": shown}}
}

// JiraServer serves a JiraOrg as Cloud or Server.
type JiraServer struct {
	Org      *JiraOrg
	URL      string
	cloud    bool
	hs       *httptest.Server
	n        atomic.Int64
	searches atomic.Int64
	pages    atomic.Int64 // changelog pages and issue re-fetches
	// Zone is the searching account's time zone (/myself timeZone): a bare
	// JQL date is read in it, as Jira does. nil = UTC.
	Zone *time.Location
	// asOf, when set, serves the org as it was at that instant: issues
	// created later are hidden, histories after it dropped (SetAsOf).
	asOf atomic.Pointer[time.Time]
	// Every429 answers every n-th request with 429 Retry-After: 1 (0 = never).
	Every429  int64
	throttled atomic.Int64
	// KeyListMax caps the page a "key in (...)" search answers: Jira "may
	// return fewer items per page" than asked (search/jql reference), and a
	// Server's jira.search.views.default.max caps every page (0 = no cap).
	KeyListMax int
}

var (
	jqlUpdated  = regexp.MustCompile(`updated >= "([^"]+)"`)
	jqlProjects = regexp.MustCompile(`project in \(([^)]*)\)`)
	jqlKeys     = regexp.MustCompile(`key in \(([^)]*)\)`)
	jqlType     = regexp.MustCompile(`issuetype (?:=|in) \(?([^)]*?)\)?(?: AND| ORDER|\)|$)`)
)

// StartJira serves org; cloud picks the search style and deploymentType.
func StartJira(org *JiraOrg, cloud bool) *JiraServer {
	s := &JiraServer{Org: org, cloud: cloud}
	s.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.n.Add(1)
		if s.Every429 > 0 && n%s.Every429 == 0 {
			s.throttled.Add(1)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(401)
			return
		}
		body, status := s.route(r)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(status)
		if body != nil {
			json.NewEncoder(w).Encode(body)
		}
	}))
	s.URL = s.hs.URL
	return s
}

// Close stops the server.
func (s *JiraServer) Close() { s.hs.Close() }

// SetAsOf serves the org as it was at t (zero: as it is).
func (s *JiraServer) SetAsOf(t time.Time) {
	if t.IsZero() {
		s.asOf.Store(nil)
		return
	}
	s.asOf.Store(&t)
}

// view is x as the server shows it now: as of asOf, or nil if it did not exist yet.
func (s *JiraServer) view(x *jIssue) *jIssue {
	at := s.asOf.Load()
	if at == nil {
		return x
	}
	if x.Created.After(*at) {
		return nil
	}
	v := *x
	v.histories, v.Updated, v.Status, v.Resolved = nil, x.Created, 1, time.Time{}
	for _, h := range x.histories {
		t, _ := time.Parse("2006-01-02T15:04:05.000-0700", h["created"].(string))
		if t.After(*at) {
			break
		}
		v.histories = append(v.histories, h)
		v.Updated = t
		for _, it := range h["items"].([]map[string]any) {
			if it["field"] == "status" {
				v.Status, _ = strconv.Atoi(it["to"].(string))
				if v.Status == 10002 {
					v.Resolved = t
				}
			}
		}
	}
	return &v
}

// Counts: all requests, search pages, extra changelog requests, 429s sent.
func (s *JiraServer) Counts() (total, searches, changelog, throttled int64) {
	return s.n.Load(), s.searches.Load(), s.pages.Load(), s.throttled.Load()
}

// ResetCounts zeroes the counters.
func (s *JiraServer) ResetCounts() {
	s.n.Store(0)
	s.searches.Store(0)
	s.pages.Store(0)
	s.throttled.Store(0)
}

// Touch updates n issues with a label-free change (an assignee change).
func (s *JiraServer) Touch(n int) {
	at := s.Org.Now.Add(time.Minute)
	for i := 0; i < n; i++ {
		p := s.Org.projects[i%len(s.Org.projects)]
		x := p.issues[(i*7919)%len(p.issues)]
		x.histories = append(x.histories, map[string]any{"id": strconv.Itoa(x.ID*1000 + 999), "created": jTS(at),
			"items": []map[string]any{{"field": "assignee", "fieldtype": "jira", "from": nil, "to": "acc-1"}}})
		x.Updated = at
	}
	for _, p := range s.Org.projects {
		s.Org.sortProject(p)
	}
}

func (s *JiraServer) search(r *http.Request) (any, int) {
	s.searches.Add(1)
	q := r.URL.Query()
	jql := q.Get("jql")
	var since time.Time
	zone := s.Zone
	if zone == nil {
		zone = time.UTC
	}
	if m := jqlUpdated.FindStringSubmatch(jql); m != nil {
		var err error
		if since, err = time.ParseInLocation("2006/01/02 15:04", m[1], zone); err != nil {
			return map[string]any{"errorMessages": []string{fmt.Sprintf("Date value '%s' for field 'updated' is invalid.", m[1])}}, 400
		}
	}
	want := map[string]bool{}
	if m := jqlProjects.FindStringSubmatch(jql); m != nil {
		for _, k := range strings.Split(m[1], ",") {
			want[strings.Trim(strings.TrimSpace(k), `"`)] = true
		}
	}
	// key in (...) and issuetype = / in (...): the clauses devpulse's
	// incident_jql pass sends, and the usual way to write such a rule.
	list := func(re *regexp.Regexp) map[string]bool {
		m := re.FindStringSubmatch(jql)
		if m == nil {
			return nil
		}
		out := map[string]bool{}
		for _, k := range strings.Split(m[1], ",") {
			out[strings.ToLower(strings.Trim(strings.TrimSpace(k), `"`))] = true
		}
		return out
	}
	keys, types := list(jqlKeys), list(jqlType)
	var items []*jIssue
	for _, p := range s.Org.projects {
		if len(want) > 0 && !want[p.Key] {
			continue
		}
		for _, x := range p.issues {
			if (keys != nil && !keys[strings.ToLower(x.Key)]) || (types != nil && !types[strings.ToLower(x.Type)]) {
				continue
			}
			if v := s.view(x); v != nil && !v.Updated.Before(since) {
				items = append(items, v)
			}
		}
	}
	byCreated := strings.Contains(jql, "ORDER BY created")
	sort.SliceStable(items, func(a, b int) bool {
		ka, kb := items[a].Updated, items[b].Updated
		if byCreated {
			ka, kb = items[a].Created, items[b].Created
		}
		if !ka.Equal(kb) {
			return ka.Before(kb)
		}
		return items[a].Key < items[b].Key
	})
	max, _ := strconv.Atoi(q.Get("maxResults"))
	if max <= 0 || max > 100 {
		max = 50
	}
	if keys != nil && s.KeyListMax > 0 && max > s.KeyListMax {
		max = s.KeyListMax
	}
	start := 0
	if s.cloud {
		start, _ = strconv.Atoi(q.Get("nextPageToken")) // opaque to clients; an offset here
	} else {
		start, _ = strconv.Atoi(q.Get("startAt"))
	}
	lo, hi := min(start, len(items)), min(start+max, len(items))
	var out []any
	for _, x := range items[lo:hi] {
		if q.Get("fields") == "key" { // an issue bean's minimum: id, self, key
			out = append(out, map[string]any{"id": strconv.Itoa(x.ID), "self": s.URL + "/rest/api/2/issue/" + strconv.Itoa(x.ID), "key": x.Key})
			continue
		}
		out = append(out, s.Org.issueJSON(x, 100)) // both styles embed at most 100 histories here
	}
	if out == nil {
		out = []any{}
	}
	if s.cloud {
		res := map[string]any{"issues": out, "isLast": hi >= len(items)}
		if hi < len(items) {
			res["nextPageToken"] = strconv.Itoa(hi)
		}
		return res, 200
	}
	return map[string]any{"startAt": start, "maxResults": max, "total": len(items), "issues": out}, 200
}

func (s *JiraServer) route(r *http.Request) (any, int) {
	p := r.URL.Path
	q := r.URL.Query()
	switch {
	case p == "/rest/api/2/serverInfo":
		dt := "Server"
		if s.cloud {
			dt = "Cloud"
		}
		return map[string]any{"baseUrl": s.URL, "version": "9.12.0", "deploymentType": dt}, 200
	case p == "/rest/api/2/myself":
		zone := "UTC"
		if s.Zone != nil {
			zone = s.Zone.String()
		}
		return map[string]any{"accountId": "acc-me", "displayName": "devpulse reader", "timeZone": zone}, 200
	case p == "/rest/api/2/user/assignable/search":
		// The people the org's histories and reporters name.
		us := []any{map[string]any{"accountId": "acc-rep", "displayName": "Reporting Person", "emailAddress": "reporter@acme.example", "active": true}}
		for i := 0; i < 30; i++ {
			us = append(us, map[string]any{"accountId": "acc-" + strconv.Itoa(i), "displayName": "Person " + strconv.Itoa(i), "emailAddress": fmt.Sprintf("p%d@acme.example", i), "active": true})
		}
		if start, _ := strconv.Atoi(q.Get("startAt")); start > 0 {
			return []any{}, 200
		}
		return us, 200
	case p == "/rest/api/2/status":
		var out []any
		for _, st := range jStatuses {
			out = append(out, map[string]any{"id": strconv.Itoa(st.ID), "name": st.Name, "statusCategory": map[string]any{"key": st.Category}})
		}
		return out, 200
	case p == "/rest/api/2/field":
		return []any{map[string]any{"id": "summary", "name": "Summary"}, map[string]any{"id": "customfield_10016", "name": "Story point estimate"},
			map[string]any{"id": "customfield_10020", "name": "Sprint"}}, 200
	case p == "/rest/api/3/search/jql":
		if !s.cloud {
			return map[string]any{"errorMessages": []string{"not found"}}, 404
		}
		return s.search(r)
	case p == "/rest/api/2/search":
		if s.cloud {
			return map[string]any{"errorMessages": []string{"The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."}}, 410
		}
		return s.search(r)
	case strings.HasPrefix(p, "/rest/api/2/issue/") && strings.HasSuffix(p, "/changelog"):
		s.pages.Add(1)
		x := s.Org.byKey[strings.TrimSuffix(strings.TrimPrefix(p, "/rest/api/2/issue/"), "/changelog")]
		if x != nil {
			x = s.view(x)
		}
		if x == nil {
			return nil, 404
		}
		start, _ := strconv.Atoi(q.Get("startAt"))
		max, _ := strconv.Atoi(q.Get("maxResults"))
		if max <= 0 || max > 100 {
			max = 100
		}
		lo, hi := min(start, len(x.histories)), min(start+max, len(x.histories))
		return map[string]any{"startAt": start, "maxResults": max, "total": len(x.histories), "isLast": hi >= len(x.histories), "values": x.histories[lo:hi]}, 200
	case strings.HasPrefix(p, "/rest/api/2/issue/"):
		s.pages.Add(1)
		x := s.Org.byKey[strings.TrimPrefix(p, "/rest/api/2/issue/")]
		if x != nil {
			x = s.view(x)
		}
		if x == nil {
			return nil, 404
		}
		return s.Org.issueJSON(x, -1), 200
	case strings.HasPrefix(p, "/rest/agile/1.0/board/"):
		rest := strings.Split(strings.TrimPrefix(p, "/rest/agile/1.0/board/"), "/")
		id, _ := strconv.Atoi(rest[0])
		for _, pr := range s.Org.projects {
			if pr.Board != id {
				continue
			}
			if len(rest) == 1 {
				return map[string]any{"id": id, "name": pr.Key + " board", "type": "scrum", "location": map[string]any{"projectKey": pr.Key}}, 200
			}
			start, _ := strconv.Atoi(q.Get("startAt"))
			lo, hi := min(start, len(pr.sprints)), min(start+50, len(pr.sprints))
			return map[string]any{"maxResults": 50, "startAt": start, "isLast": hi >= len(pr.sprints), "values": pr.sprints[lo:hi]}, 200
		}
		return nil, 404
	}
	return nil, 404
}
