package metrics

import "time"

// DORA's 2025 Quick Check score (METRICS.md "DORA 2025 score"): a measured
// value is put on DORA's six-level answer scale and scored linearly, level 1
// → 0 … level 6 → 10; percentages score 10 − rate × 10.

// ScoreParts are the parts of dora_score, in the order they are shown.
var ScoreParts = []string{"lead_time_for_changes", "deployment_frequency", "failed_deployment_recovery_time",
	"change_failure_rate", "rework_rate", "throughput", "stability"}

// Answers are the Quick Check's answers by level (its question_responses.json),
// for the report to say what a score stands for.
var Answers = map[string][7]string{
	"lead_time_for_changes": {"", "More than six months", "One to six months", "One week to one month", "One day to one week",
		"Less than one day", "Less than one hour"},
	"failed_deployment_recovery_time": {"", "More than six months", "One to six months", "One week to one month", "One day to one week",
		"Less than one day", "Less than one hour"},
	"deployment_frequency": {"", "Less than once per six months", "Between once per month and once every six months",
		"Between once per week and once per month", "Between once per day and once per week",
		"Between once per hour and once per day", "On demand (multiple deploys per day)"},
}

// DurationLevel puts a lead time or recovery time (seconds, the p50) on the
// six-level scale: < 1 hour = 6, < 1 day = 5, < 1 week = 4, < 30 days = 3,
// < 180 days = 2, else 1.
func DurationLevel(s float64) int {
	switch {
	case s < hour:
		return 6
	case s < day:
		return 5
	case s < week:
		return 4
	case s < month:
		return 3
	case s < 6*month:
		return 2
	}
	return 1
}

// FrequencyLevel puts production deployments per day on the scale: on
// demand (≥ 2 a day) = 6, at least daily = 5, weekly = 4, monthly = 3,
// every six months = 2, else 1.
func FrequencyLevel(perDay float64) int {
	switch {
	case perDay >= 2:
		return 6
	case perDay >= 1:
		return 5
	case perDay >= 1.0/7:
		return 4
	case perDay >= 1.0/30:
		return 3
	case perDay >= 1.0/180:
		return 2
	}
	return 1
}

// LevelScore is the linear score of a level: 1 → 0, 6 → 10.
func LevelScore(level int) float64 { return float64(level-1) * 2 }

// RateScore is the score of a percentage metric: 0% → 10, 100% → 0.
func RateScore(rate float64) float64 { return 10 - rate*10 }

// scores of one set of values (a window or one period); nil = no value.
func scores(lt, df, rec, cf, rw *float64) map[string]*float64 {
	out := map[string]*float64{}
	if lt != nil {
		out["lead_time_for_changes"] = ptr(LevelScore(DurationLevel(*lt)))
	}
	if df != nil {
		out["deployment_frequency"] = ptr(LevelScore(FrequencyLevel(*df)))
	}
	if rec != nil {
		out["failed_deployment_recovery_time"] = ptr(LevelScore(DurationLevel(*rec)))
	}
	if cf != nil {
		out["change_failure_rate"] = ptr(RateScore(*cf))
	}
	if rw != nil {
		out["rework_rate"] = ptr(RateScore(*rw))
	}
	avg := func(names ...string) *float64 {
		var xs []float64
		for _, n := range names {
			if v := out[n]; v != nil {
				xs = append(xs, *v)
			}
		}
		return mean(xs)
	}
	out["throughput"] = avg("lead_time_for_changes", "deployment_frequency", "failed_deployment_recovery_time")
	out["stability"] = avg("change_failure_rate", "rework_rate")
	out["overall"] = avg("lead_time_for_changes", "deployment_frequency", "failed_deployment_recovery_time", "change_failure_rate", "rework_rate")
	return out
}

// doraScore is dora_score: Value is the overall score, Parts the five metric
// scores and the throughput and stability means. Without a production
// deployment in the window there is nothing to score (the frequency of 0
// would make a score of 0 describe the collection, not the team), so the
// metric has no value; likewise a period of the series without a production
// deployment has no score, since one week cannot tell "monthly" from "never".
func doraScore(freq, lt, rec, cf, rw *Metric) *Metric {
	m := &Metric{Name: "dora_score", Unit: "score", N: freq.N, Parts: map[string]*Metric{}}
	for _, p := range ScoreParts {
		m.Parts[p] = &Metric{Name: p, Unit: "score"}
	}
	if freq.N > 0 {
		s := scores(lt.P50, freq.Value, rec.P50, cf.Value, rw.Value)
		m.Value = s["overall"]
		for _, p := range ScoreParts {
			m.Parts[p].Value = s[p]
		}
	}
	for _, p := range []string{"lead_time_for_changes", "failed_deployment_recovery_time", "change_failure_rate", "rework_rate"} {
		m.Parts[p].N = map[string]*Metric{"lead_time_for_changes": lt, "failed_deployment_recovery_time": rec,
			"change_failure_rate": cf, "rework_rate": rw}[p].N
	}
	m.Parts["deployment_frequency"].N, m.Parts["throughput"].N, m.Parts["stability"].N = freq.N, freq.N, cf.N
	at := func(x *Metric, start time.Time) *float64 {
		for _, p := range x.Series {
			if p.PeriodStart.Equal(start) {
				return p.Value
			}
		}
		return nil
	}
	for _, fp := range freq.Series {
		pt := Point{PeriodStart: fp.PeriodStart, PeriodEnd: fp.PeriodEnd, N: fp.N, Partial: fp.Partial}
		var s map[string]*float64
		if fp.N > 0 {
			s = scores(at(lt, fp.PeriodStart), fp.Value, at(rec, fp.PeriodStart), at(cf, fp.PeriodStart), at(rw, fp.PeriodStart))
			pt.Value = s["overall"]
		}
		m.Series = append(m.Series, pt)
		for _, p := range ScoreParts {
			q := pt
			q.Value = s[p]
			m.Parts[p].Series = append(m.Parts[p].Series, q)
		}
	}
	return m
}
