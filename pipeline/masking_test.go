package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
)

// textColumns are the columns that keep (masked) text.
var textColumns = map[string][]string{
	"merge_requests": {"id", "title", "source_branch", "target_branch", "labels", "project_path", "web_url"},
	"pipelines":      {"id", "ref", "project_path"},
	"deployments":    {"id", "ref", "environment", "job_name", "project_path"},
	"issues":         {"id", "title", "labels", "project_path", "web_url"},
	"sprints":        {"id", "name", "project_path"},
}

func (e *env) text(table string) map[string]string {
	e.t.Helper()
	res, err := e.wh.Query(context.Background(), fmt.Sprintf("SELECT %s FROM %s", strings.Join(textColumns[table], ", "), table))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res.Rows {
		out[fmt.Sprint(r[0])] = fmt.Sprint(r[1:]...)
	}
	return out
}

// leaks counts cells of the text columns holding a name, username, email,
// email local part or hyphenated/dotted full name of the org.
func (e *env) leaks(needles []string) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for table := range textColumns {
		for _, row := range e.text(table) {
			low := strings.ToLower(row)
			for _, n := range needles {
				if len(n) >= 4 && strings.Contains(low, strings.ToLower(n)) {
					out[table]++
				}
			}
		}
	}
	return out
}

// withoutMembers hides a collector's member list: the policy then knows only
// the people of the batches it has seen, as before member lists were read.
type withoutMembers struct{ collectors.Collector }

// TestMasking_SameWhicheverStreamsRun: with real-world naming habits in
// branches, labels, titles (kept), environments and job names, every stream
// run alone masks exactly as all streams together, and nothing personal is
// left; the control without member lists leaks and depends on the order.
func TestMasking_SameWhicheverStreamsRun(t *testing.T) {
	// One project deploys from CI jobs: the jobs stream lands deployments too.
	size := sandbox.Size{Projects: 3, MRsPerProject: 60, PipelinesPerProject: 40, DeploymentsPerProject: 8, IssuesPerProject: 10, JobDeployProjects: 1}
	base := newEnv(t, size, sandbox.Options{})
	base.cfg.Deployments.Jobs = "^deploy$"
	base.srv.Org.NamingHabits()
	base.cfg.Privacy.Titles = "keep"
	base.cfg.Metrics.BotAuthors = config.Defaults().Metrics.BotAuthors
	run := func(streams []string, members bool) *env {
		e := base.freshWarehouse()
		o := pipeline.Options{Streams: streams}
		if !members {
			o.NewCollector = func(src *config.Source, ce collectors.Env) (collectors.Collector, error) {
				c, err := gitlab.New(src, gitlab.Options{Logger: ce.Logger, Stats: ce.Stats, Deployments: ce.Deployments, Sleep: e.sleeps.sleep})
				return withoutMembers{c}, err
			}
		}
		if _, err := e.collectWith(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, members := range []bool{true, false} {
		all := run(nil, members)
		needles := all.srv.Org.PersonalStrings()
		leaks := all.leaks(needles)
		differ := 0
		for _, stream := range gitlab.Streams {
			alone := run([]string{stream}, members)
			table := stream
			switch stream {
			case "jobs":
				table = "deployments" // deploy jobs land as deployments
			case "milestones":
				table = "sprints"
			}
			a, b := all.text(table), alone.text(table)
			for id, v := range b {
				if a[id] != v {
					differ++
					if members {
						t.Errorf("%s %s alone: %q, with all streams: %q", stream, id, v, a[id])
					}
				}
			}
			for table, n := range alone.leaks(needles) {
				leaks[table+" (alone)"] += n
			}
		}
		total := 0
		for _, n := range leaks {
			total += n
		}
		t.Logf("member lists read: %v — cells naming a person: %d %v; records masked differently when their stream ran alone: %d", members, total, leaks, differ)
		if members && total != 0 {
			t.Errorf("%d cells name a person: %v", total, leaks)
		}
		if !members && total == 0 && differ == 0 {
			t.Error("control: without member lists nothing leaked and nothing differed: the test tests nothing")
		}
	}
}
