package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/internal/testutil"
)

// dumpWarehouse renders every table of the warehouse, found through
// information_schema, as CSV: what anyone with read access could see.
func dumpWarehouse(t *testing.T, cfg string) string {
	t.Helper()
	code, out, errs := runCLI(t, "query", "--config", cfg, "--format", "csv",
		`SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1`)
	if code != 0 {
		t.Fatal(errs)
	}
	tables := strings.Fields(out)[1:]
	if len(tables) < 8 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var sb strings.Builder
	for _, tb := range tables {
		code, out, errs := runCLI(t, "query", "--config", cfg, "--format", "csv", fmt.Sprintf(`SELECT * FROM %q`, tb))
		if code != 0 {
			t.Fatal(errs)
		}
		sb.WriteString(out)
	}
	return sb.String()
}

func found(dump string, needles []string) []string {
	low := strings.ToLower(dump)
	var hits []string
	seen := map[string]bool{}
	for _, n := range needles {
		n = strings.TrimSpace(n)
		if len(n) < 4 || seen[n] {
			continue
		}
		seen[n] = true
		if strings.Contains(low, strings.ToLower(n)) {
			hits = append(hits, n)
		}
	}
	return hits
}

func TestPrivacy_NothingPersonalReachesTheWarehouse(t *testing.T) {
	rec, err := sandbox.StartRecorded(filepath.Join(testutil.Shared(t), "fixtures"), "rec-token")
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	org := sandbox.Generate(3, sandbox.Size{Projects: 2, MRsPerProject: 60, PipelinesPerProject: 40, DeploymentsPerProject: 8, IssuesPerProject: 20}, orgNow)
	srv := sandbox.Start(org, sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	rm := sandbox.StartRedmine(sandbox.GenerateRedmine(4, 1, 40, orgNow), "rm-leak-key", 0)
	defer rm.Close()
	jr := sandbox.StartJira(sandbox.GenerateJira(4, 1, 40, orgNow), true)
	defer jr.Close()
	t.Setenv("JR_LEAK_TOKEN", "jr-leak-token")
	t.Setenv("REC_TOKEN", "rec-token")
	t.Setenv("RM_LEAK_KEY", "rm-leak-key")

	personal := append(append(append([]string{}, rec.Personal...), org.PersonalStrings()...), org.FreeText()...)
	// The sandbox Redmine names its people "Redmine Admin" and "User N" and describes every issue.
	personal = append(personal, "Redmine Admin", "Reported by a customer", "rm-leak-key")
	// The sandbox Jira's reporter, changelog authors, emails and descriptions.
	personal = append(personal, "Reporting Person", "reporter@acme.example", "Steps to reproduce", "Person 1,", "p1@acme.example", "jr-leak-token")
	if len(rec.Personal) < 50 {
		t.Fatalf("found only %d personal strings in the recordings; the walker is broken", len(rec.Personal))
	}

	collect := func(t *testing.T, privacy string) string {
		t.Helper()
		dir := t.TempDir()
		body := fmt.Sprintf(`sources:
  sandbox:
    type: gitlab
    url: %s
    token_env: SANDBOX_TOKEN
    groups: [acme]
    rate_limit: 1000
  recorded:
    type: gitlab
    url: %s
    token_env: REC_TOKEN
    projects: [%s]
    lookback: 3650d
    rate_limit: 1000
  redmine:
    type: redmine
    url: %s
    token_env: RM_LEAK_KEY
    projects: [ops-1]
    story_points_field: Story Points
  jira:
    type: jira
    url: %s
    email: reader@acme.example
    token_env: JR_LEAK_TOKEN
    projects: [APP]
    boards: [1]
warehouse:
  path: %s
privacy:
  secret: leak-c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0
%s`, srv.URL, rec.URL, sandbox.RecordedProjectPath, rm.URL, jr.URL, filepath.Join(dir, "w.duckdb"), privacy)
		cfg := filepath.Join(dir, "devpulse.yaml")
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errs := runCLI(t, "collect", "--config", cfg); code != 0 {
			t.Fatalf("collect exit %d:\n%s\n%s", code, out, errs)
		}
		dump := dumpWarehouse(t, cfg)
		if !strings.Contains(dump, "gitlab:127.0.0.1") || !strings.Contains(dump, ":12345678:mr:1,") || !strings.Contains(dump, "redmine:127.0.0.1") || !strings.Contains(dump, "jira:127.0.0.1") {
			t.Fatalf("the dump lacks the collected records:\n%.500s", dump)
		}
		return dump
	}

	t.Run("default policy: nothing personal, no free text", func(t *testing.T) {
		dump := collect(t, "")
		if hits := found(dump, personal); len(hits) > 0 {
			t.Errorf("%d personal or free-text values reached the warehouse, e.g. %q", len(hits), hits[:min(5, len(hits))])
			for _, line := range strings.Split(dump, "\n") {
				if strings.Contains(strings.ToLower(line), strings.ToLower(hits[0])) {
					t.Logf("in: %s", line)
					break
				}
			}
		}
		if hits := found(dump, append(append(rec.Titles, org.Titles()...), "Issue 1,", "Issue 2,", "Do the thing")); len(hits) > 0 {
			t.Errorf("titles landed although privacy.titles defaults to drop: %q", hits[:min(5, len(hits))])
		}
	})
	// Controls: the same search finds what a policy deliberately lets through,
	// so the test above would fail if a field leaked.
	t.Run("control: kept titles are found", func(t *testing.T) {
		dump := collect(t, "  titles: keep\n")
		if hits := found(dump, rec.Titles); len(hits) < 5 {
			t.Errorf("with titles: keep only %d recorded titles were found in the dump", len(hits))
		}
	})
	t.Run("control: kept people are found", func(t *testing.T) {
		dump := collect(t, "  people: keep\n  allow_personal_data: true\n")
		if hits := found(dump, []string{"emilie", "tayloramurphy", "hackwaly"}); len(hits) != 3 {
			t.Errorf("with people: keep, found only %v of the recorded usernames", hits)
		}
	})
}
