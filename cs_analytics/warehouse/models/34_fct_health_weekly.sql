-- fct_health_weekly: the health score of every active account on every snapshot day (Mondays
-- and as_of), with its six components (SPEC §4 "Health score").
-- fct_health_current: the rows of the as-of day.
--
-- Component inputs (windows end on the snapshot day d, see models 32 and 33):
--   deliveries   Σ deliveries in the window
--   logins       days with a login in the window
--   touchpoints  email/call/other activities in the window
--   meetings     meetings in the window
--   conversion   conversions / viewers (or viewers / registrants) in the window
--   renewal      days to the current contract's end; scored 100 when a following contract is
--                signed or the contract is open-ended. renewal_days_score is the score from
--                the days to the end alone (100 when open-ended), as if nothing following were
--                signed: model 31 counts a following contract as signed with hindsight on past
--                days, so the backtest scores past weeks with this one (what was known then).
-- "No data" (the component is left out and its weight shared by the others, never scored 0):
--   deliveries, logins, conversion: the account has no usage row on or before d, or the usage
--     export does not cover the window start (it starts later or ended earlier);
--   conversion also: no viewers (registrants) in the window;
--   touchpoints, meetings: the activity history does not reach back to the window start;
--   renewal: always has data.
--
-- Each component is scored 0–100 on its piecewise-linear curve (params_health_curve; the
-- onboarding curve while d − first contract start < onboarding_days). Weights:
--   weight_i = w_i / Σ w_j over the components with data (0 without data),
--   contribution_i = weight_i × score_i,  score = Σ contribution_i = Σ w_i·s_i / Σ w_i.
-- Band: healthy ≥ bands.healthy, caution ≥ bands.caution, warning ≥ bands.warning, else danger
-- (with a 1e-9 tolerance, so a score computed as 74.99999999999999 is 75).
-- Top detractor: the component losing the most points, weight_i × (100 − score_i); ties go to
-- the first in the order deliveries, logins, touchpoints, meetings, conversion, renewal; NULL
-- when no component loses points.
-- previous_* / *_4w_before: the same account on the previous Monday and on the latest Monday
-- on or before d − 28 (NULL when it was not active then).
-- health_band(score, healthy, caution, warning): the band of a score given the bands' lowest
-- scores (params_health); kept in the snapshot, so the backtest bands the scores it re-weights
-- with this same rule.
CREATE OR REPLACE MACRO health_band(score, healthy, caution, warning) AS
    CASE
        WHEN score IS NULL THEN NULL
        WHEN score >= healthy - 1e-9 THEN 'healthy'
        WHEN score >= caution - 1e-9 THEN 'caution'
        WHEN score >= warning - 1e-9 THEN 'warning'
        ELSE 'danger'
    END;

CREATE TEMP MACRO health_curve_score(x, x_from, x_to, score_from, score_to) AS
    CASE
        WHEN score_from = score_to THEN score_from
        ELSE score_from + (x - x_from) * (score_to - score_from) / (x_to - x_from)
    END;

CREATE TEMP TABLE int_health_inputs AS
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
)
SELECT
    *,
    CASE WHEN first_usage_date <= snapshot_day
              AND usage_first_date <= snapshot_day - deliveries_days + 1
              AND usage_last_date >= snapshot_day - deliveries_days + 1
         THEN CAST(deliveries AS DOUBLE) END AS deliveries_value,
    CASE WHEN first_usage_date <= snapshot_day
              AND usage_first_date <= snapshot_day - logins_days + 1
              AND usage_last_date >= snapshot_day - logins_days + 1
         THEN CAST(login_days AS DOUBLE) END AS logins_value,
    CASE WHEN activity_first_date <= snapshot_day - touchpoints_days + 1
         THEN CAST(coalesce(touchpoints, 0) AS DOUBLE) END AS touchpoints_value,
    CASE WHEN activity_first_date <= snapshot_day - meetings_days + 1
         THEN CAST(coalesce(meetings, 0) AS DOUBLE) END AS meetings_value,
    CASE WHEN first_usage_date <= snapshot_day
              AND usage_first_date <= snapshot_day - conversion_days + 1
              AND usage_last_date >= snapshot_day - conversion_days + 1
              AND conversion_denominator > 0
         THEN CAST(conversion_numerator AS DOUBLE) / conversion_denominator END
        AS conversion_value,
    CAST(days_to_end AS DOUBLE) AS renewal_value
FROM base;

