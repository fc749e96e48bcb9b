"""A PostgreSQL server that is not there to serve (stopped, shutting down, starting, out of
connections, or ending the session) is a failure to try again later (StorageUnavailable,
exit 75), each with what to do; it was a StorageError (exit 2, bad input) that said "Check
the host, port, user and database name"."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from screener.storage import Database, StorageError, StorageUnavailable
from screener.storage.engine import normalise_url


@pytest.mark.postgres
def test_a_session_the_server_ends_is_unavailable_and_the_next_action_reconnects(
        pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(StorageUnavailable) as lost:
            with db.transaction() as session:  # (as pg_terminate_backend, or a restart, does)
                session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        said = str(lost.value)
        assert "closed the connection" in said and "nothing was stored" in said
        assert "try again" in said and "user and database name" not in said
        with db.read() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()


# libpq's words for the states a test cannot bring about on a shared server
@pytest.mark.parametrize(("said", "what", "hint"), [
    ('connection to server at "db", port 5432 failed: FATAL:  the database system is '
     "shutting down", "is shutting down", "Wait until it is running again"),
    ('connection to server at "db", port 5432 failed: FATAL:  the database system is '
     "starting up", "is starting up", "Try again in a moment"),
    ('connection to server at "db", port 5432 failed: FATAL:  sorry, too many clients already',
     "has no connection left", "max_connections"),
    ("server closed the connection unexpectedly", "closed the connection", "try again"),
])
def test_each_unavailable_server_is_said_with_what_to_do(said: str, what: str,
                                                         hint: str) -> None:
    from sqlalchemy.exc import OperationalError

    db = Database(normalise_url("postgresql://ann@db:5432/review"))
    with pytest.raises(StorageUnavailable) as raised:
        db._raise_if_silent(OperationalError("SELECT 1", {}, Exception(said)))
    assert f"the PostgreSQL server at db:5432 {what}" in str(raised.value)
    assert hint in str(raised.value)


def test_a_wrong_password_is_not_unavailable() -> None:
    from sqlalchemy.exc import OperationalError

    db = Database(normalise_url("postgresql://ann@db:5432/review"))
    db._raise_if_silent(OperationalError("", {}, Exception(
        'FATAL:  password authentication failed for user "ann"')))  # (no exception: exit 2)
    assert not issubclass(StorageError, StorageUnavailable)
