package report

import (
	"fmt"

	"github.com/devpulse/devpulse/benchmarks"
	"github.com/devpulse/devpulse/metrics"
)

// ScoreRow is one line of the DORA 2025 score block: what was measured, the
// Quick Check answer it corresponds to, its 0–10 score, the reference
// group's mean ± std, and the legacy 2024 tier.
type ScoreRow struct {
	Name, Title string
	Measured    string // the value scored: p50 or rate, as the metric's row shows it
	Answer      string // the Quick Check answer the value falls in ("One day to one week")
	Score       *float64
	Ref         benchmarks.Reference
	Tier        string // legacy 2024 tier, "" when none
	Above       bool   // score at or above the reference mean
	Below       bool   // score more than one std below the reference mean
}

// Scores are the rows of the DORA score block: the five metrics, then
// throughput, stability and overall. Nil without a score (no production
// deployment in the window).
func Scores(r Result) []ScoreRow {
	ds := r.Set["dora_score"]
	if ds == nil || ds.Value == nil {
		return nil
	}
	var out []ScoreRow
	add := func(name, title, measured, answer, tier string, score *float64) {
		row := ScoreRow{Name: name, Title: title, Measured: measured, Answer: answer, Score: score, Ref: r.Reference.Scores[name], Tier: tier}
		if score != nil {
			row.Above = *score >= row.Ref.Mean
			row.Below = *score < row.Ref.Mean-row.Ref.Std
		}
		out = append(out, row)
	}
	for _, name := range metrics.ScoreParts[:5] {
		m, part := r.Set[name], ds.Parts[name]
		measured, answer := "–", ""
		if m != nil {
			measured = Human(m.Unit, headline(m))
			if m.IsDistribution() {
				measured = "p50 " + measured
			}
		}
		if part.Value != nil {
			if a, ok := metrics.Answers[name]; ok {
				answer = a[int(*part.Value/2)+1]
			} else if m != nil && m.Value != nil {
				answer = fmt.Sprintf("%.0f%% of deployments", *m.Value*100)
			}
		}
		tier := ""
		if m != nil && m.Tier != "" {
			tier = fmt.Sprintf("%s (%d)", m.Tier, m.Year)
		}
		add(name, Titles[name], measured, answer, tier, part.Value)
	}
	add("throughput", "Throughput (lead time, frequency, recovery)", "", "", "", ds.Parts["throughput"].Value)
	add("stability", "Stability (change failure, rework)", "", "", "", ds.Parts["stability"].Value)
	add("overall", "Overall", "", "", "", ds.Value)
	return out
}

// scoreDoc is dora_score in the JSON report.
func scoreDoc(r Result, out map[string]any) {
	parts := map[string]any{}
	for _, row := range Scores(r) {
		p := map[string]any{"score": row.Score, "reference": row.Ref}
		if row.Answer != "" {
			p["answer"] = row.Answer
		}
		if row.Name != "overall" {
			parts[row.Name] = p
		} else {
			out["reference"] = row.Ref
		}
	}
	out["parts"] = parts
	out["edition"] = r.Reference.Edition
	out["reference_group"] = map[string]string{"key": r.Reference.Key, "name": r.Reference.Name}
}
