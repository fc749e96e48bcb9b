"""Screening simulation on a labelled dataset: how soon would the relevant records appear?

`simulate` replays a review: priors are labelled, then after every label the model is
retrained and the best unlabelled record is "screened" (its known label revealed), until
every relevant record has been found (or `stop_after`). `load_dataset` reads the shared
labelled CSV / CSV.gz format (detected from content, not the suffix); `save_plot` draws
recall against records screened beside random order and the best possible order (SVG).

Imports: numpy, scipy, scikit-learn, matplotlib (inside `save_plot` only) and
screener.core/ranking; never sqlalchemy, textual, click, yaml.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from screener.core.labels import LABELS_READ, label_value
from screener.core.protocol import StoppingRule
from screener.core.wording import plural
from screener.ranking.config import ModelConfig
from screener.ranking.derived import model_matrix
from screener.ranking.features import FeatureSet, fit_features, record_text
from screener.ranking.metrics import all_metrics
from screener.ranking.model import fit_scores, protocol_similarity, with_protocol

HEADER = ("record_id", "title", "abstract", "authors", "year", "journal", "doi", "pmid",
          "label_included")


class DamagedGzip(OSError):
    """The dataset is gzip-compressed but cannot be decompressed (cut short, corrupted)."""


@dataclass(frozen=True)
class Dataset:
    """A fully labelled review used for simulation."""

    name: str
    """Dataset name (file name without .csv/.csv.gz)."""
    record_ids: tuple[str, ...]
    """Identifier of each record, as in the file."""
    titles: tuple[str, ...]
    abstracts: tuple[str, ...]
    labels: tuple[int, ...]
    """1 = included, 0 = excluded."""
    file_name: str = ""
    """The file it was read from, without its folder ("" when not read from a file)."""
    sha256: str = ""
    """sha256 of the file's bytes as read (compressed or not; "" when not read from a file)."""

    @property
    def texts(self) -> list[str]:
        """Text per record used for features (title + abstract)."""
        return [record_text(t, a) for t, a in zip(self.titles, self.abstracts, strict=True)]

    def __len__(self) -> int:
        return len(self.record_ids)

    @property
    def without_text(self) -> int:
        """Records with neither title nor abstract (their scores tie: the tie-break, keyed by
        row, orders them)."""
        return sum(1 for t, a in zip(self.titles, self.abstracts, strict=True)
                   if not t.strip() and not a.strip())


REQUIRED_COLUMNS = ("record_id", "title", "abstract", "label_included")
def _decoded(raw: bytes) -> str:
    """The file's text; bytes that are not UTF-8 are refused naming their line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValueError(f"line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 (the file "
                         "was saved in another encoding, such as Windows-1252); save it as "
                         "UTF-8 (Excel: CSV UTF-8) and try again") from None


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(the line the record starts on, its fields) for each record; blank lines skipped.
    A quote never closed (the parser read the rest of the file into one value) is refused
    naming the line where its record starts."""
    lines = io.StringIO(text, newline="").readlines()  # the lines as csv counts them
    reader = csv.reader(lines)
    end = 0
    for fields in reader:
        start, end = end + 1, reader.line_num
        if not fields:
            continue
        while not lines[start - 1].strip():  # blank lines before the record
            start += 1
        if end > start and end == len(lines) and "".join(lines[start - 1:]).count('"') % 2:
            raise ValueError(f"line {start}: a quote opens in this record and is never closed "
                             "(the rest of the file was read into one value); close it, or "
                             "double a quote inside a quoted value (\"\")")
        yield start, fields


