package snowflake

import (
	"context"
	"errors"

	"testing"

	"github.com/devpulse/devpulse/config"

	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

// LiveSchema gives a test a scratch schema of the live account, or skips.
func LiveSchema(t testing.TB) config.Snowflake {
	t.Helper()
	c, ok, err := LiveConfig()
	if !ok {
		t.Skip(LiveSkip)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, drop, err := ScratchSchema(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return c
}

// TestLive_Contract runs the engine contract against a real account.
func TestLive_Contract(t *testing.T) {
	warehousetest.Run(t, warehousetest.Engine{
		Open: func(t *testing.T) warehouse.Warehouse {
			return openT(t, LiveSchema(t))
		},
		Reopen: func(t *testing.T, w warehouse.Warehouse) warehouse.Warehouse {
			cfg := w.(*DB).cfg
			w.Close()
			return openT(t, cfg)
		},
		BeforeCommit: func(t *testing.T, w warehouse.Warehouse, fn func() error) {
			db := w.(*DB)
			db.beforeCommit = func() error {
				db.beforeCommit = nil
				return fn()
			}
		},
		BreakCommit: func(t *testing.T, w warehouse.Warehouse) {
			db := w.(*DB)
			db.beforeCommit = func() error {
				db.beforeCommit = nil
				return errors.New("injected failure before COMMIT")
			}
		},
		BigRows: 1_000_000,
	})
}

// TestLive_Grants checks the doctor's grant reading against real SHOW GRANTS output.
func TestLive_Grants(t *testing.T) {
	w := openT(t, LiveSchema(t))
	role, checks, err := w.CheckGrants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Logf("role %s: %s ok=%v", role, c, c.OK)
	}
}
