-- Every stored window's flow values per project and team: a dashboard selects the window
-- (window_start, window_end) it shows.
CREATE OR REPLACE VIEW flow_by_window AS
SELECT scope_kind, scope, metric, stat, value, unit, n, period_start AS window_start, period_end AS window_end, computed_at
FROM metric_values
WHERE grain = 'window'
  AND metric IN ('cycle_time', 'issue_lead_time', 'throughput', 'wip', 'issue_age', 'flow_efficiency', 'velocity', 'say_do_ratio')
