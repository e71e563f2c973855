package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/engines"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

func openWarehouse(ctx context.Context, stderr io.Writer, cfg *config.Config) (warehouse.Warehouse, error) {
	return engines.Open(ctx, cfg, busyNotice(stderr, cfg))
}

// openExistingWarehouse is openWarehouse for the commands that work on what
// landed (metrics, purge): a DuckDB file that is not there is an error, not
// a new empty warehouse that "deleted 0" or computed nothing.
func openExistingWarehouse(ctx context.Context, stderr io.Writer, cfg *config.Config) (warehouse.Warehouse, error) {
	if cfg.Warehouse.Engine == "duckdb" {
		if _, err := os.Stat(cfg.Warehouse.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("duckdb: warehouse %s does not exist (nothing has landed there: check --warehouse / warehouse.path, or run `devpulse collect` first)", cfg.Warehouse.Path)
		}
	}
	return openWarehouse(ctx, stderr, cfg)
}

func openWarehouseReadOnly(ctx context.Context, stderr io.Writer, cfg *config.Config) (warehouse.Warehouse, error) {
	return engines.OpenReadOnly(ctx, cfg, busyNotice(stderr, cfg))
}

// busyNotice says once, on stderr, that the DuckDB file is held and how long
// devpulse waits for it (schedule.busy_timeout).
func busyNotice(stderr io.Writer, cfg *config.Config) func(string) {
	return func(holder string) {
		fmt.Fprintf(stderr, "warehouse file %s is in use by %s; waiting up to %s for it (schedule.busy_timeout)\n",
			cfg.Warehouse.Path, holder, time.Duration(cfg.Schedule.BusyTimeout))
	}
}

// doctorWarehouse checks the warehouse can be written, and for Snowflake
// each privilege devpulse needs, before migrating (so a missing grant is
// named instead of surfacing as a failed CREATE TABLE). It returns the
// number of failed checks.
func doctorWarehouse(ctx context.Context, w io.Writer, cfg *config.Config) int {
	name := engines.Describe(cfg)
	failed := 0
	if cfg.Warehouse.Engine == "snowflake" {
		sfw, err := snowflake.OpenReadOnly(ctx, cfg.Warehouse.Snowflake)
		if err != nil {
			fmt.Fprintf(w, "warehouse %s: FAIL %v\n", name, err)
			return 1
		}
		role, checks, err := sfw.CheckGrants(ctx)
		sfw.Close()
		if err != nil {
			fmt.Fprintf(w, "warehouse %s: FAIL %v\n", name, err)
			return 1
		}
		fmt.Fprintf(w, "warehouse %s: connected as role %s\n", name, role)
		for _, c := range checks {
			if c.OK {
				fmt.Fprintf(w, "  grant %s: ok\n", c)
			} else {
				fmt.Fprintf(w, "  grant %s: MISSING (an administrator runs: %s)\n", c, c.Fix)
				failed++
			}
		}
		if failed > 0 {
			return failed
		}
	}
	wh, err := openWarehouse(ctx, w, cfg)
	if err != nil {
		fmt.Fprintf(w, "warehouse %s: FAIL %v\n", name, err)
		return failed + 1
	}
	wh.Close()
	fmt.Fprintf(w, "warehouse %s: ok (writable, migrations applied, dashboard views created)\n", name)
	return failed
}
