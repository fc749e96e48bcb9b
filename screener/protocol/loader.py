"""YAML protocol -> `core.Protocol`, with every problem reported by YAML line and field.

Reads the YAML as plain data only (see `yaml_reader`: SafeLoader, bounded aliases, keys
written twice found). Checks that only this layer can make come here; the ranking settings
are checked by a function the caller passes (`ranking_check`), since the ranking package
is not this one's to import. Must not import sqlalchemy, textual, click or sklearn.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from screener.core.controls import BIDI_PATTERN
from screener.core.dates import search_date_problem
from screener.core.decisions import Stage
from screener.core.keys import (
    DEFAULT_KEYS,
    RESERVED_KEYS,
    binding_key,
    key_problem,
    reserved_name,
)
from screener.core.protocol import (
    APOSTROPHES,
    HYPHENS,
    Criterion,
    CriterionKind,
    ExclusionReason,
    Highlight,
    Protocol,
    RankingSettings,
    Resolution,
    ScreeningMode,
    SearchStrategy,
    SourceKind,
    StoppingRule,
    word_chars,
)
from screener.core.records import key_paper_id
from screener.core.wording import counted
from screener.protocol.schema import ACTIONS, SCHEMA
from screener.protocol.yaml_reader import YamlError, read_yaml

RankingCheck = Callable[[Mapping[str, Any]], list[tuple[tuple[str | int, ...], str]]]
"""Given a protocol's `ranking:` mapping (as written, possibly misshapen), the problems the
ranking model would refuse, each with its path below `ranking` (e.g. ("params", "C"))."""

_VALIDATOR = Draft202012Validator(SCHEMA)


@lru_cache(maxsize=1)
def _term_chars() -> str:
    """What a highlight term is made of (a regex class body): word characters, combining
    marks among them (`word_chars`), spaces, apostrophes and hyphens."""
    return word_chars() + " " + "".join(re.escape(c) for c in APOSTROPHES + HYPHENS)


@lru_cache(maxsize=1)
def _term() -> re.Pattern[str]:
    """A highlight term: starts with a letter or digit, with an optional * at one end."""
    chars = _term_chars()
    return re.compile(rf"^\w[{chars}]*\*?$|^\*\w[{chars}]*$")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    """Dotted field path, e.g. `criteria[2].id`."""
    line: int | None
    message: str
    column: int | None = None
    """1-based column, given for YAML syntax errors."""

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        if self.line and self.column:
            where += f"column {self.column}, "
        return f"{where}{self.path or '(top level)'}: {self.message}"


class ProtocolError(Exception):
    """A protocol that cannot be used; `problems` lists every one found."""

    def __init__(self, file: str, problems: list[Problem], message: str = "") -> None:
        """`message`: what to say instead of listing the problems (a file that could not
        be read has none in its content to fix)."""
        self.file = file
        self.problems = problems
        lines = "\n".join(f"  {file}: {p}" for p in problems)
        super().__init__(message or (
            f"{file}: {counted(len(problems), 'problem')} in the protocol:\n{lines}\n"
            "Fix the file (see `screener protocol schema` for every field) and run "
            "`screener protocol check` again."
        ))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_protocol_text(text: str) -> str:
    """The protocol text as a review stores, hashes and copies it: without a byte-order mark,
    lines ending in LF. A protocol re-saved on Windows (CRLF), by an old Mac editor (CR) or
    with a BOM is the same protocol, and `sha256sum protocol.yaml` of the review's copy
    gives the hash screener prints."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _path_text(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """The 1-based line of the deepest node found along `path` in the composed YAML."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    nxt = value
                    line = key.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
        if node is None:
            break
    return line


def load_protocol_text(text: str, file: str = "<protocol>", *,
                       ranking_check: RankingCheck | None = None,
                       stored: bool = False) -> Protocol:
    """Validate and convert; raise ProtocolError listing every problem found.

    `ranking_check` adds the ranking model's own checks of `ranking:`. `stored` is for a
    version a review already holds: it passed the checks of the screener that stored it,
    so the checks added since (keys written twice, UI keys that clash with the default or
    reserved ones, impossible dates, the ranking model's) are left out, and an older review
    still opens (and can be amended).
    """
    try:
        node, data, duplicates = read_yaml(text)
    except YamlError as exc:
        found = exc.problem
        raise ProtocolError(file, [Problem(_path_text(list(found.path)), found.line,
                                           found.message, found.column)]) from None
    if not isinstance(data, dict):
        raise ProtocolError(file, [Problem("", 1, "the protocol must be a YAML mapping "
                                           "(key: value lines), starting with `title:`")])
    problems = [
        Problem(_path_text(_error_path(err)), _line_of(node, _error_path(err)), _explain(err))
        for err in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
    # The semantic checks run even when the schema failed, so one `protocol check` lists
    # every problem; they skip values of the wrong shape (the schema reported those).
    problems += _semantic_problems(data, node)
    if not stored:
        problems += [Problem(_path_text(list(d.path)), d.line, d.message) for d in duplicates]
        problems += _input_problems(data, node, ranking_check)
    if problems:
        raise ProtocolError(file, sorted(problems, key=lambda p: p.line or 0))
    return _build(data)


def _error_path(err: Any) -> list[Any]:
    """The failing field's path; for an unexpected field, the path of that field itself."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str)
        if extra:
            path.append(extra[0])
    return path


def _explain(err: Any) -> str:
    """jsonschema's message, with how to fix it where the mistake is a common one."""
    if err.instance is None and err.validator in ("type", "enum"):
        return _empty(err)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed), key=str) if isinstance(
            err.instance, dict) else []
        near = difflib.get_close_matches(str(extra[0]), allowed, n=1) if extra else []
        hint = f"; did you mean {near[0]!r}?" if near else ""
        return f"{err.message}{hint}; allowed fields: {', '.join(allowed)}"
    if err.validator == "required":
        return f"missing required field: {err.message}"
    if err.validator == "minItems" and err.instance == []:
        return "the list is empty: give at least one entry"
    field = str(err.absolute_path[-1]) if err.absolute_path else ""
    if err.validator == "pattern" and "date" in _path_text(list(err.absolute_path)):
        return f"{err.instance!r} is not a date; write it as YYYY-MM-DD"
    return f"{err.message}{_hint(err, field)}"


