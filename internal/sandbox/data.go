// Package sandbox is a deterministic, seeded software organisation served over
// HTTP in GitLab's REST shapes (same JSON fields and pagination headers as the
// real API), with injectable latency, 429s, 5xx and truncated bodies. Tests,
// benchmarks and `devpulse demo` collect from it with the real collector.
package sandbox

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Size says how big the organisation is.
type Size struct {
	Projects              int
	MRsPerProject         int
	PipelinesPerProject   int
	DeploymentsPerProject int // production deployments; staging ones come on top
	IssuesPerProject      int
	// JobDeployProjects: this many projects (the last ones) have no GitLab
	// environments and deploy from a CI job named "deploy": their
	// deployments are served as jobs (/projects/:id/jobs), not deployments.
	JobDeployProjects int
}

// Span is how far back generated records reach.
const Span = 120 * 24 * time.Hour

// DemoSize is small enough to collect in seconds, big enough for real metrics.
var DemoSize = Size{Projects: 4, MRsPerProject: 120, PipelinesPerProject: 600, DeploymentsPerProject: 30, IssuesPerProject: 40, JobDeployProjects: 1}

type user struct {
	ID       int64
	Username string
	Name     string
	Email    string
	Bot      bool
}

type project struct {
	ID            int64
	Path          string // group/sub/name
	Name          string
	GroupPath     string
	DefaultBranch string
	Archived      bool
	Personal      bool // in a user's namespace (alice/shop)
	JobDeploys    bool // no environments: deployments are CI jobs named deploy
	PlansInJira   bool // LinkJira: no GitLab board (milestones, workflow labels)
	mrs           []*mr
	pipelines     []*pipeline
	deployments   []*deployment
	issues        []*issue
	mrByIID       map[int64]*mr
}

type mr struct {
	ID, IID        int64
	Title          string
	Description    string
	State          string
	Draft          bool
	Author         int // index in users
	SourceBranch   string
	Labels         []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	MergedAt       time.Time // zero if not merged
	ClosedAt       time.Time
	SHA, MergeSHA  string
	nCommits       int
	nComments      int
	approved       bool
	readyAfter     time.Duration // >0: was a draft, marked ready this long after creation
	firstCommitAgo time.Duration
	rev            int // bumped by Touch: changes the generated notes
}

type pipeline struct {
	ID, IID   int64
	Ref, SHA  string
	Status    string
	Source    string
	User      int
	CreatedAt time.Time
	UpdatedAt time.Time
	Started   time.Time
	Finished  time.Time
	Duration  int64
	Queued    int64
}

type deployment struct {
	ID, IID    int64
	Env        string
	Tier       string
	Status     string
	Ref, SHA   string
	User       int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
	PipelineID int64
	JobID      int64
	MRs        []int64 // iids
}

type issue struct {
	ID, IID     int64
	Title       string
	Description string
	Type        string // issue, incident
	Labels      []string
	State       string
	Author      int
	Assignee    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
}

var (
	firstNames = []string{"Alice", "Bruno", "Chiara", "Dmitri", "Emeka", "Fatima", "Goran", "Hana", "Ines", "Jonas", "Keiko", "Liam", "Mei", "Nikolai", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Ursula", "Viktor", "Wen", "Ximena", "Yusuf", "Zofia"}
	lastNames  = []string{"Achterberg", "Bianchi", "Castellanos", "Dubois", "Eriksen", "Fujimoto", "Grabowski", "Haddad", "Iyer", "Jankowski", "Kowalczyk", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quiroga", "Rasmussen", "Santoro", "Takahashi"}
	groups     = []string{"acme/payments", "acme/platform", "acme/mobile", "acme/data"}
	services   = []string{"api", "web", "ledger", "gateway", "auth", "search", "billing", "notifier", "ios", "android", "etl", "warehouse"}
	verbs      = []string{"Add", "Fix", "Refactor", "Remove", "Speed up", "Document", "Harden", "Migrate"}
	nouns      = []string{"checkout flow", "retry logic", "login page", "rate limiter", "CSV export", "audit log", "feature flag", "cache layer", "search index", "webhook handler"}
)

// Org is the generated organisation.
type Org struct {
	// groupLists caches a group's records in creation order (groupList):
	// sorting 100,000 records for each page made the sandbox, not the
	// client, the cost of a group's first run. Cleared by sortAll.
	groupMu    sync.Mutex
	groupLists map[string][]groupItem
	Seed       uint64
	Now        time.Time
	users      []user
	projects   []*project
	byID       map[int64]*project
	byPath     map[string]*project
}

func hash(parts ...any) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		fmt.Fprint(h, p, "|")
	}
	return h.Sum64()
}

