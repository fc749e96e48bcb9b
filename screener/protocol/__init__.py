"""YAML protocols: validation against one declared schema, conversion to core.Protocol."""

from screener.protocol.bundled import bundled_protocols, example_named, protocol_or_example
from screener.protocol.loader import (
    Problem,
    ProtocolError,
    RankingCheck,
    load_protocol_text,
    normalise_protocol_text,
    protocol_warnings,
    read_protocol_file,
    sha256_text,
)
from screener.protocol.schema import SCHEMA, schema_json

__all__ = ["SCHEMA", "Problem", "ProtocolError", "RankingCheck", "bundled_protocols",
           "example_named", "load_protocol_text", "normalise_protocol_text",
           "protocol_or_example", "protocol_warnings",
           "read_protocol_file", "schema_json", "sha256_text"]
