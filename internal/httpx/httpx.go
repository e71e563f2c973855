// Package httpx is the one HTTP behaviour every collector shares: a client-side
// rate limiter, retries of 429 (honouring Retry-After / RateLimit-Reset) and of
// 5xx and transport faults with jittered, capped exponential backoff, a timeout
// on every attempt, private CAs, proxies from the environment and a User-Agent.
// 4xx other than 429 are never retried: a bad token does not get better.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/version"
)

// Options configure one source's client.
type Options struct {
	Source     string        // named in log lines
	CAFile     string        // PEM bundle added to the system roots
	Timeout    time.Duration // per attempt, body included
	RateLimit  float64       // requests per second; 0 = unlimited
	Burst      int
	MaxRetries int
	// MaxInFlight bounds concurrent requests of this source (0 = unbounded),
	// however many streams and detail fetches run at once.
	MaxInFlight int
	BaseDelay   time.Duration // first backoff; default 500ms
	MaxDelay    time.Duration // cap of one wait; default 60s
	// Budget caps one request's attempts and waits together (default 10m):
	// a storm of 429s with long Retry-After values ends in an error naming
	// it, not in a run that hangs for an hour.
	Budget    time.Duration
	Logger    *slog.Logger
	Stats     *Stats
	Transport http.RoundTripper // the base transport; tests may inject
	// Sleep waits; tests inject a fake clock. It must honour ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Stats counts what a client did; safe for concurrent use.
type Stats struct {
	Requests atomic.Int64 // attempts sent, retries included
	Retries  atomic.Int64
	Waited   atomic.Int64 // nanoseconds spent in backoff/Retry-After waits
	mu       sync.Mutex
	byStatus map[int]int64
}

func (s *Stats) record(status int) {
	s.mu.Lock()
	if s.byStatus == nil {
		s.byStatus = map[int]int64{}
	}
	s.byStatus[status]++
	s.mu.Unlock()
}

// ByStatus returns attempts by HTTP status (0 = transport error).
func (s *Stats) ByStatus() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int64, len(s.byStatus))
	for k, v := range s.byStatus {
		out[k] = v
	}
	return out
}

// NewClient builds the client. It never disables certificate verification:
// a private CA is added with CAFile instead.
func NewClient(o Options) (*http.Client, error) {
	base := o.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = http.ProxyFromEnvironment
		t.MaxIdleConnsPerHost = 64
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read ca_file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s holds no PEM certificate", o.CAFile)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		base = t
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.BaseDelay == 0 {
		o.BaseDelay = 500 * time.Millisecond
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = 60 * time.Second
	}
	if o.Budget == 0 {
		o.Budget = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if o.RateLimit > 0 {
		burst := o.Burst
		if burst < 1 {
			burst = 1
		}
		lim = rate.NewLimiter(rate.Limit(o.RateLimit), burst)
	}
	t := &transport{o: o, base: base, lim: lim}
	if o.MaxInFlight > 0 {
		t.sem = make(chan struct{}, o.MaxInFlight)
	}
	return &http.Client{Transport: t}, nil
}

type transport struct {
	o    Options
	base http.RoundTripper
	lim  *rate.Limiter
	sem  chan struct{}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// pooled connections under the retry layer.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// ErrAuth marks a rejected credential (401/403): the source stops, others go on.
var ErrAuth = errors.New("authentication failed")

// ErrNotFound marks an unknown project, group or resource (404).
var ErrNotFound = errors.New("not found")

// Sentinel for attempts that failed in transit (reset, timeout, short body).
var errTransient = errors.New("in transit")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var lastErr error
	var spent time.Duration // attempts and waits of this request
	for attempt := 0; ; attempt++ {
		if err := t.lim.Wait(ctx); err != nil {
			return nil, err
		}
		began := time.Now()
		resp, err := t.attempt(req)
		spent += time.Since(began)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if t.o.Logger.Enabled(ctx, slog.LevelDebug) {
			// The path only: a query string may hold a JQL naming people, and
			// headers hold the token.
			attrs := []any{"source", t.o.Source, "method", req.Method, "path", req.URL.Path, "status", status,
				"seconds", math.Round(time.Since(began).Seconds()*1000) / 1000, "attempt", attempt + 1}
			if err != nil {
				attrs = append(attrs, "failed", true) // the reason is logged or returned where it is handled
			}
			t.o.Logger.Debug("request", attrs...)
		}
		t.o.Stats.Requests.Add(1)
		t.o.Stats.record(status)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var wait time.Duration
		switch {
		case err != nil && permanent(err):
			return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req), err)
		case err != nil && refused(err) && attempt+1 >= refusedAttempts:
			// A server that is not listening does not start listening in the
			// next minutes of backoff; say so at once.
			return nil, fmt.Errorf("%s %s: connection refused %d times: is the server running at this URL and port? (check the source's url)",
				req.Method, redactURL(req), attempt+1)
		case err != nil:
			lastErr = err
			wait = t.backoff(attempt)
		case status == http.StatusTooManyRequests:
			wait = retryAfter(resp.Header, time.Now())
			if wait <= 0 {
				wait = t.backoff(attempt)
			}
			lastErr = fmt.Errorf("HTTP 429 Too Many Requests")
		case status >= 500 && status != http.StatusNotImplemented:
			wait = t.backoff(attempt)
			lastErr = fmt.Errorf("HTTP %d", status)
		default:
			return resp, nil
		}
		if attempt >= t.o.MaxRetries {
			if resp != nil {
				return resp, nil // the caller sees the final status and reports it
			}
			return nil, fmt.Errorf("%s %s: gave up after %d attempts: %w", req.Method, redactURL(req), attempt+1, lastErr)
		}
		if wait > t.o.MaxDelay {
			wait = t.o.MaxDelay
		}
		if spent+wait > t.o.Budget {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, fmt.Errorf("%s %s: gave up after %d attempts and %s: the next wait (%s) would pass the request's time budget of %s: %w",
				req.Method, redactURL(req), attempt+1, spent.Round(time.Second), wait.Round(time.Second), t.o.Budget, lastErr)
		}
		spent += wait
		why := lastErr.Error()
		t.o.Logger.Info(fmt.Sprintf("waiting %s before retry %d of %d for %s %s: %s", wait.Round(time.Millisecond), attempt+1, t.o.MaxRetries, req.Method, req.URL.Path, why),
			"source", t.o.Source, "path", req.URL.Path, "status", status, "attempt", attempt+1, "wait_seconds", wait.Seconds())
		t.o.Stats.Retries.Add(1)
		t.o.Stats.Waited.Add(int64(wait))
		if err := t.o.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		if req.Body != nil && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = b
		}
	}
}

