"""Text as matplotlib draws it in the PDF and PNG diagrams: the fonts, and what they lack.

Matplotlib draws each character with the first of its font families that has a glyph for
it (font fallback): DejaVu Sans (bundled with matplotlib, Latin, Greek and Cyrillic), then
whichever of `FALLBACK_FAMILIES` is installed, so a CJK, Arabic or Indic source name is
drawn when the machine has a font for it. A character no font has is drawn as an empty
box: `missing` finds the lines that hold one, for the export to say so once (matplotlib's
own "Glyph ... missing from font(s)" warnings are silenced by `quiet`).

Invisible format characters (Unicode category Cf: U+FEFF, the byte-order mark, the
zero-width space and joiners, bidirectional marks) are left out of the drawn text: they
show nothing, matplotlib does no shaping that would use them, and U+FEFF crashes its PDF
backend (IndexError in track_glyph). The SVG keeps its text as text, and the reader's
browser draws it with its own fonts.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache

BASE_FAMILY = "DejaVu Sans"
FALLBACK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Source Han Sans SC", "Source Han Sans", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Droid Sans Fallback", "AR PL UMing CN", "IPAGothic", "NanumGothic", "Noto Sans",
    "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans Devanagari", "Noto Sans Bengali",
    "Noto Sans Thai", "Noto Sans Armenian", "Noto Sans Georgian", "Noto Sans Ethiopic",
    "Noto Sans Symbols", "Noto Sans Symbols2", "FreeSans", "Arial Unicode MS",
)
"""Fonts tried, in order, for a character DejaVu Sans has no glyph for (when installed)."""


def drawable(text: str) -> str:
    """`text` without the invisible format characters (Cf) and lone surrogates (Cs) that
    matplotlib cannot draw (see the module docstring)."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cs"))


@cache
def _installed() -> tuple[tuple[str, frozenset[int]], ...]:
    """(family, the code points its regular face covers) for DejaVu Sans and each installed
    fallback family, in the order they are tried."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    names = {entry.name for entry in font_manager.fontManager.ttflist}
    found = []
    for family in (BASE_FAMILY, *FALLBACK_FAMILIES):
        if family not in names:
            continue
        path = font_manager.findfont(font_manager.FontProperties(family=family),
                                     fallback_to_default=False)
        found.append((family, frozenset(FT2Font(path).get_charmap())))
    return tuple(found)


def families() -> list[str]:
    """The font families text is drawn with: DejaVu Sans, then the installed fallbacks."""
    return [family for family, _ in _installed()]


def missing(texts: Iterable[str]) -> list[tuple[str, str]]:
    """(text, its characters no installed font has) for each distinct text that has any."""
    covered = [chars for _, chars in _installed()]
    out: dict[str, str] = {}
    for text in texts:
        text = drawable(text).strip()
        lacking = "".join(dict.fromkeys(
            ch for ch in text if not ch.isspace() and not any(ord(ch) in c for c in covered)))
        if lacking and text not in out:
            out[text] = lacking
    return list(out.items())


@contextmanager
def quiet() -> Iterator[None]:
    """Silence matplotlib's per-character "Glyph ... missing" warnings (`missing` says it
    once, naming the text)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support",
                                category=UserWarning)
        yield