CREATE TEMP TABLE int_health_scored AS
WITH weights AS (
    SELECT
        max(weight) FILTER (WHERE component = 'deliveries') AS w_deliveries,
        max(weight) FILTER (WHERE component = 'logins') AS w_logins,
        max(weight) FILTER (WHERE component = 'touchpoints') AS w_touchpoints,
        max(weight) FILTER (WHERE component = 'meetings') AS w_meetings,
        max(weight) FILTER (WHERE component = 'conversion') AS w_conversion,
        max(weight) FILTER (WHERE component = 'renewal') AS w_renewal
    FROM params_health_weights
),
component_scores AS (
    SELECT
        i.*,
        w.*,
        health_curve_score(i.deliveries_value, c1.x_from, c1.x_to, c1.score_from, c1.score_to)
            AS deliveries_score,
        health_curve_score(i.logins_value, c2.x_from, c2.x_to, c2.score_from, c2.score_to)
            AS logins_score,
        health_curve_score(i.touchpoints_value, c3.x_from, c3.x_to, c3.score_from, c3.score_to)
            AS touchpoints_score,
        health_curve_score(i.meetings_value, c4.x_from, c4.x_to, c4.score_from, c4.score_to)
            AS meetings_score,
        health_curve_score(i.conversion_value, c5.x_from, c5.x_to, c5.score_from, c5.score_to)
            AS conversion_score,
        CASE WHEN i.open_ended THEN 100.0
             ELSE health_curve_score(i.renewal_value, c6.x_from, c6.x_to, c6.score_from,
                                     c6.score_to) END AS renewal_days_score,
        CASE WHEN i.following_signed THEN 100.0 ELSE renewal_days_score END AS renewal_score
    FROM int_health_inputs i
    CROSS JOIN weights w
    LEFT JOIN params_health_curve c1
      ON c1.component = 'deliveries' AND c1.onboarding = i.is_onboarding
     AND i.deliveries_value >= c1.x_from AND i.deliveries_value < c1.x_to
    LEFT JOIN params_health_curve c2
      ON c2.component = 'logins' AND c2.onboarding = i.is_onboarding
     AND i.logins_value >= c2.x_from AND i.logins_value < c2.x_to
    LEFT JOIN params_health_curve c3
      ON c3.component = 'touchpoints' AND c3.onboarding = i.is_onboarding
     AND i.touchpoints_value >= c3.x_from AND i.touchpoints_value < c3.x_to
    LEFT JOIN params_health_curve c4
      ON c4.component = 'meetings' AND c4.onboarding = i.is_onboarding
     AND i.meetings_value >= c4.x_from AND i.meetings_value < c4.x_to
    LEFT JOIN params_health_curve c5
      ON c5.component = 'conversion' AND c5.onboarding = i.is_onboarding
     AND i.conversion_value >= c5.x_from AND i.conversion_value < c5.x_to
    LEFT JOIN params_health_curve c6
      ON c6.component = 'renewal' AND c6.onboarding = i.is_onboarding
     AND i.renewal_value >= c6.x_from AND i.renewal_value < c6.x_to
),
weight_with_data AS (
    SELECT
        *,
        CASE WHEN deliveries_score IS NULL THEN 0 ELSE w_deliveries END
          + CASE WHEN logins_score IS NULL THEN 0 ELSE w_logins END
          + CASE WHEN touchpoints_score IS NULL THEN 0 ELSE w_touchpoints END
          + CASE WHEN meetings_score IS NULL THEN 0 ELSE w_meetings END
          + CASE WHEN conversion_score IS NULL THEN 0 ELSE w_conversion END
          + CASE WHEN renewal_score IS NULL THEN 0 ELSE w_renewal END AS weight_total
    FROM component_scores
),
shares AS (
    SELECT
        *,
        CASE WHEN deliveries_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_deliveries / weight_total END AS deliveries_weight,
        CASE WHEN logins_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_logins / weight_total END AS logins_weight,
        CASE WHEN touchpoints_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_touchpoints / weight_total END AS touchpoints_weight,
        CASE WHEN meetings_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_meetings / weight_total END AS meetings_weight,
        CASE WHEN conversion_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_conversion / weight_total END AS conversion_weight,
        CASE WHEN renewal_score IS NULL OR weight_total = 0 THEN 0
             ELSE w_renewal / weight_total END AS renewal_weight
    FROM weight_with_data
),
contributions AS (
    SELECT
        *,
        deliveries_weight * coalesce(deliveries_score, 0) AS deliveries_contribution,
        logins_weight * coalesce(logins_score, 0) AS logins_contribution,
        touchpoints_weight * coalesce(touchpoints_score, 0) AS touchpoints_contribution,
        meetings_weight * coalesce(meetings_score, 0) AS meetings_contribution,
        conversion_weight * coalesce(conversion_score, 0) AS conversion_contribution,
        renewal_weight * coalesce(renewal_score, 0) AS renewal_contribution,
        -- points lost by each component (NULL without data)
        deliveries_weight * (100 - deliveries_score) AS deliveries_lost,
        logins_weight * (100 - logins_score) AS logins_lost,
        touchpoints_weight * (100 - touchpoints_score) AS touchpoints_lost,
        meetings_weight * (100 - meetings_score) AS meetings_lost,
        conversion_weight * (100 - conversion_score) AS conversion_lost,
        renewal_weight * (100 - renewal_score) AS renewal_lost
    FROM shares
),
totals AS (
    SELECT
        *,
        CASE WHEN weight_total > 0
             THEN deliveries_contribution + logins_contribution + touchpoints_contribution
                  + meetings_contribution + conversion_contribution + renewal_contribution
        END AS score,
        greatest(deliveries_lost, logins_lost, touchpoints_lost, meetings_lost,
                 conversion_lost, renewal_lost) AS most_lost
    FROM contributions
)
SELECT
    t.*,
    health_band(t.score, ph.band_healthy, ph.band_caution, ph.band_warning) AS band,
    CASE
        WHEN NOT t.most_lost > 1e-9 THEN NULL
        WHEN t.deliveries_lost = t.most_lost THEN 'deliveries'
        WHEN t.logins_lost = t.most_lost THEN 'logins'
        WHEN t.touchpoints_lost = t.most_lost THEN 'touchpoints'
        WHEN t.meetings_lost = t.most_lost THEN 'meetings'
        WHEN t.conversion_lost = t.most_lost THEN 'conversion'
        WHEN t.renewal_lost = t.most_lost THEN 'renewal'
    END AS top_detractor,
    (t.deliveries_score IS NOT NULL)::INTEGER + (t.logins_score IS NOT NULL)::INTEGER
      + (t.touchpoints_score IS NOT NULL)::INTEGER + (t.meetings_score IS NOT NULL)::INTEGER
      + (t.conversion_score IS NOT NULL)::INTEGER + (t.renewal_score IS NOT NULL)::INTEGER
        AS components_with_data
