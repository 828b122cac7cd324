-- int_health_account_days: one row per active account per health snapshot day.
--
-- Active on day d ⇔ Σ mrr of the account's contracts with start_date ≤ d ≤ active_until > 0
-- (active_until already carries the renewal grace; NULL = open-ended).
--
--   mrr                   the account's MRR on d (ARR = 12 × mrr)
--   first_start_date      start of the account's first contract with MRR
--   is_onboarding         d − first_start_date < health.onboarding_days
--   contract_end_date     the latest end_date among the contracts active on d (the current
--                         commitment); NULL when one of them is open-ended
--   days_to_end           contract_end_date − d (negative inside a renewal-grace gap)
--   following_start_date  the following contract of the current commitment — model 14's rule
--                         (int_contract_renewal, SPEC §4 "Renewal grace": a contract with MRR
--                         that ends later and starts within the grace), which on day d has not
--                         started yet: a renewal already signed. The data has no signing date:
--                         for past snapshot days such a contract counts as signed with hindsight.
CREATE TABLE int_health_account_days AS
WITH contracts AS (
    SELECT contract_id, account_id, start_date, end_date, active_until, mrr
    FROM int_contract_mrr
    WHERE mrr > 0
),
first_start AS (
    SELECT account_id, min(start_date) AS first_start_date
    FROM contracts
    GROUP BY account_id
),
active AS (
    SELECT
        c.account_id,
        s.snapshot_day,
        sum(c.mrr) AS mrr,
        max(c.end_date) AS latest_end_date,
        bool_or(c.end_date IS NULL) AS open_ended
    FROM int_health_snapshot_days s
    JOIN contracts c
      ON c.start_date <= s.snapshot_day
     AND s.snapshot_day <= coalesce(c.active_until, DATE '9999-12-31')
    GROUP BY c.account_id, s.snapshot_day
    HAVING sum(c.mrr) > 0
),
following AS (
    -- (any contract ending with the commitment has the same following contract)
    SELECT a.account_id, a.snapshot_day, min(r.following_start_date) AS following_start_date
    FROM active a
    JOIN int_contract_renewal r
      ON r.account_id = a.account_id
     AND r.end_date = a.latest_end_date
    WHERE NOT a.open_ended
    GROUP BY a.account_id, a.snapshot_day
)
SELECT
    a.account_id,
    a.snapshot_day,
    CAST(a.mrr AS DOUBLE) AS mrr,
    f.first_start_date,
    a.snapshot_day - f.first_start_date < ph.onboarding_days AS is_onboarding,
    CASE WHEN NOT a.open_ended THEN a.latest_end_date END AS contract_end_date,
    CAST(CASE WHEN NOT a.open_ended THEN a.latest_end_date - a.snapshot_day END AS INTEGER)
        AS days_to_end,
    a.open_ended,
    fo.following_start_date,
    fo.following_start_date IS NOT NULL AS following_signed
FROM active a
CROSS JOIN params_health ph
JOIN first_start f USING (account_id)
LEFT JOIN following fo USING (account_id, snapshot_day)
ORDER BY a.account_id, a.snapshot_day;
