// Package policy is the privacy stage between every collector and every
// warehouse: it drops what contracts exclude, turns people into pseudonyms and
// masks personal data in the text it keeps. Engines accept only a *Cleared
// batch, which only this package can make, so nothing can land around it.
package policy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/models"
)

// Cleared is a batch that went through the policy.
type Cleared struct{ b *models.Batch }

// Batch gives engines read access to the cleared records.
func (c *Cleared) Batch() *models.Batch { return c.b }

// Counts is how many records each rule removed (counts only, never which).
type Counts map[string]int

// Add merges o into c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

type rule struct {
	name  string
	match func(project string, labels []string, typ string) bool
}

// Policy is immutable after New and safe for concurrent use.
type Policy struct {
	secret     []byte
	people     string
	titles     string
	refs       string // mask | hash | drop
	identities map[string]string
	known      *masker // people seen during this run, for masking text
	cacheMu    sync.RWMutex
	cache      map[string]string
	bots       []*regexp.Regexp
	projRules  []rule // decide on the project alone: applied to scopes before fetching too
	recRules   []rule // need the record: labels, types
	nsMu       sync.RWMutex
	namespaces map[string]string // "/alice/" → "/person-…/" of personal projects, for URLs
	links      map[string]string // "source:host:account" → email, from member lists
}

// ErrNoSecret is returned when people would be pseudonymized without a key.
var ErrNoSecret = errors.New("privacy.secret is not set: people cannot be pseudonymized without it; set DEVPULSE_PRIVACY_SECRET to a long random value (e.g. `openssl rand -hex 32`), or set privacy.people: drop")

// New builds the policy from config. botPatterns are metrics.bot_authors.
func New(p config.Privacy, botPatterns []string) (*Policy, error) {
	if p.Secret == "" && (p.People == "pseudonymize" || p.Titles == "hash" || p.Refs == "hash") {
		return nil, ErrNoSecret
	}
	if p.Secret != "" {
		if why := config.SecretWeakness(p.Secret.Reveal()); why != "" {
			return nil, fmt.Errorf("privacy.secret is too weak: %s", why)
		}
	}
	pol := &Policy{secret: []byte(p.Secret.Reveal()), people: p.People, titles: p.Titles, refs: p.Refs, identities: map[string]string{}, known: &masker{}, cache: map[string]string{}}
	for alias, email := range p.Identities {
		pol.identities[strings.ToLower(alias)] = strings.ToLower(strings.TrimSpace(email))
	}
	for _, b := range botPatterns {
		pol.bots = append(pol.bots, glob(b, false))
	}
	for _, g := range p.Exclude.Projects {
		re := glob(g, true)
		pol.projRules = append(pol.projRules, rule{"exclude.projects[" + g + "]", func(project string, _ []string, _ string) bool { return re.MatchString(project) }})
	}
	for _, g := range p.Exclude.Groups {
		prefix := strings.Trim(g, "/") + "/"
		pol.projRules = append(pol.projRules, rule{"exclude.groups[" + g + "]", func(project string, _ []string, _ string) bool { return strings.HasPrefix(project, prefix) }})
	}
	for _, l := range p.Exclude.Labels {
		l := l
		pol.recRules = append(pol.recRules, rule{"exclude.labels[" + l + "]", func(_ string, labels []string, _ string) bool {
			for _, x := range labels {
				if strings.EqualFold(x, l) {
					return true
				}
			}
			return false
		}})
	}
	for _, t := range p.Exclude.IssueTypes {
		t := t
		pol.recRules = append(pol.recRules, rule{"exclude.issue_types[" + t + "]", func(_ string, _ []string, typ string) bool { return strings.EqualFold(typ, t) }})
	}
	return pol, nil
}

