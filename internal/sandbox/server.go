package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
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

// The JSON shapes below follow GitLab REST v4 as recorded in
// ../shared/fixtures/gitlab (field names, nesting, nulls for absent times).

type userJSON struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

type commitJSON struct {
	ID             string            `json:"id"`
	ShortID        string            `json:"short_id"`
	CreatedAt      string            `json:"created_at"`
	ParentIDs      []string          `json:"parent_ids"`
	Title          string            `json:"title"`
	Message        string            `json:"message"`
	AuthorName     string            `json:"author_name"`
	AuthorEmail    string            `json:"author_email"`
	AuthoredDate   string            `json:"authored_date"`
	CommitterName  string            `json:"committer_name"`
	CommitterEmail string            `json:"committer_email"`
	CommittedDate  string            `json:"committed_date"`
	Trailers       map[string]string `json:"trailers"`
	WebURL         string            `json:"web_url"`
}

type noteJSON struct {
	ID              int64          `json:"id"`
	Type            *string        `json:"type"`
	Body            string         `json:"body"`
	Attachment      *string        `json:"attachment"`
	Author          userJSON       `json:"author"`
	CreatedAt       string         `json:"created_at"`
	UpdatedAt       string         `json:"updated_at"`
	System          bool           `json:"system"`
	NoteableID      int64          `json:"noteable_id"`
	NoteableType    string         `json:"noteable_type"`
	Resolvable      bool           `json:"resolvable"`
	Confidential    bool           `json:"confidential"`
	Internal        bool           `json:"internal"`
	NoteableIID     int64          `json:"noteable_iid"`
	CommandsChanges map[string]any `json:"commands_changes"`
}

func (o *Org) basicUser(i int) userJSON {
	u := o.users[i]
	return userJSON{ID: u.ID, Username: u.Username, Name: u.Name, State: "active",
		AvatarURL: "https://gitlab.sandbox/uploads/-/system/user/avatar/" + strconv.FormatInt(u.ID, 10) + "/avatar.png",
		WebURL:    "https://gitlab.sandbox/" + u.Username}
}

func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func (o *Org) projectJSON(p *project) map[string]any {
	return map[string]any{
		"id": p.ID, "description": "", "name": p.Name, "name_with_namespace": strings.ReplaceAll(p.Path, "/", " / "),
		"path": p.Name, "path_with_namespace": p.Path, "created_at": ts(o.Now.Add(-400 * 24 * time.Hour)),
		"default_branch": p.DefaultBranch, "archived": p.Archived, "visibility": "private",
		"web_url":   "https://gitlab.sandbox/" + p.Path,
		"namespace": map[string]any{"id": hash(p.GroupPath) % 100000, "name": p.GroupPath, "path": p.GroupPath, "kind": map[bool]string{true: "user", false: "group"}[p.Personal], "full_path": p.GroupPath},
	}
}

