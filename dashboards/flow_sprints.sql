-- One row per sprint (JIRA sprint or Redmine version) and scope: what was committed, done, added,
-- removed and re-estimated, say/do and velocity, for sprint-review tiles. Sprints are matched by scope, start and name.
CREATE OR REPLACE VIEW flow_sprints AS
SELECT scope_kind, scope, label AS sprint, period_start AS sprint_start, period_end AS sprint_end,
       MAX(CASE WHEN metric = 'sprint_committed_points' THEN value END) AS committed_points,
       MAX(CASE WHEN metric = 'sprint_done_of_committed_points' THEN value END) AS done_of_committed_points,
       MAX(CASE WHEN metric = 'sprint_added_points' THEN value END) AS added_points,
       MAX(CASE WHEN metric = 'sprint_removed_points' THEN value END) AS removed_points,
       MAX(CASE WHEN metric = 'sprint_re_estimated_points' THEN value END) AS re_estimated_points,
       MAX(CASE WHEN metric = 'say_do_ratio' THEN value END) AS say_do_ratio,
       MAX(CASE WHEN metric = 'velocity' THEN value END) AS velocity_points,
       MAX(computed_at) AS computed_at
FROM metric_values
WHERE grain = 'sprint'
GROUP BY scope_kind, scope, label, period_start, period_end
