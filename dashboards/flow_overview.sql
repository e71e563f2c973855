-- The latest window value of each flow metric (trackers: JIRA, Redmine, GitLab issues) per project and team
-- (flow_by_window keeps every stored window).
CREATE OR REPLACE VIEW flow_overview AS
SELECT scope_kind, scope, metric, stat, value, unit, n, window_start, window_end, computed_at
FROM flow_by_window
QUALIFY ROW_NUMBER() OVER (PARTITION BY scope_kind, scope, metric, stat ORDER BY window_end DESC, computed_at DESC) = 1