func (o *Org) mrJSON(p *project, m *mr) map[string]any {
	var mergedBy any
	if !m.MergedAt.IsZero() {
		mergedBy = o.basicUser((m.Author + 1) % o.humans())
	}
	labels := m.Labels
	if labels == nil {
		labels = []string{}
	}
	return map[string]any{
		"id": m.ID, "iid": m.IID, "project_id": p.ID, "title": m.Title, "description": m.Description, "state": m.State,
		"created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt), "merged_by": mergedBy, "merge_user": mergedBy,
		"merged_at": nullTS(m.MergedAt), "closed_by": nil, "closed_at": nullTS(m.ClosedAt),
		"target_branch": p.DefaultBranch, "source_branch": m.SourceBranch, "user_notes_count": m.nComments,
		"upvotes": 0, "downvotes": 0, "author": o.basicUser(m.Author), "assignees": []any{}, "assignee": nil, "reviewers": []any{},
		"source_project_id": p.ID, "target_project_id": p.ID, "labels": labels, "draft": m.Draft, "work_in_progress": m.Draft,
		"milestone": nil, "merge_when_pipeline_succeeds": false, "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
		"sha": m.SHA, "merge_commit_sha": nilIfEmpty(m.MergeSHA), "squash_commit_sha": nil, "discussion_locked": nil,
		"should_remove_source_branch": nil, "force_remove_source_branch": true, "reference": fmt.Sprintf("!%d", m.IID),
		"references": map[string]string{"short": fmt.Sprintf("!%d", m.IID), "relative": fmt.Sprintf("!%d", m.IID), "full": fmt.Sprintf("%s!%d", p.Path, m.IID)},
		"web_url":    fmt.Sprintf("https://gitlab.sandbox/%s/-/merge_requests/%d", p.Path, m.IID),
		"time_stats": map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"squash":     false, "task_completion_status": map[string]int{"count": 0, "completed_count": 0}, "has_conflicts": false,
		"blocking_discussions_resolved": true, "approvals_before_merge": nil,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (o *Org) pipelineJSON(p *project, pl *pipeline, detail bool) map[string]any {
	j := map[string]any{
		"id": pl.ID, "iid": pl.IID, "project_id": p.ID, "sha": pl.SHA, "ref": pl.Ref, "status": pl.Status, "source": pl.Source,
		"created_at": ts(pl.CreatedAt), "updated_at": ts(pl.UpdatedAt),
		"web_url": fmt.Sprintf("https://gitlab.sandbox/%s/-/pipelines/%d", p.Path, pl.ID),
	}
	if detail {
		var dur, q any
		if !pl.Finished.IsZero() {
			dur, q = pl.Duration, pl.Queued
		}
		j["before_sha"] = "0000000000000000000000000000000000000000"
		j["tag"] = false
		j["yaml_errors"] = nil
		j["user"] = o.basicUser(pl.User)
		j["started_at"] = nullTS(pl.Started)
		j["finished_at"] = nullTS(pl.Finished)
		j["committed_at"] = nil
		j["duration"] = dur
		j["queued_duration"] = q
		j["coverage"] = nil
		j["detailed_status"] = map[string]any{"icon": "status_" + pl.Status, "text": pl.Status, "label": pl.Status, "group": pl.Status}
		j["name"] = nil
	}
	return j
}

func (o *Org) deploymentJSON(p *project, d *deployment) map[string]any {
	u := o.basicUser(d.User)
	return map[string]any{
		"id": d.ID, "iid": d.IID, "ref": d.Ref, "sha": d.SHA, "created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt),
		"status": d.Status, "user": u,
		"environment": map[string]any{"id": hash(p.ID, d.Env) % 1000000, "name": d.Env, "slug": d.Env, "tier": d.Tier,
			"external_url": "https://" + d.Env + ".acme.example", "created_at": ts(o.Now.Add(-400 * 24 * time.Hour)), "updated_at": ts(d.UpdatedAt)},
		"deployable": map[string]any{
			"id": d.JobID, "status": d.Status, "stage": "deploy", "name": "deploy_" + d.Env, "ref": d.Ref, "tag": false,
			"coverage": nil, "allow_failure": false, "created_at": ts(d.CreatedAt), "started_at": ts(d.CreatedAt),
			"finished_at": nullTS(d.FinishedAt), "erased_at": nil, "duration": d.FinishedAt.Sub(d.CreatedAt).Seconds(),
			"queued_duration": 1.5, "user": u,
			"commit": map[string]any{"id": d.SHA, "short_id": d.SHA[:8], "created_at": ts(d.CreatedAt), "parent_ids": []string{},
				"title": "Merge branch into main", "message": "Merge branch into main", "author_name": o.users[d.User].Name,
				"author_email": o.users[d.User].Email, "authored_date": ts(d.CreatedAt), "committer_name": o.users[d.User].Name,
				"committer_email": o.users[d.User].Email, "committed_date": ts(d.CreatedAt), "trailers": map[string]string{}},
			"pipeline": map[string]any{"id": d.PipelineID, "iid": d.PipelineID % 10000, "project_id": p.ID, "sha": d.SHA, "ref": d.Ref,
				"status": d.Status, "source": "push", "created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt),
				"web_url": fmt.Sprintf("https://gitlab.sandbox/%s/-/pipelines/%d", p.Path, d.PipelineID)},
			"failure_reason": nil,
			"web_url":        fmt.Sprintf("https://gitlab.sandbox/%s/-/jobs/%d", p.Path, d.JobID),
		},
	}
}

func (o *Org) issueJSON(p *project, x *issue) map[string]any {
	labels := x.Labels
	if labels == nil {
		labels = []string{}
	}
	var closedBy any
	if !x.ClosedAt.IsZero() {
		closedBy = o.basicUser(x.Assignee)
	}
	return map[string]any{
		"id": x.ID, "iid": x.IID, "project_id": p.ID, "title": x.Title, "description": x.Description, "state": x.State,
		"created_at": ts(x.CreatedAt), "updated_at": ts(x.UpdatedAt), "closed_at": nullTS(x.ClosedAt), "closed_by": closedBy,
		"labels": labels, "milestone": o.issueMilestone(p, x), "assignees": []any{o.basicUser(x.Assignee)}, "author": o.basicUser(x.Author),
		"type": strings.ToUpper(x.Type), "assignee": o.basicUser(x.Assignee), "user_notes_count": 0, "merge_requests_count": 0,
		"upvotes": 0, "downvotes": 0, "due_date": nil, "confidential": false, "discussion_locked": nil, "issue_type": x.Type,
		"web_url":                fmt.Sprintf("https://gitlab.sandbox/%s/-/issues/%d", p.Path, x.IID),
		"time_stats":             map[string]any{"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": nil, "human_total_time_spent": nil},
		"task_completion_status": map[string]int{"count": 0, "completed_count": 0}, "weight": o.issueWeight(p, x), "blocking_issues_count": 0,
		"has_tasks": false, "references": map[string]string{"short": fmt.Sprintf("#%d", x.IID), "relative": fmt.Sprintf("#%d", x.IID), "full": fmt.Sprintf("%s#%d", p.Path, x.IID)},
		"severity": "UNKNOWN", "moved_to_id": nil, "service_desk_reply_to": nil,
	}
}

// Fault is what the server does instead of (or to) a normal answer.
type Fault struct {
	Status     int    // e.g. 429, 500, 401; 0 = answer normally
	RetryAfter string // sent with Status
	Truncate   bool   // cut the JSON body in half (valid HTTP, broken JSON)
}

// Options configure the server.
type Options struct {
	Token   string        // required PRIVATE-TOKEN; "" accepts any
	Latency time.Duration // added to every request
	// Random faults, as probabilities per request (deterministic per seed).
	P429, P5xx, PTruncate float64
	// FaultFunc decides faults per request (n counts requests from 1); it wins over the probabilities.
	FaultFunc func(r *http.Request, n int64) Fault
	// OnListPage runs after a page of a project list (merge_requests,
	// pipelines, deployments, issues) was served: tests update records
	// mid-scan here, as people working during a collection do.
	OnListPage func(kind string, page int)
	// TokenScopes and TokenExpires describe the token at
	// /personal_access_tokens/self (default read_api, no expiry).
	TokenScopes  []string
	TokenExpires string // YYYY-MM-DD
}

// Server serves an Org.
type Server struct {
	Org  *Org
	URL  string
	opts Options
	hs   *httptest.Server
	mu   sync.RWMutex
	n    atomic.Int64
	cmu  sync.Mutex
	cnt  map[string]int64
	rng  *rand.Rand
	rmu  sync.Mutex
	// updates counts UpdateRandom's edits, so each is later than the last.
	updates int
}

// Start serves org on a loopback port.
func Start(org *Org, opts Options) *Server {
	s := &Server{Org: org, opts: opts, cnt: map[string]int64{}, rng: rngFor(org.Seed, "faults")}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// Requests returns the number of requests served so far, by endpoint kind.
func (s *Server) Requests() map[string]int64 {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int64, len(s.cnt))
	for k, v := range s.cnt {
		out[k] = v
	}
	return out
}

// Total is the number of requests served.
func (s *Server) Total() int64 { return s.n.Load() }

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.cmu.Lock()
	s.cnt = map[string]int64{}
	s.cmu.Unlock()
	s.n.Store(0)
}

func (s *Server) count(kind string) {
	s.cmu.Lock()
	s.cnt[kind]++
	s.cmu.Unlock()
}

// Touch updates n merge requests (spread over projects): a new review note and
// a newer updated_at, as a person commenting would. It returns their ids in
// devpulse's form.
func (s *Server) Touch(n int, host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	defer s.Org.sortAll()
	at := s.Org.Now.Add(time.Minute)
	for i := 0; i < n; i++ {
		p := s.Org.projects[i%len(s.Org.projects)]
		m := p.mrs[(i*7919)%len(p.mrs)]
		m.rev++
		m.UpdatedAt = at.Add(time.Duration(i) * time.Millisecond)
		ids = append(ids, fmt.Sprintf("gitlab:%s:%d:mr:%d", host, p.ID, m.IID))
	}
	return ids
}

var listKinds = map[string]bool{"merge_requests": true, "pipelines": true, "deployments": true, "issues": true, "milestones": true,
	"group_merge_requests": true, "group_issues": true}

// UpdateRandom gives n records of a list kind, chosen with rng, a newer
// updated_at (each later than every earlier update), as people editing
// them would. It returns their ids in devpulse's form.
func (s *Server) UpdateRandom(kind string, n int, rng *rand.Rand, host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.Org.sortAll()
	var ids []string
	for i := 0; i < n; i++ {
		p := s.Org.projects[rng.IntN(len(s.Org.projects))]
		s.updates++
		at := s.Org.Now.Add(time.Minute + time.Duration(s.updates)*time.Millisecond)
		switch kind {
		case "merge_requests":
			if len(p.mrs) > 0 {
				m := p.mrs[rng.IntN(len(p.mrs))]
				m.UpdatedAt = at
				ids = append(ids, fmt.Sprintf("gitlab:%s:%d:mr:%d", host, p.ID, m.IID))
			}
		case "pipelines":
			if len(p.pipelines) > 0 {
				x := p.pipelines[rng.IntN(len(p.pipelines))]
				x.UpdatedAt = at
				ids = append(ids, fmt.Sprintf("gitlab:%s:%d:pipeline:%d", host, p.ID, x.ID))
			}
		case "deployments":
			if len(p.deployments) > 0 {
				x := p.deployments[rng.IntN(len(p.deployments))]
				x.UpdatedAt = at
				ids = append(ids, fmt.Sprintf("gitlab:%s:%d:deployment:%d", host, p.ID, x.ID))
			}
		case "issues":
			if len(p.issues) > 0 {
				x := p.issues[rng.IntN(len(p.issues))]
				x.UpdatedAt = at
				ids = append(ids, fmt.Sprintf("gitlab:%s:%d:issue:%d", host, p.ID, x.IID))
			}
		}
	}
	return ids
}

// PushQuietly adds a commit (new head SHA) and a review note to n merge
// requests without bumping their updated_at, as some GitLab versions do on
// a push: an incremental run cannot see it. It returns their ids.
func (s *Server) PushQuietly(n int, host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := 0; i < n; i++ {
		p := s.Org.projects[i%len(s.Org.projects)]
		m := p.mrs[(i*7919+13)%len(p.mrs)]
		m.nCommits++
		m.rev++
		m.SHA = fmt.Sprintf("%040x", hash(p.ID, m.IID, m.nCommits, "push"))
		ids = append(ids, fmt.Sprintf("gitlab:%s:%d:mr:%d", host, p.ID, m.IID))
	}
	return ids
}

// DeleteMRs deletes n merge requests upstream (spread over projects), as a
// GitLab admin deleting them would: they vanish from every list. It returns
// their ids in devpulse's form.
func (s *Server) DeleteMRs(n int, host string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := 0; i < n; i++ {
		p := s.Org.projects[i%len(s.Org.projects)]
		k := (i * 7919) % len(p.mrs)
		m := p.mrs[k]
		p.mrs = append(p.mrs[:k:k], p.mrs[k+1:]...)
		delete(p.mrByIID, m.IID)
		ids = append(ids, fmt.Sprintf("gitlab:%s:%d:mr:%d", host, p.ID, m.IID))
	}
	return ids
}

func (s *Server) fault(r *http.Request, n int64) Fault {
	if s.opts.FaultFunc != nil {
		if f := s.opts.FaultFunc(r, n); f.Status != 0 || f.Truncate {
			return f
		}
	}
	if s.opts.P429+s.opts.P5xx+s.opts.PTruncate == 0 {
		return Fault{}
	}
	s.rmu.Lock()
	x := s.rng.Float64()
	s.rmu.Unlock()
	switch {
	case x < s.opts.P429:
		return Fault{Status: 429, RetryAfter: "1"}
	case x < s.opts.P429+s.opts.P5xx:
		return Fault{Status: 502}
	case x < s.opts.P429+s.opts.P5xx+s.opts.PTruncate:
		return Fault{Truncate: true}
	}
	return Fault{}
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.n.Add(1)
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	f := s.fault(r, n)
	if f.Status != 0 {
		s.count(fmt.Sprintf("fault_%d", f.Status))
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeErr(w, f.Status, http.StatusText(f.Status))
		return
	}
	if s.opts.Token != "" && r.Header.Get("PRIVATE-TOKEN") != s.opts.Token {
		s.count("unauthorized")
		writeErr(w, 401, "401 Unauthorized")
		return
	}
	if r.Method != http.MethodGet {
		writeErr(w, 405, "405 Method Not Allowed")
		return
	}
	s.mu.RLock()
	kind, body, hdr, status := s.route(r)
	s.mu.RUnlock()
	s.count(kind)
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	if s.opts.OnListPage != nil && status == 200 && listKinds[kind] {
		pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
		defer s.opts.OnListPage(kind, max(pg, 1))
	}
	if status != 200 {
		writeErr(w, status, body.(string))
		return
	}
	b, _ := json.Marshal(body)
	if f.Truncate {
		b = b[:len(b)/2]
		s.count("fault_truncated")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (s *Server) findProject(id string) *project {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		return s.Org.byID[n]
	}
	return s.Org.byPath[id]
}

// route answers one GET. It returns the endpoint kind (for counting), the body, headers and status.
func (s *Server) route(r *http.Request) (string, any, map[string]string, int) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v4/")
	parts := strings.Split(raw, "/")
	for i := range parts {
		parts[i], _ = url.PathUnescape(parts[i])
	}
	q := r.URL.Query()
	switch {
	case raw == "user":
		return "user", map[string]any{"id": 1, "username": "devpulse-reader", "name": "devpulse reader", "state": "active"}, nil, 200
	case raw == "personal_access_tokens/self":
		// The shape of GitLab's GET /personal_access_tokens/self (client-go's PersonalAccessToken).
		scopes := s.opts.TokenScopes
		if scopes == nil {
			scopes = []string{"read_api"}
		}
		var expires any
		if s.opts.TokenExpires != "" {
			expires = s.opts.TokenExpires
		}
		return "token", map[string]any{"id": 42, "name": "devpulse", "revoked": false, "created_at": "2026-01-05T09:00:00.000Z", "description": "",
			"scopes": scopes, "user_id": 1, "last_used_at": "2026-11-30T08:00:00.000Z", "active": true, "expires_at": expires}, nil, 200
	case raw == "version":
		return "version", map[string]string{"version": "17.8.0-ee", "revision": "sandbox"}, nil, 200
	case len(parts) >= 3 && parts[0] == "groups" && parts[2] == "projects":
		return s.groupProjects(r, parts[1], q)
	case len(parts) == 3 && parts[0] == "groups" && (parts[2] == "merge_requests" || parts[2] == "issues"):
		return s.groupList(r, parts[1], parts[2], q)
	case len(parts) >= 2 && parts[0] == "projects":
		p := s.findProject(parts[1])
		if p == nil {
			return "not_found", "404 Project Not Found", nil, 404
		}
		rest := parts[2:]
		switch {
		case len(rest) == 0:
			return "project", s.Org.projectJSON(p), nil, 200
		case rest[0] == "merge_requests" && len(rest) == 1:
			items := filterSort(p.mrs, q, func(m *mr) (time.Time, time.Time, int64) { return m.UpdatedAt, m.CreatedAt, m.ID })
			return page(r, "merge_requests", items, func(m *mr) any { return s.Org.mrJSON(p, m) })
		case rest[0] == "members" && len(rest) == 2 && rest[1] == "all":
			var us []userJSON
			for i := range s.Org.users {
				us = append(us, s.Org.basicUser(i))
			}
			return page(r, "members", us, func(u userJSON) any { return u })
		case rest[0] == "merge_requests" && len(rest) == 2:
			iid, _ := strconv.ParseInt(rest[1], 10, 64)
			if m := p.mrByIID[iid]; m != nil {
				return "merge_request", s.Org.mrJSON(p, m), nil, 200
			}
			return "not_found", "404 Not found", nil, 404
		case rest[0] == "merge_requests" && len(rest) == 3:
			iid, _ := strconv.ParseInt(rest[1], 10, 64)
			m := p.mrByIID[iid]
			if m == nil {
				return "not_found", "404 Not found", nil, 404
			}
			switch rest[2] {
			case "commits":
				return page(r, "mr_commits", s.Org.commits(p, m), func(c commitJSON) any { return c })
			case "notes":
				return page(r, "mr_notes", s.Org.notes(p, m), func(n noteJSON) any { return n })
			case "diffs":
				return page(r, "mr_diffs", s.Org.diffs(p, m), func(d map[string]any) any { return d })
			}
		case rest[0] == "pipelines" && len(rest) == 1:
			items := filterSort(p.pipelines, q, func(x *pipeline) (time.Time, time.Time, int64) { return x.UpdatedAt, x.CreatedAt, x.ID })
			return page(r, "pipelines", items, func(x *pipeline) any { return s.Org.pipelineJSON(p, x, false) })
		case rest[0] == "pipelines" && len(rest) == 2:
			id, _ := strconv.ParseInt(rest[1], 10, 64)
			for _, x := range p.pipelines {
				if x.ID == id {
					return "pipeline", s.Org.pipelineJSON(p, x, true), nil, 200
				}
			}
			return "not_found", "404 Not found", nil, 404
		case rest[0] == "jobs" && len(rest) == 1:
			return s.jobs(r, p, q)
		case rest[0] == "deployments" && len(rest) == 1 && p.JobDeploys:
			return page(r, "deployments", []*deployment{}, func(x *deployment) any { return nil })
		case rest[0] == "deployments" && len(rest) == 1:
			if q.Get("updated_after") != "" && q.Get("order_by") != "updated_at" {
				// DeploymentsFinder#validate! (GitLab 15+): a 400, not a silent full list.
				return "bad_request", "400 Bad request - `updated_at` filter requires `updated_at` sort", nil, 400
			}
			items := filterSort(p.deployments, q, func(x *deployment) (time.Time, time.Time, int64) { return x.UpdatedAt, x.CreatedAt, x.ID })
			return page(r, "deployments", items, func(x *deployment) any { return s.Org.deploymentJSON(p, x) })
		case rest[0] == "deployments" && len(rest) == 3 && rest[2] == "merge_requests":
			id, _ := strconv.ParseInt(rest[1], 10, 64)
			for _, d := range p.deployments {
				if d.ID == id {
					var ms []*mr
					for _, iid := range d.MRs {
						ms = append(ms, p.mrByIID[iid])
					}
					return page(r, "deployment_mrs", ms, func(m *mr) any { return s.Org.mrJSON(p, m) })
				}
			}
			return "not_found", "404 Not found", nil, 404
		case rest[0] == "milestones" && len(rest) == 1:
			return page(r, "milestones", s.Org.milestones(p), func(m map[string]any) any { return m })
		case rest[0] == "issues" && len(rest) == 3 && rest[2] == "resource_label_events":
			iid, _ := strconv.ParseInt(rest[1], 10, 64)
			for _, x := range p.issues {
				if x.IID == iid {
					return page(r, "label_events", s.Org.labelEvents(p, x), func(e map[string]any) any { return e })
				}
			}
			return "not_found", "404 Not found", nil, 404
		case rest[0] == "issues" && len(rest) == 1:
			items := filterSort(p.issues, q, func(x *issue) (time.Time, time.Time, int64) { return x.UpdatedAt, x.CreatedAt, x.ID })
			return page(r, "issues", items, func(x *issue) any { return s.Org.issueJSON(p, x) })
		}
	}
	return "not_found", "404 Not found", nil, 404
}

// filterSort applies updated_after (inclusive, as GitLab) and order_by
// (updated_at, created_at or id; id when absent) with sort=asc|desc. The org
// keeps every list sorted by (updated_at, id), so order_by=updated_at&sort=asc
// is a binary search, not a sort; the other orders sort what the filter kept.
func filterSort[T any](items []T, q url.Values, key func(T) (updated, created time.Time, id int64)) []T {
	if q.Get("order_by") == "updated_at" && q.Get("sort") == "asc" {
		from := 0
		if t, err := time.Parse(time.RFC3339, q.Get("updated_after")); err == nil {
			from = sort.Search(len(items), func(i int) bool { u, _, _ := key(items[i]); return !u.Before(t) })
		}
		return items[from:]
	}
	out := items
	if ua := q.Get("updated_after"); ua != "" {
		t, err := time.Parse(time.RFC3339, ua)
		if err == nil {
			out = nil
			for _, it := range items {
				if u, _, _ := key(it); !u.Before(t) {
					out = append(out, it)
				}
			}
		}
	}
	sorted := append([]T(nil), out...)
	desc := q.Get("sort") != "asc"
	order := q.Get("order_by")
	sort.SliceStable(sorted, func(i, j int) bool {
		ui, ci, ii := key(sorted[i])
		uj, cj, ij := key(sorted[j])
		less := ii < ij
		switch {
		case order == "updated_at" && !ui.Equal(uj):
			less = ui.Before(uj)
		case order == "created_at" && !ci.Equal(cj):
			less = ci.Before(cj)
		}
		if desc {
			return !less
		}
		return less
	})
	return sorted
}

// page slices items as GitLab's offset pagination does, with its headers.
// X-Total and X-Total-Pages are left out above 10,000 items, as GitLab does.
func page[T any](r *http.Request, kind string, items []T, render func(T) any) (string, any, map[string]string, int) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	if per > 100 {
		per = 100
	}
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg <= 0 {
		pg = 1
	}
	total := len(items)
	pages := (total + per - 1) / per
	if pages == 0 {
		pages = 1
	}
	lo, hi := (pg-1)*per, pg*per
	if lo > total {
		lo = total
	}
	if hi > total {
		hi = total
	}
	out := make([]any, 0, hi-lo)
	for _, it := range items[lo:hi] {
		out = append(out, render(it))
	}
	h := map[string]string{"X-Page": strconv.Itoa(pg), "X-Per-Page": strconv.Itoa(per), "X-Next-Page": "", "X-Prev-Page": ""}
	if pg < pages {
		h["X-Next-Page"] = strconv.Itoa(pg + 1)
	}
	if pg > 1 {
		h["X-Prev-Page"] = strconv.Itoa(pg - 1)
	}
	if total <= 10000 {
		h["X-Total"] = strconv.Itoa(total)
		h["X-Total-Pages"] = strconv.Itoa(pages)
	}
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=\"%s\"", u.String(), rel)
	}
	var links []string
	if pg < pages {
		links = append(links, link(pg+1, "next"))
	}
	links = append(links, link(1, "first"))
	h["Link"] = strings.Join(links, ", ")
	return kind, out, h, 200
}

