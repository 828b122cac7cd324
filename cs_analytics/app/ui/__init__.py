"""Streamlit-only helpers for the app: i18n, formatting, charts, widgets, filters, cached data.

Nothing outside this package imports streamlit; pages import from here and from
cs_analytics.metrics, never compute a number themselves.
"""