def load_dataset(path: str | Path) -> Dataset:
    """Read a labelled CSV or gzip-compressed CSV with the shared header. Every problem is
    a ValueError that names the line where its record starts: bytes that are not UTF-8, a
    header separated by semicolons or tabs, a row with more or fewer fields than the header
    (its columns have shifted), a quote that is never closed, a bad id or label; gzip data
    that will not decompress is a DamagedGzip."""
    p = Path(path)
    raw = p.read_bytes()
    checksum = hashlib.sha256(raw).hexdigest()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # cut short, bad CRC, bad deflate data
            raise DamagedGzip(f"the gzip file is damaged ({exc})") from exc
    csv.field_size_limit(sys.maxsize)
    rows = _rows(_decoded(raw))
    top, header = next(rows, (1, []))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        for sep, name in ((";", "semicolon"), ("\t", "tab")):
            if len(header) == 1 and set(missing) <= {c.strip() for c in header[0].split(sep)}:
                raise ValueError(f"line {top}: the header looks {name}-separated; the file "
                                 "must be comma-separated (save it as CSV with commas)")
        raise ValueError(f"line {top}: missing {plural(len(missing), 'column')} "
                         f"{', '.join(missing)}; the header "
                         f"must have {','.join(REQUIRED_COLUMNS)}")
    at = {c: header.index(c) for c in REQUIRED_COLUMNS}
    ids, titles, abstracts, labels = [], [], [], []
    first_line: dict[str, int] = {}
    for line, fields in rows:
        if len(fields) != len(header):
            raise ValueError(f"line {line}: {len(fields)} fields where the header has "
                             f"{len(header)}: the columns have shifted (a comma in a value "
                             "that is not in quotes?); quote such values or fix the row")
        record_id = fields[at["record_id"]].strip()
        if not record_id:
            raise ValueError(f"line {line}: record_id is empty; every record needs one")
        if record_id in first_line:
            raise ValueError(f"line {line}: record_id {record_id!r} is also on line "
                             f"{first_line[record_id]}; record ids must be unique")
        first_line[record_id] = line
        label = label_value(fields[at["label_included"]])
        if label is None:  # read as `import --labels-as` reads a label column
            text = fields[at["label_included"]].strip()
            shown = repr(text) if text else "empty"
            raise ValueError(f"line {line}: label_included is {shown}; every record needs "
                             f"a label, one of {LABELS_READ}")
        ids.append(record_id)
        titles.append(fields[at["title"]])
        abstracts.append(fields[at["abstract"]])
        labels.append(label)
    name = p.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return Dataset(name, tuple(ids), tuple(titles), tuple(abstracts), tuple(labels), p.name,
                   checksum)


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of one simulation."""

    order: tuple[str, ...]
    """record_ids in the order presented (priors excluded)."""
    labels_in_order: tuple[int, ...]
    """Their labels (1/0)."""
    prior_ids: tuple[str, ...]
    """record_ids of the priors (labelled before the first step)."""
    metrics: dict[str, Any]
    """wss95, wss100, recall_at_10pct, atd, n_screened_at_95, ... (see metrics.py)."""
    config: dict[str, Any]
    """ModelConfig.to_dict() of the model used."""
    config_hash: str
    timings: dict[str, float]
    """features_s, simulation_s, total_s, step_s_mean, step_s_max (seconds)."""
    dataset: str = ""
    """Dataset name (file name without .csv/.csv.gz)."""
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    dataset_file: str = ""
    """The dataset's file name ("" when it was not read from a file)."""
    stopping: dict[str, Any] = field(default_factory=dict)
    """The stopping rule replayed (`stopping_section`; empty until it is added)."""
    run: dict[str, Any] = field(default_factory=dict)
    """How the run was made, so that an output can be read alone (`run_simulation` fills
    it): screener_version, date_utc, dataset_path, dataset_sha256, priors_drawn,
    n_prior_included and n_prior_excluded (None when the priors were given), protocol_file
    and protocol_sha256 (None without one), ranking_params (the protocol's `ranking:
    params:`), records_without_text."""

    def header(self) -> dict[str, Any]:
        """What was run: dataset, dataset_file, seed, prior_ids and the keys of `run`."""
        return {"dataset": self.dataset, "dataset_file": self.dataset_file,
                "seed": self.seed, "prior_ids": list(self.prior_ids), **self.run}

    def model_label(self) -> str:
        """The model's name, with the protocol's ranking params when they set any:
        'screener-lr (protocol_include 2 from pinc.yaml)'."""
        name = str(self.config.get("name", "model"))
        params = self.run.get("ranking_params") or {}
        if not params:
            return name
        shown = ", ".join(f"{key} {value}" for key, value in params.items())
        where = Path(str(self.run.get("protocol_file") or "")).name
        return f"{name} ({shown}{f' from {where}' if where else ''})"

    def priors_label(self) -> str:
        """How the priors were chosen: 'drawn: 1 included, 1 excluded' (with the seed) or
        'given with --prior' ("" when the run does not say)."""
        if "priors_drawn" not in self.run:
            return ""
        if not self.run["priors_drawn"]:
            return "given with --prior"
        return (f"drawn: {self.run['n_prior_included']} included, "
                f"{self.run['n_prior_excluded']} excluded")

    def made_by(self) -> str:
        """Version, date and checksums in one line: 'screener 0.1.0, 2026-11-29T20:44:29Z;
        dataset sha256 0123456789ab; protocol pinc.yaml sha256 ba9876543210'."""
        parts = [f"screener {self.run.get('screener_version', '?')}, "
                 f"{self.run.get('date_utc', '?')}"]
        if self.run.get("dataset_sha256"):
            parts.append(f"dataset sha256 {self.run['dataset_sha256'][:12]}")
        if self.run.get("protocol_file"):
            parts.append(f"protocol {Path(self.run['protocol_file']).name} sha256 "
                         f"{self.run['protocol_sha256'][:12]}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.header(),
            "order": list(self.order),
            "metrics": self.metrics,
            "model": {**self.config, "hash": self.config_hash},
            "timings": self.timings,
            "stopping": self.stopping,
        }

    def to_json(self) -> str:
        """JSON with keys dataset, dataset_file, seed, prior_ids, the keys of `run`, order,
        metrics, model, timings, stopping."""
        return json.dumps(self.to_dict(), indent=1)


