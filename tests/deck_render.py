"""Render decks the way a reader's PowerPoint would — LibreOffice headless to PDF — and read
back where every word landed (poppler's `pdftotext -bbox`), to check that text fits its boxes.

`isolated_deck` puts every text box and table of a deck alone on a slide of its own (same
layout, so placeholders inherit the same position): any word printed on that page outside the
shape's box is text that overflowed it. `render_pdf` uses a private LibreOffice profile, so
parallel runs (and other users of LibreOffice on the machine) never share one.
"""

from __future__ import annotations

import copy
import html
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pptx import Presentation

EMU_PER_PT = 12700
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class ShapeBox:
    slide: int          # 1-based slide of the original deck
    name: str
    text: str
    left: float
    top: float
    right: float
    bottom: float


def render_pdf(data: bytes, workdir: Path, name: str = "deck", ext: str = "pptx") -> Path:
    """A .pptx (or, with `ext`, .xlsx) file's bytes as a PDF rendered by LibreOffice
    (headless), as printed."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / f"{name}.{ext}"
    source.write_bytes(data)
    profile = workdir / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(workdir), str(source)],
                   check=True, capture_output=True, timeout=300)
    pdf = workdir / f"{name}.pdf"
    assert pdf.exists(), "LibreOffice wrote no PDF"
    return pdf


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"(.*?)</word>")


def page_words(pdf: Path) -> list[list[Word]]:
    """The words of every page with their boxes, in points from the page's top-left."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append([Word(html.unescape(m.group(5)), *(float(m.group(i)) for i in range(1, 5)))
                      for m in _WORD.finditer(page)])
    return pages


def page_count(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def _box(shape, slide_number: int, text: str) -> ShapeBox:
    left, top = shape.left / EMU_PER_PT, shape.top / EMU_PER_PT
    return ShapeBox(slide_number, shape.name, text, left, top,
                    left + shape.width / EMU_PER_PT, top + shape.height / EMU_PER_PT)


def text_shapes(prs) -> list[ShapeBox]:
    """Every shape holding text (text frames and tables), with its box."""
    boxes = []
    for number, slide in enumerate(prs.slides, start=1):
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                boxes.append(_box(shape, number, shape.text_frame.text))
            elif getattr(shape, "has_table", False) and shape.has_table:
                text = " ".join(c.text for row in shape.table.rows for c in row.cells)
                boxes.append(_box(shape, number, text))
    return boxes


def all_boxes(prs) -> list[list[ShapeBox]]:
    """Every shape's box per slide (charts and drawings too)."""
    return [[_box(shape, number, "") for shape in slide.shapes]
            for number, slide in enumerate(prs.slides, start=1)]


def isolated_deck(*decks: bytes) -> tuple[bytes, list[ShapeBox]]:
    """One deck with one slide per text shape of `decks` (nothing else on it), and the shapes
    in the order of those slides. The decks must share their slide layouts by name (decks of
    one design): each copy goes on the first deck's layout of the same name."""
    prs = Presentation(io.BytesIO(decks[0]))
    layouts = {layout.name: layout for layout in prs.slide_layouts}
    originals = len(prs.slides)
    shapes = []
    for deck_number, data in enumerate(decks):
        source = prs if deck_number == 0 else Presentation(io.BytesIO(data))
        for number, slide in enumerate(list(source.slides)[:originals if deck_number == 0
                                                           else None], start=1):
            for shape in list(slide.shapes):
                is_table = getattr(shape, "has_table", False) and shape.has_table
                if not (is_table or (shape.has_text_frame and shape.text_frame.text.strip())):
                    continue
                copy_slide = prs.slides.add_slide(layouts[slide.slide_layout.name])
                tree = copy_slide.shapes._spTree
                for placeholder in list(copy_slide.placeholders):
                    tree.remove(placeholder._element)
                tree.append(copy.deepcopy(shape._element))
                text = (" ".join(c.text for row in shape.table.rows for c in row.cells)
                        if is_table else shape.text_frame.text)
                shapes.append(_box(shape, number, text))
    ids = prs.slides._sldIdLst
    for slide_id in list(ids)[:originals]:
        ids.remove(slide_id)
        prs.part.drop_rel(slide_id.rId)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue(), shapes


def overflowing(words: list[Word], box: ShapeBox, tolerance: float = 2.0) -> list[Word]:
    """The words printed outside `box` (beyond `tolerance` points)."""
    return [w for w in words
            if w.x0 < box.left - tolerance or w.x1 > box.right + tolerance
            or w.y0 < box.top - tolerance or w.y1 > box.bottom + tolerance]


def outside_every_box(words: list[Word], boxes: list[ShapeBox],
                      tolerance: float = 2.0) -> list[Word]:
    """The words of a page that no shape of its slide contains."""
    return [w for w in words if not any(
        w.x0 >= b.left - tolerance and w.x1 <= b.right + tolerance
        and w.y0 >= b.top - tolerance and w.y1 <= b.bottom + tolerance for b in boxes)]


def png_pages(pdf: Path, prefix: Path, dpi: int = 80) -> list[Path]:
    """Each page as a PNG (pdftoppm)."""
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True,
                   capture_output=True)
    return sorted(prefix.parent.glob(prefix.name + "-*.png"))
