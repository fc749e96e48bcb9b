"""Benchmark `screener.importers.dedup`: precision/recall on real datasets with injected
duplicates, threshold tuning on held-in datasets, and 100,000-record time and memory.

Run:  .venv/bin/python benchmarks/dedup.py [--data DIR] [--seed N] [--skip-scale]

Datasets are the screening CSVs in ../shared/data/screening (or $SCREENER_SHARED_DATA/screening) (SYNERGY, CLEF, Cohen 2006 and
others; see datasets.json there). For a share of records a duplicate is injected with one to
three realistic variations (see VARIATIONS). Truth: an injected copy belongs with its source;
original records that already share a DOI or PMID are counted as true duplicates of each
other, and so are originals with an identical normalised title, near-identical abstract
opening and no conflicting year or first author (a conservative rule; see build_corpus).
Other original records linked by the dedup are unknown truth: they are counted as false
positives in the strict precision and listed so a reader can judge them.

Two figures are printed for the held-out datasets:
- strict: the datasets as they are, truth as above;
- cleaned: the same datasets cleaned of pre-existing duplicates BEFORE any copy is
  injected, on evidence that does not come from the matcher under test: a record is
  dropped when an earlier record of its dataset has the same DOI or PMID (`normalise_doi`,
  `normalise_pmid`) or the same title once lower-cased with everything but letters and
  digits removed (`title_key` below, written here, not the matcher's normaliser). Records
  whose truth the data does not give are thus left out rather than judged; the copies are
  then injected and scored exactly as in the strict run. (Identical titles can belong to
  different papers, e.g. two letters called "Reply"; the strict figure keeps those hard
  cases.)

The 100,000-record run happens in a subprocess so that its peak memory
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`, includes loading the data) is its own.
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rapidfuzz import fuzz
from shared_data import data_option

from screener.core.records import Record, normalise_doi, normalise_pmid
from screener.importers.dedup import DEFAULT_THRESHOLD, find_duplicates

VARIATIONS = (
    "case", "punctuation", "missing_ids", "truncated_abstract", "preprint_title",
    "author_format", "html_entities", "unicode_forms", "trailing_period", "year_shift",
    "british_spelling",
)
THRESHOLDS = (0.80, 0.82, 0.85, 0.88, 0.90, 0.92, 0.95)
F1_TOLERANCE = 0.002
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.95


# --------------------------------------------------------------------------- loading


def load_dataset(path: Path) -> list[Record]:
    records = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["authors"].strip()
            if text.startswith("[") and text.endswith("]"):  # a Python list, as in Kwok_2020
                names = [str(a) for a in ast.literal_eval(text)]
            else:
                names = text.split(";")
            authors = tuple(a.strip() for a in names if a.strip())
            year = int(row["year"]) if row["year"].strip().isdigit() else None
            records.append(Record(
                title=row["title"], abstract=row["abstract"], authors=authors, year=year,
                journal=row["journal"], doi=normalise_doi(row["doi"]),
                pmid=normalise_pmid(row["pmid"]), raw={"record_id": row["record_id"]},
            ))
    return records


# --------------------------------------------------------------------------- variations

_FILLER = ("patients", "adults", "novel", "effects", "study", "trial", "outcomes", "clinical")


def _vary_case(r: Record, rng: random.Random) -> Record:
    style = rng.choice(("upper", "lower", "title"))
    title = {"upper": r.title.upper(), "lower": r.title.lower(), "title": r.title.title()}[style]
    return replace(r, title=title)


def _vary_punctuation(r: Record, rng: random.Random) -> Record:
    title = r.title
    for old, new in ((":", " -"), (",", ""), ("-", " "), ("(", ""), (")", ""), ("'", "")):
        if rng.random() < 0.7:
            title = title.replace(old, new)
    return replace(r, title=title)


def _vary_missing_ids(r: Record, rng: random.Random) -> Record:
    return replace(r, doi="" if rng.random() < 0.7 else r.doi, pmid="")


def _vary_truncated_abstract(r: Record, rng: random.Random) -> Record:
    if rng.random() < 0.2:
        return replace(r, abstract="")
    cut = max(120, int(len(r.abstract) * rng.uniform(0.3, 0.8)))
    return replace(r, abstract=r.abstract[:cut].rstrip() + "...")


def _vary_preprint_title(r: Record, rng: random.Random) -> Record:
    """A preprint of the article: title edited, preprint server, no DOI, year same or -1."""
    title = r.title
    if ":" in title and len(title.split(":", 1)[0].split()) >= 4 and rng.random() < 0.5:
        title = title.split(":", 1)[0]
    else:
        words = title.split()
        for _ in range(rng.choice((1, 2)) if len(words) >= 8 else 1):
            if len(words) < 4:
                break
            k = rng.randrange(1, len(words))
            if rng.random() < 0.5:
                del words[k]
            else:
                words[k] = rng.choice(_FILLER)
        title = " ".join(words)
    year = r.year - rng.choice((0, 1)) if r.year else None
    abstract = r.abstract
    if abstract and rng.random() < 0.5:  # the preprint's abstract was edited later
        sentences = abstract.split(". ")
        if len(sentences) > 3:
            del sentences[rng.randrange(1, len(sentences))]
        abstract = ". ".join(sentences)
    return replace(r, title=title, year=year, doi="", pmid="", abstract=abstract,
                   journal=rng.choice(("medRxiv", "bioRxiv", "Research Square", "SSRN")))


def _format_author(name: str, rng: random.Random) -> str:
    if "," in name:  # "Family, G." as some sources write it
        family, _, rest = name.partition(",")
        given = rest.replace(".", " ").split()
    else:
        words = name.replace(".", " ").split()
        family, given = (words[-1], words[:-1]) if len(words) > 1 else (name, [])
    if not given:
        return name
    initials = "".join(g[0].upper() for g in given)
    style = rng.choice(("vancouver", "comma_full", "initials_first"))
    if style == "vancouver":
        return f"{family} {initials}"
    if style == "comma_full":
        return f"{family}, {' '.join(given)}"
    return " ".join(f"{c}." for c in initials) + f" {family}"


def _vary_author_format(r: Record, rng: random.Random) -> Record:
    return replace(r, authors=tuple(_format_author(a, rng) for a in r.authors))


def _vary_html_entities(r: Record, rng: random.Random) -> Record:
    title = r.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    title = "".join(f"&#{ord(ch)};" if ord(ch) > 127 else ch for ch in title)
    words = title.split()
    if len(words) > 3 and rng.random() < 0.5:
        k = rng.randrange(len(words))
        words[k] = f"<i>{words[k]}</i>"
    return replace(r, title=" ".join(words))


def _vary_unicode_forms(r: Record, rng: random.Random) -> Record:
    title = unicodedata.normalize("NFD", r.title)
    title = title.replace("-", "\u2010").replace("'", "\u2019").replace(" ", "\u00a0", 2)
    title = title.replace("fi", "\ufb01")
    return replace(r, title=title)


def _vary_trailing_period(r: Record, rng: random.Random) -> Record:
    title = r.title.rstrip(".") if r.title.endswith(".") else r.title + "."
    return replace(r, title=title)


def _vary_year_shift(r: Record, rng: random.Random) -> Record:
    """Online-first year in one database, print year (one later) in the other."""
    return replace(r, year=r.year + 1 if r.year else None)


_BRITISH = ((r"\b(tum|hum|behavi|col|fav|lab|neighb)or", r"\1our"),
            (r"\b(an|h|leuk|hyperglyc|hypoglyc|septic|isch)em", r"\1aem"),
            (r"\bpediatric", "paediatric"), (r"\besophag", "oesophag"),
            (r"\bestrogen", "oestrogen"), (r"\bfetus|\bfetal", lambda m: "f" + "oe" + m.group()[2:]),
            (r"\banesthe", "anaesthe"), (r"\bgyneco", "gynaeco"), (r"\borthoped", "orthopaed"),
            (r"\bcenter", "centre"),
            (r"(?<=[a-z]{3})iz(e|ed|es|ing|ation|ations)\b", r"is\1"),
            (r"(?<=[a-z]{3})yz(e|ed|es|ing)\b", r"ys\1"))


def _vary_british_spelling(r: Record, rng: random.Random) -> Record:
    """The title and abstract in British spelling (tumour, paediatric, randomised), as a
    translated or re-typeset copy can have them; a no-op for titles with no such word."""
    def british(text: str) -> str:
        for pattern, repl in _BRITISH:
            text = re.sub(pattern, repl, text, flags=re.IGNORECASE)
        return text

    return replace(r, title=british(r.title), abstract=british(r.abstract))


_VARY = {
    "case": _vary_case, "punctuation": _vary_punctuation, "missing_ids": _vary_missing_ids,
    "truncated_abstract": _vary_truncated_abstract, "preprint_title": _vary_preprint_title,
    "author_format": _vary_author_format, "html_entities": _vary_html_entities,
    "unicode_forms": _vary_unicode_forms, "trailing_period": _vary_trailing_period,
    "year_shift": _vary_year_shift, "british_spelling": _vary_british_spelling,
}


def make_variant(r: Record, rng: random.Random) -> tuple[Record, tuple[str, ...]]:
    """A duplicate of `r` as another database would export it, and the variations used."""
    kinds = rng.sample(VARIATIONS, rng.choice((1, 2, 2, 3)))
    variant = replace(r, pmid="") if rng.random() < 0.8 else r  # usually from Embase/Scopus
    for kind in kinds:
        variant = _VARY[kind](variant, rng)
    return variant, tuple(kinds)


# --------------------------------------------------------------------------- evaluation


@dataclass
class Corpus:
    records: list[Record]
    truth: list[int]
    """Truth group of each record (index-aligned with records)."""
    injected: list[tuple[str, ...]]
    """Variations of each injected record; () for original records."""


def title_key(title: str) -> str:
    """Lower case, letters and digits only (accents kept): the cleaning rule's title test."""
    return "".join(ch for ch in title.casefold() if ch.isalnum())


