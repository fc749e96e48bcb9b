"""A protocol's ranking settings -> the model configuration a review ranks with.

One place decides which `ranking:` settings a review can use, so that `protocol check`,
`init` and `protocol amend` refuse what `rank` would refuse (`ranking_problems`, passed to
the protocol loader), with the same words; and reads a protocol file with them
(`read_protocol`). Light: imports only `screener.ranking.config` (standard library), and
the protocol loader where it reads a file; never scikit-learn. Must not import textual,
click or sqlalchemy (`protocol check` comes here for `read_protocol`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screener.ranking.config import MODELS, ModelConfig

if TYPE_CHECKING:
    from screener.core.protocol import Protocol

MODEL_ALIASES = {"default": "screener-lr"}
"""Names a protocol may use for a preset."""

REVIEW_MODELS = ("default", "screener-lr", "elas-u4")
"""The models a review can rank with (screener-lr-minilm is for `simulate` only)."""

EMBEDDINGS_REFUSED = (
    "uses sentence embeddings, which only `screener simulate` supports so far (embedding a "
    "review's records takes minutes to hours on a CPU). Use `model: default` (or "
    "screener-lr, elas-u4) in `ranking:` of the protocol")


class EmbeddingsRefused(ValueError):
    """The settings ask for sentence embeddings, which a review cannot rank with yet."""


def config_from_settings(model: str, seed: int, cold_start: bool,
                         params: Mapping[str, Any]) -> ModelConfig:
    """The model configuration for a protocol's ranking settings; `ValueError` (a message
    for the user) when a review cannot rank with them."""
    name = MODEL_ALIASES.get(model, model)
    if name not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(REVIEW_MODELS)}")
    config = ModelConfig.from_settings(name, seed, {**params, "cold_start": cold_start})
    if config.embedding_weight > 0:
        raise EmbeddingsRefused(f"ranking model {model!r} {EMBEDDINGS_REFUSED}")
    return config


def ranking_problems(ranking: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What `config_from_settings` refuses in a protocol's `ranking:` mapping as written,
    each problem with its path below `ranking`: the model, then each parameter on its own
    (so one check names every bad one). Values of the wrong shape are left to the schema."""
    model = ranking.get("model", "default")
    seed = ranking.get("seed", 42)
    seed = seed if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 else 42
    cold_start = ranking.get("cold_start", True)
    cold_start = cold_start if isinstance(cold_start, bool) else True
    params = ranking.get("params", {})
    params = params if isinstance(params, Mapping) else {}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(model, str):
        try:
            config_from_settings(model, seed, cold_start, {})
        except ValueError as exc:
            problems.append((("model",), str(exc)))
            model = "default"
    else:
        model = "default"
    for key, value in params.items():
        try:
            config_from_settings(model, seed, cold_start, {key: value})
        except ValueError as exc:
            problems.append((("params", key), str(exc)))
    if not problems:
        try:
            config_from_settings(model, seed, cold_start, params)
        except ValueError as exc:
            problems.append((("params",), str(exc)))
    return problems


def read_protocol(path: Path) -> tuple[Protocol, str]:
    """Read a protocol file with every check, the ranking settings' included (as `rank`
    would refuse them): what `protocol check`, `init` and `protocol amend` accept. Returns
    the protocol and its text as a review stores it (no BOM, LF line endings). Here, not in
    `review`, so that `protocol check` loads no database layer."""
    from screener.protocol import read_protocol_file

    return read_protocol_file(path, ranking_check=ranking_problems)
