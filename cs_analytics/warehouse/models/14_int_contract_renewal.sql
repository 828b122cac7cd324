-- int_contract_renewal: one row per contract with MRR and an end date — a renewal due on its
-- end_date — with its renewal terms (SPEC §4 "Renewals", docs/metrics.md "Renewals"):
--
--   auto_renew        the contract's auto_renew, else params_renewals.auto_renew_default
--   notice_days       the contract's notice_days, else — when it renews by itself —
--                     params_renewals.notice_days_default
--   notice_deadline   end_date − notice_days when the contract renews by itself: the last day
--                     the customer can still cancel; NULL when it does not renew by itself
--   notice_date       the day the customer gave notice of cancellation (NULL: none recorded)
--   following_contract_id, following_start_date
--                     the account's contract with MRR that carries on after this one — it ends
--                     later (or is open-ended) and starts no later than the renewal grace after
--                     this one's end — the earliest starting such contract; NULL when none is
--                     recorded (the renewal is not signed)
--   check_month       the month after end_date's month: the renewal is decided by the
--                     account's MRR in it (SPEC §4 "Renewals due")
CREATE TABLE int_contract_renewal AS
WITH terms AS (
    SELECT
        c.contract_id,
        c.account_id,
        c.start_date,
        c.end_date,
        c.mrr,
        c.type,
        coalesce(k.auto_renew, r.auto_renew_default) AS auto_renew,
        CAST(CASE WHEN coalesce(k.auto_renew, r.auto_renew_default)
                  THEN coalesce(k.notice_days, r.notice_days_default)
                  ELSE k.notice_days END AS INTEGER) AS notice_days,
        k.notice_date
    FROM int_contract_mrr c
    JOIN contracts k USING (contract_id)
    CROSS JOIN params_renewals r
    CROSS JOIN params p
    WHERE c.mrr >= p.mrr_epsilon AND c.end_date IS NOT NULL
),
following AS (
    SELECT
        t.contract_id,
        arg_min(f.contract_id, (f.start_date, f.contract_id)) AS following_contract_id,
        min(f.start_date) AS following_start_date
    FROM terms t
    CROSS JOIN params p
    JOIN int_contract_mrr f
      ON f.account_id = t.account_id
     AND f.contract_id <> t.contract_id
     AND f.mrr >= p.mrr_epsilon
     AND (f.end_date > t.end_date OR f.end_date IS NULL)
     AND f.start_date <= t.end_date + 1 + p.renewal_grace_days
    GROUP BY t.contract_id
)
SELECT
    t.contract_id,
    t.account_id,
    t.start_date,
    t.end_date,
    t.mrr,
    t.type,
    t.auto_renew,
    t.notice_days,
    CASE WHEN t.auto_renew THEN CAST(t.end_date - t.notice_days AS DATE) END AS notice_deadline,
    t.notice_date,
    f.following_contract_id,
    f.following_start_date,
    CAST(date_trunc('month', t.end_date) + INTERVAL 1 MONTH AS DATE) AS check_month
FROM terms t
LEFT JOIN following f USING (contract_id)
ORDER BY t.account_id, t.end_date, t.contract_id;
