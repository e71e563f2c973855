package metrics

// Benchmark tiers are data, not code: each year's published thresholds are a
// table, so a later report is one more entry. Source: DORA "Accelerate State
// of DevOps" 2024, as restated in METRICS.md (medium CFR ≤ 10% below high's
// 20% is as published; tiers are checked elite, high, medium, low in order).

// Bound is a tier's upper bound on a value (seconds or ratio).
type Bound struct {
	Tier      string
	Max       float64
	Inclusive bool // ≤ instead of <
}

// Benchmark is one year's thresholds.
type Benchmark struct {
	Year     int
	Bands    map[string]string // deployment frequency band → tier
	LeadTime []Bound
	CFR      []Bound
	Recovery []Bound
}

const (
	hour  = 3600.0
	day   = 24 * hour
	week  = 7 * day
	month = 30 * day // "1 month" of the report, taken as 30 days
)

// Benchmarks by year.
var Benchmarks = map[int]Benchmark{
	2024: {
		Year:     2024,
		Bands:    map[string]string{"daily": "elite", "weekly": "high", "monthly": "medium", "yearly": "low"},
		LeadTime: []Bound{{"elite", day, false}, {"high", week, false}, {"medium", month, false}, {"low", 6 * month, false}},
		CFR:      []Bound{{"elite", 0.05, true}, {"high", 0.20, true}, {"medium", 0.10, true}, {"low", 0.40, true}},
		Recovery: []Bound{{"elite", hour, false}, {"high", day, false}, {"medium", day, false}, {"low", month, false}},
	},
}

// Tier returns the first tier whose bound v meets, else low.
func Tier(bounds []Bound, v float64) string {
	for _, b := range bounds {
		if v < b.Max || (b.Inclusive && v == b.Max) {
			return b.Tier
		}
	}
	return "low"
}
