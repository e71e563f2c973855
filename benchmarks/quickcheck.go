// Package benchmarks holds the published benchmark data devpulse compares a
// team with, embedded so a build needs nothing outside the repository. See
// dora-quick-check/PROVENANCE.md for where each file comes from.
package benchmarks

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed dora-quick-check/2025-industry_metrics.json dora-quick-check/2025-organization_size_metrics.json
var quickCheck embed.FS

// Reference is a group's mean and standard deviation of one Quick Check
// score (0–10, higher is better).
type Reference struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Group is the 2025 Quick Check reference of one industry or organisation size.
type Group struct {
	Key, Name string
	Edition   int
	// Scores by devpulse's names: overall, throughput, stability and the five
	// metric names (lead_time_for_changes, deployment_frequency,
	// change_failure_rate, failed_deployment_recovery_time, rework_rate).
	Scores map[string]Reference
}

// fileKeys maps the files' names to devpulse's; flipped ones are stored with
// higher = worse and shown as 10 − mean.
var fileKeys = []struct {
	file, name string
	flipped    bool
}{
	{"performance_average", "overall", false},
	{"software_delivery_throughput", "throughput", false},
	{"software_delivery_instability", "stability", true},
	{"leadtime", "lead_time_for_changes", false},
	{"deployfreq", "deployment_frequency", false},
	{"changefailure", "change_failure_rate", true},
	{"failurerecovery", "failed_deployment_recovery_time", false},
	{"rework", "rework_rate", true},
}

// groups is parsed once; the data is part of the binary, so a parse error is
// a build defect and panics in the tests that load it.
var groups = func() map[string]Group {
	out := map[string]Group{}
	// The organisation-size file first, so the industry file's "all" (All
	// industries) is the one kept.
	for _, f := range []struct {
		path         string
		flipRecovery bool // see PROVENANCE.md: this file's recovery means are inverted
	}{{"dora-quick-check/2025-organization_size_metrics.json", true}, {"dora-quick-check/2025-industry_metrics.json", false}} {
		raw, err := quickCheck.ReadFile(f.path)
		if err != nil {
			panic(err)
		}
		var doc map[string]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &doc); err != nil {
			panic(fmt.Sprintf("%s: %v", f.path, err))
		}
		for key, fields := range doc {
			g := Group{Key: key, Edition: 2025, Scores: map[string]Reference{}}
			_ = json.Unmarshal(fields["name"], &g.Name)
			for _, k := range fileKeys {
				var r Reference
				if err := json.Unmarshal(fields[k.file], &r); err != nil {
					panic(fmt.Sprintf("%s: %s.%s: %v", f.path, key, k.file, err))
				}
				if k.flipped || (f.flipRecovery && k.file == "failurerecovery") {
					r.Mean = 10 - r.Mean
				}
				g.Scores[k.name] = r
			}
			out[key] = g
		}
	}
	return out
}()

// QuickCheck is the reference group of metrics.benchmark_industry.
func QuickCheck(key string) (Group, error) {
	g, ok := groups[key]
	if !ok {
		return Group{}, fmt.Errorf("no DORA 2025 reference %q (industries and organisation sizes: %s)", key, strings.Join(QuickCheckKeys(), ", "))
	}
	return g, nil
}

// QuickCheckKeys lists every industry and organisation size, sorted.
func QuickCheckKeys() []string {
	out := make([]string, 0, len(groups))
	for k := range groups {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