// jobs serves GET /projects/:id/jobs in the shape of GitLab's Jobs API
// (docs.gitlab.com/api/jobs, client-go's Job; compare the recorded
// ../shared/fixtures/gitlab/gitlab4j-api/job.json and DevLake's
// _raw_gitlab_api_job): newest first, scope[] filtering, and keyset
// pagination (pagination=keyset, only with order_by=id and sort=desc, as
// GitLab allows for jobs; gitlab-org/gitlab#417667) with an opaque cursor in
// the Link header's next URL. A job-deployed project's deployments are jobs
// named deploy (production) and deploy-staging; every pipeline has a test job.
func (s *Server) jobs(r *http.Request, p *project, q url.Values) (string, any, map[string]string, int) {
	type job struct {
		id                  int64
		name, stage, status string
		ref, sha            string
		pipeline            int64
		user                int
		created, finished   time.Time
	}
	var all []job
	if p.JobDeploys {
		for _, d := range p.deployments {
			name := "deploy"
			if d.Tier != "production" {
				name = "deploy-" + d.Env
			}
			all = append(all, job{d.JobID, name, "deploy", d.Status, d.Ref, d.SHA, d.PipelineID, d.User, d.CreatedAt, d.FinishedAt})
		}
	}
	for _, pl := range p.pipelines {
		all = append(all, job{9_000_000_000 + pl.ID, "test", "test", pl.Status, pl.Ref, pl.SHA, pl.ID, pl.User, pl.CreatedAt, pl.Finished})
	}
	if scopes := q["scope[]"]; len(scopes) > 0 {
		want := map[string]bool{}
		for _, sc := range scopes {
			want[sc] = true
		}
		kept := all[:0]
		for _, j := range all {
			if want[j.status] {
				kept = append(kept, j)
			}
		}
		all = kept
	}
	sort.Slice(all, func(i, k int) bool { return all[i].id > all[k].id })
	render := func(j job) any {
		var dur any
		if !j.finished.IsZero() {
			dur = j.finished.Sub(j.created).Seconds()
		}
		u := s.Org.users[j.user]
		return map[string]any{
			"id": j.id, "status": j.status, "stage": j.stage, "name": j.name, "ref": j.ref, "tag": false, "coverage": nil,
			"allow_failure": false, "created_at": ts(j.created), "started_at": ts(j.created.Add(3 * time.Second)),
			"finished_at": nullTS(j.finished), "erased_at": nil, "duration": dur, "queued_duration": 2.5,
			"user": s.Org.basicUser(j.user),
			"commit": map[string]any{"id": j.sha, "short_id": j.sha[:8], "created_at": ts(j.created), "parent_ids": []string{},
				"title": "Merge branch into main", "message": "Merge branch into main", "author_name": u.Name, "author_email": u.Email,
				"authored_date": ts(j.created), "committer_name": u.Name, "committer_email": u.Email, "committed_date": ts(j.created)},
			"pipeline": map[string]any{"id": j.pipeline, "project_id": p.ID, "ref": j.ref, "sha": j.sha, "status": j.status},
			"web_url":  fmt.Sprintf("https://gitlab.sandbox/%s/-/jobs/%d", p.Path, j.id), "project": map[string]any{"ci_job_token_scope_enabled": false},
			"artifacts": []any{}, "runner": nil, "failure_reason": nil, "tag_list": []string{"docker"},
		}
	}
	if q.Get("pagination") != "keyset" {
		return page(r, "jobs", all, render)
	}
	if q.Get("order_by") != "" && q.Get("order_by") != "id" || q.Get("sort") != "" && q.Get("sort") != "desc" {
		return "bad_request", map[string]string{"error": "Keyset pagination is not yet available for this type of request"}, nil, 405
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 || per > 100 {
		per = 20
	}
	var before int64 = math.MaxInt64
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.URLEncoding.DecodeString(c)
		if err != nil {
			return "bad_request", map[string]string{"error": "cursor is invalid"}, nil, 400
		}
		if before, err = strconv.ParseInt(strings.TrimPrefix(string(raw), "id:"), 10, 64); err != nil {
			return "bad_request", map[string]string{"error": "cursor is invalid"}, nil, 400
		}
	}
	out := []any{}
	var last int64
	more := false
	for _, j := range all {
		if j.id >= before {
			continue
		}
		if len(out) == per {
			more = true
			break
		}
		out = append(out, render(j))
		last = j.id
	}
	h := map[string]string{}
	if more {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("cursor", base64.URLEncoding.EncodeToString([]byte(fmt.Sprintf("id:%d", last))))
		u.RawQuery = qq.Encode()
		h["Link"] = fmt.Sprintf("<%s>; rel=\"next\"", u.String())
	}
	return "jobs", out, h, 200
}

