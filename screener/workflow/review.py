"""Create and open reviews: a folder with review.db (SQLite) or a PostgreSQL database.

The only layer that combines storage and protocol. Must not import textual or click.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from screener.core.paths import not_utf8, replace_durably, write_durably
from screener.core.protocol import Protocol, taken_back
from screener.protocol import (
    ProtocolError,
    load_protocol_text,
    normalise_protocol_text,
    sha256_text,
)
from screener.storage import Database, Session, StorageError, repo, sqlite_file, sqlite_url
from screener.workflow.model_settings import read_protocol

DB_FILE = "review.db"
PROTOCOL_FILE = "protocol.yaml"
ENV_DB = "SCREENER_DB"


class ReviewError(Exception):
    """A problem the user can fix; the CLI prints it and exits with code 2."""


class TryAgainLater(ReviewError):
    """A failure that is not the user's input (a service that did not answer, or was busy,
    through the retries): nothing was stored; the CLI prints it and exits with code 75
    (EX_TEMPFAIL: try again later), not 2."""


class NothingChanged(ReviewError):
    """What a command asked for holds already (a script run again): nothing was written.
    Raised only where the caller asks for it (`repeat_ok`; `mark_not_retrieved`); the CLI
    prints it and exits 0. A caller that does not catch it refuses, as a ReviewError."""


class ProtocolAmended(ReviewError):
    """The protocol was amended since the screen showed the record: the decision was made
    against criteria, reasons or terms no longer in force, so it is not saved."""


@dataclass
class Review:
    """An open review: its database, folder (if any) and the protocol in force."""

    db: Database
    folder: Path | None
    protocol: Protocol
    protocol_hash: str
    protocol_version: int
    title: str
    upgraded_from: str | None = None
    """The database schema revision the review had before opening it upgraded it (None: it
    was at this screener's revision already)."""
    created: str = ""
    """When the review was created, as its database keeps it: what tells it from another
    review whatever path or URL opened it (a copy of its folder or database is the same
    review)."""
    copy_mended: str = ""
    """What opening it did about a folder's protocol.yaml that was an earlier version than
    the one in force (`_mend_protocol_copy`; "" when it was right), for the caller to say."""

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.db.transaction() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never waits for a writer on SQLite; see Database.read)."""
        with self.db.read() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every `read` within it is one read transaction, one consistent view of the
        review (see Database.snapshot)."""
        with self.db.snapshot():
            yield

    @property
    def location(self) -> str:
        return str(self.folder) if self.db.is_sqlite and self.folder else self.db.display_url

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Review:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def other_copies(review: Review) -> list[str]:
    """The names of other SQLite databases in a review's folder beside review.db: a sync
    tool's conflicted copy ("review (Bob's conflicted copy 2026-11-30).db"), a copy kept
    when review.db was replaced while open. Decisions made in one are not in the review."""
    path = review.db.sqlite_path
    if path is None:
        return []
    try:
        return sorted(p.name for p in path.parent.glob("*.db")
                      if p.name != path.name and p.is_file())
    except OSError:
        return []


def other_copies_note(names: list[str]) -> str:
    """What to do about `other_copies` ("" when there are none)."""
    if not names:
        return ""
    listed = ", ".join(names)
    one = len(names) == 1
    return (f"{listed} {'is' if one else 'are'} beside {DB_FILE}: {'a copy' if one else 'copies'} "
            f"of the review (a sync tool's conflicted copy?) whose decisions are not in this "
            f"review. To bring them in, put {'it' if one else 'each'} in a folder of its own as "
            f"{DB_FILE} with the review's protocol.yaml and `screener merge` that folder; then "
            "move it out of the review folder (README: \"Backing up, moving and sharing a "
            "review\")")


def network_drive_note(review: Review) -> str:
    """A warning when a SQLite review is on a network file system ("" when it is not)."""
    kind = review.db.network_filesystem()
    if kind is None:
        return ""
    return (f"the review {review.location} is on a network drive ({kind}): SQLite cannot keep "
            f"{DB_FILE} safe when two computers open it there (its locks do not hold across "
            "the network). Keep every screener on this review on one computer (others SSH in), "
            "or share it on PostgreSQL; never open it from two computers at once")


