// Package redmine collects issues (with journals) and versions from Redmine's
// REST API. No maintained Go client exists, so the few calls devpulse needs
// are written here, on devpulse's shared transport.
package redmine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/devpulse/devpulse/internal/httpx"
)

// apiError is a Redmine answer other than 200, with what to do about it.
type apiError struct {
	source, what string
	status       int
	msg          string
	sentinel     error
}

func (e *apiError) Error() string {
	return fmt.Sprintf("redmine %s: %s: %s", e.source, e.what, e.msg)
}

func (e *apiError) Unwrap() error { return e.sentinel }

// ErrHTML marks an HTML page where JSON was expected (wrong URL, proxy, SSO login page).
var ErrHTML = errors.New("HTML instead of JSON")

// get fetches one JSON document into v.
func (c *Collector) get(ctx context.Context, what, path string, q url.Values, v any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("redmine %s: %s: %w", c.src.Name, what, err)
	}
	req.Header.Set("X-Redmine-API-Key", c.src.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("redmine %s: %s: %w", c.src.Name, what, httpx.Plain(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("redmine %s: %s: read body: %w", c.src.Name, what, err)
	}
	e := &apiError{source: c.src.Name, what: what, status: resp.StatusCode}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		e.msg, e.sentinel = fmt.Sprintf("401 Unauthorized: the API key was rejected; set a valid key in sources.%s.token or its environment variable (Redmine: My account → API access key)", c.src.Name), httpx.ErrAuth
		return e
	case http.StatusForbidden:
		e.msg, e.sentinel = "403 Forbidden: the REST API is disabled (enable it in Administration → Settings → API → \"Enable REST web service\") or the key's user may not see this project", httpx.ErrAuth
		return e
	case http.StatusNotFound:
		e.msg, e.sentinel = "404 Not Found: no such project or issue, or the key's user cannot see it", httpx.ErrNotFound
		return e
	case http.StatusUnprocessableEntity:
		var er struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(body, &er)
		e.msg = "422 Unprocessable Entity: " + strings.Join(er.Errors, "; ")
		return e
	default:
		e.msg = fmt.Sprintf("HTTP %d (after retries)", resp.StatusCode)
		return e
	}
	trimmed := strings.TrimSpace(string(body))
	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "text/html") || strings.HasPrefix(trimmed, "<") {
		e.msg, e.sentinel = "got an HTML page instead of JSON: check sources."+c.src.Name+".url is Redmine's root URL and no login page or proxy is in the way", ErrHTML
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("redmine %s: %s: malformed JSON: %w", c.src.Name, what, err)
	}
	return nil
}
