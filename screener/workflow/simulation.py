"""Simulation use case: replay a screening with known labels (`screener simulate`).

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from screener.core.protocol import StoppingRule
from screener.core.wording import counted
from screener.storage import INT_MAX
from screener.workflow.review import ReviewError


def run_simulation(path: Path | str, *, seed: int = 42, prior_ids: Sequence[str] = (),
                   n_prior_included: int = 1, n_prior_excluded: int = 1,
                   stop_after: int | None = None, model: str = "default",
                   protocol_file: Path | str | None = None, output: Path | str | None = None,
                   plot: Path | str | None = None, force: bool = False,
                   notice: Callable[[str], None] | None = None) -> Any:
    """Run one simulation; write JSON and plot when asked. Returns the SimulationResult.
    `notice` is given, before the run (which may take hours), what the user should know
    about the dataset (`row_order_note`). Paths may be given as str."""
    path = Path(path)
    protocol_file, output, plot = (None if p is None else Path(p)
                                   for p in (protocol_file, output, plot))
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= INT_MAX:
        # (as --seed: a seed a review's 32-bit columns store; numpy's own words were others)
        raise ReviewError(f"seed {seed!r} is not a seed: give a whole number from 0 to "
                          f"{INT_MAX}")
    from screener.ranking import ModelConfig
    from screener.ranking.simulate import (
        PLOT_FORMATS,
        DamagedGzip,
        load_dataset,
        save_plot,
        simulate,
        with_stopping,
    )
    from screener.workflow.model_settings import MODEL_ALIASES
    from screener.workflow.ranking import protocol_text_of
    from screener.workflow.reporting import check_output, check_writable, write_all_atomic

    if path.is_dir():
        raise ReviewError(f"{path} is a folder; give the dataset's CSV (or CSV.gz) file")
    if not path.is_file():
        raise ReviewError(f"{path}: no such file")
    for out, option in ((output, "--out"), (plot, "--plot")):
        if out is not None:
            if out.resolve() == path.resolve():
                raise ReviewError(f"{option} {out} is the dataset itself; give another file "
                                  "(not even --force writes over the input)")
            check_output(out, force, option)
            check_writable(out, option)  # before the run, which may take hours
    if output is not None and plot is not None and output.resolve() == plot.resolve():
        raise ReviewError(f"--out and --plot are both {output}; give two files")
    plot_format = None
    if plot is not None:
        plot_format = plot.suffix.lstrip(".").lower()
        if plot_format not in PLOT_FORMATS:
            raise ReviewError(f"--plot {plot}: the file name must end in "
                              f"{', '.join('.' + f for f in PLOT_FORMATS)} (the format)")
    try:
        dataset = load_dataset(path)
    except ValueError as exc:  # names the line and what to do about it
        raise ReviewError(f"{path}, {exc}") from None
    except DamagedGzip as exc:
        raise ReviewError(f"{path}: {exc}; download or compress the file again") from None
    except (OSError, EOFError) as exc:
        raise ReviewError(f"{path}: cannot read the dataset ({exc}); it must be a CSV (or "
                          "CSV.gz) with record_id,title,abstract,...,label_included") from None
    if not dataset.labels:
        raise ReviewError(f"{path}: the file has no records, only its header; nothing to "
                          "simulate")
    if not any(dataset.labels):
        raise ReviewError(f"{path}: no record has label_included = 1; nothing to find")
    known = set(dataset.record_ids)
    missing = [p for p in prior_ids if p not in known]
    if missing:
        raise ReviewError(f"--prior {', '.join(missing)}: no such record_id in {path.name}")
    repeated = sorted({p for p in prior_ids if list(prior_ids).count(p) > 1})
    if repeated:
        raise ReviewError(f"--prior {', '.join(repeated)} given more than once; give each "
                          "prior record once")
    label_of = dict(zip(dataset.record_ids, dataset.labels, strict=True))
    if prior_ids and sum(label_of[p] for p in prior_ids) == sum(dataset.labels):
        raise ReviewError(f"the priors include every relevant record of {path.name}; "
                          "nothing would be left to find: leave one out of --prior")
    relevant = sum(dataset.labels)
    if not prior_ids and n_prior_included >= relevant:
        raise ReviewError(
            f"{path.name} has {counted(relevant, 'relevant record')} and --n-prior-included "
            f"{n_prior_included} would take them all as priors, leaving nothing to find: "
            + (f"give --n-prior-included {relevant - 1} or less (0: a cold start)"
               if relevant > 1 else "give --n-prior-included 0 (a cold start)"))
    irrelevant = len(dataset.labels) - relevant
    if not prior_ids and n_prior_excluded > irrelevant:
        raise ReviewError(
            f"{path.name} has "
            + (f"{counted(irrelevant, 'irrelevant record')} and --n-prior-excluded "
               f"{n_prior_excluded} asks for more: give --n-prior-excluded {irrelevant} or "
               "less" if irrelevant else
               "no irrelevant record (every record has label_included = 1), so none can be "
               "drawn as an excluded prior: give --n-prior-excluded 0"))
    note = row_order_note(dataset.without_text)
    if note and notice is not None:
        notice(note)
    protocol_text = ""
    params: dict[str, object] = {}
    rule, source = StoppingRule(), "defaults"  # the protocol's defaults, as the loader's
    if protocol_file is not None:
        from screener.workflow.review import read_protocol

        proto, _ = read_protocol(protocol_file)  # (its ranking: checked as `init` checks it)
        protocol_text = protocol_text_of(proto)  # as a review's cold start uses it
        params = dict(proto.ranking.params)  # e.g. protocol_include, as a review uses them
        rule, source = proto.stopping, protocol_file.name
    try:
        config = ModelConfig.from_settings(MODEL_ALIASES.get(model, model), seed, params)
    except ValueError as exc:
        where = (f"--model {model} with the ranking params of {protocol_file}" if params
                 else "--model")
        raise ReviewError(f"{where}: {exc}") from None
    try:
        result = simulate(dataset, seed=seed, prior_ids=list(prior_ids) or None,
                          n_prior_included=n_prior_included, n_prior_excluded=n_prior_excluded,
                          stop_after=stop_after, model_config=config,
                          protocol_text=protocol_text)
    except ValueError as exc:
        if "0 feature(s)" in str(exc):
            raise ReviewError(f"cannot simulate {path.name}: its records have no words to "
                              "learn from (titles and abstracts empty, or only stop words); "
                              "check the title and abstract columns") from None
        raise ReviewError(f"cannot simulate {path.name}: {exc}") from None
    result = with_stopping(result, rule, source)  # where the protocol's rule says stop
    result = replace(result, run=_how_run(dataset, path, protocol_file, params,
                                          drawn=None if prior_ids else (n_prior_included,
                                                                        n_prior_excluded)))
    writes: list[tuple[Path, Callable[[Path], None], str]] = []
    if output is not None:
        text = result.to_json()

        def write_json(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        writes.append((output, write_json, "--out"))
    if plot is not None:
        writes.append((plot, lambda tmp: save_plot(result, dataset, tmp, plot_format),
                       "--plot"))
    write_all_atomic(writes)  # both or neither
    return result


def row_order_note(without_text: int) -> str:
    """What to know when records have neither title nor abstract: they score alike, and the
    tie-break (keyed by row) orders them ("" for fewer than two such records)."""
    if without_text < 2:
        return ""
    return (f"note: {counted(without_text, 'record')} have no title or abstract; their order "
            "among themselves follows the file's row order (a copy of the file sorted "
            "otherwise can give another run)")


def _how_run(dataset: Any, path: Path, protocol_file: Path | None, params: dict[str, object],
             drawn: tuple[int, int] | None) -> dict[str, Any]:
    """What an output needs to be read alone (SimulationResult.run): the version, the date,
    the dataset's and the protocol's files and checksums, the protocol's ranking params and
    how the priors were chosen (`drawn`: the --n-prior-* counts, None when given)."""
    from screener import __version__

    return {
        "screener_version": __version__,
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset_path": str(path.resolve()),
        "dataset_sha256": dataset.sha256,
        "priors_drawn": drawn is not None,
        "n_prior_included": drawn[0] if drawn else None,
        "n_prior_excluded": drawn[1] if drawn else None,
        "protocol_file": str(protocol_file.resolve()) if protocol_file else None,
        "protocol_sha256": (hashlib.sha256(protocol_file.read_bytes()).hexdigest()
                            if protocol_file else None),
        "ranking_params": params,
        "records_without_text": dataset.without_text,
    }
