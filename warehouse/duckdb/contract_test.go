package duckdb

import (
	"context"
	"errors"
	"testing"

	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

func TestContract(t *testing.T) {
	warehousetest.Run(t, warehousetest.Engine{
		Open: func(t *testing.T) warehouse.Warehouse {
			w, _ := openTemp(t)
			return w
		},
		Reopen: func(t *testing.T, w warehouse.Warehouse) warehouse.Warehouse {
			p := w.(*DB).Path()
			w.Close()
			w2, err := Open(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w2.Close() })
			return w2
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
	})
}
