-- int_health_activity_inputs (temporary): activity counts over the windows ending on each
-- account's snapshot days, and the last contact (same running-total technique as model 32).
--
--   touchpoints        email, call and other activities in the touchpoints window
--   meetings           meetings in the meetings window
--   last_contact_date  latest meeting, email or call on or before d (SPEC §4 no_contact_60d)
--   last_contact_type  its type; several contacts that day: meeting, then call, then email
CREATE TEMP TABLE int_health_activity_inputs AS
WITH settings AS (
    SELECT touchpoints_days, meetings_days FROM params_health
),
offsets AS (
    SELECT DISTINCT unnest([0, touchpoints_days, meetings_days]) AS offset_days
    FROM settings
),
daily AS (
    SELECT
        account_id,
        date,
        count(*) FILTER (WHERE type = 'meeting') AS meetings,
        count(*) FILTER (WHERE type IN ('email', 'call', 'other')) AS touchpoints,
        CASE
            WHEN bool_or(type = 'meeting') THEN 'meeting'
            WHEN bool_or(type = 'call') THEN 'call'
            WHEN bool_or(type = 'email') THEN 'email'
        END AS contact_type
    FROM activities
    GROUP BY account_id, date
),
running AS (
    SELECT
        account_id,
        date,
        CAST(sum(meetings) OVER w AS BIGINT) AS meetings,
        CAST(sum(touchpoints) OVER w AS BIGINT) AS touchpoints,
        max(CASE WHEN contact_type IS NOT NULL THEN date END) OVER w AS last_contact_date,
        last_value(contact_type IGNORE NULLS) OVER w AS last_contact_type
    FROM daily
    WINDOW w AS (PARTITION BY account_id ORDER BY date ROWS UNBOUNDED PRECEDING)
),
probes AS (
    SELECT a.account_id, a.snapshot_day, o.offset_days, a.snapshot_day - o.offset_days AS probe_day
    FROM int_health_account_days a
    CROSS JOIN offsets o
),
looked_up AS (
    SELECT
        p.account_id,
        p.snapshot_day,
        p.offset_days,
        coalesce(r.meetings, 0) AS meetings,
        coalesce(r.touchpoints, 0) AS touchpoints,
        r.last_contact_date,
        r.last_contact_type
    FROM probes p
    ASOF LEFT JOIN running r
      ON r.account_id = p.account_id
     AND r.date <= p.probe_day
)
SELECT
    l.account_id,
    l.snapshot_day,
    max(l.touchpoints) FILTER (WHERE l.offset_days = 0)
      - max(l.touchpoints) FILTER (WHERE l.offset_days = s.touchpoints_days) AS touchpoints,
    max(l.meetings) FILTER (WHERE l.offset_days = 0)
      - max(l.meetings) FILTER (WHERE l.offset_days = s.meetings_days) AS meetings,
    max(l.last_contact_date) FILTER (WHERE l.offset_days = 0) AS last_contact_date,
    max(l.last_contact_type) FILTER (WHERE l.offset_days = 0) AS last_contact_type
FROM looked_up l
CROSS JOIN settings s
GROUP BY l.account_id, l.snapshot_day, s.touchpoints_days, s.meetings_days;