func rngFor(seed uint64, parts ...any) *rand.Rand {
	return rand.New(rand.NewPCG(seed, hash(parts...)))
}

func sha(r *rand.Rand) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, 40)
	for i := range b {
		b[i] = hexd[r.IntN(16)]
	}
	return string(b)
}

// Generate builds the organisation. The same seed, size and now give the same org.
func Generate(seed uint64, size Size, now time.Time) *Org {
	now = now.UTC().Truncate(time.Second)
	o := &Org{Seed: seed, Now: now, byID: map[int64]*project{}, byPath: map[string]*project{}}
	r := rngFor(seed, "users")
	for i := 0; i < 28; i++ {
		f, l := firstNames[i%len(firstNames)], lastNames[r.IntN(len(lastNames))]
		un := strings.ToLower(f[:1] + l)
		o.users = append(o.users, user{ID: int64(1000 + i), Username: un, Name: f + " " + l,
			Email: strings.ToLower(f+"."+l) + "@acme.example"})
	}
	o.users = append(o.users,
		user{ID: 1900, Username: "renovate-bot", Name: "Renovate Bot", Email: "bot@renovate.example", Bot: true},
		user{ID: 1901, Username: "project_17_bot_3f2a", Name: "Release Token", Email: "project17_bot@noreply.acme.example", Bot: true})

	span := Span
	start := now.Add(-span)
	for pi := 0; pi < size.Projects; pi++ {
		g := groups[pi%len(groups)]
		name := services[pi%len(services)]
		if pi >= len(services) {
			name = fmt.Sprintf("%s-%d", name, pi/len(services))
		}
		p := &project{ID: int64(100 + pi), Path: g + "/" + name, Name: name, GroupPath: g, DefaultBranch: "main",
			JobDeploys: pi >= size.Projects-size.JobDeployProjects}
		o.projects = append(o.projects, p)
		o.byID[p.ID] = p
		o.byPath[p.Path] = p
		o.genProject(p, pi, size, start, span)
	}
	o.sortAll()
	return o
}

// sortAll orders every list by (updated_at, id), the order GitLab returns
// for order_by=updated_at&sort=asc. MRs stay addressable by iid through byIID.
func (o *Org) sortAll() {
	o.groupMu.Lock()
	o.groupLists = nil
	o.groupMu.Unlock()
	for _, p := range o.projects {
		if p.mrByIID == nil {
			p.mrByIID = make(map[int64]*mr, len(p.mrs))
			for _, m := range p.mrs {
				p.mrByIID[m.IID] = m
			}
		}
		sortBy(p.mrs, func(m *mr) (time.Time, int64) { return m.UpdatedAt, m.ID })
		sortBy(p.pipelines, func(x *pipeline) (time.Time, int64) { return x.UpdatedAt, x.ID })
		sortBy(p.deployments, func(x *deployment) (time.Time, int64) { return x.UpdatedAt, x.ID })
		sortBy(p.issues, func(x *issue) (time.Time, int64) { return x.UpdatedAt, x.ID })
	}
}

func sortBy[T any](xs []T, key func(T) (time.Time, int64)) {
	sort.SliceStable(xs, func(i, j int) bool {
		ui, ii := key(xs[i])
		uj, ij := key(xs[j])
		if !ui.Equal(uj) {
			return ui.Before(uj)
		}
		return ii < ij
	})
}

func (o *Org) humans() int { return len(o.users) - 2 }