def family_name(author: str) -> str:
    """'Smith, John' / 'John Smith' / 'J. Smith' -> 'smith' (last word, letters only)."""
    family = author.split(",", 1)[0] if "," in author else (author.split() or [""])[-1]
    words = [w for w in "".join(ch if ch.isalpha() else " " for ch in family.casefold()).split()]
    return words[-1] if words else ""


def clean_base(records: Sequence[Record]) -> list[Record]:
    """The records without those that repeat an earlier record's DOI, PMID or title key."""
    seen: set[tuple[str, str]] = set()
    kept: list[Record] = []
    for r in records:
        keys = {("doi", r.doi), ("pmid", r.pmid), ("title", title_key(r.title))}
        keys = {(kind, value) for kind, value in keys if value}
        if keys & seen:
            continue
        seen |= keys
        kept.append(r)
    return kept


def build_corpus(datasets: Sequence[list[Record]], share: float, rng: random.Random,
                 target_size: int | None = None, clean: bool = False) -> Corpus:
    originals = [r for ds in datasets for r in ds]
    if clean:
        originals = clean_base(originals)
    # Truth among originals: shared DOI or PMID (union-find over identifiers).
    parent = list(range(len(originals)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for attr in ("doi", "pmid"):
        seen: dict[str, int] = {}
        for i, r in enumerate(originals):
            value = getattr(r, attr)
            if value:
                if value in seen:
                    parent[find(i)] = find(seen[value])
                else:
                    seen[value] = i
    # Pre-existing duplicates without shared identifiers, by a deliberately conservative
    # rule: identical normalised title, same year and first-author surname where both are
    # known, and both abstracts present with near-identical openings.
    # (title_key and family_name are written here: truth never comes from the matcher.)
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(originals):
        if title_key(r.title):
            by_title[title_key(r.title)].append(i)
    for group in by_title.values():
        for i, j in itertools.combinations(group, 2):
            a, b = originals[i], originals[j]
            sa, sb = family_name(a.first_author), family_name(b.first_author)
            aa, ab = title_key(a.abstract)[:200], title_key(b.abstract)[:200]
            if ((a.year is None or b.year is None or a.year == b.year)
                    and (not sa or not sb or sa == sb)
                    and len(aa) >= 100 and len(ab) >= 100 and fuzz.ratio(aa, ab) >= 90):
                parent[find(i)] = find(j)
    truth = [find(i) for i in range(len(originals))]
    n_inject = (target_size - len(originals)) if target_size else int(len(originals) * share)
    # Records without a title cannot be matched by title; they are not used as sources.
    titled = [i for i, r in enumerate(originals) if r.title.strip()]
    sources = [rng.choice(titled) for _ in range(n_inject)]
    records = list(originals)
    injected: list[tuple[str, ...]] = [()] * len(originals)
    for s in sources:
        variant, kinds = make_variant(originals[s], rng)
        records.append(variant)
        truth.append(truth[s])
        injected.append(kinds)
    order = list(range(len(records)))
    rng.shuffle(order)  # ids must not reveal which record is the copy
    records = [replace(records[k], id=new_id) for new_id, k in enumerate(order)]
    return Corpus(records, [truth[k] for k in order], [injected[k] for k in order])


def pairs_of(groups: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for g in groups:
        out.update(itertools.combinations(sorted(g), 2))
    return out


@dataclass
class Scores:
    tp: int
    fp: int
    fn: int
    fp_original_pairs: int
    """False-positive pairs between two original records whose truth is unknown (see the
    listing), or between copies of two such originals."""

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def precision_excl_unknown(self) -> float:
        fp = self.fp - self.fp_original_pairs
        return self.tp / (self.tp + fp) if self.tp + fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def __add__(self, other: Scores) -> Scores:
        return Scores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                      self.fp_original_pairs + other.fp_original_pairs)


def evaluate(corpus: Corpus, threshold: float, misses: Counter[str] | None = None,
             unknown: list[tuple[Record, Record]] | None = None) -> Scores:
    clusters = find_duplicates(corpus.records, threshold=threshold)
    predicted = pairs_of([c.ids for c in clusters])
    by_truth: dict[int, list[int]] = defaultdict(list)
    for rec, t in zip(corpus.records, corpus.truth, strict=True):
        assert rec.id is not None
        by_truth[t].append(rec.id)
    true = pairs_of(list(by_truth.values()))
    fp = predicted - true
    fp_orig = [(a, b) for a, b in fp if not corpus.injected[a] and not corpus.injected[b]]
    if unknown is not None:
        unknown.extend((corpus.records[a], corpus.records[b]) for a, b in fp_orig)
    # A false positive between copies of two originals that the dedup itself links (and
    # whose truth is unknown, see above) inherits that unknown truth.
    linked_groups = {frozenset((corpus.truth[a], corpus.truth[b])) for a, b in fp_orig}
    fp_unknown = [(a, b) for a, b in fp
                  if frozenset((corpus.truth[a], corpus.truth[b])) in linked_groups]
    if misses is not None:
        for a, b in true - predicted:
            for kind in corpus.injected[a] + corpus.injected[b]:
                misses[kind] += 1
    return Scores(len(true & predicted), len(fp), len(true - predicted), len(fp_unknown))


# --------------------------------------------------------------------------- scale run


def scale_run(data: Path, size: int, seed: int) -> None:
    """Child process: dedup `size` records (pooled datasets + injected copies)."""
    import resource

    rng = random.Random(seed)
    datasets = [load_dataset(p) for p in sorted(data.glob("*.csv.gz"))]
    corpus = build_corpus(datasets, 0.0, rng, target_size=size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.perf_counter(), time.process_time()
    clusters = find_duplicates(corpus.records)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "records": len(corpus.records), "seconds": seconds, "cpu_seconds": cpu,
        "load_average": os.getloadavg()[0], "clusters": len(clusters),
        "peak_mib": peak_kib / 1024, "peak_before_dedup_mib": rss_before / 1024,
    }))


