// Package notify posts events — a regression that opened, a goal missed in
// a week, a team's weekly digest — to incoming webhooks: Slack's, Teams'
// (Workflows' "post to a channel when a webhook request is received", which
// takes an Adaptive Card message), or a generic JSON one. A message carries
// scopes, metrics and numbers only: never a person, never a token; the
// webhook's URL is a credential and appears in no log line or error.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/version"
)

// Event is one thing to tell a team.
type Event struct {
	Key       string   `json:"key"`  // names the event: posted once
	Kind      string   `json:"kind"` // regression | improvement | goal_missed | digest
	ScopeKind string   `json:"scope_kind"`
	Scope     string   `json:"scope"`
	Teams     []string `json:"-"` // teams the scope is or belongs to, for routing
	Title     string   `json:"title"`
	Lines     []string `json:"lines"`
	URL       string   `json:"report_url,omitempty"`
	// Data is the event's figures for the generic webhook (metric, before,
	// after, change, p value, goal...).
	Data map[string]any `json:"data,omitempty"`
}

// For tells whether a webhook takes the event: one without teams takes all.
func For(h config.Webhook, e Event) bool {
	if len(h.Teams) == 0 {
		return true
	}
	for _, t := range h.Teams {
		for _, et := range e.Teams {
			if t == et {
				return true
			}
		}
	}
	return false
}

// Payload is the request body a webhook of the format takes.
func Payload(format string, e Event) ([]byte, error) {
	switch format {
	case "slack":
		return json.Marshal(slack(e))
	case "teams":
		return json.Marshal(teams(e))
	case "generic":
		return json.Marshal(map[string]any{"source": "devpulse", "version": version.Version, "event": e})
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

// slackEscape: Slack reads &, < and > as markup (<!channel> pings everyone).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slack(e Event) map[string]any {
	var body strings.Builder
	for _, l := range e.Lines {
		body.WriteString("• " + slackEscape(l) + "\n")
	}
	blocks := []any{
		map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(e.Title, 150)}},
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(body.String(), 2900)}},
	}
	if e.URL != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
			map[string]any{"type": "mrkdwn", "text": "<" + slackEscape(e.URL) + "|Open the devpulse report>"}}})
	}
	// text is the notification's fallback (and what screen readers read).
	return map[string]any{"text": slackEscape(e.Title), "blocks": blocks}
}

func teams(e Event) map[string]any {
	body := []any{map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": e.Title, "wrap": true}}
	for _, l := range e.Lines {
		body = append(body, map[string]any{"type": "TextBlock", "text": "- " + l, "wrap": true, "spacing": "Small"})
	}
	card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
	if e.URL != "" {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open the devpulse report", "url": e.URL}}
	}
	return map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Sender posts to webhooks with retries.
type Sender struct {
	Retries int           // after the first attempt (notify.retries)
	Timeout time.Duration // per attempt (notify.timeout)
	// BaseDelay is the first backoff (doubling, capped at 60 s); a
	// Retry-After header is honoured up to the cap.
	BaseDelay time.Duration
	// Transport replaces the default (tests); Sleep waits (tests inject).
	Transport http.RoundTripper
	Sleep     func(ctx context.Context, d time.Duration) error
	clients   map[string]*http.Client
}

// New is a Sender for the configuration's notify section.
func New(n config.Notify) *Sender {
	return &Sender{Retries: n.Retries, Timeout: time.Duration(n.Timeout), BaseDelay: time.Second}
}

func (s *Sender) client(h config.Webhook) (*http.Client, error) {
	if c := s.clients[h.Name]; c != nil {
		return c, nil
	}
	rt := s.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = http.ProxyFromEnvironment
		if h.CAFile != "" {
			pem, err := os.ReadFile(h.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s holds no PEM certificate", h.CAFile)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rt = t
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := &http.Client{Transport: rt, Timeout: timeout,
		// A redirect would carry the body elsewhere; webhooks answer directly.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if s.clients == nil {
		s.clients = map[string]*http.Client{}
	}
	s.clients[h.Name] = c
	return c, nil
}

// Post sends the event to one webhook, retrying a network error, a 429 or
// a 5xx with backoff. The error names the webhook, never its URL.
func (s *Sender) Post(ctx context.Context, h config.Webhook, e Event) error {
	body, err := Payload(h.Format, e)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", h.Name, err)
	}
	c, err := s.client(h)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", h.Name, err)
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	delay := s.BaseDelay
	if delay <= 0 {
		delay = time.Second
	}
	var last error
	for attempt := 0; attempt <= s.Retries; attempt++ {
		wait, retry, err := s.once(ctx, c, h, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == s.Retries || ctx.Err() != nil {
			break
		}
		if wait <= 0 {
			wait = delay << attempt
		}
		if err := sleep(ctx, min(wait, 60*time.Second)); err != nil {
			return fmt.Errorf("webhook %s: %w", h.Name, err)
		}
	}
	return fmt.Errorf("webhook %s: %w", h.Name, last)
}

// once is one attempt: the Retry-After wait, whether to retry, the error.
func (s *Sender) once(ctx context.Context, c *http.Client, h config.Webhook, body []byte) (time.Duration, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL.Reveal(), bytes.NewReader(body))
	if err != nil {
		return 0, false, errors.New("the url is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", version.UserAgent())
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL: its path is the credential
		}
		return 0, true, fmt.Errorf("POST failed: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // drained for reuse; the status is the answer
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		var wait time.Duration
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
			wait = time.Duration(n) * time.Second
		}
		return wait, true, fmt.Errorf("HTTP %d", resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusGone:
		return 0, false, fmt.Errorf("HTTP %d: the webhook was removed or its URL is wrong; create it again and update url_env", resp.StatusCode)
	}
	return 0, false, fmt.Errorf("HTTP %d: the webhook refused the message (format %s)", resp.StatusCode, h.Format)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
