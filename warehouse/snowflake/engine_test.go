package snowflake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/snowfake"
	"github.com/devpulse/devpulse/models"
	"github.com/devpulse/devpulse/warehouse/warehousetest"
)

// Each batch is staged with array binds before BEGIN (DDL would commit an
// open transaction), merged with one MERGE per table inside it, and the
// cursor moves in the same transaction. Nothing is inserted row by row.
func TestLand_StagesWithArrayBindsThenMergesInOneTransaction(t *testing.T) {
	s, cfg := fake(t)
	w := openT(t, cfg)
	b := &models.Batch{}
	for i := int64(1); i <= 20_000; i++ {
		b.MergeRequests = append(b.MergeRequests, warehousetest.MR(i, warehousetest.Base, "a"))
	}
	s.LogStatements()
	before := s.Queries.Load()
	if err := w.Land(context.Background(), warehousetest.Key, warehousetest.Clear(t, b), warehousetest.Base); err != nil {
		t.Fatal(err)
	}
	stmts := s.Statements()
	requests := s.Queries.Load() - before
	// 30 columns → 6,666 rows per INSERT → 4 inserts of MRs; 8 columns → 25,000 → 1 insert of commits.
	// Above 65,280 values (Snowflake's CLIENT_STAGE_ARRAY_BINDING_THRESHOLD) the driver stages the
	// binds: it creates SYSTEM$BIND and PUTs the rows (the second PUT fetches the upload URL).
	var kinds []string
	for _, q := range stmts {
		f := strings.Fields(q)
		k := strings.ToUpper(f[0])
		switch k {
		case "INSERT", "MERGE", "DELETE":
			k += " " + strings.ToUpper(f[2])
		case "CREATE":
			k += " " + strings.ToUpper(f[5])
		}
		kinds = append(kinds, k)
	}
	want := []string{
		"CREATE DEVPULSE_STG_MERGE_REQUESTS",
		"CREATE SYSTEM$BIND", "PUT", "PUT", "INSERT DEVPULSE_STG_MERGE_REQUESTS",
		"CREATE SYSTEM$BIND", "PUT", "PUT", "INSERT DEVPULSE_STG_MERGE_REQUESTS",
		"CREATE SYSTEM$BIND", "PUT", "PUT", "INSERT DEVPULSE_STG_MERGE_REQUESTS",
		"INSERT DEVPULSE_STG_MERGE_REQUESTS", // 2 rows: inline
		"CREATE DEVPULSE_STG_MR_COMMITS",
		"CREATE SYSTEM$BIND", "PUT", "PUT", "INSERT DEVPULSE_STG_MR_COMMITS",
		"BEGIN",
		"MERGE MERGE_REQUESTS", "DELETE MR_COMMITS", "MERGE MR_COMMITS", "DELETE ISSUE_LINKS", "DELETE MR_REVIEWS",
		"MERGE COLLECTION_STATE",
		"COMMIT",
	}
	if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}
	if requests != int64(len(stmts)) {
		t.Errorf("%d requests for %d statements", requests, len(stmts))
	}
	if s.StagedBinds.Load() != 4 {
		t.Errorf("%d staged INSERTs, want 4", s.StagedBinds.Load())
	}
	if s.BoundRows.Load() != 40_000 {
		t.Errorf("%d rows bound, want 40,000 (20,000 MRs + 20,000 commits)", s.BoundRows.Load())
	}
	for _, q := range stmts {
		if strings.HasPrefix(q, "MERGE INTO merge_requests") && !strings.Contains(q, `QUALIFY ROW_NUMBER() OVER (PARTITION BY "ID" ORDER BY "UPDATED_AT" DESC) = 1`) {
			t.Errorf("MERGE does not pick one row per key: %s", q)
		}
	}
	if n := warehousetest.Count(t, w, "SELECT COUNT(*) FROM merge_requests"); n != 20_000 {
		t.Errorf("%d MRs landed", n)
	}
}

