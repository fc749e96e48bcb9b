"""Find duplicate records: exact DOI, exact PMID, then fuzzy title + year + first author.

Purpose: after an import (or several imports into one review), group the records that
describe the same publication and choose the one to keep (a copy titled as retracted, else
the one with the most metadata, `Record.metadata_score()`; ties broken by the lowest id).

Steps:

1. records that share a normalised DOI are linked ("doi");
2. records that share a PMID are linked ("pmid"). In both steps the titles must not be
   clearly different (a book's DOI on its chapters, a supplement's DOI on all its
   abstracts; case, punctuation, truncation and brackets are no difference) and a
   retraction, erratum, correction or expression-of-concern notice is never linked to a
   record that is not one (it often carries its article's DOI, authors and title);
3. candidate pairs are *blocked* on a few rare title words (an inverted index over
   normalised title words; each record looks up its rarest words, within a budget, and a
   pair is found when either record's rare words occur in the other's title), scored with
   `rapidfuzz.fuzz.ratio` in C, and accepted only with corroborating evidence (year, first
   author surname, abstract opening, journal) and no contradicting evidence ("fuzzy").
   Titles under the threshold still match when one is the opening of the other (dropped
   subtitle) or when they are just under it and the abstracts agree (edited preprint).

Guards against false merges: different DOIs are never merged by title, except a preprint
server's DOI with a journal's DOI (the preprint and its journal version) when the title
reaches the threshold and first author and year agree; different PMIDs only when the
abstracts are near identical; titles whose numbers differ on both sides ('part I' / 'part
II', '2008' / '2014') are different papers, and so are records whose volume numbers or
part numbers (Scopus: 'PART 1' in the issue) are both given and differ, and a conference
abstract and a record of another year in another venue, or a meeting abstract in a journal's
supplement ('Suppl' issue, page 'A123') and a paper of a regular issue; a notice and a
record that is not one; years more than one apart block a merge (preprint vs journal article: up to three
years, preprint first); first-author surnames
must agree when both are known; titles that differ by a word that can change the paper
('adults' / 'children', 'bipolar' / 'unipolar', 'randomized' / 'nonrandomized', a word such
as 'network' added; not spelling variants, split words or articles, and not parts in
brackets) need agreeing abstracts, since one group's papers often share first author,
year and journal; generic titles ("Editorial", "Reply", "Erratum", ...) and
very short titles need exact evidence (same title, year, author, journal and pages or
volume); long identical titles (8+ words) need no other evidence when nothing contradicts
them; two journals that cannot be the same (abbreviations and acronyms allowed) keep
records with different titles apart (a congress abstract and the later full paper).
Fuzzy links are applied best first (of equal ones, those within a year first) to a union-find that refuses a link between two groups
that already carry conflicting DOIs or different PMIDs, span more than one year, or whose
founding records' titles, first authors, title numbers or journals disagree, so
transitivity cannot chain unrelated records together.

What is compared of each record (normalised title, surname, notice, preprint, volume and
part numbers) is computed in `screener.importers._dedup_features`; the rules above that
judge a pair are here.

Cost: about 20 s of CPU and 300 MB for 100,000 records (see `benchmarks/dedup.py`).

Imports: standard library, `rapidfuzz` and `screener.core` only. Never import sqlalchemy,
textual, click, sklearn or other screener layers from here.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from rapidfuzz import fuzz, process

from screener.core.records import Record
from screener.importers._dedup_features import (
    _PREPRINT_DOI,
    _SPACELESS_CHAR,
    _SPACELESS_RUN,
    _STOPWORDS,
    _Feat,
    _features,
    is_preprint,
    keep_first,
    normalise_title,
    title_script,
    title_words,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "Cluster",
    "Contradiction",
    "Match",
    "PREPRINT_AND_ARTICLE",
    "Method",
    "Progress",
    "contradicting_links",
    "find_duplicates",
    "is_preprint",
    "keep_first",
    "normalise_title",
    "pair_evidence",
    "shown_method",
]

Method = Literal["doi", "pmid", "fuzzy"]
Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` while the fuzzy step runs (total = number of records)."""

DEFAULT_THRESHOLD = 0.85
"""Minimum normalised-title similarity (0..1, `rapidfuzz.fuzz.ratio` / 100) for a fuzzy
match; tuned in `benchmarks/dedup.py` on held-in datasets."""


_NEAR_MARGIN = 0.08
"""Titles this far under the threshold still match when the abstract openings agree (>= 90)
and the year or first author agrees too (preprints with a few words changed)."""
MIN_THRESHOLD = 0.5
"""The lowest title similarity `dedup --threshold` takes (below, unrelated titles match)."""
_KEYS_PER_RECORD = 3
"""Rarest title words each record looks up in the inverted index..."""
_MIN_KEYS = 1
_CANDIDATE_BUDGET = 150
"""...stopping after the first word once the looked-up lists hold this many records."""


