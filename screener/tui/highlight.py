"""Find the protocol's highlight terms in text, and split structured abstracts into sections.

Pure functions (standard library only) so they can be unit-tested without a terminal; the
record card turns the spans into styles. Must not import textual, the database or workflow.

Term syntax (as the protocol loader accepts it): words, matched case-insensitively and as
whole words (beside Chinese or Japanese characters, written without spaces, no boundary is
needed: ケタミン is found in ケタミン投与群); `*` at the end is a suffix wildcard (`ketamin*` matches ketamine, ketamines),
`*` at the start a prefix wildcard (`*ketamine` matches esketamine); a space inside a term
matches any run of white space ("treatment resistant" matches across a line break).
Typography does not matter: an apostrophe matches a curly one (SSRI's, SSRI’s), a hyphen
any Unicode hyphen or dash used as one (IL-1β, IL‑1β), and an accented letter its
decomposed spelling (naïve written as i + combining diaeresis), as Embase and Scopus
exports write them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from screener.core.protocol import APOSTROPHES, HYPHENS, word_chars

Kind = Literal["include", "exclude"]


@dataclass(frozen=True, slots=True)
class Span:
    """One highlighted stretch of text."""

    start: int
    end: int
    """End offset, exclusive."""
    kind: Kind
    term: str
    """The protocol term that matched (as written in the protocol)."""


def term_regex(term: str) -> str:
    """The regular expression (without word boundaries) for one highlight term.

    >>> import re; [m.group() for m in re.finditer(term_regex("ketamin*"), "ketamine群")]
    ['ketamine']
    """
    text = term.strip()
    prefix = suffix = ""
    # the rest of the word: a vowel sign is part of it (`word_chars`), a character of a
    # script written without spaces is not (ketamine* stopped at no 群 in ketamine群と...)
    marks = word_chars().removeprefix(r"\w")
    rest = f"(?:[^\\W{UNSPACED}]|[{marks}])*"
    if text.startswith("*"):
        # beside a script written without spaces a * adds nothing: there is no word end
        # to run to, and `[\w]*` ran over the rest of the sentence (薬* marked 薬物投与した)
        prefix, text = ("" if _UNSPACED.match(text[1:2]) else rest), text[1:]
    if text.endswith("*"):
        suffix, text = ("" if _UNSPACED.match(text[-2:-1]) else rest), text[:-1]
    words = ["".join(_char_regex(ch) for ch in w)
             for w in unicodedata.normalize("NFC", text).split()]
    return prefix + r"\s+".join(words) + suffix


def _char_regex(ch: str) -> str:
    """One character of a term: any of its typographic twins, or either Unicode form."""
    for twins in (APOSTROPHES, HYPHENS):
        if ch in twins:
            return "[" + "".join(re.escape(c) for c in twins) + "]"
    forms = {ch, unicodedata.normalize("NFD", ch)}
    if len(forms) == 1:
        return re.escape(ch)
    return "(?:" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + ")"


UNSPACED = ("\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
            "\uff66-\uff9f\U00020000-\U0003134f"
            "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff")
"""Characters of scripts written without spaces between words (a regex class body): CJK
ideographs and the iteration mark 々, hiragana, katakana (half-width too), Thai and Lao,
Myanmar, Khmer. Beside one, a term needs no word boundary. Hangul is written with spaces
and is not among them."""
_UNSPACED = re.compile(f"[{UNSPACED}]")


def _boundaries(term: str) -> tuple[str, str]:
    """The assertions that make `term` match as a whole word (before it, after it): no
    letter or digit right before or after it, except where the character there, or the
    term's own first or last character, belongs to a script written without spaces
    (ケタミン in ケタミン投与群); "" where none is needed."""
    literal = unicodedata.normalize("NFC", term.strip().strip("*"))
    word = word_chars()  # a combining mark next to the term continues its word
    before = "" if _UNSPACED.match(literal[:1]) else rf"(?:(?<![{word}])|(?<=[{UNSPACED}]))"
    after = "" if _UNSPACED.match(literal[-1:]) else rf"(?:(?![{word}])|(?=[{UNSPACED}]))"
    return before, after


def _literal_length(term: str) -> int:
    return len(term.strip().strip("*"))


@lru_cache(maxsize=32)
def _compiled(include: tuple[str, ...], exclude: tuple[str, ...]
              ) -> tuple[re.Pattern[str] | None, dict[str, tuple[Kind, str]]]:
    terms: list[tuple[Kind, str]] = [("include", t) for t in include if t.strip().strip("*")]
    terms += [("exclude", t) for t in exclude if t.strip().strip("*")]
    if not terms:
        return None, {}
    # Longer terms first, so "treatment resistant depression" wins over "treatment resistant";
    # at equal length include terms come first (sorted is stable).
    terms.sort(key=lambda kt: -_literal_length(kt[1]))
    groups: dict[str, tuple[Kind, str]] = {}
    runs: list[tuple[str, list[str]]] = []
    for i, (kind, term) in enumerate(terms):
        name = f"t{i}"
        groups[name] = (kind, term)
        before, after = _boundaries(term)
        alternative = f"(?P<{name}>{term_regex(term)}{after})"
        if before and runs and runs[-1][0] == before:
            runs[-1][1].append(alternative)
        else:
            runs.append((before, [alternative]))
    # Neighbouring terms that need the same boundary before them share one test of it: the
    # boundary, with its large character classes, was tested once per term at every
    # character of the text (6 ms an abstract for 25 terms), and is now tested once per
    # run. The same matches in the same order: B(?:x|y) matches where Bx|By does.
    pattern = "|".join(f"{before}(?:{'|'.join(alternatives)})" if before
                       else "|".join(alternatives) for before, alternatives in runs)
    return re.compile(pattern, re.IGNORECASE), groups


def find_terms(text: str, include: tuple[str, ...] | list[str],
               exclude: tuple[str, ...] | list[str]) -> list[Span]:
    """Non-overlapping spans of `text` matching include or exclude terms, left to right.

    >>> [(text[s.start:s.end], s.kind) for text in ["Esketamine in rats"]
    ...  for s in find_terms(text, ["*ketamine"], ["rat*"])]
    [('Esketamine', 'include'), ('rats', 'exclude')]
    """
    pattern, groups = _compiled(tuple(include), tuple(exclude))
    if pattern is None or not text:
        return []
    spans = []
    for match in pattern.finditer(text):
        name = match.lastgroup
        if name is None or match.start() == match.end():
            continue
        kind, term = groups[name]
        spans.append(Span(match.start(), match.end(), kind, term))
    return spans


_LABEL = re.compile(
    r"^(?P<label>[A-Z][A-Z0-9 /&,()'\-]{1,60}|[A-Z][a-z]+(?:[ /&-]+[A-Za-z]+){0,4}):\s+(?P<text>\S.*)$",
    re.DOTALL,
)


def abstract_sections(abstract: str) -> list[tuple[str, str]]:
    """Split an abstract into (label, text) paragraphs; label is "" for unlabelled ones.

    Structured abstracts arrive as 'LABEL: text' paragraphs, one per line (blank lines
    between them are allowed).

    >>> abstract_sections("BACKGROUND: Why.\\nMETHODS: How.")
    [('BACKGROUND', 'Why.'), ('METHODS', 'How.')]
    """
    sections: list[tuple[str, str]] = []
    for paragraph in abstract.splitlines():
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        match = _LABEL.match(paragraph)
        if match:
            sections.append((match.group("label").strip(), match.group("text").strip()))
        else:
            sections.append(("", paragraph))
    return sections