def _resolve(folder: Path | None, db_url: str | None) -> tuple[str, Path | None]:
    url = db_url or os.environ.get(ENV_DB) or None
    if url:
        return url, folder
    folder = folder or Path.cwd()
    if problem := not_utf8(folder.resolve()):
        raise ReviewError(problem)
    return sqlite_url(folder.resolve() / DB_FILE), folder


def create_review(folder: Path | str, protocol_path: Path | str,
                  db_url: str | None = None) -> Review:
    """Create a review: validate the protocol, make the folder and database, store version 1.

    Nothing is written when the protocol is invalid or the target already holds a review.
    """
    folder, protocol_path = Path(folder), Path(protocol_path)
    protocol, text = read_protocol(protocol_path)
    url, folder_ = _resolve(folder, db_url)
    assert folder_ is not None
    if folder_.exists() and not folder_.is_dir():
        raise ReviewError(f"{folder_} is a file, not a folder: choose a new or empty folder "
                          "for the review")
    in_folder = db_url is None and not os.environ.get(ENV_DB)
    if in_folder and (folder_ / DB_FILE).exists():
        if _holds_review(url):
            raise ReviewError(f"{folder_} already holds a review ({DB_FILE}); choose another "
                              "folder")
        raise ReviewError(f"{folder_ / DB_FILE} exists but holds no review (left by an "
                          f"`init` that did not finish?): delete it and run init again")
    copy = folder_ / PROTOCOL_FILE
    same_file = copy.exists() and copy.resolve() == protocol_path.resolve()
    # the same protocol saved with CRLF or a byte-order mark is the same: compared as stored
    if copy.exists() and not same_file and (
            not copy.is_file() or _stored_text(copy) != text):
        raise ReviewError(f"{copy} exists and is not {protocol_path}: screener keeps the "
                          f"review's protocol copy there and would write over it. Move it "
                          f"away, or give it as the protocol (--protocol {copy})")
    created_folder = not folder_.exists()
    # what this call writes into a folder that was there before, removed again on failure
    # (an interrupted init must not leave a review.db that makes the next init refuse)
    written = [] if created_folder else [
        p for p in (*(folder_ / (DB_FILE + side) for side in _SQLITE_FILES if in_folder),
                    copy, folder_ / "exports") if not p.exists()]
    try:
        folder_.mkdir(parents=True, exist_ok=True)
        db = Database(url)
        try:
            if db.has_tables():
                with db.transaction() as session:
                    if repo.review_exists(session):
                        raise ReviewError(f"{db.display_url} already holds a review; "
                                          "use an empty database")
            elif not db.is_sqlite and (foreign := db.foreign_tables()):
                raise ReviewError(_foreign(db, foreign) + "; nothing was created")
            db.upgrade()
            with db.transaction() as session:
                repo.create_review(session, protocol.title)
                repo.add_protocol_version(session, text, sha256_text(text), "initial protocol")
        except BaseException:
            db.dispose()
            raise
        try:
            if not same_file or copy.read_bytes() != text.encode("utf-8"):
                write_protocol_copy(text, copy)
            (folder_ / "exports").mkdir(exist_ok=True)
        except BaseException:
            db.dispose()
            raise
    except BaseException as exc:
        if created_folder:  # the folder is ours (e.g. a PostgreSQL review that failed to connect)
            shutil.rmtree(folder_, ignore_errors=True)
        remove_written(written)
        if isinstance(exc, OSError):   # full disk, no write access: a message, not a traceback
            raise ReviewError(f"cannot write the review folder {folder_} ({exc.strerror}): "
                              "nothing was left there; free some space or choose a folder "
                              "you may write to, and run init again") from None
        raise
    return _open(db, folder_)