# --------------------------------------------------------------------------- main


def _row(name: str, target: str, value: str, ok: bool | None = None) -> str:
    mark = "" if ok is None else ("ok" if ok else "MISSED")
    return f"| {name:<44} | {target:>9} | {value:>12} | {mark:<6} |"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="the screening CSVs (default: screening/ of the shared data)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--share", type=float, default=0.2,
                        help="injected duplicates per original record (per dataset runs)")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.data = data_option(args.data, "screening")
    if args.scale_child:
        scale_run(args.data, args.size, args.seed)
        return 0

    paths = sorted(args.data.glob("*.csv.gz"))
    rng = random.Random(args.seed)
    split = list(paths)
    rng.shuffle(split)
    tune_paths, held_paths = sorted(split[: len(split) // 2]), sorted(split[len(split) // 2:])
    print(f"tuning on {len(tune_paths)} datasets, reporting on {len(held_paths)} held out")
    print("held out:", ", ".join(p.name.removesuffix(".csv.gz") for p in held_paths))

    def corpora(ps: Sequence[Path], seed: int) -> list[Corpus]:
        r = random.Random(seed)
        return [build_corpus([load_dataset(p)], args.share, r) for p in ps]

    tune = corpora(tune_paths, args.seed + 1)
    print("\nthreshold tuning (held-in datasets):")
    print("| threshold | precision | recall | F1 |")
    f1s: dict[float, float] = {}
    for thr in THRESHOLDS:
        total = Scores(0, 0, 0, 0)
        for c in tune:
            total = total + evaluate(c, thr)
        p, r = total.precision, total.recall
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"| {thr:.2f} | {p:.4f} | {r:.4f} | {f1:.4f} |")
        if p >= TARGET_PRECISION:
            f1s[thr] = f1
    # The injected copies include few hard negatives (same authors, near-identical titles,
    # different papers), so precision here hardly moves with the threshold: take the most
    # conservative (highest) threshold whose F1 is within F1_TOLERANCE of the best.
    best = max(f1s.values(), default=0.0)
    chosen = max((t for t, f in f1s.items() if f >= best - F1_TOLERANCE),
                 default=DEFAULT_THRESHOLD)
    print(f"chosen threshold: {chosen:.2f} (highest with F1 >= best - {F1_TOLERANCE}); "
          f"DEFAULT_THRESHOLD in dedup.py = {DEFAULT_THRESHOLD}")

    held = corpora(held_paths, args.seed + 2)
    cleaned = [build_corpus([load_dataset(p)], args.share, random.Random(args.seed + 3 + k),
                            clean=True) for k, p in enumerate(held_paths)]
    total_clean = Scores(0, 0, 0, 0)
    for c in cleaned:
        total_clean = total_clean + evaluate(c, chosen)
    dropped = sum(len(load_dataset(p)) for p in held_paths) - sum(
        sum(1 for k in c.injected if not k) for c in cleaned)
    misses: Counter[str] = Counter()
    unknown: list[tuple[Record, Record]] = []
    total = Scores(0, 0, 0, 0)
    print(f"\nper held-out dataset (threshold {chosen:.2f}):")
    print("| dataset | records | injected | true pairs | precision | recall |")
    for path, c in zip(held_paths, held, strict=True):
        s = evaluate(c, chosen, misses, unknown)
        total = total + s
        n_inj = sum(1 for k in c.injected if k)
        print(f"| {path.name.removesuffix('.csv.gz')} | {len(c.records)} | {n_inj} | "
              f"{s.tp + s.fn} | {s.precision:.4f} | {s.recall:.4f} |")
    kinds = Counter(k for c in held for ks in c.injected for k in ks)
    print("\nmissed true pairs by variation kind (a pair counts once per kind it carries):")
    for kind in VARIATIONS:
        print(f"  {kind:<20} injected {kinds[kind]:>5}   in missed pairs {misses[kind]:>4}")
    print(f"\nfalse-positive pairs of unknown truth (two originals the dedup links, or their "
          f"copies): {total.fp_original_pairs}; examples of the original pairs:")
    for a, b in unknown[:12]:
        print(f"  - {a.title[:70]!r} {a.year} {a.first_author!r} pmid={a.pmid} doi={a.doi}")
        print(f"    {b.title[:70]!r} {b.year} {b.first_author!r} pmid={b.pmid} doi={b.doi}")

    scale: dict[str, float] = {}
    if not args.skip_scale:
        out = subprocess.run(
            [sys.executable, __file__, "--scale-child", "--data", str(args.data),
             "--size", str(args.size), "--seed", str(args.seed)],
            check=True, capture_output=True, text=True,
        )
        scale = json.loads(out.stdout.strip().splitlines()[-1])

    print("\n| measure (held-out unless noted)              |    target |     measured | status |")
    print("|----------------------------------------------|-----------|--------------|--------|")
    print(_row("pairwise precision (strict)", f">= {TARGET_PRECISION}",
               f"{total.precision:.4f}", total.precision >= TARGET_PRECISION))
    print(_row("pairwise precision (unknown-truth pairs left out)", f">= {TARGET_PRECISION}",
               f"{total.precision_excl_unknown:.4f}",
               total.precision_excl_unknown >= TARGET_PRECISION))
    print(_row("pairwise recall", f">= {TARGET_RECALL}", f"{total.recall:.4f}",
               total.recall >= TARGET_RECALL))
    print(_row("true pairs / found / false positives", "", f"{total.tp + total.fn}/"
               f"{total.tp}/{total.fp}"))
    print(_row("pairwise precision (cleaned base data)", f">= {TARGET_PRECISION}",
               f"{total_clean.precision:.4f}", total_clean.precision >= TARGET_PRECISION))
    print(_row("pairwise recall (cleaned base data)", f">= {TARGET_RECALL}",
               f"{total_clean.recall:.4f}", total_clean.recall >= TARGET_RECALL))
    print(_row("  cleaned: true pairs / found / false positives", "",
               f"{total_clean.tp + total_clean.fn}/{total_clean.tp}/{total_clean.fp}"))
    print(_row("  cleaned: base records dropped before injecting", "", f"{dropped:,}"))
    if scale:
        print(_row(f"dedup time, {int(scale['records']):,} records (s)", "<= 60",
                   f"{scale['seconds']:.1f}", scale["seconds"] <= 60))
        print(_row("  CPU time of the dedup (s)", "", f"{scale['cpu_seconds']:.1f}"))
        print(_row("  1-min load average during the run (2 cores)", "",
                   f"{scale['load_average']:.1f}"))
        print(_row("peak memory, whole process (MiB)", "<= 1536", f"{scale['peak_mib']:.0f}",
                   scale["peak_mib"] <= 1536))
        print(_row("  of which before dedup: data loading (MiB)", "",
                   f"{scale['peak_before_dedup_mib']:.0f}"))
        print(_row("clusters found at 100k", "", f"{int(scale['clusters']):,}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
