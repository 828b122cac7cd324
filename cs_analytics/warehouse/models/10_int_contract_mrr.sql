-- int_contract_mrr: one row per contract with its MRR and the last day it counts as active.
--
--   month_ends     number of month-ends (last days of months) within [start_date, end_date]
--   mrr            the contract's explicit mrr, else amount / month_ends; NULL when neither
--                  gives a value (no explicit mrr and no month-end covered)   — SPEC §4
--   next_start_date  start of the account's first recurring contract (one with MRR) starting
--                  after end_date: a spot contract (no MRR) is looked past, not a renewal
--   gap_days       days strictly between end_date and next_start_date
--   active_until   end_date, or the day before next_start_date when gap_days is at most
--                  params.renewal_grace_days (renewal grace: a late renewal is not churn)
--   (whether a renewal is signed: int_contract_renewal, model 14)
--
-- A contract without end_date is open-ended: month_ends and (unless explicit) mrr are NULL
-- and active_until is NULL, read as "still active".
CREATE TABLE int_contract_mrr AS
WITH terms AS (
    SELECT
        contract_id,
        account_id,
        start_date,
        end_date,
        amount,
        mrr AS explicit_mrr,
        status,
        type,
        churn_reason,
        CASE
            WHEN start_date IS NULL OR end_date IS NULL THEN NULL
            -- month-ends up to a day d = months elapsed, less one when d is not a month-end
            ELSE greatest(0,
                (year(end_date) * 12 + month(end_date)
                    - CASE WHEN end_date = last_day(end_date) THEN 0 ELSE 1 END)
              - (year(start_date - 1) * 12 + month(start_date - 1)
                    - CASE WHEN start_date - 1 = last_day(start_date - 1) THEN 0 ELSE 1 END))
        END AS month_ends
    FROM contracts
),
priced AS (
    SELECT *,
           CAST(CASE
               WHEN explicit_mrr IS NOT NULL THEN explicit_mrr
               WHEN month_ends > 0 THEN amount / month_ends
           END AS DOUBLE) AS mrr
    FROM terms
),
recurring AS (
    -- contracts with MRR: the only ones that renew or continue another
    SELECT contract_id, account_id, start_date, end_date FROM priced WHERE mrr IS NOT NULL
),
next_contract AS (
    SELECT c.contract_id, min(n.start_date) AS next_start_date
    FROM contracts c
    JOIN recurring n ON n.account_id = c.account_id AND n.start_date > c.end_date
    GROUP BY c.contract_id
)
SELECT
    t.contract_id,
    t.account_id,
    t.start_date,
    t.end_date,
    t.amount,
    t.explicit_mrr,
    t.month_ends,
    t.mrr,
    n.next_start_date,
    CAST(n.next_start_date - t.end_date - 1 AS INTEGER) AS gap_days,
    CASE
        WHEN n.next_start_date - t.end_date - 1 <= p.renewal_grace_days
            THEN n.next_start_date - 1
        ELSE t.end_date
    END AS active_until,
    t.status,
    t.type,
    t.churn_reason
FROM priced t
CROSS JOIN params p
LEFT JOIN next_contract n USING (contract_id)
ORDER BY t.account_id, t.start_date, t.contract_id;
