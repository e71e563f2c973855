package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Recorded serves the real GitLab responses recorded in
// shared/fixtures/gitlab/devlake (project 12345678, gitlab-data/snowflake_spend)
// by request path, so collectors and the privacy policy can be exercised on
// what a real server sent, nulls and all.
type Recorded struct {
	URL   string
	hs    *httptest.Server
	paths map[string][]json.RawMessage
	// Personal holds every personal or free-text value found in the recordings:
	// names and usernames of people, emails, human note bodies, commit
	// messages, descriptions. None of it may reach a warehouse.
	Personal []string
	// Titles holds the MR and issue titles (free text a policy may keep).
	Titles []string
}

// RecordedProject is the recorded project's id and path.
const (
	RecordedProjectID   = 12345678
	RecordedProjectPath = "gitlab-data/snowflake_spend"
)

// StartRecorded loads the recordings from fixturesDir (shared/fixtures) and serves them.
func StartRecorded(fixturesDir, token string) (*Recorded, error) {
	r := &Recorded{paths: map[string][]json.RawMessage{}}
	for _, f := range []string{"_raw_gitlab_api_merge_requests.json", "_raw_gitlab_api_merge_request_commits.json",
		"_raw_gitlab_api_merge_request_notes.json", "_raw_gitlab_api_pipeline.json", "_raw_gitlab_api_pipeline_details.json",
		"_raw_gitlab_api_deployments.json", "_raw_gitlab_api_issues.json"} {
		b, err := os.ReadFile(filepath.Join(fixturesDir, "gitlab", "devlake", f))
		if err != nil {
			return nil, err
		}
		var raw struct {
			Responses map[string][]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for u, items := range raw.Responses {
			pu, err := url.Parse(u)
			if err != nil {
				return nil, err
			}
			r.paths[pu.Path] = append(r.paths[pu.Path], items...)
			for _, it := range items {
				var v any
				json.Unmarshal(it, &v)
				r.collect(v, "")
			}
		}
	}
	r.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if token != "" && req.Header.Get("PRIVATE-TOKEN") != token {
			w.WriteHeader(401)
			w.Write([]byte(`{"message":"401 Unauthorized"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		p := req.URL.EscapedPath()
		p = strings.Replace(p, url.PathEscape(RecordedProjectPath), fmt.Sprint(RecordedProjectID), 1)
		p, _ = url.PathUnescape(p)
		switch {
		case p == fmt.Sprintf("/api/v4/projects/%d", RecordedProjectID):
			json.NewEncoder(w).Encode(map[string]any{"id": RecordedProjectID, "path_with_namespace": RecordedProjectPath,
				"default_branch": "master", "archived": false, "name": "snowflake_spend"})
			return
		case strings.Contains(p, "/pipelines/"):
			if items := r.paths[p]; len(items) == 1 {
				w.Write(items[0])
				return
			}
			w.WriteHeader(404)
			w.Write([]byte(`{"message":"404 Not found"}`))
			return
		}
		items := r.paths[p]
		if items == nil {
			items = []json.RawMessage{} // e.g. an MR with no recorded notes, a deployment's MR list
		}
		w.Header().Set("X-Page", "1")
		w.Header().Set("X-Next-Page", "")
		w.Header().Set("X-Total", fmt.Sprint(len(items)))
		w.Header().Set("X-Total-Pages", "1")
		json.NewEncoder(w).Encode(items)
	}))
	r.URL = r.hs.URL
	return r, nil
}

// Close stops the server.
func (r *Recorded) Close() { r.hs.Close() }

func (r *Recorded) add(s string) {
	s = strings.TrimSpace(s)
	if len(s) >= 4 {
		r.Personal = append(r.Personal, s)
	}
}

// collect walks a recorded value and gathers its personal and free-text strings.
func (r *Recorded) collect(v any, key string) {
	switch x := v.(type) {
	case map[string]any:
		isUser := x["username"] != nil
		isHumanNote := x["body"] != nil && x["system"] == false
		for k, c := range x {
			s, _ := c.(string)
			switch {
			case isUser && (k == "username" || k == "name" || k == "web_url" || k == "avatar_url"):
				r.add(s)
			case strings.HasSuffix(k, "email") || k == "author_name" || k == "committer_name":
				r.add(s)
			case k == "body" && isHumanNote, k == "description" && x["iid"] != nil, k == "message":
				r.add(s)
			case k == "title" && x["iid"] != nil:
				r.Titles = append(r.Titles, s)
			default:
				r.collect(c, k)
			}
		}
	case []any:
		for _, c := range x {
			r.collect(c, key)
		}
	}
}