def _yes_no(value: bool) -> str:
    return "true" if value else "false"


def _without() -> dict[tuple[str, ...], str]:
    """What leaving out an optional section gives (the values `_build` takes then)."""
    stop, rank, mode = StoppingRule(), RankingSettings(), ScreeningMode()
    return {
        ("stopping",): "to use the default stopping rule (recall_target "
        f"{stop.recall_target:g}, confidence {stop.confidence:g}, consecutive_irrelevant "
        f"{stop.consecutive_irrelevant}, min_screened_fraction {stop.min_screened_fraction:g})",
        ("ranking",): f"to use the defaults (model {rank.model}, seed {rank.seed}, "
        f"cold_start {_yes_no(rank.cold_start)})",
        ("ranking", "params"): "to use the model's default parameters",
        ("screening",): "to use the defaults (mode single: one reviewer per record)",
        ("screening", "conflicts"): "to use the defaults (maybe_vs_exclude "
        f"{_yes_no(mode.maybe_vs_exclude_is_conflict)}, reason_mismatch_full_text "
        f"{_yes_no(mode.reason_mismatch_is_conflict)})",
        ("keys",): "to use the default keys",
        ("stages",): "to use both stages (title_abstract, full_text)",
        ("highlight",): "to highlight no terms",
        ("searches",): "to record no search strategy",
        ("stopping", "key_papers"): "to name no key papers",
    }


def _required(path: list[Any]) -> bool:
    """Whether the field at `path` (a name, not a list item) must be given."""
    schema: Any = SCHEMA
    for part in path[:-1]:
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part, schema.get("additionalProperties"))
        if not isinstance(schema, dict):
            return False
    return path[-1] in schema.get("required", [])


def _empty(err: Any) -> str:
    """What to write where YAML read nothing (`stopping:` with no lines below it)."""
    path = list(err.absolute_path)
    name = str(path[-1]) if path else ""
    wanted = err.schema.get("type")
    fields = ", ".join(err.schema.get("properties", {}))
    if path and isinstance(path[-1], int):
        what = (f"give the entry's fields ({fields})" if wanted == "object"
                else "write the entry after the `-`")
        return f"the entry is empty (a `-` with nothing after it): {what}, or remove the line"
    if wanted == "object":
        message = (f"the section is empty (nothing below `{name}:`): give its fields, "
                   f"indented below it ({fields})" if fields else
                   f"the section is empty (nothing below `{name}:`): give its entries, "
                   "indented below it (name: value)")
    elif wanted == "array":
        least = " (at least one)" if err.schema.get("minItems") else ""
        message = (f"the list is empty (nothing after `{name}:`): list its entries{least} "
                   "below it, each on a line starting with `- ` (or in brackets: [a, b])")
    elif "enum" in err.schema:
        message = ("the value is empty: write one of "
                   f"{', '.join(map(str, err.schema['enum']))} after the colon")
    elif wanted == "boolean":
        message = "the value is empty: write true or false after the colon"
    elif wanted in ("integer", "number"):
        message = "the value is empty: write a number after the colon"
    else:
        message = f"the value is empty: write the {name.replace('_', ' ')} after the colon"
    if _required(path):
        return message
    without = _without().get(tuple(map(str, path)), "")
    return f"{message}, or remove the `{name}:` line{' ' * bool(without)}{without}"