func (o *Org) genProject(p *project, pi int, size Size, start time.Time, span time.Duration) {
	r := rngFor(o.Seed, "project", pi)
	team := r.IntN(o.humans()) // each project has a core team of 6
	member := func() int { return (team + r.IntN(6)) % o.humans() }
	for i := 0; i < size.MRsPerProject; i++ {
		m := &mr{ID: p.ID*1_000_000 + int64(i+1), IID: int64(i + 1)}
		m.Author = member()
		if r.IntN(20) == 0 {
			m.Author = o.humans() + r.IntN(2) // bots
		}
		m.CreatedAt = start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Millisecond)
		noun := nouns[r.IntN(len(nouns))]
		m.Title = verbs[r.IntN(len(verbs))] + " " + noun
		switch k := r.IntN(10); {
		case k == 0:
			m.Labels = []string{"bug"}
			m.SourceBranch = fmt.Sprintf("fix/%d-%s", m.IID, slug(noun))
		case k == 1:
			m.Labels = []string{"hotfix"}
			m.SourceBranch = fmt.Sprintf("hotfix/%d-%s", m.IID, slug(noun))
		case k == 2:
			m.SourceBranch = fmt.Sprintf("%s/%s", o.users[m.Author].Username, slug(noun))
		default:
			m.Labels = []string{"feature"}
			m.SourceBranch = fmt.Sprintf("feature/%d-%s", m.IID, slug(noun))
		}
		if r.IntN(15) == 0 {
			m.Labels = append(m.Labels, "confidential-client")
		}
		m.Description = fmt.Sprintf("This change was discussed with %s. Contact %s for details.",
			o.users[member()].Name, o.users[m.Author].Email)
		if r.IntN(4) == 0 && size.IssuesPerProject > 0 {
			m.Description += fmt.Sprintf("\n\nCloses #%d", 1+r.IntN(size.IssuesPerProject))
		}
		m.nCommits = 1 + r.IntN(5)
		m.nComments = r.IntN(4)
		m.approved = r.IntN(10) < 8
		m.firstCommitAgo = time.Duration(r.Int64N(int64(72 * time.Hour)))
		if r.IntN(5) == 0 {
			m.Draft = true
			m.readyAfter = time.Duration(1+r.IntN(48)) * time.Hour
		}
		m.SHA = sha(r)
		m.UpdatedAt = m.CreatedAt.Add(time.Duration(r.IntN(3600)) * time.Second)
		switch k := r.IntN(20); {
		case k < 15:
			m.State = "merged"
			m.Draft = false
			m.MergedAt = m.CreatedAt.Add(m.readyAfter + time.Duration(2+r.IntN(96))*time.Hour).Truncate(time.Millisecond)
			if m.MergedAt.After(o.Now) {
				m.State, m.MergedAt = "opened", time.Time{}
			} else {
				m.MergeSHA = sha(r)
				m.UpdatedAt = m.MergedAt.Add(time.Second)
			}
		case k < 17:
			m.State = "closed"
			m.ClosedAt = m.CreatedAt.Add(time.Duration(1+r.IntN(200)) * time.Hour).Truncate(time.Millisecond)
			if m.ClosedAt.After(o.Now) {
				m.State, m.ClosedAt = "opened", time.Time{}
			} else {
				m.UpdatedAt = m.ClosedAt
			}
		default:
			m.State = "opened"
		}
		if m.UpdatedAt.After(o.Now) {
			m.UpdatedAt = o.Now
		}
		p.mrs = append(p.mrs, m)
	}
	// Pipelines: mostly on main, timings realistic.
	for i := 0; i < size.PipelinesPerProject; i++ {
		pl := &pipeline{ID: p.ID*10_000_000 + int64(i+1), IID: int64(i + 1), User: member()}
		pl.CreatedAt = start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Millisecond)
		pl.Ref = "main"
		pl.Source = "push"
		if r.IntN(10) < 4 && len(p.mrs) > 0 {
			pl.Ref = p.mrs[r.IntN(len(p.mrs))].SourceBranch
			pl.Source = "merge_request_event"
		}
		pl.SHA = sha(r)
		pl.Queued = int64(1 + r.IntN(90))
		pl.Duration = int64(240 + r.IntN(1500))
		switch k := r.IntN(100); {
		case k < 80:
			pl.Status = "success"
		case k < 93:
			pl.Status = "failed"
		default:
			pl.Status = "canceled"
		}
		pl.Started = pl.CreatedAt.Add(time.Duration(pl.Queued) * time.Second)
		pl.Finished = pl.Started.Add(time.Duration(pl.Duration) * time.Second)
		if pl.Finished.After(o.Now) {
			pl.Status, pl.Finished, pl.Duration = "running", time.Time{}, 0
		}
		pl.UpdatedAt = pl.CreatedAt
		if !pl.Finished.IsZero() {
			pl.UpdatedAt = pl.Finished
		}
		p.pipelines = append(p.pipelines, pl)
	}
	// Deployments: merged MRs ship in trains, staging then production.
	merged := make([]*mr, 0)
	for _, m := range p.mrs {
		if m.State == "merged" {
			merged = append(merged, m)
		}
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i].MergedAt.Before(merged[j].MergedAt) })
	if size.DeploymentsPerProject > 0 {
		gap := span / time.Duration(size.DeploymentsPerProject)
		next := 0
		var did int64
		for k := 0; k < size.DeploymentsPerProject; k++ {
			at := start.Add(time.Duration(k+1) * gap).Add(-time.Duration(r.Int64N(int64(gap / 2)))).Truncate(time.Millisecond)
			if at.After(o.Now) {
				break
			}
			var ship []int64
			for next < len(merged) && !merged[next].MergedAt.After(at) {
				ship = append(ship, merged[next].IID)
				next++
			}
			sha := sha(r)
			pid := p.ID*10_000_000 + int64(size.PipelinesPerProject+k+1)
			for _, env := range []string{"staging", "production"} {
				did++
				d := &deployment{ID: p.ID*100_000 + did, IID: did, Env: env, Tier: env, Ref: "main", SHA: sha,
					User: member(), PipelineID: pid, JobID: p.ID*100_000_000 + did}
				d.CreatedAt = at
				if env == "production" {
					d.CreatedAt = at.Add(20 * time.Minute)
				}
				d.FinishedAt = d.CreatedAt.Add(time.Duration(60+r.IntN(600)) * time.Second)
				d.Status = "success"
				if env == "production" && r.IntN(12) == 0 {
					d.Status = "failed"
				} else {
					d.MRs = ship
				}
				d.UpdatedAt = d.FinishedAt
				p.deployments = append(p.deployments, d)
			}
			// If production failed, the changes ride the next train.
			if last := p.deployments[len(p.deployments)-1]; last.Status == "failed" {
				next -= len(ship)
			}
		}
	}
	// Issues and incidents; incidents follow some production deployments.
	for i := 0; i < size.IssuesPerProject; i++ {
		x := &issue{ID: p.ID*1_000_000 + 500_000 + int64(i+1), IID: int64(i + 1), Author: member(), Assignee: member()}
		x.Type = "issue"
		x.Title = "Customer cannot use " + nouns[r.IntN(len(nouns))]
		x.Description = fmt.Sprintf("Reported by %s (%s) on the support line.", o.users[x.Assignee].Name, o.users[x.Author].Email)
		x.CreatedAt = start.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Millisecond)
		if r.IntN(4) == 0 {
			x.Labels = []string{"bug"}
		}
		if r.IntN(5) == 0 && len(p.deployments) > 0 {
			d := p.deployments[r.IntN(len(p.deployments))]
			x.Type = "incident"
			x.Labels = []string{"incident"}
			x.Title = "Production errors after deploy"
			x.CreatedAt = d.FinishedAt.Add(time.Duration(5+r.IntN(600)) * time.Minute)
		}
		x.UpdatedAt = x.CreatedAt
		if r.IntN(3) > 0 {
			close := time.Duration(1+r.IntN(72)) * time.Hour
			if x.Type == "incident" {
				close = time.Duration(10+r.IntN(600)) * time.Minute
			}
			if c := x.CreatedAt.Add(close); c.Before(o.Now) {
				x.State, x.ClosedAt, x.UpdatedAt = "closed", c, c
			}
		}
		if x.State == "" {
			x.State = "opened"
		}
		if x.CreatedAt.After(o.Now) {
			x.CreatedAt, x.UpdatedAt = o.Now, o.Now
		}
		p.issues = append(p.issues, x)
	}
}

