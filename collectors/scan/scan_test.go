package scan

import (
	"strings"
	"testing"
	"time"
)

func TestScan_Cursor(t *testing.T) {
	start := time.Date(2026, 1, 22, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	cases := []struct {
		name    string
		updated []time.Time
		totals  []int64
		want    time.Time
	}{
		{"newest read", []time.Time{at(-30), at(-5), at(-20)}, nil, at(-5)},
		{"never past the scan's start", []time.Time{at(-30), at(3)}, nil, start},
		{"nothing read: no move", nil, nil, time.Time{}},
		{"the list shrank mid-scan: no move", []time.Time{at(-30), at(-5)}, []int64{10, 9}, time.Time{}},
		{"the list grew: moves", []time.Time{at(-30), at(-5)}, []int64{10, 11}, at(-5)},
	}
	for _, c := range cases {
		s := New("list", start)
		for i, u := range c.updated {
			s.Fresh("id"+string(rune('a'+i)), u)
		}
		for _, n := range c.totals {
			s.Total(n)
		}
		if got := s.Cursor(); !got.Equal(c.want) {
			t.Errorf("%s: cursor %v, want %v", c.name, got, c.want)
		}
	}
}

func TestScan_RepeatsAndLoops(t *testing.T) {
	s := New("gitlab g: list issues", time.Now())
	u := time.Now().Add(-time.Hour)
	if !s.Fresh("a", u) || s.Fresh("a", u) || !s.Fresh("a", u.Add(time.Second)) {
		t.Fatal("a record's newer version must be fresh, the same version not")
	}
	for i := 0; i < StaleLimit-1; i++ {
		if err := s.Page(0, 5); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	if err := s.Page(0, 5); err == nil || !strings.Contains(err.Error(), "does not advance") {
		t.Fatalf("err = %v after %d pages of repeats", err, StaleLimit)
	}
	g := New("list", time.Now())
	g.Total(2)
	for _, id := range []string{"a", "b", "c"} {
		g.Fresh(id, u)
	}
	if err := g.Page(3, 3); err == nil || !strings.Contains(err.Error(), "more than the server's own total of 2") {
		t.Fatalf("err = %v, want the total exceeded", err)
	}
}