def _hint(err: Any, field: str) -> str:
    """How to fix a value of the wrong type, range or form ("" when jsonschema says it)."""
    value, wanted = err.instance, err.schema.get("type")
    if err.validator == "type":
        if wanted == "string" and isinstance(value, bool):
            # (the word as written is lost: yes, on, true all read as True)
            quoted = "- \"...\"" if field.isdigit() else f"{field}: \"...\""
            return (f"; put the word in quotes ({quoted}), as YAML reads yes, no, on, off, "
                    "true and false as a yes/no value otherwise")
        if wanted == "string" and isinstance(value, (int, float)):
            quoted = f"- \"{value}\"" if field.isdigit() else f"{field}: \"{value}\""
            return f"; put it in quotes ({quoted}), as YAML reads it as a number otherwise"
        if wanted in ("integer", "number") and isinstance(value, str):
            try:
                float(value.strip().rstrip("%"))
            except ValueError:
                return f"; write a {'whole ' * (wanted == 'integer')}number"
            return ("; write the number without quotes" if not value.strip().endswith("%")
                    else "; write a proportion without % (e.g. 0.95 for 95%)")
        if wanted in ("integer", "number") and isinstance(value, bool):
            return "; write a number, not a yes/no value"
        if wanted == "integer" and isinstance(value, float):
            return "; write a whole number"
        if wanted == "boolean" and isinstance(value, str):
            return "; write true or false, without quotes"
        if wanted == "array" and isinstance(value, str):
            return f"; write a list, e.g. {field}: [{value}]"
    if (err.validator in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum")
            and err.schema.get("exclusiveMaximum") == 1 and isinstance(value, (int, float))):
        pct = (f"; for {value:g}% write {value / 100:g}" if 1 < value <= 100
               and value == int(value) else "")
        return f"; write a proportion between 0 and 1 (e.g. 0.95){pct}"
    if err.validator == "pattern" and field == "key":
        return "; a reason's key is one lower-case letter or digit, in quotes (key: \"9\")"
    if err.validator == "pattern" and field == "id":
        return "; an id holds letters, digits, '_', '.' and '-' only (no spaces), e.g. E1"
    return ""


