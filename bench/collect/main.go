// Command collect measures a GitLab collection against the sandbox: records,
// API requests (by kind), requests per record and wall time, for a first run,
// an unchanged re-run and a run after 1% of merge requests changed.
//
//	go run ./bench/collect -projects 10 -mrs 1000 -latency 0
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func main() {
	projects := flag.Int("projects", 10, "projects in the sandbox")
	mrs := flag.Int("mrs", 1000, "merge requests per project")
	pipelines := flag.Int("pipelines", 0, "pipelines per project")
	deployments := flag.Int("deployments", 0, "production deployments per project")
	issues := flag.Int("issues", 0, "issues per project")
	latency := flag.Duration("latency", 0, "latency the sandbox adds to every request")
	conc := flag.Int("concurrency", 8, "source concurrency")
	rateLimit := flag.Float64("rate", 0, "client rate limit, requests/s (0 = none)")
	streams := flag.String("streams", "merge_requests", "comma-separated streams")
	memwatch := flag.Duration("memwatch", 0, "every this often during the first run, read DuckDB's duckdb_memory() and keep each component's peak (0 = off)")
	heapAt := flag.String("heapprofile", "", "with -memwatch: write the Go heap profile taken when the heap was largest here")
	group := flag.String("group", "", "configure the sandbox's projects through this group (e.g. acme: all of them) instead of listing each project")
	serve := flag.Bool("serve", false, "only serve the sandbox (prints its URL; token bench) until killed, for measuring `devpulse collect` in its own process")
	flag.Parse()

	size := sandbox.Size{Projects: *projects, MRsPerProject: *mrs, PipelinesPerProject: *pipelines,
		DeploymentsPerProject: *deployments, IssuesPerProject: *issues}
	t0 := time.Now()
	org := sandbox.Generate(1, size, time.Now().Add(-time.Hour))
	srv := sandbox.Start(org, sandbox.Options{Token: "bench", Latency: *latency})
	defer srv.Close()
	if *serve {
		fmt.Printf("SANDBOX_URL=%s\nSANDBOX_PROJECTS=%s\n", srv.URL, strings.Join(org.ProjectPaths(), ","))
		select {}
	}
	fmt.Printf("sandbox: %d projects x %d MRs, %d pipelines, %d deployments, %d issues per project; latency %v; concurrency %d; generated in %v\n",
		*projects, *mrs, *pipelines, *deployments, *issues, *latency, *conc, time.Since(t0).Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "devpulse-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	rl := *rateLimit
	if rl == 0 {
		rl = 1e9
	}
	src := &config.Source{Name: "gl", Type: "gitlab", URL: srv.URL, Token: "bench", Projects: org.ProjectPaths(),
		Streams: strings.Split(*streams, ","), Concurrency: *conc, RateLimit: rl, MaxRetries: 8,
		Timeout: d("60s"), Overlap: d("10m"), Lookback: d("365d")}
	if *group != "" {
		set := gitlab.Defaults()
		set.Groups = []string{*group}
		src.Projects, src.Settings = nil, set
	}
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	cfg.Sources["gl"] = src
	cfg.Warehouse.Path = filepath.Join(dir, "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
	if err != nil {
		log.Fatal(err)
	}
	defer wh.Close()
	if err := wh.SetMemoryLimit(context.Background(), cfg.Warehouse.MemoryLimit); err != nil { // as devpulse opens it
		log.Fatal(err)
	}
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		log.Fatal(err)
	}
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol}

	fmt.Printf("%-22s %9s %9s %8s %9s %8s  %s\n", "run", "records", "requests", "req/rec", "wall", "req/s", "requests by kind")
	var firstKinds map[string]int64
	runOnce := func(name string) {
		srv.ResetCounts()
		start := time.Now()
		res, err := r.Collect(context.Background(), pipeline.Options{})
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		el := time.Since(start)
		recs := 0
		for _, v := range res.Run.Records {
			recs += v
		}
		reqs := srv.Total()
		kinds := srv.Requests()
		keys := make([]string, 0, len(kinds))
		for k := range kinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, kinds[k]))
		}
		per := math.NaN()
		if recs > 0 {
			per = float64(reqs) / float64(recs)
		}
		fmt.Printf("%-22s %9d %9d %8.2f %9s %8.0f  %s\n", name, recs, reqs, per, el.Round(time.Millisecond),
			float64(reqs)/el.Seconds(), strings.Join(parts, " "))
		if firstKinds == nil {
			firstKinds = kinds
		}
		if *rateLimit > 0 {
			fmt.Printf("%-22s achieved %.1f req/s against a limit of %.0f req/s (%.0f%%)\n", "", float64(reqs)/el.Seconds(), *rateLimit,
				100*float64(reqs)/el.Seconds() / *rateLimit)
		}
	}
	stopWatch := func() {}
	if *memwatch > 0 {
		stopWatch = watchMemory(wh, *memwatch, *heapAt)
	}
	runOnce("first run")
	stopWatch()
	runOnce("unchanged re-run")
	// Group lists start from the oldest member's cursor: the first grouped
	// re-run re-lists from there once and leaves every cursor aligned.
	runOnce("unchanged, again")
	srv.Touch((*projects)*(*mrs)/100, strings.TrimPrefix(srv.URL, "http://"))
	runOnce("after 1% MRs changed")
	// The first run against the theoretical minimum of the streams collected.
	min := org.Minimum()
	wanted := map[string][]string{"merge_requests": {"merge_requests", "mr_commits", "mr_notes", "mr_diffs"},
		"pipelines": {"pipelines", "pipeline"}, "deployments": {"deployments", "deployment_mrs"}, "issues": {"issues"}}
	fmt.Printf("\nfirst run vs the minimum the API forces (list pages = ceil(n/100); per-item requests only where the API has no list field):\n")
	fmt.Printf("  %-16s %9s %9s %7s\n", "kind", "measured", "minimum", "ratio")
	var totMeasured, totMin int64
	kindsOf := []string{"project"}
	for _, st := range strings.Split(*streams, ",") {
		kindsOf = append(kindsOf, wanted[st]...)
	}
	for _, k := range kindsOf {
		got, want := firstKinds[k], min[k]
		totMeasured += got
		totMin += want
		ratio := math.NaN()
		if want > 0 {
			ratio = float64(got) / float64(want)
		}
		fmt.Printf("  %-16s %9d %9d %7.3f\n", k, got, want, ratio)
	}
	fmt.Printf("  %-16s %9d %9d %7.3f\n", "total", totMeasured, totMin, float64(totMeasured)/float64(totMin))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("go heap in use at end: %.1f MiB; peak RSS %s (sandbox and its %d records in the same process)\n",
		float64(ms.HeapInuse)/(1<<20), peakRSS(), org.Records())
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

