"""An amendment made in another shell reaches a screen the reviewer only reads: the UI
looks for one every few seconds (`protocol_check_s`), not only when a decision key reads
the review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets import Static

from screener.workflow.progress import Progress, StoppingItem
from screener.workflow.review import amend_protocol, open_review

from .conftest import stored
from .test_app import MakeApp, settle


def met_below_99(review: Any, reviewer: str, stage: Any) -> Progress:
    """Met while the recall target is under 0.99 (as the amendment makes it)."""
    met = review.protocol.stopping.recall_target < 0.99
    return Progress(reviewer, stage, 0, 5, 0, 0, 0, (), p_value=0.04 if met else 0.5,
                    checklist=(StoppingItem("screened fraction", "1", True),),
                    stop_by_test=met)


def stricter_with_a_reason(review: Any, tmp_path: Path) -> Path:
    """The review's protocol with recall target 0.99 and a reason added, as a file."""
    assert review.folder is not None
    data = yaml.safe_load((review.folder / "protocol.yaml").read_text(encoding="utf-8"))
    reason = {"id": "conference", "label": "Conference abstract", "key": "7"}
    data.update(stopping={**data.get("stopping", {}), "recall_target": 0.99},
                exclusion_reasons=[*data["exclusion_reasons"], reason])
    path = tmp_path / "amended.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def test_an_amendment_reaches_a_screen_left_reading(make_app: MakeApp,
                                                           tmp_path: Path) -> None:
    """`protocol amend` in another shell raised the recall target and added a reason; the
    reviewer pressed nothing. The side panel kept "✓ Stopping rule met" and the old reasons
    until a decision key; now the periodic check takes the new version up by itself."""
    app, review, _, _ = make_app(progress_fn=met_below_99, protocol_check_s=0.05)
    amended = stricter_with_a_reason(review, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screening.query_one("#status-stopping", Static)
        assert "✓ Stopping rule met" in str(panel.render())
        notes_before = len(app._notifications)
        await pilot.pause(0.2)  # checks that find nothing change nothing
        await settle(pilot)
        assert len(app._notifications) == notes_before
        other = open_review(review.folder)  # another shell
        try:
            amend_protocol(other, amended, "stricter")
        finally:
            other.close()
        for _ in range(40):  # no key pressed: the next check (every 0.05 s here) finds it
            await pilot.pause(0.05)
            await settle(pilot)
            if any(n.title == "Protocol amended" for n in app._notifications):
                break
        assert any(n.title == "Protocol amended" for n in app._notifications)
        assert review.protocol_version == 2
        assert "Stopping rule met" not in str(panel.render()).replace("not met", "")
        assert "p-value 0.500" in str(panel.render())
        criteria = str(app.screening.query_one("#criteria", Static).content)
        assert "[7] Conference abstract (conference)" in criteria
        assert stored(review) == []  # nothing decided by the check
        # the screen shows version 2: a decision now counts at once, under it
        await pilot.press("i")
        await settle(pilot)
        assert len(stored(review)) == 1



@pytest.mark.parametrize("change", ["edit", "delete", "none"])
async def test_the_ui_says_at_start_that_protocol_yaml_is_not_the_protocol_in_force(
        make_app: MakeApp, change: str) -> None:
    """The folder's protocol.yaml edited by hand (a reason relabelled) or deleted: `status`
    and the report said so, but the screening UI, where a reviewer spends the day with
    protocol.yaml open beside it, said nothing. It now says so at start, as it says a
    conflicted copy or a network drive, with what to do either way."""
    app, review, _, _ = make_app()
    copy = review.folder / "protocol.yaml"
    if change == "edit":
        copy.write_text(copy.read_text(encoding="utf-8").replace(
            "Wrong population", "Wrong patients", 1), encoding="utf-8")
    elif change == "delete":
        copy.unlink()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications if n.title == "Protocol file"]
    review.close()
    if change == "none":  # the copy as the review keeps it: nothing to say
        assert said == []
        return
    assert len(said) == 1, said
    assert ("differs from protocol version 1" if change == "edit"
            else "is missing from the review folder") in said[0]
    assert "screener protocol show" in said[0]