// groupList serves GET /groups/:id/merge_requests and /groups/:id/issues as
// GitLab does (docs.gitlab.com/api/merge_requests/#list-group-merge-requests,
// /api/issues/#list-group-issues): the records of every project of the group
// and its subgroups, archived projects left out unless non_archived=false
// (gitlab-org/gitlab!23809), the same filters, order and offset pagination
// as the project lists, each item the same shape as in the project list.
func (s *Server) groupList(r *http.Request, group, kind string, q url.Values) (string, any, map[string]string, int) {
	skipArchived := q.Get("non_archived") != "false"
	ps, ok := s.groupMembers(group, skipArchived)
	if !ok {
		return "not_found", "404 Group Not Found", nil, 404
	}
	key := func(x groupItem) (time.Time, time.Time, int64) { return x.updated(), x.created(), x.id() }
	var items []groupItem
	if q.Get("order_by") == "created_at" && q.Get("sort") == "asc" {
		// The order devpulse asks for: the group's records sorted once, then filtered.
		all := s.Org.groupSorted(fmt.Sprintf("%s|%s|%v", kind, group, skipArchived), ps, kind)
		items = all
		if t, err := time.Parse(time.RFC3339, q.Get("updated_after")); err == nil {
			items = nil
			for _, x := range all {
				if !x.updated().Before(t) {
					items = append(items, x)
				}
			}
		}
	} else {
		items = filterSort(groupItems(ps, kind), q, key)
	}
	return page(r, "group_"+kind, items, func(x groupItem) any {
		if x.m != nil {
			return s.Org.mrJSON(x.p, x.m)
		}
		return s.Org.issueJSON(x.p, x.x)
	})
}

