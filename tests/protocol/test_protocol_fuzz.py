"""Property-based tests: whatever text a protocol file holds, loading it gives a Protocol or
a ProtocolError with located problems — never another exception."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.core.protocol import Protocol
from screener.protocol import ProtocolError, load_protocol_text

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [p.read_text(encoding="utf-8") for p in sorted((REPO / "protocols").glob("*.yaml"))]
EXAMPLES = int(os.environ.get("SCREENER_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=max(EXAMPLES, settings().max_examples), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _load(text: str) -> None:
    try:
        assert isinstance(load_protocol_text(text, "fuzz.yaml"), Protocol)
    except ProtocolError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        assert "fuzz.yaml" in str(exc)


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    _load(text)


@FUZZ
@given(st.sampled_from(SHIPPED), st.integers(0, 10_000), st.integers(0, 60), st.text(max_size=20))
def test_mutated_shipped_protocols(base: str, at: int, cut: int, insert: str) -> None:
    at %= len(base) + 1
    _load(base[:at] + insert + base[at + cut:])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)


@FUZZ
@given(st.dictionaries(st.sampled_from(["title", "criteria", "exclusion_reasons", "screening",
                                        "stopping", "highlight", "keys", "ranking", "searches",
                                        "question", "stages", "x"]),
                       json_values, max_size=8))
def test_structured_garbage(data: dict[str, object]) -> None:
    _load(yaml.safe_dump(data, allow_unicode=True))
