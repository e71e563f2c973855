package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/collectors/scan"
	"github.com/devpulse/devpulse/models"
)

// getList GETs one page of a GitLab list and decodes it strictly. client-go
// decodes `null` as an empty list and lets a null or malformed element
// through (or panics inside an UnmarshalJSON): either would land a record
// without its commits or reviews, or stop every source. Here a body that is
// not an array, an element that is not an object, an element that fails to
// decode or one that valid rejects is an error naming the list, the page
// and the item's position, and nothing of the page is used.
func getList[T any](ctx context.Context, c *Collector, what string, page int64, path string, opt any, valid func(*T) error, set ...[2]string) ([]*T, *gl.Response, error) {
	req, err := c.api.NewRequest(http.MethodGet, path, opt, []gl.RequestOptionFunc{gl.WithContext(ctx)})
	if err != nil {
		return nil, nil, fmt.Errorf("gitlab %s: %s: %w", c.src.Name, what, err)
	}
	if page > 0 || len(set) > 0 {
		q := req.URL.Query()
		if page > 0 {
			q.Set("page", fmt.Sprint(page))
		}
		for _, kv := range set {
			q.Set(kv[0], kv[1])
		}
		req.URL.RawQuery = q.Encode()
	}
	var body bytes.Buffer
	resp, err := c.api.Do(req, &body)
	if err != nil {
		return nil, resp, c.apiError(fmt.Sprintf("%s (page %d)", what, max(page, 1)), resp, err)
	}
	items, err := DecodeList(body.Bytes(), valid)
	if err != nil {
		return nil, resp, fmt.Errorf("gitlab %s: %s (page %d): malformed response: %w", c.src.Name, what, max(page, 1), err)
	}
	return items, resp, nil
}

// DecodeList decodes a JSON array whose every element is an object of type
// T accepted by valid (nil accepts any). It never panics: a panic in a
// custom UnmarshalJSON becomes the item's error.
func DecodeList[T any](body []byte, valid func(*T) error) (items []*T, err error) {
	var raw []json.RawMessage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, fmt.Errorf("want a JSON array, got %s", describe(trimmed))
	}
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON array: %w", err)
	}
	items = make([]*T, 0, len(raw))
	for i, r := range raw {
		t, err := decodeItem(r, valid)
		if err != nil {
			return nil, fmt.Errorf("item %d of %d: %w", i+1, len(raw), err)
		}
		items = append(items, t)
	}
	return items, nil
}