func slug(s string) string { return strings.ReplaceAll(strings.ToLower(s), " ", "-") }

// commits of an MR, generated on demand from the seed.
func (o *Org) commits(p *project, m *mr) []commitJSON {
	r := rngFor(o.Seed, "commits", p.ID, m.IID)
	out := make([]commitJSON, m.nCommits)
	first := m.CreatedAt.Add(-m.firstCommitAgo)
	for i := range out {
		at := first.Add(time.Duration(i) * time.Duration(1+r.IntN(180)) * time.Minute).Truncate(time.Second)
		if at.After(m.CreatedAt) && i > 0 {
			at = m.CreatedAt.Add(-time.Duration(i) * time.Second)
		}
		u := o.users[m.Author]
		s := sha(r)
		out[i] = commitJSON{ID: s, ShortID: s[:8], CreatedAt: ts(at), ParentIDs: []string{}, Title: m.Title,
			Message: m.Title + "\n\nSigned-off-by: " + u.Name + " <" + u.Email + ">\n", AuthorName: u.Name, AuthorEmail: u.Email,
			AuthoredDate: ts(at), CommitterName: u.Name, CommitterEmail: u.Email, CommittedDate: ts(at),
			Trailers: map[string]string{}, WebURL: "https://gitlab.sandbox/" + p.Path + "/-/commit/" + s}
	}
	// One MR in five was written with an assistant: its last commit says so
	// in a trailer, as GitHub Copilot's and Claude Code's commits do.
	if n := len(out); n > 0 && hash(p.ID, m.IID)%5 == 0 {
		const coAuthor = "GitHub Copilot <175728472+Copilot@users.noreply.github.com>"
		out[n-1].Message += "Co-authored-by: " + coAuthor + "\n"
		out[n-1].Trailers = map[string]string{"Co-authored-by": coAuthor}
	}
	return out
}

