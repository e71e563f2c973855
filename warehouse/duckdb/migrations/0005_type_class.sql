-- 0005: normalized issue type (incident, bug, story, task, other) beside the source's own name.
ALTER TABLE issues ADD COLUMN type_class VARCHAR;
