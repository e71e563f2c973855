-- 0006: leases, so that no two runs (processes, machines) collect the same stream at once.
CREATE TABLE locks (
  name VARCHAR NOT NULL PRIMARY KEY, holder VARCHAR NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL
);