// notes of an MR: human comments by others, system notes for approval and ready.
func (o *Org) notes(p *project, m *mr) []noteJSON {
	r := rngFor(o.Seed, "notes", p.ID, m.IID, m.rev)
	var out []noteJSON
	id := m.ID * 100
	add := func(u int, body string, system bool, at time.Time) {
		id++
		out = append(out, noteJSON{ID: id, Body: body, Author: o.basicUser(u), CreatedAt: ts(at), UpdatedAt: ts(at), System: system,
			NoteableID: m.ID, NoteableType: "MergeRequest", NoteableIID: m.IID, CommandsChanges: map[string]any{}})
	}
	end := m.UpdatedAt
	if !m.MergedAt.IsZero() {
		end = m.MergedAt
	}
	window := end.Sub(m.CreatedAt)
	if window <= 0 {
		window = time.Minute
	}
	if m.readyAfter > 0 {
		add(m.Author, "marked this merge request as **ready**", true, m.CreatedAt.Add(m.readyAfter))
	}
	for i := 0; i < m.nComments+m.rev; i++ {
		u := (m.Author + 1 + r.IntN(5)) % o.humans()
		if i == 0 && r.IntN(4) == 0 {
			u = m.Author // authors answer too; that is not a review
		}
		at := m.CreatedAt.Add(m.readyAfter + time.Duration(r.Int64N(int64(window))))
		if at.After(end) {
			at = end.Add(-time.Second)
		}
		add(u, fmt.Sprintf("@%s could you double-check this with %s?", o.users[m.Author].Username, o.users[u].Name), false, at)
	}
	if m.approved && !m.MergedAt.IsZero() {
		u := (m.Author + 1 + r.IntN(5)) % o.humans()
		add(u, "approved this merge request", true, m.MergedAt.Add(-time.Duration(1+r.IntN(60))*time.Minute))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt < out[j].CreatedAt })
	return out
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// NamingHabits rewrites some records the way people really name things,
// with the names of people other than the record's author (so only a policy
// that knows every member can mask them): branches with a hyphenated full
// name, an email's local part or a family name alone; labels naming an
// owner or a reporter; titles naming a person; review environments and
// their jobs named after a username.
func (o *Org) NamingHabits() {
	for pi, p := range o.projects {
		r := rngFor(o.Seed, "habits", pi)
		other := func() user { return o.users[r.IntN(o.humans())] }
		for i, m := range p.mrs {
			u := other()
			given, family, _ := strings.Cut(u.Name, " ")
			local, _, _ := strings.Cut(u.Email, "@")
			switch i % 5 {
			case 0:
				m.SourceBranch = fmt.Sprintf("feature/%s-%s-export", given, family)
			case 1:
				m.SourceBranch = fmt.Sprintf("hotfix/%s-crash", local)
			case 2:
				m.SourceBranch = fmt.Sprintf("feature/%s-paginate", strings.ToLower(family))
			}
			if i%3 == 0 {
				m.Labels = append(append([]string(nil), m.Labels...), "owner::"+other().Username, "reported-by-"+other().Name)
				m.Title = m.Title + " for " + strings.ToUpper(other().Name)
			}
		}
		for i, pl := range p.pipelines {
			if i%7 == 0 {
				local, _, _ := strings.Cut(other().Email, "@")
				pl.Ref = fmt.Sprintf("hotfix/%s-crash", local)
			}
		}
		for i, d := range p.deployments {
			if d.Env == "staging" && i%3 == 0 {
				d.Env, d.Tier = "review/"+other().Username+"-coupon", "development"
			}
		}
	}
}

