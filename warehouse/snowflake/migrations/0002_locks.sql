-- 0002: leases, so that no two runs (processes, machines) collect the same stream at once.
-- A lease is taken by one autocommit MERGE (Snowflake serializes DML on a table), then read back.
CREATE TABLE IF NOT EXISTS locks (
  name VARCHAR NOT NULL, holder VARCHAR NOT NULL, acquired_at TIMESTAMP_TZ NOT NULL, expires_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (name)
);