// groupItem is a merge request or an issue of a group's project.
type groupItem struct {
	p *project
	m *mr
	x *issue
}

func (g groupItem) updated() time.Time {
	if g.m != nil {
		return g.m.UpdatedAt
	}
	return g.x.UpdatedAt
}

func (g groupItem) created() time.Time {
	if g.m != nil {
		return g.m.CreatedAt
	}
	return g.x.CreatedAt
}

func (g groupItem) id() int64 {
	if g.m != nil {
		return g.m.ID
	}
	return g.x.ID
}

func groupItems(ps []*project, kind string) []groupItem {
	var all []groupItem
	for _, p := range ps {
		if kind == "merge_requests" {
			for _, m := range p.mrs {
				all = append(all, groupItem{p: p, m: m})
			}
		} else {
			for _, x := range p.issues {
				all = append(all, groupItem{p: p, x: x})
			}
		}
	}
	return all
}

// groupSorted is a group's records by (created_at, id), kept until the org changes.
func (o *Org) groupSorted(key string, ps []*project, kind string) []groupItem {
	o.groupMu.Lock()
	defer o.groupMu.Unlock()
	if all, ok := o.groupLists[key]; ok {
		return all
	}
	all := groupItems(ps, kind)
	sort.SliceStable(all, func(i, j int) bool {
		ci, cj := all[i].created(), all[j].created()
		if !ci.Equal(cj) {
			return ci.Before(cj)
		}
		return all[i].id() < all[j].id()
	})
	if o.groupLists == nil {
		o.groupLists = map[string][]groupItem{}
	}
	o.groupLists[key] = all
	return all
}

