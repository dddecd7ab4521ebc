-- The band of the latest health score (green / yellow / red), graded with the bands of the model
-- that scored it (per segment), so lists, filters, the dashboard and the agents read one answer
-- instead of each comparing the number with 75 and 50.
ALTER TABLE customers ADD COLUMN health_band TEXT CHECK (health_band IN ('green', 'yellow', 'red'));
-- Existing scores were graded with the default bands.
UPDATE customers SET health_band = CASE
    WHEN health_score IS NULL THEN NULL
    WHEN health_score >= 75 THEN 'green'
    WHEN health_score >= 50 THEN 'yellow'
    ELSE 'red' END;
-- No index of its own: three values; a filtered list is served by its sort index.
