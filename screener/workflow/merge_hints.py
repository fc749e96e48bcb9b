"""Why `merge` refuses a copy whose decisions are on records the review does not have, and
what to do: a copy that imported records itself (a plain copy of the review folder, which
someone screened on after an import of their own) is told which import to repeat here."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from screener.core.audit import utc_day
from screener.core.wording import plural
from screener.storage import Session, repo


def records_not_in_review(source: Path, src: Session, dst: Session, differ: Sequence[int],
                          mine: Mapping[int | None, str]) -> str:
    """The refusal of `merge` when the copy's decisions are on records (`differ`) this review
    lacks (not in `mine`) or has with another title."""
    shown = ", ".join(map(str, differ[:10])) + (", ..." if len(differ) > 10 else "")
    imports = _own_imports(src, dst, differ, mine)
    if imports:
        described = "; ".join(_describe(s) for s in imports)
        commands = "; ".join(_command(s) for s in imports)
        return (f"{source} holds records this review does not have ({plural(len(differ), 'record')} "
                f"{shown}): the copy imported them itself ({described}); nothing was merged. "
                f"Import the same into this review first ({commands}), then merge again: the "
                "records get the ids they have in the copy when nothing else was imported "
                "into either since the copy was made")
    return (f"{source} holds records this review does not have, or has with another title "
            f"(record {shown}); nothing was merged. Was the copy edited outside screener? "
            "Make a new copy (`screener export-reviewer`) and redo its decisions")


def _own_imports(src: Session, dst: Session, differ: Sequence[int],
                 mine: Mapping[int | None, str]) -> list[dict[str, Any]]:
    """The copy's sources that hold every record of `differ`, when none of them is in this
    review (no source here was imported from a file with the same bytes); [] otherwise."""
    if any(i in mine for i in differ):
        return []
    of = repo.record_sources(src)
    if any(i not in of for i in differ):
        return []
    theirs = {s["id"]: s for s in repo.sources(src)}
    here = {s["content_sha256"] for s in repo.sources(dst)} - {""}
    imports = [theirs[i] for i in sorted({of[r] for r in differ})]
    if any(s["content_sha256"] in here for s in imports):
        return []   # (imported here too, and the records' ids differ: not this case)
    return imports


def _describe(source: dict[str, Any]) -> str:
    what = (f"from {source['file_name']}," if source["file_name"]
            else f"the search {source['query']!r}," if source["query"] else "")
    return " ".join(filter(None, [f"source {source['name']!r}", what,
                                  f"imported {utc_day(source['imported_at'])}"]))


def _command(source: dict[str, Any]) -> str:
    if source["file_name"]:
        return (f"`screener import {shlex.quote(source['file_name'])} --source "
                f"{shlex.quote(source['name'])}`")
    if source["query"]:
        return f"the search {source['query']!r} under the source name {source['name']!r}"
    return f"the records of source {source['name']!r}"