class Match(NamedTuple):
    """One duplicate inside a cluster: which record, how it was linked, and how strongly."""

    record_id: int
    method: Method
    """Strongest evidence linking this record to its cluster: "doi" > "pmid" > "fuzzy"."""
    score: float
    """1.0 for identifier matches; title similarity (0..1) for fuzzy matches."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """A group of records describing one publication."""

    kept_id: int
    """Id of the record to keep: a copy titled as retracted, else the one with the most
    metadata (`Record.metadata_score`); ties: lowest id (`keep_first`)."""
    members: tuple[Match, ...]
    """The other records of the group (duplicates to set aside), ordered by record id."""

    @property
    def ids(self) -> tuple[int, ...]:
        """All record ids of the group, the kept one first."""
        return (self.kept_id, *(m.record_id for m in self.members))




def _titles_clearly_differ(a: _Feat, b: _Feat) -> bool:
    """Two titles under one DOI or PMID that cannot be one paper's: a book's DOI on its
    chapters, a supplement's DOI on all its abstracts. Case, punctuation, a truncated title
    or subtitle, and brackets added or dropped ('[Article in German]', a translated title
    in brackets) are not differences, nor are titles in two scripts that the years,
    volume and pages agree on (a Chinese or Russian article's title and its English
    translation: `_translation_agrees`); an empty title tells nothing."""
    if not a.title or not b.title or a.title == b.title or a.core == b.core:
        return False
    if title_script(a.title) != title_script(b.title) and _translation_agrees(a, b):
        return False  # a title and its translation, as a Chinese database and Scopus list it
    if fuzz.ratio(a.title, b.title) >= 70 or fuzz.token_set_ratio(a.core, b.core) >= 85:
        return False
    short, long_ = (a.title, b.title) if len(a.title) <= len(b.title) else (b.title, a.title)
    if len(short) >= 20 and fuzz.ratio(short, long_[: len(short)]) >= 90:
        return False  # a truncated title, or the subtitle dropped
    # a translated title: the abstract tells that it is the same paper, or (no abstracts)
    # the same first author, year, volume and pages do: chapters of one book, abstracts of
    # one supplement have their own pages
    if (a.surname and a.surname == b.surname and a.year == b.year and a.pages
            and a.pages == b.pages and a.volume == b.volume):
        return False
    return not (len(a.abstract) >= 80 and len(b.abstract) >= 80
                and _abstract_similarity(a.abstract, b.abstract) >= 90)


def _first_page(pages: str) -> str:
    return pages.split("-", 1)[0].strip()


def _translation_agrees(a: _Feat, b: _Feat) -> bool:
    """What else two records under one DOI with titles in two scripts say: one article
    (titles, authors and abstracts of a Chinese database and of Scopus share no letter)
    when their years are at most one apart (print and online year), or when a year is
    missing and their first pages agree; never when their volumes or first pages differ
    (two chapters of one book) or their years are further apart (an English 2009 record
    and a Chinese 2020 one under a mistyped DOI)."""
    first_a, first_b = _first_page(a.pages), _first_page(b.pages)
    if _volumes_conflict(a, b) or (first_a and first_b and first_a != first_b):
        return False
    if a.year is not None and b.year is not None:
        return abs(a.year - b.year) <= 1
    return first_a != "" and first_a == first_b


def _same_by_identifier(a: _Feat, b: _Feat) -> bool:
    """Two records sharing a DOI or PMID are one publication unless one is a notice
    (retraction, erratum, correction) and the other not, or their titles clearly differ."""
    return a.notice == b.notice and not _titles_clearly_differ(a, b)


def _volumes_conflict(a: _Feat, b: _Feat) -> bool:
    """Both records name a volume, or a part, and they differ: LNCS volumes 6016-6019 of
    one conference's proceedings (PART 1-4) share their title, year and venue."""
    return ((a.volume_no != "" and b.volume_no != "" and a.volume_no != b.volume_no)
            or (a.part != "" and b.part != "" and a.part != b.part))


def _kept_apart(a: _Feat, b: _Feat) -> bool:
    """What keeps two records apart however alike their titles: a notice and a record that
    is not one, different volumes or parts, a conference abstract and a later paper."""
    return a.notice != b.notice or _volumes_conflict(a, b) or _abstract_and_paper(a, b)


def _abstract_and_paper(a: _Feat, b: _Feat) -> bool:
    """A conference abstract and a paper of another year in another venue (the abstract
    of a meeting, then the full paper a year later, often under the same title); or a
    meeting abstract printed in a journal's supplement and a paper of a regular issue,
    whatever their years and journals (Ann Rheum Dis 2019;78 Suppl 2:A123 and 2019;78(5):
    600-607)."""
    if (a.meeting_abstract != b.meeting_abstract and (a.regular or b.regular)
            and not (a.pages and a.pages == b.pages)):
        return True
    return ((a.conference or b.conference) and a.year is not None and b.year is not None
            and a.year != b.year and a.journal != "" and b.journal != ""
            and not _journals_agree(a.journal, b.journal))