// watchMemory polls duckdb_memory() until the returned stop is called, then
// prints each component's peak and its last value: which part of DuckDB's
// native memory grows with the records landed.
func watchMemory(wh *duckdb.DB, every time.Duration, heapFile string) (stop func()) {
	peak, last := map[string]int64{}, map[string]int64{}
	var samples int
	var heapPeak uint64
	read := func() {
		if heapFile != "" {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > heapPeak {
				heapPeak = ms.HeapAlloc
				if f, err := os.Create(heapFile); err == nil {
					pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
		}
		res, err := wh.Query(context.Background(), `SELECT tag, memory_usage_bytes FROM duckdb_memory()`)
		if err != nil {
			log.Printf("duckdb_memory(): %v", err)
			return
		}
		samples++
		for _, r := range res.Rows {
			tag, _ := r[0].(string)
			v, _ := r[1].(int64)
			last[tag] = v
			peak[tag] = max(peak[tag], v)
		}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		tags := make([]string, 0, len(peak))
		for k := range peak {
			tags = append(tags, k)
		}
		sort.Slice(tags, func(i, j int) bool { return peak[tags[i]] > peak[tags[j]] })
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("duckdb_memory() over %d samples (component: peak / at the end, MB); Go heap %d MB, Go runtime from the OS %d MB:\n",
			samples, ms.HeapAlloc>>20, ms.Sys>>20)
		for _, k := range tags {
			if peak[k] > 0 {
				fmt.Printf("  %-24s %8.1f / %8.1f\n", k, float64(peak[k])/1e6, float64(last[k])/1e6)
			}
		}
	}
}
