"""Read a protocol's YAML as plain data, with every refusal located by line.

PyYAML's SafeLoader (no tags that construct objects) with these differences:

- aliases (`*name`) may not expand the document beyond `MAX_VALUES` values, nor refer to
  the value they sit in: a few lines of nested aliases (an "alias bomb") otherwise expand
  to billions of values and take minutes and gigabytes before failing;
- a tagged scalar that cannot be read (`!!int abc`, a date such as 2026-99-99 written
  unquoted) is a located problem, not an exception: an invalid date stays the text it was
  written as, and the protocol checks name the field; a valid one becomes its ISO text;
- syntax errors keep their line and column and get a hint for the common causes (tabs,
  inconsistent indentation, an unquoted `: ` in a value);
- keys written twice in one mapping are returned as problems (YAML keeps the last one
  silently), for the caller to report beside the others.

Must not import sqlalchemy, textual, click or sklearn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from screener.core.wording import counted

MAX_VALUES = 10_000
"""Values (scalars, lists, mappings) a document may hold once its aliases are expanded;
the largest shipped protocol holds a few hundred."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class YamlProblem:
    path: tuple[str | int, ...]
    """Where in the document (keys and list indexes); empty for the whole document."""
    line: int | None
    column: int | None
    message: str


class YamlError(Exception):
    """The document cannot be read as plain data; `problem` says where and why."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers where each alias is used, and turns a scalar its tag
    cannot read into a located error."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases: list[tuple[str, yaml.Mark, yaml.Node]] = []
        """(anchor name, where the alias is, the node it refers to), in document order."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchor = getattr(event, "anchor", None)
            if isinstance(anchor, str) and anchor in self.anchors:
                self.aliases.append((anchor, event.start_mark, self.anchors[anchor]))
        return super().compose_node(parent, index)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, OverflowError):
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} cannot be read as {tag} (its tag `!!{tag}` "
                "asks for one); remove the tag or fix the value", node.start_mark) from None

    def construct_timestamp_text(self, node: yaml.ScalarNode) -> str:
        """A date or time written unquoted, as ISO text (the protocol's dates are text);
        an impossible one (2026-99-99) as written, for the protocol checks to name."""
        try:
            value = self.construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return str(node.value)
        return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_timestamp_text)


_HINTS = (
    ("'\\t'", "replace the tab with spaces (YAML does not allow a tab in indentation or "
     "between the items of a {...} or [...])"),
    ("tab character", "indent with spaces, not tabs (YAML does not allow a tab in indentation)"),
    ("expected <block end>", "the indentation is inconsistent: the entries of one list or "
     "mapping must start in the same column, and a list's `-` lines in one column"),
    ("mapping values are not allowed here", "a value that contains ': ' must be quoted "
     "(\"...\"), and a key must not be indented under a value on the line above"),
    ("could not find expected ':'", "a key needs ': ' after it, and a long value must be "
     "quoted (\"...\") or continued with the same indentation"),
    ("but found another document", "a protocol is one YAML document: remove the `---` "
     "line (and any second protocol after it), keeping one set of fields"),
    ("found undefined alias", "a value that starts with * (a highlight term such as "
     "*ketamine) must be quoted: \"*ketamine\" (unquoted, YAML reads it as a reference to "
     "an anchor)"),
)


_OPENED = (("quoted scalar", "the quoted value that starts"),
           ("flow mapping", "the `{` that opens"), ("flow sequence", "the `[` that opens"))
"""PyYAML's context of a syntax error -> what the user opened there."""
_OPENED_FIX = {
    "the quoted value that starts": "close it with the same quote mark, and write a quote "
    "inside it as \\\" (or use the other quote mark around it)",
    "the `{` that opens": "close it with `}` on the same item, and put a value that holds "
    "',', ':', '{' or a quote in quotes",
    "the `[` that opens": "close it with `]`, and put a term that holds ',', ':' or a quote in "
    "quotes",
}


