package metrics

import (
	"sort"
	"time"

	"github.com/devpulse/devpulse/models"
)

// burnUp rebuilds a sprint's scope and done lines at the end of each of its
// days from the sprint-field, story-point and status history: the same
// rebuild say/do uses, so the last point's done line is the velocity.
func burnUp(hs []*history, sprintID string, w [2]time.Time, loc *time.Location) ([]BurnPoint, []string) {
	var out []BurnPoint
	end := w[1].Add(-time.Nanosecond)
	for day := PeriodStart(w[0], "day", loc); day.Before(w[1]); day = day.AddDate(0, 0, 1) {
		t := minTime(day.AddDate(0, 0, 1), w[1]).Add(-time.Nanosecond)
		p := BurnPoint{At: t.Add(time.Nanosecond)}
		for _, h := range hs {
			if h.sprintAt(t) != sprintID {
				continue
			}
			pts := h.pointsAt(t)
			p.Scope += pts
			if h.category(t) == models.CategoryDone {
				p.Done += pts
			}
		}
		out = append(out, p)
	}
	var carried []string
	for _, h := range hs {
		if h.sprintAt(end) == sprintID && h.category(end) != models.CategoryDone {
			carried = append(carried, h.x.Key)
		}
	}
	sort.Strings(carried)
	return out, carried
}

// FlowDay is one day of the cumulative flow diagram.
type FlowDay struct {
	Day                    time.Time // local midnight; counted at the end of the day
	Todo, InProgress, Done int
}

// CumulativeFlow counts, at the end of each day of the window (the last day
// at the window's end), the issues that exist by category. Done counts the
// issues done since the window began and still done, so work finished years
// ago does not dwarf the window's. Not a METRICS.md metric: a view of the
// same rebuilt status history wip and throughput read.
func CumulativeFlow(in Input, o Options) []FlowDay {
	hs := make([]*history, len(in.Issues))
	for i := range in.Issues {
		hs[i] = newHistory(&in.Issues[i])
	}
	start := o.Since.Add(-time.Nanosecond)
	var out []FlowDay
	for day := PeriodStart(o.Since, "day", o.Location); day.Before(o.Until); day = day.AddDate(0, 0, 1) {
		t := minTime(day.AddDate(0, 0, 1), o.Until).Add(-time.Nanosecond)
		fd := FlowDay{Day: day}
		for _, h := range hs {
			if h.x.CreatedAt.After(t) {
				continue
			}
			switch h.category(t) {
			case models.CategoryDone:
				if h.category(start) != models.CategoryDone || h.x.CreatedAt.After(start) {
					fd.Done++
				}
			case models.CategoryInProgress:
				fd.InProgress++
			default:
				fd.Todo++
			}
		}
		out = append(out, fd)
	}
	return out
}

// CyclePoint is one done issue of the cycle-time scatter.
type CyclePoint struct {
	Key     string
	Type    string
	DoneAt  time.Time
	Seconds float64
}

// CycleTimes lists cycle_time's samples of the window, by done time: each
// issue done in the window after being in progress.
func CycleTimes(in Input, o Options) []CyclePoint {
	var out []CyclePoint
	for i := range in.Issues {
		h := newHistory(&in.Issues[i])
		ip, d, ok := h.cycle()
		if !ok || !o.inWindow(d) {
			continue
		}
		out = append(out, CyclePoint{Key: h.x.Key, Type: h.x.Type, DoneAt: d, Seconds: d.Sub(ip).Seconds()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DoneAt.Equal(out[j].DoneAt) {
			return out[i].DoneAt.Before(out[j].DoneAt)
		}
		return out[i].Key < out[j].Key
	})
	return out
}
