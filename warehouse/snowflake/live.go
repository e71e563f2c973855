package snowflake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/devpulse/devpulse/config"
)

// This file serves the live smoke suites (here and in cmd/devpulse): they
// run only when a real account is configured in the environment.

// LiveConfig reads a real Snowflake account from the environment:
// SNOWFLAKE_TEST_DSN (gosnowflake's DSN, e.g.
// user:password@myorg-myaccount/ANALYTICS/PUBLIC?warehouse=WH&role=R), or
// SNOWFLAKE_TEST_ACCOUNT, _USER, _ROLE, _WAREHOUSE, _DATABASE plus one of
// _PRIVATE_KEY_FILE (with optional _PRIVATE_KEY_PASSPHRASE), _TOKEN or
// _PASSWORD. ok is false when neither is set.
func LiveConfig() (c config.Snowflake, ok bool, err error) {
	c.Timeout = config.Duration(10 * 60e9)
	if dsn := os.Getenv("SNOWFLAKE_TEST_DSN"); dsn != "" {
		dc, err := sf.ParseDSN(dsn)
		if err != nil {
			return c, true, errors.New("SNOWFLAKE_TEST_DSN does not parse (the value is not shown)")
		}
		c.Account, c.User, c.Password, c.Role, c.Warehouse, c.Database = dc.Account, dc.User, config.Secret(dc.Password), dc.Role, dc.Warehouse, dc.Database
		c.Token = config.Secret(dc.Token)
		if dc.Authenticator == sf.AuthTypePat {
			c.Authenticator = "pat"
		}
		return c, true, nil
	}
	env := func(k string) string { return os.Getenv("SNOWFLAKE_TEST_" + k) }
	if env("ACCOUNT") == "" {
		return c, false, nil
	}
	c.Account, c.User, c.Role, c.Warehouse, c.Database = env("ACCOUNT"), env("USER"), env("ROLE"), env("WAREHOUSE"), env("DATABASE")
	c.PrivateKeyFile, c.PrivateKeyPassphrase = env("PRIVATE_KEY_FILE"), config.Secret(env("PRIVATE_KEY_PASSPHRASE"))
	c.Token, c.Password = config.Secret(env("TOKEN")), config.Secret(env("PASSWORD"))
	return c, true, nil
}

// LiveSkip is the message live suites skip with when no account is configured.
const LiveSkip = "live Snowflake suite: set SNOWFLAKE_TEST_DSN, or SNOWFLAKE_TEST_ACCOUNT/_USER/_WAREHOUSE/_DATABASE/_ROLE with _PRIVATE_KEY_FILE, _TOKEN or _PASSWORD (README: Snowflake)"

// ScratchSchema creates a throw-away schema in the live account's database
// (the role needs CREATE SCHEMA there), so live runs never touch real data.
// drop removes it with everything in it.
func ScratchSchema(ctx context.Context, c config.Snowflake) (config.Snowflake, func(), error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	c.Schema = "DEVPULSE_TEST_" + strings.ToUpper(hex.EncodeToString(b))
	admin, err := OpenReadOnly(ctx, c)
	if err != nil {
		return c, nil, err
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+c.Database+"."+c.Schema); err != nil {
		return c, nil, fmt.Errorf("create test schema (the role needs CREATE SCHEMA on %s): %w", c.Database, err)
	}
	drop := func() {
		if a, err := OpenReadOnly(context.WithoutCancel(ctx), c); err == nil {
			_, _ = a.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+c.Database+"."+c.Schema+" CASCADE")
			a.Close()
		}
	}
	return c, drop, nil
}
