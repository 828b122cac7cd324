"""The pages of the app (SPEC §5) and their navigation sections, in menu order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    name: str          # url path and i18n key: nav.<name>
    section: str       # i18n key: nav.section.<section>
    icon: str

    @property
    def path(self) -> str:
        return f"pages/{self.name}.py"


SECTIONS = ("management", "analysis", "customers", "operations")

PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "management", "📊"),
    PageSpec("kpi_report", "management", "🗂️"),
    PageSpec("revenue", "analysis", "💴"),
    PageSpec("churn", "analysis", "📉"),
    PageSpec("renewals", "analysis", "🔁"),
    PageSpec("health", "analysis", "🩺"),
    PageSpec("score_check", "analysis", "🎯"),
    PageSpec("team", "analysis", "👥"),
    PageSpec("account", "customers", "🏢"),
    PageSpec("qbr", "customers", "🤝"),
    PageSpec("weekly_check", "operations", "✅"),
    PageSpec("weekly_review", "operations", "📝"),
    PageSpec("data", "operations", "🗄️"),
    PageSpec("glossary", "operations", "📖"),
)

DEFAULT_PAGE = "overview"
# The default page at the app's root (/): Streamlit names its page by this, never shown; the
# page keeps its own URL (/overview) too.
ROOT_PATH = "home"


def page(name: str) -> PageSpec:
    return next(p for p in PAGES if p.name == name)
