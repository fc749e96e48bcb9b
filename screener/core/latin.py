"""Latin letters outside a-z written with a-z, as databases that keep to ASCII write them.

Accents come off by Unicode decomposition (NFKD: 'é' is 'e' and an accent), but letters
such as the Turkish dotless 'ı', 'ø', 'ł', 'æ', 'ß' or 'đ' have no decomposition: without
`latin_letter`, an ASCII form of 'Yılmaz' was 'ylmaz' and of 'Łódź' 'odz'. Standard library
only.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_NAMED = re.compile(r"LATIN (?:SMALL|CAPITAL) (?:LETTER|LIGATURE) (?:DOTLESS )?([A-Z]{1,2})"
                    r"(?: WITH [A-Z ]+)?")
"""A Latin letter whose Unicode name is its a-z letter (or two: 'AE', 'OE') with something
added: 'LATIN SMALL LETTER O WITH STROKE', 'LATIN SMALL LETTER DOTLESS I'."""
_SPELLED = {"SHARP S": "ss", "ETH": "d", "THORN": "th"}
"""Latin letters whose ASCII spelling their name does not give."""


@functools.lru_cache(maxsize=1024)
def latin_letter(ch: str) -> str | None:
    """The a-z spelling of the Latin letter `ch` that NFKD leaves as it is ('ı' 'i', 'Ø' 'o',
    'æ' 'ae', 'ß' 'ss', 'þ' 'th'), lower case; None for any other character (an accented
    letter, which NFKD takes apart, a letter of another script, a Latin phonetic sign)."""
    if ch.isascii():
        return None
    name = unicodedata.name(ch, "")
    if not name.startswith("LATIN "):
        return None
    named = _NAMED.fullmatch(name)
    if named:
        return named.group(1).lower()
    return next((spelled for tail, spelled in _SPELLED.items()
                 if name.endswith(f" LETTER {tail}")), None)


def latin_ascii(text: str) -> str:
    """`text` with accents taken off (NFKD without combining marks) and the Latin letters
    NFKD leaves written in a-z (`latin_letter`, lower case); other characters are kept."""
    if text.isascii():
        return text
    plain = unicodedata.normalize("NFKD", text)
    return "".join(latin_letter(ch) or ch for ch in plain if not unicodedata.combining(ch))
