-- The latest window value of each flow metric (trackers: JIRA, Redmine, GitLab issues) per project and team.
CREATE OR REPLACE VIEW flow_overview AS
SELECT scope_kind, scope, metric, stat, value, unit, n, period_start AS window_start, period_end AS window_end, computed_at
FROM metric_values
WHERE grain = 'window'
  AND metric IN ('cycle_time', 'issue_lead_time', 'throughput', 'wip', 'issue_age', 'flow_efficiency', 'velocity', 'say_do_ratio')
QUALIFY ROW_NUMBER() OVER (PARTITION BY scope_kind, scope, metric, stat ORDER BY period_end DESC, computed_at DESC) = 1
