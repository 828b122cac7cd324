"""UI strings: one catalogue per language (`locales/ja.toml`, `locales/en.toml`), none in pages.

Keys are dotted paths into the catalogue (`t("overview.title")`); values are `str.format`
templates (`t("data.rows", n=12)`). A test checks both catalogues have the same keys and
placeholders and that every key used in the code exists. The current language lives in the
session (set by the sidebar switch in app.py).
"""

from __future__ import annotations

import functools
import string
import tomllib
from pathlib import Path

from cs_analytics.metrics import kpis

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
LOCALES_DIR = Path(__file__).parent / "locales"
LANG_KEY = "lang"


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The flat {dotted key: template} catalogue of one language, with each KPI's name
    (`kpi.<key>`) from the KPI registry."""
    with open(LOCALES_DIR / f"{lang}.toml", "rb") as fh:
        flat = _flatten(tomllib.load(fh))
    for k in kpis.KPIS:
        flat[f"kpi.{k.key}"] = kpis.label(k.key, lang)
    return flat


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = str(value)
    return flat


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def translate(lang: str, key: str, **values) -> str:
    """The template of `key` in `lang`, filled with `values`. A missing key raises KeyError
    (a test catches it before a user does)."""
    template = catalogue(lang)[key]
    return template.format(**values) if values else template


def current_language() -> str:
    # streamlit loads only here, so translate() and catalogue() work without it (tests, reports)
    import streamlit as st

    lang = st.session_state.get(LANG_KEY)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **values) -> str:
    """Translate `key` into the session's language."""
    return translate(current_language(), key, **values)


def formatter(prefix: str):
    """A `format_func` for widgets: code → t(f"{prefix}.{code}") in the language of this run.

    The language is read now, not when the function is called: Streamlit may call a widget's
    format_func outside the script run, where the session is not available."""
    lang = current_language()
    return lambda code: translate(lang, f"{prefix}.{code}")
