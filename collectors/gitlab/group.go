package gitlab

import (
	"context"
	"errors"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/devpulse/devpulse/models"
)

// groupStreams are the streams GitLab lists for a whole group, subgroups
// included; pipelines, deployments, jobs and milestones have no such list.
var groupStreams = map[string]bool{"merge_requests": true, "issues": true}

// Groups implements collectors.Grouper: the projects found through a
// configured group are read with the group's own list, when at least two
// are, since one project gains nothing.
func (c *Collector) Groups(stream string, scopes []models.Scope) []models.ScopeGroup {
	if !groupStreams[stream] {
		return nil
	}
	var out []models.ScopeGroup
	at := map[string]int{}
	for _, s := range scopes {
		if s.Group == "" || s.ID == 0 {
			continue
		}
		i, ok := at[s.Group]
		if !ok {
			i = len(out)
			at[s.Group] = i
			out = append(out, models.ScopeGroup{Name: s.Group})
		}
		out[i].Scopes = append(out[i].Scopes, s)
	}
	kept := out[:0]
	for _, g := range out {
		if len(g.Scopes) > 1 {
			kept = append(kept, g)
		}
	}
	return kept
}

// groupMROptions and groupIssueOptions add what client-go's options lack: non_archived, which
// the group lists default to true (gitlab-org/gitlab!23809) while the
// project listing keeps archived projects under include_archived.
type groupMROptions struct {
	gl.ListGroupMergeRequestsOptions
	NonArchived *bool `url:"non_archived,omitempty"`
}

type groupIssueOptions struct {
	gl.ListGroupIssuesOptions
	NonArchived *bool `url:"non_archived,omitempty"`
}

// CollectGroup implements collectors.Grouper. The list is the same scan as
// a project's (stable creation order, updated_after, the cursor moved only
// once it is complete), over every project of the group: each record goes
// to its project's output and, at the end, the cursor to every project of
// g, since the list covered each of them from since on. Records of
// projects outside g (excluded, archived, created since Scopes ran) are
// not built: no child request is made for them and nothing of them lands.
func (c *Collector) CollectGroup(ctx context.Context, g models.ScopeGroup, stream string, since time.Time, out func(models.Scope) models.Output) error {
	if len(g.Scopes) == 0 {
		return nil
	}
	byID := make(map[int64]models.Scope, len(g.Scopes))
	for _, s := range g.Scopes {
		byID[s.ID] = s
	}
	first := out(g.Scopes[0]) // Landed and Excluded are the stream's, the same for every scope
	route := models.Output{Landed: first.Landed, Excluded: first.Excluded, Total: first.Total,
		Emit: func(ctx context.Context, b *models.Batch, cursor time.Time) error {
			parts := map[int64]*models.Batch{}
			part := func(pid int64) *models.Batch {
				if parts[pid] == nil {
					parts[pid] = &models.Batch{}
				}
				return parts[pid]
			}
			for _, m := range b.MergeRequests {
				p := part(m.ProjectID)
				p.MergeRequests = append(p.MergeRequests, m)
			}
			for _, x := range b.Issues {
				p := part(x.ProjectID)
				p.Issues = append(p.Issues, x)
			}
			if len(b.Pipelines)+len(b.Deployments)+len(b.Sprints) > 0 {
				return errors.New("gitlab: a group list built records it cannot route")
			}
			for _, s := range g.Scopes {
				p := parts[s.ID]
				if p == nil && cursor.IsZero() {
					continue
				}
				if p == nil {
					p = &models.Batch{}
				}
				if err := out(s).Emit(ctx, p, cursor); err != nil {
					return err
				}
			}
			return nil
		}}
	path := "groups/" + gl.PathEscape(g.Name) + "/" + stream
	var nonArchived *bool
	if c.set.IncludeArchived {
		nonArchived = gl.Ptr(false)
	}
	switch stream {
	case "merge_requests":
		opt := &groupMROptions{ListGroupMergeRequestsOptions: gl.ListGroupMergeRequestsOptions{
			ListOptions:  gl.ListOptions{PerPage: c.perPage},
			State:        gl.Ptr("all"),
			Scope:        gl.Ptr("all"),
			OrderBy:      gl.Ptr("created_at"), // an update does not move a record (see scanList)
			Sort:         gl.Ptr("asc"),
			UpdatedAfter: gl.Ptr(since),
		}, NonArchived: nonArchived}
		return scanList(ctx, c, "list merge requests of group "+g.Name, path, opt, route, false, validMR, c.mrKey,
			func(ctx context.Context, list []*gl.BasicMergeRequest) (*models.Batch, error) {
				mrs := make([]models.MergeRequest, 0, len(list))
				var scopes []models.Scope
				for _, m := range list {
					if s, ok := byID[m.ProjectID]; ok {
						mrs = append(mrs, MergeRequest(c.host, s.Path, m))
						scopes = append(scopes, s)
					}
				}
				err := c.forEach(ctx, len(mrs), func(ctx context.Context, i int) error {
					if route.Skips(mrs[i].ProjectPath, mrs[i].Labels, "") {
						return nil
					}
					return c.mrChildren(ctx, scopes[i], &mrs[i])
				})
				return &models.Batch{MergeRequests: mrs}, err
			})
	case "issues":
		opt := &groupIssueOptions{ListGroupIssuesOptions: gl.ListGroupIssuesOptions{
			ListOptions:  gl.ListOptions{PerPage: c.perPage},
			Scope:        gl.Ptr("all"),
			OrderBy:      gl.Ptr("created_at"),
			Sort:         gl.Ptr("asc"),
			UpdatedAfter: gl.Ptr(since),
		}, NonArchived: nonArchived}
		return scanList(ctx, c, "list issues of group "+g.Name, path, opt, route, false, validIssue, c.issueKey,
			func(ctx context.Context, list []*gl.Issue) (*models.Batch, error) {
				issues := make([]models.Issue, 0, len(list))
				var kept []*gl.Issue
				var scopes []models.Scope
				for _, x := range list {
					if s, ok := byID[x.ProjectID]; ok {
						issues = append(issues, Issue(c.host, s.Path, x))
						kept = append(kept, x)
						scopes = append(scopes, s)
					}
				}
				if err := c.labelHistory(ctx, func(i int) models.Scope { return scopes[i] }, issues, kept); err != nil {
					return nil, err
				}
				return &models.Batch{Issues: issues}, nil
			})
	}
	return errors.New("gitlab " + c.src.Name + ": stream " + stream + " has no group list")
}