// glob compiles a pattern where * matches anything (within a path segment when
// pathy, with ** crossing segments).
func glob(pattern string, pathy bool) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("(?i)^")
	for i := 0; i < len(pattern); i++ {
		switch {
		case pathy && strings.HasPrefix(pattern[i:], "**"):
			sb.WriteString(".*")
			i++
		case pattern[i] == '*' && pathy:
			sb.WriteString("[^/]*")
		case pattern[i] == '*':
			sb.WriteString(".*")
		default:
			sb.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

// ExcludesProject tells whether a whole project is excluded, so collectors
// need not even fetch it. It returns the rule's name.
func (p *Policy) ExcludesProject(path string) (string, bool) {
	for _, r := range p.projRules {
		if r.match(path, nil, "") {
			return r.name, true
		}
	}
	return "", false
}

// Excluded tells whether a record with these attributes is excluded, and by
// which rule. Purge uses it on landed rows, so the rules are written once.
func (p *Policy) Excluded(project string, labels []string, typ string) (string, bool) {
	for _, r := range p.projRules {
		if r.match(project, labels, typ) {
			return r.name, true
		}
	}
	for _, r := range p.recRules {
		if r.match(project, labels, typ) {
			return r.name, true
		}
	}
	return "", false
}

// IsBot applies metrics.bot_authors to a raw username.
func (p *Policy) IsBot(username string) bool {
	if username == "" {
		return false
	}
	for _, re := range p.bots {
		if re.MatchString(username) {
			return true
		}
	}
	return false
}

// key is the normalized identifier of a person: the lower-cased email when
// known (so one person is one token across GitLab, JIRA and Redmine), else an
// alias from privacy.identities, else the account at its source.
func (p *Policy) key(o models.Origin, x models.Person) string {
	if x.Email != "" {
		return "email:" + strings.ToLower(strings.TrimSpace(x.Email))
	}
	for _, a := range []string{x.Username, x.ID} {
		if a == "" {
			continue
		}
		if e, ok := p.identities[strings.ToLower(o.Source+":"+a)]; ok {
			return "email:" + e
		}
		p.nsMu.RLock()
		e, ok := p.links[strings.ToLower(o.Source+":"+o.Instance+":"+a)]
		p.nsMu.RUnlock()
		if ok {
			return "email:" + e
		}
	}
	switch {
	case x.Username != "":
		return "user:" + o.Source + ":" + o.Instance + ":" + strings.ToLower(x.Username)
	case x.ID != "":
		return "id:" + o.Source + ":" + o.Instance + ":" + x.ID
	case x.Name != "":
		return "name:" + o.Source + ":" + o.Instance + ":" + strings.ToLower(x.Name)
	}
	return ""
}

// Token is the pseudonym: HMAC-SHA256(secret, key), 16 hex characters.
// The same few thousand people recur in every batch, so tokens are cached
// (bounded: the cache is dropped when it grows past tokenCacheMax).
func (p *Policy) token(key string) string {
	p.cacheMu.RLock()
	t, ok := p.cache[key]
	p.cacheMu.RUnlock()
	if ok {
		return t
	}
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte(key))
	t = hex.EncodeToString(m.Sum(nil))[:16]
	p.cacheMu.Lock()
	if len(p.cache) >= tokenCacheMax {
		p.cache = map[string]string{}
	}
	p.cache[key] = t
	p.cacheMu.Unlock()
	return t
}

const tokenCacheMax = 200_000

func (p *Policy) person(o models.Origin, x models.Person, m *masker) models.Person {
	if x.Token != "" && x.Username == "" && x.Email == "" && x.Name == "" && x.ID == "" {
		return x // already cleared
	}
	bot := x.IsBot || p.IsBot(x.Username)
	m.learn(x, bot)
	switch p.people {
	case "drop":
		return models.Person{IsBot: bot}
	case "keep":
		for _, v := range []string{x.Username, x.Email, x.Name, x.ID} {
			if v != "" {
				return models.Person{Token: v, IsBot: bot}
			}
		}
		return models.Person{IsBot: bot}
	}
	k := p.key(o, x)
	if k == "" {
		return models.Person{IsBot: bot}
	}
	return models.Person{Token: p.token(k), IsBot: bot}
}

var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// masker hides known people inside text the policy keeps. It remembers
// everyone the policy saw during the run and every member list it was given
// (so the result does not depend on which stream ran first), indexed by the
// first letter so masking stays linear in the text however many people
// there are. What it matches, in any case: a person's username, full name
// (with any of space, '-', '.', '_' between the parts), email and its local
// part, and each given or family name alone (3 letters or more).
type masker struct {
	mu       sync.RWMutex
	set      map[string]bool
	byPrefix map[rune][]string // normalized words, longest first
	// learned holds the people already learned: most records name someone
	// seen before, and splitting and normalizing their names again was 6% of
	// landing 822k rows. It grows with the people seen, as set does.
	learned map[learnedKey]bool
}

type learnedKey struct {
	username, name, email string
	bot                   bool
}

const minMaskLen = 3

func isSep(r rune) bool { return r == ' ' || r == '-' || r == '.' || r == '_' }

// normalize lower-cases a word and turns each run of separators into one
// space, so "Hanako-Yamada" and "hanako.yamada" are one entry.
func normalize(w string) string {
	var sb strings.Builder
	sep := false
	for _, r := range strings.TrimSpace(w) {
		if isSep(r) {
			sep = true
			continue
		}
		if sep && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sep = false
		sb.WriteRune(unicode.ToLower(r))
	}
	return sb.String()
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.ToLower(r)
}

// words lists what of a person can appear in text, normalized. A bot's
// name parts are not names ("Release Token", "Renovate Bot"): masking them
// alone would mask release/ and renovate/ branches.
func words(x models.Person, parts bool) []string {
	var out []string
	add := func(w string) {
		if w = normalize(w); utf8.RuneCountInString(w) >= minMaskLen {
			out = append(out, w)
		}
	}
	local, _, _ := strings.Cut(x.Email, "@")
	for _, w := range []string{x.Username, x.Name, local} {
		add(w)
		if !parts {
			continue
		}
		for _, part := range strings.FieldsFunc(w, isSep) {
			add(part)
		}
	}
	return out
}

func (m *masker) learn(x models.Person, bot bool) {
	lk := learnedKey{x.Username, x.Name, x.Email, bot}
	m.mu.RLock()
	known := m.learned[lk]
	m.mu.RUnlock()
	if known {
		return
	}
	ws := words(x, !bot)
	defer func() {
		m.mu.Lock()
		if m.learned == nil {
			m.learned = map[learnedKey]bool{}
		}
		m.learned[lk] = true
		m.mu.Unlock()
	}()
	if len(ws) == 0 {
		return
	}
	m.mu.RLock()
	fresh := false
	for _, w := range ws {
		if !m.set[w] {
			fresh = true
		}
	}
	m.mu.RUnlock()
	if !fresh {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set == nil {
		m.set, m.byPrefix = map[string]bool{}, map[rune][]string{}
	}
	for _, w := range ws {
		if m.set[w] {
			continue
		}
		m.set[w] = true
		p := firstRune(w)
		l := append(m.byPrefix[p], w)
		sort.Slice(l, func(i, j int) bool { return len(l[i]) > len(l[j]) })
		m.byPrefix[p] = l
	}
}

// matchAt is the length of s matched at i by the normalized word w (a space
// in w matches one separator in s), or -1.
func matchAt(s string, i int, w string) int {
	j := i
	for _, wr := range w {
		if j >= len(s) {
			return -1
		}
		sr, size := utf8.DecodeRuneInString(s[j:])
		if wr == ' ' {
			if !isSep(sr) {
				return -1
			}
		} else if sr != wr && unicode.ToLower(sr) != wr {
			return -1
		}
		j += size
	}
	return j - i
}

func (m *masker) mask(s string) string {
	if s == "" {
		return s
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = emailRe.ReplaceAllString(s, "[email]")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.set) == 0 {
		return s
	}
	var sb strings.Builder
	last := 0
	for i := 0; i < len(s); {
		matched := 0
		if boundary(s, i, true) {
			for _, w := range m.byPrefix[firstRune(s[i:])] {
				if n := matchAt(s, i, w); n > 0 && boundary(s, i+n, false) {
					matched = n
					break
				}
			}
		}
		if matched > 0 {
			sb.WriteString(s[last:i])
			sb.WriteString("[person]")
			i += matched
			last = i
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if last == 0 {
		return s
	}
	sb.WriteString(s[last:])
	return sb.String()
}

// branchCategories are first segments of branch names that describe the work,
// not a person. Any other first segment of "x/y" is taken for a personal
// namespace ("jdoe/fix-login") and masked, even for people never seen.
var branchCategories = map[string]bool{
	"feature": true, "features": true, "feat": true, "fix": true, "fixes": true, "bugfix": true, "bug": true,
	"hotfix": true, "release": true, "releases": true, "chore": true, "docs": true, "doc": true, "refactor": true,
	"test": true, "tests": true, "ci": true, "build": true, "perf": true, "style": true, "revert": true,
	"renovate": true, "dependabot": true, "deps": true, "support": true, "experiment": true, "spike": true,
	"refs": true, "tags": true, "heads": true, "merge-requests": true, "wip": true, "draft": true, "epic": true,
	"task": true, "story": true, "improvement": true, "enhancement": true, "security": true, "backport": true,
	"review": true, "staging": true, "production": true, "dev": true, "develop": true, "integration": true, "sandbox": true,
	"demo": true, "poc": true, "prototype": true, "maintenance": true, "patch": true, "update": true, "upgrade": true,
	"migration": true, "config": true, "infra": true, "ops": true, "dependencies": true, "issue": true, "issues": true,
}

var issueKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]+-\d+`)

// branch masks emails, known people and personal namespaces in a ref name.
func (m *masker) branch(ref string) string {
	ref = m.mask(ref)
	first, rest, ok := strings.Cut(ref, "/")
	if !ok || first == "[person]" {
		return ref
	}
	if branchCategories[strings.ToLower(first)] || issueKeyRe.MatchString(first) || strings.HasPrefix(first, "[") {
		return ref
	}
	return "[person]/" + rest
}

// boundary: the match must not continue a word ("al" inside "total" stays).
func boundary(s string, i int, before bool) bool {
	var r rune
	if before {
		if i == 0 {
			return true
		}
		r, _ = utf8.DecodeLastRuneInString(s[:i])
	} else {
		if i >= len(s) {
			return true
		}
		r, _ = utf8.DecodeRuneInString(s[i:])
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// ref clears a branch or tag name per privacy.refs: masked (people,
// emails, personal namespaces), a keyed hash (equal refs stay equal), or
// dropped.
func (p *Policy) ref(r string, m *masker) string {
	switch p.refs {
	case "hash":
		if r == "" {
			return ""
		}
		return "h:" + p.token("ref:"+r)
	case "drop":
		return ""
	}
	return m.branch(r)
}

// PersonalPath pseudonymizes the namespace of a project in a user's
// namespace: alice/shop becomes person-<token>/shop, the same for every
// run with the same secret, so the project stays one scope. Without a
// secret (people: drop) the project id stands in. The mapping is kept so
// the project's web URLs are rewritten too.
func (p *Policy) PersonalPath(path string, projectID int64) string {
	ns, rest, ok := strings.Cut(path, "/")
	if !ok {
		return path
	}
	masked := "person-p" + strconv.FormatInt(projectID, 10)
	if len(p.secret) > 0 {
		masked = "person-" + p.token(namespaceKey(ns))
	}
	p.nsMu.Lock()
	if p.namespaces == nil {
		p.namespaces = map[string]string{}
	}
	p.namespaces["/"+ns+"/"] = "/" + masked + "/"
	p.nsMu.Unlock()
	return masked + "/" + rest
}

func namespaceKey(ns string) string { return "namespace:" + strings.ToLower(ns) }

// PersonalNamespacePath is the pseudonymized path of a project in a
// personal namespace, as PersonalPath makes it, for those who hold the
// secret and name the project as configured (teams). "" without a secret.
func PersonalNamespacePath(secret config.Secret, path string) string {
	ns, rest, ok := strings.Cut(path, "/")
	if !ok || secret == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write([]byte(namespaceKey(ns)))
	return "person-" + hex.EncodeToString(m.Sum(nil))[:16] + "/" + rest
}

// url rewrites the personal namespaces in a web URL.
func (p *Policy) url(u string) string {
	p.nsMu.RLock()
	defer p.nsMu.RUnlock()
	for raw, masked := range p.namespaces {
		if i := strings.Index(u, raw); i >= 0 {
			u = u[:i] + masked + u[i+len(raw):]
		}
	}
	return u
}

// Learn tells the masker about people before any text that may carry their
// names is cleared: the collectors' member lists, so that the result does
// not depend on which streams ran, or in which order.
//
// A member list that states both an account and its email (a GitLab admin
// token's members, Jira's emailAddress) also links the account to the
// email, so the person's MRs and commits share one token.
func (p *Policy) Learn(o models.Origin, people []models.Person) {
	for _, x := range people {
		p.known.learn(x, x.IsBot || p.IsBot(x.Username))
		if x.Email == "" {
			continue
		}
		p.nsMu.Lock()
		if p.links == nil {
			p.links = map[string]string{}
		}
		for _, a := range []string{x.Username, x.ID} {
			if a != "" {
				p.links[strings.ToLower(o.Source+":"+o.Instance+":"+a)] = strings.ToLower(strings.TrimSpace(x.Email))
			}
		}
		p.nsMu.Unlock()
	}
}

func maskAll(xs []string, m *masker) []string {
	if len(xs) == 0 {
		return xs
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = m.mask(x)
	}
	return out
}

func (p *Policy) title(t string, m *masker) string {
	switch p.titles {
	case "keep":
		return m.mask(t)
	case "hash":
		if t == "" {
			return ""
		}
		return "h:" + p.token("title:"+t)
	}
	return ""
}

// Apply runs the policy over a batch. It never modifies b.
func (p *Policy) Apply(b *models.Batch) (*Cleared, Counts) {
	counts := Counts{}
	out := &models.Batch{}
	m := p.known
	// People first, so their names are known to the masker before any text is kept.
	for _, x := range b.MergeRequests {
		if r, ex := p.Excluded(x.ProjectPath, x.Labels, ""); ex {
			counts[r]++
			continue
		}
		x.Author = p.person(x.Origin, x.Author, m)
		cs := make([]models.MRCommit, len(x.Commits))
		for i, c := range x.Commits {
			c.Author = p.person(x.Origin, c.Author, m)
			cs[i] = c
		}
		x.Commits = cs
		rs := make([]models.MRReview, len(x.Reviews))
		for i, r := range x.Reviews {
			r.Reviewer = p.person(x.Origin, r.Reviewer, m)
			rs[i] = r
		}
		x.Reviews = rs
		out.MergeRequests = append(out.MergeRequests, x)
	}
	for _, x := range b.Pipelines {
		if r, ex := p.Excluded(x.ProjectPath, nil, ""); ex {
			counts[r]++
			continue
		}
		x.User = p.person(x.Origin, x.User, m)
		out.Pipelines = append(out.Pipelines, x)
	}
	for _, x := range b.Deployments {
		if r, ex := p.Excluded(x.ProjectPath, nil, ""); ex {
			counts[r]++
			continue
		}
		x.Deployer = p.person(x.Origin, x.Deployer, m)
		var ch []models.DeploymentChange
		for _, c := range x.Changes {
			if r, ex := p.Excluded(x.ProjectPath, c.MRLabels, ""); ex {
				counts[r]++
				continue
			}
			c.MRLabels = nil
			ch = append(ch, c)
		}
		x.Changes = ch
		out.Deployments = append(out.Deployments, x)
	}
	for _, x := range b.Issues {
		if r, ex := p.Excluded(x.ProjectPath, x.Labels, x.Type); ex {
			counts[r]++
			continue
		}
		x.Author = p.person(x.Origin, x.Author, m)
		x.Assignee = p.person(x.Origin, x.Assignee, m)
		out.Issues = append(out.Issues, x)
	}
	for _, x := range b.Sprints {
		if r, ex := p.Excluded(x.ProjectPath, nil, ""); ex {
			counts[r]++
			continue
		}
		out.Sprints = append(out.Sprints, x)
	}
	// Then text: titles per policy, refs per privacy.refs; labels,
	// environments, job and sprint names always have people masked.
	for i := range out.MergeRequests {
		x := &out.MergeRequests[i]
		x.Title = p.title(x.Title, m)
		x.SourceBranch = p.ref(x.SourceBranch, m)
		if p.refs == "hash" { // equal refs must stay equal to deployments' refs
			x.TargetBranch = p.ref(x.TargetBranch, m)
		} else {
			x.TargetBranch = m.mask(x.TargetBranch)
		}
		x.Labels = maskAll(x.Labels, m)
	}
	for i := range out.MergeRequests {
		out.MergeRequests[i].WebURL = p.url(out.MergeRequests[i].WebURL)
	}
	for i := range out.Issues {
		out.Issues[i].WebURL = p.url(out.Issues[i].WebURL)
		out.Issues[i].Title = p.title(out.Issues[i].Title, m)
		out.Issues[i].Labels = maskAll(out.Issues[i].Labels, m)
		// Workflow statuses and type names are free to name people
		// ("Waiting for Jane Doe"); reports list them.
		out.Issues[i].Status = m.mask(out.Issues[i].Status)
		out.Issues[i].Type = m.mask(out.Issues[i].Type)
		out.Issues[i].Priority = m.mask(out.Issues[i].Priority)
		if tr := out.Issues[i].Transitions; len(tr) > 0 {
			tr = append([]models.IssueTransition(nil), tr...) // the input is not modified
			for j := range tr {
				tr[j].From, tr[j].To = m.mask(tr[j].From), m.mask(tr[j].To)
			}
			out.Issues[i].Transitions = tr
		}
	}
	for i := range out.Pipelines {
		out.Pipelines[i].Ref = p.ref(out.Pipelines[i].Ref, m)
	}
	for i := range out.Deployments {
		d := &out.Deployments[i]
		d.Ref = p.ref(d.Ref, m)
		d.Environment = m.mask(d.Environment)
		d.JobName = m.mask(d.JobName)
	}
	for i := range out.Sprints {
		out.Sprints[i].Name = m.mask(out.Sprints[i].Name)
	}
	return &Cleared{b: out}, counts
}

// Describe lists the effective policy for `devpulse doctor`.
func (p *Policy) Describe() []string {
	out := []string{
		"people: " + p.people + map[string]string{
			"pseudonymize": " (HMAC-SHA256 tokens, 16 hex; same email = same token across sources)",
			"drop":         " (no person columns are filled)",
			"keep":         " (PERSONAL DATA IN CLEAR: allow_personal_data is true)",
		}[p.people],
		"titles: " + p.titles,
		"refs (branch and tag names): " + p.refs + " (labels, environments, job, sprint, issue status and type names: people masked)",
		"free text (descriptions, notes, commit messages): never collected",
		fmt.Sprintf("identity aliases: %d", len(p.identities)),
	}
	for _, r := range append(append([]rule(nil), p.projRules...), p.recRules...) {
		out = append(out, "exclude: "+r.name)
	}
	return out
}