FROM totals t
CROSS JOIN params_health ph;

CREATE TABLE fct_health_weekly AS
SELECT
    h.account_id,
    h.snapshot_day,
    d.is_as_of,
    d.is_weekly,
    h.score,
    h.band,
    h.top_detractor,
    h.is_onboarding,
    h.components_with_data,
    h.deliveries_value, h.deliveries_score, h.deliveries_weight, h.deliveries_contribution,
    h.logins_value, h.logins_score, h.logins_weight, h.logins_contribution,
    h.touchpoints_value, h.touchpoints_score, h.touchpoints_weight, h.touchpoints_contribution,
    h.meetings_value, h.meetings_score, h.meetings_weight, h.meetings_contribution,
    h.conversion_value, h.conversion_score, h.conversion_weight, h.conversion_contribution,
    h.renewal_value, h.renewal_score, h.renewal_weight, h.renewal_contribution,
    h.renewal_days_score,
    prev.snapshot_day AS previous_day,
    prev.score AS previous_score,
    prev.band AS previous_band,
    h.score - prev.score AS score_change,
    prev4.snapshot_day AS day_4w_before,
    prev4.score AS score_4w_before,
    prev4.band AS band_4w_before,
    h.score - prev4.score AS score_change_4w,
    -- inputs the signals, the pages and the messages show as evidence
    h.mrr,
    h.first_start_date,
    h.contract_end_date,
    h.days_to_end,
    h.following_signed,
    h.following_start_date,
    h.first_usage_date,
    h.last_login_date,
    h.deliveries_last_window,
    h.deliveries_previous_window,
    h.last_contact_date,
    h.last_contact_type
FROM int_health_scored h
JOIN int_health_snapshot_days d USING (snapshot_day)
LEFT JOIN int_health_scored prev
  ON prev.account_id = h.account_id AND prev.snapshot_day = d.previous_day
LEFT JOIN int_health_scored prev4
  ON prev4.account_id = h.account_id AND prev4.snapshot_day = d.day_4w_before;

CREATE TABLE fct_health_current AS
SELECT * FROM fct_health_weekly WHERE is_as_of ORDER BY account_id;
