"""How much room a text needs on a slide, measured before it is placed, so the customer deck
never relies on PowerPoint shrinking or spilling text.

Widths: Latin letters and digits with Arial's advance widths (the deck's default Latin font;
Liberation Sans, which LibreOffice substitutes for it, has the same metrics); every East Asian
full-width or ambiguous character (kana, kanji, full-width punctuation, ※, →, —) one em, as in
every Japanese font; half-width katakana half an em; anything else 0.6 em. Lines break the
way PowerPoint and LibreOffice break them: Latin at spaces (a word longer than a line at any
character), Japanese between any two characters except before closing punctuation and small kana
or after an opening bracket (kinsoku). The deck sets exact line spacing, so a paragraph's
height is its line count times that spacing whatever font the reader's machine substitutes.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Sequence

# Arial (= Liberation Sans) advance widths of the printable ASCII characters, U+0020..U+007E,
# in thousandths of an em.
_ARIAL = [int(w) for w in (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584").split()]
_ARIAL_BOLD = [int(w) for w in (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 556 722 "
    "611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 556 333 556 "
    "611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 333 611 556 778 "
    "556 556 500 389 280 389 584").split()]
_LATIN_EXTRA = {"¥": 556, "£": 556, "€": 556, "–": 556, "‘": 222, "’": 222, "“": 333, "”": 333}
OTHER_EM = 0.6

# Kinsoku: characters that never start a line, and those that never end one.
NO_LINE_START = set("、。，．,.)）]］｝〕〉》」』】〙〗〟’”ゝゞーァィゥェォッャュョヮヵヶぁぃぅぇぉっゃゅょゎゕゖ"
                    "ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ々〻‐゠–〜～?!？！‼⁇⁈⁉・:;：；/／%％")
NO_LINE_END = set("(（[［｛〔〈《「『【〘〖〝‘“¥￥$＄#＃")


def char_em(ch: str, bold: bool = False, latin_scale: float = 1.0) -> float:
    """The advance width of one character in ems."""
    code = ord(ch)
    if 0x20 <= code <= 0x7E:
        table = _ARIAL_BOLD if bold else _ARIAL
        return table[code - 0x20] / 1000 * latin_scale
    kind = unicodedata.east_asian_width(ch)
    if kind in ("W", "F", "A"):
        return 1.0
    if kind == "H":
        return 0.5
    if ch in _LATIN_EXTRA:
        return _LATIN_EXTRA[ch] / 1000 * latin_scale
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    return OTHER_EM * latin_scale


AUTOSPACE_EM = 0.25  # LibreOffice puts this much space where Japanese meets Latin letters


def text_em(text: str, bold: bool = False, latin_scale: float = 1.0) -> float:
    """The width of `text` in ems, with the space a renderer may add between Japanese and
    Latin characters (LibreOffice's Asian autospacing; PowerPoint adds none)."""
    width = sum(char_em(ch, bold, latin_scale) for ch in text)
    previous = None
    for ch in text:
        kind = "wide" if _is_wide(ch) else "latin" if ch.isascii() and ch.isalnum() else None
        if kind and previous and kind != previous:
            width += AUTOSPACE_EM
        previous = kind or previous if ch != " " else None
    return width


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _units(text: str) -> list[str]:
    """The text cut where a line may break: Latin words with their trailing spaces, single
    Japanese characters; kinsoku characters stay glued to their neighbour."""
    units: list[str] = []
    word = ""
    for ch in text:
        if ch == " ":
            word += ch
            continue
        if _is_wide(ch) or (word.endswith(" ") and word.strip()) or (word and _is_wide(word[-1])):
            if word and not (ch in NO_LINE_START or word[-1] in NO_LINE_END):
                units.append(word)
                word = ""
        word += ch
    if word:
        units.append(word)
    return units


def longest_words(text: str) -> list[str]:
    """The pieces of `text` a line never breaks (Latin words, kinsoku-glued characters)."""
    return [unit.strip(" ") for unit in _units(text) if unit.strip(" ")]


def wrap(text: str, width_em: float, bold: bool = False, latin_scale: float = 1.0) -> list[str]:
    """The lines `text` (one paragraph) takes in a box `width_em` ems wide."""

    def fits(candidate: str) -> bool:
        return text_em(candidate.rstrip(" "), bold, latin_scale) <= width_em

    lines: list[str] = []
    line = ""
    for unit in _units(text):
        if fits(line + unit):
            line += unit
            continue
        if line:
            lines.append(line.rstrip(" "))
            line = ""
        if fits(unit):
            line = unit
            continue
        for ch in unit:  # a word longer than a line breaks at any character
            if line and ch != " " and not fits(line + ch):
                lines.append(line.rstrip(" "))
                line = ""
            line += ch
    lines.append(line.rstrip(" "))
    return lines


@dataclass(frozen=True)
class Para:
    """One paragraph of a text box: its text, size in points, weight and colour, the space
    before it (points) and an optional bullet."""

    text: str
    size: float
    bold: bool = False
    color: str | None = None
    space_before: float = 0.0
    bullet: str | None = None
    align: str | None = "left"  # left, center, right; None: the placeholder's own


LINE_SPACING = 1.5    # exact line spacing, as a multiple of the font size
WIDTH_MARGIN = 0.93   # share of the measured width a line may fill (renderers break earlier)
BULLET_INDENT = 1.2   # ems a bulleted paragraph is indented


def line_pitch(size: float) -> float:
    """The exact line spacing (points) the deck sets for a font size."""
    return round(size * LINE_SPACING * 2) / 2


def paragraph_lines(para: Para, width_pt: float, scale: float = 1.0,
                    latin_scale: float = 1.0) -> list[str]:
    size = para.size * scale
    width = width_pt * WIDTH_MARGIN - (BULLET_INDENT * size if para.bullet else 0.0)
    return wrap(para.text, max(width / size, 1.0), para.bold, latin_scale)


def height_of(paras: Sequence[Para], width_pt: float, scale: float = 1.0,
              latin_scale: float = 1.0) -> float:
    """Points the paragraphs take at `scale` × their sizes: lines × exact spacing, plus the
    space before every paragraph but the first."""
    total = 0.0
    for i, para in enumerate(paras):
        lines = paragraph_lines(para, width_pt, scale, latin_scale)
        total += len(lines) * line_pitch(para.size * scale)
        if i:
            total += para.space_before * scale
    return total


def fit_scale(paras: Sequence[Para], width_pt: float, height_pt: float,
              min_scale: float = 0.6, latin_scale: float = 1.0,
              max_scale: float = 1.0) -> float | None:
    """The largest scale (max_scale down to min_scale, in 5% steps) at which the paragraphs
    fit the box; None when they do not fit even at min_scale."""
    steps = int(math.floor((max_scale - min_scale) / 0.05 + 1e-9))
    for i in range(steps + 1):
        scale = round(max_scale - 0.05 * i, 2)
        if height_of(paras, width_pt, scale, latin_scale) <= height_pt:
            return scale
    return None
