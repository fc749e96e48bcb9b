"""Simulation use case: replay a screening with known labels (`screener simulate`).

Must not import textual, click or sqlalchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from screener.workflow.review import ReviewError


def run_simulation(path: Path, *, seed: int = 42, prior_ids: Sequence[str] = (),
                   n_prior_included: int = 1, n_prior_excluded: int = 1,
                   stop_after: int | None = None, model: str = "default",
                   protocol_file: Path | None = None, output: Path | None = None,
                   plot: Path | None = None, force: bool = False) -> Any:
    """Run one simulation; write JSON and plot when asked. Returns the SimulationResult."""
    from screener.ranking import ModelConfig
    from screener.ranking.simulate import load_dataset, save_plot, simulate
    from screener.workflow.ranking import MODEL_ALIASES

    if not path.exists():
        raise ReviewError(f"{path}: no such file")
    for out in (output, plot):
        if out is not None and not out.parent.exists():
            raise ReviewError(f"{out.parent}: no such folder for the output")
        if out is not None and out.exists() and not force:
            raise ReviewError(f"{out} exists; pass --force to replace it")
    try:
        dataset = load_dataset(path)
    except (ValueError, KeyError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ReviewError(f"{path}: cannot read the dataset ({exc}); it must be a CSV (or "
                          "CSV.gz) with record_id,title,abstract,...,label_included") from None
    if not any(dataset.labels):
        raise ReviewError(f"{path}: no record has label_included = 1; nothing to find")
    known = set(dataset.record_ids)
    missing = [p for p in prior_ids if p not in known]
    if missing:
        raise ReviewError(f"--prior {', '.join(missing)}: no such record_id in {path.name}")
    protocol_text = ""
    if protocol_file is not None:
        from screener.protocol import read_protocol_file

        proto, _ = read_protocol_file(protocol_file)
        protocol_text = "\n".join([proto.title, *(t for _, t in proto.question),
                                   proto.criteria_text(), *proto.highlight.include])
    try:
        config = ModelConfig.from_settings(MODEL_ALIASES.get(model, model), seed, {})
    except ValueError as exc:
        raise ReviewError(f"--model: {exc}") from None
    try:
        result = simulate(dataset, seed=seed, prior_ids=list(prior_ids) or None,
                          n_prior_included=n_prior_included, n_prior_excluded=n_prior_excluded,
                          stop_after=stop_after, model_config=config,
                          protocol_text=protocol_text)
    except ValueError as exc:
        raise ReviewError(f"cannot simulate {path.name}: {exc}") from None
    if output is not None:
        output.write_text(result.to_json(), encoding="utf-8")
    if plot is not None:
        save_plot(result, dataset, plot)
    return result
