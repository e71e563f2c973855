-- One row per merged MR: the stages of its way to review and merge, in seconds (no personal data:
-- author is a pseudonym). Lead time to production comes from lead_time_breakdown.
CREATE OR REPLACE VIEW merge_request_flow AS
WITH first_commit AS (
  SELECT mr_id, MIN(authored_at) AS first_commit_at FROM mr_commits GROUP BY mr_id
), first_review AS (
  SELECT r.mr_id, MIN(r.created_at) AS first_review_at, COUNT(DISTINCT r.reviewer) AS reviewers
  FROM mr_reviews r JOIN merge_requests m ON m.id = r.mr_id
  WHERE r.reviewer IS NULL OR m.author IS NULL OR r.reviewer <> m.author
  GROUP BY r.mr_id
)
SELECT m.id, m.project_path, m.iid, m.author, m.author_is_bot, m.created_at, m.merged_at,
       CAST(DATE_TRUNC('week', m.merged_at) AS DATE) AS merged_week,
       DATEDIFF('second', fc.first_commit_at, m.created_at) AS coding_s,
       DATEDIFF('second', COALESCE(m.ready_at, m.created_at), fr.first_review_at) AS pickup_s,
       DATEDIFF('second', fr.first_review_at, m.merged_at) AS review_s,
       COALESCE(fr.reviewers, 0) AS reviewers,
       fr.first_review_at IS NULL AS unreviewed
FROM merge_requests m
LEFT JOIN first_commit fc ON fc.mr_id = m.id
LEFT JOIN first_review fr ON fr.mr_id = m.id
WHERE m.merged_at IS NOT NULL AND m.deleted_at IS NULL
