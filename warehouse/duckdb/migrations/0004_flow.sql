-- 0004: tracker fields of issues, their history (status, sprint, story points) and sprints.
ALTER TABLE issues ADD COLUMN status VARCHAR;
ALTER TABLE issues ADD COLUMN status_category VARCHAR;
ALTER TABLE issues ADD COLUMN story_points DOUBLE;
ALTER TABLE issues ADD COLUMN sprint_id VARCHAR;
CREATE TABLE issue_transitions (
  id VARCHAR NOT NULL, issue_id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL,
  field VARCHAR NOT NULL,          -- status | sprint | story_points
  changed_at TIMESTAMPTZ NOT NULL,
  from_value VARCHAR, to_value VARCHAR,
  from_category VARCHAR, to_category VARCHAR,
  collected_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE sprints (
  id VARCHAR NOT NULL, source VARCHAR NOT NULL, instance VARCHAR NOT NULL, project_path VARCHAR,
  name VARCHAR, state VARCHAR, start_date DATE, due_date DATE,
  start_at TIMESTAMPTZ, end_at TIMESTAMPTZ, complete_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
  collected_at TIMESTAMPTZ NOT NULL, deleted_at TIMESTAMPTZ
);
