"""The review protocol as domain objects (what the YAML declares, once validated).

Pure domain: standard library only. `screener.protocol` turns YAML into these.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import lru_cache

from screener.core.decisions import Stage


class CriterionKind(StrEnum):
    INCLUDE = "include"
    EXCLUDE = "exclude"


class SourceKind(StrEnum):
    """PRISMA 2020 identification columns."""

    DATABASE = "database"
    REGISTER = "register"
    OTHER = "other"
    """Other methods: citation searching, websites, organisations."""


class Resolution(StrEnum):
    ADJUDICATOR = "adjudicator"
    CONSENSUS = "consensus"


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    kind: CriterionKind
    text: str


@dataclass(frozen=True, slots=True)
class ExclusionReason:
    id: str
    label: str
    key: str
    """Single key that picks this reason in the UI (a digit or letter)."""


@dataclass(frozen=True, slots=True)
class SearchStrategy:
    source: str
    kind: SourceKind = SourceKind.DATABASE
    query: str = ""
    date: str = ""
    """ISO date the search was run."""


@dataclass(frozen=True, slots=True)
class Highlight:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


APOSTROPHES = "'\u2019\u02bc\u2018\u2032"
"""Apostrophe, right and left single quotation marks, modifier letter apostrophe, prime:
one character in a highlight term (SSRI's matches SSRI’s)."""
HYPHENS = "-\u2010\u2011\u2012\u2013\u2212"
"""Hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash, minus sign: one
character in a highlight term (IL-1β matches IL‑1β)."""


@lru_cache(maxsize=1)
def word_chars() -> str:
    """A regular-expression class body for the characters of a word: `\\w` and the
    combining marks of the Basic Multilingual Plane, which `\\w` leaves out though they are
    part of words (Thai and Indic vowel signs, Arabic and Hebrew points, an accent written
    as a character of its own). Built on first use (30 ms)."""
    marks, start = [], None
    for code in range(0x10001):
        if code < 0x10000 and unicodedata.category(chr(code)).startswith("M"):
            start = code if start is None else start
        elif start is not None:
            marks.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    return r"\w" + "".join(marks)


@dataclass(frozen=True, slots=True)
class ScreeningMode:
    reviewers_per_record: int = 1
    blind: bool = False
    resolution: Resolution = Resolution.ADJUDICATOR
    adjudicator: str = ""
    maybe_vs_exclude_is_conflict: bool = True
    reason_mismatch_is_conflict: bool = False
    """At full text: different exclusion reasons between reviewers count as a conflict."""
    reason_required_at_title_abstract: bool = False

    @property
    def dual(self) -> bool:
        return self.reviewers_per_record > 1


@dataclass(frozen=True, slots=True)
class RankingSettings:
    model: str = "default"
    seed: int = 42
    cold_start: bool = True
    """Rank by similarity to the protocol before the first include."""
    params: tuple[tuple[str, str | int | float | bool], ...] = ()
    """Extra model parameters as sorted (name, value) pairs (e.g. ("C", 0.5))."""


@dataclass(frozen=True, slots=True)
class StoppingRule:
    recall_target: float = 0.95
    confidence: float = 0.95
    consecutive_irrelevant: int = 50
    min_screened_fraction: float = 0.10
    key_papers: tuple[str, ...] = ()
    """DOIs or PMIDs of papers that must be found before stopping (SAFE)."""
    defaulted: tuple[str, ...] = ()
    """Settings the protocol did not give, so screener's defaults apply (the report says
    so: a reader must not take them for a pre-specified rule)."""


@dataclass(frozen=True, slots=True)
class Protocol:
    title: str
    question: tuple[tuple[str, str], ...] = ()
    """Review question parts as (name, text): question, population, intervention, ..."""
    searches: tuple[SearchStrategy, ...] = ()
    stages: tuple[Stage, ...] = (Stage.TITLE_ABSTRACT, Stage.FULL_TEXT)
    criteria: tuple[Criterion, ...] = ()
    exclusion_reasons: tuple[ExclusionReason, ...] = ()
    highlight: Highlight = field(default_factory=Highlight)
    screening: ScreeningMode = field(default_factory=ScreeningMode)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    stopping: StoppingRule = field(default_factory=StoppingRule)
    keys: tuple[tuple[str, str], ...] = ()
    """UI key remapping as (action, key)."""

    def reason(self, reason_id: str) -> ExclusionReason | None:
        for reason in self.exclusion_reasons:
            if reason.id == reason_id:
                return reason
        return None

    def question_text(self) -> str:
        return "\n".join(f"{name}: {text}" for name, text in self.question)

    def criteria_text(self, kind: CriterionKind | None = None) -> str:
        return "\n".join(c.text for c in self.criteria if kind is None or c.kind == kind)


def _items(protocol: Protocol) -> dict[str, object]:
    """The protocol as named items (what `taken_back` compares): one for each setting,
    and one for each criterion, exclusion reason, search, stage, key paper, highlight term
    and UI key, so that adding, removing and rewording are told apart."""
    out: dict[str, object] = {"the title": protocol.title}
    out |= {f"the question's {name}": text for name, text in protocol.question}
    out |= {f"the search of {s.source} {s.date}".rstrip(): s for s in protocol.searches}
    out |= {f"stage {s.value}": True for s in protocol.stages}
    out |= {f"criterion {c.id}": c for c in protocol.criteria}
    out |= {f"exclusion reason {r.id}": r for r in protocol.exclusion_reasons}
    for kind in ("include", "exclude"):
        out |= {f"{kind} highlight term {t!r}": True for t in getattr(protocol.highlight, kind)}
    for part in ("screening", "ranking", "stopping"):
        settings = getattr(protocol, part)
        out |= {f"{part} {f.name.replace('_', ' ')}": getattr(settings, f.name)
                for f in fields(settings)
                if f.name not in ("params", "key_papers", "defaulted")}
    out |= {f"ranking param {name}": value for name, value in protocol.ranking.params}
    out |= {f"key paper {p}": True for p in protocol.stopping.key_papers}
    out |= {f"the UI key of {action}": key for action, key in protocol.keys}
    return out


def taken_back(earlier: Protocol, in_force: Protocol, new: Protocol) -> list[str]:
    """What `new` (an amendment) takes back of what `in_force` changed from `earlier`, the
    version before it: what it added and `new` drops, what it removed and `new` brings
    back, what it changed and `new` has as before. Empty when `new` keeps all of it (a
    copy of an earlier version edited and amended after a later one returns to it)."""
    before, now, after = _items(earlier), _items(in_force), _items(new)
    out = []
    for name in dict.fromkeys([*now, *before]):
        if before.get(name) == now.get(name) or after.get(name) != before.get(name):
            continue
        out.append(f"drops {name}, which it added" if name not in before else
                   f"brings back {name}, which it removed" if name not in now else
                   f"puts {name} back as it was")
    return out
