// Package models holds the normalized records every collector emits and every
// warehouse engine lands. Free text (descriptions, note bodies, commit
// messages) has no field here at all: collectors cannot hand it on. Fields that can identify a person are typed Person so
// that the privacy stage can find all of them by type, not by remembering names.
package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Person is a reference to a human (or bot) as the source reported it. Before the
// privacy stage it holds raw identifiers; after it, only Token (and IsBot) may be set.
type Person struct {
	Token    string // pseudonym filled by the privacy stage; the only field that lands
	Username string
	Name     string
	Email    string
	ID       string // account id at the source
	IsBot    bool   // decided before pseudonymization, from the raw username
}

// Empty reports whether no identifier is known.
func (p Person) Empty() bool {
	return p.Token == "" && p.Username == "" && p.Name == "" && p.Email == "" && p.ID == ""
}

// Origin says where a record came from; every row carries it.
type Origin struct {
	Source   string // "gitlab", "jira", "redmine"
	Instance string // host of the server
}

// MergeRequest is a GitLab merge request (or any review request).
type MergeRequest struct {
	Origin
	ID              string // gitlab:<host>:<project_id>:mr:<iid>
	ProjectID       int64
	ProjectPath     string
	IID             int64
	Title           string // free text: dropped unless the policy keeps titles
	State           string // opened, closed, merged, locked
	Draft           bool
	Author          Person
	SourceBranch    string
	TargetBranch    string
	Labels          []string
	SHA             string
	MergeCommitSHA  string
	SquashCommitSHA string
	ClosesIssues    []string // issue references ("#12", "group/p#3") parsed from the description, which itself is discarded
	Additions       *int64   // lines added (from the MR's diffs); nil when unknown
	Deletions       *int64   // lines removed
	IsRevert        bool     // title `Revert "..."`, decided before titles are dropped
	AIAssisted      bool     // an AI assistant's trailer, label or agent account (aiassist), decided before messages are dropped
	RevertsID       string   // id of the MR it reverts ("This reverts merge request !N"), if stated
	WebURL          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ReadyAt         *time.Time // when a draft was marked ready; nil if never a draft
	MergedAt        *time.Time
	ClosedAt        *time.Time

	Commits []MRCommit
	Reviews []MRReview
	// IssueLinks are the tracker issues it names (issuelinks), derived before
	// its free text is dropped.
	IssueLinks []IssueLink
}

// IssueLink is a tracker issue a merge request names: a JIRA key (APP-12) or
// a Redmine issue id (123), and where it was named.
type IssueLink struct {
	MRID    string
	Tracker string // jira | redmine
	Key     string
	Via     string // title | branch | description | commit
}

// MRCommit is one commit listed by the MR commits API.
type MRCommit struct {
	MRID        string
	SHA         string
	Author      Person
	AuthoredAt  time.Time
	CommittedAt time.Time
}

// Review kinds.
const (
	ReviewComment  = "comment"
	ReviewApproval = "approval"
)

// MRReview is a review event by someone: a non-system note or an approval.
type MRReview struct {
	MRID      string
	ID        string // <mr id>:note:<note id>
	Kind      string
	Reviewer  Person
	CreatedAt time.Time
}

// Pipeline is a CI pipeline run.
type Pipeline struct {
	Origin
	ID              string // gitlab:<host>:<project_id>:pipeline:<id>
	ProjectID       int64
	ProjectPath     string
	PipelineID      int64
	Ref             string
	SHA             string
	Status          string
	Trigger         string // GitLab "source": push, merge_request_event, schedule...
	IsDefaultBranch bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	DurationS       *float64
	QueuedDurationS *float64
	User            Person
}

// Deployment is a deployment to an environment.
type Deployment struct {
	Origin
	ID              string // gitlab:<host>:<project_id>:deployment:<id>
	ProjectID       int64
	ProjectPath     string
	DeploymentID    int64
	Environment     string
	EnvironmentTier string
	Status          string
	Ref             string
	SHA             string
	PipelineID      int64
	JobName         string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	FinishedAt      *time.Time
	Deployer        Person

	// Changes are the merge requests GitLab lists for the deployment.
	Changes []DeploymentChange
}

// DeploymentChange links a deployment to a merge request it shipped.
type DeploymentChange struct {
	DeploymentID string
	MRID         string
	MRLabels     []string // lets the policy drop links to excluded MRs; not landed
}

