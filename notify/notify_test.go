package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
)

var event = Event{Key: "regression|project|acme/api|pipeline_duration|p85|regression|2026-10-19", Kind: "regression",
	ScopeKind: "project", Scope: "acme/api", Teams: []string{"payments"},
	Title: "Regression in project acme/api: CI pipeline duration (p85) +55%",
	Lines: []string{"CI pipeline duration (p85) worse +55% since the week of 19 Oct 2026: 24m → 37m (p = 0.0002) <!channel>"},
	URL:   "https://devpulse.example.com/", Data: map[string]any{"metric": "pipeline_duration"}}

// The shapes the services document: Slack's incoming webhook takes text
// (the notification fallback) and Block Kit blocks; a Teams Workflows
// webhook takes a message with one Adaptive Card attachment.
func TestPayload(t *testing.T) {
	var slack struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct{ Type, Text string }
		} `json:"blocks"`
	}
	b, _ := Payload("slack", event)
	if err := json.Unmarshal(b, &slack); err != nil || slack.Text == "" || len(slack.Blocks) != 3 || slack.Blocks[1].Text.Type != "mrkdwn" {
		t.Fatalf("slack payload: %v %s", err, b)
	}
	if strings.Contains(string(b), "<!channel>") || !strings.Contains(slack.Blocks[1].Text.Text, "&lt;!channel&gt;") {
		t.Errorf("Slack markup in the text is not escaped (it would ping the channel): %s", b)
	}
	var teams struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct{ Type, Text string }
				Actions []struct{ Type, URL string }
			} `json:"content"`
		} `json:"attachments"`
	}
	b, _ = Payload("teams", event)
	if err := json.Unmarshal(b, &teams); err != nil || teams.Type != "message" || len(teams.Attachments) != 1 ||
		teams.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || teams.Attachments[0].Content.Type != "AdaptiveCard" ||
		len(teams.Attachments[0].Content.Body) != 2 || teams.Attachments[0].Content.Actions[0].URL != event.URL {
		t.Fatalf("teams payload: %v %s", err, b)
	}
	var generic struct {
		Source string `json:"source"`
		Event  Event  `json:"event"`
	}
	b, _ = Payload("generic", event)
	if err := json.Unmarshal(b, &generic); err != nil || generic.Source != "devpulse" || generic.Event.Key != event.Key || generic.Event.Data["metric"] != "pipeline_duration" {
		t.Fatalf("generic payload: %v %s", err, b)
	}
	if _, err := Payload("email", event); err == nil {
		t.Error("an unknown format is accepted")
	}
}

func TestFor(t *testing.T) {
	if !For(config.Webhook{}, event) || !For(config.Webhook{Teams: []string{"payments"}}, event) || For(config.Webhook{Teams: []string{"mobile"}}, event) {
		t.Error("routing by teams is wrong")
	}
}

const secretPath = "/services/T0/B0/s3cr3tt0ken"

func hook(srv *httptest.Server) config.Webhook {
	return config.Webhook{Name: "team-chat", Format: "slack", URL: config.Secret(srv.URL + secretPath)}
}

func TestPost_RetriesThenDelivers(t *testing.T) {
	var calls atomic.Int32
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			if r.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "devpulse/") {
				t.Errorf("headers: %v", r.Header)
			}
			got, _ = io.ReadAll(r.Body)
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	s := &Sender{Retries: 4, BaseDelay: time.Second, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	if err := s.Post(context.Background(), hook(srv), event); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || len(waits) != 2 || waits[0] != time.Second || waits[1] != 7*time.Second {
		t.Errorf("calls %d, waits %v: want a backoff of 1s, then Retry-After's 7s", calls.Load(), waits)
	}
	if !strings.Contains(string(got), "CI pipeline duration") {
		t.Errorf("body: %s", got)
	}
}

// A webhook's URL is its credential: no error names it, and a 404 (the
// webhook was deleted) is not retried.
func TestPost_ErrorsNeverShowTheURL(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	s := &Sender{Retries: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	err := s.Post(context.Background(), hook(srv), event)
	if err == nil || calls.Load() != 1 || !strings.Contains(err.Error(), "team-chat") || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: calls %d, err %v", calls.Load(), err)
	}
	srv.Close()
	for _, e := range []error{err, s.Post(context.Background(), hook(srv), event)} { // the second: connection refused, retried
		if e == nil || strings.Contains(e.Error(), "s3cr3t") || strings.Contains(e.Error(), "/services/") {
			t.Errorf("error shows the webhook's URL or is nil: %v", e)
		}
	}
}