def _stored_text(path: Path) -> str | None:
    """The protocol file's text as it would be stored (`normalise_protocol_text`); None when
    it is not UTF-8 text (then it is not the protocol given, which was read as such)."""
    try:
        return normalise_protocol_text(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None


def remove_written(paths: Iterable[Path]) -> None:
    """Remove what a command cut short had written (folders with what they hold; a
    symbolic link itself, never what it points to), so that running it again starts clean."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


_SQLITE_FILES = ("", "-journal", "-wal", "-shm")
"""review.db and the side files SQLite keeps beside it."""


def _holds_review(url: str) -> bool:
    db = Database(url)
    try:
        db.check_review_file()
        if not db.has_tables():
            return False
        with db.read() as session:
            return repo.review_exists(session)
    finally:
        db.dispose()


def _existing_review_file(url: str) -> None:
    """For a SQLite URL: refuse (ReviewError) a folder or review.db that does not exist, or
    a path that is a file where the folder should be, before anything connects (connecting
    would create the database). Other URLs pass."""
    path = sqlite_file(url)
    if path is not None:
        if path.parent.is_file():
            hint = (f" (--review {path.parent.parent})"
                    if (path.parent.parent / DB_FILE).is_file() else "")
            raise ReviewError(f"{path.parent} is a file, not a review folder: give the folder "
                              f"the review was created in, the one that holds {DB_FILE}{hint}")
        if not path.parent.is_dir():
            hint = ""
            if not path.is_absolute():
                hint = (f" ({url} is relative to the current folder: a SQLite URL takes "
                        "four slashes before an absolute path, sqlite:////abs/path/review.db)")
            raise ReviewError(f"no such folder: {path.parent}{hint}; create a review with "
                              "`screener init DIR --protocol FILE`")
        if not path.exists():
            if (path.parent / PROTOCOL_FILE).is_file():
                # `init DIR --db URL` made it, or review.db was lost, or not yet `init`
                where = shlex.quote(str(path.parent))
                raise ReviewError(
                    f"{path.parent} has a protocol but no {DB_FILE}: if the review is kept in "
                    "PostgreSQL, give its database with --db URL (or set SCREENER_DB; "
                    f"--review {where} keeps exports in this folder); if its {DB_FILE} was "
                    f"lost, `screener restore BACKUP --review {where}` puts it back from a "
                    "backup; if this is a new review, run `screener init "
                    f"{where} --protocol {shlex.quote(str(path.parent / PROTOCOL_FILE))}`")
            above = path.parent.parent
            if (above / DB_FILE).is_file():  # run from inside the review's exports/ folder
                here = path.parent.resolve() == Path.cwd().resolve()
                raise ReviewError(
                    f"{path.parent} is not a review (no {DB_FILE}), but the folder above it "
                    f"is: run the command in {above}, or pass --review "
                    f"{'..' if here else shlex.quote(str(above))}")
            raise ReviewError(f"{path.parent} is not a review (no {DB_FILE}); create one with "
                              "`screener init DIR --protocol FILE`, or pass --review DIR")


def open_review(folder: Path | str | None = None, db_url: str | None = None, *,
                mend_copy: bool = True) -> Review:
    """Open an existing review (applying any pending migrations). `mend_copy=False` leaves
    the folder's protocol.yaml as it is (`protocol amend`, which may be given that file
    holding an earlier version on purpose, to go back to it)."""
    folder = Path(folder) if folder is not None else None
    url, folder_ = _resolve(folder, db_url)
    _existing_review_file(url)
    db = Database(url)
    try:
        db.check_review_file()  # before anything connects: connecting may write
        if not db.has_tables():
            raise ReviewError(_no_review(db))
        before = db.revision()
        if before != db.head():
            db.upgrade()
        review = _open(db, folder_)
        review.upgraded_from = before if before != db.head() else None
        review.copy_mended = _mend_protocol_copy(review) if mend_copy else ""
        return review
    except BaseException:
        db.dispose()
        raise


def _open(db: Database, folder: Path | None) -> Review:
    with db.read() as session:
        if not repo.review_exists(session):
            raise ReviewError(_no_review(db))
        protocol, sha, version = _protocol_in_force(session)
        title = repo.review_title(session)
        created = repo.review_created(session)
    return Review(db, folder, protocol, sha, version, title, created=created)


def _mend_protocol_copy(review: Review) -> str:
    """Make the folder's protocol.yaml the protocol in force again when it holds an earlier
    version the review stored: left by a `protocol amend` stopped (killed, a power cut)
    after it recorded the new version and before it renamed it onto the copy. That is so
    when the amendment's staged copy is still beside it, or when the copy was last written
    before the version in force was recorded; one written since (`protocol show --version 1
    > protocol.yaml`, to go back to it) is the user's, and is left alone, as is a text the
    review never stored (the next amendment being written in place). Returns what to tell
    the user ("" when the copy was right, or is not screener's)."""
    if review.folder is None:
        return ""
    copy = review.folder / PROTOCOL_FILE
    try:
        held = _stored_text(copy) if copy.is_file() and not copy.is_symlink() else None
    except OSError:
        return ""
    if held is None or _is_in_force(review, held):
        return ""
    with review.read() as session:
        texts = {v: normalise_protocol_text(t) for v, t in repo.protocol_texts(session).items()}
        recorded = {v: at for v, _, _, at in repo.protocol_versions(session)}
    in_force = texts.get(review.protocol_version)
    earlier = [v for v, text in texts.items() if text == held and v != review.protocol_version]
    if in_force is None or held == in_force or not earlier:
        return ""
    if not _left_by_amend(copy, in_force, recorded.get(review.protocol_version)):
        return ""
    was = (f"{copy} was protocol version {max(earlier)}, not version "
           f"{review.protocol_version}, the one in force (left by a `protocol amend` stopped "
           "before it replaced the copy)")
    try:
        _put_in_force(in_force, copy)
    except OSError as exc:
        return (f"{was}, and could not be replaced ({exc.strerror}): it is not the protocol "
                f"in force. Get write access to {review.folder} and run any command on the "
                "review again, which puts the version in force there")
    return f"{was}: it is version {review.protocol_version} again"


def _is_in_force(review: Review, held: str) -> bool:
    """Whether the copy's text `held` (as stored) is the protocol in force, told by its hash
    alone: the common case, which needs no read of the stored versions (a version an older
    screener stored with CRLF or a BOM has another hash, and is compared as text)."""
    return sha256_text(held) == review.protocol_hash


def _left_by_amend(copy: Path, in_force: str, recorded: datetime | None) -> bool:
    """Whether the earlier version in `copy` is what an amendment to `in_force`, recorded
    at `recorded`, left when stopped: its staged copy is still there, or `copy` is older
    than the amendment (a copy written after it was put there since)."""
    staged = copy.with_name(f".{copy.name}.amending")
    try:
        if staged.is_file() and _stored_text(staged) == in_force:
            return True
        written = copy.stat().st_mtime
    except OSError:
        return False
    if recorded is None:
        return False
    if recorded.tzinfo is None:  # (SQLite gives the stored UTC moment without its zone)
        recorded = recorded.replace(tzinfo=UTC)
    return written <= recorded.timestamp()


def protocol_copy_note(review: Review) -> str:
    """What `status` and the report say when the folder's protocol.yaml is not the protocol
    in force: missing, or a text the review never stored (edited by hand, or the next
    amendment being written). An earlier stored version is `_mend_protocol_copy`'s, put
    right when the review was opened ("" then, as when the copy is right or there is no
    folder)."""
    if review.folder is None:
        return ""
    copy = review.folder / PROTOCOL_FILE
    try:
        here = review.folder.resolve() == Path.cwd().resolve()
    except OSError:
        here = False
    name = PROTOCOL_FILE if here else str(copy)
    option = "" if here else f" --review {review.folder}"
    restore = f"to restore it, `screener protocol show{option} > {name}`"
    if not copy.exists() and not copy.is_symlink():
        return (f"{name} is missing from the review folder (protocol version "
                f"{review.protocol_version} is in force): {restore}")
    try:
        held = _stored_text(copy) if copy.is_file() else None
    except OSError:
        return ""
    if held is not None and _is_in_force(review, held):
        return ""
    with review.read() as session:
        texts = {v: normalise_protocol_text(t) for v, t in repo.protocol_texts(session).items()}
    if review.protocol_version not in texts or held == texts[review.protocol_version]:
        return ""
    amend = (f"`screener protocol amend{option} {name} --reason ...`")
    earlier = [v for v, text in texts.items() if text == held]
    if earlier:   # (written there since that version, or one `_mend_protocol_copy` could not replace)
        return (f"{name} is protocol version {max(earlier)}, not version "
                f"{review.protocol_version}, the one in force: to go back to version "
                f"{max(earlier)}, {amend}; {restore}")
    return (f"{name} differs from protocol version {review.protocol_version}, the one in force "
            f"(edited by hand?): to make it the protocol, {amend}; {restore}")


def _put_in_force(text: str, copy: Path) -> None:
    """Write `text` onto `copy` through a temporary file of its own (not the `.amending` one:
    an amendment finishing meanwhile renames its own, the same text), with the permissions
    the copy had (the temporary file's own are 0600: teammates could no longer read it)."""
    write_durably(copy, text.encode("utf-8"), stat.S_IMODE(copy.stat().st_mode))


def _no_review(db: Database) -> str:
    if db.is_sqlite:
        where = Path(db.engine.url.database or DB_FILE)
        return (f"{where} holds no review (left by an `init` that did not finish?): delete "
                f"it and run `screener init {where.parent} --protocol FILE` again")
    foreign = db.foreign_tables()
    if foreign:
        return _foreign(db, foreign)
    return (f"{db.display_url} holds no review; create one with "
            "`screener init DIR --protocol FILE --db URL`")


def _foreign(db: Database, tables: list[str]) -> str:
    shown = ", ".join(tables[:8]) + (", ..." if len(tables) > 8 else "")
    return (f"{db.display_url} holds no review but another application's tables ({shown}): "
            "a review needs a database of its own; create an empty one (createdb NAME) and "
            "give its URL")


def _protocol_in_force(session: Session) -> tuple[Protocol, str, int]:
    """(protocol, sha256, version) of the latest stored version, read as stored versions
    are (the checks added since it was stored do not lock an existing review out)."""
    version, text, sha = repo.latest_protocol(session)
    return load_protocol_text(text, f"protocol version {version}", stored=True), sha, version


def stored_protocols(session: Session) -> dict[int, Protocol]:
    """Every stored protocol version, by version, read as stored versions are; one that no
    longer loads is left out (its callers say what they do without it)."""
    out = {}
    for version, text in repo.protocol_texts(session).items():
        try:
            out[version] = load_protocol_text(text, f"protocol version {version}", stored=True)
        except ProtocolError:
            continue
    return out


def protocol_version_text(review: Review, version: int | None = None) -> tuple[int, str, str]:
    """(version, YAML text, sha256) of a stored protocol version (default: the one in
    force): the text exactly as stored and hashed, so its UTF-8 bytes have that sha256.
    A version the review does not have is refused, naming those it has."""
    with review.read() as session:
        texts = repo.protocol_texts(session)
        hashes = {v: sha for v, sha, _, _ in repo.protocol_versions(session)}
    chosen = max(texts) if version is None else version
    if chosen not in texts:
        raise ReviewError(f"--version {version}: the review has protocol "
                          f"{'version 1' if len(texts) == 1 else f'versions 1-{max(texts)}'}; "
                          "give one of them (`screener log events` lists them with their "
                          "dates and reasons)")
    return chosen, texts[chosen], hashes[chosen]


def follow_amendments(review: Review, session: Session) -> bool:
    """Make `review` carry the protocol version in force, when another process amended it
    since the review was opened (a UI left open during `protocol amend`): a decision is
    stamped with, and checked against, the version in force. True when it changed."""
    if repo.latest_protocol_hash(session) == review.protocol_hash:
        return False
    review.protocol, review.protocol_hash, review.protocol_version = _protocol_in_force(session)
    return True


def amended_elsewhere(review: Review) -> bool:
    """True when the protocol in force is no longer the version `review` carries (another
    process amended it). One small read of the latest version's hash, nothing changed: a
    UI's periodic look, from a worker thread; `catch_up_with_amendments` takes it up."""
    with review.read() as session:
        return repo.latest_protocol_hash(session) != review.protocol_hash


def decision_head(review: Review) -> tuple[int, str]:
    """The decision log's length and newest hash: one small read, which moves whenever
    anyone decides, undoes or resolves (a UI's periodic look at whether its figures still
    hold)."""
    with review.read() as session:
        return repo.log_head(session)


def catch_up_with_amendments(review: Review) -> bool:
    """`follow_amendments` in a read of its own (a UI about to offer the protocol's exclusion
    reasons checks first that no amendment changed them). True when it changed."""
    with review.read() as session:
        return follow_amendments(review, session)


@dataclass(frozen=True, slots=True)
class DroppedId:
    """An exclusion reason or criterion id that standing decisions cite, or a stage they were
    made at, that an amended protocol no longer defines."""

    kind: str
    """'exclusion reason', 'criterion' or 'stage'."""
    id: str
    decisions: int
    """Standing decisions that cite it."""

    def __str__(self) -> str:
        return f"{self.kind} {self.id!r} ({self.decisions} decision{'s' * (self.decisions != 1)})"


@dataclass(frozen=True, slots=True)
class Amendment:
    version: int
    """The protocol version recorded."""
    dropped: tuple[DroppedId, ...] = ()
    """Ids in use that the new version drops (only with `drop_used`)."""
    changed_outcomes: tuple[str, ...] = ()
    """What the new screening rules changed for records already decided (one sentence per
    kind: conflicts settled without the adjudicator, records waiting for another reviewer)."""
    warnings: tuple[str, ...] = ()
    """What the new version does not change although it might seem to: an allocation in
    force that gives another number of screeners per shared record; what it takes back of
    the amendment before it (edited from a copy of an earlier version)."""
    sha256: str = ""
    """The new version's sha256 (of its text as stored, as `init` and `status` print it)."""


def amend_protocol(review: Review, protocol_path: Path, reason: str, *,
                   drop_used: bool = False) -> Amendment:
    """Record a new protocol version with a reason; earlier versions are kept.

    Refused when the new version drops an exclusion reason or criterion id that standing
    decisions cite (they would cite an id the protocol no longer defines), or a stage that
    has standing decisions (they would drop out of every count), unless `drop_used`. Only
    what the version in force still defines counts as dropped.
    """
    if not reason.strip():
        raise ReviewError("an amendment needs a reason: --reason 'what changed and why'")
    protocol, text = read_protocol(protocol_path)
    sha = sha256_text(text)
    with review.read() as session:
        in_force, stored, _ = repo.latest_protocol(session)
    # (a version stored by an older screener may hold CRLF or a BOM: compared as read now)
    if normalise_protocol_text(stored) == text:
        raise ReviewError(f"{protocol_path} is the protocol already in force (version "
                          f"{in_force}; line endings and a byte-order mark do not count); "
                          "nothing to amend")
    copy = review.folder / PROTOCOL_FILE if review.folder is not None else None
    if (copy is not None and copy.exists() and copy.resolve() == protocol_path.resolve()
            and copy.read_bytes() == text.encode("utf-8")):
        copy = None   # (amending the copy itself, edited in place, already as stored)
    # the folder's copy is written beside it first: a folder that cannot take it (full
    # disk, no write access) refuses the amendment before the version is recorded
    staged = _stage_copy(text, copy) if copy is not None else None
    try:
        version, dropped, changed, warnings = _record_amendment(
            review, protocol_path, protocol, text, sha, reason, drop_used)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    review.protocol, review.protocol_hash, review.protocol_version = protocol, sha, version
    if staged is not None and copy is not None:
        try:
            replace_durably(staged, copy)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise ReviewError(f"protocol version {version} was recorded, but {copy} could not "
                              f"be replaced ({exc.strerror}): copy {protocol_path} there "
                              "yourself, so the folder shows the protocol in force") from None
    return Amendment(version, tuple(dropped), tuple(changed), tuple(warnings), sha)


def _write_staged(text: str, copy: Path) -> Path:
    """The protocol text, as stored, written beside the folder's `copy` (to be renamed onto
    it), so that `sha256sum` of the copy gives the stored hash; nothing is left on failure."""
    staged = copy.with_name(f".{copy.name}.amending")
    try:
        staged.write_bytes(text.encode("utf-8"))
    except OSError:
        staged.unlink(missing_ok=True)
        raise
    return staged


def write_protocol_copy(text: str, copy: Path) -> None:
    staged = _write_staged(text, copy)
    try:
        replace_durably(staged, copy)
    finally:
        staged.unlink(missing_ok=True)


def _stage_copy(text: str, copy: Path) -> Path:
    try:
        return _write_staged(text, copy)
    except OSError as exc:
        raise ReviewError(f"cannot write the protocol copy beside {copy} ({exc.strerror}): "
                          "nothing was recorded. Free some space or get write access to the "
                          "review folder, and amend again") from None


SETTLED_BY_AMENDMENT = "conflicts_settled_by_latest_decision"
"""The protocol_version event's detail: stage value -> how many conflicts the amendment
settled by the latest decision, without the adjudicator (dual to single screening)."""


def _record_amendment(review: Review, protocol_path: Path, protocol: Protocol, text: str,
                      sha: str, reason: str, drop_used: bool
                      ) -> tuple[int, list[DroppedId], list[str], list[str]]:
    from screener.workflow.screening import follow_new_screening_rules
    from screener.workflow.team import allocations_left_behind

    with review.transaction() as session:
        before = _protocol_in_force(session)[0]
        dropped = _dropped_ids(session, before, protocol)
        if dropped and not drop_used:
            raise ReviewError(
                f"{protocol_path} drops what existing decisions cite: "
                f"{'; '.join(map(str, dropped))}. Those decisions would cite an id the "
                "protocol no longer defines (the report, exports and the UI show it bare), "
                "or sit at a stage it no longer has (status, exports and the report leave "
                "them out). Keep the id or stage in the new version (a label or text may "
                "change), or pass --drop-used to amend anyway")
        # (the outcomes under each version's rules do not depend on which is stored last)
        changed, settled = follow_new_screening_rules(review, session, before, protocol)
        warnings = allocations_left_behind(session, before, protocol)
        warnings += _taking_back(session, before, protocol)
        note = ({"dropped_although_cited": [str(d) for d in dropped]} if dropped else {}) | (
            {SETTLED_BY_AMENDMENT: settled} if settled else {})
        version = repo.add_protocol_version(session, text, sha, reason.strip(), note or None)
    return version, dropped, changed, warnings


def _taking_back(session: Session, in_force: Protocol, new: Protocol) -> list[str]:
    """A warning when `new` takes back what the version in force changed from the one
    before it (a copy of that earlier version edited and amended after it), naming what."""
    version, _, _ = repo.latest_protocol(session)
    earlier = stored_protocols(session).get(version - 1)
    undone = taken_back(earlier, in_force, new) if earlier is not None else []
    if not undone:
        return []
    return [f"this version takes back what version {version} changed from version "
            f"{version - 1}: it {'; '.join(undone)} (edited from a copy of an earlier "
            "version? `screener protocol show > protocol.yaml` writes the version in force "
            "to edit; amend again to put back what you meant to keep)"]


def _dropped_ids(session: Session, before: Protocol, after: Protocol) -> list[DroppedId]:
    """What standing decisions cite that the version in force (`before`) defines and the new
    one (`after`) does not: ids an earlier amendment dropped (with --drop-used) are that
    amendment's, not this one's."""
    reasons, criteria = repo.cited_ids(session)
    criteria_before = {c.id for c in before.criteria}
    criteria_after = {c.id for c in after.criteria}
    stages_before = {s.value for s in before.stages}
    stages_after = {s.value for s in after.stages}
    return ([DroppedId("exclusion reason", rid, n) for rid, n in sorted(reasons.items())
             if after.reason(rid) is None and before.reason(rid) is not None]
            + [DroppedId("criterion", cid, n) for cid, n in sorted(criteria.items())
               if cid in criteria_before and cid not in criteria_after]
            + [DroppedId("stage", stage, n)
               for stage, n in sorted(repo.standing_per_stage(session).items())
               if stage in stages_before and stage not in stages_after])


def upgrade_database(folder: Path | None = None, db_url: str | None = None) -> tuple[str | None, str]:
    """Apply migrations; returns (revision before, revision after)."""
    url, _ = _resolve(folder, db_url)
    _existing_review_file(url)
    db = Database(url)
    try:
        db.check_review_file()
        if not db.has_tables():
            raise ReviewError(_no_review(db))
        before = db.revision()
        db.upgrade()
        return before, db.revision() or ""
    finally:
        db.dispose()


__all__ = ["Amendment", "DroppedId", "Review", "ReviewError", "ProtocolError", "StorageError",
           "ProtocolAmended", "amend_protocol", "create_review", "open_review", "read_protocol", "upgrade_database"]
