// Package aiassist decides which merge requests are AI-assisted (METRICS.md
// ai_assisted_rate) from what only a collector sees, before it is dropped.
package aiassist

import (
	"path"
	"regexp"
	"strings"
)

// Rule decides whether a merge request is AI-assisted (METRICS.md
// ai_assisted_rate) from what only the collector sees: commit trailers and
// the author's username. The messages and names never land; the flag does.
type Rule struct {
	Assistants    []string // Co-authored-by names or emails containing one of these
	Labels        []string
	AgentAccounts []string // glob patterns over usernames
}

var (
	coAuthor    = regexp.MustCompile(`(?im)^\s*co-authored-by:\s*(.+)$`)
	aiTrailer   = regexp.MustCompile(`(?im)^\s*(?:assisted-by|generated-by|made-with):\s*\S`)
	lowerString = strings.ToLower
)

// Assisted tells whether an MR with these commit messages, labels and author is assisted.
func (r Rule) Assisted(messages []string, labels []string, author string) bool {
	for _, m := range messages {
		if aiTrailer.MatchString(m) {
			return true
		}
		for _, c := range coAuthor.FindAllStringSubmatch(m, -1) {
			who := lowerString(c[1])
			for _, a := range r.Assistants {
				if a != "" && strings.Contains(who, lowerString(a)) {
					return true
				}
			}
		}
	}
	for _, l := range labels {
		for _, want := range r.Labels {
			if strings.EqualFold(l, want) {
				return true
			}
		}
	}
	for _, pat := range r.AgentAccounts {
		if ok, _ := path.Match(lowerString(pat), lowerString(author)); ok && author != "" {
			return true
		}
	}
	return false
}
