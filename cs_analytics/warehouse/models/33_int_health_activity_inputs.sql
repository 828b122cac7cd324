-- int_health_activity_inputs (temporary): activities over the windows ending on each active
-- account's snapshot days, and the last contact — the same "comes in / goes out" pass as model 32.
--
--   touchpoints        email, call and other activities in the touchpoints window
--   meetings           meetings in the meetings window
--   last_contact_date  latest meeting, email or call on or before d (SPEC §4 no_contact_60d)
--   last_contact_type  its type; several contacts that day: meeting, then call, then email
CREATE TEMP TABLE int_health_activity_inputs AS
WITH settings AS (
    SELECT b.*, ph.touchpoints_days, ph.meetings_days
    FROM int_health_window_bounds b
    CROSS JOIN params_health ph
),
activity_days AS (
    -- one row per account and day with activities
    SELECT
        a.account_id,
        a.date,
        count(*) FILTER (WHERE a.type = 'meeting') AS meetings,
        count(*) FILTER (WHERE a.type IN ('email', 'call', 'other')) AS touchpoints,
        CASE
            WHEN bool_or(a.type = 'meeting') THEN 'meeting'
            WHEN bool_or(a.type = 'call') THEN 'call'
            WHEN bool_or(a.type = 'email') THEN 'email'
        END AS contact_type
    FROM activities a
    CROSS JOIN settings s
    WHERE a.date <= s.as_of
    GROUP BY a.account_id, a.date
),
activity_rows AS MATERIALIZED (
    SELECT
        a.*,
        health_snapshot_day_from(a.date, s.first_monday, s.last_monday, s.as_of) AS comes_in,
        health_snapshot_day_from(a.date + s.touchpoints_days, s.first_monday, s.last_monday,
                                 s.as_of) AS touchpoints_out,
        health_snapshot_day_from(a.date + s.meetings_days, s.first_monday, s.last_monday,
                                 s.as_of) AS meetings_out
    FROM activity_days a
    CROSS JOIN settings s
),
changes AS (
    SELECT account_id, comes_in AS snapshot_day,
           CAST(sum(touchpoints) AS BIGINT) AS touchpoints_in,
           CAST(sum(meetings) AS BIGINT) AS meetings_in,
           max(date) FILTER (WHERE contact_type IS NOT NULL) AS last_contact_date,
           arg_max(contact_type, date) FILTER (WHERE contact_type IS NOT NULL)
               AS last_contact_type
    FROM activity_rows
    GROUP BY account_id, comes_in
    UNION ALL BY NAME
    SELECT account_id, touchpoints_out AS snapshot_day,
           CAST(sum(touchpoints) AS BIGINT) AS touchpoints_out
    FROM activity_rows
    WHERE touchpoints_out IS NOT NULL AND touchpoints > 0
    GROUP BY account_id, touchpoints_out
    UNION ALL BY NAME
    SELECT account_id, meetings_out AS snapshot_day, CAST(sum(meetings) AS BIGINT) AS meetings_out
    FROM activity_rows
    WHERE meetings_out IS NOT NULL AND meetings > 0
    GROUP BY account_id, meetings_out
    UNION ALL BY NAME
    SELECT account_id, snapshot_day FROM int_health_account_days
),
per_day AS (
    SELECT
        account_id,
        snapshot_day,
        CAST(coalesce(sum(touchpoints_in), 0) AS BIGINT) AS touchpoints_in,
        CAST(coalesce(sum(touchpoints_out), 0) AS BIGINT) AS touchpoints_out,
        CAST(coalesce(sum(meetings_in), 0) AS BIGINT) AS meetings_in,
        CAST(coalesce(sum(meetings_out), 0) AS BIGINT) AS meetings_out,
        max(last_contact_date) AS last_contact_date,
        arg_max(last_contact_type, last_contact_date) AS last_contact_type
    FROM changes
    GROUP BY account_id, snapshot_day
),
running AS (
    SELECT
        account_id,
        snapshot_day,
        CAST(sum(touchpoints_in - touchpoints_out) OVER w AS BIGINT) AS touchpoints,
        CAST(sum(meetings_in - meetings_out) OVER w AS BIGINT) AS meetings,
        max(last_contact_date) OVER w AS last_contact_date,
        arg_max(last_contact_type, last_contact_date) OVER w AS last_contact_type
    FROM per_day
    WINDOW w AS (PARTITION BY account_id ORDER BY snapshot_day ROWS UNBOUNDED PRECEDING)
)
SELECT r.account_id, r.snapshot_day, r.touchpoints, r.meetings, r.last_contact_date,
       r.last_contact_type
FROM running r
JOIN int_health_account_days a USING (account_id, snapshot_day);