// Personalize moves project i into the namespace of user u, as a project
// someone created under their own account (alice/shop): its path and every
// URL of it now name that person. It returns the new path.
func (o *Org) Personalize(i, u int) string {
	p := o.projects[i]
	p.GroupPath = o.users[u].Username
	delete(o.byPath, p.Path)
	p.Path = p.GroupPath + "/" + p.Name
	p.Personal = true
	o.byPath[p.Path] = p
	return p.Path
}

// Facts the leak test uses: every name, username and email of the org.
func (o *Org) PersonalStrings() []string {
	var out []string
	for _, u := range o.users {
		out = append(out, u.Username, u.Name, u.Email)
		if local, _, ok := strings.Cut(u.Email, "@"); ok {
			out = append(out, local)
		}
		given, family, _ := strings.Cut(u.Name, " ")
		out = append(out, given+"-"+family, given+"."+family, given+"_"+family)
	}
	return out
}

// ProjectPaths lists the projects' paths in id order.
func (o *Org) ProjectPaths() []string {
	out := make([]string, len(o.projects))
	for i, p := range o.projects {
		out[i] = p.Path
	}
	return out
}

// CountMRsUpdatedUpTo counts MRs whose updated_at is at or before t.
func (o *Org) CountMRsUpdatedUpTo(t time.Time) int {
	n := 0
	for _, p := range o.projects {
		for _, m := range p.mrs {
			if !m.UpdatedAt.After(t) {
				n++
			}
		}
	}
	return n
}

// FreeText returns free text the org serves that must never land: MR and
// issue descriptions, and the note bodies and commit messages of some MRs.
func (o *Org) FreeText() []string {
	var out []string
	for _, p := range o.projects {
		for i, m := range p.mrs {
			out = append(out, m.Description)
			if i < 5 {
				for _, n := range o.notes(p, m) {
					if !n.System {
						out = append(out, n.Body)
					}
				}
				for _, c := range o.commits(p, m) {
					out = append(out, c.Message)
				}
			}
		}
		for _, x := range p.issues {
			out = append(out, x.Description)
		}
	}
	return out
}

// Titles returns every MR title.
func (o *Org) Titles() []string {
	var out []string
	for _, p := range o.projects {
		for _, m := range p.mrs {
			out = append(out, m.Title)
		}
	}
	return out
}

// diffs of an MR in the MR diffs API's shape, generated from the seed.
func (o *Org) diffs(p *project, m *mr) []map[string]any {
	r := rngFor(o.Seed, "diffs", p.ID, m.IID)
	files := 1 + r.IntN(4)
	out := make([]map[string]any, files)
	for i := range out {
		var sb strings.Builder
		add, del := r.IntN(40), r.IntN(15)
		fmt.Fprintf(&sb, "@@ -1,%d +1,%d @@\n context line\n", del+1, add+1)
		for k := 0; k < del; k++ {
			fmt.Fprintf(&sb, "-old line %d\n", k)
		}
		for k := 0; k < add; k++ {
			fmt.Fprintf(&sb, "+new line %d\n", k)
		}
		path := fmt.Sprintf("src/%s/file_%d.go", slug(nouns[r.IntN(len(nouns))]), i)
		out[i] = map[string]any{"old_path": path, "new_path": path, "a_mode": "100644", "b_mode": "100644", "diff": sb.String(),
			"new_file": false, "renamed_file": false, "deleted_file": false, "generated_file": false, "collapsed": false, "too_large": false}
	}
	return out
}

