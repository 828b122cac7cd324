-- fct_renewals: one row per renewal due — a contract with MRR, on its end_date — with its
-- status on the as-of date and its forecast (SPEC §4 "Renewals", docs/metrics.md "Renewals").
-- fct_renewal_probabilities: one row per forecast bucket, P(renew) and where it comes from.
--
-- Status, in this order of precedence:
--   signed    a following contract with MRR is recorded (signed_by 'contract'); or the check
--             month (the month after end_date's) is reached and the account has MRR in it
--             without one (signed_by 'outcome': it kept paying); or, before the check month,
--             the contract renews by itself — auto_renew, its notice deadline has passed and
--             no notice of cancellation was given by the as-of date (signed_by 'auto_renew')
--   lost      the check month is reached (≤ the as-of month) and the account has no MRR in it:
--             the account churned at this renewal
--   at_risk   otherwise pending, and the account is in renewal_at_risk_bands on the as-of date,
--             or shows a risk signal then (notice_deadline_near excepted: it requires one of
--             these), or the customer has given notice (risk_band, risk_signal, risk_notice)
--   pending   otherwise (undecided, no sign of risk)
--
-- Forecast (pending and at-risk rows): bucket = 'notice_given' when notice was given, else the
-- band on the as-of date, else 'unscored'; p_renew, p_low, p_high = that bucket's P and range
-- from fct_renewal_probabilities; expected_arr = arr × p_renew (low, high alike); at_stake_arr
-- = arr × (1 − p_renew), the ARR a pending renewal is expected to lose (what the pages sort by).
--
-- fct_renewal_probabilities counts the decided renewals (check month reached) by the bucket
-- they were in before the renewal, point in time: 'notice_given' when notice was given by the
-- lead day (end_date − forecast_lead_days), else the band the weekly history recorded on the
-- last Monday on or before the lead day, else 'unscored' (the account was not scored then).
--   renewals, renewed, rate = renewed / renewals; ci_low, ci_high: its 90% Wilson interval
--   source   'history' when renewals ≥ forecast_min_renewals, else 'default'
--   p, p_low, p_high  history: rate, ci_low, ci_high; default: the configured default_p (all
--            three: a configured value has no interval)
CREATE TEMP TABLE int_renewal_status AS
WITH bounds AS (
    SELECT
        p.as_of,
        CAST(date_trunc('month', p.as_of) AS DATE) AS as_of_month,
        p.mrr_epsilon AS eps,
        r.forecast_lead_days
    FROM params p
    CROSS JOIN params_renewals r
),
signals_now AS (
    SELECT account_id, string_agg(signal, ',' ORDER BY signal) AS signals
    FROM fct_signals_current
    WHERE signal <> 'notice_deadline_near'
    GROUP BY account_id
),
facts AS (
    SELECT
        c.*,
        12 * c.mrr AS arr,
        c.check_month <= b.as_of_month AS decided,
        CASE WHEN c.check_month <= b.as_of_month THEN coalesce(s.mrr, 0) END AS check_mrr,
        c.notice_date IS NOT NULL AND c.notice_date <= b.as_of AS notice_given,
        h.band,
        h.score,
        h.last_contact_date,
        sn.signals,
        CAST(c.end_date - b.forecast_lead_days AS DATE) AS lead_day,
        b.as_of,
        b.eps
    FROM int_contract_renewal c
    CROSS JOIN bounds b
    LEFT JOIN fct_account_mrr_monthly s
      ON s.account_id = c.account_id AND s.month = c.check_month
    LEFT JOIN fct_health_current h ON h.account_id = c.account_id
    LEFT JOIN signals_now sn ON sn.account_id = c.account_id
),
statused AS (
    SELECT
        f.*,
        CASE
            WHEN f.following_contract_id IS NOT NULL THEN 'contract'
            WHEN f.decided AND f.check_mrr >= f.eps THEN 'outcome'
            WHEN NOT f.decided AND f.auto_renew AND f.notice_deadline < f.as_of
                 AND NOT f.notice_given THEN 'auto_renew'
        END AS signed_by,
        f.band IN (SELECT band FROM params_signal_risk_bands) AS risk_band,
        f.signals IS NOT NULL AS risk_signal,
        f.notice_given AS risk_notice
    FROM facts f
)
SELECT
    s.*,
    CASE
        WHEN s.signed_by IS NOT NULL THEN 'signed'
        WHEN s.decided THEN 'lost'
        WHEN coalesce(s.risk_band, false) OR s.risk_signal OR s.risk_notice THEN 'at_risk'
        ELSE 'pending'
    END AS status,
    s.decided AND s.check_mrr < s.eps AS account_churned,
    CASE
        WHEN s.notice_date <= s.lead_day THEN 'notice_given'
        ELSE coalesce(hb.band, 'unscored')
    END AS bucket_before
FROM statused s
LEFT JOIN fct_health_weekly hb
  ON hb.account_id = s.account_id
 AND hb.is_weekly
 AND hb.snapshot_day = CAST(date_trunc('week', s.lead_day) AS DATE);

CREATE TABLE fct_renewal_probabilities AS
WITH counts AS (
    SELECT
        bucket_before AS bucket,
        count(*) AS renewals,
        count(*) FILTER (WHERE status = 'signed') AS renewed
    FROM int_renewal_status
    WHERE decided
    GROUP BY bucket_before
),
rates AS (
    SELECT
        d.bucket,
        d.default_p,
        coalesce(c.renewals, 0) AS renewals,
        coalesce(c.renewed, 0) AS renewed,
        CAST(c.renewed AS DOUBLE) / c.renewals AS rate,
        -- [low, high], NULL without renewals (models/functions.py: the metrics' own function)
        wilson_interval(coalesce(c.renewed, 0), coalesce(c.renewals, 0), r.confidence)
            AS interval,
        r.forecast_min_renewals
    FROM params_renewal_probabilities d
    CROSS JOIN params_renewals r
    LEFT JOIN counts c USING (bucket)
),
wilson AS (
    SELECT * EXCLUDE (interval), interval[1] AS ci_low, interval[2] AS ci_high
    FROM rates
)
SELECT
    bucket,
    CAST(renewals AS BIGINT) AS renewals,
    CAST(renewed AS BIGINT) AS renewed,
    rate,
    ci_low,
    ci_high,
    CASE WHEN renewals >= forecast_min_renewals THEN 'history' ELSE 'default' END AS source,
    CASE WHEN renewals >= forecast_min_renewals THEN rate ELSE default_p END AS p,
    CASE WHEN renewals >= forecast_min_renewals THEN ci_low ELSE default_p END AS p_low,
    CASE WHEN renewals >= forecast_min_renewals THEN ci_high ELSE default_p END AS p_high,
    default_p
FROM wilson
ORDER BY list_position(['healthy', 'caution', 'warning', 'danger', 'unscored', 'notice_given'],
                       bucket);

CREATE TABLE fct_renewals AS
SELECT
    s.contract_id,
    s.account_id,
    s.start_date,
    s.end_date,
    s.mrr,
    s.arr,
    s.type,
    s.auto_renew,
    s.notice_days,
    s.notice_deadline,
    s.notice_date,
    s.notice_given,
    s.following_contract_id,
    s.following_start_date,
    s.check_month,
    s.decided,
    s.check_mrr,
    s.status,
    s.signed_by,
    s.account_churned,
    s.band,
    s.score,
    s.last_contact_date,
    s.signals,
    coalesce(s.risk_band, false) AS risk_band,
    s.risk_signal,
    s.risk_notice,
    s.bucket_before,
    CASE WHEN s.status IN ('pending', 'at_risk') THEN
        CASE WHEN s.notice_given THEN 'notice_given' ELSE coalesce(s.band, 'unscored') END
    END AS bucket,
    p.p AS p_renew,
    p.p_low,
    p.p_high,
    s.arr * p.p AS expected_arr,
    s.arr * p.p_low AS expected_arr_low,
    s.arr * p.p_high AS expected_arr_high,
    s.arr * (1 - p.p) AS at_stake_arr
FROM int_renewal_status s
LEFT JOIN fct_renewal_probabilities p
  ON s.status IN ('pending', 'at_risk')
 AND p.bucket = CASE WHEN s.notice_given THEN 'notice_given'
                     ELSE coalesce(s.band, 'unscored') END
ORDER BY s.end_date, s.contract_id;
