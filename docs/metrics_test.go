// Package docs holds the documentation shipped with devpulse; its test keeps
// the metric definitions equal to the contract they copy.
package docs

import (
	"os"
	"testing"
)

// docs/metrics.md ships the metric definitions in the repository; it must
// stay the contract (../shared/METRICS.md) word for word.
func TestMetricsDefinitionsAreTheContract(t *testing.T) {
	contract, err := os.ReadFile("../../shared/METRICS.md")
	if os.IsNotExist(err) {
		t.Skip("../shared/METRICS.md is not beside the repository")
	}
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(shipped) != string(contract) {
		t.Error("docs/metrics.md differs from ../shared/METRICS.md: cp ../shared/METRICS.md docs/metrics.md")
	}
}
