"""The protocol declaration: one JSON Schema, used both to validate YAML and to document it.

`screener protocol schema` prints `SCHEMA`; protocols/protocol.schema.json is a committed
copy that a test keeps current. Must not import sqlalchemy, textual, click or sklearn.
"""

from __future__ import annotations

import json
from typing import Any

_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]+$", "minLength": 1, "maxLength": 64}
_TEXT = {"type": "string"}
_TERMS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_HIGHLIGHT_TERMS = {**_TERMS, "description": (
    "Words matched whole and case-insensitively: letters, digits, apostrophes, hyphens and "
    "spaces, with an optional * wildcard at the start or end (ketamin*, *ketamine); "
    "`protocol check` refuses other signs (C++, HIV/AIDS: list HIV and AIDS).")}
_PROB = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}

ACTIONS = ("include", "exclude", "maybe", "note", "undo", "search", "browse", "help", "quit",
           "conflicts", "fulltext_not_retrieved")

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/screener/screener/protocol.schema.json",
    "title": "screener review protocol",
    "description": "A systematic review's screening protocol, written in YAML.",
    "type": "object",
    "required": ["title", "criteria", "exclusion_reasons"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "description": "Review title."},
        "question": {
            "type": "object",
            "description": "The review question (PICO/PECO), as free text fields.",
            "additionalProperties": False,
            "properties": {k: _TEXT for k in (
                "text", "population", "intervention", "exposure", "comparator", "outcome",
                "study_design", "setting", "context")},
        },
        "searches": {
            "type": "array",
            "description": "Search strategy per source (PRISMA-S).",
            "items": {
                "type": "object",
                "required": ["source"],
                "additionalProperties": False,
                "properties": {
                    "source": {"type": "string", "minLength": 1},
                    "kind": {"enum": ["database", "register", "other"]},
                    "query": _TEXT,
                    "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
            },
        },
        "stages": {
            "type": "array",
            "items": {"enum": ["title_abstract", "full_text"]},
            "minItems": 1,
            "uniqueItems": True,
        },
        "criteria": {
            "type": "array",
            "description": "Eligibility criteria with ids.",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "text"],
                "additionalProperties": False,
                "properties": {
                    "id": _ID,
                    "type": {"enum": ["include", "exclude"]},
                    "text": {"type": "string", "minLength": 1},
                },
            },
        },
        "exclusion_reasons": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "label", "key"],
                "additionalProperties": False,
                "properties": {
                    "id": _ID,
                    "label": {"type": "string", "minLength": 1},
                    "key": {"type": "string", "pattern": r"^[0-9a-z]$"},
                },
            },
        },
        "highlight": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"include": _HIGHLIGHT_TERMS, "exclude": _HIGHLIGHT_TERMS},
        },
        "screening": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["single", "dual"]},
                "reviewers_per_record": {"type": "integer", "minimum": 1, "maximum": 5},
                "blind": {"type": "boolean"},
                "resolution": {"enum": ["adjudicator", "consensus"]},
                "adjudicator": _TEXT,
                "reason_required_at_title_abstract": {"type": "boolean"},
                "conflicts": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "maybe_vs_exclude": {"type": "boolean"},
                        "reason_mismatch_full_text": {"type": "boolean"},
                    },
                },
            },
        },
        "ranking": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "model": {"type": "string"},
                "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                "cold_start": {"type": "boolean"},
                "params": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
            },
        },
        "stopping": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "recall_target": _PROB,
                "confidence": _PROB,
                "consecutive_irrelevant": {"type": "integer", "minimum": 1},
                "min_screened_fraction": _PROB,
                "key_papers": _TERMS,
            },
        },
        "keys": {
            "type": "object",
            "description": "Remap UI keys: action -> key.",
            "additionalProperties": False,
            "properties": {a: {"type": "string", "minLength": 1, "maxLength": 20} for a in ACTIONS},
        },
    },
}


def schema_json() -> str:
    return json.dumps(SCHEMA, indent=2, sort_keys=True) + "\n"
