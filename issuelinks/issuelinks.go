// Package issuelinks derives the tracker issues a merge request names, from
// its title, source branch, description and commit messages, before that
// free text is dropped (METRICS.md "Issue links"). Only the issue keys land,
// as structured rows; the text never does.
package issuelinks

import (
	"regexp"
	"sort"
	"strings"

	"github.com/devpulse/devpulse/models"
)

// Trackers of a link.
const (
	Jira    = "jira"
	Redmine = "redmine"
)

// Where a link was found.
const (
	ViaTitle       = "title"
	ViaBranch      = "branch"
	ViaDescription = "description"
	ViaCommit      = "commit"
)

var (
	// A JIRA key: a project key (a letter, then letters, digits or _) and a number.
	// Boundaries are checked by jiraKeys (RE2 has no look-around).
	jiraKey = regexp.MustCompile(`[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,6}`)
	// Redmine's referencing and fixing keywords (refs, references, fixes,
	// closes ...), each followed by one or more #ids: "refs #12, #13 and #14".
	redmineRefs = regexp.MustCompile(`(?i)\b(?:refs|references|ref|issueid|fixes|fixed|fix|closes|closed|close|resolves|resolved)\b[\s:]*((?:#\d{1,7}(?:\s*(?:,|&|and)?\s*)?)+)`)
	redmineID   = regexp.MustCompile(`#(\d{1,7})`)
	// A redmine-123 (or redmine_123, redmine/123) branch.
	redmineBranch = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])redmine[-_/]?(\d{1,7})(?:$|[^0-9])`)
)

// Field is one piece of free text of a merge request and where it is from.
type Field struct {
	Via, Text string
}

// Extract lists the candidate links of a merge request, each key once (the
// first place it was found wins; fields are read in the order given).
// Candidates are filtered by Filter against the configured trackers before
// anything lands: "UTF-8" looks like a JIRA key too.
func Extract(mrID string, fields ...Field) []models.IssueLink {
	seen := map[string]bool{}
	var out []models.IssueLink
	add := func(tracker, key, via string) {
		k := tracker + ":" + key
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, models.IssueLink{MRID: mrID, Tracker: tracker, Key: key, Via: via})
	}
	// Redmine ids start at 1 and carry no leading zeros: "#007" is 7, and
	// "#0" or "redmine-0" names no issue (its key would be empty).
	addRedmine := func(id, via string) {
		if id = strings.TrimLeft(id, "0"); id != "" {
			add(Redmine, id, via)
		}
	}
	for _, f := range fields {
		text := f.Text
		if f.Via == ViaBranch {
			// Branches are often lower case (feature/app-12-login): JIRA
			// keys are upper case, so the branch is read upper-cased.
			text = strings.ToUpper(text)
		}
		for _, key := range jiraKeys(text) {
			add(Jira, key, f.Via)
		}
		if f.Via == ViaBranch {
			for _, m := range redmineBranch.FindAllStringSubmatch(f.Text, -1) {
				addRedmine(m[1], f.Via)
			}
			continue
		}
		for _, m := range redmineRefs.FindAllStringSubmatch(text, -1) {
			for _, id := range redmineID.FindAllStringSubmatch(m[1], -1) {
				addRedmine(id[1], f.Via)
			}
		}
	}
	return out
}

// jiraKeys are the JIRA-shaped keys of text that stand alone: not inside a
// longer word or number (xAPP-12, APP-12x, APP-123456789).
func jiraKeys(text string) []string {
	word := func(b byte) bool {
		return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
	}
	var out []string
	for _, ix := range jiraKey.FindAllStringIndex(text, -1) {
		if ix[0] > 0 && word(text[ix[0]-1]) || ix[1] < len(text) && word(text[ix[1]]) {
			continue
		}
		if key := text[ix[0]:ix[1]]; !strings.HasPrefix(key, "REDMINE-") { // a redmine-123 branch
			out = append(out, key)
		}
	}
	return out
}

// Trackers is what the configuration says links may point to.
type Trackers struct {
	// JiraProjects are the project keys of the JIRA sources (upper case);
	// AnyJira: a JIRA source scoped by JQL alone, whose projects are unknown.
	JiraProjects map[string]bool
	AnyJira      bool
	Redmine      bool // a Redmine source is configured
}

// Keep tells whether a candidate link names an issue of a configured tracker.
func (t Trackers) Keep(l models.IssueLink) bool {
	switch l.Tracker {
	case Jira:
		project, _, _ := strings.Cut(l.Key, "-")
		return t.AnyJira || t.JiraProjects[project]
	case Redmine:
		return t.Redmine && l.Key != ""
	}
	return false
}

// Filter keeps the links of the batch's merge requests that Keep accepts,
// sorted (tracker, key) so a re-land writes the same rows.
func (t Trackers) Filter(b *models.Batch) {
	for i := range b.MergeRequests {
		m := &b.MergeRequests[i]
		kept := m.IssueLinks[:0]
		for _, l := range m.IssueLinks {
			if t.Keep(l) {
				kept = append(kept, l)
			}
		}
		sort.Slice(kept, func(a, c int) bool {
			if kept[a].Tracker != kept[c].Tracker {
				return kept[a].Tracker < kept[c].Tracker
			}
			return kept[a].Key < kept[c].Key
		})
		m.IssueLinks = kept
	}
}
