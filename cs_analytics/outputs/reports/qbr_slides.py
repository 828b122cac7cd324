"""The customer QBR deck as a PowerPoint file: `render_qbr_deck(QbrDeck)` lays out the slides
(cover, 60-minute agenda, contract timeline, usage, outcomes, highlights, plan, questions and
next steps, appendix) with the PowerPoint layer (reports/slides.py); `qbr_deck` and
`qbr_decks_zip` are what the CLI and the QBR page call. docs/reports.md shows every slide.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from pathlib import Path
from typing import Callable, Sequence

from pptx.enum.text import MSO_ANCHOR

from cs_analytics.config import REPO_ROOT, Settings
from cs_analytics.outputs.reports import evidence as ev
from cs_analytics.outputs.reports.labels import t
from cs_analytics.outputs.reports.qbr_deck import (AGENDA, AGENDA_MINUTES,
                                                   MAX_CONTRACTS_ON_TIMELINE, QbrDeck,
                                                   qbr_deck_data)
from cs_analytics.outputs.reports.slides import Box, Deck, Fonts, Para, TemplateError
from cs_analytics.outputs.reports.text_fit import text_em

PLAN_PER_SLIDE = 4
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def template_path(settings: Settings) -> Path | None:
    """reports.qbr_template as a path (relative to the configuration file's folder), or None
    for the built-in design."""
    if not settings.reports.qbr_template.strip():
        return None
    path = Path(settings.reports.qbr_template).expanduser()
    if not path.is_absolute():
        base = Path(settings.source_path).parent if settings.source_path else REPO_ROOT
        path = base / path
    if not path.is_file():
        raise TemplateError(f"reports.qbr_template: {path} does not exist; set the path of "
                            "your company's .pptx template, or leave it empty for the "
                            "built-in design")
    return path


def fonts_of(settings: Settings, lang: str) -> Fonts:
    return Fonts(settings.reports.deck_font_latin, settings.reports.deck_font_east_asian, lang)


def qbr_deck(snap, settings: Settings, account_id: str, lang: str = "ja") -> bytes:
    """The customer deck of one account as .pptx bytes."""
    deck = qbr_deck_data(snap, settings, account_id, lang)
    return render_qbr_deck(deck, fonts_of(settings, lang), template_path(settings))


def deck_filename(account_id: str, as_of: dt.date) -> str:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-"
                   for ch in account_id)
    return f"qbr-{safe}_{as_of.isoformat()}.pptx"


def qbr_decks_zip(snap, settings: Settings, accounts: Sequence[tuple[str, str]],
                  lang: str = "ja", progress: Callable[[int, int, str], None] | None = None
                  ) -> bytes:
    """One zip holding the deck of each (account_id, name) and an index.csv (UTF-8 with BOM,
    for Excel) naming the file of each customer; file names are ASCII (account ids) so every
    unzip tool keeps them."""
    fonts, template = fonts_of(settings, lang), template_path(settings)
    out = io.BytesIO()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow([t("deck.zip.account_id", lang), t("deck.zip.customer", lang),
                     t("deck.zip.file", lang)])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (account_id, name) in enumerate(accounts):
            if progress:
                progress(i, len(accounts), name)
            deck = qbr_deck_data(snap, settings, account_id, lang)
            file_name = deck_filename(account_id, deck.as_of)
            archive.writestr(file_name, render_qbr_deck(deck, fonts, template))
            writer.writerow([account_id, name, file_name])
        archive.writestr("index.csv", index.getvalue().encode("utf-8-sig"))
    if progress:
        progress(len(accounts), len(accounts), "")
    return out.getvalue()


# ---------------------------------------------------------------------------- rendering


def render_qbr_deck(deck: QbrDeck, fonts: Fonts, template: Path | None = None) -> bytes:
    lang = deck.lang
    d = Deck(fonts, template)
    footer = t("deck.footer", lang, customer=deck.customer, quarter=deck.quarter)
    plan_pages = max(1, math.ceil(len(deck.plan) / PLAN_PER_SLIDE))
    _cover(d, deck)
    _agenda(d, deck, footer, plan_pages)
    _contract(d, deck, footer)
    _usage(d, deck, footer)
    _outcomes(d, deck, footer)
    _highlights(d, deck, footer)
    for page in range(plan_pages):
        _plan(d, deck, footer, deck.plan[page * PLAN_PER_SLIDE:(page + 1) * PLAN_PER_SLIDE],
              page)
    _next_steps(d, deck, footer)
    _appendix_numbers(d, deck, footer)
    _appendix_contracts(d, deck, footer)
    d.finish(t("deck.demo", lang) if deck.is_demo else None)
    return d.to_bytes(f"{t('deck.title', lang, customer=deck.customer)} — "
                      f"{t('deck.subtitle', lang, quarter=deck.quarter)}")


def _cover(d: Deck, deck: QbrDeck) -> None:
    lang = deck.lang
    lines = [t("deck.cover.period", lang, first=ev.long_date(deck.first_day, lang),
               last=ev.long_date(deck.as_of, lang))]
    if deck.owner:
        lines.append(t("deck.cover.owner", lang, owner=deck.owner))
    lines.append(t("deck.cover.as_of", lang, date=ev.long_date(deck.as_of, lang)))
    d.cover(t("deck.title", lang, customer=deck.customer),
            t("deck.subtitle", lang, quarter=deck.quarter), lines,
            t("deck.demo", lang) if deck.is_demo else None)


def _agenda(d: Deck, deck: QbrDeck, footer: str, plan_pages: int) -> None:
    lang = deck.lang
    slide, area = d.slide(t("deck.slide.agenda", lang), footer)
    pages = {"opening": "1–2", "contract": "3", "usage": "4", "outcomes": "5",
             "highlights": "6",
             "plan": "7" if plan_pages == 1 else f"7–{6 + plan_pages}",
             "next_steps": str(7 + plan_pages)}
    rows = []
    for (time_range, minutes, title), (_, key) in zip(deck.agenda(), AGENDA):
        rows.append([time_range, title, t("deck.agenda.minutes", lang, minutes=minutes),
                     t("deck.agenda.slide", lang, page=pages[key])])
    purpose_box, table_box = area.rows(d.label_height(15.0), None, gap=10)
    d.text(slide, purpose_box, [Para(t("deck.agenda.purpose", lang), 15.0, color=d.palette.text)])
    table = d.table(slide, Box(table_box.left, table_box.top, table_box.width,
                               table_box.height - d.label_height(13.0) - 6),
                    [t(f"deck.agenda.col.{k}", lang) for k in ("time", "topic", "minutes",
                                                                "slide")],
                    rows, widths=[1.4, 6.0, 1.2, 1.2], size=15.0,
                    align=["center", "left", "center", "center"], row_room=16.0)
    bottom = table_box.top + table.height / 12700 + 6
    d.text(slide, Box(table_box.left, bottom, table_box.width, d.label_height(13.0)),
           [Para(t("deck.agenda.total", lang, minutes=AGENDA_MINUTES), 13.0, bold=True,
                 color=d.palette.subtle, align="right")])


def _tile(d: Deck, slide, box: Box, label: str, value: str, note: str = "",
          value_size: float = 24.0) -> None:
    d.rect(slide, box, d.palette.light)
    d.rect(slide, Box(box.left, box.top, 4.0, box.height), d.palette.accent)
    inner = Box(box.left + 8, box.top + 4, box.width - 12, box.height - 8)
    paras = [Para(label, 12.0, color=d.palette.subtle),
             Para(value, value_size, bold=True, color=d.palette.primary, space_before=2)]
    if note:
        paras.append(Para(note, 11.0, color=d.palette.subtle, space_before=2))
    d.text(slide, inner, paras, min_scale=0.55)


def _contract(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, r = deck.lang, deck.renewal
    slide, area = d.slide(t("deck.slide.contract", lang), footer)
    tiles_box, timeline_box, note_box = area.rows(92.0, None, 22.0, gap=14)
    tiles = tiles_box.columns(1, 1, 1)
    current = [c for c in deck.contracts if c["state"] == "current"]
    if r["end"] is None and not current:
        _tile(d, slide, tiles[0], t("deck.renewal.current", lang), t("deck.renewal.none", lang),
              value_size=16.0)
    else:
        start = min((c["start"] for c in current), default=None)
        _tile(d, slide, tiles[0], t("deck.renewal.current", lang),
              t("deck.renewal.range", lang, start=ev.long_date(start, lang),
                end=ev.long_date(r["end"], lang)), value_size=14.0)
    if r["signed"] and r["next_start"]:
        _tile(d, slide, tiles[1], t("deck.renewal.signed", lang),
              t("deck.renewal.range", lang, start=ev.long_date(r["next_start"], lang),
                end=ev.long_date(r["next_end"], lang)), value_size=14.0)
    elif r["end"] is not None:
        days = r["days"]
        _tile(d, slide, tiles[1], t("deck.renewal.open", lang), ev.long_date(r["end"], lang),
              t("deck.renewal.days", lang, days=days) if days is not None and days >= 0 else "",
              value_size=16.0)
    if deck.customer_since:
        _tile(d, slide, tiles[2], t("deck.renewal.since", lang),
              ev.long_date(deck.customer_since, lang), value_size=16.0)
    shown = deck.contracts[-MAX_CONTRACTS_ON_TIMELINE:]
    if shown:
        _timeline(d, slide, timeline_box, deck, shown)
    hidden = len(deck.contracts) - len(shown)
    if hidden > 0:
        d.text(slide, note_box, [Para(t("deck.timeline.more", lang, n=hidden), 11.0,
                                      color=d.palette.subtle)])


def _timeline(d: Deck, slide, box: Box, deck: QbrDeck, contracts: list[dict]) -> None:
    """Each contract term as a bar on a time axis, with today marked."""
    lang, p = deck.lang, d.palette
    first = min(c["start"] for c in contracts).replace(day=1)
    last = max(max(c["end"] for c in contracts), deck.as_of + dt.timedelta(days=90))
    span = max((last - first).days + 1, 1)
    label_room = 28.0
    axis_y = box.bottom - label_room

    def x(day: dt.date) -> float:
        return box.left + (day - first).days / span * box.width

    lane = min(42.0, (axis_y - box.top - 26.0) / len(contracts))
    bar_h = lane * 0.62
    size = 11.0
    for i, c in enumerate(contracts):
        y = box.top + 26.0 + i * lane
        left, right = x(c["start"]), x(c["end"] + dt.timedelta(days=1))
        color = {"past": p.muted, "current": p.accent, "next": p.projected}[c["state"]]
        d.rect(slide, Box(left, y, max(right - left, 2.0), bar_h), color)
        label = t("deck.timeline.bar", lang, kind=c["kind"],
                  start=ev.long_date(c["start"], lang), end=ev.long_date(c["end"], lang))
        if c["amount"] is not None:
            label += f"  {ev.yen(c['amount'])}"
        width = text_em(label, latin_scale=d.fonts.latin_scale) * size + 16
        if right + 4 + width <= box.right:
            label_box = Box(right + 4, y, width, 0)
        elif left - 4 - width >= box.left:
            label_box = Box(left - 4 - width, y, width, 0)
        else:
            size = 9.0
            label_box = Box(box.left, y, box.width, 0)
        height = d.label_height(size)
        label_box = Box(label_box.left, y + bar_h / 2 - height / 2, label_box.width, height)
        d.text(slide, label_box, [Para(label, size, color=p.text)], min_scale=0.7,
               anchor=None)
    d.line(slide, box.left, axis_y, box.right, axis_y, p.subtle, 1.0)
    year = first.year + (1 if first.month > 1 else 0)
    while dt.date(year, 1, 1) <= last:
        tick = x(dt.date(year, 1, 1))
        d.line(slide, tick, axis_y, tick, axis_y + 5, p.subtle, 1.0)
        d.text(slide, Box(tick - 30, axis_y + 3, 60, d.label_height(10.0)),
               [Para(str(year), 10.0, color=p.subtle, align="center")])
        year += 1
    now = x(deck.as_of)
    d.line(slide, now, box.top + 18, now, axis_y, "C00000" if not d.themed else p.primary, 1.5,
           dashed=True)
    label = f"{t('deck.timeline.now', lang)} {ev.short_date(deck.as_of, lang)}"
    width = text_em(label, latin_scale=d.fonts.latin_scale) * 11 + 16
    d.text(slide, Box(min(max(now - width / 2, box.left), box.right - width), box.top - 4,
                      width, d.label_height(11.0)),
           [Para(label, 11.0, bold=True, color=p.text, align="center")])


def _quarter_category(q: dict, lang: str) -> str:
    if q["complete"]:
        return q["period"]
    key = "deck.cat.pace" if q["deliveries_pace"] is not None else "deck.cat.to_date"
    return t(key, lang, quarter=q["period"])


def _partial_note(q: dict, measure: str, lang: str, min_days: int) -> str:
    values = dict(quarter=q["period"], end=ev.short_date(q["last_day"], lang), days=q["days"],
                  total=q["days_in_period"], value=ev.count(q[measure]),
                  same=ev.count(q[f"{measure}_year_ago"]), year_ago=q["year_ago_period"],
                  full=ev.count(q[f"{measure}_year_ago_full"]), min_days=min_days)
    if q[f"{measure}_pace"] is None:
        return t("deck.usage.note_early", lang, **values)
    if q[f"{measure}_year_ago"] is None:
        return t("deck.usage.note_pace_only", lang, **values)
    return t("deck.usage.note_pace", lang, **values)


def _shown(q: dict, measure: str) -> tuple[float | None, float | None]:
    """(this year, a year before) as a chart compares them: complete quarters as they are, the
    current one by its pace against the whole year-ago quarter (to date while too early)."""
    if q["complete"] or q[f"{measure}_pace"] is None:
        return q[measure], q[f"{measure}_year_ago"]
    return q[f"{measure}_pace"], q[f"{measure}_year_ago_full"]


def _usage_slide(d: Deck, deck: QbrDeck, footer: str, key: str):
    """A slide about usage: (slide, area), or None when the customer has no usage data (the
    slide then says so)."""
    slide, area = d.slide(t(f"deck.slide.{key}", deck.lang), footer)
    if deck.has_usage:
        return slide, area
    d.text(slide, area.shrink(top=area.height * 0.3, bottom=area.height * 0.3),
           [Para(t("deck.usage.none", deck.lang), 20.0, color=d.palette.subtle,
                 align="center")])
    return None


def _usage(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, p = deck.lang, d.palette
    made = _usage_slide(d, deck, footer, "usage")
    if made is None:
        return
    slide, area = made
    body, note_box = area.rows(None, 44.0, gap=6)
    chart_box, table_box = body.columns(1.35, 1)
    heading, chart_area = chart_box.rows(d.label_height(13.0), None, gap=2)
    d.text(slide, heading, [Para(t("deck.usage.chart", lang), 13.0, bold=True, color=p.text)])
    quarters = deck.quarters
    shown = [_shown(q, "deliveries") for q in quarters]
    partial = None if quarters[-1]["complete"] else len(quarters) - 1
    d.chart(slide, chart_area, "column", [_quarter_category(q, lang) for q in quarters],
            [(t("deck.series.year_ago", lang), [b for _, b in shown]),
             (t("deck.series.this_year", lang), [a for a, _ in shown])],
            "#,##0", [p.muted, p.accent],
            point_colors={(1, partial): p.projected} if partial is not None and
            quarters[-1]["deliveries_pace"] is not None else None)
    rows, shade = [], []
    for q in quarters:
        if q["complete"]:
            rows.append([q["period"], ev.count(q["deliveries"]),
                         ev.count(q["deliveries_year_ago"]),
                         ev.signed_percent(q["deliveries_change"])])
            shade.append(False)
            continue
        rows.append([t("deck.usage.to_date", lang, quarter=q["period"],
                       end=ev.short_date(q["last_day"], lang)), ev.count(q["deliveries"]),
                     ev.count(q["deliveries_year_ago"]), ev.signed_percent(q["deliveries_change"])])
        shade.append(False)
        if q["deliveries_pace"] is not None:
            rows.append([t("deck.usage.pace_row", lang, quarter=q["period"]),
                         ev.count(q["deliveries_pace"]), ev.count(q["deliveries_year_ago_full"]),
                         ev.signed_percent(q["deliveries_pace_change"])])
            shade.append(True)
    table_area = table_box.shrink(top=24.0)
    d.table(slide, Box(table_area.left, table_area.top, table_area.width,
                       min(table_area.height, 300)),
            [t(f"deck.usage.col.{k}", lang) for k in ("quarter", "deliveries", "year_ago",
                                                      "change")],
            rows, widths=[2.6, 1.1, 1.1, 1.1], size=13.0,
            align=["left", "right", "right", "right"], shade=shade)
    if partial is not None:
        d.text(slide, note_box, [Para(_partial_note(quarters[-1], "deliveries", lang,
                                                    deck.pace_min_days), 11.0,
                                      color=p.subtle)], min_scale=0.7)


def _outcomes(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, p = deck.lang, d.palette
    made = _usage_slide(d, deck, footer, "outcomes")
    if made is None:
        return
    slide, area = made
    caption_box, tiles_box, charts_box, note_box = area.rows(d.label_height(12.0), 88.0, None,
                                                             38.0, gap=8)
    now, before = deck.totals, deck.totals_year_before
    d.text(slide, caption_box, [Para(t("deck.tile.period", lang,
                                       first=ev.long_date(deck.first_day, lang),
                                       last=ev.long_date(deck.as_of, lang)), 12.0,
                                     color=d.palette.subtle)])
    for box, measure in zip(tiles_box.columns(1, 1, 1, 1), ("registrants", "viewers",
                                                             "conversions", "rate")):
        if measure == "rate":
            value, previous = now["conversion_rate"], before["conversion_rate"] if before else None
            shown = ev.percent(value)
            note = (t("deck.tile.vs", lang, before=ev.percent(previous),
                      change=ev.signed_points(value - previous))
                    if value is not None and previous is not None
                    else t("deck.tile.no_before", lang))
        else:
            value, previous = now[measure], before[measure] if before else None
            shown = ev.count(value)
            change = (None if previous in (None, 0) or value is None else value / previous - 1)
            note = (t("deck.tile.vs", lang, before=ev.count(previous),
                      change=ev.signed_percent(change)) if change is not None
                    else t("deck.tile.no_before", lang))
        _tile(d, slide, box, t(f"deck.tile.{measure}", lang), shown, note)
    left, right = charts_box.columns(1, 1)
    quarters = deck.quarters
    categories = [_quarter_category(q, lang) for q in quarters]
    partial = None if quarters[-1]["complete"] or quarters[-1]["viewers_pace"] is None \
        else len(quarters) - 1
    heading, chart_area = left.rows(d.label_height(13.0), None, gap=2)
    d.text(slide, heading, [Para(t("deck.chart.volumes", lang), 13.0, bold=True, color=p.text)])
    d.chart(slide, chart_area, "column", categories,
            [(t("deck.series.registrants", lang), [_shown(q, "registrants")[0] for q in quarters]),
             (t("deck.series.viewers", lang), [_shown(q, "viewers")[0] for q in quarters])],
            "#,##0", [p.projected, p.accent],
            point_colors={(0, partial): p.light, (1, partial): p.projected}
            if partial is not None else None)
    heading, chart_area = right.rows(d.label_height(13.0), None, gap=2)
    d.text(slide, heading, [Para(t("deck.chart.rate", lang), 13.0, bold=True, color=p.text)])
    d.chart(slide, chart_area, "line", [q["period"] for q in quarters],
            [(t("deck.series.rate", lang), [q["conversion_rate"] for q in quarters]),
             (t("deck.series.rate_year_ago", lang),
              [q["conversion_rate_year_ago"] for q in quarters])],
            "0.0%", [p.accent, p.muted], dashed=[False, True], axis_format="0%")
    notes = [t(f"deck.rate.{deck.conversion_basis}", lang)]
    if not quarters[-1]["complete"]:
        notes.append(_partial_note(quarters[-1], "viewers", lang, deck.pace_min_days))
    d.text(slide, note_box, [Para(" ".join(notes), 10.5, color=p.subtle)], min_scale=0.7)


def _highlights(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, p = deck.lang, d.palette
    slide, area = d.slide(t("deck.slide.highlights", lang), footer)
    story_box, tiles_box, list_box = area.rows(80.0, 96.0, None, gap=16)
    d.rect(slide, story_box, p.light)
    d.rect(slide, Box(story_box.left, story_box.top, 4.0, story_box.height), p.accent)
    d.text(slide, story_box.shrink(top=6, bottom=6).indent(14, 10),
           [Para(deck.value_story, 19.0, bold=True, color=p.primary)], min_scale=0.6,
           anchor=MSO_ANCHOR.MIDDLE)
    s = deck.since
    if s["has_usage"]:
        period = t("deck.since.period", lang, first=ev.long_date(s["first_day"], lang),
                   last=ev.long_date(s["last_day"], lang))
        for box, key in zip(tiles_box.columns(1, 1, 1), ("deliveries", "viewers",
                                                         "conversions")):
            _tile(d, slide, box, t(f"deck.since.{key}", lang), ev.count(s[key]), period)
    else:
        list_box = Box(list_box.left, tiles_box.top, list_box.width,
                       list_box.bottom - tiles_box.top)
    if deck.highlights:
        paras = [Para(t("deck.hl.heading", lang), 15.0, bold=True, color=p.text)]
        paras += [Para(h, 15.0, color=p.text, bullet="•", space_before=8)
                  for h in deck.highlights]
        d.text(slide, list_box, paras, min_scale=0.65)


def _plan(d: Deck, deck: QbrDeck, footer: str, items, page: int) -> None:
    lang, p = deck.lang, d.palette
    title = t("deck.slide.plan" if page == 0 else "deck.slide.plan_more", lang)
    slide, area = d.slide(title, footer)
    panel, cards_area = area.columns(1, 2.4, gap=18)
    _next_quarter_panel(d, slide, panel, deck)
    contents = []
    for item in items:
        paras = [Para(item.title, 17.0, bold=True, color=p.primary),
                 Para(item.body, 14.0, color=p.text, space_before=8)]
        if item.basis:
            paras.append(Para(t("deck.plan.basis_label", lang) + item.basis, 12.0,
                              color=p.subtle, space_before=10))
        contents.append(paras)
    per_row = 1 if len(items) <= 2 else 2
    rows = max(1, math.ceil(len(items) / per_row))
    width = cards_area.columns(*([1] * per_row), gap=16)[0].width
    needed = max((d.needed_height(paras, width - 4) for paras in contents), default=0.0) + 24.0
    height = min(max(needed, 120.0), (cards_area.height - 14.0 * (rows - 1)) / rows)
    cards = []
    for r in range(rows):
        band = Box(cards_area.left, cards_area.top + r * (height + 14.0), cards_area.width,
                   height)
        cards += band.columns(*([1] * per_row), gap=16)
    inner = [box.shrink(top=10, bottom=4).indent(4, 4) for box in cards]
    scale = d.common_scale(list(zip(contents, inner)))
    for box, text_box, paras in zip(cards, inner, contents):
        d.rect(slide, box, p.light)
        d.rect(slide, Box(box.left, box.top, box.width, 4.0), p.accent)
        d.text(slide, text_box, paras, min_scale=0.6, max_scale=scale)


def _next_quarter_panel(d: Deck, slide, box: Box, deck: QbrDeck) -> None:
    """The quarter the plan is for, and the latest complete quarter's figures it starts from."""
    lang, p = deck.lang, d.palette
    d.rect(slide, box, p.primary)
    paras = [Para(t("deck.plan.next", lang), 13.0, color=p.projected),
             Para(deck.next_quarter, 28.0, bold=True, color=p.on_primary, space_before=2),
             Para(t("deck.renewal.range", lang, start=ev.long_date(deck.next_first, lang),
                    end=ev.long_date(deck.next_last, lang)), 12.0, color=p.on_primary,
                  space_before=2)]
    base = deck.baseline
    if base is not None:
        paras.append(Para(t("deck.plan.baseline", lang, quarter=base["period"]), 13.0,
                          color=p.projected, space_before=22))
        paras.append(Para(t("deck.plan.baseline.deliveries", lang,
                            value=ev.count(base["deliveries"])), 17.0, bold=True,
                          color=p.on_primary, space_before=6))
        if base["viewers"]:
            paras.append(Para(t("deck.plan.baseline.viewers", lang,
                                value=ev.count(base["viewers"])), 17.0, bold=True,
                              color=p.on_primary, space_before=4))
        if base["conversion_rate"] is not None:
            paras.append(Para(t("deck.plan.baseline.rate", lang,
                                value=ev.percent(base["conversion_rate"])), 17.0, bold=True,
                              color=p.on_primary, space_before=4))
        paras.append(Para(t("deck.plan.baseline.note", lang), 11.0, color=p.projected,
                          space_before=10))
    d.text(slide, box.shrink(top=14, bottom=10).indent(14, 10), paras, min_scale=0.6)


def _next_steps(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, p = deck.lang, d.palette
    slide, area = d.slide(t("deck.slide.next_steps", lang), footer)
    left, right = area.columns(1, 1.25, gap=24)
    paras = [Para(t("deck.questions.heading", lang), 16.0, bold=True, color=p.primary)]
    paras += [Para(q, 14.0, color=p.text, bullet="•", space_before=8) for q in deck.questions]
    d.text(slide, left, paras, min_scale=0.6)
    heading, table_box = right.rows(30.0, None, gap=6)
    d.text(slide, heading, [Para(t("deck.steps.heading", lang), 16.0, bold=True,
                                 color=p.primary)])
    header = [t(f"deck.steps.col.{k}", lang) for k in ("action", "owner", "when")]
    rows = [[s.action, s.owner, s.when] for s in deck.next_steps]
    widths = [3.0, 2.0, 1.4]
    rows = rows[:d.rows_that_fit(header, rows, widths, 13.0, table_box)]
    d.table(slide, table_box, header, rows, widths=widths, size=13.0)


def _appendix_numbers(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang, p = deck.lang, d.palette
    slide, area = d.slide(t("deck.slide.appendix_numbers", lang), footer)
    measures = ("deliveries", "registrants", "viewers", "conversions")
    header = [t(f"deck.app.col.{k}", lang) for k in ("quarter", "dates") + measures + ("rate",)]
    rows, shade = [], []

    def dates(first: dt.date, last: dt.date) -> str:
        return f"{ev.iso(first)} – {ev.iso(last)}"

    for q in deck.quarters:
        year_ago_first = dt.date(q["first_day"].year - 1, q["first_day"].month, 1)
        rows.append([t("deck.app.year_ago", lang, quarter=q["year_ago_period"]),
                     dates(year_ago_first, q["year_ago_last_day"])]
                    + [ev.count(q[f"{m}_year_ago"]) for m in measures]
                    + [ev.percent(q["conversion_rate_year_ago"])])
        shade.append(True)
        label = q["period"] if q["complete"] else t("deck.usage.to_date", lang,
                                                    quarter=q["period"],
                                                    end=ev.short_date(q["last_day"], lang))
        rows.append([label, dates(q["first_day"], q["last_day"])]
                    + [ev.count(q[m]) for m in measures] + [ev.percent(q["conversion_rate"])])
        shade.append(False)
        if not q["complete"] and q["deliveries_pace"] is not None:
            rows.append([t("deck.app.pace", lang, quarter=q["period"]),
                         t("deck.app.pace_dates", lang)]
                        + [ev.count(q[f"{m}_pace"]) for m in measures] + ["—"])
            shade.append(False)
    table_box, note_box = area.rows(None, 40.0, gap=8)
    d.table(slide, table_box, header, rows, widths=[2.2, 2.6, 1, 1, 1, 1.2, 1], size=12.0,
            align=["left", "left", "right", "right", "right", "right", "right"], shade=shade,
            min_scale=0.65)
    d.text(slide, note_box, [Para(t("deck.app.note", lang,
                                    rate=t(f"deck.rate.{deck.conversion_basis}", lang)),
                                  10.5, color=p.subtle)], min_scale=0.7)


def _appendix_contracts(d: Deck, deck: QbrDeck, footer: str) -> None:
    lang = deck.lang
    header = [t(f"deck.app.contracts_col.{k}", lang) for k in ("period", "kind", "amount",
                                                                "state")]
    rows = [[t("deck.renewal.range", lang, start=ev.long_date(c["start"], lang),
               end=ev.long_date(c["end"], lang)), c["kind"], ev.yen(c["amount"]),
             t(f"deck.state.{c['state']}", lang)] for c in reversed(deck.contracts)]
    widths = [3.0, 1.6, 1.4, 1.2]
    while True:
        slide, area = d.slide(t("deck.slide.appendix_contracts", lang), footer)
        count = max(1, d.rows_that_fit(header, rows, widths, 13.0, area))
        d.table(slide, area, header, rows[:count], widths=widths, size=13.0,
                align=["left", "left", "right", "center"])
        rows = rows[count:]
        if not rows:
            break
