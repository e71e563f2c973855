-- Where lead time goes, for every stored window: a dashboard selects the window (window_start, window_end).
CREATE OR REPLACE VIEW lead_time_breakdown_by_window AS
SELECT scope_kind, scope, SUBSTR(metric, 21) AS stage,
       CASE SUBSTR(metric, 21) WHEN 'coding' THEN 1 WHEN 'pickup' THEN 2 WHEN 'review' THEN 3 ELSE 4 END AS stage_order,
       stat, value AS seconds, n, period_start AS window_start, period_end AS window_end
FROM metric_values
WHERE grain = 'window' AND metric LIKE 'lead_time_breakdown.%'
