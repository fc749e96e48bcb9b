"""Use cases: the only layer that combines protocol, importers, ranking, storage, exports."""

from screener.protocol import ProtocolError
from screener.storage import StorageError
from screener.workflow.review import ReviewError

USER_ERRORS: tuple[type[BaseException], ...] = (ReviewError, ProtocolError, StorageError)

__all__ = ["USER_ERRORS", "ProtocolError", "ReviewError", "StorageError"]
