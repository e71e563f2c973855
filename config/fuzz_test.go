package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/devpulse/devpulse/config"
)

// FuzzLoad: whatever the file holds, the loader answers a config or an
// error, never a panic, and a loaded config is valid.
func FuzzLoad(f *testing.F) {
	f.Add(valid)
	for _, p := range []string{"../devpulse.example.yaml", "../docs/devpulse.reference.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{"", "sources: null", "sources:\n  gl: []", "sources:\n  gl:\n    type: gitlab\n    url: ::", "warehouse: 3", "privacy:\n  secret: [1,2]",
		valid + "\nschedule:\n  jobs:\n    - {name: a, cron: '* * *'}\n", valid + "\nflow:\n  active_statuses: {}\n"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p, err := os.CreateTemp(dir, "*.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p.Name())
		p.WriteString(body)
		p.Close()
		c, err := load(Options{Path: p.Name(), Env: env(map[string]string{"TEST_GL_TOKEN": "tok"})})
		if err != nil {
			if !strings.Contains(err.Error(), filepath.Base(p.Name())) && !strings.Contains(err.Error(), "config") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded a config that does not validate: %v", err)
		}
	})
}

// FuzzParseDuration: a parsed duration is positive or zero and prints back
// to the same value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10m", "365d", "2w", "1h30m", "0s", "-5m", "30", "200000d", "9999999999999999999d", "1.5d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		back, err := time.ParseDuration(time.Duration(d).String())
		if err != nil || Duration(back) != d {
			t.Fatalf("%q → %v does not print back (%v)", s, d, err)
		}
	})
}
