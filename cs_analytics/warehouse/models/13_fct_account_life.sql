-- fct_account_life: one row per account of the spine, the two months the two-year churn rate
-- reads (SPEC §4, docs/metrics.md "Two-year churn rate"):
--
--   first_month   F_i, the account's first month with MRR > 0
--   churn_month   C_i, the first month after it with MRR = 0; NULL while it is a customer
--
-- The definition is the table macro account_life_as_of(as_of_date), over the spine macro of
-- model 11, so the metrics API reads this table for the snapshot's as-of date and recomputes
-- the same SQL for an earlier one, so a two-year churn query never regroups the whole spine.
CREATE OR REPLACE MACRO account_life_as_of(as_of_date) AS TABLE
SELECT
    s.account_id,
    min(s.first_month) AS first_month,
    min(s.month) FILTER (WHERE s.mrr < (SELECT mrr_epsilon FROM params)) AS churn_month
FROM account_mrr_as_of(as_of_date) s
GROUP BY s.account_id;

CREATE TABLE fct_account_life AS
SELECT *
FROM account_life_as_of((SELECT as_of FROM params))
ORDER BY account_id;
