-- fct_mrr_monthly: one row per month from the first month any account had MRR to the as-of
-- month: total MRR, active customers and the movement totals of the MRR bridge (SPEC §4).
-- Movement amounts are signed: contraction and churn are negative, so
--   mrr = previous_mrr + new + reactivation + expansion + contraction + churn
-- which the mrr_bridge check (models/checks.py) verifies on every build.
CREATE TABLE fct_mrr_monthly AS
WITH monthly AS (
    SELECT
        f.month,
        max(f.snapshot_day) AS snapshot_day,
        sum(f.mrr) AS mrr,
        count(*) FILTER (WHERE f.mrr >= p.mrr_epsilon) AS customers,
        count(*) AS accounts,
        coalesce(sum(f.movement_amount) FILTER (WHERE f.movement = 'new'), 0) AS new,
        coalesce(sum(f.movement_amount) FILTER (WHERE f.movement = 'reactivation'), 0)
            AS reactivation,
        coalesce(sum(f.movement_amount) FILTER (WHERE f.movement = 'expansion'), 0) AS expansion,
        coalesce(sum(f.movement_amount) FILTER (WHERE f.movement = 'contraction'), 0)
            AS contraction,
        coalesce(sum(f.movement_amount) FILTER (WHERE f.movement = 'churn'), 0) AS churn,
        count(*) FILTER (WHERE f.movement = 'new') AS new_count,
        count(*) FILTER (WHERE f.movement = 'reactivation') AS reactivation_count,
        count(*) FILTER (WHERE f.movement = 'expansion') AS expansion_count,
        count(*) FILTER (WHERE f.movement = 'contraction') AS contraction_count,
        count(*) FILTER (WHERE f.movement = 'churn') AS churn_count
    FROM fct_account_mrr_monthly f
    CROSS JOIN params p
    GROUP BY f.month
)
SELECT
    month,
    snapshot_day,
    CAST(mrr AS DOUBLE) AS mrr,
    CAST(coalesce(lag(mrr) OVER (ORDER BY month), 0) AS DOUBLE) AS previous_mrr,
    customers,
    accounts,
    CAST(new AS DOUBLE) AS new,
    CAST(reactivation AS DOUBLE) AS reactivation,
    CAST(expansion AS DOUBLE) AS expansion,
    CAST(contraction AS DOUBLE) AS contraction,
    CAST(churn AS DOUBLE) AS churn,
    new_count,
    reactivation_count,
    expansion_count,
    contraction_count,
    churn_count
FROM monthly
ORDER BY month;
