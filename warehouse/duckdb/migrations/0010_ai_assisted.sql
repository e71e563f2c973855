-- 0010: whether a merge request is AI-assisted (aiassist: trailers, labels, agent accounts), decided before messages are dropped.
ALTER TABLE merge_requests ADD COLUMN IF NOT EXISTS ai_assisted BOOLEAN;
