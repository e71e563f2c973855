// Command metrics measures landing and metric computation at scale: it
// generates MRs (with commits and reviews), deployments, pipelines and
// incidents, lands them through the privacy policy into DuckDB, then loads
// them back and computes every metric for every project and team.
//
//	go run ./bench/metrics -mrs 100000 -deployments 20000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/engines"
)

func main() {
	nMR := flag.Int("mrs", 100000, "merge requests")
	nDep := flag.Int("deployments", 20000, "production deployments")
	nPl := flag.Int("pipelines", 100000, "pipelines")
	nInc := flag.Int("incidents", 2000, "incidents")
	projects := flag.Int("projects", 20, "projects")
	batch := flag.Int("batch", 10000, "records landed per transaction")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the landing phase (with -measure-only: of load and compute) here")
	dbPath := flag.String("db", "", "keep the warehouse in this file (default: a temporary one)")
	spanDays := flag.Int("span-days", 365, "days before now the records are spread over (90 puts all of them inside the 90-day window)")
	landOnly := flag.Bool("land-only", false, "generate and land only, without computing the metrics in this process (for -db files too large to read whole)")
	measureOnly := flag.Bool("measure-only", false, "skip generating and landing: load and compute over -db (run it as its own process to measure the metrics' memory)")
	flag.Parse()
	if *measureOnly {
		measure(*dbPath, *cpuprofile)
		return
	}

	now := time.Now().UTC().Truncate(time.Hour)
	start := now.AddDate(0, 0, -*spanDays)
	r := rand.New(rand.NewPCG(1, 2))
	o := models.Origin{Source: "gitlab", Instance: "gitlab.bench"}
	span := now.Sub(start)
	proj := func(i int) string { return fmt.Sprintf("acme/svc-%02d", i%*projects) }

	// Generated and landed a batch at a time: ten million MRs with their
	// commits and reviews would not fit in memory at once.
	dir, err := os.MkdirTemp("", "devpulse-bench-metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	path := filepath.Join(dir, "w.duckdb")
	if *dbPath != "" {
		path = *dbPath
		os.Remove(path)
	}
	wh, err := duckdb.Open(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	defer wh.Close()
	pol, err := policy.New(config.Privacy{Secret: "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", People: "pseudonymize", Titles: "drop"}, []string{"*bot"})
	if err != nil {
		log.Fatal(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	key := warehouse.StreamKey{Source: "bench", Instance: o.Instance, Scope: "all", Stream: "merge_requests"}
	var genTime, policyTime, landTime time.Duration
	var rows, nMRs, nDeps, nPls, nIncs int
	b := &models.Batch{}
	t0 := time.Now()
	flush := func() {
		n := len(b.MergeRequests) + len(b.Deployments) + len(b.Pipelines) + len(b.Issues)
		if n == 0 {
			return
		}
		genTime += time.Since(t0)
		rows += countRows(b)
		nMRs, nDeps, nPls, nIncs = nMRs+len(b.MergeRequests), nDeps+len(b.Deployments), nPls+len(b.Pipelines), nIncs+len(b.Issues)
		tp := time.Now()
		cleared, _ := pol.Apply(b)
		policyTime += time.Since(tp)
		tl := time.Now()
		if err := wh.Land(ctx, key, cleared, now); err != nil {
			log.Fatal(err)
		}
		landTime += time.Since(tl)
		b = &models.Batch{}
		t0 = time.Now()
	}
	full := func(n int) {
		if n >= *batch {
			flush()
		}
	}
	for i := 0; i < *nMR; i++ {
		p := proj(i)
		id := models.GitLabID(o.Instance, int64(i%*projects), "mr", int64(i))
		c := start.Add(time.Duration(r.Int64N(int64(span))))
		m := c.Add(time.Duration(1+r.IntN(96)) * time.Hour)
		x := models.MergeRequest{Origin: o, ID: id, ProjectPath: p, IID: int64(i), State: "merged", TargetBranch: "main",
			SourceBranch: "feature/x", Author: models.Person{Username: fmt.Sprintf("u%d", r.IntN(500))}, CreatedAt: c, UpdatedAt: m, MergedAt: &m}
		for k := 0; k < 3; k++ {
			x.Commits = append(x.Commits, models.MRCommit{MRID: id, SHA: fmt.Sprintf("%s-%d", id, k), AuthoredAt: c.Add(-time.Duration(r.IntN(72)) * time.Hour),
				Author: models.Person{Email: fmt.Sprintf("u%d@acme.example", r.IntN(500))}})
		}
		for k := 0; k < 2; k++ {
			x.Reviews = append(x.Reviews, models.MRReview{MRID: id, ID: fmt.Sprintf("%s:note:%d", id, k), Kind: "comment",
				Reviewer: models.Person{Username: fmt.Sprintf("u%d", r.IntN(500))}, CreatedAt: c.Add(time.Duration(1+r.IntN(40)) * time.Hour)})
		}
		b.MergeRequests = append(b.MergeRequests, x)
		full(len(b.MergeRequests))
	}
	flush()
	// The k-th MR of project q is MR q + k*projects: a deployment ships
	// random MRs of its project without a list of ten million ids.
	ofProject := func(q int) int { return (*nMR - q + *projects - 1) / *projects }
	for i := 0; i < *nDep; i++ {
		p := proj(i)
		f := start.Add(time.Duration(r.Int64N(int64(span))))
		d := models.Deployment{Origin: o, ID: models.GitLabID(o.Instance, int64(i%*projects), "deployment", int64(i)), ProjectPath: p,
			Environment: "production", EnvironmentTier: "production", Status: "success", Ref: "main", SHA: fmt.Sprint(i),
			PipelineID: int64(i), CreatedAt: f, UpdatedAt: f, FinishedAt: &f}
		q := i % *projects
		for k := 0; k < 5; k++ {
			mr := q + r.IntN(ofProject(q))*(*projects)
			d.Changes = append(d.Changes, models.DeploymentChange{DeploymentID: d.ID, MRID: models.GitLabID(o.Instance, int64(q), "mr", int64(mr))})
		}
		b.Deployments = append(b.Deployments, d)
		full(len(b.Deployments))
	}
	flush()
	for i := 0; i < *nPl; i++ {
		f := start.Add(time.Duration(r.Int64N(int64(span))))
		dur, q := float64(300+r.IntN(1200)), float64(r.IntN(90))
		b.Pipelines = append(b.Pipelines, models.Pipeline{Origin: o, ID: models.GitLabID(o.Instance, int64(i%*projects), "pipeline", int64(i)),
			ProjectPath: proj(i), Status: []string{"success", "success", "success", "failed"}[r.IntN(4)], Ref: "main", IsDefaultBranch: true,
			CreatedAt: f, UpdatedAt: f, FinishedAt: &f, DurationS: &dur, QueuedDurationS: &q})
		full(len(b.Pipelines))
	}
	flush()
	for i := 0; i < *nInc; i++ {
		c := start.Add(time.Duration(r.Int64N(int64(span))))
		e := c.Add(time.Duration(10+r.IntN(600)) * time.Minute)
		b.Issues = append(b.Issues, models.Issue{Origin: o, ID: models.GitLabID(o.Instance, int64(i%*projects), "issue", int64(i)),
			ProjectPath: proj(i), Key: fmt.Sprintf("#%d", i), Type: "incident", State: "closed", CreatedAt: c, UpdatedAt: e, ClosedAt: &e})
		full(len(b.Issues))
	}
	flush()
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("generated %d MRs (%d commits, %d reviews), %d deployments, %d pipelines, %d incidents = %d rows in %v\n",
		nMRs, 3*nMRs, 2*nMRs, nDeps, nPls, nIncs, rows, genTime.Round(time.Millisecond))
	land := policyTime + landTime
	fmt.Printf("landed %d rows in %v: %.0f rows/s (privacy policy %v of it; %d records per transaction)\n",
		rows, land.Round(time.Millisecond), float64(rows)/land.Seconds(), policyTime.Round(time.Millisecond), *batch)
	if *landOnly {
		fmt.Printf("peak RSS: %s\n", peakRSS())
		return
	}

	t2 := time.Now()
	loaded, err := warehouse.Load(ctx, wh)
	if err != nil {
		log.Fatal(err)
	}
	tl := time.Since(t2)
	cfg := config.Defaults()
	opts := metrics.DefaultOptions(now.AddDate(0, 0, -90), now)
	t3 := time.Now()
	rs := report.Compute(loaded, report.Scopes(report.TeamMembers(cfg), loaded), opts)
	tc := time.Since(t3)
	t4 := time.Now()
	vals := report.Values(rs, opts)
	if err := wh.PutMetrics(ctx, vals); err != nil {
		log.Fatal(err)
	}
	ts := time.Since(t4)
	fmt.Printf("metrics: load %v, compute %d scopes (90-day window + previous window) %v, store %d values %v; total %v\n",
		tl.Round(time.Millisecond), len(rs), tc.Round(time.Millisecond), len(vals), ts.Round(time.Millisecond), (tl + tc + ts).Round(time.Millisecond))
	fmt.Printf("peak RSS: %s\n", peakRSS())
}

// measure computes every metric of a landed warehouse, alone in its process,
// the way devpulse metrics does: each scope read from the warehouse on its
// own (report.ComputeStored).
func measure(path, cpuprofile string) {
	ctx := context.Background()
	cfg := config.Defaults() // warehouse.memory_limit as devpulse runs it
	cfg.Warehouse.Path = path
	wh, err := engines.Open(ctx, cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer wh.Close()
	now := time.Now().UTC().Truncate(time.Hour)
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	opts := metrics.DefaultOptions(now.AddDate(0, 0, -90), now)
	t0 := time.Now()
	scopes, err := report.StoredScopes(ctx, nil, wh)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := report.ComputeStored(ctx, wh, scopes, opts)
	if err != nil {
		log.Fatal(err)
	}
	tc := time.Since(t0)
	if cpuprofile != "" {
		pprof.StopCPUProfile()
		if f, err := os.Create(cpuprofile + ".heap"); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0) // what the results keep alive
			f.Close()
		}
	}
	t2 := time.Now()
	if err := wh.PutMetrics(ctx, report.Values(rs, opts)); err != nil {
		log.Fatal(err)
	}
	ts := time.Since(t2)
	mrs, deps := 0, 0
	for _, r := range rs {
		if n := r.Set["mr_throughput"]; n != nil && n.Value != nil {
			mrs += int(*n.Value)
		}
		if n := r.Set["deployment_count"]; n != nil && n.Value != nil {
			deps += int(*n.Value)
		}
	}
	fmt.Printf("measure-only: %d scopes (%d MRs merged, %d deployments in the window): load + compute %v, store %v = %v; peak RSS %s\n",
		len(rs), mrs, deps, tc.Round(time.Millisecond), ts.Round(time.Millisecond), (tc + ts).Round(time.Millisecond), peakRSS())
}

func countRows(b *models.Batch) int {
	n := len(b.Pipelines) + len(b.Issues)
	for _, m := range b.MergeRequests {
		n += 1 + len(m.Commits) + len(m.Reviews)
	}
	for _, d := range b.Deployments {
		n += 1 + len(d.Changes)
	}
	return n
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown"
}
