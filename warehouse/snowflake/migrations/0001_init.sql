-- 0001: every table of the DuckDB engine's migrations 0001-0005, in Snowflake types.
-- Identifiers are unquoted (stored upper-case) except TRIGGER, a reserved word.
-- Snowflake does not enforce PRIMARY KEY: MERGE on the natural key keeps rows unique.
-- Never edit an applied migration; add a new one (and its DuckDB twin).
CREATE TABLE IF NOT EXISTS merge_requests (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id NUMBER(38,0), project_path VARCHAR, iid NUMBER(38,0), title VARCHAR, state VARCHAR, draft BOOLEAN,
  author VARCHAR, author_is_bot BOOLEAN, source_branch VARCHAR, target_branch VARCHAR, labels VARCHAR,
  sha VARCHAR, merge_commit_sha VARCHAR, squash_commit_sha VARCHAR, closes_issues VARCHAR, web_url VARCHAR,
  created_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ, ready_at TIMESTAMP_TZ, merged_at TIMESTAMP_TZ, closed_at TIMESTAMP_TZ,
  collected_at TIMESTAMP_TZ NOT NULL, deleted_at TIMESTAMP_TZ,
  is_revert BOOLEAN, reverts_mr_id VARCHAR, additions NUMBER(38,0), deletions NUMBER(38,0),
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS mr_commits (
  mr_id VARCHAR NOT NULL, sha VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  author VARCHAR, authored_at TIMESTAMP_TZ, committed_at TIMESTAMP_TZ, collected_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (mr_id, sha)
);
CREATE TABLE IF NOT EXISTS mr_reviews (
  id VARCHAR NOT NULL, mr_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  kind VARCHAR, reviewer VARCHAR, reviewer_is_bot BOOLEAN, created_at TIMESTAMP_TZ, collected_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS pipelines (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id NUMBER(38,0), project_path VARCHAR, pipeline_id NUMBER(38,0), ref VARCHAR, sha VARCHAR, status VARCHAR, "TRIGGER" VARCHAR,
  is_default_branch BOOLEAN, triggered_by VARCHAR, created_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ,
  started_at TIMESTAMP_TZ, finished_at TIMESTAMP_TZ, duration_s FLOAT, queued_duration_s FLOAT,
  collected_at TIMESTAMP_TZ NOT NULL, deleted_at TIMESTAMP_TZ,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS deployments (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id NUMBER(38,0), project_path VARCHAR, deployment_id NUMBER(38,0), environment VARCHAR, environment_tier VARCHAR,
  status VARCHAR, ref VARCHAR, sha VARCHAR, pipeline_id NUMBER(38,0), job_name VARCHAR, deployer VARCHAR,
  created_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ, finished_at TIMESTAMP_TZ,
  collected_at TIMESTAMP_TZ NOT NULL, deleted_at TIMESTAMP_TZ,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS deployment_changes (
  deployment_id VARCHAR NOT NULL, mr_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  collected_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (deployment_id, mr_id)
);
CREATE TABLE IF NOT EXISTS issues (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id NUMBER(38,0), project_path VARCHAR, key VARCHAR, title VARCHAR, type VARCHAR, labels VARCHAR, state VARCHAR,
  author VARCHAR, assignee VARCHAR, web_url VARCHAR, created_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ, closed_at TIMESTAMP_TZ,
  collected_at TIMESTAMP_TZ NOT NULL, deleted_at TIMESTAMP_TZ,
  status VARCHAR, status_category VARCHAR, story_points FLOAT, sprint_id VARCHAR, type_class VARCHAR,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS issue_transitions (
  id VARCHAR NOT NULL, issue_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  field VARCHAR NOT NULL, changed_at TIMESTAMP_TZ NOT NULL,
  from_value VARCHAR, to_value VARCHAR, from_category VARCHAR, to_category VARCHAR,
  collected_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS sprints (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL, project_path VARCHAR,
  name VARCHAR, state VARCHAR, start_date DATE, due_date DATE,
  start_at TIMESTAMP_TZ, end_at TIMESTAMP_TZ, complete_at TIMESTAMP_TZ, updated_at TIMESTAMP_TZ,
  collected_at TIMESTAMP_TZ NOT NULL, deleted_at TIMESTAMP_TZ,
  PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS metric_values (
  scope_kind VARCHAR NOT NULL, scope VARCHAR NOT NULL, metric VARCHAR NOT NULL, grain VARCHAR NOT NULL,
  period_start DATE NOT NULL, period_end DATE NOT NULL, environment VARCHAR NOT NULL, stat VARCHAR NOT NULL,
  value FLOAT, unit VARCHAR, n NUMBER(38,0), label VARCHAR, benchmark_year NUMBER(38,0),
  computed_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (scope_kind, scope, metric, grain, period_start, environment, stat)
);
CREATE TABLE IF NOT EXISTS collection_state (
  source VARCHAR NOT NULL, instance VARCHAR NOT NULL, scope VARCHAR NOT NULL, stream VARCHAR NOT NULL,
  cursor TIMESTAMP_TZ NOT NULL, updated_at TIMESTAMP_TZ NOT NULL,
  PRIMARY KEY (source, instance, scope, stream)
);
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR NOT NULL, command VARCHAR, started_at TIMESTAMP_TZ NOT NULL, finished_at TIMESTAMP_TZ,
  status VARCHAR NOT NULL, records VARCHAR, requests NUMBER(38,0), policy VARCHAR, error VARCHAR,
  PRIMARY KEY (run_id)
);
