-- int_health_snapshot_days: the days the health score, segments and signals are computed for
-- (SPEC §4 "Health score"): every Monday from the start of the history up to as_of, plus as_of
-- itself. The history starts at the first Monday on or after the earliest contract start, or —
-- when usage or activity data begin later — at the first Monday on or after the earliest of
-- those (a score made of the renewal component alone would say little).
--
--   is_as_of       the row of params.as_of (the "current" score)
--   is_weekly      a Monday (as_of is one too when it falls on a Monday)
--   day_index      1, 2, … in date order (consecutive snapshots differ by 1)
--   previous_day   the Monday before (the previous weekly snapshot)
--   day_4w_before  the latest Monday on or before snapshot_day − 28 (four weeks earlier)
--
-- int_health_coverage: the date range each feed covers, for the "no data" rules (a window the
-- usage export or the activity history does not reach is "no data", never zero).
CREATE TABLE int_health_coverage AS
SELECT
    (SELECT min(date) FROM usage) AS usage_first_date,
    (SELECT max(date) FROM usage) AS usage_last_date,
    (SELECT min(date) FROM activities) AS activity_first_date,
    (SELECT max(date) FROM activities) AS activity_last_date;

CREATE TABLE int_health_snapshot_days AS
WITH bounds AS (
    SELECT p.as_of,
           greatest(c.first_contract_start,
                    coalesce(least(cov.usage_first_date, cov.activity_first_date),
                             c.first_contract_start)) AS first_start
    FROM params p
    CROSS JOIN int_health_coverage cov
    CROSS JOIN (SELECT min(start_date) AS first_contract_start
                FROM int_contract_mrr WHERE mrr > 0) c
),
days AS (
    SELECT CAST(g.d AS DATE) AS snapshot_day
    FROM bounds b,
         generate_series(CAST(date_trunc('week', b.first_start + 6) AS TIMESTAMP),
                         CAST(b.as_of AS TIMESTAMP), INTERVAL 7 DAY) AS g(d)
    WHERE b.first_start IS NOT NULL
    UNION
    SELECT as_of FROM bounds
)
SELECT
    d.snapshot_day,
    d.snapshot_day = p.as_of AS is_as_of,
    isodow(d.snapshot_day) = 1 AS is_weekly,
    CAST(row_number() OVER (ORDER BY d.snapshot_day) AS INTEGER) AS day_index,
    CAST(date_trunc('week', d.snapshot_day - 1) AS DATE) AS previous_day,
    CAST(date_trunc('week', d.snapshot_day - 28) AS DATE) AS day_4w_before
FROM days d
CROSS JOIN params p
ORDER BY d.snapshot_day;