// attempt sends once, with its own timeout, and buffers the body so that a
// connection cut mid-body is a retryable fault rather than half a page.
func (t *transport) attempt(req *http.Request) (*http.Response, error) {
	if t.sem != nil {
		select {
		case t.sem <- struct{}{}:
			defer func() { <-t.sem }()
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.o.Timeout)
	defer cancel()
	r := req.Clone(ctx)
	r.Header.Set("User-Agent", version.UserAgent())
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		var dns *net.DNSError
		if errors.As(err, &dns) && dns.IsNotFound {
			return nil, explained{fmt.Sprintf("no such host %q (check the source's url)", dns.Name), err}
		}
		if permanent(err) {
			return nil, fmt.Errorf("%w (for a private CA set the source's ca_file)", err)
		}
		if ctx.Err() == context.DeadlineExceeded && req.Context().Err() == nil {
			return nil, fmt.Errorf("%w: no answer within %s (the source's timeout)", errTransient, t.o.Timeout)
		}
		return nil, fmt.Errorf("%w: %w", errTransient, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%w: reading body of %s: %v", errTransient, redactURL(req), err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// refusedAttempts is how often a refused connection is tried: twice covers
// a server restarting; more only delays the answer.
const refusedAttempts = 2

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// permanent: failures that do not heal by retrying. TLS trust (the fix is
// ca_file) and a host name that does not resolve (the fix is the url).
func permanent(err error) bool {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &verify) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

func (t *transport) backoff(attempt int) time.Duration {
	d := t.o.BaseDelay << min(attempt, 16)
	if d > t.o.MaxDelay || d <= 0 {
		d = t.o.MaxDelay
	}
	// full jitter in [d/2, d): spreads a burst of clients that failed together
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads Retry-After (seconds or HTTP date) or RateLimit-Reset (unix time).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return t.Sub(now)
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			if s > 1_000_000_000 { // an epoch, as GitLab sends
				return time.Unix(s, 0).Sub(now)
			}
			return time.Duration(s) * time.Second
		}
	}
	return 0
}

// redactURL drops the query: tokens may travel there on some APIs.
func redactURL(r *http.Request) string {
	u := *r.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ForSource is the options every collector uses for a configured source:
// its CA, timeout, rate limit, retries and concurrency.
func ForSource(src *config.Source, log *slog.Logger, stats *Stats, transport http.RoundTripper, sleep func(context.Context, time.Duration) error) Options {
	return Options{Source: src.Name, CAFile: src.CAFile, Timeout: time.Duration(src.Timeout), RateLimit: src.RateLimit,
		Burst: src.Concurrency, MaxRetries: src.MaxRetries, MaxInFlight: src.Concurrency, Logger: log, Stats: stats,
		Transport: transport, Sleep: sleep}
}

// Plain drops net/http's `Get "<url>": ` wrapper from a transport error: the
// transport's own error already names the method and the URL, and saying
// them twice made one failure read like two. The wrapped chain is kept.
func Plain(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil && strings.Contains(ue.Err.Error(), redactedHost(ue.URL)) {
		return ue.Err
	}
	return err
}

// redactedHost is the host part of a URL string, what the inner error names.
func redactedHost(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// explained is an error whose text says all there is to say; the cause
// stays in the chain (errors.Is/As) without being printed again.
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }
