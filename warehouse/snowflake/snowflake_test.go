package snowflake

import (
	"context"
	"testing"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/snowfake"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

// fake starts a fake Snowflake account with one password user and returns
// the engine configuration that reaches it through the real driver.
func fake(t testing.TB) (*snowfake.Server, config.Snowflake) {
	t.Helper()
	s, err := snowfake.New("devpulse-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddUser("loader", snowfake.User{Password: "s3cret-pw", Role: "DEVPULSE_LOADER"})
	return s, config.Snowflake{Account: "devpulse-test", User: "loader", Role: "DEVPULSE_LOADER", Warehouse: "WH", Database: "ANALYTICS",
		Schema: "DEVPULSE", Password: "s3cret-pw", Host: s.Host, Port: s.Port, Protocol: "http", Timeout: config.Duration(60e9)}
}

func openT(t testing.TB, cfg config.Snowflake) *DB {
	t.Helper()
	w, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestContract(t *testing.T) { runContract(t, 65280) }

// TestContract_AllBindsStaged runs the contract with every array bind staged
// (threshold 1): the path real Snowflake takes for all large batches —
// CSV through an encrypted stage upload — with NULLs, empty strings, time
// zones and dates.
func TestContract_AllBindsStaged(t *testing.T) { runContract(t, 1) }

func runContract(t *testing.T, threshold int) {
	servers := map[warehouse.Warehouse]*snowfake.Server{}
	cfgs := map[warehouse.Warehouse]config.Snowflake{}
	big := 1_000_000
	if testing.Short() || raceEnabled || threshold == 1 {
		// The race detector makes the driver's array binding ~10x slower;
		// the full million runs without it (bench/warehouse does too).
		big = 100_000
	}
	warehousetest.Run(t, warehousetest.Engine{
		Open: func(t *testing.T) warehouse.Warehouse {
			s, cfg := fake(t)
			s.BindStageThreshold = threshold
			w := openT(t, cfg)
			servers[w], cfgs[w] = s, cfg
			return w
		},
		Reopen: func(t *testing.T, w warehouse.Warehouse) warehouse.Warehouse {
			w.Close()
			return openT(t, cfgs[w])
		},
		BeforeCommit: func(t *testing.T, w warehouse.Warehouse, fn func() error) {
			db := w.(*DB)
			db.beforeCommit = func() error {
				db.beforeCommit = nil
				return fn()
			}
		},
		BreakCommit: func(t *testing.T, w warehouse.Warehouse) {
			servers[w].FailNext("COMMIT", "000603", "SQL execution internal error: injected before COMMIT")
		},
		BigRows: big,
	})
}