// groupMembers are the projects of a group and its subgroups; ok is false
// for a group the organisation does not have.
func (s *Server) groupMembers(group string, skipArchived bool) (ps []*project, ok bool) {
	for _, p := range s.Org.projects {
		if p.GroupPath == group || strings.HasPrefix(p.GroupPath, group+"/") {
			if p.Archived && skipArchived {
				continue
			}
			ps = append(ps, p)
		}
	}
	for _, g := range groups {
		if g == group || strings.HasPrefix(g, group+"/") {
			ok = true
		}
	}
	return ps, ok
}

// groupProjects supports keyset pagination (pagination=keyset, order_by=id),
// the kind GitLab offers for project lists, and offset pagination otherwise.
func (s *Server) groupProjects(r *http.Request, group string, q url.Values) (string, any, map[string]string, int) {
	ps, known := s.groupMembers(group, q.Get("archived") == "false")
	if !known {
		return "not_found", "404 Group Not Found", nil, 404
	}
	if q.Get("pagination") != "keyset" {
		return page(r, "group_projects", ps, func(p *project) any { return s.Org.projectJSON(p) })
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 || per > 100 {
		per = 20
	}
	after, _ := strconv.ParseInt(q.Get("id_after"), 10, 64)
	var out []any
	var last int64
	more := false
	for _, p := range ps {
		if p.ID <= after {
			continue
		}
		if len(out) == per {
			more = true
			break
		}
		out = append(out, s.Org.projectJSON(p))
		last = p.ID
	}
	h := map[string]string{}
	if more {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("id_after", strconv.FormatInt(last, 10))
		u.RawQuery = qq.Encode()
		h["Link"] = fmt.Sprintf("<%s>; rel=\"next\"", u.String())
	}
	if out == nil {
		out = []any{}
	}
	return "group_projects", out, h, 200
}

// State is every record of a list kind with its updated_at, keyed by
// devpulse's id: what one complete collection must have landed.
func (s *Server) State(kind, host string) map[string]time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]time.Time{}
	for _, p := range s.Org.projects {
		switch kind {
		case "merge_requests":
			for _, m := range p.mrs {
				out[fmt.Sprintf("gitlab:%s:%d:mr:%d", host, p.ID, m.IID)] = m.UpdatedAt
			}
		case "pipelines":
			for _, x := range p.pipelines {
				out[fmt.Sprintf("gitlab:%s:%d:pipeline:%d", host, p.ID, x.ID)] = x.UpdatedAt
			}
		case "deployments":
			for _, x := range p.deployments {
				out[fmt.Sprintf("gitlab:%s:%d:deployment:%d", host, p.ID, x.ID)] = x.UpdatedAt
			}
		case "issues":
			for _, x := range p.issues {
				out[fmt.Sprintf("gitlab:%s:%d:issue:%d", host, p.ID, x.IID)] = x.UpdatedAt
			}
		}
	}
	return out
}

