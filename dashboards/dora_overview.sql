-- The latest window value of each DORA metric per project and team, with its tier (dora_by_window
-- keeps every stored window).
CREATE OR REPLACE VIEW dora_overview AS
SELECT scope_kind, scope, metric, stat, value, unit, n, tier_or_band, benchmark_year, window_start, window_end, computed_at
FROM dora_by_window
QUALIFY ROW_NUMBER() OVER (PARTITION BY scope_kind, scope, metric, stat ORDER BY window_end DESC, computed_at DESC) = 1
