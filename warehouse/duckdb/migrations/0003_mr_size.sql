-- 0003: merge request size (lines added and removed, counted from the diffs; the diffs are not kept).
ALTER TABLE merge_requests ADD COLUMN additions BIGINT;
ALTER TABLE merge_requests ADD COLUMN deletions BIGINT;
