// Package scan holds the bookkeeping every collector's list scan shares:
// which records a scan has read, when the list stops advancing, and which
// cursor a complete scan may land. See DESIGN.md ("scans that cannot skip").
package scan

import (
	"fmt"
	"time"
)

// StaleLimit is how many consecutive non-empty pages may bring nothing new
// before a list counts as not advancing. A record entering the filter
// mid-scan repeats one item; a whole page of repeats three times in a row
// is a loop, not a race.
const StaleLimit = 3

// Scan is one pass over a list ordered by a key an update does not move
// (creation time or id) and filtered by "updated since". Pages land as they
// are read, but the cursor may move only once the scan is complete: to the
// newest updated_at read, never past the scan's start (a record updated
// while the scan ran, behind its position, must be read by the next run),
// and not at all if the list shrank while it was read (a record removed
// mid-scan shifts the rest forward past a page boundary).
type Scan struct {
	what       string
	started    time.Time
	newest     time.Time
	seen       map[string]bool
	ids        map[string]bool
	distinct   int64
	stale      int
	firstTotal int64
	maxTotal   int64
	shrank     bool
	pages      int
}

// New starts a scan of the list named what (for errors) at started.
func New(what string, started time.Time) *Scan {
	return &Scan{what: what, started: started, seen: map[string]bool{}, ids: map[string]bool{}, firstTotal: -1}
}

// Fresh reports whether this version of a record is new to the scan. A
// record listed again with a newer updated_at is its newer version.
func (s *Scan) Fresh(id string, updated time.Time) bool {
	k := id + "@" + updated.UTC().Format(time.RFC3339Nano)
	if s.seen[k] {
		return false
	}
	s.seen[k] = true
	if !s.ids[id] {
		s.ids[id] = true
		s.distinct++
	}
	if updated.After(s.newest) {
		s.newest = updated
	}
	return true
}

// Total records the list's total as the server announced it with a page
// (0 or less: not announced).
func (s *Scan) Total(n int64) {
	if n <= 0 {
		return
	}
	if s.firstTotal < 0 {
		s.firstTotal = n
	} else if n < s.firstTotal {
		s.shrank = true
	}
	if n > s.maxTotal {
		s.maxTotal = n
	}
}

// Page checks a page that listed listed items, fresh of them new: an error
// when the list does not advance or grows past the server's own total.
func (s *Scan) Page(fresh, listed int) error {
	s.pages++
	if listed > 0 && fresh == 0 {
		s.stale++
		if s.stale >= StaleLimit {
			return fmt.Errorf("%s: %d pages in a row repeat what earlier pages listed: the server's pagination does not advance", s.what, s.stale)
		}
	} else {
		s.stale = 0
	}
	if s.maxTotal > 0 && s.distinct > s.maxTotal {
		return fmt.Errorf("%s: %d distinct items read, more than the server's own total of %d", s.what, s.distinct, s.maxTotal)
	}
	return nil
}

// Shrank reports whether the list's total fell during the scan.
func (s *Scan) Shrank() bool { return s.shrank }

// Cursor is what a complete scan may land as the stream's cursor; zero
// means the cursor must not move.
func (s *Scan) Cursor() time.Time {
	if s.shrank || s.newest.IsZero() {
		return time.Time{}
	}
	if s.newest.After(s.started) {
		return s.started
	}
	return s.newest
}