// The fake must not enforce primary keys (Snowflake does not), or it would
// hide a MERGE that lets duplicates in: KeysStayUnique depends on this.
func TestFake_DoesNotEnforcePrimaryKeysAndDDLCommits(t *testing.T) {
	_, cfg := fake(t)
	w := openT(t, cfg)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := w.Exec(ctx, `INSERT INTO runs (run_id, started_at, status) SELECT 'dup', CURRENT_TIMESTAMP(), 'ok'`); err != nil {
			t.Fatal(err)
		}
	}
	if n := warehousetest.Count(t, w, "SELECT COUNT(*) FROM runs WHERE run_id = 'dup'"); n != 2 {
		t.Errorf("PRIMARY KEY enforced by the fake: %d rows", n)
	}
	// DDL inside a transaction commits it, as in Snowflake.
	for _, q := range []string{"BEGIN", `INSERT INTO runs (run_id, started_at, status) SELECT 'tx', CURRENT_TIMESTAMP(), 'ok'`, "CREATE TABLE IF NOT EXISTS scratch (x VARCHAR)", "ROLLBACK"} {
		if _, err := w.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	if n := warehousetest.Count(t, w, "SELECT COUNT(*) FROM runs WHERE run_id = 'tx'"); n != 1 {
		t.Errorf("DDL did not commit the open transaction")
	}
}

func writeKey(t *testing.T, dir string, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "rsa_key.p8")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuth(t *testing.T) {
	s, base := fake(t)
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.AddUser("jwt_user", snowfake.User{PublicKey: &key.PublicKey})
	s.AddUser("pat_user", snowfake.User{Token: "pat-0123456789"})
	keyFile := writeKey(t, dir, key)
	otherPEM, _ := x509.MarshalPKCS8PrivateKey(other)

	// An encrypted PKCS#8 key made by openssl, as Snowflake's guide makes it.
	encFile := filepath.Join(dir, "rsa_key_enc.p8")
	if out, err := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes256", "-in", keyFile, "-out", encFile, "-passout", "pass:open sesame").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}

	with := func(f func(c *config.Snowflake)) config.Snowflake {
		c := base
		c.Password = ""
		f(&c)
		return c
	}
	cases := []struct {
		name    string
		cfg     config.Snowflake
		wantErr string // "" = connects
	}{
		{"password", base, ""},
		{"wrong password", with(func(c *config.Snowflake) { c.Password = "not-it" }), "check warehouse.snowflake.user and the password"},
		{"key pair", with(func(c *config.Snowflake) { c.User, c.PrivateKeyFile = "jwt_user", keyFile }), ""},
		{"key pair from env (PEM)", with(func(c *config.Snowflake) {
			b, _ := os.ReadFile(keyFile)
			c.User, c.PrivateKey = "jwt_user", config.Secret(b)
		}), ""},
		{"encrypted key", with(func(c *config.Snowflake) {
			c.User, c.PrivateKeyFile, c.PrivateKeyPassphrase = "jwt_user", encFile, "open sesame"
		}), ""},
		{"encrypted key, wrong passphrase", with(func(c *config.Snowflake) {
			c.User, c.PrivateKeyFile, c.PrivateKeyPassphrase = "jwt_user", encFile, "wrong"
		}), "wrong passphrase"},
		{"encrypted key, no passphrase", with(func(c *config.Snowflake) { c.User, c.PrivateKeyFile = "jwt_user", encFile }), "private_key_passphrase_env"},
		{"key not registered", with(func(c *config.Snowflake) {
			c.User, c.PrivateKey = "jwt_user", config.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherPEM}))
		}), "ALTER USER jwt_user SET RSA_PUBLIC_KEY"},
		{"programmatic access token", with(func(c *config.Snowflake) { c.User, c.Token, c.Authenticator = "pat_user", "pat-0123456789", "pat" }), ""},
		{"revoked token", with(func(c *config.Snowflake) { c.User, c.Token, c.Authenticator = "pat_user", "pat-revoked-999", "pat" }), "expired or revoked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			w, err := OpenReadOnly(ctx, tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				if n := warehousetest.Count(t, w, "SELECT 1"); n != 1 {
					t.Errorf("SELECT 1 = %d", n)
				}
				return
			}
			if err == nil {
				w.Close()
				t.Fatalf("connected, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
			}
			for _, secret := range []string{"not-it", "open sesame", "pat-revoked-999", "s3cret-pw", "PRIVATE KEY"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks %q: %v", secret, err)
				}
			}
		})
	}
}

