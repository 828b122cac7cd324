-- fct_signals_weekly: the churn-risk signals each active account shows on each snapshot day
-- (SPEC §4 "Risk signals"; thresholds from [signals]). One row per account, day and signal.
--
--   no_login_60d        d − last login ≥ no_login_days. Never logged in: counted from the
--                       account's first usage row. Evaluated only for accounts in the usage
--                       export on d whose export reaches into the window (a stale export does not
--                       flag everybody).
--   deliveries_drop_50  deliveries in (d − W, d] ≤ deliveries_drop_ratio × deliveries in
--                       (d − 2W, d − W], where the earlier window had ≥ deliveries_min_previous;
--                       evaluated when the usage export covers both windows.
--   no_contact_60d      d − last contact ≥ no_contact_days; last contact = latest meeting, email
--                       or call. Never contacted: counted from the later of the first contract
--                       start and the start of the activity history. Not evaluated without any
--                       activity history.
--   health_red          band = danger.
--   renewal_at_risk     the current contract ends within renewal_at_risk_days (days_to_end ≤
--                       that), nothing following is signed, and the band is one of
--                       renewal_at_risk_bands.
--   notice_deadline_near  an auto-renewing contract of the account that has started, has no
--                       following contract signed and no notice of cancellation by d, has its
--                       notice deadline (int_contract_renewal) in [d, d + notice_deadline_days],
--                       and the account is in renewal_at_risk_bands or shows another signal on
--                       d. Evidence: the contract with the nearest such deadline.
--
-- Evidence columns are filled for every signal (the message shows the relevant ones).
--   since    first snapshot day of the uninterrupted run of this signal up to d
--   entered  the signal was not shown on the previous snapshot day (since = snapshot_day)
--
-- fct_signals_current: the rows of the as-of day.
CREATE TABLE fct_signals_weekly AS
WITH base AS (
    SELECT
        h.account_id,
        h.snapshot_day,
        h.is_as_of,
        h.is_weekly,
        h.score,
        h.band,
        h.top_detractor,
        h.last_login_date,
        h.first_usage_date,
        h.deliveries_last_window,
        h.deliveries_previous_window,
        h.last_contact_date,
        h.last_contact_type,
        h.first_start_date,
        h.contract_end_date,
        h.days_to_end,
        h.following_signed,
        CAST(h.snapshot_day - coalesce(h.last_login_date, h.first_usage_date) AS INTEGER)
            AS days_since_login,
        CAST(h.snapshot_day
             - coalesce(h.last_contact_date, greatest(h.first_start_date, cov.activity_first_date))
             AS INTEGER) AS days_since_contact,
        h.first_usage_date <= h.snapshot_day
            AND cov.usage_last_date >= h.snapshot_day - ps.no_login_days + 1 AS login_evaluated,
        h.first_usage_date <= h.snapshot_day
            AND cov.usage_first_date <= h.snapshot_day - 2 * ps.deliveries_window_days + 1
            AND cov.usage_last_date >= h.snapshot_day - ps.deliveries_window_days + 1
            AS deliveries_evaluated,
        cov.activity_first_date IS NOT NULL AS contact_evaluated,
        ps.*
    FROM fct_health_weekly h
    CROSS JOIN int_health_coverage cov
    CROSS JOIN params_signals ps
),
signals AS (
    SELECT 'no_login_60d' AS signal, * FROM base
    WHERE login_evaluated AND days_since_login >= no_login_days
    UNION ALL BY NAME
    SELECT 'deliveries_drop_50' AS signal, * FROM base
    WHERE deliveries_evaluated
      AND deliveries_previous_window >= deliveries_min_previous
      AND deliveries_last_window <= deliveries_drop_ratio * deliveries_previous_window + 1e-9
    UNION ALL BY NAME
    SELECT 'no_contact_60d' AS signal, * FROM base
    WHERE contact_evaluated AND days_since_contact >= no_contact_days
    UNION ALL BY NAME
    SELECT 'health_red' AS signal, * FROM base
    WHERE band = 'danger'
    UNION ALL BY NAME
    SELECT 'renewal_at_risk' AS signal, * FROM base
    WHERE NOT following_signed
      AND days_to_end <= renewal_at_risk_days
      AND band IN (SELECT band FROM params_signal_risk_bands)
),
notice_due AS (
    -- per account and day, the pending auto-renewing contract whose notice deadline is nearest
    SELECT
        b.account_id,
        b.snapshot_day,
        arg_min(r.contract_id, (r.notice_deadline, r.contract_id)) AS notice_contract_id,
        min(r.notice_deadline) AS notice_deadline
    FROM base b
    JOIN int_contract_renewal r
      ON r.account_id = b.account_id
     AND r.auto_renew
     AND r.start_date <= b.snapshot_day
     AND r.notice_deadline BETWEEN b.snapshot_day AND b.snapshot_day + b.notice_deadline_days
     AND r.following_contract_id IS NULL
     AND (r.notice_date IS NULL OR r.notice_date > b.snapshot_day)
    GROUP BY b.account_id, b.snapshot_day
),
all_signals AS (
    SELECT * FROM signals
    UNION ALL BY NAME
    SELECT 'notice_deadline_near' AS signal, b.*, n.notice_contract_id, n.notice_deadline,
           CAST(n.notice_deadline - b.snapshot_day AS INTEGER) AS days_to_notice_deadline
    FROM base b
    JOIN notice_due n USING (account_id, snapshot_day)
    WHERE b.band IN (SELECT band FROM params_signal_risk_bands)
       OR EXISTS (SELECT 1 FROM signals s
                  WHERE s.account_id = b.account_id AND s.snapshot_day = b.snapshot_day)
),
runs AS (
    SELECT
        s.*,
        d.day_index - row_number() OVER (PARTITION BY s.account_id, s.signal
                                         ORDER BY d.day_index) AS run_key
    FROM all_signals s
    JOIN int_health_snapshot_days d USING (snapshot_day)
)
SELECT
    account_id,
    snapshot_day,
    signal,
    is_as_of,
    is_weekly,
    min(snapshot_day) OVER (PARTITION BY account_id, signal, run_key) AS since,
    min(snapshot_day) OVER (PARTITION BY account_id, signal, run_key) = snapshot_day AS entered,
    last_login_date,
    CASE WHEN login_evaluated THEN days_since_login END AS days_since_login,
    deliveries_last_window,
    deliveries_previous_window,
    last_contact_date,
    last_contact_type,
    CASE WHEN contact_evaluated THEN days_since_contact END AS days_since_contact,
    contract_end_date,
    days_to_end,
    following_signed,
    notice_contract_id,
    notice_deadline,
    days_to_notice_deadline,
    score,
    band,
    top_detractor
FROM runs
ORDER BY account_id, snapshot_day, signal;

CREATE TABLE fct_signals_current AS
SELECT * FROM fct_signals_weekly WHERE is_as_of ORDER BY account_id, signal;
