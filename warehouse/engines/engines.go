// Package engines opens the configured warehouse engine: the one place that
// knows every engine (warehouse.engine selects one), as collectors/registry.go
// is for sources.
package engines

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
	"github.com/devpulse/devpulse/warehouse/snowflake"
)

// Open opens the engine for writing: migrations applied, dashboard views
// created. A DuckDB file held by another process is waited for up to
// schedule.busy_timeout; busy (may be nil) hears once who holds it.
func Open(ctx context.Context, cfg *config.Config, busy func(holder string)) (warehouse.Warehouse, error) {
	switch cfg.Warehouse.Engine {
	case "snowflake":
		return snowflake.Open(ctx, cfg.Warehouse.Snowflake)
	default:
		return limited(ctx, cfg)(duckdb.OpenWait(ctx, cfg.Warehouse.Path, false, time.Duration(cfg.Schedule.BusyTimeout), busy))
	}
}

// OpenReadOnly opens it for reading (query, report): DuckDB lets other
// readers in, Snowflake refuses writing statements.
func OpenReadOnly(ctx context.Context, cfg *config.Config, busy func(holder string)) (warehouse.Warehouse, error) {
	switch cfg.Warehouse.Engine {
	case "snowflake":
		return snowflake.OpenReadOnly(ctx, cfg.Warehouse.Snowflake)
	default:
		if _, err := os.Stat(cfg.Warehouse.Path); err != nil {
			return duckdb.OpenReadOnly(ctx, cfg.Warehouse.Path) // says how to create it
		}
		// A report reads as much as a metrics run: the same bound on DuckDB.
		return limited(ctx, cfg)(duckdb.OpenWait(ctx, cfg.Warehouse.Path, true, time.Duration(cfg.Schedule.BusyTimeout), busy))
	}
}

// limited applies warehouse.memory_limit to a DuckDB handle just opened.
func limited(ctx context.Context, cfg *config.Config) func(*duckdb.DB, error) (warehouse.Warehouse, error) {
	return func(wh *duckdb.DB, err error) (warehouse.Warehouse, error) {
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

// Describe names where the data lands, for messages.
func Describe(cfg *config.Config) string {
	if cfg.Warehouse.Engine == "snowflake" {
		s := cfg.Warehouse.Snowflake
		return fmt.Sprintf("snowflake %s.%s on %s", s.Database, s.Schema, s.Account)
	}
	return "duckdb " + cfg.Warehouse.Path
}