def _numbers_conflict(a: _Feat, b: _Feat) -> bool:
    """Each title has a number the other lacks: 'part I' / 'part II', 'JCS 2008' / 'JCS
    2014', '12-month' / '24-month' follow-ups are different papers. (A number present on
    one side only is allowed: a database may drop a word or a subtitle.)"""
    return bool(a.numbers - b.numbers) and bool(b.numbers - a.numbers)


def _surnames_agree(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) >= 4 and len(b) >= 4 and (a in b or b in a):
        return True  # "garciamarquez" vs "marquez"
    return fuzz.ratio(a, b) >= 85  # one transliteration or typo


def _journal_words(name: str) -> list[str]:
    return [w for w in name.split() if w not in _STOPWORDS]


def _abbreviates(short: list[str], long_: list[str]) -> bool:
    """Each word of `short` begins a word of `long_`, in order, the first words paired:
    'j am heart assoc' / 'journal of the american heart association', 'lancet' / 'lancet
    london england'; or `short` is one word made of the initials of `long_` ('jama')."""
    if len(short) == 1 and len(long_) > 1 and short[0] == "".join(w[0] for w in long_):
        return True
    if not short or not long_ or not long_[0].startswith(short[0]):
        return False
    k = 1
    for word in short[1:]:
        while k < len(long_) and not long_[k].startswith(word):
            k += 1
        if k == len(long_):
            return False
        k += 1
    return True


def _journals_agree(a: str, b: str) -> bool:
    """Two normalised journal names can name the same journal (full name, ISO or MEDLINE
    abbreviation, acronym, a place or subtitle added)."""
    if a == b or fuzz.ratio(a, b) >= 90:
        return True
    wa, wb = _journal_words(a), _journal_words(b)
    return _abbreviates(wa, wb) or _abbreviates(wb, wa)


def _abstract_similarity(a: str, b: str) -> float:
    """Similarity (0..100) of the openings of two abstracts, tolerant to truncation."""
    n = min(len(a), len(b))
    return fuzz.ratio(a[:n], b[:n])


# --------------------------------------------------------------------------- judging


_KEEPS_MEANING = _STOPWORDS - {"not", "no", "non"}
"""Words whose presence on one side only does not make two titles different papers."""
_OPPOSING_PREFIXES = ("non", "un", "in", "im", "ir", "il", "dis", "anti", "hyper", "hypo",
                      "uni", "bi", "mono", "poly", "pre", "post", "intra", "extra", "inter",
                      "sub", "supra", "over", "under", "hetero", "homo", "micro", "macro",
                      "semi", "multi")
"""Prefixes that change what a word means: 'randomized' / 'nonrandomized', 'hypertension'
/ 'hypotension', 'unipolar' / 'bipolar'."""


def _spelling_variants(u: str, v: str) -> bool:
    """Two words that are one word spelt two ways ('randomised' / 'randomized', 'tumour' /
    'tumor', 'effect' / 'effects'), not two words ('adults' / 'children') nor a word and
    its opposite (a prefix added or swapped)."""
    if u == v:
        return True
    for p in _OPPOSING_PREFIXES:
        if u == p + v or v == p + u:
            return False
        for q in _OPPOSING_PREFIXES:
            if (p != q and u.startswith(p) and v.startswith(q) and len(u) - len(p) >= 3
                    and u[len(p):] == v[len(q):]):
                return False
    return fuzz.ratio(u, v) >= 80


def _words_differ(a: str, b: str) -> bool:
    """Whether two normalised titles differ by a word that can change what the paper is
    about: a word replaced by another ('adults' / 'children', 'bipolar' / 'unipolar'), or a
    word other than an article or preposition added ('meta analysis' / 'network meta
    analysis'). Spelling variants, words split or joined ('re evaluation' /
    'reevaluation') and articles do not count."""
    if a == b:
        return False
    x, y = title_words(a), title_words(b)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        left, right = x[i1:i2], y[j1:j2]
        if op != "replace":
            if any(w not in _KEEPS_MEANING for w in left + right):
                return True
            continue
        left = [w for w in left if w not in _KEEPS_MEANING]
        right = [w for w in right if w not in _KEEPS_MEANING]
        if "".join(left) == "".join(right):
            continue  # the same letters, split differently (or only articles changed)
        if len(left) == len(right):
            if not all(_spelling_variants(u, v) for u, v in zip(left, right, strict=True)):
                return True
        elif not (left and right) or not _spelling_variants("".join(left), "".join(right)):
            return True  # 'tumour re evaluation' / 'tumor reevaluation' pass
    return False


