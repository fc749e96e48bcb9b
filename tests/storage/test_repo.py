"""Storage round trips on SQLite and PostgreSQL: records, decisions, rankings, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from screener.core.decisions import Decision, Label, ReportStatus, Role, Stage
from screener.core.records import Record
from screener.storage import Database, repo, sqlite_url


@pytest.fixture
def db(tmp_path: Path, db_url: str | None) -> Database:
    database = Database(db_url or sqlite_url(tmp_path / "review.db"))
    database.upgrade()
    with database.transaction() as s:
        repo.create_review(s, "Test review")
        repo.add_protocol_version(s, "title: x\n", "a" * 64, "initial")
    yield database
    database.dispose()


FULL = Record(
    title="Ketamine for TRD: a randomised trial", abstract="BACKGROUND: x\n\nMETHODS: y",
    authors=("Smith, Jane", "Doe, John"), year=2020, journal="J Psych", volume="12",
    issue="3", pages="45-67", doi="10.1000/abc", pmid="123456",
    publication_types=("Randomized Controlled Trial",), keywords=("ketamine",),
    mesh_terms=("Depression/drug therapy",), language="eng", raw={"TI": "Ketamine…", "n": [1, 2]},
)


def test_record_round_trip(db: Database) -> None:
    with db.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database", file_name="x.nbib",
                                 query="ketamine", searched_on="2026-01-02")
        ids = repo.add_records(s, source, [FULL, Record(title="Second")])
    with db.transaction() as s:
        got = repo.get_record(s, ids[0])
        sources = repo.sources(s)
    assert got is not None
    assert got == Record(**{**{f: getattr(FULL, f) for f in FULL.__dataclass_fields__},
                            "id": ids[0], "source_id": source})
    assert sources[0]["records"] == 2 and sources[0]["query"] == "ketamine"


def test_bulk_insert_keeps_order_ids_and_raw_fields_across_chunks(db: Database) -> None:
    """More records than one insert batch: ids come back in file order, and every record's
    raw source fields (any JSON value, non-ASCII text, a read-only mapping, an integer too
    large for orjson) read back."""
    from types import MappingProxyType

    records = [Record(title=f"Record {k} \u00e9t\u00e9", authors=(f"Doe{k}, J",),
                      raw=MappingProxyType({"PMID": str(k), "AU": ["Doe", "Ro\u00eb"],
                                            "n": k, "nested": {"x": [1.5, None, True]},
                                            "big": 2**70}))
               for k in range(repo._INSERT_CHUNK + 7)]
    with db.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        first = repo.add_records(s, source, [FULL])
        ids = repo.add_records(s, source, records)
    assert len(ids) == len(records) and ids == sorted(ids) and first[0] < ids[0]
    with db.transaction() as s:
        got = repo.get_records(s, [ids[0], ids[-1]])
        assert repo.sources(s)[0]["records"] == len(records) + 1
    for record, stored in zip((records[0], records[-1]), got, strict=True):
        assert stored.title == record.title and stored.authors == record.authors
        assert dict(stored.raw) == dict(record.raw)


def test_decisions_are_append_only_and_current_is_latest(db: Database) -> None:
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        (rid,) = repo.add_records(s, source, [Record(title="A")])
        first = repo.add_decision(s, Decision(rid, "ann", Stage.TITLE_ABSTRACT, Label.INCLUDE))
        second = repo.add_decision(s, Decision(rid, "ann", Stage.TITLE_ABSTRACT, Label.EXCLUDE,
                                               reason_id="population", note="on reflection"))
    with db.transaction() as s:
        log = repo.decision_log(s)
        current = repo.current_decisions(s, Stage.TITLE_ABSTRACT)
    assert [d.label for d in log] == [Label.INCLUDE, Label.EXCLUDE]
    assert [d.seq for d in log] == [1, 2]
    assert log[1].row_hash != log[0].row_hash and first.row_hash == log[0].row_hash
    assert current == [log[1]] and second.id == log[1].id
    assert current[0].reason_id == "population" and current[0].note == "on reflection"


def test_undo_row_withdraws_current_decision(db: Database) -> None:
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        (rid,) = repo.add_records(s, source, [Record(title="A")])
        d = repo.add_decision(s, Decision(rid, "ann", Stage.TITLE_ABSTRACT, Label.INCLUDE))
        repo.add_decision(s, Decision(rid, "ann", Stage.TITLE_ABSTRACT, Label.UNDONE), undoes_id=d.id)
    with db.transaction() as s:
        assert repo.current_decisions(s) == []
        assert len(repo.decision_log(s)) == 2


def test_screening_order_in_sql_matches_the_core_rule(db: Database) -> None:
    from screener.core.decisions import in_screening_order

    TA = Stage.TITLE_ABSTRACT
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        a, b, c = repo.add_records(s, source, [Record(title=t) for t in "ABC"])
        steps = [(a, "ann", Label.MAYBE), (b, "ann", Label.INCLUDE), (a, "bob", Label.EXCLUDE),
                 (c, "ann", Label.EXCLUDE), (a, "ann", Label.EXCLUDE), (b, "ann", None),
                 (b, "ann", Label.EXCLUDE)]
        last: dict[tuple[int, str], list[int]] = {}
        for rid, who, label in steps:
            stack = last.setdefault((rid, who), [])
            if label is None:  # an undo of the latest standing decision
                repo.add_decision(s, Decision(rid, who, TA, Label.UNDONE), undoes_id=stack.pop())
            else:
                stack.append(repo.add_decision(s, Decision(rid, who, TA, label)).id or 0)
    with db.transaction() as s:
        in_sql = repo.current_decisions(s, TA, screening_order=True)
        in_core = in_screening_order(repo.decision_log(s))
    assert [(d.record_id, d.reviewer, d.label) for d in in_sql] == [
        (d.record_id, d.reviewer, d.label) for d in in_core] == [
        (a, "ann", Label.EXCLUDE), (a, "bob", Label.EXCLUDE), (c, "ann", Label.EXCLUDE),
        (b, "ann", Label.EXCLUDE)]


def test_stage_roles_are_those_of_the_standing_decisions(db: Database) -> None:
    # Blinding asks which stages screeners (and adjudicators) have decided at; a decision
    # withdrawn by undo no longer counts, as in current_decisions.
    TA, FT = Stage.TITLE_ABSTRACT, Stage.FULL_TEXT
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        a, b = repo.add_records(s, source, [Record(title="A"), Record(title="B")])
        repo.add_decision(s, Decision(a, "ann", TA, Label.INCLUDE))
        ft = repo.add_decision(s, Decision(a, "ann", FT, Label.INCLUDE))
        repo.get_or_create_reviewer(s, "Ada", Role.ADJUDICATOR)
        repo.add_decision(s, Decision(b, "Ada", TA, Label.EXCLUDE, reviewer_role=Role.ADJUDICATOR))
    with db.transaction() as s:
        assert repo.current_stage_roles(s) == {(TA, Role.SCREENER), (FT, Role.SCREENER),
                                               (TA, Role.ADJUDICATOR)}
        repo.add_decision(s, Decision(a, "ann", FT, Label.UNDONE), undoes_id=ft.id)
    with db.transaction() as s:
        pairs = repo.current_stage_roles(s)
        assert pairs == {(d.stage, d.reviewer_role) for d in repo.current_decisions(s)}
        assert pairs == {(TA, Role.SCREENER), (TA, Role.ADJUDICATOR)}


def test_ranking_round_trip(db: Database) -> None:
    with db.transaction() as s:
        rid = repo.add_ranking(s, stage=Stage.TITLE_ABSTRACT, reviewer_id=None,
                               config={"model": "x"}, config_hash="h" * 64, training_size=10,
                               n_included=2, order_ids=[5, 3, 9], scores=[0.9, 0.5, 0.25])
    with db.transaction() as s:
        got = repo.latest_ranking(s, Stage.TITLE_ABSTRACT, None)
    assert got is not None
    assert got[0] == rid and got[1] == [5, 3, 9] and got[2] == pytest.approx([0.9, 0.5, 0.25])
    assert got[3]["training_size"] == 10 and got[3]["config"] == {"model": "x"}


def test_duplicates_and_reports(db: Database) -> None:
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        a, b, c = repo.add_records(s, source, [Record(title="A"), Record(title="A."),
                                               Record(title="C")])
        repo.add_duplicate_links(s, [(1, b, a, "fuzzy", 0.98)])
        repo.ensure_report(s, c)
        repo.set_report_status(s, c, ReportStatus.NOT_RETRIEVED)
    with db.transaction() as s:
        assert repo.removed_duplicate_ids(s) == {b}
        assert repo.reports(s) == {c: ReportStatus.NOT_RETRIEVED}
        assert repo.undo_cluster(s, 1) == 1
    with db.transaction() as s:
        assert repo.removed_duplicate_ids(s) == set()
        assert repo.duplicate_links(s, active_only=False)[0]["undone"] is True


def test_reviewer_roles(db: Database) -> None:
    with db.transaction() as s:
        repo.get_or_create_reviewer(s, "ann")
        repo.get_or_create_reviewer(s, "judge", Role.ADJUDICATOR)
    with db.transaction() as s:
        assert [(r.name, r.role) for r in repo.reviewers(s)] == [
            ("ann", Role.SCREENER), ("judge", Role.ADJUDICATOR)]


def test_search_escapes_sql_metacharacters(db: Database) -> None:
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title="100% effective'; DROP TABLE records;--"),
                                     Record(title="1000 effective")])
    with db.transaction() as s:
        hits = repo.search_records(s, "100% effective'; DROP")
        assert [r.title for r in hits] == ["100% effective'; DROP TABLE records;--"]
        assert repo.count_records(s) == 2


def test_search_ignores_case_in_every_script(db: Database) -> None:
    # SQLite's LIKE folds ASCII only: '/кетамин' found nothing where a record had 'Кетамин'
    import unicodedata

    titles = ["Кетамин при депрессии", "Η ΚΕΤΑΜΊΝΗ στην κατάθλιψη", "Ketamin an der STRASSE",
              unicodedata.normalize("NFD", "Nghiên cứu TRẦM CẢM"), "İLAÇ tedavisi", "Other"]
    with db.transaction() as s:
        source = repo.add_source(s, name="X", kind="database")
        repo.add_records(s, source, [Record(title=t) for t in titles])
    with db.transaction() as s:
        def found(text: str) -> list[str]:
            return [r.title for r in repo.search_records(s, text)]

        assert found("кетамин") == found("КЕТАМИН") == [titles[0]]
        assert found("κεταμίνη") == [titles[1]]
        assert found("straße") == [titles[2]]
        assert found("trầm cảm") == found("TRẦM\u200b CẢM") == [titles[3]]
        assert found("ilaç") == [titles[4]]
        assert found("keta") == [titles[2]]  # ASCII as before


def test_an_ascii_search_with_ss_finds_the_sharp_s(db: Database) -> None:
    # 'straße' found 'STRASSE', but 'strasse' or 'STRASSE' (ASCII) did not find 'Straße'
    titles = ["Unfälle an der Straße", "Ketamin an der STRASSE", "Other"]
    with db.transaction() as s:
        repo.add_records(s, repo.add_source(s, name="X", kind="database"),
                         [Record(title=t) for t in titles])
    with db.read() as s:
        def found(text: str) -> list[str]:
            return [r.title for r in repo.search_records(s, text)]

        assert found("strasse") == found("STRASSE") == found("straße") == titles[:2]
        assert found("Unfälle") == found("unfälle") == [titles[0]]


def test_search_looks_in_the_original_language_title(db: Database) -> None:
    # the record card shows a non-English article's own title (MEDLINE TT, biblatex
    # origtitle) under PubMed's English one, but / found nothing of it
    from screener.core.records import ORIGINAL_TITLE

    records = [Record(title="[Ketamine in depression].", raw={ORIGINAL_TITLE: "Кетамин при "
                                                               "депрессии"}),
               Record(title="Sleep in adults", raw={"origtitle": "Schlaf bei Erwachsenen"}),
               Record(title="Other")]
    with db.transaction() as s:
        repo.add_records(s, repo.add_source(s, name="X", kind="database"), records)
    with db.read() as s:
        def found(text: str) -> list[str]:
            return [r.title for r in repo.search_records(s, text)]

        assert found("КЕТАМИН") == found("кетамин при") == ["[Ketamine in depression]."]
        assert found("schlaf") == ["Sleep in adults"]
        assert found("ketamine") == ["[Ketamine in depression]."]


def test_feature_cache_round_trip_in_pieces(db: Database, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from screener.storage.models import FeatureCacheRow

    monkeypatch.setattr(repo, "FEATURE_CHUNK_BYTES", 1000)
    blob = bytes(range(256)) * 41  # 10,496 bytes: 11 pieces
    packed = tmp_path / "features.zip"
    packed.write_bytes(blob)
    for data in (packed, blob):
        with db.transaction() as s:
            repo.save_feature_cache(s, "h1", 120, 130, data)
        with db.read() as s:
            info = repo.feature_cache_info(s, "h1")
            assert info is not None and info[1:] == (120, 130)
            assert repo.feature_cache_info(s, "other settings") is None
            repo.read_feature_cache(s, info[0], tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == blob
    # A cache written before migration 0003 kept the blob in feature_cache.data.
    with db.transaction() as s:
        repo.save_feature_cache(s, "h2", 1, 1, b"")
        s.add(FeatureCacheRow(config_hash="old", n_records=5, max_record_id=5, data=blob))
    with db.read() as s:
        info = repo.feature_cache_info(s, "old")
        assert info is not None
        repo.read_feature_cache(s, info[0], tmp_path / "old")
    assert (tmp_path / "old").read_bytes() == blob


def test_bulk_insert_keeps_awkward_text_exactly(db: Database) -> None:
    """Tabs, newlines, backslashes, a literal \\N, quotes and non-ASCII survive the bulk
    insert (PostgreSQL uses COPY, whose text format escapes all of these)."""
    awkward = 'tab\there\nnew line \\ back \\N "quoted" \'single\' ½ ß 漢字 😀 \r end'
    record = Record(title=awkward, abstract=awkward + " abstract", authors=(awkward,),
                    keywords=("a\tb", "\\N"), raw={"TI": awkward, "list": [awkward, None]})
    with db.transaction() as s:
        source = repo.add_source(s, name="PubMed", kind="database")
        ids = repo.add_records(s, source, [record, Record(title="")])
    with db.read() as s:
        got = repo.get_record(s, ids[0])
        empty = repo.get_record(s, ids[1])
    assert got is not None and empty is not None
    assert (got.title, got.abstract, got.authors, got.keywords) == (
        awkward, awkward + " abstract", (awkward,), ("a\tb", "\\N"))
    assert got.raw == {"TI": awkward, "list": [awkward, None]}
    assert empty.title == "" and empty.abstract == ""