// labelEvents serves an issue's board history in the shape of GitLab's
// resource_label_events (docs.gitlab.com/api/resource_label_events: id,
// user, created_at, resource_type, resource_id, label {id, name, color,
// description}, action add|remove). Half of the plain issues move over the
// board: ready for development, in dev, in review (those closed).
func (o *Org) labelEvents(p *project, x *issue) []map[string]any {
	out := []map[string]any{}
	if x.Type != "issue" || p.PlansInJira || hash(p.ID, x.IID)%2 != 0 {
		return out
	}
	end := x.UpdatedAt
	if !x.ClosedAt.IsZero() {
		end = x.ClosedAt
	}
	span := end.Sub(x.CreatedAt)
	if span <= 0 {
		return out
	}
	n := int64(0)
	ev := func(frac float64, action, label string) {
		n++
		at := x.CreatedAt.Add(time.Duration(frac * float64(span)))
		out = append(out, map[string]any{"id": x.ID*10 + n, "user": o.basicUser(x.Assignee), "created_at": ts(at),
			"resource_type": "Issue", "resource_id": x.ID, "action": action,
			"label": map[string]any{"id": hash(label) % 10000, "name": label, "color": "#428BCA", "description": ""}})
	}
	ev(0.05, "add", "workflow::ready for development")
	ev(0.3, "remove", "workflow::ready for development")
	ev(0.3, "add", "workflow::in dev")
	if !x.ClosedAt.IsZero() {
		ev(0.8, "remove", "workflow::in dev")
		ev(0.8, "add", "workflow::in review")
	}
	return out
}

