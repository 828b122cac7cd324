"""The PowerPoint layer of the reports: a deck in the built-in design or a company template's
slide master and layouts, with text that is measured to fit its box (reports/text_fit.py),
tables whose rows are sized to their text, and native, editable charts — every run and chart
carrying the configured Latin and East Asian fonts.

Nothing here computes a metric: callers pass numbers and sentences; this module lays them out.
Text from the data is written as plain runs (PowerPoint never evaluates it); characters XML
cannot carry are dropped.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.dml import MSO_LINE_DASH_STYLE, MSO_THEME_COLOR
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE, PP_PLACEHOLDER
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Pt

from cs_analytics.errors import CsAnalyticsError
from cs_analytics.outputs.reports.excel import clean_text
from cs_analytics.outputs.reports.text_fit import (WIDTH_MARGIN, Para, fit_scale, height_of,
                                                   line_pitch, longest_words, paragraph_lines,
                                                   text_em)

EMU_PER_PT = 12700
EMU_PER_INCH = 914400
WIDE = (Emu(int(13.333 * EMU_PER_INCH)), Emu(int(7.5 * EMU_PER_INCH)))  # 16:9
INSET = 5.0  # points of padding inside every text box and table cell, on each side
LATIN_FONTS_WITH_ARIAL_METRICS = {"arial", "liberation sans", "helvetica", "arimo"}
WIDER_LATIN = 1.12  # other Latin fonts are measured as this much wider than Arial

POTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def pt(emu) -> float:
    return int(emu) / EMU_PER_PT


def emu(points: float) -> Emu:
    return Emu(int(round(points * EMU_PER_PT)))


def clean(text) -> str:
    """Text a slide can hold: XML-illegal characters dropped, tabs as spaces."""
    return clean_text("" if text is None else text).replace("\t", " ").replace("\r", "")


@dataclass(frozen=True)
class Box:
    """A rectangle on a slide, in points from the top-left corner."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def columns(self, *shares: float, gap: float = 18.0) -> list["Box"]:
        """Side-by-side boxes with `gap` points between them, widths in proportion."""
        free = self.width - gap * (len(shares) - 1)
        total = sum(shares)
        boxes, x = [], self.left
        for share in shares:
            w = free * share / total
            boxes.append(Box(x, self.top, w, self.height))
            x += w + gap
        return boxes

    def rows(self, *heights: float | None, gap: float = 12.0) -> list["Box"]:
        """Stacked boxes; a None height takes what the fixed ones leave."""
        fixed = sum(h for h in heights if h is not None) + gap * (len(heights) - 1)
        flexible = [h for h in heights if h is None]
        rest = max(self.height - fixed, 0.0) / len(flexible) if flexible else 0.0
        boxes, y = [], self.top
        for h in heights:
            h = rest if h is None else h
            boxes.append(Box(self.left, y, self.width, h))
            y += h + gap
        return boxes

    def indent(self, left: float = 0.0, right: float = 0.0) -> "Box":
        return Box(self.left + left, self.top, max(self.width - left - right, 0.0), self.height)

    def shrink(self, top: float = 0.0, bottom: float = 0.0) -> "Box":
        return Box(self.left, self.top + top, self.width, max(self.height - top - bottom, 0.0))


@dataclass(frozen=True)
class Palette:
    """Colours by role: hex RGB in the built-in design, theme colours (with a brightness) in a
    company template, so a template's own palette carries through."""

    primary: object
    accent: object
    muted: object
    light: object
    projected: object
    text: object
    subtle: object
    on_primary: object
    grid: object


BUILT_IN = Palette(primary="1F3864", accent="2F5597", muted="A6A6A6", light="EEF3FA",
                   projected="9DC3E6", text="262626", subtle="595959", on_primary="FFFFFF",
                   grid="D9D9D9")
