-- Default-branch pipeline duration and queue time per project and week, straight from the records
-- (weeks start on Monday; timestamps are UTC). Agrees with the pipeline_duration metric by construction.
CREATE OR REPLACE VIEW ci_pipeline_duration_weekly AS
SELECT project_path,
       CAST(DATE_TRUNC('week', finished_at) AS DATE) AS week_start,
       COUNT(*) AS n,
       SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY duration_s) AS duration_p50_s,
       PERCENTILE_CONT(0.85) WITHIN GROUP (ORDER BY duration_s) AS duration_p85_s,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY queued_duration_s) AS queue_p50_s
FROM pipelines
WHERE is_default_branch AND finished_at IS NOT NULL AND duration_s IS NOT NULL AND deleted_at IS NULL
  AND status IN ('success', 'failed') -- the set of pipeline_success_rate: canceled and skipped excluded
GROUP BY project_path, CAST(DATE_TRUNC('week', finished_at) AS DATE)
