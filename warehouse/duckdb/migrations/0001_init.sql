-- 0001: record tables, collection state and runs. Never edit an applied migration; add a new one.
CREATE TABLE merge_requests (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id BIGINT, project_path VARCHAR, iid BIGINT, title VARCHAR, state VARCHAR, draft BOOLEAN,
  author VARCHAR, author_is_bot BOOLEAN, source_branch VARCHAR, target_branch VARCHAR, labels VARCHAR,
  sha VARCHAR, merge_commit_sha VARCHAR, squash_commit_sha VARCHAR, closes_issues VARCHAR, web_url VARCHAR,
  created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, ready_at TIMESTAMPTZ, merged_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
  collected_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ
);
CREATE TABLE mr_commits (
  mr_id VARCHAR NOT NULL, sha VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  author VARCHAR, authored_at TIMESTAMPTZ, committed_at TIMESTAMPTZ, collected_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE mr_reviews (
  id VARCHAR NOT NULL, mr_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  kind VARCHAR, reviewer VARCHAR, reviewer_is_bot BOOLEAN, created_at TIMESTAMPTZ, collected_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE pipelines (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id BIGINT, project_path VARCHAR, pipeline_id BIGINT, ref VARCHAR, sha VARCHAR, status VARCHAR, "trigger" VARCHAR,
  is_default_branch BOOLEAN, triggered_by VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, duration_s DOUBLE, queued_duration_s DOUBLE,
  collected_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ
);
CREATE TABLE deployments (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id BIGINT, project_path VARCHAR, deployment_id BIGINT, environment VARCHAR, environment_tier VARCHAR,
  status VARCHAR, ref VARCHAR, sha VARCHAR, pipeline_id BIGINT, job_name VARCHAR, deployer VARCHAR,
  created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
  collected_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ
);
CREATE TABLE deployment_changes (
  deployment_id VARCHAR NOT NULL, mr_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  collected_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE issues (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  project_id BIGINT, project_path VARCHAR, "key" VARCHAR, title VARCHAR, "type" VARCHAR, labels VARCHAR, state VARCHAR,
  author VARCHAR, assignee VARCHAR, web_url VARCHAR, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
  collected_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ
);
CREATE TABLE collection_state (
  source VARCHAR NOT NULL, instance VARCHAR NOT NULL, scope VARCHAR NOT NULL, stream VARCHAR NOT NULL,
  "cursor" TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (source, instance, scope, stream)
);
CREATE TABLE runs (
  run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
  status VARCHAR NOT NULL, records VARCHAR, requests BIGINT, policy VARCHAR, error VARCHAR
);
