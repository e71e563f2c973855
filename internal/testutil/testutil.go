// Package testutil holds helpers shared by tests: where the shared fixtures
// are, and reading them.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Shared returns the path of ../shared (beside the repository), failing the
// test if it is missing: fixtures are part of the contract, not optional.
func Shared(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			s := filepath.Join(filepath.Dir(d), "shared")
			if _, err := os.Stat(filepath.Join(s, "fixtures")); err != nil {
				t.Fatalf("shared fixtures not found at %s (the repository expects ../shared beside it)", s)
			}
			return s
		}
	}
	t.Fatal("go.mod not found above " + dir)
	return ""
}

// ReadFixture reads shared/fixtures/<rel>.
func ReadFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Shared(t), "fixtures", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
