-- Every stored window's DORA values per project and team, with its legacy 2024 tier, and the DORA
-- 2025 Quick Check score (dora_score, 0–10, and its parts dora_score.<metric>, .throughput, .stability): a dashboard selects the
-- window (window_start, window_end) it shows, e.g. the one `devpulse metrics --since .. --until ..` stored.
CREATE OR REPLACE VIEW dora_by_window AS
SELECT scope_kind, scope, metric, stat, value, unit, n, label AS tier_or_band, benchmark_year,
       period_start AS window_start, period_end AS window_end, computed_at
FROM metric_values
WHERE grain = 'window'
  AND metric IN ('deployment_frequency', 'deployment_count', 'lead_time_for_changes', 'change_failure_rate',
                 'failed_deployment_recovery_time', 'time_to_restore', 'rework_rate', 'deploy_attempt_failure_rate',
                 'dora_score', 'dora_score.lead_time_for_changes', 'dora_score.deployment_frequency',
                 'dora_score.failed_deployment_recovery_time', 'dora_score.change_failure_rate', 'dora_score.rework_rate',
                 'dora_score.throughput', 'dora_score.stability')
