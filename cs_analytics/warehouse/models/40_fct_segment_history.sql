-- fct_segment_history: attribute score, attribute tier and segment S/A/B/C of every active
-- account on every health snapshot day (SPEC §4 "Attribute score and segment").
--
--   arr              12 × the account's MRR on the day
--   arr_points       points of the highest segments.arr_points row whose ARR the account reaches
--                    (with the 1e-6 yen tolerance of SPEC §4)
--   industry_points  segments.industry_points[accounts.industry]; 0 when not listed
--   phase            accounts.phase; when empty, 'onboarding' during the onboarding days
--   phase_points     segments.phase_points[phase]; 0 when not listed or empty
--   attribute_tier   high when points ≥ tier_min_points.high, mid when ≥ .mid, else low
--   segment          segments.matrix[attribute_tier][band]; NULL when the score is NULL
--
-- fct_segment_current: the rows of the as-of day (the revenue metrics' segment filter joins it).
CREATE TABLE fct_segment_history AS
WITH base AS (
    SELECT
        h.account_id,
        h.snapshot_day,
        h.is_as_of,
        h.is_weekly,
        h.score,
        h.band,
        12 * h.mrr AS arr,
        nullif(trim(acc.industry), '') AS industry,
        coalesce(acc.phase, CASE WHEN h.is_onboarding THEN 'onboarding' END) AS phase
    FROM fct_health_weekly h
    JOIN accounts acc USING (account_id)
),
with_arr_points AS (
    SELECT b.*, coalesce(p.points, 0) AS arr_points
    FROM base b
    ASOF LEFT JOIN params_segment_arr_points p ON b.arr + 0.000001 >= p.arr_min
),
points AS (
    SELECT
        b.*,
        coalesce(ip.points, 0) AS industry_points,
        coalesce(pp.points, 0) AS phase_points,
        b.arr_points + coalesce(ip.points, 0) + coalesce(pp.points, 0) AS attribute_points
    FROM with_arr_points b
    LEFT JOIN params_segment_industry_points ip ON ip.industry = b.industry
    LEFT JOIN params_segment_phase_points pp ON pp.phase = b.phase
),
tiers AS (
    SELECT
        p.*,
        CASE
            WHEN p.attribute_points >= t.tier_high_min - 1e-9 THEN 'high'
            WHEN p.attribute_points >= t.tier_mid_min - 1e-9 THEN 'mid'
            ELSE 'low'
        END AS attribute_tier
    FROM points p
    CROSS JOIN params_segments t
)
SELECT
    t.account_id,
    t.snapshot_day,
    t.is_as_of,
    t.is_weekly,
    t.attribute_tier,
    t.band,
    m.segment,
    t.attribute_points,
    t.arr,
    t.arr_points,
    t.industry,
    t.industry_points,
    t.phase,
    t.phase_points,
    t.score
FROM tiers t
LEFT JOIN params_segment_matrix m ON m.attribute_tier = t.attribute_tier AND m.band = t.band;

CREATE TABLE fct_segment_current AS
SELECT
    account_id, attribute_tier, band, segment, attribute_points, arr, arr_points, industry,
    industry_points, phase, phase_points, score
FROM fct_segment_history
WHERE is_as_of
ORDER BY account_id;
