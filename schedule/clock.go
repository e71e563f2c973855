package schedule

import (
	"errors"
	"sort"
	"sync"
	"time"
)

// ManualClock is a Clock that moves only when told: Next jumps to the
// earliest pending timer and rings it, as real time would, without waiting.
// Tests and the long-run benchmark drive the scheduler with it.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock starts at now.
func NewManualClock(now time.Time) *ManualClock { return &ManualClock{now: now} }

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After implements Clock.
func (c *ManualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, manualWaiter{c.now.Add(d), ch})
	return ch
}

// Sleeping waits (up to timeout) until the scheduler waits for its next
// alarm, i.e. it has started whatever was due.
func (c *ManualClock) Sleeping(timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			return nil
		}
	}
	return errors.New("scheduler did not go to sleep")
}

// Next waits until the scheduler sleeps, moves time to its alarm and rings it.
func (c *ManualClock) Next(timeout time.Duration) (time.Time, error) {
	if err := c.Sleeping(timeout); err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	sort.Slice(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	w := c.waiters[0]
	c.waiters = c.waiters[1:]
	if w.at.After(c.now) {
		c.now = w.at
	}
	now := c.now
	c.mu.Unlock()
	w.ch <- now
	return now, nil
}
