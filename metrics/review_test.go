package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
)

func TestReviewMetrics(t *testing.T) {
	draft := func(readyH float64) mrOpt {
		return func(m *models.MergeRequest) { m.ReadyAt = atp(readyH) }
	}
	second := func(h float64) mrOpt {
		return func(m *models.MergeRequest) {
			m.Reviews = append(m.Reviews, models.MRReview{MRID: m.ID, ID: m.ID + ":r2", Reviewer: models.Person{Token: "rev2"}, CreatedAt: at(h)})
		}
	}
	in := Input{MergeRequests: []models.MergeRequest{
		mr(1, 0, 10, nil, reviewed(4), second(5)), // pickup 4h, review 6h, 2 reviewers
		mr(2, 0, 20, nil, draft(6), reviewed(8)),  // draft until 6h: pickup 8-6 = 2h, review 12h, 1 reviewer
		mr(3, 0, 3, nil),                          // merged unreviewed: 0 reviewers
		mr(4, 0, 5, nil, reviewed(-1)),            // review before creation (clock skew): pickup dropped; review 6h
		mr(5, 0, 2, nil, func(m *models.MergeRequest) { m.Author = models.Person{Token: "b", IsBot: true} }),
		{ID: "open", ProjectPath: P, State: "opened", CreatedAt: at(0), UpdatedAt: at(0)},
	}}
	ms := Review(in, opts())
	// Four human MRs merged; the bot's is left out.
	near(t, "mr_throughput", find(ms, "mr_throughput").Value, 4)
	// pickup samples [4h, 2h] → p50 3h
	near(t, "pickup p50", find(ms, "pickup_time").P50, 3*3600)
	// review samples [6h, 12h, 6h] → p50 6h
	near(t, "review p50", find(ms, "review_time").P50, 6*3600)
	// unreviewed: MR 3 of 4 → 0.25
	near(t, "unreviewed_merge_rate", find(ms, "unreviewed_merge_rate").Value, 0.25)
	// reviewers per MR: (2 + 1 + 0 + 1) / 4 = 1
	near(t, "reviewers_per_mr", find(ms, "reviewers_per_mr").Mean, 1)

	o := opts()
	// mr_size: additions + deletions of merged MRs whose size is known; the bot's MR is left out.
	sized := in
	sized.MergeRequests = append([]models.MergeRequest(nil), in.MergeRequests...)
	for i, ad := range [][2]int64{{10, 2}, {100, 50}, {1, 0}} { // MRs 1..3: 12, 150, 1 lines; MR 4 unknown
		a, d := ad[0], ad[1]
		sized.MergeRequests[i].Additions, sized.MergeRequests[i].Deletions = &a, &d
	}
	bot := int64(5000)
	sized.MergeRequests[4].Additions, sized.MergeRequests[4].Deletions = &bot, &bot
	sz := find(Review(sized, o), "mr_size")
	// [1, 12, 150] → p50 12; p85: h = 0.85*2 = 1.7 → 12 + 0.7*(150-12) = 108.6
	if sz.N != 3 || sz.Unit != "lines" {
		t.Errorf("mr_size n=%d unit=%s", sz.N, sz.Unit)
	}
	near(t, "mr_size p50", sz.P50, 12)
	near(t, "mr_size p85", sz.P85, 108.6)

	o.IncludeBots = true
	near(t, "throughput with bots", find(Review(in, o), "mr_throughput").Value, 5)
}

func TestCIMetrics(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	pl := func(status string, def bool, finishH float64, dur, queue float64) models.Pipeline {
		p := models.Pipeline{ID: status, Status: status, IsDefaultBranch: def, UpdatedAt: at(finishH)}
		if status != "running" {
			p.FinishedAt = atp(finishH)
			p.DurationS, p.QueuedDurationS = f(dur), f(queue)
		}
		return p
	}
	in := Input{Pipelines: []models.Pipeline{
		pl("success", true, 1, 600, 10),
		pl("success", true, 2, 900, 30),
		pl("failed", true, 3, 300, 20),
		pl("canceled", true, 4, 100, 5),   // in neither the success rate nor the durations (METRICS.md: the same set)
		pl("failed", false, 5, 5000, 500), // a feature branch: ignored
		pl("running", true, 6, 0, 0),      // not finished
	}}
	ms := CI(in, opts())
	// 2 success of 3 success+failed
	near(t, "pipeline_success_rate", find(ms, "pipeline_success_rate").Value, 2.0/3)
	// durations [600, 900, 300] → p50 600; p85: h = 1.7 → 600 + 0.7*300 = 810
	near(t, "duration p50", find(ms, "pipeline_duration").P50, 600)
	near(t, "duration p85", find(ms, "pipeline_duration").P85, 810)
	if n := find(ms, "pipeline_duration").N; n != find(ms, "pipeline_success_rate").N {
		t.Errorf("pipeline_duration over %d pipelines, pipeline_success_rate over %d: not the same set", n, find(ms, "pipeline_success_rate").N)
	}
	// queue [10, 30, 20] → p50 20
	near(t, "queue p50", find(ms, "pipeline_queue_time").P50, 20)
}

