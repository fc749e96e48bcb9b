"""The protocol text a review stores, hashes and copies into its folder: line endings and
a byte-order mark are not part of it, so the printed sha256 is that of protocol.yaml."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from screener.workflow import review as review_module
from screener.workflow.model_settings import read_protocol
from screener.workflow.reporting import review_problems
from screener.workflow.review import ReviewError, amend_protocol, create_review, open_review

REPO = Path(__file__).resolve().parents[2]
LF = (REPO / "protocols" / "minimal.yaml").read_bytes()
SAVED_AS = {"crlf": LF.replace(b"\n", b"\r\n"), "bom": b"\xef\xbb\xbf" + LF,
            "bom_crlf": b"\xef\xbb\xbf" + LF.replace(b"\n", b"\r\n"), "cr": LF.replace(b"\n", b"\r")}


@pytest.mark.parametrize("saved_as", sorted(SAVED_AS))
def test_the_stored_copy_hashes_to_the_printed_sha256(tmp_path: Path, saved_as: str) -> None:
    protocol = tmp_path / "p.yaml"
    protocol.write_bytes(SAVED_AS[saved_as])
    with create_review(tmp_path / "rev", protocol) as review:
        stored = (tmp_path / "rev" / "protocol.yaml").read_bytes()
        assert hashlib.sha256(stored).hexdigest() == review.protocol_hash  # `sha256sum`
        assert review.protocol_hash == hashlib.sha256(LF).hexdigest()
        assert review_problems(review) == []


@pytest.mark.parametrize("saved_as", sorted(SAVED_AS))
def test_an_amendment_that_only_changes_line_endings_or_a_bom_is_refused(
        tmp_path: Path, saved_as: str) -> None:
    with create_review(tmp_path / "rev", REPO / "protocols" / "minimal.yaml") as review:
        same = tmp_path / "same.yaml"
        same.write_bytes(SAVED_AS[saved_as])
        with pytest.raises(ReviewError, match="already in force"):
            amend_protocol(review, same, "re-saved on Windows")
        assert review.protocol_version == 1
    with open_review(tmp_path / "rev") as review:
        assert review.protocol_version == 1


def test_a_review_whose_text_was_stored_with_crlf_still_opens_and_verifies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as older versions stored it: the text as read (CRLF kept), hashed as such
    protocol = tmp_path / "p.yaml"
    protocol.write_bytes(SAVED_AS["crlf"])
    monkeypatch.setattr(review_module, "read_protocol", lambda path: (
        read_protocol(path)[0], path.read_bytes().decode("utf-8-sig")))
    create_review(tmp_path / "rev", protocol).close()
    monkeypatch.undo()
    with open_review(tmp_path / "rev") as review:
        assert review.protocol_hash == hashlib.sha256(SAVED_AS["crlf"]).hexdigest()
        assert review_problems(review) == []
        with pytest.raises(ReviewError, match="already in force"):
            amend_protocol(review, REPO / "protocols" / "minimal.yaml", "LF now")
