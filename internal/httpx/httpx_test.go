package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func noSleep(waits *[]time.Duration, mu *sync.Mutex) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    map[string]string
		want time.Duration
	}{
		{map[string]string{"Retry-After": "30"}, 30 * time.Second},
		{map[string]string{"Retry-After": "Thu, 01 Jan 2026 12:00:45 GMT"}, 45 * time.Second},
		{map[string]string{"RateLimit-Reset": "1767268860"}, 60 * time.Second}, // epoch, as GitLab sends
		{map[string]string{"RateLimit-Reset": "5"}, 5 * time.Second},
		{map[string]string{}, 0},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("retryAfter(%v) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestTransport_RetriesOnlyWhatCanSucceed(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answered in order, then 200
		max       int
		wantCalls int
		wantFinal int
	}{
		{"429 then ok", []int{429, 429}, 5, 3, 200},
		{"5xx then ok", []int{500, 502, 503, 504}, 5, 5, 200},
		{"401 is final at once", []int{401}, 5, 1, 401},
		{"403 is final at once", []int{403}, 5, 1, 403},
		{"404 is final at once", []int{404}, 5, 1, 404},
		{"retries are capped", []int{500, 500, 500, 500}, 2, 3, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n <= len(tc.statuses) {
					w.WriteHeader(tc.statuses[n-1])
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			var waits []time.Duration
			var mu sync.Mutex
			stats := &Stats{}
			c, err := NewClient(Options{MaxRetries: tc.max, Sleep: noSleep(&waits, &mu), Stats: stats})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantFinal || int(calls.Load()) != tc.wantCalls {
				t.Errorf("final %d after %d calls; want %d after %d", resp.StatusCode, calls.Load(), tc.wantFinal, tc.wantCalls)
			}
			if int(stats.Requests.Load()) != tc.wantCalls || len(waits) != tc.wantCalls-1 {
				t.Errorf("stats %d requests, %d waits", stats.Requests.Load(), len(waits))
			}
			for _, w := range waits {
				if w <= 0 || w > 60*time.Second {
					t.Errorf("backoff %v outside (0, cap]", w)
				}
			}
		})
	}
}

func TestTransport_BackoffGrowsAndIsCapped(t *testing.T) {
	tr := &transport{o: Options{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}}
	for attempt, lo := range []time.Duration{50, 100, 200, 400, 500, 500} {
		lo *= time.Millisecond
		for i := 0; i < 50; i++ {
			d := tr.backoff(attempt)
			if d < lo || d > 2*lo {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, lo, 2*lo)
			}
		}
	}
}

func TestTransport_SetsUserAgentAndTimesOutEachAttempt(t *testing.T) {
	var ua atomic.Value
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		if calls.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond) // the first attempt hangs past the timeout
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var waits []time.Duration
	var mu sync.Mutex
	c, _ := NewClient(Options{Timeout: 100 * time.Millisecond, MaxRetries: 3, Sleep: noSleep(&waits, &mu)})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "ok" || calls.Load() != 2 {
		t.Errorf("body %q after %d calls; want ok after a timed-out attempt and a retry", b, calls.Load())
	}
	if got, _ := ua.Load().(string); !strings.HasPrefix(got, "devpulse/") {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestTransport_BoundsRequestsInFlight(t *testing.T) {
	var cur, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
	}))
	defer srv.Close()
	c, _ := NewClient(Options{MaxInFlight: 3})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := c.Get(srv.URL); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak in flight = %d, want at most 3 (and concurrency used)", peak.Load())
	}
}

func TestTransport_PrivateCAOnlyThroughCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	// Without the CA the certificate is rejected: verification is never skipped.
	stats := &Stats{}
	c, _ := NewClient(Options{MaxRetries: 5, Stats: stats})
	if _, err := c.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("untrusted certificate accepted or unhelpful error: %v", err)
	}
	if n := stats.Requests.Load(); n != 1 {
		t.Errorf("a certificate error was tried %d times; it cannot heal, want 1", n)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(Options{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	resp.Body.Close()
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := NewClient(Options{CAFile: bad}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad ca_file: %v", err)
	}
}

type errTransport struct{ err error }

func (e errTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, e.err }

// Failures that retrying cannot fix fail fast, shown by the attempts made:
// a host that does not resolve at once, a refused connection after two
// tries; a reset connection is still retried to the limit.
func TestTransport_FailsFastOnWhatRetryingCannotFix(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/api/v4/user"
	ln.Close()
	for _, tc := range []struct {
		name      string
		base      http.RoundTripper
		url       string
		attempts  int64
		wantError string
	}{
		{"no such host", errTransport{&net.DNSError{Err: "no such host", Name: "gitlab.example.invalid", IsNotFound: true}}, "http://gitlab.example.invalid/", 1, `no such host "gitlab.example.invalid" (check the source's url)`},
		{"connection refused", nil, closed, 2, "connection refused 2 times: is the server running"},
		{"reset is retried", errTransport{syscall.ECONNRESET}, "http://h.example/", 6, "gave up after 6 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var waits []time.Duration
			var mu sync.Mutex
			stats := &Stats{}
			c, err := NewClient(Options{MaxRetries: 5, Sleep: noSleep(&waits, &mu), Stats: stats, Transport: tc.base})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("err = %v, want %q", err, tc.wantError)
			}
			if got := stats.Requests.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if strings.Count(err.Error(), "GET") > 1 {
				t.Errorf("the error repeats itself: %v", err)
			}
		})
	}
}

// At debug level every attempt is traced (method, path, status, duration,
// attempt), never the query string or the token.
func TestTransport_DebugTracesEachRequestWithoutSecrets(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	var logs bytes.Buffer
	var waits []time.Duration
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := NewClient(Options{Source: "gl", Timeout: time.Second, MaxRetries: 3, Logger: log, Sleep: noSleep(&waits, &mu)})
	req, _ := http.NewRequest("GET", srv.URL+"/api/v4/projects?private_token=SEKRIT&search=Jane+Doe", nil)
	req.Header.Set("PRIVATE-TOKEN", "SEKRIT")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var traced []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			traced = append(traced, m)
		}
	}
	if len(traced) != 2 || traced[0]["status"] != 503.0 || traced[1]["status"] != 200.0 || traced[1]["attempt"] != 2.0 ||
		traced[1]["method"] != "GET" || traced[1]["path"] != "/api/v4/projects" || traced[1]["source"] != "gl" {
		t.Errorf("traced requests: %v", traced)
	}
	if _, ok := traced[0]["seconds"].(float64); !ok {
		t.Errorf("seconds is not a number: %v", traced[0]["seconds"])
	}
	if strings.Contains(logs.String(), "SEKRIT") || strings.Contains(logs.String(), "Jane") {
		t.Errorf("the trace holds a secret or the query: %s", logs.String())
	}
}

// One failure reads as one sentence: the URL once, no `Get "…":` prefix and
// no resolver text after the explanation.
func TestPlain_SaysTheURLOnce(t *testing.T) {
	var waits []time.Duration
	var mu sync.Mutex
	c, _ := NewClient(Options{Timeout: time.Second, MaxRetries: 3, Sleep: noSleep(&waits, &mu)})
	for _, u := range []string{"http://127.0.0.1:1/api/v4/user", "http://nonexistent.invalid/rest/api/2/myself"} {
		_, err := c.Get(u)
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		msg := Plain(err).Error()
		if strings.Count(msg, u) != 1 || strings.Contains(msg, `Get "`) || strings.Contains(msg, "dial tcp") {
			t.Errorf("%s: %q", u, msg)
		}
	}
}

// However many retries are allowed, one request stops when its attempts and
// waits would pass the budget (shown by the waits, not by the wall clock).
func TestTransport_TotalTimeBudget(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	var waits []time.Duration
	var mu sync.Mutex
	c, _ := NewClient(Options{Timeout: time.Second, MaxRetries: 100, MaxDelay: 2 * time.Minute, Budget: 5 * time.Minute, Sleep: noSleep(&waits, &mu)})
	_, err := c.Get(srv.URL + "/x")
	if err == nil || !strings.Contains(err.Error(), "time budget of 5m0s") {
		t.Fatalf("err = %v", err)
	}
	var sum time.Duration
	for _, w := range waits {
		sum += w
	}
	if calls.Load() != 3 || len(waits) != 2 || sum > 5*time.Minute {
		t.Errorf("%d attempts, waits %v (sum %s); want 3 attempts and 2 waits of 2m within the 5m budget", calls.Load(), waits, sum)
	}
}