// Minimum is the least number of requests of each kind a client must make to
// read the whole org once: list pages at 100 per page, and the per-item
// requests the GitLab API forces (commits, notes and diffs of MRs; details of
// finished default-branch pipelines; the MR lists of successful deployments).
func (o *Org) Minimum() map[string]int64 {
	pages := func(n int) int64 { return int64((n + 99) / 100) }
	m := map[string]int64{}
	for _, p := range o.projects {
		m["project"]++
		m["merge_requests"] += max(1, pages(len(p.mrs)))
		m["pipelines"] += max(1, pages(len(p.pipelines)))
		m["deployments"] += max(1, pages(len(p.deployments)))
		m["issues"] += max(1, pages(len(p.issues)))
		for _, x := range p.mrs {
			m["mr_commits"]++
			m["mr_notes"]++
			if x.State == "merged" {
				m["mr_diffs"]++
			}
		}
		for _, x := range p.pipelines {
			if x.Ref == p.DefaultBranch && (x.Status == "success" || x.Status == "failed" || x.Status == "canceled") {
				m["pipeline"]++
			}
		}
		for _, x := range p.deployments {
			if x.Status == "success" {
				m["deployment_mrs"]++
			}
		}
	}
	return m
}

// Records counts the top-level records of the org.
func (o *Org) Records() int {
	n := 0
	for _, p := range o.projects {
		n += len(p.mrs) + len(p.pipelines) + len(p.deployments) + len(p.issues)
	}
	return n
}

// JobDeploys lists, for a job-deployed project, its finished production
// deploy jobs (job id → status) created at or after since: what the jobs
// stream should land as deployments with the rule ^deploy$.
func (o *Org) JobDeploys(path string, since time.Time) map[int64]string {
	p := o.byPath[path]
	out := map[int64]string{}
	if p == nil || !p.JobDeploys {
		return out
	}
	for _, d := range p.deployments {
		if d.Tier == "production" && !d.CreatedAt.Before(since) && (d.Status == "success" || d.Status == "failed" || d.Status == "canceled") {
			out[d.JobID] = d.Status
		}
	}
	return out
}

// LinkJira makes the merge requests of the given projects name issues of a
// JIRA project, as teams that plan in JIRA do: three in four source
// branches start with a key (feature/app-12-cache-layer), some of them
// reused by a later MR (follow-up work on the same ticket).
func (o *Org) LinkJira(prefix string, issues int, paths ...string) {
	for _, path := range paths {
		p := o.byPath[path]
		if p == nil || issues <= 0 {
			continue
		}
		p.PlansInJira = true
		for i, m := range p.mrs {
			if i%4 == 3 {
				continue // unlinked: the share unlinked_change_rate reports
			}
			k := 1 + int(hash(p.ID, m.SourceBranch)%uint64(issues))
			kind, rest, ok := strings.Cut(m.SourceBranch, "/")
			if !ok {
				kind, rest = "feature", m.SourceBranch
			}
			m.SourceBranch = fmt.Sprintf("%s/%s-%d-%s", kind, strings.ToLower(prefix), k, rest)
		}
	}
}

// SlowPipelines makes the pipelines of a project created at or after since
// take factor times as long: a lasting CI slowdown planted for the demo's
// regression alerts to find (the rest of the data keeps its seed).
func (o *Org) SlowPipelines(path string, since time.Time, factor float64) {
	p := o.byPath[path]
	if p == nil {
		return
	}
	for _, pl := range p.pipelines {
		if pl.CreatedAt.Before(since) || pl.Duration == 0 {
			continue
		}
		pl.Duration = int64(float64(pl.Duration) * factor)
		pl.Finished = pl.Started.Add(time.Duration(pl.Duration) * time.Second)
		if pl.Finished.After(o.Now) {
			pl.Status, pl.Finished, pl.Duration = "running", time.Time{}, 0
		}
		pl.UpdatedAt = pl.CreatedAt
		if !pl.Finished.IsZero() {
			pl.UpdatedAt = pl.Finished
		}
	}
}
