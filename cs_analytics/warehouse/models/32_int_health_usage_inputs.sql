-- int_health_usage_inputs (temporary): usage over the windows ending on each active account's
-- snapshot days, for the health components and the usage signals.
--
-- A window of N days ending on d is (d − N, d]: d itself and the N − 1 days before it.
--
-- How the window sums are computed without a join of every snapshot day with every usage row
-- (10,000 accounts × 3 years is ~1.5M account-weeks over ~11M usage rows): a usage row dated t
-- counts on the snapshot days d with t ≤ d < t + N. On the sorted list of snapshot days those
-- form one run, from the first snapshot day on or after t (it "comes in") to the first one on or
-- after t + N (it "goes out"). Summing what comes in minus what goes out, per account, in
-- snapshot-day order gives every window sum in one pass. Snapshot days are Mondays plus as_of,
-- so "the first snapshot day on or after x" is arithmetic (macro health_snapshot_day_from).
--
--   first_usage_date   the account's first usage row (any values)
--   last_login_date    latest day on or before d with logins > 0
--   deliveries         Σ deliveries in the health deliveries window
--   login_days         days with logins > 0 in the health logins window
--   conversion_numerator / conversion_denominator
--                      Σ conversions / Σ viewers (conversion_basis 'viewers') or Σ viewers /
--                      Σ registrants ('registrants') over the conversion window, counting only
--                      rows where both values are present
--   deliveries_last_window / deliveries_previous_window
--                      Σ deliveries in (d − W, d] and in (d − 2W, d − W], W =
--                      signals.deliveries_window_days
CREATE TEMP MACRO health_snapshot_day_from(x, first_monday, last_monday, as_of) AS
    CASE
        WHEN x > as_of THEN NULL
        WHEN x > last_monday THEN as_of
        WHEN x <= first_monday THEN first_monday
        ELSE x + CAST((8 - isodow(x)) % 7 AS INTEGER)
    END;

CREATE TEMP TABLE int_health_window_bounds AS
SELECT
    p.as_of,
    -- without any Monday every day maps to as_of
    coalesce(min(d.snapshot_day) FILTER (WHERE d.is_weekly), DATE '0001-01-01') AS first_monday,
    coalesce(max(d.snapshot_day) FILTER (WHERE d.is_weekly), DATE '0001-01-01') AS last_monday
FROM params p
CROSS JOIN int_health_snapshot_days d
GROUP BY p.as_of;

