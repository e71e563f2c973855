package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/internal/httpx"
	"github.com/devpulse/devpulse/warehouse"
)

func TestProgress_StatusRateLimitAndLogLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	p.Stop() // drive it by hand
	p.tty = true
	stats := &httpx.Stats{}
	p.Watch("gitlab", stats, 25)
	k := warehouse.StreamKey{Source: "gitlab", Scope: "acme/api", Stream: "merge_requests"}
	p.Start(k)
	p.Total(k, 200)
	p.Records(k, 50)
	now := time.Now()
	p.sample(now)
	stats.Requests.Add(50)
	p.sample(now.Add(2 * time.Second)) // 25 req/s: at the limit
	p.mu.Lock()
	p.redraw()
	p.mu.Unlock()
	if s := out.String(); !strings.Contains(s, "50 records, 50 requests (25/s), ~150 to go, ETA ") || !strings.Contains(s, "limited by gitlab at its rate_limit of 25 req/s (sources.gitlab.rate_limit") {
		t.Errorf("status line: %q", s)
	}
	out.Reset()
	fmt.Fprintln(p.Writer(), "level=WARN msg=x")
	if s := out.String(); !strings.HasPrefix(s, "\r\033[Klevel=WARN msg=x\n\r\033[Kcollecting") {
		t.Errorf("a log line is not written above the status line: %q", s)
	}
	out.Reset()
	p.Done(k, 7, fmt.Errorf("gitlab: %w", context.Canceled))
	if s := out.String(); !strings.Contains(s, "7 records") || !strings.Contains(s, "interrupted") || strings.Contains(s, "FAILED") {
		t.Errorf("Ctrl-C is not a failure: %q", s)
	}
	p.Start(k)
	out.Reset()
	p.Done(k, 0, errors.New("HTTP 500"))
	if !strings.Contains(out.String(), "FAILED") {
		t.Errorf("a fault: %q", out.String())
	}

	// Not a terminal: one JSON line per stream, numbers as numbers.
	var logs bytes.Buffer
	q := newProgress(&logs)
	q.Stop()
	q.log = slog.New(slog.NewJSONHandler(&logs, nil))
	q.Start(k)
	q.Done(k, 3, nil)
	var m map[string]any
	if err := json.Unmarshal(logs.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, logs.String())
	}
	if _, ok := m["seconds"].(float64); !ok || m["records"] != 3.0 || m["status"] != "ok" {
		t.Errorf("stream line: %v", m)
	}
}
