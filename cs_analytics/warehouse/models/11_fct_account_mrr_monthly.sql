-- fct_account_mrr_monthly: one row per account × month, from the account's first month with
-- MRR > 0 (first_month, F_i) to the as-of month, zero months included, with the month's
-- movement (SPEC §4):
--
--   snapshot_day   last day of the month; as_of itself in the as-of month
--   mrr            Σ MRR of the account's contracts active on snapshot_day
--                  (start_date <= snapshot_day <= active_until)
--   previous_mrr   mrr of the month before (0 before first_month)
--   movement       new | reactivation | expansion | contraction | churn | NULL (unchanged);
--                  MRR values within params.mrr_epsilon of each other are equal, and an MRR
--                  within mrr_epsilon of 0 is 0
--   movement_amount  mrr - previous_mrr
--
-- The definition is the table macro account_mrr_as_of(as_of_date), kept in the snapshot, so
-- the metrics API can recompute the spine for an earlier as-of date from the same SQL.
CREATE OR REPLACE MACRO account_mrr_as_of(as_of_date) AS TABLE
WITH bounds AS (
    SELECT
        CAST(as_of_date AS DATE) AS as_of,
        CAST(date_trunc('month', CAST(as_of_date AS DATE)) AS DATE) AS as_of_month,
        (SELECT mrr_epsilon FROM params) AS eps
),
contract_months AS (
    -- every month a contract can count in: its start month to the month it stops counting
    SELECT account_id, mrr, start_date, active_until, CAST(month_ts AS DATE) AS month
    FROM (
        SELECT c.account_id, c.mrr, c.start_date, c.active_until,
               unnest(generate_series(
                   date_trunc('month', c.start_date),
                   date_trunc('month', least(coalesce(c.active_until, b.as_of), b.as_of)),
                   INTERVAL 1 MONTH)) AS month_ts
        FROM int_contract_mrr c
        CROSS JOIN bounds b
        WHERE c.mrr IS NOT NULL AND c.start_date <= b.as_of
    )
),
account_month AS (
    SELECT m.account_id, m.month, sum(m.mrr) AS mrr
    FROM contract_months m
    CROSS JOIN bounds b
    WHERE m.start_date <= CASE WHEN m.month = b.as_of_month THEN b.as_of ELSE last_day(m.month) END
      AND (m.active_until IS NULL
           OR m.active_until >= CASE WHEN m.month = b.as_of_month THEN b.as_of
                                     ELSE last_day(m.month) END)
    GROUP BY m.account_id, m.month
),
first_months AS (
    SELECT a.account_id, min(a.month) AS first_month
    FROM account_month a
    CROSS JOIN bounds b
    WHERE a.mrr >= b.eps
    GROUP BY a.account_id
),
spine AS (
    SELECT account_id, first_month, CAST(month_ts AS DATE) AS month
    FROM (
        SELECT f.account_id, f.first_month,
               unnest(generate_series(f.first_month, b.as_of_month, INTERVAL 1 MONTH)) AS month_ts
        FROM first_months f
        CROSS JOIN bounds b
    )
),
with_previous AS (
    SELECT
        s.account_id,
        s.month,
        CASE WHEN s.month = b.as_of_month THEN b.as_of ELSE last_day(s.month) END AS snapshot_day,
        coalesce(a.mrr, 0) AS mrr,
        coalesce(lag(coalesce(a.mrr, 0)) OVER (PARTITION BY s.account_id ORDER BY s.month), 0)
            AS previous_mrr,
        s.first_month,
        b.eps
    FROM spine s
    CROSS JOIN bounds b
    LEFT JOIN account_month a ON a.account_id = s.account_id AND a.month = s.month
)
SELECT
    account_id,
    month,
    snapshot_day,
    CAST(mrr AS DOUBLE) AS mrr,
    CAST(previous_mrr AS DOUBLE) AS previous_mrr,
    CASE
        WHEN mrr >= eps AND previous_mrr < eps AND month = first_month THEN 'new'
        WHEN mrr >= eps AND previous_mrr < eps THEN 'reactivation'
        WHEN mrr >= eps AND previous_mrr >= eps AND mrr - previous_mrr >= eps THEN 'expansion'
        WHEN mrr >= eps AND previous_mrr >= eps AND previous_mrr - mrr >= eps THEN 'contraction'
        WHEN mrr < eps AND previous_mrr >= eps THEN 'churn'
    END AS movement,
    CAST(mrr - previous_mrr AS DOUBLE) AS movement_amount,
    first_month
FROM with_previous;

CREATE TABLE fct_account_mrr_monthly AS
SELECT *
FROM account_mrr_as_of((SELECT as_of FROM params))
ORDER BY account_id, month;