def _prefix_score(a: _Feat, b: _Feat) -> float:
    """Similarity (0..1) of the shorter title to the opening of the longer one.

    Catches a dropped subtitle or a title truncated by a database; 0 when the shorter
    title is too short (under six words or 40% of the longer) to be telling.
    """
    short, long_ = (a, b) if len(a.title) <= len(b.title) else (b, a)
    if short.ntok < 6 or len(short.title) < 0.4 * len(long_.title):
        return 0.0
    return fuzz.ratio(short.title, long_.title[: len(short.title)]) / 100


def _prefix_like(a: _Feat, b: _Feat) -> bool:
    return _prefix_score(a, b) >= 0.9


PREPRINT_AND_ARTICLE = "fuzzy, preprint and article"
"""How a title match ("fuzzy") between a preprint server's DOI and another, a journal's,
is listed: a preprint merged with its journal article, two reports of one study, which a
team may want to keep apart (`dedup --undo`)."""


def shown_method(method: str, doi: str, other_doi: str,
                 preprints: tuple[bool, bool] = (False, False)) -> str:
    """The method of a stored link between records with these DOIs as `dedup --list` names
    it: `PREPRINT_AND_ARTICLE` for a fuzzy link between a preprint DOI and a journal DOI,
    or between a preprint and a record that is not one (`preprints`, `is_preprint` of the
    two records: a medRxiv or Research Square record without a DOI), else `method`. Which
    records are merged does not depend on it."""
    if method != "fuzzy":
        return method
    if (doi and other_doi and doi != other_doi
            and bool(_PREPRINT_DOI.match(doi)) != bool(_PREPRINT_DOI.match(other_doi))):
        return PREPRINT_AND_ARTICLE
    return PREPRINT_AND_ARTICLE if preprints[0] != preprints[1] else method


def pair_evidence(a: Record, b: Record) -> tuple[Method, float]:
    """What links two records of one cluster themselves (not through the cluster's other
    records): a DOI both carry ("doi", 1.0), else a PMID ("pmid", 1.0), else their titles
    ("fuzzy", title similarity 0..1, a dropped subtitle counted as `_prefix_score` does)."""
    fa, fb = _features(a), _features(b)
    if fa.doi and fa.doi == fb.doi:
        return "doi", 1.0
    if fa.pmid and fa.pmid == fb.pmid:
        return "pmid", 1.0
    return "fuzzy", round(max(fuzz.ratio(fa.title, fb.title) / 100, _prefix_score(fa, fb)), 4)


class _Verdict(NamedTuple):
    score: float
    pmid_override: bool


