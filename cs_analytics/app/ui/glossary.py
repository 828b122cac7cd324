"""The glossary page's content, generated from the settings: definitions with the configured
thresholds filled in, the health component table, the segment matrix and every setting with
its current value, default and meaning (config.iter_settings) — so the glossary and the metrics
read the same configuration."""

from __future__ import annotations

import dataclasses
import functools
import tomllib

import pandas as pd

from cs_analytics.app.ui.i18n import LOCALES_DIR
from cs_analytics.config import BANDS, HEALTH_COMPONENTS, Settings, iter_settings

# Definitions in reading order: (section, [metric keys]); texts are glossary.def.<key>.
DEFINITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("revenue", ("snapshot_day", "contract_mrr", "renewal_grace", "account_mrr", "arr",
                 "movements", "bridge")),
    ("retention", ("period", "logo_churn", "nrr", "grr", "mrr_churn", "ttm", "quick_ratio",
                   "two_year_churn", "cohorts", "renewals", "renewal_statuses",
                   "notice_deadline", "renewal_forecast", "fiscal_year")),
    ("health", ("health_score", "bands", "onboarding", "manual_assessment", "segment")),
    ("signals", ("no_login", "deliveries_drop", "no_contact", "health_red", "renewal_at_risk",
                 "notice_deadline_near", "alerts")),
    ("backtest", ("backtest_population", "backtest_outcome", "backtest_rates",
                  "backtest_precision_recall", "backtest_lead_time", "backtest_survival",
                  "backtest_components", "backtest_evidence", "backtest_weights")),
    ("targets", ("target_basis", "to_date", "small_sample")),
)


def definition_values(s: Settings) -> dict[str, object]:
    """The configured numbers the definition texts mention, by placeholder name."""
    h, g, sig, r = s.health, s.segments, s.signals, s.renewals
    band_emoji = {"healthy": "🟢", "caution": "🟡", "warning": "🟠", "danger": "🔴"}
    return {
        "grace_days": s.general.renewal_grace_days,
        "fiscal_start": s.general.fiscal_year_start_month,
        "healthy": _num(h.bands["healthy"]), "caution": _num(h.bands["caution"]),
        "warning": _num(h.bands["warning"]),
        "onboarding_days": h.onboarding_days,
        "no_login_days": sig.no_login_days,
        "drop_days": sig.deliveries_window_days,
        "drop_pct": _num(sig.deliveries_drop_ratio * 100),
        "drop_min": sig.deliveries_min_previous,
        "no_contact_days": sig.no_contact_days,
        "renewal_days": sig.renewal_at_risk_days,
        "notice_alert_days": sig.notice_deadline_days,
        "risk_bands": "/".join(band_emoji[b] for b in sig.renewal_at_risk_bands) or "—",
        "notice_days": r.notice_days_default,
        "auto_renew": str(r.auto_renew_default).lower(),
        "radar_days": r.radar_days,
        "reminder_min": r.reminder_days_min, "reminder_max": r.reminder_days_max,
        "lead_days": r.forecast_lead_days, "min_renewals": r.forecast_min_renewals,
        "cooldown_days": s.alerts.cooldown_days,
        "small_below": s.samples.small_below,
        "tier_high": _num(g.tier_min_points["high"]),
        "tier_mid": _num(g.tier_min_points["mid"]),
        "horizon_days": s.backtest.horizon_days,
        "min_history_days": s.backtest.min_history_days,
        "lead_weeks": s.backtest.lead_weeks,
        "min_churned": s.backtest.min_churned_accounts,
        "confidence": _num(s.backtest.confidence * 100),
        "weight_factors": ", ".join(f"×{_num(f)}" for f in s.backtest.weight_factors),
    }


def targets_table(s: Settings) -> pd.DataFrame:
    """The configured targets: name, metric, direction, value, basis (enabled ones)."""
    return pd.DataFrame([{"name": name, "metric": target.metric,
                          "direction": target.direction, "value": target.value,
                          "basis": target.basis}
                         for name, target in s.targets.items() if target.enabled],
                        columns=["name", "metric", "direction", "value", "basis"])


def _num(value: float) -> str:
    return f"{value:g}"


def health_components(s: Settings) -> pd.DataFrame:
    """component, weight, share of total weight, window (days), scoring points."""
    h = s.health
    windows = {"deliveries": h.windows.deliveries_days, "logins": h.windows.logins_days,
               "touchpoints": h.windows.touchpoints_days, "meetings": h.windows.meetings_days,
               "conversion": h.windows.conversion_days, "renewal": None}
    total = sum(h.weights.get(c, 0.0) for c in HEALTH_COMPONENTS) or 1.0
    rows = []
    for c in HEALTH_COMPONENTS:
        rows.append({
            "component": c,
            "weight": h.weights.get(c, 0.0),
            "share": h.weights.get(c, 0.0) / total,
            "window_days": windows[c],
            "points": _points(h.thresholds.get(c, [])),
            "onboarding_points": _points(h.onboarding_thresholds.get(c, [])),
        })
    return pd.DataFrame(rows)


def _points(points) -> str:
    return " → ".join(f"{_num(x)}:{_num(y)}" for x, y in points)


def segment_matrix(s: Settings) -> pd.DataFrame:
    """Rows: attribute tier (high/mid/low); columns: health bands; cells: segment."""
    return pd.DataFrame(
        [{"tier": tier, **{band: s.segments.matrix[tier][band] for band in BANDS}}
         for tier in ("high", "mid", "low")])


def settings_table(s: Settings, lang: str = "en") -> pd.DataFrame:
    """Every setting: key, current value, default, meaning — in Japanese from
    locales/settings.ja.toml, in English config.py's own text."""
    docs = setting_docs(lang)
    rows = []
    for key, default, doc in iter_settings():
        rows.append({"key": key, "value": _show(_current(s, key)), "default": _show(default),
                     "doc": docs.get(key, doc)})
    return pd.DataFrame(rows)


@functools.cache
def setting_docs(lang: str) -> dict[str, str]:
    """What each setting means in `lang` ({} for English: config.py's docs are English)."""
    path = LOCALES_DIR / f"settings.{lang}.toml"
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _current(s: Settings, key: str):
    value = s
    for part in key.split("."):
        by_toml = {f.metadata.get("toml", f.name): f.name for f in dataclasses.fields(value)}
        value = getattr(value, by_toml[part])
    return value


def _show(value) -> str:
    if value is None:
        return ""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        value = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                 for k, v in value.items()}
    if isinstance(value, float):
        return _num(value)
    return str(value)