// Open, ready MRs of people without a review by someone else, longest first.
func TestWaitingForReview(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return at.AddDate(0, 0, -d) }
	ptr := func(t time.Time) *time.Time { return &t }
	author := models.Person{Token: "a"}
	in := Input{MergeRequests: []models.MergeRequest{
		{ID: "old", State: "opened", Author: author, CreatedAt: day(9)},
		{ID: "undrafted", State: "opened", Author: author, CreatedAt: day(20), ReadyAt: ptr(day(3))},
		{ID: "self-noted", State: "opened", Author: author, CreatedAt: day(5), Reviews: []models.MRReview{{Reviewer: author, CreatedAt: day(4)}}},
		{ID: "reviewed", State: "opened", Author: author, CreatedAt: day(8), Reviews: []models.MRReview{{Reviewer: models.Person{Token: "r"}, CreatedAt: day(7)}}},
		{ID: "draft", State: "opened", Draft: true, Author: author, CreatedAt: day(30)},
		{ID: "bot", State: "opened", Author: models.Person{Token: "b", IsBot: true}, CreatedAt: day(30)},
		{ID: "merged", State: "merged", Author: author, CreatedAt: day(30)},
	}}
	got := WaitingForReview(in, at, 10)
	var ids []string
	for _, w := range got {
		ids = append(ids, w.MR.ID)
	}
	if strings.Join(ids, ",") != "old,self-noted,undrafted" || got[0].For != 9*24*3600 || got[2].For != 3*24*3600 {
		t.Errorf("waiting: %v (%v)", ids, got)
	}
	if n := len(WaitingForReview(in, at, 2)); n != 2 {
		t.Errorf("limit: %d", n)
	}
}

// TestAI_RateAndComparison, worked by hand: MRs 1 and 2 are AI-assisted
// (100 and 20 lines), 3 and 4 not (50 and 10 lines); MR 4 reverts MR 1 two
// days after its merge.
//
//	ai_assisted_rate 2/4; assisted mr_size p50 60, other 30;
//	reverted or hotfixed within 14 days: assisted 1/2 (MR 1), other 0/2.
func TestAI_RateAndComparison(t *testing.T) {
	lines := func(a, d int64, assisted bool) mrOpt {
		return func(m *models.MergeRequest) { m.Additions, m.Deletions, m.AIAssisted = &a, &d, assisted }
	}
	m4 := mr(4, 50, 53, []float64{49}, lines(5, 5, false))
	m4.IsRevert, m4.RevertsID = true, models.GitLabID("h", 1, "mr", 1)
	in := Input{MergeRequests: []models.MergeRequest{
		mr(1, 0, 5, []float64{-1}, lines(80, 20, true)), mr(2, 1, 6, []float64{0}, lines(15, 5, true)),
		mr(3, 2, 7, []float64{1}, lines(40, 10, false)), m4,
	}}
	ms := AI(in, opts())
	near(t, "ai_assisted_rate", find(ms, "ai_assisted_rate").Value, 0.5)
	cmp := find(ms, "ai_comparison")
	near(t, "assisted mr_size p50", cmp.Parts["assisted.mr_size"].P50, 60)
	near(t, "other mr_size p50", cmp.Parts["other.mr_size"].P50, 30)
	near(t, "assisted reverted", cmp.Parts["assisted.reverted_or_hotfixed"].Value, 0.5)
	near(t, "other reverted", cmp.Parts["other.reverted_or_hotfixed"].Value, 0)
	// A bot's MR counts only as an agent's (flagged assisted).
	bot := mr(5, 3, 8, []float64{2}, func(m *models.MergeRequest) { m.Author.IsBot = true })
	in.MergeRequests = append(in.MergeRequests, bot)
	near(t, "ai_assisted_rate with a plain bot MR", find(AI(in, opts()), "ai_assisted_rate").Value, 0.5)
}
