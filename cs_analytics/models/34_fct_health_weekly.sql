-- fct_health_weekly: the health score of every active account on every snapshot day (Mondays
-- and as_of), with its six components (SPEC §4 "Health score").
--
-- Component inputs (windows end on the snapshot day d, see model 32):
--   deliveries   Σ deliveries in the window                    no data: see below
--   logins       days with a login in the window                no data: see below
--   touchpoints  email/call/other activities in the window      no data: activity history
--   meetings     meetings in the window                                  does not reach back to
--                                                                        the window start
--   conversion   conversions / viewers (or viewers / registrants) no data: as deliveries, or
--                                                                 no viewers (registrants)
--   renewal      days to the current contract's end             always has data; 100 when a
--                                                                 following contract is signed
--                                                                 or the contract is open-ended
-- Usage components have no data when the account has no usage row on or before d, or the
-- usage export does not cover the window start (it starts later or ended earlier), so a
-- missing export is never read as zero use.
--
-- Each component is scored 0–100 on its piecewise-linear curve (params_health_curve; the
-- onboarding curve while d − first contract start < onboarding_days). A component without data
-- has score NULL, weight 0 and contribution 0; the others share the weight:
--   weight_i = w_i / Σ w_j (j with data),  contribution_i = weight_i × score_i,
--   score = Σ contribution_i = Σ w_i·s_i / Σ w_i.
-- Band: healthy ≥ bands.healthy, caution ≥ bands.caution, warning ≥ bands.warning, else danger
-- (compared with a 1e-9 tolerance so a score computed as 74.99999999999999 is 75).
-- Top detractor: the component losing the most points, weight_i × (100 − score_i) (ties: the
-- order deliveries, logins, touchpoints, meetings, conversion, renewal); NULL when none loses.
-- previous_* / *_4w: the same account's row on the previous Monday and on the latest Monday on
-- or before d − 28 (NULL when it was not active then).
CREATE TEMP TABLE int_health_components AS
WITH base AS (
    SELECT
        a.*,
        u.first_usage_date,
        u.last_login_date,
        u.deliveries,
        u.login_days,
        u.conversion_numerator,
        u.conversion_denominator,
        u.deliveries_last_window,
        u.deliveries_previous_window,
        ac.touchpoints,
        ac.meetings,
        ac.last_contact_date,
        ac.last_contact_type,
        cov.usage_first_date,
        cov.usage_last_date,
        cov.activity_first_date,
        ph.deliveries_days,
        ph.logins_days,
        ph.touchpoints_days,
        ph.meetings_days,
        ph.conversion_days
    FROM int_health_account_days a
    CROSS JOIN int_health_coverage cov
    CROSS JOIN params_health ph
    LEFT JOIN int_health_usage_inputs u USING (account_id, snapshot_day)
    LEFT JOIN int_health_activity_inputs ac USING (account_id, snapshot_day)
),
coverage AS (
    SELECT
        *,
        first_usage_date <= snapshot_day
            AND usage_first_date <= snapshot_day - deliveries_days + 1
            AND usage_last_date >= snapshot_day - deliveries_days + 1 AS deliveries_has_data,
        first_usage_date <= snapshot_day
            AND usage_first_date <= snapshot_day - logins_days + 1
            AND usage_last_date >= snapshot_day - logins_days + 1 AS logins_has_data,
        first_usage_date <= snapshot_day
            AND usage_first_date <= snapshot_day - conversion_days + 1
            AND usage_last_date >= snapshot_day - conversion_days + 1
            AND conversion_denominator > 0 AS conversion_has_data,
        activity_first_date <= snapshot_day - touchpoints_days + 1 AS touchpoints_has_data,
        activity_first_date <= snapshot_day - meetings_days + 1 AS meetings_has_data
    FROM base
),
inputs AS (
    SELECT account_id, snapshot_day, is_onboarding, 'deliveries' AS component,
           CASE WHEN deliveries_has_data THEN CAST(deliveries AS DOUBLE) END AS value,
           coalesce(deliveries_has_data, false) AS has_data, false AS full_score
    FROM coverage
    UNION ALL
    SELECT account_id, snapshot_day, is_onboarding, 'logins',
           CASE WHEN logins_has_data THEN CAST(login_days AS DOUBLE) END,
           coalesce(logins_has_data, false), false
    FROM coverage
    UNION ALL
    SELECT account_id, snapshot_day, is_onboarding, 'touchpoints',
           CASE WHEN touchpoints_has_data THEN CAST(coalesce(touchpoints, 0) AS DOUBLE) END,
           coalesce(touchpoints_has_data, false), false
    FROM coverage
    UNION ALL
    SELECT account_id, snapshot_day, is_onboarding, 'meetings',
           CASE WHEN meetings_has_data THEN CAST(coalesce(meetings, 0) AS DOUBLE) END,
           coalesce(meetings_has_data, false), false
    FROM coverage
    UNION ALL
    SELECT account_id, snapshot_day, is_onboarding, 'conversion',
           CASE WHEN conversion_has_data
                THEN CAST(conversion_numerator AS DOUBLE) / conversion_denominator END,
           coalesce(conversion_has_data, false), false
    FROM coverage
    UNION ALL
    SELECT account_id, snapshot_day, is_onboarding, 'renewal',
           CAST(days_to_end AS DOUBLE),
           true, following_signed OR open_ended
    FROM coverage
)
SELECT
    i.account_id,
    i.snapshot_day,
    i.component,
    w.component_order,
    i.value,
    i.has_data,
    w.weight AS configured_weight,
    CASE
        WHEN NOT i.has_data THEN NULL
        WHEN i.full_score THEN 100.0
        WHEN c.score_from = c.score_to THEN c.score_from
        ELSE c.score_from + (i.value - c.x_from) * (c.score_to - c.score_from) / (c.x_to - c.x_from)
    END AS score
