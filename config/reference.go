package config

import (
	_ "embed"
	"sort"
	"strings"
)

//go:embed reference.yaml
var reference string

// Reference is the documented configuration file with every key: the
// shared sections from reference.yaml, and each source type's section from
// its collector package (Kind.Sample), in type order. docs/ holds its
// output; a test keeps the two equal and loads it through the strict
// loader, so neither the docs nor the binary can drift.
func Reference(kinds map[string]Kind) string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	samples := make([]string, 0, len(names))
	for _, n := range names {
		samples = append(samples, strings.TrimRight(kinds[n].Sample, "\n")+"\n")
	}
	return strings.Replace(reference, "{{sources}}\n", strings.Join(samples, "\n"), 1)
}
