package gitlab

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/issuelinks"
	"github.com/devpulse/devpulse/models"
)

// Conversion from client-go's structs to models is pure, so the recorded
// fixtures test exactly the code that runs against a server.

func person(u *gl.BasicUser) models.Person {
	if u == nil {
		return models.Person{}
	}
	return models.Person{Username: u.Username, Name: u.Name, ID: idStr(u.ID)}
}

func idStr(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func t0(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func tp(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// closingRe follows GitLab's default closing pattern: "Closes #1", "Fixes
// group/project#2, #3", "Resolves https://host/g/p/-/issues/4".
var (
	closingRe = regexp.MustCompile(`(?i)\b(?:clos(?:e|es|ed|ing)|fix(?:|es|ed|ing)|resolv(?:e|es|ed|ing)|implement(?:|s|ed|ing))\b:?\s+((?:(?:[\w./-]*#\d+|https?://\S+/-/issues/\d+)(?:\s*(?:,|and)\s*)?)+)`)
	refRe     = regexp.MustCompile(`([\w./-]*)#(\d+)|https?://[^/\s]+/(\S+?)/-/issues/(\d+)`)
)

// ClosingRefs extracts issue references an MR description closes, normalized to
// "#12" (same project) or "group/project#12". The description is not kept.
func ClosingRefs(desc string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range closingRe.FindAllStringSubmatch(desc, -1) {
		for _, r := range refRe.FindAllStringSubmatch(m[1], -1) {
			ref := ""
			switch {
			case r[2] != "":
				ref = r[1] + "#" + r[2]
			case r[4] != "":
				ref = r[3] + "#" + r[4]
			}
			if ref != "" && !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	return out
}

var revertsRe = regexp.MustCompile(`(?i)reverts merge request !(\d+)`)

// MergeRequest converts a listed MR (children are added separately).
func MergeRequest(host, projectPath string, m *gl.BasicMergeRequest) models.MergeRequest {
	merged := tp(m.MergedAt)
	out := models.MergeRequest{
		Origin:          models.Origin{Source: "gitlab", Instance: host},
		ID:              models.GitLabID(host, m.ProjectID, "mr", m.IID),
		ProjectID:       m.ProjectID,
		ProjectPath:     projectPath,
		IID:             m.IID,
		Title:           m.Title,
		State:           m.State,
		Draft:           m.Draft,
		Author:          person(m.Author),
		SourceBranch:    m.SourceBranch,
		TargetBranch:    m.TargetBranch,
		Labels:          m.Labels,
		SHA:             m.SHA,
		MergeCommitSHA:  m.MergeCommitSHA,
		SquashCommitSHA: m.SquashCommitSHA,
		ClosesIssues:    ClosingRefs(m.Description),
		IsRevert:        strings.HasPrefix(m.Title, `Revert "`),
		WebURL:          m.WebURL,
		CreatedAt:       t0(m.CreatedAt),
		UpdatedAt:       t0(m.UpdatedAt),
		MergedAt:        merged,
		ClosedAt:        tp(m.ClosedAt),
	}
	if r := revertsRe.FindStringSubmatch(m.Description); r != nil {
		iid, _ := strconv.ParseInt(r[1], 10, 64)
		out.RevertsID = models.GitLabID(host, m.ProjectID, "mr", iid)
	}
	// Candidates only: the pipeline keeps those of configured trackers.
	out.IssueLinks = issuelinks.Extract(out.ID, issuelinks.Field{Via: issuelinks.ViaTitle, Text: m.Title},
		issuelinks.Field{Via: issuelinks.ViaBranch, Text: m.SourceBranch}, issuelinks.Field{Via: issuelinks.ViaDescription, Text: m.Description})
	return out
}

// CommitLinks adds the issues the commit messages name to an MR's links
// (after those of its title, branch and description).
func CommitLinks(m *models.MergeRequest, cs []*gl.Commit) {
	seen := map[string]bool{}
	for _, l := range m.IssueLinks {
		seen[l.Tracker+":"+l.Key] = true
	}
	for _, c := range cs {
		for _, l := range issuelinks.Extract(m.ID, issuelinks.Field{Via: issuelinks.ViaCommit, Text: c.Title + "\n" + c.Message}) {
			if !seen[l.Tracker+":"+l.Key] {
				seen[l.Tracker+":"+l.Key] = true
				m.IssueLinks = append(m.IssueLinks, l)
			}
		}
	}
}

// Commits converts the MR commits API answer.
func Commits(mrID string, cs []*gl.Commit) []models.MRCommit {
	out := make([]models.MRCommit, 0, len(cs))
	for _, c := range cs {
		out = append(out, models.MRCommit{
			MRID:        mrID,
			SHA:         c.ID,
			Author:      models.Person{Name: c.AuthorName, Email: c.AuthorEmail},
			AuthoredAt:  t0(c.AuthoredDate),
			CommittedAt: t0(c.CommittedDate),
		})
	}
	return out
}

// Notes turns an MR's notes into reviews and the time it was marked ready.
// A review is a human note or an approval by someone other than the author;
// system notes only tell us about approvals and draft status.
func Notes(mr *models.MergeRequest, notes []*gl.Note) (reviews []models.MRReview, readyAt *time.Time) {
	for _, n := range notes {
		author := models.Person{Username: n.Author.Username, Name: n.Author.Name, ID: idStr(n.Author.ID)}
		self := author.Username != "" && author.Username == mr.Author.Username
		body := strings.ToLower(strings.TrimSpace(n.Body))
		switch {
		case n.System && strings.HasPrefix(body, "approved this merge request"):
			if !self {
				reviews = append(reviews, models.MRReview{MRID: mr.ID, ID: mr.ID + ":note:" + idStr(n.ID),
					Kind: models.ReviewApproval, Reviewer: author, CreatedAt: t0(n.CreatedAt)})
			}
		case n.System && (strings.Contains(body, "marked this merge request as **ready**") ||
			strings.Contains(body, "unmarked as a **work in progress**") || strings.Contains(body, "marked as ready")):
			readyAt = tp(n.CreatedAt)
		case !n.System && !self:
			reviews = append(reviews, models.MRReview{MRID: mr.ID, ID: mr.ID + ":note:" + idStr(n.ID),
				Kind: models.ReviewComment, Reviewer: author, CreatedAt: t0(n.CreatedAt)})
		}
	}
	return reviews, readyAt
}

// Pipeline converts a listed pipeline; details, when fetched, add timings.
func Pipeline(host, projectPath, defaultBranch string, p *gl.PipelineInfo, d *gl.Pipeline) models.Pipeline {
	out := models.Pipeline{
		Origin:          models.Origin{Source: "gitlab", Instance: host},
		ID:              models.GitLabID(host, p.ProjectID, "pipeline", p.ID),
		ProjectID:       p.ProjectID,
		ProjectPath:     projectPath,
		PipelineID:      p.ID,
		Ref:             p.Ref,
		SHA:             p.SHA,
		Status:          p.Status,
		Trigger:         p.Source,
		IsDefaultBranch: defaultBranch != "" && p.Ref == defaultBranch,
		CreatedAt:       t0(p.CreatedAt),
		UpdatedAt:       t0(p.UpdatedAt),
	}
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = out.CreatedAt
	}
	if d != nil {
		out.StartedAt = tp(d.StartedAt)
		out.FinishedAt = tp(d.FinishedAt)
		if d.FinishedAt != nil {
			dur, q := float64(d.Duration), float64(d.QueuedDuration)
			out.DurationS, out.QueuedDurationS = &dur, &q
		}
		out.User = person(d.User)
	}
	return out
}

// Deployment converts a listed deployment.
func Deployment(host, projectPath string, projectID int64, d *gl.Deployment) models.Deployment {
	out := models.Deployment{
		Origin:       models.Origin{Source: "gitlab", Instance: host},
		ID:           models.GitLabID(host, projectID, "deployment", d.ID),
		ProjectID:    projectID,
		ProjectPath:  projectPath,
		DeploymentID: d.ID,
		Status:       d.Status,
		Ref:          d.Ref,
		SHA:          d.SHA,
		PipelineID:   d.Deployable.Pipeline.ID,
		JobName:      d.Deployable.Name,
		CreatedAt:    t0(d.CreatedAt),
		UpdatedAt:    t0(d.UpdatedAt),
		FinishedAt:   tp(d.Deployable.FinishedAt),
	}
	// Some GitLab versions (and the recorded fixtures) list deployments without
	// updated_at; the job's finish, else creation, is the last change we can see.
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = deploymentUpdated(d)
	}
	if d.Environment != nil {
		out.Environment = d.Environment.Name
		out.EnvironmentTier = d.Environment.Tier
	}
	if d.User != nil {
		out.Deployer = models.Person{Username: d.User.Username, Name: d.User.Name, ID: idStr(d.User.ID)}
	}
	return out
}

// Issue converts a listed issue or incident.
func Issue(host, projectPath string, x *gl.Issue) models.Issue {
	typ := "issue"
	if x.IssueType != nil && *x.IssueType != "" {
		typ = *x.IssueType
	}
	out := models.Issue{
		Origin:      models.Origin{Source: "gitlab", Instance: host},
		ID:          models.GitLabID(host, x.ProjectID, "issue", x.IID),
		ProjectID:   x.ProjectID,
		ProjectPath: projectPath,
		Key:         "#" + strconv.FormatInt(x.IID, 10),
		Title:       x.Title,
		Type:        typ,
		TypeClass:   models.ClassOf(typ, nil),
		Labels:      x.Labels,
		State:       x.State,
		WebURL:      x.WebURL,
		CreatedAt:   t0(x.CreatedAt),
		UpdatedAt:   t0(x.UpdatedAt),
		ClosedAt:    tp(x.ClosedAt),
	}
	if x.Author != nil {
		out.Author = models.Person{Username: x.Author.Username, Name: x.Author.Name, ID: idStr(x.Author.ID)}
	}
	if x.Assignee != nil {
		out.Assignee = models.Person{Username: x.Assignee.Username, Name: x.Assignee.Name, ID: idStr(x.Assignee.ID)}
	}
	// A board's sprints are its milestones; a story's points its weight.
	if x.Milestone != nil && x.Milestone.ID > 0 {
		out.SprintID = models.GitLabID(host, x.ProjectID, "milestone", x.Milestone.ID)
	}
	if x.Weight > 0 {
		w := float64(x.Weight)
		out.StoryPoints = &w
	}
	if out.TypeClass == "incident" || typ == "incident" {
		out.CausedBy = CausedBy(host, x.ProjectID, x.Description)
	}
	return out
}

// causedByRe finds an incident's own statement of its cause in its
// description: "caused by !12" (an MR of the same project) or "caused by
// 3f2a9c1" (a deployed commit, 7 to 40 hex digits).
var causedByRe = regexp.MustCompile(`(?i)\bcaused\s+by[:\s]+(?:(!)(\d+)|([0-9a-f]{7,40}))\b`)

// CausedBy derives METRICS.md's rule (a) from an incident's description
// before the description is dropped: "mr:<id>" fails the deployment that
// shipped that MR, "sha:<commit>" (a prefix, as people paste them) the one
// that deployed the commit. Only the reference lands, never the text.
func CausedBy(host string, projectID int64, description string) string {
	m := causedByRe.FindStringSubmatch(description)
	switch {
	case m == nil:
		return ""
	case m[1] == "!":
		iid, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return ""
		}
		return "mr:" + models.GitLabID(host, projectID, "mr", iid)
	default:
		return "sha:" + strings.ToLower(m[3])
	}
}

// Milestone is a milestone as a sprint: from its start date (else the day
// after the previous milestone's due date) to the end of its due date, as
// METRICS.md has Redmine versions. Without a due date it is no sprint.
func Milestone(host, projectPath string, projectID int64, m *gl.Milestone) models.Sprint {
	iso := func(t *gl.ISOTime) string {
		if t == nil {
			return ""
		}
		return time.Time(*t).Format("2006-01-02")
	}
	return models.Sprint{Origin: models.Origin{Source: "gitlab", Instance: host}, ID: models.GitLabID(host, projectID, "milestone", m.ID),
		ProjectPath: projectPath, Name: m.Title, State: m.State, StartDate: iso(m.StartDate), DueDate: iso(m.DueDate), UpdatedAt: t0(m.UpdatedAt)}
}

func deploymentUpdated(d *gl.Deployment) time.Time {
	if u := t0(d.UpdatedAt); !u.IsZero() {
		return u
	}
	if f := t0(d.Deployable.FinishedAt); !f.IsZero() {
		return f
	}
	return t0(d.CreatedAt)
}

// DiffSize counts added and removed lines over an MR's file diffs. Only the
// counts leave the collector, never the diff text. If GitLab withheld any
// file's diff (too large, collapsed), the size is unknown: nil, not a guess.
func DiffSize(diffs []*gl.MergeRequestDiff) (additions, deletions *int64) {
	var add, del int64
	for _, d := range diffs {
		if d.Diff == "" && (d.TooLarge || d.Collapsed) {
			return nil, nil
		}
		for _, line := range strings.Split(d.Diff, "\n") {
			switch {
			case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			case strings.HasPrefix(line, "+"):
				add++
			case strings.HasPrefix(line, "-"):
				del++
			}
		}
	}
	return &add, &del
}
