-- Every metric per period (day/week/month/quarter), for trend charts. The stat is p50 for durations.
-- Each period is computed whole, whatever window asked for it; partial = the period had not ended
-- when it was computed (the current week), and is never stored over a whole value.
CREATE OR REPLACE VIEW metric_series AS
SELECT scope_kind, scope, metric, grain, period_start, period_end, stat, value, unit, n, COALESCE(partial, FALSE) AS partial
FROM metric_values
WHERE grain NOT IN ('window', 'sprint')
QUALIFY ROW_NUMBER() OVER (PARTITION BY scope_kind, scope, metric, grain, period_start, stat ORDER BY computed_at DESC) = 1