def _syntax_problem(exc: yaml.MarkedYAMLError) -> YamlProblem:
    mark = exc.problem_mark
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    problem = str(exc.problem or exc).strip()
    if "could not determine a constructor" in str(exc):
        return YamlProblem((), line, column, "a YAML tag that constructs objects is not "
                           f"allowed ({exc.problem}); protocols are plain data")
    if isinstance(exc, yaml.constructor.ConstructorError):
        return YamlProblem((), line, column, problem)
    hints = [hint for fragment, hint in _HINTS if fragment in problem]
    context = exc.context_mark
    if "expected <block end>" in problem and context is not None and context.line + 1 != line:
        hints.append(f"compare with line {context.line + 1}, where the block starts")
    opened = next((what for fragment, what in _OPENED if fragment in str(exc.context or "")),
                  None)
    if opened and context is not None:
        hints.append(f"{opened} on line {context.line + 1}, column {context.column + 1}: "
                     f"{_OPENED_FIX[opened]}")
    message = f"not valid YAML: {problem}"
    if hints:
        message += "; " + "; ".join(dict.fromkeys(hints))
    return YamlProblem((), line, column, message)


def read_yaml(text: str) -> tuple[yaml.Node | None, Any, list[YamlProblem]]:
    """(composed node, plain data, keys written twice); raises YamlError when the text cannot
    be read as plain data. The node tree is the one the data came from, for line numbers."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlError(YamlProblem((), line, None, f"character #x{exc.character:04x} is not "
                                    "allowed in YAML (a control character); delete it")) from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlError(YamlProblem((), None, None, "the document is nested too deeply "
                                        "to read; a protocol needs only a few levels")) from None
        if node is None:
            return None, None, []
        _check_aliases(loader.aliases, node)
        duplicates = _duplicate_keys(node)
        return node, loader.construct_document(node), duplicates
    except yaml.MarkedYAMLError as exc:
        raise YamlError(_syntax_problem(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlError(YamlProblem((), None, None, f"not valid YAML: {exc}")) from None
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Cycle(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _check_aliases(aliases: list[tuple[str, yaml.Mark, yaml.Node]], root: yaml.Node) -> None:
    """Refuse an alias inside the value it names, and aliases that expand the document
    beyond MAX_VALUES values (counted on the node graph, never expanded)."""
    if not aliases:
        return
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise _Cycle(node)
        open_.add(key)
        total = 1 + sum(size(child) for child in _children(node))
        open_.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(root)
    except RecursionError:
        raise YamlError(YamlProblem((), None, None, "the document is nested too deeply to "
                                    "read; a protocol needs only a few levels")) from None
    except _Cycle as cycle:
        name, mark, _ = next(a for a in aliases if a[2] is cycle.node)
        raise YamlError(YamlProblem((), mark.line + 1, mark.column + 1,
                                    f"the alias *{name} sits inside the value that &{name} names, "
                                    "so that value would never end; write the value out "
                                    "instead")) from None
    if total > MAX_VALUES:
        name, mark, _ = max(aliases, key=lambda a: sizes.get(id(a[2]), 0))
        others = counted(len(aliases) - 1, "other alias", "other aliases")
        which = (f"the aliases (*{name} here and {others}) expand" if len(aliases) > 1
                 else f"the alias *{name} expands")
        raise YamlError(YamlProblem(
            (), mark.line + 1, mark.column + 1,
            f"{which} the protocol to {total:,} values, more than the {MAX_VALUES:,} allowed (an alias bomb?). "
            "A protocol is plain data: write the values out instead of using anchors "
            "(&name) and aliases (*name)"))


def _duplicate_keys(root: yaml.Node) -> list[YamlProblem]:
    """Keys written twice in one mapping, at any depth, with both lines."""
    problems: list[YamlProblem] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    stack.append((value, path))
                    continue
                where = (*path, str(key.value))
                earlier = first.setdefault((str(key.tag), str(key.value)), key)
                if earlier is not key:
                    problems.append(YamlProblem(
                        where, key.start_mark.line + 1, key.start_mark.column + 1,
                        f"{key.value!r} is written twice in this mapping (lines "
                        f"{earlier.start_mark.line + 1} and {key.start_mark.line + 1}); YAML "
                        "would silently keep only the last one: remove or merge one of them"))
                stack.append((value, where))
    return sorted(problems, key=lambda p: p.line or 0)