func decodeItem[T any](r json.RawMessage, valid func(*T) error) (t *T, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("cannot decode: %v", p)
		}
	}()
	r = bytes.TrimSpace(r)
	if len(r) == 0 || r[0] != '{' {
		return nil, fmt.Errorf("want an object, got %s", describe(r))
	}
	t = new(T)
	if err := json.Unmarshal(r, t); err != nil {
		return nil, err
	}
	if valid != nil {
		if err := valid(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// describe names a JSON value's kind without echoing it (it may hold names).
func describe(b []byte) string {
	if len(b) == 0 {
		return "an empty body"
	}
	switch b[0] {
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number or invalid JSON"
}

var errNoID = errors.New("item without iid or project_id")

// needID is the validation of every listed record: without its id the
// record cannot be keyed, so it would land under a wrong one.
func needID(name string, id int64) error {
	if id <= 0 {
		return fmt.Errorf("%s has no %s", "item", name)
	}
	return nil
}

// pager walks GitLab's offset pagination and refuses a list that does not
// advance (a next page at or before the current one, past the announced
// total, or pages that bring nothing new): a server bug must be an error,
// never an endless loop.
type pager struct {
	what string
	page int64
	scan *scan.Scan
}

func newPager(c *Collector, what string) *pager {
	w := fmt.Sprintf("gitlab %s: %s", c.src.Name, what)
	return &pager{what: w, page: 1, scan: scan.New(w, c.now())}
}

func (p *pager) next(resp *gl.Response, fresh, listed int) (bool, error) {
	if err := p.scan.Page(fresh, listed); err != nil {
		return false, err
	}
	if resp == nil || resp.NextPage == 0 {
		return false, nil
	}
	if resp.NextPage <= p.page {
		return false, fmt.Errorf("%s: page %d names page %d as the next one: the server's pagination does not advance", p.what, p.page, resp.NextPage)
	}
	if resp.TotalPages > 0 && resp.NextPage > resp.TotalPages {
		return false, fmt.Errorf("%s: page %d names page %d as the next one, past the server's own total of %d pages", p.what, p.page, resp.NextPage, resp.TotalPages)
	}
	p.page = resp.NextPage
	return true, nil
}

// allPages reads every page of a child list (commits, notes, diffs).
func allPages[T any](ctx context.Context, c *Collector, what, path string, opt any, valid func(*T) error, id func(*T) string) ([]*T, error) {
	var all []*T
	pg := newPager(c, what)
	for {
		items, resp, err := getList(ctx, c, what, pg.page, path, opt, valid)
		if err != nil {
			return nil, err
		}
		pg.scan.Total(resp.TotalItems)
		fresh := 0
		for i, it := range items {
			k := id(it)
			if k == "" { // no key (diffs): every item counts
				k = fmt.Sprintf("page %d item %d", pg.page, i)
			}
			if pg.scan.Fresh(k, time.Time{}) {
				fresh++
				all = append(all, it)
			}
		}
		more, err := pg.next(resp, fresh, len(items))
		if err != nil || !more {
			return all, err
		}
	}
}

// scanList reads a record list page by page in an order that an update does not
// change (creation or id ascending, filtered by updated_after). Ordered by
// updated_at, a record updated mid-scan moves to the end and the one at the
// next page boundary slides back onto a page already read: it would never be
// read, and the cursor would pass it. In a stable order an update moves
// nothing; a record that enters the filter mid-scan pushes the rest one
// place on, so one may be listed twice (read once). Records already landed
// with the same updated_at (the overlap of an incremental run) are skipped
// before build, so they cost no detail request and land nothing.
//
// Pages land as they are read but the cursor moves only once the scan is
// complete, to the newest updated_at listed, and never past the scan's
// start: a record updated while the scan ran, behind its position, is
// re-read by the next run. If the server's total shrank during the scan
// (records deleted shift the rest forward), the cursor does not move at all.
//
// Some lists (deployments) accept updated_after only when sorted by
// updated_at. For those, requery restarts the list after each page from
// the newest updated_at read so far: a record updated mid-scan moves past
// that bound and is read later, and none can slide behind a page boundary.
// Only a page made entirely of one instant (more records sharing one
// updated_at than a page holds) is followed by the next page number.
func scanList[T any](ctx context.Context, c *Collector, what, path string, opt any, out models.Output,
	requery bool,
	valid func(*T) error,
	key func(*T) (id string, updated time.Time),
	build func(ctx context.Context, changed []*T) (*models.Batch, error),
) error {
	pg := newPager(c, what)
	var after time.Time
	for {
		var set [][2]string
		if !after.IsZero() {
			// client-go sends whole seconds; the bound must be the instant read.
			set = append(set, [2]string{"updated_after", after.UTC().Format("2006-01-02T15:04:05.000Z")})
		}
		items, resp, err := getList(ctx, c, what, pg.page, path, opt, valid, set...)
		if err != nil {
			return err
		}
		if resp != nil && !requery { // a re-query's total counts from its own bound
			pg.scan.Total(resp.TotalItems)
			if pg.page == 1 {
				out.ReportTotal(resp.TotalItems)
			}
		}
		listed := make(map[string]time.Time, len(items))
		var fresh []*T
		var pageNewest time.Time
		for _, it := range items {
			id, u := key(it)
			if u.After(pageNewest) {
				pageNewest = u
			}
			if !pg.scan.Fresh(id, u) {
				continue
			}
			listed[id] = u
			fresh = append(fresh, it)
		}
		if len(fresh) > 0 {
			same, err := out.Unchanged(ctx, listed)
			if err != nil {
				return fmt.Errorf("gitlab %s: %s: look up landed records: %w", c.src.Name, what, err)
			}
			changed := make([]*T, 0, len(fresh))
			for _, it := range fresh {
				if id, _ := key(it); !same[id] {
					changed = append(changed, it)
				}
			}
			b, err := safeBuild(c, what, pg.page, func() (*models.Batch, error) { return build(ctx, changed) })
			if err != nil {
				return err
			}
			if err := out.Emit(ctx, b, time.Time{}); err != nil {
				return err
			}
		}
		more, err := pg.next(resp, len(fresh), len(items))
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if requery && pageNewest.After(after) {
			after = pageNewest
			pg.page = 1
		}
	}
	if pg.scan.Shrank() {
		c.log.Warn("records left the list while it was read; the cursor stays so the next run reads the window again",
			"source", c.src.Name, "list", what)
	}
	cursor := pg.scan.Cursor()
	if cursor.IsZero() {
		return nil
	}
	return out.Emit(ctx, &models.Batch{}, cursor)
}

// safeBuild turns a panic while converting a page into an error naming the
// page, so one malformed record stops its stream, not the process.
func safeBuild(c *Collector, what string, page int64, f func() (*models.Batch, error)) (b *models.Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("gitlab %s: %s (page %d): malformed record: %v", c.src.Name, what, page, p)
		}
	}()
	return f()
}