def choose_priors(dataset: Dataset, seed: int, n_included: int, n_excluded: int) -> list[int]:
    """Row indices of randomly drawn priors (one generator from `seed`)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(dataset.labels)
    inc = np.flatnonzero(y == 1)
    exc = np.flatnonzero(y == 0)
    if n_included > len(inc) or n_excluded > len(exc):
        raise ValueError(f"the priors ask for {n_included} included and {n_excluded} "
                         f"excluded records; the dataset has {len(inc)} and {len(exc)}")
    chosen = list(rng.choice(inc, n_included, replace=False)) + list(
        rng.choice(exc, n_excluded, replace=False))
    return [int(i) for i in chosen]


def next_record(scores: np.ndarray, labelled: np.ndarray, tiebreak: np.ndarray) -> int:
    """The unlabelled row with the highest score ("max" query); among equal scores the one
    with the lower `tiebreak` key (tiny, scaled to the scores' size)."""
    scale = max(float(np.abs(scores[np.isfinite(scores)]).max()), 1.0)
    prio = scores - tiebreak * scale
    prio[labelled] = -np.inf
    return int(np.argmax(prio))


def simulate(
    dataset: Dataset,
    *,
    seed: int,
    prior_ids: Sequence[str | int] | None = None,
    n_prior_included: int = 1,
    n_prior_excluded: int = 1,
    stop_after: int | None = None,
    model_config: ModelConfig | None = None,
    protocol_text: str = "",
    features: FeatureSet | None = None,
    stop_at_last_relevant: bool = True,
    embeddings: np.ndarray | None = None,
) -> SimulationResult:
    """Replay screening of `dataset` with the model of `model_config` (default preset
    'screener-lr' with `seed`).

    Priors are the records `prior_ids` (record_id strings; ints are compared as strings)
    or, if None, `n_prior_included` includes and `n_prior_excluded` excludes drawn with
    `seed`. Each step retrains on every label so far and presents the highest-priority
    unlabelled record (ties broken by a seeded permutation); before the first include,
    cold start by `protocol_text` similarity applies if given. Stops after the last
    relevant record (if `stop_at_last_relevant`), after `stop_after` records, or when the
    pool is exhausted. A model with `embedding_weight` > 0 uses `embeddings` (one row per
    record) or computes them (`embeddings.embed_texts`, counted in `features_s`).
    """
    t0 = time.perf_counter()
    cfg = model_config or ModelConfig.from_settings("screener-lr", seed, {})
    cfg.validate()
    y_all = np.asarray(dataset.labels, dtype=np.int64)
    n = len(y_all)
    if prior_ids is not None:
        index = {rid: i for i, rid in enumerate(dataset.record_ids)}
        try:
            priors = [index[str(p)] for p in prior_ids]
        except KeyError as exc:
            raise ValueError(f"prior record {exc.args[0]!r} not in dataset") from exc
    else:
        priors = choose_priors(dataset, seed, n_prior_included, n_prior_excluded)
    t_feat = time.perf_counter()
    feats = features if features is not None else fit_features(dataset.texts, cfg)
    if cfg.embedding_weight > 0 and embeddings is None:
        from screener.ranking.embeddings import embed_texts

        embeddings = embed_texts(dataset.texts)
    features_s = time.perf_counter() - t_feat
    X = model_matrix(feats, cfg, embeddings)
    labelled = np.zeros(n, dtype=bool)
    labelled[priors] = True
    lab_rows: list[int] = list(priors)
    n_relevant_pool = int(y_all.sum() - y_all[priors].sum())
    rng = np.random.default_rng(seed)
    # Fixed tie-break: among equal scores, the lower random key wins.
    tiebreak = rng.random(n) * 1e-12
    by_index = cfg.to_dict().get("name") == "elas-u4"  # ASReview's own tie order
    cold = protocol_similarity(feats, protocol_text) if (
        cfg.cold_start and protocol_text.strip()) else None
    order: list[int] = []
    step_times: list[float] = []
    found = 0
    limit = n - len(priors) if stop_after is None else min(stop_after, n - len(priors))
    t_sim = time.perf_counter()
    while len(order) < limit:
        ts = time.perf_counter()
        y_lab = y_all[lab_rows]
        n_inc = int(y_lab.sum())
        if 0 < n_inc < len(y_lab):
            unl = np.flatnonzero(~labelled) if cfg.pseudo_negatives else None
            Xp, rows_p, y_p = with_protocol(feats, X, protocol_text, cfg,
                                            np.asarray(lab_rows), y_lab)
            scores = fit_scores(Xp, rows_p, y_p, cfg, rng, unl)[:n]
        elif cold is not None and n_inc == 0:
            scores = cold.copy()
        else:
            scores = np.zeros(n)
        if by_index:
            # ASReview's "max" query: a stable sort of the pool, so among equal scores
            # (identical records) the lowest row comes first
            prio = np.where(labelled, -np.inf, scores)
            best = int(np.argmax(prio))
        else:
            best = next_record(scores, labelled, tiebreak)
        step_times.append(time.perf_counter() - ts)
        order.append(best)
        labelled[best] = True
        lab_rows.append(best)
        found += int(y_all[best])
        if stop_at_last_relevant and found >= n_relevant_pool and stop_after is None:
            break
    sim_s = time.perf_counter() - t_sim
    labels_in_order = [int(y_all[i]) for i in order]
    metrics = all_metrics(labels_in_order, n - len(priors), n_relevant_pool)
    timings = {
        "features_s": features_s,
        "simulation_s": sim_s,
        "total_s": time.perf_counter() - t0,
        "step_s_mean": float(np.mean(step_times)) if step_times else 0.0,
        "step_s_max": float(np.max(step_times)) if step_times else 0.0,
    }
    return SimulationResult(
        order=tuple(dataset.record_ids[i] for i in order),
        labels_in_order=tuple(labels_in_order),
        prior_ids=tuple(dataset.record_ids[i] for i in priors),
        metrics=metrics,
        config=cfg.to_dict(),
        config_hash=cfg.hash(),
        timings=timings,
        dataset=dataset.name,
        seed=seed,
        dataset_file=dataset.file_name,
    )


STOP_RULES = ("stopping_test", "safe_checklist", "consecutive_irrelevant")
"""The keys of `with_stopping`'s section, one per rule, in the order `stop_points` gives."""


def with_stopping(result: SimulationResult, rule: StoppingRule, source: str
                  ) -> SimulationResult:
    """`result` with its `stopping` section: the settings of `rule` (and `source`, where
    they come from) and, for the stopping test, the SAFE checklist and the run of
    irrelevant records, where each first says stop (`stopping.stop_points` over the pool;
    the SAFE item of key papers is taken as met, as a simulation has none: its priors are
    known from the start)."""
    from screener.ranking.stopping import stop_points

    n_pool = int(result.metrics["n_pool"])
    points = stop_points(result.labels_in_order, n_pool, int(result.metrics["n_pool_included"]),
                         recall_target=rule.recall_target, confidence=rule.confidence,
                         consecutive_threshold=rule.consecutive_irrelevant,
                         min_fraction=rule.min_screened_fraction)
    settings = {"from": source, "recall_target": rule.recall_target,
                "confidence": rule.confidence,
                "consecutive_irrelevant": rule.consecutive_irrelevant,
                "min_screened_fraction": rule.min_screened_fraction}
    return replace(result, stopping={
        "rule": settings, **{key: p.to_dict() for key, p in zip(STOP_RULES, points, strict=True)}})


def recall_curve(labels_in_order: Sequence[int], n_relevant: int) -> list[float]:
    """Recall after each presented record."""
    out, found = [], 0
    for y in labels_in_order:
        found += y
        out.append(found / n_relevant if n_relevant else 0.0)
    return out


PLOT_FORMATS = ("svg", "png", "pdf")


def save_plot(result: SimulationResult, dataset: Dataset, path: str | Path,
              fmt: str | None = None) -> None:
    """Recall vs records screened, with random-order and best-possible curves, as `fmt`
    (one of PLOT_FORMATS; default: the suffix of `path`, else SVG)."""
    # A Figure of its own on the Agg canvas: pyplot and matplotlib.use would switch the
    # caller's backend (a notebook's inline plots) and keep the figure in pyplot's list
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_pool = int(result.metrics.get("n_pool") or (len(dataset) - len(result.prior_ids)))
    r = int(result.metrics.get("n_pool_included") or sum(result.labels_in_order))
    xs = list(range(1, len(result.labels_in_order) + 1))
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(xs, recall_curve(result.labels_in_order, r), label=result.model_label())
    ax.plot([0, n_pool], [0, 1], linestyle="--", color="grey", label="random order")
    ax.plot([0, r, n_pool], [0, 1, 1], linestyle=":", color="black", label="best possible")
    ax.axhline(0.95, color="red", linewidth=0.5, label="95 % recall")
    stop = result.stopping.get("stopping_test", {}).get("screened")
    if stop is not None:
        ax.axvline(stop, color="green", linestyle="-.", linewidth=1,
                   label=f"stopping test says stop ({stop:,} screened)")
    ax.set_xlabel("records screened")
    ax.set_ylabel("recall")
    ax.set_xlim(0, n_pool)
    ax.set_ylim(0, 1.02)
    wss95 = result.metrics.get("wss95")
    priors = result.priors_label()
    title = (f"{dataset.name}: {result.model_label()}, seed {result.seed}"
             + (f"\npriors {priors}" if priors else "")
             + f"; N = {n_pool:,}, R = {r:,}"
             + (f", WSS@95 = {wss95:.3f}" if isinstance(wss95, float) else ""))
    # every text drawn as written (`parse_math` off, as the PRISMA diagram does): the
    # dataset's and protocol's file names are a user's, and "cost$_2020$.csv" was typeset
    # as math, or stopped the plot where it was no valid math
    ax.set_title(title, fontsize=9, parse_math=False)
    for text in ax.legend(loc="lower right", fontsize=8).get_texts():
        text.set_parse_math(False)
    fig.text(0.01, 0.005, result.made_by(), fontsize=6, color="grey", va="bottom",
             parse_math=False)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(str(path), format=fmt or Path(path).suffix.lstrip(".").lower() or "svg")