def _items(data: dict[str, Any], section: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings in list `section`, with their index (other shapes are schema errors)."""
    value = data.get(section)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _highlight_lists(highlight: Any) -> list[tuple[str, list[Any]]]:
    """(kind, its list) for the `highlight` section's include and exclude term lists
    (other shapes, schema errors, as empty lists)."""
    lists = highlight if isinstance(highlight, dict) else {}
    return [(kind, terms if isinstance(terms := lists.get(kind), list) else [])
            for kind in ("include", "exclude")]


_WILDCARDS = "?*#$!"
"""Signs bibliographic databases use as wildcards or truncation inside a word."""
_MIN_LETTERS = 3
"""A suggested term has at least this many letters or digits: shorter pieces (`S`, `ed`)
would be marked wherever they stand alone. Counted by `_letters`."""
_IDEOGRAPHS = re.compile("[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                         "\U00020000-\U0003134f]")
_SYLLABLES = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f\uac00-\ud7a3]")


def _letters(text: str) -> int:
    """The letters and digits of `text`, as counted against `_MIN_LETTERS`: a CJK ideograph
    carries a word's meaning and counts as enough alone (`薬*`), a kana or Hangul syllable
    counts as two letters (`ケタ*`, `약물*`, not `の*`)."""
    return sum(_MIN_LETTERS if _IDEOGRAPHS.match(ch) else 2 if _SYLLABLES.match(ch) else 1
               for ch in re.sub(r"\W", "", text))


def suggested_terms(term: str) -> tuple[str, ...]:
    """Highlight terms that do what `term` (not one itself) was meant to: a wildcard inside
    a word becomes a * ending there (`non-randomi?ed` -> `non-randomi*`); other signs split
    the term into its pieces (`HIV/AIDS` -> HIV, AIDS; `(S)-ketamine` -> ketamine, which the
    highlighter marks in "(S)-ketamine" too). Pieces under `_MIN_LETTERS` are left out."""
    text = term.strip()
    inner = re.search(rf"(?<=\w)[{re.escape(_WILDCARDS)}]", text.lstrip("*"))
    if inner is not None:
        stem = text.lstrip("*")[:inner.start()]
        pieces = [("*" if text.startswith("*") else "") + _edge_stripped(stem) + "*"]
    else:
        pieces = [_edge_stripped(p) for p in re.split(rf"[^{_term_chars()}*]+", text)]
    return tuple(dict.fromkeys(
        p for p in pieces if _valid(p)))


def _edge_stripped(piece: str) -> str:
    """A piece without spaces, hyphens and apostrophes at its ends (a term begins with a
    letter or digit)."""
    return piece.strip(" " + APOSTROPHES + HYPHENS)


_REGEX_SIGNS = re.compile(
    r"\\|\||\.[*+?{]|^\^|\(\?|\[(?:\^|[^\]]*\w-\w|[^\W\d_]{2,}\])|\)[?*+{]|\w\+\w|[)\]]\+|\{\d")
"""What marks a term as a regular expression, not a bibliographic wildcard or a chemical
name such as (S)-ketamine or [11C]raclopride: a backslash, `|`, `.*` (`.+`, `.?`), a `^`
at the start, a class of letters (`[Cc]`, `[sz]`) or with a range (`[a-z]`), a
quantified group (`(ren)?`) or one opening `(?`, a `+` inside a word (`ket+amine`), a count `{2}`."""
_ANY, _SOME = "\0", "\1"
"""In a spelling of an expression: any run of characters, possibly none (`.*`), or at
least one (`.+`, `\\w`)."""
_MAX_SPELLINGS = 8


class _Expansion:
    """The spellings a simple regular expression matches (`child(ren)?` -> child,
    children), a run of any characters standing as `_ANY` or `_SOME`; None where there are
    too many, or the expression is beyond this reading."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.case_folded = text, 0, False

    def spellings(self) -> list[str] | None:
        found = self._alternatives()
        return found if self.pos == len(self.text) else None

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _alternatives(self) -> list[str] | None:
        found: list[str] = []
        while True:
            branch = self._sequence()
            if branch is None:
                return None
            found += branch
            if self._peek() != "|":
                return found if len(found) <= _MAX_SPELLINGS else None
            self.pos += 1

    def _sequence(self) -> list[str] | None:
        found = [""]
        while self._peek() not in ("", "|", ")"):
            atom = self._quantified()
            if atom is None:
                return None
            found = [a + b for a in found for b in atom]
            if len(found) > _MAX_SPELLINGS:
                return None
        return found

    def _quantified(self) -> list[str] | None:
        atom = self._atom()
        if atom is None:
            return None
        sign = self._peek()
        if sign == "{":
            end = self.text.find("}", self.pos)
            if end < 0:
                return None
            sign = "?" if self.text[self.pos + 1:end].startswith("0") else "+"
            self.pos = end
        elif sign not in ("?", "*", "+"):
            return atom
        self.pos += 1
        if atom == [_SOME]:
            return [_ANY if sign in "?*" else _SOME]
        return ["", *atom] if sign in "?*" else atom

    def _atom(self) -> list[str] | None:
        ch = self._peek()
        self.pos += 1
        if ch in "^$" and self.pos in (1, len(self.text)):
            return [""]
        if ch == ".":
            return [_SOME]
        if ch == "\\":
            escaped = self._peek()
            self.pos += 1
            if escaped == "b":
                return [""]
            if escaped == "s":
                return [" "]
            return [_SOME] if escaped.isalpha() else [escaped]
        if ch == "[":
            end = self.text.find("]", self.pos)
            if end < 0:
                return None
            body, self.pos = self.text[self.pos:end], end + 1
            if body.startswith("^") or re.search(r"\w-\w|\\", body):
                return [_SOME]
            letters = list(dict.fromkeys(body.lower()))
            self.case_folded |= len(letters) < len(set(body))
            return letters
        if ch == "(" and (flags := re.match(r"\?[aiLmsux]+\)", self.text[self.pos:])):
            self.pos += flags.end()  # (?i): terms match whatever the case anyway
            self.case_folded |= "i" in flags.group()
            return [""]
        if ch == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            inner = self._alternatives()
            if inner is None or self._peek() != ")":
                return None
            self.pos += 1
            return inner
        return [ch] if ch and ch not in "?*+{" else None


def _regex_advice(term: str) -> str:
    """Plain terms that mark what regular expression `term` was written to find."""
    expansion = _Expansion(term.strip())
    spellings = expansion.spellings() or []
    words = list({w.lower(): w for w in reversed([  # the first of each in any case
        " ".join(s.replace(_ANY, "").split()) for s in spellings if _SOME not in s])}.values())
    words.reverse()
    stems = [f"{s.split(_ANY)[0].split(_SOME)[0]}*" for s in spellings
             if _ANY in s or _SOME in s]
    stems += [f"*{s.rsplit(_ANY)[-1].rsplit(_SOME)[-1]}" for s in spellings
              if _ANY in s or _SOME in s]
    if len(words) > 1:
        stems.append(os.path.commonprefix([w.lower() for w in words]) + "*")
    fine = [w for w in words if _valid(w)]
    notes = [*(["each a term of its own"] if len(fine) > 1 else []),
             *(["terms match whatever the case"] if expansion.case_folded else [])]
    note = f" ({'; '.join(notes)})" if notes else ""
    parts = [f"{', '.join(fine)}{note}"] if fine else []
    for stem in dict.fromkeys(s for s in stems if _valid(s)):
        where = "starting with" if stem.endswith("*") else "ending in"
        parts.append(f"{stem} (every word {where} {stem.strip('*')})")
    return f"; write instead: {', or '.join(parts)}" if parts else ""


def _valid(term: str) -> bool:
    """A highlight term of at least `_MIN_LETTERS` letters or digits (`_letters`)."""
    return bool(_term().match(term)) and _letters(term) >= _MIN_LETTERS


_OPTIONAL_LETTER_SPELLINGS = re.compile(
    r"ou\?r|[ao]\?e|ge\?(?:ment|ing|abl)|([b-df-hj-np-tv-z])\1\?", re.IGNORECASE)
"""Where a letter made optional by a ? spells a word both ways (British and American, or
old and new): colou?r, pa?ediatric, o?estrogen, judge?ment, age?ing, travell?ed."""
_S_OR_Z = re.compile(r"[iy]\?[aeio]", re.IGNORECASE)
"""Where a ? standing for one letter stands for s or z: randomi?ed, organi?ation, analy?e."""


def _question_mark_readings(term: str) -> list[tuple[str, list[str]]]:
    """The readings of a term whose one wildcard is a ? between letters that spell words:
    (what the ? is read as, the spellings), for the letter before it optional as in a
    regular expression where that spells a word both ways (`colou?r` -> colour, color),
    and for one letter, s or z, as in a database search (`randomi?ed` -> randomised,
    randomized). [] for any other term, or when a spelling is no valid term."""
    text = term.strip()
    core = text.strip("*")
    if (core.count("?") != 1 or not re.search(r"\w\?\w", core)
            or re.search(rf"[{re.escape(_WILDCARDS.replace('?', ''))}]", core)):
        return []
    head, tail = text[:len(text) - len(text.lstrip("*"))], text[len(text.rstrip("*")):]
    before = core.split("?")[0]
    readings: list[tuple[str, list[str]]] = []
    if _OPTIONAL_LETTER_SPELLINGS.search(core):
        readings.append((f"makes the {before[-1]} before it optional, as in a regular "
                         "expression", (_Expansion(core).spellings() or [])[::-1]))
    if _S_OR_Z.search(core):
        readings.append(("stands for s or z, as in a database search",
                         [core.replace("?", letter) for letter in "sz"]))
    return [(how, [head + w + tail for w in words]) for how, words in readings
            if words and all(_valid(head + w + tail) for w in words)]


def _term_advice(term: str) -> str:
    fixes = suggested_terms(term)
    # a database's ? stands for a letter (randomi?ed); a regular expression's makes the
    # letter before it optional (colou?r), which a stem ending before it does not cover
    optional = "".join(f"; if the ? {how}: {', '.join(words)}"
                       for how, words in _question_mark_readings(term))
    if not fixes:  # (a stem too short to mark: pa?ediatric)
        return f"; list each spelling as a term of its own{optional}" if optional else ""
    if any(fix.endswith("*") and not term.strip().endswith("*") for fix in fixes):
        return (f"; a * ends a word: {', '.join(fixes)} (or list each spelling as a term "
                f"of its own{optional})")
    if len(fixes) == 1:
        return f"; the term {fixes[0]} marks it (as any other {fixes[0]}){optional}"
    return f"; list its words as separate terms ({', '.join(fixes)})"


def _short_stem(term: str) -> str | None:
    """Why a * term marks too much (its stem under `_MIN_LETTERS`), or None."""
    text = term.strip()
    if not _term().match(text) or "*" not in text:
        return None
    stem = text.strip("*")
    if _letters(stem) >= _MIN_LETTERS:
        return None
    where = "starts" if text.endswith("*") else "ends"
    return (f"{term!r} would mark every word that {where} with {stem!r}: a term with a * "
            f"needs at least {_MIN_LETTERS} letters or digits beside the * (e.g. ketamin*; "
            "or one CJK ideograph, or two kana or Hangul syllables); write the whole word, "
            "or a longer stem")


def _semantic_problems(data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: list[Any], message: str) -> None:
        problems.append(Problem(_path_text(path), _line_of(node, path), message))

    for section in ("criteria", "exclusion_reasons"):
        seen: dict[str, int] = {}
        for i, item in _items(data, section):
            if not isinstance(item.get("id"), str):
                continue
            if item["id"] in seen:
                add([section, i, "id"], f"duplicate id {item['id']!r} "
                    f"(also {section}[{seen[item['id']]}]); ids must be unique")
            seen.setdefault(item["id"], i)
    keys: dict[str, int] = {}
    for i, reason in _items(data, "exclusion_reasons"):
        if not isinstance(reason.get("key"), str):
            continue
        if reason["key"] in keys:
            add(["exclusion_reasons", i, "key"],
                f"key {reason['key']!r} is already used by exclusion_reasons[{keys[reason['key']]}]")
        keys.setdefault(reason["key"], i)
    for kind, terms in _highlight_lists(data.get("highlight")):
        for i, term in enumerate(terms):
            if not isinstance(term, str) or _term().match(term.strip()):
                continue
            if _REGEX_SIGNS.search(term.strip()):
                add(["highlight", kind, i], f"{term!r} is not a highlight term: terms are "
                    "plain words, not regular expressions (letters, digits, apostrophes, "
                    "hyphens and spaces, with an optional * at the start or end, as in "
                    f"ketamin*){_regex_advice(term)}")
            else:
                add(["highlight", kind, i], f"{term!r} is not a highlight term: use words "
                    "(letters, digits, apostrophes, hyphens and spaces), with an optional * "
                    f"wildcard at the start or end (e.g. ketamin*){_term_advice(term)}")
    screening = data.get("screening")
    screening = screening if isinstance(screening, dict) else {}
    mode = screening.get("mode", "single")
    per = screening.get("reviewers_per_record")
    if mode == "single" and per not in (None, 1) and isinstance(per, int):
        add(["screening", "reviewers_per_record"],
            f"mode is single but reviewers_per_record is {per}; use mode: dual")
    if mode == "dual" and per == 1 and not isinstance(per, bool):  # (true: a type error)
        add(["screening", "reviewers_per_record"], "mode is dual: reviewers_per_record must be ≥ 2")
    if (mode == "dual" and screening.get("resolution", "adjudicator") == "adjudicator"
            and not str(screening.get("adjudicator") or "").strip()):
        add(["screening"], "mode is dual with resolution: adjudicator, but no adjudicator is "
            "named: add `adjudicator: NAME` (the name they screen under), or use "
            "resolution: consensus")
    action_keys: dict[str, str] = {}
    bindings = data.get("keys")
    for action, key in (bindings.items() if isinstance(bindings, dict) else []):
        if not isinstance(key, str):
            continue
        name = binding_key(key)  # '/' and 'slash' are one key
        if name in action_keys:
            add(["keys", action], f"key {key!r} is also bound to {action_keys[name]!r}")
        action_keys.setdefault(name, action)
    return problems


_FieldPattern = tuple[str | None, ...]
_ONE_LINE: tuple[_FieldPattern, ...] = (
    ("title",), ("exclusion_reasons", None, "label"), ("searches", None, "source"),
    ("screening", "adjudicator"))
"""Fields shown as one line (a heading, a list entry, a name): a line break would break
the report's heading or the UI's line. `None` stands for every item of a list."""
_MUST_HAVE_TEXT: tuple[_FieldPattern, ...] = (
    ("title",), ("criteria", None, "text"), ("exclusion_reasons", None, "label"),
    ("searches", None, "source"))
_INVISIBLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f]|{BIDI_PATTERN.pattern}")
"""Control characters (a line break and a tab aside) and the bidirectional controls names
and notes refuse (`BIDI_CONTROLS`): sent to the terminal they can clear the screen or
reverse the text shown around them."""
_ZERO_WIDTH = re.compile("[\ufeff\u200b\u2060]")
"""The byte-order mark (U+FEFF, zero width no-break space), zero-width space and word joiner:
invisible, and U+FEFF crashes matplotlib's PDF backend (the diagram now leaves it out)."""


