// Command warehouse measures landing speed: N merge requests (each with 3
// commits and 2 reviews, as collected) in batches of warehouse.batch_size,
// into DuckDB and into Snowflake through the real driver and the fake server
// (the driver's array-binding path; a real account adds network and the
// service's own time, see README: Snowflake). Re-landing the same batches
// (the unchanged re-run case) is timed too. Prints numbers; asserts nothing.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/snowfake"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

func main() {
	n := flag.Int("mrs", 100_000, "merge requests to land")
	batch := flag.Int("batch", 10_000, "records per Land (warehouse.batch_size)")
	engines := flag.String("engines", "duckdb,snowflake", "engines to measure")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed landings here")
	flag.Parse()
	ctx := context.Background()
	pol, err := policy.New(config.Privacy{Secret: "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0", People: "pseudonymize", Titles: "drop"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	// Batches are built and cleared once, outside the timed part.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batches []*policy.Cleared
	for start := 0; start < *n; start += *batch {
		b := &models.Batch{}
		for i := start; i < min(start+*batch, *n); i++ {
			id := models.GitLabID("gitlab.example.com", int64(i%10), "mr", int64(i))
			merged := base.Add(time.Duration(i) * time.Minute)
			m := models.MergeRequest{Origin: models.Origin{Source: "gitlab", Instance: "gitlab.example.com"}, ID: id, ProjectID: int64(i % 10),
				ProjectPath: fmt.Sprintf("acme/p%d", i%10), IID: int64(i), State: "merged", CreatedAt: base, UpdatedAt: merged, MergedAt: &merged,
				Author: models.Person{Username: fmt.Sprintf("dev%d", i%50)}, SourceBranch: "feature/x", TargetBranch: "main", Labels: []string{"api"}}
			for c := 0; c < 3; c++ {
				m.Commits = append(m.Commits, models.MRCommit{MRID: id, SHA: fmt.Sprintf("%040d", i*3+c), AuthoredAt: base, CommittedAt: base,
					Author: models.Person{Username: fmt.Sprintf("dev%d", i%50)}})
			}
			for r := 0; r < 2; r++ {
				m.Reviews = append(m.Reviews, models.MRReview{ID: fmt.Sprintf("%s:note:%d", id, r), MRID: id, Kind: "review",
					Reviewer: models.Person{Username: fmt.Sprintf("dev%d", (i+r+1)%50)}, CreatedAt: merged})
			}
			b.MergeRequests = append(b.MergeRequests, m)
		}
		c, _ := pol.Apply(b)
		batches = append(batches, c)
	}
	rows := *n * 6 // 1 MR + 3 commits + 2 reviews
	key := warehouse.StreamKey{Source: "gl", Instance: "gitlab.example.com", Scope: "acme", Stream: "merge_requests"}
	measure := func(name string, w warehouse.Warehouse) {
		for _, what := range []string{"first load", "re-land (same rows)"} {
			start := time.Now()
			for i, b := range batches {
				if err := w.Land(ctx, key, b, base.Add(time.Duration(i))); err != nil {
					log.Fatal(err)
				}
			}
			d := time.Since(start)
			fmt.Printf("%-22s %-20s %7d MRs (%d rows) in %6.2f s = %8.0f MRs/s, %9.0f rows/s\n", name, what, *n, rows, d.Seconds(),
				float64(*n)/d.Seconds(), float64(rows)/d.Seconds())
		}
		res, err := w.Query(ctx, "SELECT COUNT(*) FROM merge_requests")
		if err != nil || res.Rows[0][0] != int64(*n) {
			log.Fatalf("%s: %v MRs landed (%v)", name, res, err)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	for _, e := range strings.Split(*engines, ",") {
		switch e {
		case "duckdb":
			dir, _ := os.MkdirTemp("", "bench-wh")
			w, err := duckdb.Open(ctx, filepath.Join(dir, "w.duckdb"))
			if err != nil {
				log.Fatal(err)
			}
			measure("duckdb", w)
			w.Close()
			os.RemoveAll(dir)
		case "snowflake":
			s, err := snowfake.New("bench")
			if err != nil {
				log.Fatal(err)
			}
			s.AddUser("bench", snowfake.User{Password: "bench"})
			w, err := snowflake.Open(ctx, config.Snowflake{Account: "bench", User: "bench", Password: "bench", Warehouse: "WH", Database: "DB",
				Schema: "S", Host: s.Host, Port: s.Port, Protocol: "http", Timeout: config.Duration(10 * time.Minute)})
			if err != nil {
				log.Fatal(err)
			}
			q0 := s.Queries.Load()
			measure("snowflake (fake)", w)
			fmt.Printf("%-22s %d statements for %d batches landed twice (%d rows bound, %d INSERTs staged through the driver's encrypted upload)\n",
				"snowflake (fake)", s.Queries.Load()-q0, 2*len(batches), s.BoundRows.Load(), s.StagedBinds.Load())
			w.Close()
			s.Close()
		default:
			log.Fatalf("unknown engine %q", e)
		}
	}
}
