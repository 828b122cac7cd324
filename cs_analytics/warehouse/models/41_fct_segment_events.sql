-- fct_segment_events: accounts entering and leaving segments between consecutive snapshot days.
-- A segment change is recorded here, never as churn (SPEC §4).
--
-- One row per account, snapshot day and event:
--   event         'entered' (segment = to_segment) or 'left' (segment = from_segment)
--   from_segment  the segment on the previous snapshot day (NULL: not active, or no score)
--   to_segment    the segment on this snapshot day (NULL: no longer active, or no score)
-- A change S → A gives two rows on the same day: left S and entered A. An account seen on the
-- first snapshot day of the history enters its segment that day.
CREATE TABLE fct_segment_events AS
WITH history AS (
    SELECT s.account_id, s.snapshot_day, s.segment, d.day_index
    FROM fct_segment_history s
    JOIN int_health_snapshot_days d USING (snapshot_day)
    WHERE s.segment IS NOT NULL
),
changes AS (
    SELECT
        coalesce(cur.account_id, prev.account_id) AS account_id,
        coalesce(cur.day_index, prev.day_index + 1) AS day_index,
        prev.segment AS from_segment,
        cur.segment AS to_segment
    FROM history cur
    FULL OUTER JOIN history prev
      ON prev.account_id = cur.account_id
     AND prev.day_index = cur.day_index - 1
    WHERE cur.segment IS DISTINCT FROM prev.segment
),
dated AS (
    SELECT c.*, d.snapshot_day
    FROM changes c
    JOIN int_health_snapshot_days d USING (day_index)
)
SELECT account_id, snapshot_day, 'left' AS event, from_segment AS segment, from_segment,
       to_segment
FROM dated
WHERE from_segment IS NOT NULL
UNION ALL
SELECT account_id, snapshot_day, 'entered', to_segment, from_segment, to_segment
FROM dated
WHERE to_segment IS NOT NULL
ORDER BY account_id, snapshot_day, event DESC;
