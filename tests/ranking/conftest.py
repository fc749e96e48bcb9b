"""Shared fixtures for the ranking tests (no access to /work/shared needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.ranking.simulate import Dataset, load_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "ranking"


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    return load_dataset(DATA / "CLEF2017_CD008760.csv.gz")