CREATE TEMP TABLE int_health_usage_inputs AS
WITH settings AS (
    SELECT b.*, ph.deliveries_days, ph.logins_days, ph.conversion_days, ph.conversion_basis,
           ps.deliveries_window_days AS signal_days
    FROM int_health_window_bounds b
    CROSS JOIN params_health ph
    CROSS JOIN params_signals ps
),
rates AS (
    SELECT
        u.account_id,
        u.date,
        u.deliveries,
        u.logins,
        CASE WHEN s.conversion_basis = 'viewers' THEN u.conversions ELSE u.viewers END AS num,
        CASE WHEN s.conversion_basis = 'viewers' THEN u.viewers ELSE u.registrants END AS den
    FROM usage u
    CROSS JOIN settings s
    WHERE u.date <= s.as_of
),
usage_rows AS MATERIALIZED (
    SELECT
        r.account_id,
        r.date,
        r.deliveries,
        CASE WHEN r.logins > 0 THEN 1 ELSE 0 END AS login_day,
        CASE WHEN r.num IS NOT NULL AND r.den IS NOT NULL THEN r.num ELSE 0 END AS num,
        CASE WHEN r.num IS NOT NULL AND r.den IS NOT NULL THEN r.den ELSE 0 END AS den,
        health_snapshot_day_from(r.date, s.first_monday, s.last_monday, s.as_of) AS comes_in,
        health_snapshot_day_from(r.date + s.deliveries_days, s.first_monday, s.last_monday,
                                 s.as_of) AS deliveries_out,
        health_snapshot_day_from(r.date + s.logins_days, s.first_monday, s.last_monday,
                                 s.as_of) AS logins_out,
        health_snapshot_day_from(r.date + s.conversion_days, s.first_monday, s.last_monday,
                                 s.as_of) AS conversion_out,
        health_snapshot_day_from(r.date + s.signal_days, s.first_monday, s.last_monday,
                                 s.as_of) AS signal_out,
        health_snapshot_day_from(r.date + 2 * s.signal_days, s.first_monday, s.last_monday,
                                 s.as_of) AS signal_previous_out
    FROM rates r
    CROSS JOIN settings s
    -- a row with nothing to count changes no window sum (the demo keeps zero days)
    WHERE r.deliveries > 0 OR r.logins > 0
       OR (r.num IS NOT NULL AND r.den IS NOT NULL AND (r.num > 0 OR r.den > 0))
),
changes AS (
    SELECT account_id, comes_in AS snapshot_day,
           CAST(sum(deliveries) AS BIGINT) AS deliveries_in,
           CAST(sum(login_day) AS BIGINT) AS login_days_in,
           CAST(sum(num) AS BIGINT) AS num_in,
           CAST(sum(den) AS BIGINT) AS den_in,
           max(date) FILTER (WHERE login_day = 1) AS last_login_date
    FROM usage_rows
    GROUP BY account_id, comes_in
    UNION ALL BY NAME
    SELECT account_id, deliveries_out AS snapshot_day,
           CAST(sum(deliveries) AS BIGINT) AS deliveries_out
    FROM usage_rows
    WHERE deliveries_out IS NOT NULL AND deliveries > 0
    GROUP BY account_id, deliveries_out
    UNION ALL BY NAME
    SELECT account_id, logins_out AS snapshot_day,
           CAST(sum(login_day) AS BIGINT) AS login_days_out
    FROM usage_rows
    WHERE logins_out IS NOT NULL AND login_day = 1
    GROUP BY account_id, logins_out
    UNION ALL BY NAME
    SELECT account_id, conversion_out AS snapshot_day,
           CAST(sum(num) AS BIGINT) AS num_out, CAST(sum(den) AS BIGINT) AS den_out
    FROM usage_rows
    WHERE conversion_out IS NOT NULL AND (num > 0 OR den > 0)
    GROUP BY account_id, conversion_out
    UNION ALL BY NAME
    SELECT account_id, signal_out AS snapshot_day,
           CAST(sum(deliveries) AS BIGINT) AS signal_out
    FROM usage_rows
    WHERE signal_out IS NOT NULL AND deliveries > 0
    GROUP BY account_id, signal_out
    UNION ALL BY NAME
    SELECT account_id, signal_previous_out AS snapshot_day,
           CAST(sum(deliveries) AS BIGINT) AS signal_previous_out
    FROM usage_rows
    WHERE signal_previous_out IS NOT NULL AND deliveries > 0
    GROUP BY account_id, signal_previous_out
    UNION ALL BY NAME
    -- every active day gets a row, even when nothing changes on it
    SELECT account_id, snapshot_day FROM int_health_account_days
),
per_day AS (
    SELECT
        account_id,
        snapshot_day,
        CAST(coalesce(sum(deliveries_in), 0) AS BIGINT) AS deliveries_in,
        CAST(coalesce(sum(deliveries_out), 0) AS BIGINT) AS deliveries_out,
        CAST(coalesce(sum(login_days_in), 0) AS BIGINT) AS login_days_in,
        CAST(coalesce(sum(login_days_out), 0) AS BIGINT) AS login_days_out,
        CAST(coalesce(sum(num_in), 0) AS BIGINT) AS num_in,
        CAST(coalesce(sum(num_out), 0) AS BIGINT) AS num_out,
        CAST(coalesce(sum(den_in), 0) AS BIGINT) AS den_in,
        CAST(coalesce(sum(den_out), 0) AS BIGINT) AS den_out,
        CAST(coalesce(sum(signal_out), 0) AS BIGINT) AS signal_out,
        CAST(coalesce(sum(signal_previous_out), 0) AS BIGINT) AS signal_previous_out,
        max(last_login_date) AS last_login_date
    FROM changes
    GROUP BY account_id, snapshot_day
),
running AS (
    SELECT
        account_id,
        snapshot_day,
        CAST(sum(deliveries_in - deliveries_out) OVER w AS BIGINT) AS deliveries,
        CAST(sum(login_days_in - login_days_out) OVER w AS BIGINT) AS login_days,
        CAST(sum(num_in - num_out) OVER w AS BIGINT) AS conversion_numerator,
        CAST(sum(den_in - den_out) OVER w AS BIGINT) AS conversion_denominator,
        CAST(sum(deliveries_in - signal_out) OVER w AS BIGINT) AS deliveries_last_window,
        CAST(sum(signal_out - signal_previous_out) OVER w AS BIGINT)
            AS deliveries_previous_window,
        max(last_login_date) OVER w AS last_login_date
    FROM per_day
    WINDOW w AS (PARTITION BY account_id ORDER BY snapshot_day ROWS UNBOUNDED PRECEDING)
),
first_usage AS (
    SELECT account_id, min(date) AS first_usage_date
    FROM usage
    GROUP BY account_id
)
SELECT
    r.account_id,
    r.snapshot_day,
    f.first_usage_date,
    r.last_login_date,
    r.deliveries,
    r.login_days,
    r.conversion_numerator,
    r.conversion_denominator,
    r.deliveries_last_window,
    r.deliveries_previous_window
FROM running r
JOIN int_health_account_days a USING (account_id, snapshot_day)
LEFT JOIN first_usage f USING (account_id);
