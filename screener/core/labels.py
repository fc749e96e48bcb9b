"""Screening labels as files write them: 1/0, yes/no, true/false, include/exclude.

One reading for every reader: `import --labels-as` (screener.importers.labels) and
`simulate`'s datasets (screener.ranking.simulate). Standard library only.
"""

from __future__ import annotations

from typing import Any

from screener.core.decisions import Label

INCLUDE_WORDS = frozenset({"1", "1.0", "yes", "y", "true", "t", "include", "included",
                           "relevant", "i"})
EXCLUDE_WORDS = frozenset({"0", "0.0", "no", "n", "false", "f", "exclude", "excluded",
                           "irrelevant", "e"})
"""Label texts (compared without surrounding spaces, in any case); 1.0 and 0.0 as pandas
writes an integer column with a missing value."""

LABELS_READ = ("1/0, yes/no, true/false, include/exclude (any case; also 1.0/0.0, y/n, t/f, "
               "i/e, included/excluded, relevant/irrelevant)")
"""The labels read, as messages name them."""

MAYBE_WORDS = frozenset({"maybe", "unsure", "undecided", "uncertain"})
"""Texts read as a maybe where the stage allows one (title/abstract): Covidence's and
Rayyan's "Maybe"."""


def label_value(value: Any) -> int | None:
    """1 for include-like values, 0 for exclude-like values, None otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in INCLUDE_WORDS:
        return 1
    if text in EXCLUDE_WORDS:
        return 0
    return None


def decision_label(value: Any) -> Label | None:
    """The decision a label text gives at title/abstract, where a maybe is allowed:
    include or exclude as `label_value` reads them, maybe for `MAYBE_WORDS`, None otherwise.
    (`label_value` stays two-valued: a simulation's labels are relevant or not.)"""
    known = label_value(value)
    if known is not None:
        return Label.INCLUDE if known else Label.EXCLUDE
    text = str(value).strip().lower() if value is not None else ""
    return Label.MAYBE if text in MAYBE_WORDS else None