FROM inputs i
JOIN params_health_weights w ON w.component = i.component
LEFT JOIN params_health_curve c
  ON c.component = i.component
 AND c.onboarding = i.is_onboarding
 AND i.value >= c.x_from
 AND i.value < c.x_to;

CREATE TEMP TABLE int_health_scored AS
WITH totals AS (
    SELECT
        account_id,
        snapshot_day,
        sum(configured_weight) FILTER (WHERE has_data) AS weight_with_data,
        sum(configured_weight * score) FILTER (WHERE has_data) AS weighted_sum
    FROM int_health_components
    GROUP BY account_id, snapshot_day
),
shares AS (
    SELECT
        c.*,
        CASE WHEN c.has_data AND t.weight_with_data > 0
             THEN c.configured_weight / t.weight_with_data ELSE 0 END AS weight,
        CASE WHEN t.weight_with_data > 0 THEN t.weighted_sum / t.weight_with_data END AS total
    FROM int_health_components c
    JOIN totals t USING (account_id, snapshot_day)
),
detractors AS (
    SELECT account_id, snapshot_day, component AS top_detractor
    FROM (
        SELECT account_id, snapshot_day, component,
               row_number() OVER (PARTITION BY account_id, snapshot_day
                                  ORDER BY weight * (100 - score) DESC, component_order) AS rank
        FROM shares
        WHERE has_data AND weight > 0 AND weight * (100 - score) > 1e-9
    )
    WHERE rank = 1
)
SELECT
    s.account_id,
    s.snapshot_day,
    any_value(s.total) AS score,
    count(*) FILTER (WHERE s.has_data) AS components_with_data,
    any_value(d.top_detractor) AS top_detractor,
    max(s.value) FILTER (WHERE s.component = 'deliveries') AS deliveries_value,
    max(s.score) FILTER (WHERE s.component = 'deliveries') AS deliveries_score,
    max(s.weight) FILTER (WHERE s.component = 'deliveries') AS deliveries_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'deliveries')
        AS deliveries_contribution,
    max(s.value) FILTER (WHERE s.component = 'logins') AS logins_value,
    max(s.score) FILTER (WHERE s.component = 'logins') AS logins_score,
    max(s.weight) FILTER (WHERE s.component = 'logins') AS logins_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'logins')
        AS logins_contribution,
    max(s.value) FILTER (WHERE s.component = 'touchpoints') AS touchpoints_value,
    max(s.score) FILTER (WHERE s.component = 'touchpoints') AS touchpoints_score,
    max(s.weight) FILTER (WHERE s.component = 'touchpoints') AS touchpoints_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'touchpoints')
        AS touchpoints_contribution,
    max(s.value) FILTER (WHERE s.component = 'meetings') AS meetings_value,
    max(s.score) FILTER (WHERE s.component = 'meetings') AS meetings_score,
    max(s.weight) FILTER (WHERE s.component = 'meetings') AS meetings_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'meetings')
        AS meetings_contribution,
    max(s.value) FILTER (WHERE s.component = 'conversion') AS conversion_value,
    max(s.score) FILTER (WHERE s.component = 'conversion') AS conversion_score,
    max(s.weight) FILTER (WHERE s.component = 'conversion') AS conversion_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'conversion')
        AS conversion_contribution,
    max(s.value) FILTER (WHERE s.component = 'renewal') AS renewal_value,
    max(s.score) FILTER (WHERE s.component = 'renewal') AS renewal_score,
    max(s.weight) FILTER (WHERE s.component = 'renewal') AS renewal_weight,
    max(s.weight * coalesce(s.score, 0)) FILTER (WHERE s.component = 'renewal')
        AS renewal_contribution
