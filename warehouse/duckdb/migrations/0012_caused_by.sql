-- 0012: the deployment an incident names as its cause (a deployment id or sha:<commit>).
ALTER TABLE issues ADD COLUMN IF NOT EXISTS caused_by VARCHAR;
