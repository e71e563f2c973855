package main

import (
	"context"
	"fmt"
	"io"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

// Engines, in one visible place: warehouse.engine selects one.
//
// openWarehouse opens the configured engine for writing: migrations applied,
// dashboard views created.
func openWarehouse(ctx context.Context, cfg *config.Config) (warehouse.Warehouse, error) {
	switch cfg.Warehouse.Engine {
	case "snowflake":
		return snowflake.Open(ctx, cfg.Warehouse.Snowflake)
	default:
		wh, err := duckdb.Open(ctx, cfg.Warehouse.Path)
		if err != nil {
			return nil, err
		}
		if err := wh.SetMemoryLimit(ctx, cfg.Warehouse.MemoryLimit); err != nil {
			wh.Close()
			return nil, &config.ConfigError{File: cfg.File, Key: "warehouse.memory_limit", Msg: err.Error()}
		}
		return wh, nil
	}
}

// openWarehouseReadOnly opens it for reading (query, report): DuckDB lets
// other readers in, Snowflake refuses writing statements.
func openWarehouseReadOnly(ctx context.Context, cfg *config.Config) (warehouse.Warehouse, error) {
	switch cfg.Warehouse.Engine {
	case "snowflake":
		return snowflake.OpenReadOnly(ctx, cfg.Warehouse.Snowflake)
	default:
		return duckdb.OpenReadOnly(ctx, cfg.Warehouse.Path)
	}
}

// describeWarehouse names where the data lands, for messages.
func describeWarehouse(cfg *config.Config) string {
	if cfg.Warehouse.Engine == "snowflake" {
		s := cfg.Warehouse.Snowflake
		return fmt.Sprintf("snowflake %s.%s on %s", s.Database, s.Schema, s.Account)
	}
	return "duckdb " + cfg.Warehouse.Path
}

// doctorWarehouse checks the warehouse can be written, and for Snowflake
// each privilege devpulse needs, before migrating (so a missing grant is
// named instead of surfacing as a failed CREATE TABLE). It returns the
// number of failed checks.
func doctorWarehouse(ctx context.Context, w io.Writer, cfg *config.Config) int {
	name := describeWarehouse(cfg)
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
	wh, err := openWarehouse(ctx, cfg)
	if err != nil {
		fmt.Fprintf(w, "warehouse %s: FAIL %v\n", name, err)
		return failed + 1
	}
	wh.Close()
	fmt.Fprintf(w, "warehouse %s: ok (writable, migrations applied, dashboard views created)\n", name)
	return failed
}