def _dois_conflict(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> bool:
    """Two sets of DOIs name different publications. A preprint server's DOI and a
    journal's DOI do not conflict (the preprint and its journal version); two journal DOIs,
    or two preprint DOIs, that differ do."""
    if not a or not b or a == b:
        return False
    pre_a = {d for d in a if _PREPRINT_DOI.match(d)}
    pre_b = {d for d in b if _PREPRINT_DOI.match(d)}
    if pre_a and pre_b and pre_a != pre_b:
        return True
    pub_a, pub_b = a - pre_a, b - pre_b
    return bool(pub_a and pub_b and pub_a != pub_b)


def _abstracts_agree(a: _Feat, b: _Feat) -> float:
    """Similarity (0..100) of two records' abstracts, -1 when either is too short to tell;
    a preprint's and its article's by their words too (often edited between the two)."""
    if len(a.abstract) < 80 or len(b.abstract) < 80:
        return -1.0
    similarity = _abstract_similarity(a.abstract, b.abstract)
    if a.preprint != b.preprint:
        similarity = max(similarity, fuzz.token_set_ratio(a.abstract, b.abstract))
    return similarity


def _republished(a: _Feat, b: _Feat, abstract_sim: float) -> bool:
    """Two PubMed entries (different PMIDs) that are one paper: a republication, with the
    same abstract (`abstract_sim`, `_abstracts_agree`), year and first author. Companion
    papers often share all but one word of title and abstract, so the titles must be
    identical up to spacing."""
    return (abstract_sim >= 97 and a.year == b.year and a.surname == b.surname
            and a.title.replace(" ", "") == b.title.replace(" ", ""))


def _judge(a: _Feat, b: _Feat, title_ratio: float, threshold: float) -> _Verdict | None:
    """Decide whether two records are the same publication on title and other evidence."""
    preprint_doi_pair = False
    if a.doi and b.doi and a.doi != b.doi:
        if _dois_conflict({a.doi}, {b.doi}):
            return None
        # A preprint DOI and a journal DOI: the same work only on strong evidence (below).
        preprint_doi_pair = True
    if a.generic or b.generic:
        same = (
            a.title == b.title and a.year is not None and a.year == b.year
            and a.surname != "" and a.surname == b.surname
            and a.journal != "" and a.journal == b.journal
            and ((a.pages != "" and a.pages == b.pages)
                 or (a.volume != "" and a.volume == b.volume and a.pages == b.pages))
        )
        return _Verdict(1.0, False) if same and not (a.pmid and b.pmid) else None

    if a.numbers != b.numbers and _numbers_conflict(a, b):
        return None
    if _kept_apart(a, b):
        return None
    # The routes a pair may match by, each with its own demands. The dropped-subtitle
    # route is open whenever some threshold at or above this one would take it, so that a
    # pair matched at a high threshold is matched at every lower one too.
    routes: list[tuple[float, _Route]] = []
    if title_ratio >= threshold:
        routes.append((title_ratio, "title"))
    elif title_ratio >= threshold - _NEAR_MARGIN:
        routes.append((title_ratio, "near"))
    if title_ratio < 1.0:
        prefix_score = _prefix_score(a, b)
        if prefix_score > title_ratio and prefix_score >= max(threshold, 0.95):
            routes.append((prefix_score, "prefix"))
    for score, route in routes:
        verdict = _judge_route(a, b, score, route, preprint_doi_pair)
        if verdict is not None:
            return verdict
    return None


_Route = Literal["title", "near", "prefix"]
"""How a pair's titles match: the whole title at or above the threshold; just under it
("near", accepted only with strong evidence); or the shorter title as the opening of the
longer ("prefix": a dropped subtitle or a title cut short by a database)."""


def _years_apart(a: _Feat, b: _Feat) -> bool:
    """Years too far apart for one publication: more than one (a preprint and its article:
    more than three, or the preprint more than a year after the article)."""
    if a.year is None or b.year is None:
        return False
    if a.preprint != b.preprint:
        pre, pub = (a.year, b.year) if a.preprint else (b.year, a.year)
        return pub - pre > 3 or pre > pub + 1
    return abs(a.year - b.year) > 1


def _judge_route(
    a: _Feat, b: _Feat, score: float, route: _Route, preprint_doi_pair: bool
) -> _Verdict | None:
    """Decide on the evidence beside the title whether a pair matching by `route` (with
    title similarity `score`) is one publication."""
    prefix = route == "prefix"
    near = route == "near"
    preprint_pair = a.preprint != b.preprint
    supports = 0
    if a.year is not None and b.year is not None:
        if _years_apart(a, b):
            return None
        supports += 1 if a.year == b.year or preprint_pair else 0
    if a.surname and b.surname:
        if not _surnames_agree(a.surname, b.surname):
            return None
        supports += 1
    abstract_sim = _abstracts_agree(a, b)
    if abstract_sim >= 0:
        if abstract_sim < 50 and not preprint_pair:
            return None  # same-titled but different papers (letters, series, updates)
        # An identical abstract opening is nearly as telling as an identifier.
        supports += 2 if abstract_sim >= 95 else (1 if abstract_sim >= 80 else 0)
    if (not prefix and not preprint_pair and abstract_sim < 90
            and _words_differ(a.core, b.core)):
        # Same first author, year and journal are common for different papers of one
        # group ('... in adults' / '... in children'); only agreeing abstracts tell that a
        # title with a word changed is still the same paper. (A preprint and the journal
        # article often differ by a word, and their pairing has its own rules.)
        return None
    if a.journal and b.journal:
        if _journals_agree(a.journal, b.journal):
            supports += 1
        elif score < 1.0 and not preprint_pair:
            # A congress abstract and the full paper that followed it in another journal,
            # with the title edited: two records (and reports) that reviewers keep apart.
            return None

    pmid_override = False
    if a.pmid and b.pmid and a.pmid != b.pmid:
        # Two PubMed entries: only a republication with the same abstract is a duplicate.
        if not _republished(a, b, abstract_sim):
            return None
        pmid_override = True

    if preprint_doi_pair and (near or prefix or not (a.surname and b.surname)
                              or a.year is None or b.year is None):
        return None
    if near:
        if abstract_sim < 90 or supports < 2:
            return None
        needed = 2
    elif prefix:
        needed = 2
    elif score >= 0.95:
        needed = 1
    else:
        needed = 2
    if min(a.ntok, b.ntok) < 4:
        needed += 1
    if not prefix and score == 1.0 and min(a.ntok, b.ntok) >= 8:
        # long identical titles with nothing contradicting them. A title that differs at
        # all still needs a year, author, abstract or journal that agrees: one word
        # ("relevant" / "irrelevant") can be all that tells two papers apart
        needed = 0
    if preprint_doi_pair:
        needed = max(needed, 2)  # author and year agree at least
    if supports < needed:
        return None
    return _Verdict(score, pmid_override)


# --------------------------------------------------------------------------- union-find


@dataclass(slots=True)
class _Group:
    dois: set[str] = field(default_factory=set)
    pmids: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    """Years of the group's non-preprint records."""
    apart: set[int] = field(default_factory=set)
    """The group's records that a team separated from others (`find_duplicates`'s
    `apart`)."""


class _UnionFind:
    def __init__(self, feats: Sequence[_Feat],
                 apart: Mapping[int, set[int]] | None = None) -> None:
        self.feats = feats
        self.parent = list(range(len(feats)))
        self.apart = apart or {}
        """Index -> the indexes of the records it must never share a group with."""
        self.groups = [
            _Group(
                {f.doi} if f.doi else set(),
                {f.pmid} if f.pmid else set(),
                {f.year} if f.year is not None and not f.preprint else set(),
                {k} if k in self.apart else set(),
            )
            for k, f in enumerate(feats)
        ]

    def separated(self, i: int, j: int) -> bool:
        """Joining the groups of i and j would put two records a team separated into one."""
        gi, gj = self.groups[self.find(i)], self.groups[self.find(j)]
        return bool(gi.apart and gj.apart) and any(
            not self.apart[k].isdisjoint(gj.apart) for k in gi.apart)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def compatible(self, i: int, j: int, pmid_override: bool) -> bool:
        ri, rj = self.find(i), self.find(j)
        gi, gj = self.groups[ri], self.groups[rj]
        if ri != i or rj != j:
            # Joining two groups through other members: their founding records must also
            # look alike, so a chain of small edits cannot link unrelated papers.
            fi, fj = self.feats[ri], self.feats[rj]
            if fuzz.ratio(fi.title, fj.title) < 75 and not _prefix_like(fi, fj):
                return False
            if fi.surname and fj.surname and not _surnames_agree(fi.surname, fj.surname):
                return False
            if _numbers_conflict(fi, fj) or _kept_apart(fi, fj):
                return False
            if (fi.journal and fj.journal and not fi.preprint and not fj.preprint
                    and fi.title != fj.title and not _journals_agree(fi.journal, fj.journal)):
                return False  # e.g. a congress abstract and a paper joined through a preprint
        if _dois_conflict(gi.dois, gj.dois):
            return False
        if gi.pmids and gj.pmids and gi.pmids != gj.pmids and not pmid_override:
            return False
        years = gi.years | gj.years
        return not years or max(years) - min(years) <= 1

    def pmid_compatible(self, i: int, j: int) -> bool:
        """Records sharing a PMID are one paper unless their DOIs differ or their years are
        more than one apart: a PMID copied onto the wrong record (a database's error, seen
        in real exports) must not take a study out of screening."""
        gi, gj = self.groups[self.find(i)], self.groups[self.find(j)]
        if _dois_conflict(gi.dois, gj.dois):
            return False
        years = gi.years | gj.years
        return not years or max(years) - min(years) <= 1

    def union(self, i: int, j: int) -> bool:
        ri, rj = self.find(i), self.find(j)
        if ri == rj:
            return False
        if rj < ri:
            ri, rj = rj, ri
        self.parent[rj] = ri
        gi, gj = self.groups[ri], self.groups[rj]
        gi.dois |= gj.dois
        gi.pmids |= gj.pmids
        gi.years |= gj.years
        gi.apart |= gj.apart
        return True


# --------------------------------------------------------------------------- blocking



_BRITISH_ENDINGS = re.compile(r"(?<=[a-z])(?:is(?=(?:e|ed|es|ing|ation|ations)$)"
                              r"|ys(?=(?:e|ed|es|ing)$)|tre(?=s?$))")


def _blocking_key(token: str) -> str:
    """A title word with British spellings folded to American ones, so that 'tumour' and
    'tumor', 'paediatric' and 'pediatric', 'oesophageal' and 'esophageal', 'randomised'
    and 'randomized' look each other up (the pair is still judged on the words as written).
    """
    key = token.replace("ae", "e").replace("oe", "e").replace("our", "or")
    return _BRITISH_ENDINGS.sub(lambda m: {"is": "iz", "ys": "yz", "tre": "ter"}[m.group()],
                                key)


def _blocking_words(title: str) -> list[str]:
    """A title's words, without its runs of Chinese or Japanese characters (`_bigrams`)."""
    if title.isascii():
        return title.split()
    return [w for w in title_words(title) if not _SPACELESS_CHAR.match(w)]


def _bigrams(title: str) -> set[str]:
    """The pairs of neighbouring characters in a title's runs of Chinese or Japanese
    characters (a run of one character as itself): its words for blocking, since these
    scripts do not mark where words end."""
    if title.isascii():
        return set()
    return {run[k:k + 2] for run in _SPACELESS_RUN.findall(title)
            for k in range(max(1, len(run) - 1))}


def _candidate_pairs(
    feats: Sequence[_Feat], threshold: float, progress: Progress | None
) -> list[tuple[float, int, int, bool]]:
    """Scored fuzzy links (score, i, j, pmid_override) with i < j, blocked on rare words."""
    token_lists: list[list[str]] = []
    token_sets: list[frozenset[str]] = []
    postings: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        tokens = sorted({_blocking_key(t) for t in _blocking_words(f.title)
                         if len(t) > 2 and t not in _STOPWORDS} | _bigrams(f.title))
        token_lists.append(tokens)
        token_sets.append(frozenset(tokens))
        for t in tokens:
            postings[t].append(i)

    n = len(feats)
    # Each record queries its rarest words; stop once enough of them are covered or the
    # candidate budget is spent (true duplicates share nearly all their rare words).
    used_keys: list[frozenset[str]] = []
    for tokens in token_lists:
        keys = sorted(tokens, key=lambda t: (len(postings[t]), t))
        chosen: list[str] = []
        spent = 0
        for k, t in enumerate(keys[:_KEYS_PER_RECORD]):
            size = len(postings[t])
            if k >= _MIN_KEYS and spent + size > _CANDIDATE_BUDGET:
                break
            spent += size
            chosen.append(t)
        used_keys.append(frozenset(chosen))

    titles = [f.title for f in feats]
    # A pair passes the coarse filter when its ratio could still reach the threshold or
    # the shorter title could be a dropped-subtitle prefix of the longer one.
    coarse = 100 * max(0.0, min(threshold - _NEAR_MARGIN, 0.55))
    links: list[tuple[float, int, int, bool]] = []
    step = max(1, n // 100)
    for i, f in enumerate(feats):
        if progress is not None and i % step == 0:
            progress(i, n)
        if not used_keys[i]:
            continue
        cands: set[int] = set()
        for t in used_keys[i]:
            cands.update(postings[t])
        cands.discard(i)
        if not cands:
            continue
        ordered = list(cands)
        hits = process.extract(
            f.title, [titles[j] for j in ordered], scorer=fuzz.ratio,
            score_cutoff=coarse, limit=None,
        )
        mine = token_sets[i]
        for _, ratio, pos in hits:
            j = ordered[pos]
            if j < i and not used_keys[j].isdisjoint(mine):
                continue  # record j found this pair through its own keys
            verdict = _judge(f, feats[j], ratio / 100, threshold)
            if verdict is not None:
                a, b = (i, j) if i < j else (j, i)
                links.append((verdict.score, a, b, verdict.pmid_override))
    if progress is not None:
        progress(n, n)
    return links


# --------------------------------------------------------------------------- public API


def find_duplicates(
    records: Sequence[Record],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
    apart: Iterable[Iterable[int]] = (),
    kept_apart: Callable[[int, int], None] | None = None,
) -> list[Cluster]:
    """Group duplicate records; return one `Cluster` per group of two or more records.

    Every record must carry a distinct integer `id`. Clusters are ordered by `kept_id`;
    the result depends only on the records' content and ids (not on their order).
    `threshold` is the minimum normalised-title similarity (0..1) for a fuzzy match.
    `apart` holds pairs of record ids that a team separated (`dedup --undo`): no cluster
    holds both records of a pair, directly or through others; `kept_apart(id, other)` is
    called for each link between two groups refused for that reason.
    """
    ids = [r.id for r in records]
    if any(i is None for i in ids):
        raise ValueError("find_duplicates needs records with an id")
    if len(set(ids)) != len(ids):
        raise ValueError("record ids must be distinct")
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    # Work in id order so that results do not depend on input order.
    ordered = sorted(records, key=lambda r: r.id or 0)
    feats = [_features(r) for r in ordered]
    index = {r.id: k for k, r in enumerate(ordered)}
    apart_of: dict[int, set[int]] = defaultdict(set)
    for pair in apart:
        a, b = (index.get(i) for i in pair)
        if a is not None and b is not None and a != b:
            apart_of[a].add(b)
            apart_of[b].add(a)
    uf = _UnionFind(feats, apart_of)

    def refused(i: int, j: int) -> bool:
        if not uf.separated(i, j):
            return False
        if kept_apart is not None:
            kept_apart(ordered[i].id or 0, ordered[j].id or 0)
        return True
    best: dict[int, tuple[int, float]] = {}  # index -> (method rank, score); rank 0 best
    ranks: dict[Method, int] = {"doi": 0, "pmid": 1, "fuzzy": 2}

    def note(i: int, method: Method, score: float) -> None:
        key = (ranks[method], -score)
        if i not in best or key < (best[i][0], -best[i][1]):
            best[i] = (ranks[method], score)

    exact: tuple[tuple[Method, Callable[[_Feat], str]], ...] = (
        ("doi", lambda f: f.doi), ("pmid", lambda f: f.pmid))
    for method, key in exact:
        # Records sharing the identifier, each joined to the first earlier record it can be
        # one publication with: a book's DOI on its chapters, or a notice carrying its
        # article's DOI, leaves several groups under one identifier.
        seen: dict[str, list[int]] = {}
        for i, f in enumerate(feats):
            value = key(f)
            if not value:
                continue
            firsts = seen.setdefault(value, [])
            for k in firsts:
                if not _same_by_identifier(feats[k], f):
                    continue
                if method == "pmid" and not uf.pmid_compatible(k, i):
                    continue  # one PMID on two papers with their own DOIs (or years apart)
                if refused(k, i):
                    continue
                uf.union(k, i)
                note(k, method, 1.0)
                note(i, method, 1.0)
                break
            else:
                firsts.append(i)

    links = _candidate_pairs(feats, threshold, progress)

    def years_between(i: int, j: int) -> int:
        """Of equally good links, those within a year go first: a Cochrane update without
        a DOI joins the version of its own year, not last year's."""
        yi, yj = feats[i].year, feats[j].year
        return abs(yi - yj) if yi is not None and yj is not None else 0

    links.sort(key=lambda link: (-link[0], years_between(link[1], link[2]), link[1], link[2]))
    for score, i, j, pmid_override in links:
        if uf.find(i) == uf.find(j):
            note(i, "fuzzy", score)
            note(j, "fuzzy", score)
            continue
        if uf.compatible(i, j, pmid_override) and not refused(i, j):
            uf.union(i, j)
            note(i, "fuzzy", score)
            note(j, "fuzzy", score)

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(feats)):
        groups[uf.find(i)].append(i)
    methods: tuple[Method, ...] = ("doi", "pmid", "fuzzy")
    clusters = []
    for members in groups.values():
        if len(members) < 2:
            continue
        kept = min(members, key=lambda k: (*keep_first(ordered[k]), ordered[k].id or 0))
        matches = tuple(
            Match(ordered[k].id or 0, methods[best[k][0]], round(best[k][1], 4))
            for k in sorted(members, key=lambda k: ordered[k].id or 0)
            if k != kept
        )
        clusters.append(Cluster(ordered[kept].id or 0, matches))
    clusters.sort(key=lambda c: c.kept_id)
    return clusters


class Contradiction(NamedTuple):
    """A standing duplicate link that the current rules would not make: the removed record
    and the one kept carry identifiers, or years, that tell two publications."""

    cluster: int
    record_id: int
    """The record removed as a duplicate."""
    kept_id: int
    identifier: Literal["DOI", "PMID", "year"]
    """What differs: DOIs that conflict (`_dois_conflict`), PMIDs, or years too far apart
    (`_years_apart`)."""


def _joined_by_identifier(feats: Mapping[int, _Feat],
                          keys: tuple[str, ...] = ("doi", "pmid")) -> dict[int, int]:
    """Each record's group: records are joined when they share a DOI or a PMID (the
    identifiers `keys` name), directly or through others (the group is named by one of
    its record ids)."""
    root = {i: i for i in feats}

    def find(i: int) -> int:
        while root[i] != i:
            i = root[i]
        return i

    for key in keys:
        first: dict[str, int] = {}
        for i, f in sorted(feats.items()):
            value = getattr(f, key)
            if value:
                root[find(i)] = find(first.setdefault(value, i))
    return {i: find(i) for i in feats}


def contradicting_links(records: Mapping[int, Record],
                        links: Iterable[tuple[int, int, int]]) -> list[Contradiction]:
    """The links (cluster, removed record id, kept record id) whose two records the current
    rules keep apart by their identifiers, by cluster: conflicting DOIs (a preprint
    server's DOI and a journal's do not conflict: a preprint merged with its article,
    `PREPRINT_AND_ARTICLE`), or different PMIDs where nothing in the cluster vouches for
    the link (a DOI or PMID the two share through its records, as when PubMed indexed one
    article twice, or a republication with the same title and abstract). Older versions
    linked records by PMID though their DOIs differed. `records` holds at least the
    linked records (a link to one it lacks is passed over). Records whose years are too far
    apart for one publication (`_years_apart`) are kept apart too, unless a DOI they share
    through the cluster's records links them (the DOI rule takes no year into account);
    older versions linked them by PMID or title."""
    by_cluster: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for cluster, removed, kept in links:
        if removed in records and kept in records:
            by_cluster[cluster].append((removed, kept))
    found: list[Contradiction] = []
    for cluster, pairs in sorted(by_cluster.items()):
        feats = {i: _features(records[i]) for pair in pairs for i in pair}
        group = _joined_by_identifier(feats)
        by_doi = _joined_by_identifier(feats, ("doi",))
        for removed, kept in pairs:
            a, b = feats[removed], feats[kept]
            if _dois_conflict({a.doi} - {""}, {b.doi} - {""}):
                found.append(Contradiction(cluster, removed, kept, "DOI"))
            elif (a.pmid and b.pmid and a.pmid != b.pmid and group[removed] != group[kept]
                  and not _republished(a, b, _abstracts_agree(a, b))):
                found.append(Contradiction(cluster, removed, kept, "PMID"))
            elif by_doi[removed] != by_doi[kept] and _years_apart(a, b):
                found.append(Contradiction(cluster, removed, kept, "year"))
    return found
