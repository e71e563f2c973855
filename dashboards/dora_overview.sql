-- The latest window value of each DORA metric per project and team, with its tier.
CREATE OR REPLACE VIEW dora_overview AS
SELECT scope_kind, scope, metric, stat, value, unit, n, label AS tier_or_band, benchmark_year,
       period_start AS window_start, period_end AS window_end, computed_at
FROM metric_values
WHERE grain = 'window'
  AND metric IN ('deployment_frequency', 'deployment_count', 'lead_time_for_changes', 'change_failure_rate',
                 'failed_deployment_recovery_time', 'time_to_restore', 'rework_rate', 'deploy_attempt_failure_rate')
QUALIFY ROW_NUMBER() OVER (PARTITION BY scope_kind, scope, metric, stat ORDER BY period_end DESC, computed_at DESC) = 1
