package metrics

import (
	"slices"
	"strings"
	"time"

	"github.com/devpulse/devpulse/models"
)

// AI computes ai_assisted_rate and ai_comparison (METRICS.md, "Review and
// delivery health"): merged MRs of the window flagged AI-assisted by the
// collector (aiassist: a trailer, a label or an agent account), and the two
// groups side by side. Bots count only when metrics.include_bots, except
// agent accounts, whose MRs are the assisted ones.
func AI(in Input, o Options) []*Metric { return aiOf(analyse(in, o), in, o) }

func aiOf(a analysis, in Input, o Options) []*Metric {
	type group struct {
		size, pickup, review, lead []sample
		fixed                      []hit
	}
	counted := func(m *models.MergeRequest) bool {
		return m.MergedAt != nil && (!m.Author.IsBot || o.IncludeBots || m.AIAssisted) && o.inSeries(*m.MergedAt)
	}
	// Each group's slices sized by a first count of its MRs and their
	// commits: grown by appends they would copy their samples at every
	// doubling, for every scope.
	groups := map[bool]*group{}
	var mrs, commits [2]int
	for i := range in.MergeRequests {
		if m := &in.MergeRequests[i]; counted(m) {
			g := 0
			if m.AIAssisted {
				g = 1
			}
			mrs[g]++
			commits[g] += len(m.Commits)
		}
	}
	for g, assisted := range []bool{false, true} {
		n := mrs[g]
		groups[assisted] = &group{size: make([]sample, 0, n), pickup: make([]sample, 0, n), review: make([]sample, 0, n),
			lead: make([]sample, 0, commits[g]), fixed: make([]hit, 0, n)}
	}
	rate := make([]hit, 0, mrs[0]+mrs[1])
	revertedAt := map[string][]time.Time{}
	var hotfixes []*models.MergeRequest // merged hotfix MRs: few, so reworked scans only them
	for i := range in.MergeRequests {
		r := &in.MergeRequests[i]
		if r.IsRevert && r.RevertsID != "" && r.MergedAt != nil {
			revertedAt[r.RevertsID] = append(revertedAt[r.RevertsID], *r.MergedAt)
		}
		if r.MergedAt != nil && (hasAny(r.Labels, []string{"hotfix"}) || strings.HasPrefix(r.SourceBranch, "hotfix/")) {
			hotfixes = append(hotfixes, r)
		}
	}
	for i := range in.MergeRequests {
		m := &in.MergeRequests[i]
		if !counted(m) {
			continue // every sample below is timed by the merge: the series' range's only are kept
		}
		at := *m.MergedAt
		rate = append(rate, hit{at, m.AIAssisted})
		g := groups[m.AIAssisted]
		if m.Additions != nil && m.Deletions != nil {
			g.size = append(g.size, sample{at, float64(*m.Additions + *m.Deletions)})
		}
		if c := a.of[i]; c != nil {
			t := c.t
			if t.Pickup != nil {
				g.pickup = append(g.pickup, sample{at, *t.Pickup})
			}
			if t.Review != nil {
				g.review = append(g.review, sample{at, *t.Review})
			}
			if c.ev != nil {
				for _, cm := range m.Commits {
					if d := c.ev.at.Sub(cm.AuthoredAt); d > 0 {
						g.lead = append(g.lead, sample{at, d.Seconds()})
					}
				}
			}
		}
		g.fixed = append(g.fixed, hit{at, reworked(m, hotfixes, revertedAt[m.ID], a.issues)})
	}
	cmp := &Metric{Name: "ai_comparison", Unit: "count", Parts: map[string]*Metric{}}
	for assisted, g := range groups {
		name := "other"
		if assisted {
			name = "assisted"
		}
		size := o.durations(name+".mr_size", g.size)
		size.Unit = "lines"
		cmp.Parts[name+".mr_size"] = size
		cmp.Parts[name+".pickup_time"] = o.durations(name+".pickup_time", g.pickup)
		cmp.Parts[name+".review_time"] = o.durations(name+".review_time", g.review)
		cmp.Parts[name+".lead_time"] = o.durations(name+".lead_time", g.lead)
		cmp.Parts[name+".reverted_or_hotfixed"] = o.ratio(name+".reverted_or_hotfixed", g.fixed)
	}
	r := o.ratio("ai_assisted_rate", rate)
	cmp.N = r.N
	cmp.Value = ptr(float64(r.N))
	return []*Metric{r, cmp}
}

// reworkWindow is how soon a revert or a hotfix counts against a change.
const reworkWindow = 14 * 24 * time.Hour

// reworked: the MR was reverted within 14 days of its merge, or a hotfix MR
// (label hotfix or a hotfix/* branch; hotfixes holds the merged ones) of its
// project that names one of the same issues was merged within 14 days after it. Without a shared issue a
// hotfix is not tied to a change: no file-level data is collected.
func reworked(m *models.MergeRequest, hotfixes []*models.MergeRequest, reverts []time.Time, issues map[string]*models.Issue) bool {
	for _, at := range reverts {
		if d := at.Sub(*m.MergedAt); d >= 0 && d <= reworkWindow {
			return true
		}
	}
	mine := linked(issues, m) // a few each, distinct: scanned, not put in a map per MR
	if len(mine) == 0 {
		return false
	}
	for _, h := range hotfixes {
		if h.ID == m.ID || h.ProjectPath != m.ProjectPath {
			continue
		}
		if d := h.MergedAt.Sub(*m.MergedAt); d <= 0 || d > reworkWindow {
			continue
		}
		for _, x := range linked(issues, h) {
			if slices.Contains(mine, x) {
				return true
			}
		}
	}
	return false
}