func TestCheckGrants(t *testing.T) {
	s, cfg := fake(t)
	w := openT(t, cfg)
	// Warehouse and database usage come from an inherited role; CREATE STAGE is missing.
	s.SetGrants("DEVPULSE_LOADER", []snowfake.Grant{
		{Privilege: "USAGE", GrantedOn: "ROLE", Name: "ANALYTICS_READER"},
		{Privilege: "USAGE", GrantedOn: "SCHEMA", Name: `ANALYTICS."DEVPULSE"`},
		{Privilege: "CREATE TABLE", GrantedOn: "SCHEMA", Name: "ANALYTICS.DEVPULSE"},
		{Privilege: "CREATE VIEW", GrantedOn: "SCHEMA", Name: "ANALYTICS.DEVPULSE"},
	})
	s.SetGrants("ANALYTICS_READER", []snowfake.Grant{
		{Privilege: "USAGE", GrantedOn: "WAREHOUSE", Name: "WH"},
		{Privilege: "OWNERSHIP", GrantedOn: "DATABASE", Name: "ANALYTICS"},
	})
	role, checks, err := w.CheckGrants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range checks {
		got = append(got, fmt.Sprintf("%s %v", c, c.OK))
		if !c.OK && c.Fix != "GRANT CREATE STAGE ON SCHEMA ANALYTICS.DEVPULSE TO ROLE DEVPULSE_LOADER" {
			t.Errorf("fix for %s: %q", c, c.Fix)
		}
	}
	want := "USAGE on warehouse WH true|USAGE on database ANALYTICS true|USAGE on schema ANALYTICS.DEVPULSE true|" +
		"CREATE TABLE on schema ANALYTICS.DEVPULSE true|CREATE VIEW on schema ANALYTICS.DEVPULSE true|CREATE STAGE on schema ANALYTICS.DEVPULSE false"
	if role != "DEVPULSE_LOADER" || strings.Join(got, "|") != want {
		t.Errorf("role %s checks:\n%s\nwant\n%s", role, strings.Join(got, "|"), want)
	}
}

func TestQuery_RefusesWrites(t *testing.T) {
	_, cfg := fake(t)
	w := openT(t, cfg)
	for _, q := range []string{"DROP TABLE merge_requests", "create table x (a int)", "INSERT INTO runs (run_id) SELECT 'x'"} {
		if _, err := w.Query(context.Background(), q); err == nil || !strings.Contains(err.Error(), "only reading statements") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// Two sessions (two processes, or machines) racing for the same leases: each
// lease goes to exactly one, because Snowflake serializes the MERGEs.
func TestAcquire_ConcurrentSessionsExactlyOneWins(t *testing.T) {
	_, cfg := fake(t)
	a, b := openT(t, cfg), openT(t, cfg)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("collect/gl/stream%d", i)
		got := make(chan bool, 2)
		for _, w := range []*DB{a, b} {
			holder := fmt.Sprintf("%p", w)
			go func() {
				ok, _, _, err := w.Acquire(ctx, name, holder, time.Minute)
				if err != nil {
					t.Error(err)
				}
				got <- ok
			}()
		}
		if x, y := <-got, <-got; x == y {
			t.Fatalf("%s: both sessions got %v", name, x)
		}
		if n := warehousetest.Count(t, a, "SELECT COUNT(*) FROM locks WHERE name = '"+name+"'"); n != 1 {
			t.Fatalf("%s: %d lease rows", name, n)
		}
	}
}
