-- 0011: JIRA and Redmine priority, for incidents.jira_priorities and .redmine_priorities.
ALTER TABLE issues ADD COLUMN IF NOT EXISTS priority VARCHAR;
