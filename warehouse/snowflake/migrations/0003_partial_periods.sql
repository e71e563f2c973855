-- 0003: a period that had not ended when it was computed is partial, and never replaces a whole one.
ALTER TABLE metric_values ADD COLUMN IF NOT EXISTS partial BOOLEAN DEFAULT FALSE;
