"""The bundled demo review: 882 real records from Meijboom et al. (2021), SYNERGY, CC0."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from screener.protocol import bundled_protocols, read_protocol_file
from screener.workflow.importing import import_file
from screener.workflow.review import DB_FILE, Review, ReviewError, create_review, open_review

DEMO_DIR = Path("demo-review")
DEMO_PROTOCOL = "demo-biosimilar-retransitioning.yaml"


def demo_data() -> Path:
    return Path(str(resources.files("screener.demo") / "Meijboom_2021.csv.gz"))


def demo_protocol() -> Path:
    return bundled_protocols()[Path(DEMO_PROTOCOL).stem]


def ensure_demo(directory: Path | None = None) -> tuple[Review, bool]:
    """Open the demo review in `directory`, creating it first if needed; (review, created)."""
    folder = directory or DEMO_DIR
    if (folder / DB_FILE).exists():
        review = open_review(folder)
        demo_title = read_protocol_file(demo_protocol())[0].title
        if review.title != demo_title:
            review.close()
            raise ReviewError(f"{folder} holds another review ({review.title!r}), not the "
                              "demo; give the demo a folder of its own: screener demo DIR")
        return review, False
    existed = folder.exists()
    review = create_review(folder, demo_protocol())
    try:
        import_file(review, demo_data(), source="OpenAlex (SYNERGY Meijboom_2021)",
                    kind="database", searched="2021-01-01")
        # A first ranking by similarity to the protocol (cold start), so the demo opens on
        # likely-relevant records rather than in import order.
        from screener.workflow.ranking import refresh_ranking

        refresh_ranking(review, "demo")
    except BaseException:
        review.close()
        _remove_half_made(folder, existed)
        raise
    return review, True


def _remove_half_made(folder: Path, existed: bool) -> None:
    """A demo that failed to build is removed, so the next run starts clean."""
    import shutil

    if existed:
        for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm", "protocol.yaml"):
            (folder / name).unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
