"""Use cases: the only layer that combines protocol, importers, ranking, storage, exports.

Its names are imported when first used: a light module of the package (`model_settings`,
which `protocol check` reads a protocol with) must not load the database layer
(SQLAlchemy) with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from screener.protocol import ProtocolError
    from screener.storage import StorageError
    from screener.workflow.review import ReviewError

    USER_ERRORS: tuple[type[BaseException], ...]

__all__ = ["USER_ERRORS", "ProtocolError", "ReviewError", "StorageError"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from screener.protocol import ProtocolError
    from screener.storage import StorageError
    from screener.workflow.review import ReviewError

    names = {"USER_ERRORS": (ReviewError, ProtocolError, StorageError),
             "ProtocolError": ProtocolError, "ReviewError": ReviewError,
             "StorageError": StorageError}
    globals().update(names)
    return names[name]