FROM shares s
LEFT JOIN detractors d USING (account_id, snapshot_day)
GROUP BY s.account_id, s.snapshot_day;

CREATE TABLE fct_health_weekly AS
WITH scored AS (
    SELECT
        h.*,
        CASE
            WHEN h.score IS NULL THEN NULL
            WHEN h.score >= ph.band_healthy - 1e-9 THEN 'healthy'
            WHEN h.score >= ph.band_caution - 1e-9 THEN 'caution'
            WHEN h.score >= ph.band_warning - 1e-9 THEN 'warning'
            ELSE 'danger'
        END AS band
    FROM int_health_scored h
    CROSS JOIN params_health ph
)
SELECT
    h.account_id,
    h.snapshot_day,
    d.is_as_of,
    d.is_weekly,
    h.score,
    h.band,
    h.top_detractor,
    a.is_onboarding,
    h.components_with_data,
    h.deliveries_value, h.deliveries_score, h.deliveries_weight, h.deliveries_contribution,
    h.logins_value, h.logins_score, h.logins_weight, h.logins_contribution,
    h.touchpoints_value, h.touchpoints_score, h.touchpoints_weight, h.touchpoints_contribution,
    h.meetings_value, h.meetings_score, h.meetings_weight, h.meetings_contribution,
    h.conversion_value, h.conversion_score, h.conversion_weight, h.conversion_contribution,
    h.renewal_value, h.renewal_score, h.renewal_weight, h.renewal_contribution,
    prev.snapshot_day AS previous_day,
    prev.score AS previous_score,
    prev.band AS previous_band,
    h.score - prev.score AS score_change,
    prev4.snapshot_day AS day_4w_before,
    prev4.score AS score_4w_before,
    prev4.band AS band_4w_before,
    h.score - prev4.score AS score_change_4w,
    -- what the signals and the messages show as evidence
    a.mrr,
    a.first_start_date,
    a.contract_end_date,
    a.days_to_end,
    a.following_signed,
    a.following_start_date,
    u.first_usage_date,
    u.last_login_date,
    u.deliveries_last_window,
    u.deliveries_previous_window,
    ac.last_contact_date,
    ac.last_contact_type
FROM scored h
JOIN int_health_snapshot_days d USING (snapshot_day)
JOIN int_health_account_days a USING (account_id, snapshot_day)
LEFT JOIN int_health_usage_inputs u USING (account_id, snapshot_day)
LEFT JOIN int_health_activity_inputs ac USING (account_id, snapshot_day)
LEFT JOIN scored prev ON prev.account_id = h.account_id AND prev.snapshot_day = d.previous_day
LEFT JOIN scored prev4 ON prev4.account_id = h.account_id AND prev4.snapshot_day = d.day_4w_before
ORDER BY h.account_id, h.snapshot_day;

CREATE TABLE fct_health_current AS
SELECT * FROM fct_health_weekly WHERE is_as_of ORDER BY account_id;