// milestones are a project's two-week iterations over the organisation's
// history, in the shape of GitLab's project milestones API (id, iid,
// project_id, title, description, state, created_at, updated_at,
// due_date, start_date, expired, web_url).
func (o *Org) milestones(p *project) []map[string]any {
	out := []map[string]any{}
	if p.PlansInJira {
		return out
	}
	for k := 0; k < 9; k++ {
		start, due := o.milestoneDates(k)
		state := "closed"
		if !due.Before(o.Now) {
			state = "active"
		}
		out = append(out, map[string]any{"id": p.ID*1000 + int64(k) + 1, "iid": k + 1, "project_id": p.ID, "title": fmt.Sprintf("Iteration %d", k+1),
			"description": "", "state": state, "created_at": ts(start.AddDate(0, 0, -7)), "updated_at": ts(start.AddDate(0, 0, -7)),
			"due_date": due.Format("2006-01-02"), "start_date": start.Format("2006-01-02"), "expired": due.Before(o.Now),
			"web_url": fmt.Sprintf("https://gitlab.sandbox/%s/-/milestones/%d", p.Path, k+1)})
	}
	return out
}

// milestoneDates: iteration k runs 14 days from 120 days before now.
func (o *Org) milestoneDates(k int) (start, due time.Time) {
	base := o.Now.Add(-120 * 24 * time.Hour).Truncate(24 * time.Hour)
	start = base.AddDate(0, 0, 14*k)
	return start, start.AddDate(0, 0, 13)
}

// issueMilestone puts two in three plain issues into the iteration in which
// they were closed (open ones into the current one): planned there when
// created before it began, added when created during it.
func (o *Org) issueMilestone(p *project, x *issue) any {
	if x.Type != "issue" || p.PlansInJira || hash(p.ID, x.IID, "milestone")%3 == 0 {
		return nil
	}
	at := o.Now
	if !x.ClosedAt.IsZero() {
		at = x.ClosedAt
	}
	k := 0
	for ; k < 8; k++ {
		if _, due := o.milestoneDates(k); !due.AddDate(0, 0, 1).Before(at) {
			break
		}
	}
	start, due := o.milestoneDates(k)
	return map[string]any{"id": p.ID*1000 + int64(k) + 1, "iid": k + 1, "project_id": p.ID, "title": fmt.Sprintf("Iteration %d", k+1),
		"state": "active", "due_date": due.Format("2006-01-02"), "start_date": start.Format("2006-01-02"),
		"web_url": fmt.Sprintf("https://gitlab.sandbox/%s/-/milestones/%d", p.Path, k+1)}
}

func (o *Org) issueWeight(p *project, x *issue) any {
	if x.Type != "issue" || p.PlansInJira {
		return nil
	}
	return []int{1, 2, 3, 5, 8}[hash(p.ID, x.IID, "weight")%5]
}