// Issue is a tracker issue (GitLab issue or incident, JIRA issue, Redmine issue).
type Issue struct {
	Origin
	ID          string // gitlab:<host>:<project_id>:issue:<iid>
	ProjectID   int64
	ProjectPath string
	Key         string // #12, APP-123, 4711
	Title       string // free text: dropped unless the policy keeps titles
	Type        string // as the source names it: issue, incident, Bug, ...
	TypeClass   string // incident | bug | story | task | other (issue_types, else by name)
	Labels      []string
	State       string
	Author      Person
	Assignee    Person
	WebURL      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    *time.Time

	// Tracker fields (JIRA, Redmine); empty for GitLab issues.
	Status         string // status name now
	StatusCategory string // todo | in_progress | done
	Priority       string // JIRA and Redmine priority name (Blocker, Urgent, ...)
	// CausedBy names the deployment an incident reports it was caused by:
	// a deployment id, or "sha:<commit>" (METRICS.md failed deployment (a)).
	CausedBy    string
	StoryPoints *float64 // now
	SprintID    string   // current sprint (JIRA sprint, Redmine version), devpulse id

	// History, oldest first: status changes, sprint moves and re-estimates.
	Transitions []IssueTransition
}

// Transition fields.
const (
	FieldStatus      = "status"
	FieldSprint      = "sprint"
	FieldStoryPoints = "story_points"
)

// Status categories.
const (
	CategoryTodo       = "todo"
	CategoryInProgress = "in_progress"
	CategoryDone       = "done"
)

// IssueTransition is one change of a tracked field. For status changes the
// categories are set; a change at the issue's creation has an empty From.
type IssueTransition struct {
	IssueID      string
	ID           string // <issue id>:<journal/changelog id>:<field>
	Field        string
	At           time.Time
	From, To     string // status names, sprint ids, or points as decimal text
	FromCategory string
	ToCategory   string
}

// Sprint is a JIRA sprint or a Redmine version used as a sprint.
type Sprint struct {
	Origin
	ID          string // redmine:<host>:version:<id>, jira:<host>:sprint:<id>
	ProjectPath string
	Name        string
	State       string     // open | locked | closed (Redmine), future | active | closed (JIRA)
	StartDate   string     // YYYY-MM-DD when the tracker gives a start date (Redmine custom field); "" otherwise
	DueDate     string     // YYYY-MM-DD (Redmine due date)
	StartAt     *time.Time // JIRA startDate
	EndAt       *time.Time // JIRA endDate
	CompleteAt  *time.Time // JIRA completeDate
	UpdatedAt   time.Time
}

// Batch is what a collector hands on at a time: the records of one stream,
// landed together with the cursor that covers them.
type Batch struct {
	MergeRequests []MergeRequest
	Pipelines     []Pipeline
	Deployments   []Deployment
	Issues        []Issue
	Sprints       []Sprint
}

// Len counts the top-level records.
// TopIDs lists the ids of the batch's top-level records.
func (b *Batch) TopIDs() []string {
	var ids []string
	for _, x := range b.MergeRequests {
		ids = append(ids, x.ID)
	}
	for _, x := range b.Pipelines {
		ids = append(ids, x.ID)
	}
	for _, x := range b.Deployments {
		ids = append(ids, x.ID)
	}
	for _, x := range b.Issues {
		ids = append(ids, x.ID)
	}
	for _, x := range b.Sprints {
		ids = append(ids, x.ID)
	}
	return ids
}

func (b *Batch) Len() int {
	return len(b.MergeRequests) + len(b.Pipelines) + len(b.Deployments) + len(b.Issues) + len(b.Sprints)
}

// Rows counts the records and their children (commits, reviews, issue
// links, deployment changes, transitions): what a landing writes, and what
// the records hold in memory, which a count of top-level records hides (an
// MR carries a handful of rows, a pipeline one).
func (b *Batch) Rows() int {
	n := b.Len()
	for i := range b.MergeRequests {
		m := &b.MergeRequests[i]
		n += len(m.Commits) + len(m.Reviews) + len(m.IssueLinks)
	}
	for i := range b.Deployments {
		n += len(b.Deployments[i].Changes)
	}
	for i := range b.Issues {
		n += len(b.Issues[i].Transitions)
	}
	return n
}

