-- 0002: revert detection (decided before titles are dropped) and derived metric values.
ALTER TABLE merge_requests ADD COLUMN is_revert BOOLEAN;
ALTER TABLE merge_requests ADD COLUMN reverts_mr_id VARCHAR;
CREATE TABLE metric_values (
  scope_kind VARCHAR NOT NULL,      -- project | team
  scope VARCHAR NOT NULL,           -- group/project path, or team name
  metric VARCHAR NOT NULL,          -- METRICS.md name, e.g. lead_time_for_changes
  grain VARCHAR NOT NULL,           -- window | day | week | month | quarter
  period_start DATE NOT NULL,       -- in metrics.timezone; the window's since for grain=window
  period_end DATE NOT NULL,         -- exclusive
  environment VARCHAR NOT NULL,     -- production, or '' where it does not apply
  stat VARCHAR NOT NULL,            -- value | p50 | p85 | mean
  value DOUBLE,
  unit VARCHAR,                     -- seconds | ratio | count | per_day
  n BIGINT,
  label VARCHAR,                    -- tier (elite/high/medium/low) or band (daily/weekly/monthly/yearly)
  benchmark_year INTEGER,
  computed_at TIMESTAMPTZ NOT NULL
);
