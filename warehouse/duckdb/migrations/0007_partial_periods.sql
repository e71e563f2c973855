-- 0007: a period that had not ended when it was computed is partial, and never replaces a whole one.
ALTER TABLE metric_values ADD COLUMN partial BOOLEAN DEFAULT FALSE;
