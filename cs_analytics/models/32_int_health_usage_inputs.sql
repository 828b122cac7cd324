-- int_health_usage_inputs (temporary): usage counts over the windows ending on each account's
-- snapshot days, for the health components and the usage signals.
--
-- A window of N days ending on d is (d − N, d]: d itself and the N − 1 days before it.
-- Window sums come from running totals per account: total up to d minus total up to d − N, each
-- read with an ASOF join (the latest usage row on or before the day) — one sorted pass over the
-- usage table, however many accounts and snapshot days there are.
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
CREATE TEMP TABLE int_health_usage_inputs AS
WITH settings AS (
    SELECT ph.deliveries_days, ph.logins_days, ph.conversion_days, ph.conversion_basis,
           ps.deliveries_window_days AS signal_window
    FROM params_health ph
    CROSS JOIN params_signals ps
),
offsets AS (
    SELECT DISTINCT unnest([0, deliveries_days, logins_days, conversion_days, signal_window,
                            2 * signal_window]) AS offset_days
    FROM settings
),
daily AS (
    SELECT
        u.account_id,
        u.date,
        u.deliveries,
        CASE WHEN u.logins > 0 THEN 1 ELSE 0 END AS login_day,
        CASE WHEN s.conversion_basis = 'viewers' THEN u.conversions ELSE u.viewers END AS num,
        CASE WHEN s.conversion_basis = 'viewers' THEN u.viewers ELSE u.registrants END AS den
    FROM usage u
    CROSS JOIN settings s
),
counted AS (
    -- rows that change no running total are left out: they cannot change a window sum
    SELECT
        account_id,
        date,
        coalesce(deliveries, 0) AS deliveries,
        login_day,
        CASE WHEN num IS NOT NULL AND den IS NOT NULL THEN num ELSE 0 END AS num,
        CASE WHEN num IS NOT NULL AND den IS NOT NULL THEN den ELSE 0 END AS den
    FROM daily
    WHERE deliveries > 0 OR login_day = 1
       OR (num IS NOT NULL AND den IS NOT NULL AND (num > 0 OR den > 0))
),
running AS (
    SELECT
        account_id,
        date,
        CAST(sum(deliveries) OVER w AS BIGINT) AS deliveries,
        CAST(sum(login_day) OVER w AS BIGINT) AS login_days,
        CAST(sum(num) OVER w AS BIGINT) AS num,
        CAST(sum(den) OVER w AS BIGINT) AS den,
        max(CASE WHEN login_day = 1 THEN date END) OVER w AS last_login_date
    FROM counted
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
        coalesce(r.deliveries, 0) AS deliveries,
        coalesce(r.login_days, 0) AS login_days,
        coalesce(r.num, 0) AS num,
        coalesce(r.den, 0) AS den,
        r.last_login_date
    FROM probes p
    ASOF LEFT JOIN running r
      ON r.account_id = p.account_id
     AND r.date <= p.probe_day
),
first_usage AS (
    SELECT account_id, min(date) AS first_usage_date
    FROM usage
    GROUP BY account_id
)
SELECT
    l.account_id,
    l.snapshot_day,
    any_value(f.first_usage_date) AS first_usage_date,
    max(l.last_login_date) FILTER (WHERE l.offset_days = 0) AS last_login_date,
    max(l.deliveries) FILTER (WHERE l.offset_days = 0)
      - max(l.deliveries) FILTER (WHERE l.offset_days = s.deliveries_days) AS deliveries,
    max(l.login_days) FILTER (WHERE l.offset_days = 0)
      - max(l.login_days) FILTER (WHERE l.offset_days = s.logins_days) AS login_days,
    max(l.num) FILTER (WHERE l.offset_days = 0)
      - max(l.num) FILTER (WHERE l.offset_days = s.conversion_days) AS conversion_numerator,
    max(l.den) FILTER (WHERE l.offset_days = 0)
      - max(l.den) FILTER (WHERE l.offset_days = s.conversion_days) AS conversion_denominator,
    max(l.deliveries) FILTER (WHERE l.offset_days = 0)
      - max(l.deliveries) FILTER (WHERE l.offset_days = s.signal_window)
        AS deliveries_last_window,
    max(l.deliveries) FILTER (WHERE l.offset_days = s.signal_window)
      - max(l.deliveries) FILTER (WHERE l.offset_days = 2 * s.signal_window)
        AS deliveries_previous_window
FROM looked_up l
CROSS JOIN settings s
LEFT JOIN first_usage f ON f.account_id = l.account_id
GROUP BY l.account_id, l.snapshot_day, s.deliveries_days, s.logins_days, s.conversion_days,
         s.signal_window;