THEMED = Palette(primary=(MSO_THEME_COLOR.ACCENT_1, -0.25), accent=(MSO_THEME_COLOR.ACCENT_1, 0),
                 muted=(MSO_THEME_COLOR.TEXT_1, 0.6), light=(MSO_THEME_COLOR.ACCENT_1, 0.85),
                 projected=(MSO_THEME_COLOR.ACCENT_1, 0.5), text=(MSO_THEME_COLOR.TEXT_1, 0.15),
                 subtle=(MSO_THEME_COLOR.TEXT_1, 0.4), on_primary=(MSO_THEME_COLOR.BACKGROUND_1, 0),
                 grid=(MSO_THEME_COLOR.TEXT_1, 0.85))


def set_color(color_format, spec) -> None:
    """Apply a palette colour to a python-pptx ColorFormat."""
    if isinstance(spec, tuple):
        theme, brightness = spec
        color_format.theme_color = theme
        if brightness:
            color_format.brightness = brightness
    else:
        color_format.rgb = RGBColor.from_string(spec)


@dataclass(frozen=True)
class Fonts:
    latin: str
    east_asian: str
    lang: str  # "ja" or "en": the language tag of every run

    @property
    def latin_scale(self) -> float:
        return 1.0 if self.latin.strip().lower() in LATIN_FONTS_WITH_ARIAL_METRICS else WIDER_LATIN

    @property
    def tag(self) -> str:
        return "ja-JP" if self.lang == "ja" else "en-US"


def set_typefaces(rpr, fonts: Fonts) -> None:
    """`a:latin` and `a:ea` on a run's (or a default's) properties, in schema order."""
    for tag in ("a:latin", "a:ea", "a:cs"):
        for old in rpr.findall(qn(tag)):
            rpr.remove(old)
    latin = etree.SubElement(rpr, qn("a:latin"))
    latin.set("typeface", fonts.latin)
    ea = etree.SubElement(rpr, qn("a:ea"))
    ea.set("typeface", fonts.east_asian)
    # a:latin and a:ea come after the fill, effect and underline elements and before sym,
    # hyperlinks and extLst
    later = [c for c in rpr if c.tag in (qn("a:sym"), qn("a:hlinkClick"), qn("a:hlinkMouseOver"),
                                         qn("a:rtl"), qn("a:extLst"))]
    for child in later:
        rpr.remove(child)
        rpr.append(child)


class TemplateError(CsAnalyticsError):
    pass


def open_template(path: Path) -> Presentation:
    """A company template as a presentation without its own slides (.pptx or .potx)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"reports.qbr_template: cannot read {path} ({exc.strerror or exc})")
    try:
        if path.suffix.lower() == ".potx":
            data = _potx_as_pptx(data)
        prs = Presentation(io.BytesIO(data))
    except Exception as exc:  # python-pptx raises many kinds on a file that is not a deck
        raise TemplateError(f"reports.qbr_template: {path} is not a PowerPoint file that can "
                            f"be opened ({type(exc).__name__}); save it from PowerPoint as "
                            ".pptx") from None
    ids = prs.slides._sldIdLst
    for slide_id in list(ids):
        ids.remove(slide_id)
        prs.part.drop_rel(slide_id.rId)
    return prs


def _potx_as_pptx(data: bytes) -> bytes:
    """A .potx is a .pptx whose main part says 'template': rewrite that one content type."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                body = body.replace(POTX_TYPE.encode(), PPTX_TYPE.encode())
            target.writestr(item, body)
    return out.getvalue()


def _placeholder(layout, *types):
    for shape in layout.placeholders:
        if shape.placeholder_format.type in types:
            return shape
    return None


TITLE_TYPES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)
FOOTER_TYPES = (PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.SLIDE_NUMBER)
CONTENT_NAMES = ("title only", "タイトルのみ")


