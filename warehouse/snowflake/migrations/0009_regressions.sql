-- 0009: shifts found in the weekly series (METRICS.md "Regressions") and what was posted about them.
CREATE TABLE IF NOT EXISTS regressions (
  scope_kind VARCHAR NOT NULL, scope VARCHAR NOT NULL, metric VARCHAR NOT NULL, stat VARCHAR NOT NULL,
  environment VARCHAR NOT NULL, kind VARCHAR NOT NULL, first_week DATE NOT NULL,
  median_before FLOAT, median_after FLOAT, relative_change FLOAT, p_value FLOAT, unit VARCHAR,
  state VARCHAR NOT NULL, detected_at TIMESTAMP_TZ NOT NULL, resolved_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (scope_kind, scope, metric, stat, kind, first_week)
);
CREATE TABLE IF NOT EXISTS notifications (
  key VARCHAR NOT NULL, sent_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (key)
);