def _strings(value: Any, path: list[Any]) -> list[tuple[list[Any], str]]:
    """Every string in the protocol data (keys aside), with its path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _strings(v, [*path, k])]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _strings(v, [*path, i])]
    return []


def _fields_at(data: Any, pattern: _FieldPattern) -> list[tuple[list[Any], Any]]:
    """The values at a path pattern (`None`: every item of a list), with their paths."""
    found: list[tuple[list[Any], Any]] = [([], data)]
    for part in pattern:
        nxt: list[tuple[list[Any], Any]] = []
        for path, value in found:
            if part is None and isinstance(value, list):
                nxt += [([*path, i], v) for i, v in enumerate(value)]
            elif part is not None and isinstance(value, dict) and part in value:
                nxt.append(([*path, part], value[part]))
        found = nxt
    return found


def _input_problems(data: dict[str, Any], node: yaml.Node | None,
                    ranking_check: RankingCheck | None) -> list[Problem]:
    """The checks a protocol file gets and a stored version does not (see `stored`)."""
    problems: list[Problem] = []

    def add(path: list[Any], message: str) -> None:
        problems.append(Problem(_path_text(path), _line_of(node, path), message))

    for where, text in _strings(data, []):
        bad = _INVISIBLE.search(text)
        if bad:
            add(where, f"holds an invisible control character (U+{ord(bad.group()):04X}), "
                "which would garble the screen or the report around it; remove it")
        elif zero := _ZERO_WIDTH.search(text):
            add(where, f"holds an invisible character (U+{ord(zero.group()):04X}, "
                f"{unicodedata.name(zero.group()).lower()}) at character {zero.start() + 1}, "
                "often pasted in with the text: it shows nothing, cannot be drawn in the PDF "
                "diagram and makes two texts that look alike differ; remove it")
    for pattern in _MUST_HAVE_TEXT:
        for where, value in _fields_at(data, pattern):
            if isinstance(value, str) and value and not value.strip():
                add(where, "is blank: write the text (it is shown to reviewers and in the "
                    "report)")
    for pattern in _ONE_LINE:
        for where, value in _fields_at(data, pattern):
            if isinstance(value, str) and "\n" in value.strip():
                add(where, "spans several lines: write it on one line (it is shown as a "
                    "heading or a list entry)")
    highlight = data.get("highlight")
    for kind, terms in _highlight_lists(highlight):
        for i, term in enumerate(terms):
            if isinstance(term, str) and (short := _short_stem(term)) is not None:
                add(["highlight", kind, i], short)
    if isinstance(highlight, dict):
        include, exclude = highlight.get("include"), highlight.get("exclude")
        both = ({t.strip().lower() for t in include if isinstance(t, str)}
                & {t.strip().lower() for t in exclude if isinstance(t, str)}
                if isinstance(include, list) and isinstance(exclude, list) else set())
        for i, term in enumerate(exclude if both and isinstance(exclude, list) else []):
            if isinstance(term, str) and term.strip().lower() in both:
                add(["highlight", "exclude", i], f"{term.strip()!r} is also an include term; "
                    "a word is marked one way only (as include), so keep it in one list")

    for i, search in _items(data, "searches"):
        date = search.get("date")
        # (one not written YYYY-MM-DD is the schema's problem)
        if (isinstance(date, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)
                and (wrong := search_date_problem(date))):
            add(["searches", i, "date"], f"{date!r} {wrong}")
    stopping = data.get("stopping")
    papers = stopping.get("key_papers") if isinstance(stopping, dict) else None
    for i, paper in enumerate(papers if isinstance(papers, list) else []):
        if isinstance(paper, str) and paper.strip() and not key_paper_id(paper):
            add(["stopping", "key_papers", i], f"{paper!r} is neither a DOI nor a PubMed id: "
                "key papers are found by the DOI (10.1000/xyz) or PMID (12345678) of an "
                "included record; write one of those")
    stages = data.get("stages")
    if isinstance(stages, list) and stages and "title_abstract" not in stages:
        add(["stages"], "a review needs the title_abstract stage: records reach full text "
            "by being included at title/abstract, so with full_text alone nothing could "
            "ever be screened; write stages: [title_abstract, full_text] (or leave stages "
            "out)")
    bindings = data.get("keys")
    wanted = {action: key for action, key in (bindings.items() if isinstance(bindings, dict)
                                              else []) if isinstance(key, str)}
    for action, key in wanted.items():
        name = binding_key(key)
        if (reserved := reserved_name(key)) is not None:
            add(["keys", action], f"key {key!r} is kept by the screening UI ({reserved}: "
                f"{RESERVED_KEYS[reserved]}); choose another key for {action}")
            continue
        problem = key_problem(key)
        if problem is not None:
            add(["keys", action], problem)
            continue
        for other, default in DEFAULT_KEYS.items():
            if other == action or other in wanted or binding_key(default) != name:
                continue
            if other in ACTIONS:
                add(["keys", action], f"key {key!r} is already the key of {other} by default; "
                    f"choose another key for {action}, or move {other} too (keys: {other}: "
                    "KEY)")
            else:
                add(["keys", action], f"key {key!r} is the UI's key for {other}, which a "
                    f"protocol cannot remap; choose another key for {action}")
    ranking = data.get("ranking")
    if ranking_check is not None and isinstance(ranking, dict):
        for path, message in ranking_check(ranking):
            add(["ranking", *path], message)
    return problems


def _build(data: dict[str, Any]) -> Protocol:
    """The Protocol of validated data. Whole numbers are made int: JSON Schema counts 7.0
    as an integer, and a float seed crashed the ranking."""
    screening = data.get("screening", {})
    mode = screening.get("mode", "single")
    per = int(screening.get("reviewers_per_record", 2 if mode == "dual" else 1))
    conflicts = screening.get("conflicts", {})
    ranking = data.get("ranking", {})
    stopping = data.get("stopping", {})
    question_order = ("text", "population", "intervention", "exposure", "comparator",
                      "outcome", "study_design", "setting", "context")
    question = data.get("question", {})
    return Protocol(
        title=data["title"].strip(),
        question=tuple((k, str(question[k]).strip()) for k in question_order if k in question),
        searches=tuple(
            SearchStrategy(source=s["source"], kind=SourceKind(s.get("kind", "database")),
                           query=s.get("query", ""), date=s.get("date", ""))
            for s in data.get("searches", [])
        ),
        stages=tuple(Stage(s) for s in data.get("stages", ["title_abstract", "full_text"])),
        criteria=tuple(Criterion(c["id"], CriterionKind(c["type"]), c["text"].strip())
                       for c in data["criteria"]),
        exclusion_reasons=tuple(ExclusionReason(r["id"], r["label"], r["key"])
                                for r in data["exclusion_reasons"]),
        highlight=Highlight(
            include=tuple(t.strip() for t in data.get("highlight", {}).get("include", [])),
            exclude=tuple(t.strip() for t in data.get("highlight", {}).get("exclude", [])),
        ),
        screening=ScreeningMode(
            reviewers_per_record=per,
            blind=screening.get("blind", mode == "dual"),
            resolution=Resolution(screening.get("resolution", "adjudicator")),
            adjudicator=screening.get("adjudicator", ""),
            maybe_vs_exclude_is_conflict=conflicts.get("maybe_vs_exclude", True),
            reason_mismatch_is_conflict=conflicts.get("reason_mismatch_full_text", False),
            reason_required_at_title_abstract=screening.get(
                "reason_required_at_title_abstract", False),
        ),
        ranking=RankingSettings(
            model=ranking.get("model", "default"),
            seed=int(ranking.get("seed", 42)),
            cold_start=ranking.get("cold_start", True),
            params=tuple(sorted((str(k), v) for k, v in ranking.get("params", {}).items())),
        ),
        stopping=StoppingRule(
            recall_target=stopping.get("recall_target", 0.95),
            confidence=stopping.get("confidence", 0.95),
            consecutive_irrelevant=int(stopping.get("consecutive_irrelevant", 50)),
            min_screened_fraction=stopping.get("min_screened_fraction", 0.10),
            key_papers=tuple(stopping.get("key_papers", [])),
            defaulted=tuple(k for k in ("recall_target", "confidence",
                                        "consecutive_irrelevant", "min_screened_fraction")
                            if k not in stopping),
        ),
        keys=tuple(sorted(data.get("keys", {}).items())),
    )


UNUSUAL_STOPPING = {"recall_target": 0.8, "confidence": 0.8}
"""The stopping rule's settings `protocol_warnings` warns of below these values (valid, but
they let the rule say stop with many relevant records unfound)."""
LONGEST_USUAL_RUN = 10_000
"""`stopping.consecutive_irrelevant` above this is warned of."""


def protocol_warnings(text: str) -> list[Problem]:
    """Settings of a valid protocol that no review is likely to mean (a typo, or a test
    setting left in), and highlight terms listed twice: each with its field, line and why.
    They are not refused."""
    node, data, _ = read_yaml(text)
    if not isinstance(data, dict):
        return []
    warnings = _repeated_terms(data.get("highlight"), node) + _screening_warnings(data, node)
    stopping = data.get("stopping")
    if not isinstance(stopping, dict):
        return warnings

    def warn(key: str, message: str) -> None:
        path = ["stopping", key]
        warnings.append(Problem(_path_text(path), _line_of(node, path), message))

    recall, confidence = stopping.get("recall_target"), stopping.get("confidence")
    if isinstance(recall, float | int) and recall < UNUSUAL_STOPPING["recall_target"]:
        warn("recall_target", f"{recall} asks for {recall:.0%} recall: the stopping rule "
             f"may say stop with {1 - recall:.0%} of the relevant records unfound (reviews "
             "usually aim at 0.95)")
    if isinstance(confidence, float | int) and confidence < UNUSUAL_STOPPING["confidence"]:
        warn("confidence", f"{confidence} is {confidence:.0%} confidence: the stopping test "
             f"says stop at p < {1 - confidence:.2g}: where the recall target has not been "
             f"reached it may still say stop up to {1 - confidence:.0%} of the time (0.95 is "
             "usual)")
    run = stopping.get("consecutive_irrelevant")
    if isinstance(run, int) and run > LONGEST_USUAL_RUN:
        warn("consecutive_irrelevant", f"a run of {run:,} irrelevant records is longer "
             "than most reviews' whole search: this SAFE item is met only after that many "
             "exclusions in a row, so the rule is unlikely ever to be met (50 to a few "
             "hundred are usual)")
    return warnings


def _screening_warnings(data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    """`screening:` settings that have no effect, or say two things, with the others."""
    screening = data.get("screening")
    if not isinstance(screening, dict):
        return []
    warnings: list[Problem] = []

    def warn(path: list[Any], message: str) -> None:
        warnings.append(Problem(_path_text(path), _line_of(node, path), message))

    mode = screening.get("mode", "single")
    per = screening.get("reviewers_per_record", 2 if mode == "dual" else 1)
    if screening.get("blind") is True and per == 1:
        default = "" if "mode" in screening else " (the default)"
        warn(["screening", "blind"], (
            f"blinding has no effect with mode: {mode}{default}: reviewers see each "
            "other's decisions, even on the records an allocation's "
            "--overlap gives two reviewers; write mode: dual for blind screening, or remove "
            "blind"))
    if screening.get("resolution") == "consensus" and screening.get("adjudicator"):
        warn(["screening", "adjudicator"], (
            f"an adjudicator ({screening['adjudicator']}) is named with resolution: "
            "consensus: the screeners resolve their conflicts together, and the adjudicator "
            "may resolve them too, while the report says they were resolved by consensus; "
            "remove adjudicator, or write resolution: adjudicator"))
    conflicts = screening.get("conflicts")
    stages = data.get("stages", ["title_abstract", "full_text"])
    if (isinstance(conflicts, dict) and conflicts.get("reason_mismatch_full_text") is True
            and "full_text" not in stages):
        warn(["screening", "conflicts", "reason_mismatch_full_text"], (
            "has no effect: stages has no full_text, so no exclusion reason is compared "
            "there; remove it, or add full_text to stages"))
    return warnings


def _term_key(term: str) -> str:
    """A highlight term as the highlighter matches it: whatever the case, the typography
    (curly or straight apostrophe, which hyphen) and the Unicode form, spaces as one."""
    text = " ".join(unicodedata.normalize("NFC", term).split()).lower()
    return text.translate({ord(c): "'" for c in APOSTROPHES} | {ord(c): "-" for c in HYPHENS})


def _repeated_terms(highlight: Any, node: yaml.Node | None) -> list[Problem]:
    """A term listed twice in one list (the same word, perhaps in another case), with both
    places."""
    warnings: list[Problem] = []
    for kind, terms in _highlight_lists(highlight):
        first: dict[str, int] = {}
        for i, term in enumerate(terms):
            if not isinstance(term, str):
                continue
            j = first.setdefault(_term_key(term), i)
            if j == i:
                continue
            earlier = ["highlight", kind, j]
            same = (f"{terms[j].strip()!r} too" if terms[j].strip() == term.strip() else
                    f"{terms[j].strip()!r}, and terms match whatever the case and typography, so "
                    "they mark the same words")
            path = ["highlight", kind, i]
            warnings.append(Problem(_path_text(path), _line_of(node, path), (
                f"{term.strip()!r} is listed twice: {_path_text(earlier)} on line "
                f"{_line_of(node, earlier)} is {same}; remove one")))
    return warnings


def read_protocol_file(path: Path, *, ranking_check: RankingCheck | None = None
                       ) -> tuple[Protocol, str]:
    """Read and validate a protocol file; return it with its text as a review stores it
    (`normalise_protocol_text`: no BOM, LF line endings)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProtocolError(str(path), [Problem("", None, "file not found")],
                            f"{path}: no such protocol file: check the path") from None
    except OSError as exc:
        raise ProtocolError(str(path), [Problem("", None, f"cannot read: {exc.strerror}")],
                            f"{path}: cannot read the protocol file ({exc.strerror}): check "
                            "the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProtocolError(str(path), [Problem("", line, "not UTF-8 text; save the file as UTF-8")]) from None
    text = normalise_protocol_text(text)
    return load_protocol_text(text, str(path), ranking_check=ranking_check), text