def _content_layout(prs):
    """The layout for content slides: a title and as few other placeholders as possible,
    'Title Only' when there is one."""
    candidates = []
    for index, layout in enumerate(prs.slide_layouts):
        title = _placeholder(layout, PP_PLACEHOLDER.TITLE)
        if title is None:
            continue
        others = [p for p in layout.placeholders if p.placeholder_format.type not in
                  TITLE_TYPES + FOOTER_TYPES]
        named = layout.name.strip().lower() in CONTENT_NAMES
        candidates.append((not named, len(others), index, layout))
    if not candidates:
        raise TemplateError("reports.qbr_template: the template has no layout with a title "
                            "placeholder (e.g. 'Title Only'); add one in the slide master")
    return min(candidates, key=lambda c: c[:3])[3]


def _cover_layout(prs):
    for layout in prs.slide_layouts:
        if _placeholder(layout, PP_PLACEHOLDER.CENTER_TITLE) is not None:
            return layout
    return _content_layout(prs)


class Deck:
    """A presentation being written slide by slide; `to_bytes()` gives the .pptx."""

    def __init__(self, fonts: Fonts, template: Path | None = None):
        self.fonts = fonts
        self.themed = template is not None
        if template is None:
            self.prs = Presentation()
            self._widen_built_in()
        else:
            self.prs = open_template(template)
        self.palette = THEMED if self.themed else BUILT_IN
        self.width = pt(self.prs.slide_width)
        self.height = pt(self.prs.slide_height)
        self.content_layout = _content_layout(self.prs)
        self.cover_layout = _cover_layout(self.prs)
        self.title_size = self._template_title_size() if self.themed else 24.0
        self.margin = 36.0
        self.footers: list = []  # (slide, left text) for the built-in design's footer

    # ------------------------------------------------------------------ design

    def _widen_built_in(self) -> None:
        """python-pptx's default template is 4:3: widen it to 16:9, placeholders with it."""
        old = pt(self.prs.slide_width)
        self.prs.slide_width, self.prs.slide_height = WIDE
        factor = pt(WIDE[0]) / old
        masters = [self.prs.slide_master] + list(self.prs.slide_layouts)
        for part in masters:
            for shape in part.placeholders:
                xfrm = shape._element.spPr.find(qn("a:xfrm"))
                if xfrm is None:
                    continue
                shape.left = Emu(int(shape.left * factor))
                shape.width = Emu(int(shape.width * factor))

    def _template_title_size(self) -> float:
        sizes = self.prs.slide_master.element.xpath(
            "./p:txStyles/p:titleStyle/a:lvl1pPr/a:defRPr/@sz")
        return min(float(sizes[0]) / 100, 28.0) if sizes else 24.0

    def content_area(self, slide) -> Box:
        """Where a content slide's body goes: below the title, above the footer."""
        if not self.themed:
            return Box(self.margin, 84.0, self.width - 2 * self.margin, self.height - 84.0 - 40.0)
        title = slide.shapes.title
        top = pt(title.top) + pt(title.height) + 10.0
        bottom = self.height - self.margin * 0.6
        for shape in self.content_layout.placeholders:
            if shape.placeholder_format.type in FOOTER_TYPES and pt(shape.top) > self.height / 2:
                bottom = min(bottom, pt(shape.top) - 6.0)
        left = pt(title.left)
        width = pt(title.width)
        return Box(left, top, width, max(bottom - top, 100.0))

    def cover(self, title: str, subtitle: str, lines: Sequence[str], note: str | None = None):
        """The first slide: title (customer), subtitle (what and when), then detail lines."""
        slide = self.prs.slides.add_slide(self.cover_layout)
        self._drop_unused_placeholders(slide, keep=TITLE_TYPES + (PP_PLACEHOLDER.SUBTITLE,))
        p = self.palette
        title_shape = slide.shapes.title
        subtitle_shape = _placeholder(slide, PP_PLACEHOLDER.SUBTITLE)
        if not self.themed:
            band = Box(0, 0, self.width, self.height * 0.58)
            to_back(self.rect(slide, band, p.primary))
            self.rect(slide, Box(self.margin, band.bottom - 10, 120, 4), p.projected)
            title_box = Box(self.margin, band.height * 0.30, self.width - 2 * self.margin,
                            band.height * 0.36)
            _place(title_shape, title_box)
            sub_box = Box(self.margin, title_box.bottom, title_box.width, band.height * 0.22)
            if subtitle_shape is not None:
                _place(subtitle_shape, sub_box)
            title_color, sub_color = p.on_primary, p.projected
            detail = Box(self.margin, band.bottom + 24, self.width - 2 * self.margin,
                         self.height - band.bottom - 24 - 30)
        else:
            title_color, sub_color = None, None
            detail = None
        self.fill_placeholder(title_shape, [Para(title, 36.0, bold=True, color=title_color)],
                              min_scale=0.45)
        body = [Para(line, 14.0, color=p.text, space_before=4) for line in lines]
        if note:
            body.append(Para(note, 12.0, bold=True, color="C00000", space_before=10))
        if detail is None:
            # a template's cover: the subtitle placeholder holds the details too, or a box
            # under the title when the layout has no subtitle
            head = [Para(subtitle, 20.0, color=sub_color)] + [
                Para(b.text, b.size, b.bold, b.color, b.space_before + 6 * (i == 0))
                for i, b in enumerate(body)]
            if subtitle_shape is not None:
                self.fill_placeholder(subtitle_shape, head, min_scale=0.5)
            else:
                top = pt(title_shape.top) + pt(title_shape.height) + 12
                self.text(slide, Box(pt(title_shape.left), top, pt(title_shape.width),
                                     max(self.height - top - 36, 60)), head, min_scale=0.5)
            return slide
        if subtitle_shape is not None:
            self.fill_placeholder(subtitle_shape, [Para(subtitle, 20.0, color=sub_color)],
                                  min_scale=0.5)
        self.text(slide, detail, body, min_scale=0.5)
        return slide

    def slide(self, title: str, footer: str | None = None):
        """A content slide with its title; returns (slide, content area)."""
        slide = self.prs.slides.add_slide(self.content_layout)
        self._drop_unused_placeholders(slide, keep=TITLE_TYPES)
        title_shape = slide.shapes.title
        p = self.palette
        if not self.themed:
            _place(title_shape, Box(self.margin, 22.0, self.width - 2 * self.margin, 48.0))
            self.rect(slide, Box(self.margin, 72.0, 56.0, 3.0), p.accent)
            self.footers.append((slide, footer or ""))
        self.fill_placeholder(title_shape, [Para(title, self.title_size, bold=True,
                                                 color=None if self.themed else p.primary)],
                              min_scale=0.6, anchor=None if self.themed else MSO_ANCHOR.BOTTOM)
        return slide, self.content_area(slide)

    def _drop_unused_placeholders(self, slide, keep) -> None:
        for shape in list(slide.placeholders):
            if shape.placeholder_format.type not in keep:
                shape._element.getparent().remove(shape._element)

    def finish(self, demo_note: str | None = None) -> None:
        """The built-in design's footer on every content slide: the left text, the demo label
        when the data are a demo, and the page number."""
        total = len(self.prs.slides)
        p = self.palette
        for slide, text in self.footers:
            number = list(self.prs.slides).index(slide) + 1
            y = self.height - 30.0
            self.rect(slide, Box(self.margin, y - 4, self.width - 2 * self.margin, 0.75), p.grid)
            left, middle, right = Box(self.margin, y, self.width - 2 * self.margin, 22).columns(
                5, 3, 1.2, gap=8)
            self.text(slide, left, [Para(text, 9.0, color=p.subtle)], min_scale=0.7)
            if demo_note:
                self.text(slide, middle, [Para(demo_note, 9.0, bold=True, color="C00000",
                                               align="center")], min_scale=0.6)
            self.text(slide, right, [Para(f"{number} / {total}", 9.0, color=p.subtle,
                                          align="right")])

    def to_bytes(self, title: str = "") -> bytes:
        """The .pptx file; its document title is `title` and it names no author (the file
        goes to the customer)."""
        buffer = io.BytesIO()
        self.prs.core_properties.title = clean(title)
        self.prs.core_properties.author = ""
        self.prs.core_properties.last_modified_by = ""
        self.prs.save(buffer)
        return buffer.getvalue()

    # ------------------------------------------------------------------ text

    def write(self, text_frame, paras: Sequence[Para], scale: float) -> None:
        """Paragraphs as runs with exact line spacing, sizes × scale, fonts and colours."""
        text_frame.clear()
        for i, para in enumerate(paras):
            p = text_frame.paragraphs[0] if i == 0 else text_frame.add_paragraph()
            size = para.size * scale
            p.line_spacing = Pt(line_pitch(size))
            p.space_before = Pt(para.space_before * scale if i else 0)
            p.space_after = Pt(0)
            if para.align is not None:  # None keeps the placeholder's own alignment
                p.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER,
                               "right": PP_ALIGN.RIGHT}[para.align]
            ppr = p._p.get_or_add_pPr()
            for old in ppr.findall(qn("a:buNone")) + ppr.findall(qn("a:buChar")):
                ppr.remove(old)
            if para.bullet:
                indent = emu(1.2 * size)
                ppr.set("marL", str(int(indent)))
                ppr.set("indent", str(-int(indent)))
                bullet = etree.Element(qn("a:buChar"))
                bullet.set("char", para.bullet)
            else:
                ppr.set("marL", "0")
                ppr.set("indent", "0")
                bullet = etree.Element(qn("a:buNone"))
            ppr.insert_element_before(bullet, "a:tabLst", "a:defRPr", "a:extLst")
            run = p.add_run()
            run.text = clean(para.text)
            font = run.font
            font.size = Pt(round(size * 2) / 2)
            font.bold = para.bold
            if para.color is not None:
                set_color(font.color, para.color)
            rpr = run._r.get_or_add_rPr()
            rpr.set("lang", self.fonts.tag)
            rpr.set("altLang", "ja-JP" if self.fonts.lang != "ja" else "en-US")
            set_typefaces(rpr, self.fonts)

    def _frame(self, text_frame, anchor=MSO_ANCHOR.TOP) -> None:
        text_frame.word_wrap = True
        text_frame.auto_size = MSO_AUTO_SIZE.NONE
        for side in ("left", "right", "top", "bottom"):
            setattr(text_frame, f"margin_{side}", emu(INSET))
        if anchor is not None:
            text_frame.vertical_anchor = anchor

    def fit(self, paras: Sequence[Para], box: Box, min_scale: float,
            max_scale: float = 1.0) -> tuple[list[Para], float]:
        """The paragraphs and the scale at which they fit `box` (inside its insets); when even
        min_scale is too big, the lines that do not fit are cut and the last shown ends in …."""
        width, height = box.width - 2 * INSET, box.height - 2 * INSET
        scale = fit_scale(paras, width, height, min_scale, self.fonts.latin_scale,
                          max(max_scale, min_scale))
        if scale is not None:
            return list(paras), scale
        kept: list[Para] = []
        for para in paras:
            trial = kept + [para]
            if height_of(trial, width, min_scale, self.fonts.latin_scale) <= height:
                kept.append(para)
                continue
            lines = paragraph_lines(para, width, min_scale, self.fonts.latin_scale)
            used = height_of(kept, width, min_scale, self.fonts.latin_scale) + (
                para.space_before * min_scale if kept else 0)
            room = int((height - used) // line_pitch(para.size * min_scale))
            if room > 0:
                text = "".join(lines[:room])
                kept.append(Para(**{**para.__dict__, "text": text[:-1] + "…"}))
            break
        return kept, min_scale

    def label_height(self, size: float) -> float:
        """The height of a one-line text box at `size` points."""
        return line_pitch(size) + 2 * INSET + 1.0

    def needed_height(self, paras: Sequence[Para], width: float) -> float:
        """Points a text box `width` wide needs for `paras` at full size (insets included)."""
        return height_of(paras, width - 2 * INSET, 1.0, self.fonts.latin_scale) + 2 * INSET

    def common_scale(self, blocks: Sequence[tuple[Sequence[Para], Box]],
                     min_scale: float = 0.6) -> float:
        """One scale at which every (paragraphs, box) fits: boxes side by side (cards, tiles)
        then share their font sizes."""
        return min((self.fit(paras, box, min_scale)[1] for paras, box in blocks), default=1.0)

    def text(self, slide, box: Box, paras: Sequence[Para], min_scale: float = 0.6,
             anchor=MSO_ANCHOR.TOP, fill=None, line=None, max_scale: float = 1.0):
        """A text box holding `paras`, scaled down (to min_scale) until it fits, never above
        max_scale."""
        shape = slide.shapes.add_textbox(emu(box.left), emu(box.top), emu(box.width),
                                         emu(box.height))
        if fill is not None:
            shape.fill.solid()
            set_color(shape.fill.fore_color, fill)
        if line is not None:
            set_color(shape.line.color, line)
            shape.line.width = Pt(0.75)
        self._frame(shape.text_frame, anchor)
        kept, scale = self.fit(paras, box, min_scale, max_scale)
        self.write(shape.text_frame, kept, scale)
        return shape

    def fill_placeholder(self, shape, paras: Sequence[Para], min_scale: float = 0.6,
                         anchor=None) -> None:
        """A title or subtitle placeholder's text, fitted to it; in a template the layout's
        alignment stays."""
        if self.themed:
            paras = [replace(p, align=None) for p in paras]
        self._frame(shape.text_frame, anchor)
        box = Box(pt(shape.left), pt(shape.top), pt(shape.width), pt(shape.height))
        kept, scale = self.fit(paras, box, min_scale)
        self.write(shape.text_frame, kept, scale)

    def rect(self, slide, box: Box, color, line=None, shape_type=MSO_SHAPE.RECTANGLE):
        shape = slide.shapes.add_shape(shape_type, emu(box.left), emu(box.top), emu(box.width),
                                       emu(box.height))
        shape.fill.solid()
        set_color(shape.fill.fore_color, color)
        if line is None:
            shape.line.fill.background()
        else:
            set_color(shape.line.color, line)
            shape.line.width = Pt(0.75)
        style = shape._element.find(qn("p:style"))
        if style is not None:  # no theme effects (shadows) on plain shapes
            shape._element.remove(style)
        return shape

    def line(self, slide, x1: float, y1: float, x2: float, y2: float, color, width: float = 1.0,
             dashed: bool = False):
        connector = slide.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, emu(x1), emu(y1),
                                               emu(x2), emu(y2))
        set_color(connector.line.color, color)
        connector.line.width = Pt(width)
        if dashed:
            connector.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        return connector

    # ------------------------------------------------------------------ tables

    def column_widths(self, header: Sequence[str], rows: Sequence[Sequence[str]],
                      widths: Sequence[float], size: float, box_width: float,
                      scale: float = 1.0) -> list[float]:
        """Column widths (points) in proportion to `widths`, each at least as wide as its
        longest word (headers bold), taken from the columns with room to spare, so no word is
        ever broken inside."""
        total = sum(widths)
        result = [box_width * w / total for w in widths]
        needed = []
        for c in range(len(widths)):
            longest = 0.0
            for r, row in enumerate([list(header)] + [list(x) for x in rows]):
                text = str(row[c])
                # a short header stays on one line, Japanese too ("前年同期比", not "前年同/期比")
                words = [text] if r == 0 and len(text) <= 8 else longest_words(text)
                for word in words:
                    longest = max(longest, text_em(word, r == 0, self.fonts.latin_scale))
            needed.append(longest * size * scale / WIDTH_MARGIN + 2 * INSET + 1)
        for c in range(len(result)):
            short = needed[c] - result[c]
            while short > 0.01:
                spare = [(result[i] - needed[i], i) for i in range(len(result))
                         if i != c and result[i] - needed[i] > 0.01]
                if not spare:
                    break
                room, donor = max(spare)
                take = min(room, short)
                result[donor] -= take
                result[c] += take
                short -= take
        return result

    def table_layout(self, header: Sequence[str], rows: Sequence[Sequence[str]],
                     widths: Sequence[float], size: float, box_width: float,
                     scale: float = 1.0) -> list[float]:
        """Row heights (points) the table needs: the tallest cell of each row."""
        col_widths = self.column_widths(header, rows, widths, size, box_width, scale)
        heights = []
        for r, row in enumerate([list(header)] + [list(x) for x in rows]):
            tallest = 0.0
            for text, width in zip(row, col_widths):
                para = Para(str(text), size, bold=r == 0)
                tallest = max(tallest, height_of([para], width - 2 * INSET, scale,
                                                 self.fonts.latin_scale))
            heights.append(tallest + 2 * INSET)
        return heights

    def table(self, slide, box: Box, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float], size: float = 12.0, align: Sequence[str] | None = None,
              min_scale: float = 0.7, shade: Sequence[bool] | None = None,
              row_room: float = 0.0):
        """A table as tall as its text needs (at most `box`): the font shrinks to min_scale to
        fit; the caller splits tables that would not fit even then (see `rows_that_fit`).
        `row_room`: up to this many points added to every body row while the box has room (a
        short table that should read as a list, like an agenda)."""
        scale = 1.0
        while True:
            heights = self.table_layout(header, rows, widths, size, box.width, scale)
            if sum(heights) <= box.height or scale <= min_scale + 1e-9:
                break
            scale = round(scale - 0.05, 2)
        if sum(heights) > box.height:
            raise ValueError(f"a table of {len(rows)} rows does not fit {box.height:.0f} pt")
        if row_room and rows:
            extra = min(row_room, (box.height - sum(heights)) / len(rows))
            heights = heights[:1] + [h + extra for h in heights[1:]]
        shape = slide.shapes.add_table(len(rows) + 1, len(header), emu(box.left), emu(box.top),
                                       emu(box.width), emu(sum(heights)))
        table = shape.table
        for i, w in enumerate(self.column_widths(header, rows, widths, size, box.width, scale)):
            table.columns[i].width = emu(w)
        p = self.palette
        align = list(align or ["left"] * len(header))
        for r, row in enumerate([list(header)] + [list(x) for x in rows]):
            table.rows[r].height = emu(heights[r])
            for c, text in enumerate(row):
                cell = table.cell(r, c)
                for side in ("left", "right", "top", "bottom"):
                    setattr(cell, f"margin_{side}", emu(INSET))
                cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                cell.fill.solid()
                if r == 0:
                    set_color(cell.fill.fore_color, p.primary)
                elif shade is not None and shade[r - 1]:
                    set_color(cell.fill.fore_color, p.light)
                else:
                    set_color(cell.fill.fore_color, "FFFFFF")
                cell.text_frame.word_wrap = True
                color = p.on_primary if r == 0 else p.text
                self.write(cell.text_frame, [Para(str(text), size, bold=r == 0, color=color,
                                                  align="center" if r == 0 else align[c])],
                           scale)
        return shape

    def rows_that_fit(self, header, rows, widths, size: float, box: Box,
                      min_scale: float = 0.7) -> int:
        """How many of `rows` (from the first) a table in `box` can hold at min_scale."""
        heights = self.table_layout(header, rows, widths, size, box.width, min_scale)
        used, count = heights[0], 0
        for h in heights[1:]:
            if used + h > box.height:
                break
            used += h
            count += 1
        return count

    # ------------------------------------------------------------------ charts

    def chart(self, slide, box: Box, kind: str, categories: Sequence[str],
              series: Sequence[tuple[str, Sequence[float | None]]], number_format: str,
              colors: Sequence, *, dashed: Sequence[bool] = (), point_colors: dict | None = None,
              labels: bool = True, size: float = 11.0, axis_format: str | None = None):
        """A native chart: kind 'column' (clustered) or 'line'; one colour per series;
        point_colors = {(series index, point index): colour} for a point drawn apart (a
        projection); `dashed` series are drawn dashed (a comparison)."""
        data = CategoryChartData(number_format=number_format)
        data.categories = [clean(c) for c in categories]
        for name, values in series:
            data.add_series(clean(name), list(values))
        chart_type = (XL_CHART_TYPE.COLUMN_CLUSTERED if kind == "column"
                      else XL_CHART_TYPE.LINE_MARKERS)
        frame = slide.shapes.add_chart(chart_type, emu(box.left), emu(box.top), emu(box.width),
                                       emu(box.height), data)
        chart = frame.chart
        chart.font.size = Pt(size)
        set_color(chart.font.color, self.palette.text)
        chart.has_legend = True
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
        plot = chart.plots[0]
        if kind == "column":
            plot.gap_width = 80
            plot.overlap = -10
        value_axis = chart.value_axis
        value_axis.minimum_scale = 0  # bars and rates read from zero, never a cut-off axis
        value_axis.has_major_gridlines = True
        set_color(value_axis.major_gridlines.format.line.color, self.palette.grid)
        value_axis.tick_labels.number_format = axis_format or number_format
        value_axis.tick_labels.number_format_is_linked = False
        value_axis.format.line.fill.background()
        category_axis = chart.category_axis
        set_color(category_axis.format.line.color, self.palette.grid)
        for i, s in enumerate(plot.series):
            color = colors[i % len(colors)]
            if kind == "column":
                s.format.fill.solid()
                set_color(s.format.fill.fore_color, color)
            else:
                s.smooth = False
                set_color(s.format.line.color, color)
                s.format.line.width = Pt(2.25)
                s.marker.format.fill.solid()
                set_color(s.marker.format.fill.fore_color, color)
                set_color(s.marker.format.line.color, color)
                if i < len(dashed) and dashed[i]:
                    s.format.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        for (si, pi), color in (point_colors or {}).items():
            point = plot.series[si].points[pi]
            point.format.fill.solid()
            set_color(point.format.fill.fore_color, color)
            set_color(point.format.line.color, colors[si % len(colors)])
            point.format.line.width = Pt(1.25)
            point.format.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        if labels:
            for i, s in enumerate(plot.series):
                if i < len(dashed) and dashed[i]:
                    continue  # a comparison line is read from the axis, not labelled
                data_labels = s.data_labels
                data_labels.show_value = True
                data_labels.number_format = number_format
                data_labels.number_format_is_linked = False
                data_labels.font.size = Pt(size - 1)
                data_labels.position = (XL_LABEL_POSITION.OUTSIDE_END if kind == "column"
                                        else XL_LABEL_POSITION.ABOVE)
        for rpr in chart._chartSpace.iter(qn("a:defRPr")):
            set_typefaces(rpr, self.fonts)
        return frame


def to_back(shape) -> None:
    """Draw `shape` behind every other shape of its slide (a background band)."""
    tree = shape._element.getparent()
    tree.remove(shape._element)
    tree.insert(2, shape._element)  # after the group's nvGrpSpPr and grpSpPr


def _place(shape, box: Box) -> None:
    shape.left, shape.top = emu(box.left), emu(box.top)
    shape.width, shape.height = emu(box.width), emu(box.height)
