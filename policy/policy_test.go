package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/models"
)

const secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"

func mustNew(t *testing.T, p config.Privacy) *Policy {
	t.Helper()
	if p.Secret == "" && p.People != "drop" {
		p.Secret = secret
	}
	if p.People == "" {
		p.People = "pseudonymize"
	}
	if p.Titles == "" {
		p.Titles = "drop"
	}
	pol, err := New(p, []string{"*bot", "*[bot]", "project_*_bot*", "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

var (
	gl   = models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}
	jira = models.Origin{Source: "jira", Instance: "acme.atlassian.net"}
)

func token(t *testing.T, p *Policy, o models.Origin, x models.Person) string {
	t.Helper()
	return p.person(o, x, &masker{}).Token
}

func TestTokens_StableAcrossRunsAndSources(t *testing.T) {
	a := mustNew(t, config.Privacy{Identities: map[string]string{"gitlab:jdoe": "Jane.Doe@Example.com"}})
	b := mustNew(t, config.Privacy{Identities: map[string]string{"gitlab:jdoe": "jane.doe@example.com"}}) // a second run
	byEmailGitLab := token(t, a, gl, models.Person{Name: "Jane Doe", Email: "JANE.DOE@example.com"})
	byEmailJira := token(t, b, jira, models.Person{ID: "5b10ac8d82e05b22cc7d4ef5", Email: "jane.doe@example.com"})
	byAlias := token(t, a, gl, models.Person{Username: "jdoe", Name: "Jane Doe"})
	if byEmailGitLab != byEmailJira || byEmailGitLab != byAlias {
		t.Errorf("one person, three tokens: %s %s %s", byEmailGitLab, byEmailJira, byAlias)
	}
	if len(byAlias) != 16 || strings.Trim(byAlias, "0123456789abcdef") != "" {
		t.Errorf("token %q is not 16 hex characters", byAlias)
	}
	other := token(t, a, gl, models.Person{Username: "jsmith"})
	if other == byAlias {
		t.Error("two people share a token")
	}
	// The same username on another server is another account.
	if token(t, a, models.Origin{Source: "gitlab", Instance: "other.example.com"}, models.Person{Username: "jsmith"}) == other {
		t.Error("accounts on different servers share a token without an email to tie them")
	}
	c := mustNew(t, config.Privacy{Secret: "4b1f0e9d27c85a3e6f90d1b2c47a58e3f6a0b9c2d5e8f1a4b7c0d3e6f9a2b5c8"})
	if token(t, c, jira, models.Person{Email: "jane.doe@example.com"}) == byEmailJira {
		t.Error("a different secret gave the same token")
	}
}

func TestNew_RefusesToPseudonymizeWithoutSecret(t *testing.T) {
	_, err := New(config.Privacy{People: "pseudonymize", Titles: "drop"}, nil)
	if !errors.Is(err, ErrNoSecret) || !strings.Contains(err.Error(), "DEVPULSE_PRIVACY_SECRET") {
		t.Errorf("err = %v", err)
	}
	if _, err := New(config.Privacy{People: "drop", Titles: "drop"}, nil); err != nil {
		t.Errorf("people: drop needs no secret: %v", err)
	}
	if _, err := New(config.Privacy{People: "pseudonymize", Titles: "drop", Secret: "short"}, nil); err == nil {
		t.Error("a 5-character secret was accepted")
	}
	if _, err := New(config.Privacy{People: "pseudonymize", Titles: "drop", Secret: "aaaaaaaaaaaaaaaa"}, nil); err == nil || !strings.Contains(err.Error(), "too weak") {
		t.Errorf("a 16-character repeated secret: %v", err)
	}
}

func TestPeopleModes_AndBotsDecidedBeforePseudonymizing(t *testing.T) {
	bot := models.Person{Username: "renovate-bot", Name: "Renovate"}
	human := models.Person{Username: "ann", Name: "Ann Lee", Email: "ann@example.com", ID: "7"}
	tests := []struct {
		people       string
		wantHumanTok func(string) bool
	}{
		{"pseudonymize", func(s string) bool { return len(s) == 16 && !strings.Contains(s, "ann") }},
		{"drop", func(s string) bool { return s == "" }},
		{"keep", func(s string) bool { return s == "ann" }},
	}
	for _, tc := range tests {
		p := mustNew(t, config.Privacy{People: tc.people, AllowPersonalData: true})
		h := p.person(gl, human, &masker{})
		b := p.person(gl, bot, &masker{})
		if !tc.wantHumanTok(h.Token) || h.Username != "" || h.Name != "" || h.Email != "" || h.ID != "" {
			t.Errorf("%s: human = %+v", tc.people, h)
		}
		if !b.IsBot || h.IsBot {
			t.Errorf("%s: bot flags wrong: bot %+v human %+v", tc.people, b, h)
		}
	}
	p := mustNew(t, config.Privacy{})
	for name, want := range map[string]bool{"dependabot[bot]": true, "project_17_bot_3f2a": true, "ghost": true, "GitLab-Bot": true, "abbott": false, "bottle": false, "": false} {
		if got := p.IsBot(name); got != want {
			t.Errorf("IsBot(%q) = %v", name, got)
		}
	}
}

func mrBatch() *models.Batch {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	return &models.Batch{MergeRequests: []models.MergeRequest{{
		Origin: gl, ID: "mr1", ProjectPath: "acme/api", Title: "Fix login for Ann Lee (ann@example.com) with annika",
		SourceBranch: "ann/APP-12-fix-login", Labels: []string{"bug"}, CreatedAt: now, UpdatedAt: now,
		Author:  models.Person{Username: "ann", Name: "Ann Lee"},
		Commits: []models.MRCommit{{MRID: "mr1", SHA: "abc", Author: models.Person{Name: "Ann Lee", Email: "ann@example.com"}}},
		Reviews: []models.MRReview{{MRID: "mr1", ID: "mr1:note:1", Kind: models.ReviewComment, Reviewer: models.Person{Username: "bo", Name: "Bo Zhang"}}},
	}}}
}

func TestTitlesAndBranches(t *testing.T) {
	tests := []struct {
		titles, wantTitle string
	}{
		{"drop", ""},
		// Emails and the batch's people are masked; "annika" is another word and stays.
		{"keep", "Fix login for [person] ([email]) with annika"},
	}
	for _, tc := range tests {
		c, _ := mustNew(t, config.Privacy{Titles: tc.titles}).Apply(mrBatch())
		m := c.Batch().MergeRequests[0]
		if m.Title != tc.wantTitle {
			t.Errorf("titles %s: title = %q, want %q", tc.titles, m.Title, tc.wantTitle)
		}
		if m.SourceBranch != "[person]/APP-12-fix-login" {
			t.Errorf("branch = %q: names are masked, issue keys stay", m.SourceBranch)
		}
	}
	p := mustNew(t, config.Privacy{Titles: "hash"})
	c1, _ := p.Apply(mrBatch())
	c2, _ := p.Apply(mrBatch())
	h := c1.Batch().MergeRequests[0].Title
	if !strings.HasPrefix(h, "h:") || h != c2.Batch().MergeRequests[0].Title || strings.Contains(h, "Ann") {
		t.Errorf("hashed title %q not a stable hash", h)
	}
}

func TestApply_DoesNotModifyItsInput(t *testing.T) {
	in := mrBatch()
	before := mrBatch()
	mustNew(t, config.Privacy{}).Apply(in)
	if !reflect.DeepEqual(in, before) {
		t.Error("Apply changed the batch it was given")
	}
}

func TestExclusionRules(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	mr := func(id, project string, labels ...string) models.MergeRequest {
		return models.MergeRequest{Origin: gl, ID: id, ProjectPath: project, Labels: labels, CreatedAt: now, UpdatedAt: now,
			Commits: []models.MRCommit{{MRID: id, SHA: id + "-c"}}, Reviews: []models.MRReview{{MRID: id, ID: id + "-r"}}}
	}
	b := &models.Batch{
		MergeRequests: []models.MergeRequest{
			mr("m1", "acme/api"), mr("m2", "clients/contoso/portal"), mr("m3", "acme/secret-sauce"),
			mr("m4", "acme/secret-sauce/sub"), mr("m5", "acme/api", "Confidential-Client"), mr("m6", "legal/contracts/x")},
		Pipelines:   []models.Pipeline{{Origin: gl, ID: "p1", ProjectPath: "clients/contoso/portal"}, {Origin: gl, ID: "p2", ProjectPath: "acme/api"}},
		Deployments: []models.Deployment{{Origin: gl, ID: "d1", ProjectPath: "acme/api", Changes: []models.DeploymentChange{{DeploymentID: "d1", MRID: "m1"}, {DeploymentID: "d1", MRID: "m5", MRLabels: []string{"confidential-client"}}}}},
		Issues:      []models.Issue{{Origin: gl, ID: "i1", ProjectPath: "acme/api", Type: "incident"}, {Origin: gl, ID: "i2", ProjectPath: "acme/api", Type: "issue"}},
	}
	p := mustNew(t, config.Privacy{Exclude: config.Exclude{
		Projects: []string{"clients/**", "acme/secret-*"}, Groups: []string{"legal"}, Labels: []string{"confidential-client"}, IssueTypes: []string{"Incident"},
	}})
	c, counts := p.Apply(b)
	out := c.Batch()
	var kept []string
	for _, m := range out.MergeRequests {
		kept = append(kept, m.ID)
		if len(m.Commits) != 1 || len(m.Reviews) != 1 {
			t.Errorf("kept MR %s lost its children", m.ID)
		}
	}
	// acme/secret-* does not reach into a sub-path; acme/secret-sauce/sub stays.
	if strings.Join(kept, ",") != "m1,m4" {
		t.Errorf("kept MRs %v, want m1,m4", kept)
	}
	if len(out.Pipelines) != 1 || out.Pipelines[0].ID != "p2" {
		t.Errorf("pipelines = %+v", out.Pipelines)
	}
	if ch := out.Deployments[0].Changes; len(ch) != 1 || ch[0].MRID != "m1" || ch[0].MRLabels != nil {
		t.Errorf("deployment links = %+v: the link to the excluded MR must go", ch)
	}
	if len(out.Issues) != 1 || out.Issues[0].ID != "i2" {
		t.Errorf("issues = %+v", out.Issues)
	}
	want := Counts{"exclude.projects[clients/**]": 2, "exclude.projects[acme/secret-*]": 1, "exclude.groups[legal]": 1,
		"exclude.labels[confidential-client]": 2, "exclude.issue_types[Incident]": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	if r, ex := p.ExcludesProject("clients/contoso/portal"); !ex || r != "exclude.projects[clients/**]" {
		t.Errorf("ExcludesProject = %q %v: excluded projects must not even be fetched", r, ex)
	}
}

func TestBranches_MaskPersonalNamespacesAndPeopleSeenEarlierInTheRun(t *testing.T) {
	p := mustNew(t, config.Privacy{})
	// An earlier batch of the run names Ann (as an MR author).
	p.Apply(mrBatch())
	b := &models.Batch{Pipelines: []models.Pipeline{
		{Origin: gl, ID: "p1", Ref: "fix/ann-login"},                 // Ann, seen in the earlier batch
		{Origin: gl, ID: "p2", Ref: "zkowalski/speed-up-search"},     // never seen: a personal namespace
		{Origin: gl, ID: "p3", Ref: "feature/APP-7-export"},          // a category and an issue key stay
		{Origin: gl, ID: "p4", Ref: "refs/merge-requests/5394/head"}, // GitLab's MR refs stay
		{Origin: gl, ID: "p5", Ref: "APP-12/retry"},
		{Origin: gl, ID: "p6", Ref: "main"},
		{Origin: gl, ID: "p7", Ref: "renovate/pin-dependencies"},
	}}
	c, _ := p.Apply(b)
	want := []string{"fix/[person]-login", "[person]/speed-up-search", "feature/APP-7-export", "refs/merge-requests/5394/head",
		"APP-12/retry", "main", "renovate/pin-dependencies"}
	for i, pl := range c.Batch().Pipelines {
		if pl.Ref != want[i] {
			t.Errorf("ref %q became %q, want %q", b.Pipelines[i].Ref, pl.Ref, want[i])
		}
	}
}

// Real-world naming habits: names in refs, labels, environments, job and
// sprint names, in any case and with any separator, are masked; so are
// given or family names alone and an email's local part.
func TestMask_RealWorldNamingHabits(t *testing.T) {
	p := mustNew(t, config.Privacy{Titles: "keep"})
	p.Learn(gl, []models.Person{
		{Username: "hyamada", Name: "Hanako Yamada"},
		{Username: "ikoba", Name: "Ichiro Kobayashi", Email: "ichiro.kobayashi@acme.example"},
		{Username: "tanaka3", Name: "Kenji Tanaka"},
		{Username: "alice-hx7", Name: "Alice Hoxha"},
		{Username: "tsuzuki", Name: "Taro Suzuki"},
		{Username: "ymori", Name: "Yuki Holdout-Mori"},
		{Username: "ravi", Name: "Ravi Shankar"},
	})
	b := &models.Batch{
		MergeRequests: []models.MergeRequest{{Origin: gl, ID: "m1", ProjectPath: "acme/shop", Title: "Export for HANAKO YAMADA",
			SourceBranch: "feature/Hanako-Yamada-export", Labels: []string{"owner::alice-hx7", "reported-by-Taro Suzuki", "bug"}}},
		Pipelines: []models.Pipeline{{Origin: gl, ID: "p1", ProjectPath: "acme/shop", Ref: "hotfix/ichiro.kobayashi-crash"},
			{Origin: gl, ID: "p2", ProjectPath: "acme/shop", Ref: "feature/tanaka-paginate"}},
		Deployments: []models.Deployment{{Origin: gl, ID: "d1", ProjectPath: "acme/shop", Ref: "review/alice-hx7-coupon",
			Environment: "review/alice-hx7-coupon", JobName: "deploy review/alice-hx7-coupon"}, {Origin: gl, ID: "d2", ProjectPath: "acme/shop", Ref: "main", Environment: "production", JobName: "deploy_production"}},
		Issues: []models.Issue{{Origin: gl, ID: "i1", ProjectPath: "acme/shop", Labels: []string{"assigned:kenji_tanaka", "incident"},
			Status: "Waiting for Kenji Tanaka", Type: "Escalation (Ravi Shankar)",
			Transitions: []models.IssueTransition{{IssueID: "i1", Field: models.FieldStatus, From: "In Progress", To: "Waiting for Kenji Tanaka"}}}},
		Sprints: []models.Sprint{{Origin: gl, ID: "s1", ProjectPath: "acme/shop", Name: "SHOP Sprint 1 (Yuki Holdout-Mori)"}, {Origin: gl, ID: "s2", ProjectPath: "acme/shop", Name: "Ravi's sprint"}},
	}
	c, _ := p.Apply(b)
	out := c.Batch()
	got := []string{out.MergeRequests[0].Title, out.MergeRequests[0].SourceBranch, strings.Join(out.MergeRequests[0].Labels, ","),
		out.Pipelines[0].Ref, out.Pipelines[1].Ref, out.Deployments[0].Ref, out.Deployments[0].Environment, out.Deployments[0].JobName,
		out.Deployments[1].Environment, out.Deployments[1].JobName, strings.Join(out.Issues[0].Labels, ","), out.Sprints[0].Name, out.Sprints[1].Name,
		out.Issues[0].Status, out.Issues[0].Type, out.Issues[0].Transitions[0].From, out.Issues[0].Transitions[0].To}
	want := []string{"Export for [person]", "feature/[person]-export", "owner::[person],reported-by-[person],bug",
		"hotfix/[person]-crash", "feature/[person]-paginate", "review/[person]-coupon", "review/[person]-coupon", "deploy review/[person]-coupon",
		"production", "deploy_production", "assigned:[person],incident", "SHOP Sprint 1 ([person])", "[person]'s sprint",
		"Waiting for [person]", "Escalation ([person])", "In Progress", "Waiting for [person]"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%q, want %q", got[i], want[i])
		}
	}
	// Control: a policy that never learned these people leaves the names in:
	// the masking above is what removed them.
	c2, _ := mustNew(t, config.Privacy{Titles: "keep"}).Apply(b)
	if l := c2.Batch().MergeRequests[0].Labels[1]; l != "reported-by-Taro Suzuki" {
		t.Fatalf("control: %q", l)
	}
}

// privacy.refs: hash keeps equal refs equal (deployments still match their
// MRs' target branch); drop lands no branch names at all.
func TestRefs_HashAndDrop(t *testing.T) {
	b := &models.Batch{
		MergeRequests: []models.MergeRequest{{Origin: gl, ID: "m1", ProjectPath: "a/b", SourceBranch: "feature/x", TargetBranch: "main"}},
		Pipelines:     []models.Pipeline{{Origin: gl, ID: "p1", ProjectPath: "a/b", Ref: "feature/x"}},
		Deployments:   []models.Deployment{{Origin: gl, ID: "d1", ProjectPath: "a/b", Ref: "main"}},
	}
	c, _ := mustNew(t, config.Privacy{Refs: "hash"}).Apply(b)
	o := c.Batch()
	if !strings.HasPrefix(o.MergeRequests[0].SourceBranch, "h:") || o.MergeRequests[0].SourceBranch != o.Pipelines[0].Ref ||
		o.MergeRequests[0].TargetBranch != o.Deployments[0].Ref || strings.Contains(o.Deployments[0].Ref, "main") {
		t.Errorf("hash: %+v %+v %+v", o.MergeRequests[0], o.Pipelines[0], o.Deployments[0])
	}
	c, _ = mustNew(t, config.Privacy{Refs: "drop"}).Apply(b)
	if o := c.Batch(); o.MergeRequests[0].SourceBranch != "" || o.Pipelines[0].Ref != "" || o.Deployments[0].Ref != "" {
		t.Errorf("drop kept refs: %+v", o)
	}
}

// A member list stating an account and its email links them: the person's
// MRs (keyed by username) and commits (keyed by email) share one token.
func TestLearn_LinksAccountsToEmails(t *testing.T) {
	p := mustNew(t, config.Privacy{})
	b := &models.Batch{MergeRequests: []models.MergeRequest{{Origin: gl, ID: "m1", ProjectPath: "a/b",
		Author:  models.Person{Username: "ann", Name: "Ann Lee"},
		Commits: []models.MRCommit{{MRID: "m1", SHA: "s", Author: models.Person{Name: "Ann Lee", Email: "Ann@Example.com"}}}}}}
	c, _ := p.Apply(b)
	if m := c.Batch().MergeRequests[0]; m.Author.Token == m.Commits[0].Author.Token {
		t.Fatal("control: without a link the two are different tokens")
	}
	p.Learn(gl, []models.Person{{Username: "ann", Name: "Ann Lee", Email: "ann@example.com", ID: "7"}})
	c, _ = p.Apply(b)
	if m := c.Batch().MergeRequests[0]; m.Author.Token != m.Commits[0].Author.Token {
		t.Errorf("linked account and email: %s vs %s", m.Author.Token, m.Commits[0].Author.Token)
	}
}

// TestLearn_SamePersonAgainAsHuman: learning is remembered per person and
// per bot flag. A name first seen on a bot account (whole names only) and
// then on a human one must still gain its given and family names.
func TestLearn_SamePersonAgainAsHuman(t *testing.T) {
	m := &masker{}
	x := models.Person{Username: "hanako.yamada", Name: "Hanako Yamada"}
	m.learn(x, true)
	m.learn(x, true)
	if got := m.mask("thanks Hanako"); got != "thanks Hanako" {
		t.Fatalf("bot names are learned whole only, got %q", got)
	}
	m.learn(x, false)
	if got := m.mask("thanks Hanako"); strings.Contains(got, "Hanako") {
		t.Errorf("given name of a human account not masked: %q", got)
	}
}
