"""A team's PostgreSQL roles across an upgrade: the database owner's, a reviewer's granted
what README asks for, and a superuser's. A reviewer's newer screener said only "migrating ...
failed: permission denied for schema public"; tables a migration created were not granted
to the reviewers ("permission denied for table events"), and, made by a superuser, not even
the database owner's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from screener.storage import Database, StorageError
from screener.storage.engine import upgrade

pytestmark = pytest.mark.postgres

OLD = "0004"  # the schema before 0005 created the events table


@dataclass
class Team:
    superuser: str
    owner: str
    reviewer: str
    owner_role: str
    reviewer_role: str


def _sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return rows


@pytest.fixture
def team(pg_url: str) -> Iterator[Team]:
    """A database owned by a role of its own, and a reviewer's role."""
    tag = uuid.uuid4().hex[:8]
    owner, reviewer = f"own_{tag}", f"rev_{tag}"
    database = pg_url.rsplit("/", 1)[1]
    _sql(pg_url, f"CREATE ROLE {owner} LOGIN PASSWORD 'pw'",
         f"CREATE ROLE {reviewer} LOGIN PASSWORD 'pw'",
         f'ALTER DATABASE "{database}" OWNER TO {owner}')
    host = pg_url.split("@", 1)[1]
    try:
        yield Team(pg_url, f"postgresql://{owner}:pw@{host}", f"postgresql://{reviewer}:pw@{host}",
                   owner, reviewer)
    finally:
        _sql(pg_url, f"REASSIGN OWNED BY {owner}, {reviewer} TO postgres",
             f"DROP OWNED BY {owner}, {reviewer}")
        _sql(pg_url, f"DROP ROLE {owner}", f"DROP ROLE {reviewer}")


def _old_review_granted_to_the_reviewer(team: Team) -> None:
    """The schema an older screener made, as the owner, with README's grants to the reviewer."""
    db = Database(team.owner)
    try:
        upgrade(db.engine, OLD)
    finally:
        db.dispose()
    _sql(team.owner,
         f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {team.reviewer_role}",
         f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {team.reviewer_role}")


def _missing(url: str) -> dict[str, list[str]]:
    db = Database(url)
    try:
        return db.missing_privileges()
    finally:
        db.dispose()


def _upgrade(url: str) -> None:
    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()


def test_a_reviewer_cannot_upgrade_and_is_told_who_can(team: Team) -> None:
    _old_review_granted_to_the_reviewer(team)
    with pytest.raises(StorageError) as refused:
        _upgrade(team.reviewer)
    said = str(refused.value)
    assert f"upgraded from {OLD} to {Database.head()}" in said
    assert f"only the owner of its tables (role {team.owner_role})" in said
    assert "screener db upgrade --db postgresql://" in said and "nothing was changed" in said
    assert "pw@" not in said


@pytest.mark.parametrize("upgrader", ["owner", "superuser"])
def test_tables_an_upgrade_creates_are_the_owners_and_granted_as_the_others(
        team: Team, upgrader: str) -> None:
    _old_review_granted_to_the_reviewer(team)
    assert _missing(team.reviewer) == {}
    _upgrade(getattr(team, upgrader))
    events_owner = _sql(team.superuser, "SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
    assert events_owner == [(team.owner_role,)]
    assert _missing(team.reviewer) == {}                   # the reviewer may write events too
    assert _missing(team.owner) == {}
    db = Database(team.reviewer)
    try:
        assert db.revision() == Database.head()
        db.upgrade()                                       # at head: nothing to do, no error
    finally:
        db.dispose()


def test_init_by_a_role_that_may_not_create_tables_says_how_to_go_on(team: Team) -> None:
    with pytest.raises(StorageError) as refused:
        _upgrade(team.reviewer)                            # (PostgreSQL 15: no CREATE on public)
    said = str(refused.value)
    assert "cannot create the review's tables" in said and "nothing was created" in said
    assert "Run init with the database owner's account" in said
    assert f"GRANT CREATE ON SCHEMA public TO {team.reviewer_role}" in said