// Append adds the records of o to b.
func (b *Batch) Append(o *Batch) {
	b.MergeRequests = append(b.MergeRequests, o.MergeRequests...)
	b.Pipelines = append(b.Pipelines, o.Pipelines...)
	b.Deployments = append(b.Deployments, o.Deployments...)
	b.Issues = append(b.Issues, o.Issues...)
	b.Sprints = append(b.Sprints, o.Sprints...)
}

// GitLabID builds an origin-naming identifier.
func GitLabID(host string, projectID int64, kind string, n int64) string {
	return fmt.Sprintf("gitlab:%s:%d:%s:%d", host, projectID, kind, n)
}

// Scope is one project a collector reads.
type Scope struct {
	Path          string // group/project: how the policy and teams name it
	ID            int64  // 0 when unknown
	DefaultBranch string
	// Personal: the project lives in a user's namespace (alice/shop), so
	// its path names a person; the pipeline pseudonymizes it before the
	// scope reaches a collector, a record, a cursor or a log line.
	Personal bool
	// Group is the configured group the project was found through ("" when
	// it is configured on its own): its streams can be read with the
	// group's own lists (see collectors.Grouper).
	Group string
}

// ScopeGroup is a set of scopes one list of the server covers (a GitLab
// group and its subgroups).
type ScopeGroup struct {
	Name   string // the group as configured
	Scopes []Scope
}

// Output is where a collector sends a stream.
type Output struct {
	Emit Emit
	// Landed returns the updated_at already landed for these record ids (absent
	// = not landed). A record listed again with the same updated_at is
	// unchanged: the collector skips its detail requests and does not emit it.
	// May be nil (then everything is treated as new).
	Landed func(ctx context.Context, ids []string) (map[string]time.Time, error)
	// List, when set, makes a listing pass (reconcile): every listed id is
	// handed to it and reported unchanged, so no detail request is made.
	List func(listed map[string]time.Time)
	// Heads, when set with List, receives each listed merge request's head
	// SHA: reconcile compares it with the landed one, because some GitLab
	// versions do not bump updated_at on every push.
	Heads func(heads map[string]string)
	// Excluded, when set, tells whether the privacy policy excludes a record
	// with these attributes: the collector then reads none of its children
	// (commits, notes, diffs, changelogs, journals). The record is still
	// emitted, so the policy drops and counts it.
	Excluded func(project string, labels []string, typ string) bool
	// Total, when set, hears how many records the server says the list
	// holds (X-Total, total_count, total), for progress and its ETA.
	Total func(n int64)
}

// ReportTotal passes a list's total to Total, if anyone listens.
func (o Output) ReportTotal(n int64) {
	if o.Total != nil && n > 0 {
		o.Total(n)
	}
}

// Skips reports whether out excludes a record with these attributes.
func (o Output) Skips(project string, labels []string, typ string) bool {
	return o.Excluded != nil && o.Excluded(project, labels, typ)
}

// Unchanged filters ids whose landed updated_at equals the listed one.
func (o Output) Unchanged(ctx context.Context, listed map[string]time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if o.List != nil {
		o.List(listed)
		for id := range listed {
			out[id] = true
		}
		return out, nil
	}
	if o.Landed == nil || len(listed) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(listed))
	for id := range listed {
		ids = append(ids, id)
	}
	have, err := o.Landed(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, t := range listed {
		if h, ok := have[id]; ok && h.Equal(t) {
			out[id] = true
		}
	}
	return out, nil
}

// Emit hands on one batch of a stream together with the cursor it reaches:
// the updated_at of its newest record. Streams are read oldest-first, so
// everything up to the cursor has been emitted once Emit returns.
type Emit func(ctx context.Context, b *Batch, cursor time.Time) error

// TypeClasses are the default classes of common type names; sources'
// issue_types extend and override them.
var TypeClasses = map[string]string{
	"incident": "incident", "bug": "bug", "defect": "bug", "story": "story", "user story": "story",
	"feature": "story", "task": "task", "sub-task": "task", "subtask": "task", "support": "task", "issue": "task",
	"故事": "story", "缺陷": "bug", "任务": "task", "子任务": "task",
}

// ClassOf maps a type name through a source's map, then the defaults.
func ClassOf(typ string, custom map[string]string) string {
	for name, class := range custom {
		if strings.EqualFold(name, typ) {
			return class
		}
	}
	if c, ok := TypeClasses[strings.ToLower(typ)]; ok {
		return c
	}
	return "other"
}
