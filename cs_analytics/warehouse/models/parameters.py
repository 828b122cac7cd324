"""Parameter tables written into each build before the SQL models run."""

from __future__ import annotations

import datetime as dt

import duckdb

from cs_analytics.config import HEALTH_COMPONENTS
from cs_analytics.config import Settings
from cs_analytics.warehouse.models.functions import DEFAULT_CONFIDENCE

# SPEC §4 "Precision": two MRR values are equal when they differ by less than this (yen).
# Written into `params` so the SQL models and the metrics API use the same tolerance.
MRR_EPSILON = 1e-6


def write(con: duckdb.DuckDBPyConnection, settings: Settings, as_of: dt.date) -> None:
    g = settings.general
    con.execute(
        "CREATE OR REPLACE TABLE params AS SELECT CAST(? AS DATE) AS as_of, "
        "CAST(? AS INTEGER) AS renewal_grace_days, CAST(? AS INTEGER) AS fiscal_year_start_month, "
        "CAST(? AS DOUBLE) AS mrr_epsilon",
        [as_of, g.renewal_grace_days, g.fiscal_year_start_month, MRR_EPSILON])
    write_health_parameters(con, settings)
    write_renewal_parameters(con, settings)


def write_renewal_parameters(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """[renewals] settings as tables, read by models 14 and 50.

    params_renewals                one row: the contract defaults, the forecast's lead days and
                                   minimum history, and the confidence of its intervals (90%)
    params_renewal_probabilities   bucket (a band, 'unscored', 'notice_given'), default_p
    """
    r = settings.renewals
    con.execute(
        "CREATE OR REPLACE TABLE params_renewals AS SELECT "
        "CAST(? AS BOOLEAN) AS auto_renew_default, CAST(? AS INTEGER) AS notice_days_default, "
        "CAST(? AS INTEGER) AS forecast_lead_days, CAST(? AS INTEGER) AS forecast_min_renewals, "
        "CAST(? AS DOUBLE) AS confidence",
        [r.auto_renew_default, r.notice_days_default, r.forecast_lead_days,
         r.forecast_min_renewals, DEFAULT_CONFIDENCE])
    con.execute("CREATE OR REPLACE TABLE params_renewal_probabilities "
                "(bucket VARCHAR, default_p DOUBLE)")
    con.executemany("INSERT INTO params_renewal_probabilities VALUES (?, ?)",
                    [[k, float(v)] for k, v in r.default_probabilities.items()])


def write_health_parameters(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Health, segment and signal settings as tables, read by models 30–49.

    params_health          one row: onboarding_days, conversion_basis, band floors, windows
    params_health_weights  component, weight, component_order
    params_health_curve    the piecewise-linear scoring as segments [x_from, x_to) → score_from
                           … score_to, per component and onboarding flag, flat outside the points
    params_segment*        ARR points, industry points, phase points, tier floors, matrix
    params_signals         one row of signal thresholds; params_signal_risk_bands
    """
    h, g, s = settings.health, settings.segments, settings.signals
    w = h.windows
    con.execute(
        "CREATE OR REPLACE TABLE params_health AS SELECT CAST(? AS INTEGER) AS onboarding_days, "
        "CAST(? AS VARCHAR) AS conversion_basis, CAST(? AS DOUBLE) AS band_healthy, "
        "CAST(? AS DOUBLE) AS band_caution, CAST(? AS DOUBLE) AS band_warning, "
        "CAST(? AS INTEGER) AS deliveries_days, CAST(? AS INTEGER) AS logins_days, "
        "CAST(? AS INTEGER) AS touchpoints_days, CAST(? AS INTEGER) AS meetings_days, "
        "CAST(? AS INTEGER) AS conversion_days",
        [h.onboarding_days, h.conversion_basis, h.bands["healthy"], h.bands["caution"],
         h.bands["warning"], w.deliveries_days, w.logins_days, w.touchpoints_days,
         w.meetings_days, w.conversion_days])
    con.execute("CREATE OR REPLACE TABLE params_health_weights (component VARCHAR, "
                "weight DOUBLE, component_order INTEGER)")
    con.executemany("INSERT INTO params_health_weights VALUES (?, ?, ?)",
                    [[c, float(h.weights.get(c, 0.0)), i]
                     for i, c in enumerate(HEALTH_COMPONENTS)])
    con.execute("CREATE OR REPLACE TABLE params_health_curve (component VARCHAR, "
                "onboarding BOOLEAN, x_from DOUBLE, x_to DOUBLE, score_from DOUBLE, "
                "score_to DOUBLE)")
    rows = []
    for onboarding in (False, True):
        for c in HEALTH_COMPONENTS:
            points = (h.onboarding_thresholds.get(c) if onboarding else None) or h.thresholds[c]
            rows += [[c, onboarding, *segment] for segment in _curve_segments(points)]
    con.executemany("INSERT INTO params_health_curve VALUES (?, ?, ?, ?, ?, ?)", rows)

    con.execute("CREATE OR REPLACE TABLE params_segment_arr_points (arr_min DOUBLE, points DOUBLE)")
    con.executemany("INSERT INTO params_segment_arr_points VALUES (?, ?)",
                    [[float(a), float(p)] for a, p in g.arr_points])
    con.execute("CREATE OR REPLACE TABLE params_segment_industry_points "
                "(industry VARCHAR, points DOUBLE)")
    if g.industry_points:
        con.executemany("INSERT INTO params_segment_industry_points VALUES (?, ?)",
                        [[k, float(v)] for k, v in g.industry_points.items()])
    con.execute("CREATE OR REPLACE TABLE params_segment_phase_points "
                "(phase VARCHAR, points DOUBLE)")
    if g.phase_points:
        con.executemany("INSERT INTO params_segment_phase_points VALUES (?, ?)",
                        [[k, float(v)] for k, v in g.phase_points.items()])
    con.execute("CREATE OR REPLACE TABLE params_segments AS SELECT "
                "CAST(? AS DOUBLE) AS tier_high_min, CAST(? AS DOUBLE) AS tier_mid_min",
                [g.tier_min_points["high"], g.tier_min_points["mid"]])
    con.execute("CREATE OR REPLACE TABLE params_segment_matrix "
                "(attribute_tier VARCHAR, band VARCHAR, segment VARCHAR)")
    con.executemany("INSERT INTO params_segment_matrix VALUES (?, ?, ?)",
                    [[tier, band, seg] for tier, row in g.matrix.items()
                     for band, seg in row.items()])

    con.execute(
        "CREATE OR REPLACE TABLE params_signals AS SELECT CAST(? AS INTEGER) AS no_login_days, "
        "CAST(? AS INTEGER) AS deliveries_window_days, CAST(? AS DOUBLE) AS deliveries_drop_ratio, "
        "CAST(? AS INTEGER) AS deliveries_min_previous, CAST(? AS INTEGER) AS no_contact_days, "
        "CAST(? AS INTEGER) AS renewal_at_risk_days, CAST(? AS INTEGER) AS notice_deadline_days",
        [s.no_login_days, s.deliveries_window_days, s.deliveries_drop_ratio,
         s.deliveries_min_previous, s.no_contact_days, s.renewal_at_risk_days,
         s.notice_deadline_days])
    con.execute("CREATE OR REPLACE TABLE params_signal_risk_bands (band VARCHAR)")
    if s.renewal_at_risk_bands:
        con.executemany("INSERT INTO params_signal_risk_bands VALUES (?)",
                        [[b] for b in s.renewal_at_risk_bands])


def _curve_segments(points: list[list[float]]) -> list[list[float]]:
    """[x_from, x_to, score_from, score_to] covering the whole line: flat before the first point
    and after the last one, linear between neighbouring points."""
    inf = float("inf")
    pts = [(float(x), float(y)) for x, y in points]
    segments = [[-inf, pts[0][0], pts[0][1], pts[0][1]]]
    segments += [[x0, x1, y0, y1] for (x0, y0), (x1, y1) in zip(pts, pts[1:])]
    segments.append([pts[-1][0], inf, pts[-1][1], pts[-1][1]])
    return segments
