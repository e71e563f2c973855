-- 0009: the tracker issues a merge request names (issuelinks), derived before its free text is dropped.
CREATE TABLE IF NOT EXISTS issue_links (
  mr_id VARCHAR NOT NULL, tracker VARCHAR NOT NULL, issue_key VARCHAR NOT NULL, via VARCHAR,
  source VARCHAR NOT NULL, instance VARCHAR NOT NULL, collected_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (mr_id, tracker, issue_key)
);
