"""The methods report (Markdown): screening methods, automation disclosure, agreement,
full-text exclusions with reasons and the PRISMA 2020 flow diagram.

Covers PRISMA 2020 item 8 (how many reviewers screened each record and report, whether
independently, how disagreements were resolved, automation tools used), the automation
disclosure Cochrane, Campbell and JBI ask for (tool and version, model configuration,
seeds, how the model was trained, the stopping rule and its values when screening
stopped), and item 16b (studies that might appear to meet the criteria but were
excluded, with reasons).

Renders the frozen inputs below, which the workflow layer builds from the database;
never queries anything itself. Imports the standard library and screener.core only.
Output is deterministic: no dates unless given in the inputs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from screener.core.agreement import MIN_N_FOR_CI
from screener.core.decisions import Reviewer, Role, Stage
from screener.core.prisma import PrismaCounts, check
from screener.core.protocol import CriterionKind, Protocol, Resolution
from screener.core.records import PMID_LIST_QUERY, Record
from screener.core.wording import (
    IMPORTED_STAGE,
    imported_decisions,
    plural,
    spelled,
    whose_decisions,
)
from screener.core.wording import counted as _n
from screener.core.wording import number as _count
from screener.core.wording import were as _were

Split = tuple[tuple[int, int], ...]
"""How many records (or reports) of a stage so many reviewers screened, or were allocated
to: ((reviewers, records), ...), most reviewers first: ((3, 40), (1, 60))."""

STAGE_NAMES = {Stage.TITLE_ABSTRACT: "title and abstract", Stage.FULL_TEXT: "full text"}


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """Agreement between two reviewers at one stage (computed by the workflow)."""

    stage: Stage
    reviewer_a: str
    reviewer_b: str
    n: int
    """Records both reviewers screened."""
    percent_agreement: float
    """Observed agreement, 0-100."""
    kappa: float | None = None
    """Cohen's kappa (None when undefined, e.g. one category only)."""
    kappa_ci: tuple[float, float] | None = None
    """95% confidence interval of kappa."""
    pabak: float | None = None
    """Prevalence- and bias-adjusted kappa."""
    ac1: float | None = None
    """Gwet's AC1."""
    reasons_note: str = ""
    """What the statistics (on the labels only) leave out: records both reviewers excluded
    for different reasons ("" when none)."""


@dataclass(frozen=True, slots=True)
class GroupAgreementRow:
    """Fleiss' kappa at one stage over the records each screened by `raters` (3 or more)
    reviewers (computed by the workflow)."""

    stage: Stage
    reviewers: tuple[str, ...]
    """Every reviewer who screened one of the records."""
    n: int
    raters: int
    percent_agreement: float
    """Mean share of agreeing reviewer pairs per record, 0-100."""
    kappa: float | None = None
    """Fleiss' kappa (None when undefined, e.g. one category only)."""
    note: str = ""
    """What the statistics leave out: records all the reviewers excluded for different
    reasons ("" with none)."""


@dataclass(frozen=True, slots=True)
class ExcludedReport:
    """A report excluded at full text, with the reason (PRISMA item 16b)."""

    record: Record
    reason: str


@dataclass(frozen=True, slots=True)
class StoppingInfo:
    """How active-learning screening stopped."""

    stopped: bool
    """Whether screening ended by the stopping rule, with records left unscreened (False:
    every record was screened, or the rule is not met yet: see `unscreened`)."""
    recall_target: float | None = None
    confidence: float | None = None
    consecutive_irrelevant: int | None = None
    min_screened_fraction: float | None = None
    key_papers: int = 0
    """Number of key papers that had to be found before stopping."""
    stopped_at: str = ""
    """When screening stopped (ISO 8601 UTC: the date of the last title/abstract decision),
    or ""."""
    values: tuple[tuple[str, str], ...] = ()
    """The rule's values when screening stopped, as (name, value): e.g.
    ("records screened", "1,200 of 5,000 (24.0%)"), ("estimated recall", "96% (91% to 99%)")."""
    unscreened: int = 0
    """Records no reviewer has decided on (0: every record was screened)."""
    amended: tuple[ProtocolVersionInfo, ...] = ()
    """Protocol versions stored after screening had started that changed the stopping rule
    (their `changes` name the stopping rule's, among others)."""
    defaulted: tuple[str, ...] = ()
    """Settings the protocol did not give (screener's defaults applied), by name."""
    since_import: bool = False
    """Records were imported after screening began: the stopping statistics count only the
    decisions since the latest such import (`values` says when, and how many)."""


@dataclass(frozen=True, slots=True)
class AutomationInfo:
    """The ranking tool as used, for the automation disclosure."""

    tool: str
    """Tool name, e.g. "screener"."""
    version: str
    model: str
    """Model name, e.g. "tfidf+logistic"."""
    config_hash: str
    """Hash of the saved model configuration (reloadable with the results)."""
    config: tuple[tuple[str, str], ...] = ()
    """Model parameters as sorted (name, value) pairs."""
    seed: int | None = None
    cold_start: bool = True
    """Decisions were made on similarity rankings (before the first include and exclude)."""
    similarity_only: bool = False
    """Every ranking decisions were made on was a similarity ranking: the model was never
    trained (no record had been both included and excluded)."""
    retraining: str = "after each screening decision"
    """How often the model was retrained, as the log shows it (completes "was retrained
    ..."; "" when the decisions drew on a single ranking: it was not retrained)."""
    unranked: str = ""
    """The title/abstract decisions that record no ranking, and why, in words ("" when each
    records one); said in its own sentence when the model was not retrained or never
    trained (`retraining` says it otherwise)."""
    earlier_models: tuple[tuple[str, str, int], ...] = ()
    """Other configurations used before this one: (name, hash, decisions made on them)."""
    stages: tuple[Stage, ...] = (Stage.TITLE_ABSTRACT,)
    """Stages at which records were prioritised by the model."""
    stopping: StoppingInfo | None = None


@dataclass(frozen=True, slots=True)
class ProtocolVersionInfo:
    """One stored protocol version, for PRISMA 2020 items 24b and 24c (amendments)."""

    version: int
    date: str
    """When it was stored, UTC date and time to the second ("2026-11-26 14:03:12 UTC"):
    versions stored the same day are told apart."""
    sha256: str
    reason: str
    """The reason given (`protocol amend --reason`; "initial protocol" for the first)."""
    decisions: tuple[tuple[Stage, int], ...] = ()
    """Decision rows made while it was in force (undo rows left out), per stage."""
    changes: tuple[str, ...] = ()
    """What it changed from the version before, in words (empty for the first)."""
    decided_before: int = 0
    """Decision rows made before it was stored (> 0: amended after screening started)."""
    searches_only: tuple[str, tuple[str, ...]] = ("", ())
    """When it changed only the protocol's searches: ("update", sources) when it added
    searches of sources searched before (an update), ("added", sources) when it added
    others too, ("changed", ()) when it edited or removed one; ("", ()) otherwise."""


@dataclass(frozen=True, slots=True)
class LogState:
    """One hash chain as `screener log verify` found it when the report was written."""

    rows: int
    head: str
    """The newest row's hash ("" when the log is empty)."""
    problem: str = ""
    """Why it does not verify ("" when it does)."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One imported source as the report describes it (PRISMA-S items 1-3, 8, 13)."""

    name: str
    kind: str
    """'database', 'register' or 'other'."""
    records: int
    searched_on: str = ""
    query: str = ""
    file_name: str = ""
    format: str = ""
    reported_count: int | None = None
    """The number of results the database reported, when it was given."""
    date_from_protocol: bool = False
    """`searched_on` is the protocol's date for the source: the import recorded none."""
    query_from_protocol: bool = False
    """`query` is the protocol's query for the source: the import recorded none."""
    update: str = ""
    """When the import updates an earlier search of the same source: the update's search
    date ("2021-07-01"), or "imported 2021-07-03" when it was not recorded ("" otherwise)."""
    future_date: str = ""
    """A search date stored for the import (recorded, or the protocol's when
    `date_from_protocol`) that is after the day the report was written: a planned date
    older versions accepted, not the day of the search. `searched_on` is then ""."""
    warnings: tuple[str, ...] = ()
    """What the database said about the query it ran (PubMed: a phrase it did not find and
    searched without, and how it read the query), kept at import, in a methods text's words
    ("PubMed reported: ..."): the search run was not the query as written."""


def _thresholds(values: tuple[float, ...]) -> str:
    """The threshold (0.85), or "0.50 or 0.85, by run" when the standing matches came
    from runs with different thresholds."""
    shown = [f"{v:.2f}" for v in values]
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} or {shown[-1]}, by run"


@dataclass(frozen=True, slots=True)
class DedupInfo:
    """How duplicates were removed (PRISMA-S item 16)."""

    removed_by_method: tuple[tuple[str, int], ...] = ()
    """Standing removals per matching rule ('doi', 'pmid', 'fuzzy', ...)."""
    ran: bool = False
    """Deduplication was run."""
    thresholds: tuple[float, ...] = ()
    """The title similarity thresholds of the runs whose fuzzy matches stand (of the last
    run when none stands), lowest first."""
    restored: int = 0
    """Records a reviewer restored after inspection (clusters undone)."""
    found_again: int | None = None
    """Records of update searches removed as duplicates of records earlier searches found
    (None: no update search, or one not deduplicated yet)."""


@dataclass(frozen=True, slots=True)
class ImportFix:
    """An import withdrawn (`after` empty) or its source name, kind or date corrected."""

    source_id: int
    source: str
    """The source's name when it was imported (withdrawn) or before the correction."""
    when: str
    """The day of the withdrawal or correction (YYYY-MM-DD)."""
    reason: str
    records: int = 0
    file: str = ""
    before: tuple[tuple[str, str], ...] = ()
    after: tuple[tuple[str, str], ...] = ()
    """(field, value) corrected: source, kind, searched_on."""

    def sentence(self) -> str:
        if not self.after:
            where = f", {_md(self.file)}" if self.file else ""
            return (f"import {self.source_id} ({_md(self.source)}{where}, "
                    f"{_n(self.records, 'record')}) was withdrawn on {self.when} before "
                    f"any of its records was decided ({_md(self.reason)}): its records are "
                    "in none of the counts above or below")
        names = {"source": "source name", "kind": "type", "searched_on": "search date"}
        before = dict(self.before)
        changes = ", ".join(f"{names.get(k, k)} from {_md(before.get(k) or 'none')} to "
                            f"{_md(v or 'none')}" for k, v in self.after)
        return (f"import {self.source_id} ({_md(self.source)}) was corrected on {self.when}: "
                f"{changes} ({_md(self.reason)}); the table gives the corrected values")


def import_fixes_paragraph(fixes: Sequence[ImportFix]) -> str:
    """The Identification section's account of imports withdrawn or corrected."""
    if not fixes:
        return ""
    return ("Imports put right afterwards (from the event log): "
            + "; ".join(f.sentence() for f in fixes) + ".")


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything the methods report renders."""

    protocol: Protocol
    counts: PrismaCounts
    reviewers: tuple[Reviewer, ...] = ()
    agreement: tuple[AgreementRow, ...] = ()
    group_agreement: tuple[GroupAgreementRow, ...] = ()
    """Fleiss' kappa where three or more reviewers screened each record."""
    excluded_reports: tuple[ExcludedReport, ...] = ()
    automation: AutomationInfo | None = None
    prisma_svg: str = "prisma.svg"
    """Path of the diagram relative to the report file."""
    title: str = ""
    """Report heading; the protocol title when empty."""
    stopping: StoppingInfo | None = None
    """The stopping rule's state when no ranking was used (`automation` is None)."""
    split: Split | None = None
    """How many records so many screeners decided at title/abstract, when an allocation
    split the records (None: every record had the protocol's number of screeners)."""
    split_full_text: Split | None = None
    """The same at full text."""
    open_conflicts: int = 0
    """Records (title/abstract) and reports (full text) whose reviewers disagree and whose
    conflict is not resolved yet."""
    split_plan: tuple[Split | None, Split | None] = (None, None)
    """How many records the allocation gave so many screeners, at title/abstract and at full text,
    where it differs from `split` and `split_full_text` (what was screened): a draft, or
    records left unscreened by the stopping rule."""
    screening_modes: tuple[tuple[int, str, int, bool], ...] = ()
    """(protocol version, date, reviewers per record, blinded: two or more reviewers whom
    screener did not show each other's decisions) of each version, when an amendment changed how
    many reviewers screen a record or the blinding (else empty)."""
    settled_by_amendment: tuple[tuple[int, str, Stage, int], ...] = ()
    """(protocol version, date, stage, conflicts) for each amendment (dual to single
    screening) that settled conflicts not yet resolved by the latest decision, without the
    adjudicator."""
    multi_screened: int = 0
    """Title/abstract records that two or more screeners decided."""
    single_screened: int = 0
    """Title/abstract records that one screener decided."""
    full_text_screened: tuple[int, int] = (0, 0)
    """(reports two or more screeners decided, reports one did) at full text."""
    several_by: tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] = ((), ())
    """At title/abstract and at full text, (screeners, records) for the records two or
    more screeners decided, most screeners first: how `multi_screened` and
    `full_text_screened[0]` split (empty: not given; a draft then says "two or more")."""
    draft: str = ""
    """Why the PRISMA diagram is not final ("" when it is)."""
    protocol_copy_note: str = ""
    """The review folder's protocol.yaml missing or not the protocol in force, and what to
    do ("" when it is the one in force, or there is no folder)."""
    imported_labels: tuple[tuple[str, int, int], ...] = ()
    """(name, records, others) of each reviewer some of whose title/abstract decisions were
    imported as labels (`import --labels-as`): on how many records, and how many other
    title/abstract decisions the reviewer made in screener."""
    imported_in_agreement: tuple[tuple[str, int, int], ...] = ()
    """(name, decisions imported, decisions) of each reviewer in the agreement some of whose
    decisions were imported (`AgreementReport.imported`): Table 1's note says how many."""
    imported_label_files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(name, files) of each reviewer some of whose decisions were imported as labels, and
    the files they came from: the methods text names the files, Table 1 marks the name."""
    unlinked_rankings: int = 0
    """Rankings stored although no decision records the ranking that showed its record
    (decisions entered without the ranking `next` printed)."""
    diagram_notes: tuple[str, ...] = ()
    """What a reader of the diagram's numbers should know (PrismaResult.notes)."""
    diagram_problems: tuple[str, ...] | None = None
    """The diagram's arithmetic problems as the workflow judged them (None: `check`)."""
    other_methods: tuple[int, int, int] = (0, 0, 0)
    """Records from other methods the diagram has no box for: duplicates, excluded at
    title/abstract, not screened yet."""
    unblinded: tuple[tuple[Stage, int], ...] = ()
    """Per stage, records a screener decided (or changed) after its reconciliation had
    started, when the reviewers could see each other's decisions (blind reviews only)."""
    decision_log: LogState | None = None
    event_log: LogState | None = None
    """The two hash chains (None: not checked; the section is left out)."""
    table_problems: tuple[str, ...] = ()
    """Where the tables the figures come from disagree with the event log."""
    backfilled_events: int = 0
    """Events a migration wrote from the tables (the review predates the event log)."""
    protocol_versions: tuple[ProtocolVersionInfo, ...] = ()
    """Every stored protocol version, oldest first (empty: the section is left out)."""
    title_at_creation: str = ""
    """The title the review was created with, when an amendment changed it ("" otherwise)."""
    sources: tuple[SourceInfo, ...] = ()
    """Every imported source, in import order (empty: the section is left out)."""
    import_fixes: tuple[ImportFix, ...] = ()
    """Imports withdrawn or corrected after they were made, in log order."""
    reassignments: tuple[tuple[str, str, str, int], ...] = ()
    """(day, from, to, decisions) of each `screener reassign`, in log order."""
    restores: tuple[tuple[str, tuple[tuple[str, int], ...], int, int], ...] = ()
    """(day, discarded decision rows per reviewer, imports, other events discarded) of each
    restore from a backup, in log order."""
    dedup: DedupInfo | None = None
    reasons_amended: tuple[int, int] = (0, 0)
    """(exclusion reasons added, reasons reworded) by amendments since the first protocol
    version, among those of the version in force."""
    reworded_reasons: tuple[tuple[str, str, int], ...] = ()
    """(label in force, earlier label, reports in Table 2 excluded under the earlier one)
    for each reason an amendment reworded after exclusions were made under it."""
    diagram_reworded_reasons: tuple[tuple[str, str, int], ...] = ()
    """The same among the reports the flow diagram counts under the reasons (Table 2's,
    when the diagram draws the full-text boxes; empty otherwise)."""
    excluded_then_removed: int = 0
    """Reports excluded at full text and removed as duplicates afterwards: the diagram
    counts them among the duplicates removed, so Table 2 does not list them."""


_MD_ACTIVE = re.compile(r"[\\`*_\[\]<|~]|&(?=#?\w+;)")
"""Characters a Markdown viewer acts on inside a line: `\\` and `` ` `` (escapes, code),
`*`, `_` and `~` (emphasis, strikethrough), `[`/`]` (links), `<` (an HTML tag: `<internal>`
would vanish), `|` (a table column), and `&` where it starts an entity (`&amp;`)."""


def _md(text: str) -> str:
    """User text (a title, source, reviewer or reason) as Markdown that shows it as typed,
    in a table cell, heading or sentence alike: one line, each active character
    backslash-escaped, so `<internal>` is not taken for an HTML tag and `*stars*` or
    `_underscores_` are not drawn as emphasis."""
    return _MD_ACTIVE.sub(lambda m: "\\" + m.group(), " ".join(text.split()))


def _code(text: str) -> str:
    """Text as a code span in a table cell (a search query): one line, `|` escaped (the
    table splits on it even inside code), fenced by more backticks than it holds."""
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(path: str) -> str:
    """A relative link target that survives spaces and parentheses."""
    return f"<{path}>" if any(ch in path for ch in " ()<>") else path


def _split_words(split: Split, word: str) -> str:
    """How many records (or reports) of a stage so many reviewers screened: "40 records
    were screened by three reviewers and 60 by one reviewer"."""
    parts = [(n, c) for n, c in split if c]
    if not parts:
        return f"no {word} has been screened yet"
    (n, c), rest = parts[0], parts[1:]
    by = f"{spelled(n)} {plural(n, 'reviewer')}"
    if not rest:
        return (f"{_n(c, word)} was screened by {by}" if c == 1 else
                f"each of the {_n(c, word)} was screened by {by}{' only' if n == 1 else ''}")
    return (f"{_n(c, word)} {_were(c)} screened by {by}"
            + _and_the_rest(rest, "by") + f" {plural(rest[-1][0], 'reviewer')}")


def _and_the_rest(rest: list[tuple[int, int]], how: str) -> str:
    """ ", 5 by two and 60 by one": the parts of a split after the first."""
    words = [f"{_count(c)} {how} {spelled(n)}" for n, c in rest]
    return (", " + ", ".join(words[:-1]) if words[:-1] else "") + f" and {words[-1]}"


def _shared_by(split: Split | None) -> str:
    """ "three": how many reviewers screened each record that more than one did ("two or
    more" when that differs between records; "" when none had more than one)."""
    numbers = {n for n, c in split or () if c and n >= 2}
    return spelled(min(numbers)) + (" or more" if len(numbers) > 1 else "") if numbers else ""


def _plan_words(split: Split | None, word: str, draft: bool) -> str:
    """ ", 43 records to two reviewers and 172 to one; so far" (the allocation, then what
    was screened of it); ":" without a plan that differs from what was screened."""
    if split is None:
        return ":"
    parts = [(n, c) for n, c in split if c]
    if not parts:
        return ":"
    (n, c), rest = parts[0], parts[1:]
    text = f"{_n(c, word)} to {spelled(n)} {plural(n, 'reviewer')}" + (
        _and_the_rest(rest, "to") if rest else "")
    return f", {text};{' so far' if draft else ''}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


_KIND_WORDS = {"database": "database", "register": "register", "other": "other method"}
_METHOD_WORDS = {"doi": "by DOI", "pmid": "by PubMed id", "fuzzy": "by title"}


def identification_section(sources: tuple[SourceInfo, ...], dedup: DedupInfo | None) -> str:
    """PRISMA-S: each source with its search date, query or file and count, then how
    duplicates were removed."""
    out = ["| Source | Type | Searched | Records | Search |", "|---|---|---|---:|---|"]
    for src in sources:
        how = (f"query{' (protocol)' if src.query_from_protocol else ''}: {_code(src.query)}"
               if src.query
               else f"file {_md(src.file_name)}" + (f" ({_md(src.format)})" if src.format
                                                    else "")
               if src.file_name else "")
        found = _count(src.records)
        if src.reported_count is not None and src.query.startswith(PMID_LIST_QUERY):
            if src.reported_count != src.records:  # not the database's count: the ids asked
                found = (f"{_count(src.records)} of {_count(src.reported_count)} PMIDs asked "
                         "for found")
        elif src.reported_count is not None and src.reported_count != src.records:
            found += f" (the database reported {_count(src.reported_count)})"
        searched = ("not given (a future date)" if src.future_date else
                    f"{src.searched_on or 'not recorded'}"
                    f"{' (protocol)' if src.date_from_protocol else ''}")
        out.append(f"| {_md(src.name)} | {_KIND_WORDS.get(src.kind, src.kind)} | "
                   f"{searched} | {found} | {how} |")
    text = _update_sentence(sources, dedup)
    for src in sources:
        for warning in src.warnings:
            text.append(f"The search of {_md(src.name)}"
                        f"{f' ({src.searched_on})' if src.searched_on else ''} was not run "
                        f"exactly as written: {_md(warning.rstrip('.'))}.")
    if any((s.date_from_protocol and s.searched_on) or s.query_from_protocol
           for s in sources):
        text.append("Marked (protocol): not recorded at import; the date or query the "
                    "protocol gives for that source.")
    future = [f"{_md(s.name)} ({s.future_date}{', from the protocol' if s.date_from_protocol else ''})"
              for s in sources if s.future_date]
    if future:
        many = len(future) > 1
        text.append(f"The search date{'s' if many else ''} stored for {_names(future)} "
                    f"{'are' if many else 'is'} after the day this report was written, so "
                    f"{'they are' if many else 'it is'} not given as the "
                    f"{'days of the searches' if many else 'day of the search'}: "
                    f"{'planned dates' if many else 'a planned date'}, which older versions "
                    "of screener accepted. Report the day each search was run beside the "
                    "search (for a date from the protocol, correct its `searches` with "
                    "`screener protocol amend`).")
    undated = list(dict.fromkeys(_md(s.name) for s in sources
                                 if not s.searched_on and not s.future_date))
    if undated:
        text.append(f"The date of the search was not recorded for {_names(undated)} (give "
                    "it with `screener import --searched` when importing, or report it "
                    "beside the search).")
    # PRISMA 2020 item 7 / PRISMA-S item 8: the full search of every database and register
    unsearched = list(dict.fromkeys(_md(s.name) for s in sources if not s.query
                                    and s.kind in ("database", "register")))
    if unsearched:
        text.append(f"The search strategy was not recorded for {_names(unsearched)} (give it "
                    "with `screener import --query` when importing, or report it elsewhere in "
                    "full).")
    if dedup is None or not dedup.ran:
        text.append("Duplicates were not removed with screener.")
    else:
        removed = sum(n for _, n in dedup.removed_by_method)
        rules = "; ".join(f"{_count(n)} {_METHOD_WORDS.get(m, m)}"
                          for m, n in dedup.removed_by_method)
        text.append(
            f"Duplicates were {'removed' if removed else 'sought'} with screener's "
            "deduplication: records with the same "
            "DOI, then the same PubMed id, then a matching title"
            + (f" (similarity at least {_thresholds(dedup.thresholds)})"
               if dedup.thresholds else "")
            + " with an agreeing year and first author and nothing "
            "contradicting them (such as the journal or the numbers in the title). "
            + (f"{_n(removed, 'record')} {_were(removed)} removed as "
               f"{'a duplicate' if removed == 1 else 'duplicates'}" if removed
               else "No record was removed as a duplicate")
            + (f" ({rules})" if rules else "") + ".")
        if dedup.restored:
            text.append(f"{_n(dedup.restored, 'record')} that the matching had "
                        f"removed {_were(dedup.restored)} restored after inspection.")
    return "\n".join(out) + "\n\n" + " ".join(text)


def _update_sentence(sources: tuple[SourceInfo, ...], dedup: DedupInfo | None) -> list[str]:
    """When the searches were run and when updated (the same source searched again), and
    what deduplication removed of the update ([] when no search was updated)."""
    rounds: dict[str, list[str]] = {}
    for src in sources:
        if src.update:
            names = rounds.setdefault(src.update, [])
            if _md(src.name) not in names:
                names.append(_md(src.name))
    if not rounds:
        return []
    # the original searches are of databases and registers (not citation searching, say)
    first = sorted({s.searched_on for s in sources if not s.update and s.searched_on
                    and not s.date_from_protocol and s.kind in ("database", "register")})
    # the original searches of the sources updated whose date the import did not record
    undated = list(dict.fromkeys(
        _md(s.name) for s in sources if not s.update and (not s.searched_on
                                                          or s.date_from_protocol)
        and any(_md(s.name) in names for names in rounds.values())))
    when = _names([f"{'in a search ' if r.startswith('imported') else 'on '}{r} "
                   f"({_names(names)})" for r, names in sorted(rounds.items())])
    if first:
        text = (f"The searches were run on {_names(first)}"
                + (f" ({_names(undated)} on a date not recorded)" if undated else "")
                + f" and updated {when}")
    elif undated:
        one = len(undated) == 1
        text = (f"The original {'search, whose date was' if one else 'searches, whose dates were'}"
                f" not recorded, {'was' if one else 'were'} updated {when}")
    else:
        text = f"The searches were updated {when}"
    found = dedup.found_again if dedup is not None else None
    if found:
        text += (f"; {_n(found, 'record')} found again by the update {_were(found)} removed "
                 f"as {'a duplicate' if found == 1 else 'duplicates'} of records found by "
                 "the earlier searches")
    elif found == 0:
        text += "; none of the records the update found was one the earlier searches found"
    return [text + "."]


def _allocation_sentences(inputs: ReportInputs) -> list[str]:
    """How many reviewers screened each record at each stage, when an allocation gave
    records another number than the protocol's ([] when none did)."""
    ta, ft = inputs.split, inputs.split_full_text
    has_ft = Stage.FULL_TEXT in inputs.protocol.stages
    if ta is None and (ft is None or not has_ft):
        return []
    n = inputs.protocol.screening.reviewers_per_record
    per = f"{spelled(n)} {plural(n, 'reviewer')}"
    so_far = " screened so far" if inputs.draft else ""
    screened = _screened(inputs)
    plan_ta, plan_ft = inputs.split_plan
    out = [f"At title and abstract every record{screened} was screened by {per}." if ta is None else
           f"At title and abstract the records were allocated at random"
           f"{_plan_words(plan_ta, 'record', bool(inputs.draft))} "
           f"{_split_words(ta, 'record')}."]
    if has_ft and ft is not None:
        out.append(f"At full text the reports were allocated at random"
                   f"{' too' if ta else ''}{_plan_words(plan_ft, 'report', bool(inputs.draft))} "
                   f"{_split_words(ft, 'report')}.")
    elif has_ft:
        out.append(_no_full_text_yet(inputs)
                   or f"At full text every retrieved report{so_far} was screened by {per}.")
    return out


def _screened(inputs: ReportInputs) -> str:
    """ " screened so far" (a draft), " screened" (automation left records unscreened) or
    "": what "every record" needs so as not to claim records nobody screened."""
    return (" screened so far" if inputs.draft else " screened"
            if inputs.counts.records_excluded_automation else "")


def _so_far(inputs: ReportInputs, per: str) -> str:
    """A draft's count of the records (and reports) screened by several reviewers and by
    one so far: "So far, at title and abstract, 40 records have been screened by two
    reviewers and 20 by one; at full text, ..."; with three per record, each number that
    screened them ("2 records have been screened by three reviewers, 1 by two and 1 by
    one")."""
    many = per if per == "two" else "two or more"
    parts = []
    for where, (multi, single), several, word in (
            ("title and abstract", (inputs.multi_screened, inputs.single_screened),
             inputs.several_by[0], "record"),
            ("full text", inputs.full_text_screened, inputs.several_by[1], "report")):
        # (who, records) per group, most screeners first; "two or more" when not split
        groups = [(spelled(k), n) for k, n in several] or ([(many, multi)] if multi else [])
        groups += [("one", single)] if single else []
        if groups:
            (who, first), rest = groups[0], groups[1:]
            tail = [f"{_count(n)} by {k}" for k, n in rest]
            parts.append(f"at {where}, {_n(first, word)} {'has' if first == 1 else 'have'} "
                         f"been screened by {who} reviewer{'' if who == 'one' else 's'}"
                         + (f"{', ' if len(tail) > 1 else ' and '}{_names(tail)}"
                            if tail else ""))
    return f" So far, {'; '.join(parts)}." if parts else ""


def _no_full_text_yet(inputs: ReportInputs) -> str:
    """The sentence for a full-text stage where no report has been assessed (what the
    protocol asks of each report there would be said of none); "" once one has."""
    counts = inputs.counts
    if counts.reports_assessed or counts.other_reports_assessed:
        return ""
    return ("No report has been screened at full text yet." if inputs.draft
            else "No report was screened at full text.")


def _criteria_counts(n_inc: int, n_exc: int) -> str:
    """ " (2 inclusion criteria and 1 exclusion criterion)", kinds with none left out."""
    parts = [f"{n} {kind} {plural(n, 'criterion', 'criteria')}"
             for n, kind in ((n_inc, "inclusion"), (n_exc, "exclusion")) if n]
    return f" ({' and '.join(parts)})" if parts else ""


def _mode_history(modes: tuple[tuple[int, str, int, bool], ...], multi: int,
                  single: int, several: Split = ()) -> str:
    """An amendment changed how records were screened: each version's way, and how many
    records each number of reviewers screened (`several`: (screeners, records) for two or
    more, as ReportInputs.several_by[0]; "two or more" when not given), so the text above
    (the version in force) is not read as the whole review's, nor a version's three
    reviewers per record as two."""
    parts = []
    for version, date, per, blind in modes:
        who = spelled(per)
        parts.append(f"version {version} (from {date}) asked for {who} reviewer"
                     f"{'s' if per > 1 else ''} per record"
                     + (", blinded" if blind else ""))
    counts = (_split_words((*several, (1, single)), "record") if several else
              f"{_n(multi, 'record')} {_were(multi)} screened by two or more reviewers and "
              f"{_n(single, 'record')} by one")
    return ("The protocol's screening mode was amended during the review: "
            f"{'; '.join(parts)}; the sentences above describe the version in force. At "
            f"title and abstract, {counts}.")


def _imported_sentence(inputs: ReportInputs) -> str:
    """The title/abstract decisions imported with `import --labels-as`: one sentence, per
    reviewer how many records, from which files, and how many others the reviewer made in
    screener."""
    files = dict(inputs.imported_label_files)

    def whence(name: str) -> str:
        return f"from {_names([_md(f) for f in files[name]])}" if files.get(name) else ""

    def others(name: str, here: int) -> str:
        made = "decision was" if here == 1 else f"{_count(here)} decisions were"
        return f"{_md(name)}'s other {made} made in screener" if here else ""

    if len(inputs.imported_labels) == 1:
        [(name, n, here)] = inputs.imported_labels
        return (f"Title/abstract decisions on {_n(n, 'record')} were imported from an earlier "
                f"screening (recorded as '{_md(name)}'"
                + (f", {whence(name)}" if whence(name) else "") + "), not made in screener"
                + (f"; {others(name, here)}" if here else "") + ".")
    each = []
    for name, n, here in inputs.imported_labels:
        said = "; ".join(d for d in (whence(name), others(name, here)) if d)
        each.append(f"on {_n(n, 'record')} recorded as '{_md(name)}'"
                    + (f" ({said})" if said else ""))
    return ("Title/abstract decisions were imported from an earlier screening, not made in "
            f"screener: {_names(each)}.")


def _imported_blinding(inputs: ReportInputs) -> str:
    """What the imported decisions mean for blinding and independence: beside the screening
    done in screener, or, when no screener made a decision there, for all of it."""
    shares = [(_md(name), n, n + here) for name, n, here in inputs.imported_labels]
    whose = (_names([f"{name}'s" for name, _, _ in shares]) + f" {IMPORTED_STAGE} decisions"
             if all(n == total for _, n, total in shares)
             else _names([whose_decisions(*share) for share in shares]))
    if any(r.role == Role.SCREENER for r in inputs.reviewers) or any(
            n < total for _, n, total in shares):
        return (f"This describes the screening done in screener: {whose} were imported, not "
                "made in it, so whether they were blinded to and independent of the other "
                "reviewers' cannot be checked (they may be a team's combined verdict); Table 1 "
                "marks the agreement they enter.")
    other = " to and independent of each other's" if len(shares) > 1 else ""
    return (f"No reviewer screened in screener: {whose} were imported, so whether they were "
            f"blinded{other} cannot be checked (they may be a team's combined verdict); "
            "Table 1 marks the agreement they enter.")


def screening_paragraph(inputs: ReportInputs) -> str:
    """PRISMA 2020 item 8: who screened, how many per record, independence, conflicts."""
    protocol, mode = inputs.protocol, inputs.protocol.screening
    stages = [STAGE_NAMES[s] for s in protocol.stages]
    n_inc = sum(1 for c in protocol.criteria if c.kind == CriterionKind.INCLUDE)
    n_exc = sum(1 for c in protocol.criteria if c.kind == CriterionKind.EXCLUDE)
    n_stages = len(stages)
    out = [f"Records were screened in {spelled(n_stages)} "
           f"{plural(n_stages, 'stage')} ({', then '.join(stages)}) against the protocol's "
           "eligibility criteria"
           + _criteria_counts(n_inc, n_exc) + "."]
    screeners = [_md(r.name) for r in inputs.reviewers if r.role == Role.SCREENER]
    adjudicators = [_md(r.name) for r in inputs.reviewers if r.role == Role.ADJUDICATOR]
    if screeners:
        # a sentence never opens with a numeral: a count past ten is put after "In all,"
        many = len(screeners)
        took = f"reviewer{'s' if many > 1 else ''} took part in screening ({_names(screeners)})."
        out.append(f"{spelled(many).capitalize()} {took}" if spelled(many).isalpha()
                   else f"In all, {_count(many)} {took}")
    if inputs.imported_labels:
        out.append(_imported_sentence(inputs))
    per = spelled(mode.reviewers_per_record)
    # said instead of what each report would be screened by, before any was
    has_ft = Stage.FULL_TEXT in protocol.stages
    none = has_ft and _no_full_text_yet(inputs)
    # what each record's screening covers: no report is screened without a full-text stage
    report = " and each retrieved report" if has_ft else ""
    if mode.dual:
        how = ("independently: screener did not show reviewers each other's decisions until "
               "reconciliation of the stage began (blinded)" if mode.blind else
               "but not independently: reviewers could see each other's decisions")
        sentences = _allocation_sentences(inputs)
        if not sentences and inputs.screening_modes:
            # amended: not every record had this many reviewers (the history says how many)
            out.append(f"Under the protocol version in force, each record{report} is screened "
                       f"by {per} reviewers, {how}.")
        elif not sentences and inputs.draft:
            # part-way through, some records wait for their second reviewer: what the
            # protocol asks, then how far it has been done
            # (no report assessed yet, but one may wait for its second reviewer)
            no_ft = "" if any(inputs.full_text_screened) else none
            out.append(f"Under the protocol each record{'' if no_ft else report} is screened "
                       f"by {per} reviewers, {how}.{_so_far(inputs, per)}"
                       + (f" {no_ft}" if no_ft else ""))
        elif not sentences:
            screened = _screened(inputs)
            out.append(f"At title and abstract every record{screened} was screened by {per} "
                       f"reviewers, {how}. {none}" if none else
                       f"At each stage every record{screened} and every retrieved report was "
                       f"screened by {per} reviewers, {how}." if has_ft else
                       f"Every record{screened} was screened by {per} reviewers, {how}.")
        else:
            out += sentences
            ta, ft = inputs.split, inputs.split_full_text
            split_at = (ta, ft) if Stage.FULL_TEXT in inputs.protocol.stages else (ta,)
            if any(split is None for split in split_at):
                out.append(f"Records with {per} reviewers were screened {how}.")
            elif shared := _shared_by(tuple(p for split in split_at for p in split or ())):
                out.append(f"Records with {shared} reviewers were screened {how}.")
        if inputs.imported_labels:
            out.append(_imported_blinding(inputs))
        for stage, n in inputs.unblinded:
            out.append(f"After reconciliation of {STAGE_NAMES[stage]} screening had begun, "
                       f"decisions on {_n(n, 'record')} were made or "
                       "changed while the reviewers could see each other's decisions; the "
                       "agreement statistics use the decisions as they stood when "
                       "reconciliation began.")
        out.append(_disagreements(inputs, adjudicators))
    elif sentences := _allocation_sentences(inputs):
        out += sentences
        splits = (inputs.split, inputs.split_full_text, *inputs.split_plan)
        if shared := _shared_by(tuple(p for split in splits for p in split or ())):
            # an overlap: PRISMA item 8 asks how those records were screened (single
            # screening is never blinded) and how the reviewers' disagreements were settled
            out.append(f"Records with {shared} reviewers were screened but not "
                       "independently: reviewers could see each other's decisions.")
            out.append(_disagreements(inputs, adjudicators))
    else:
        out.append(f"Under the protocol version in force, each record{report} is screened "
                   "by one reviewer." if inputs.screening_modes
                   else f"Each record{_screened(inputs)} was screened by one reviewer. "
                   f"{none}" if none
                   else f"Each record{report} screened so far was screened by one reviewer."
                   if inputs.draft
                   else "Each record screened at title and abstract"
                   f"{',' + report + ',' if report else ''} was screened by one reviewer."
                   if inputs.counts.records_excluded_automation
                   else f"Each record{report} was screened by one reviewer.")
    if inputs.screening_modes:
        out.append(_mode_history(inputs.screening_modes, inputs.multi_screened,
                                 inputs.single_screened, inputs.several_by[0]))
    for version, date, stage, n in inputs.settled_by_amendment:
        out.append(f"{_n(n, 'disagreement').capitalize()} at {STAGE_NAMES[stage]} not yet "
                   f"resolved when the protocol was amended to version {version} ({date}) "
                   f"{_were(n)} settled by the latest decision on each record, without the "
                   "adjudicator: under that version one reviewer's decision is enough.")
    if inputs.counts.records_excluded_automation:
        n = inputs.counts.records_excluded_automation
        out.append(f"{_n(n, 'record').capitalize()} from databases and registers "
                   f"{_were(n)} not screened by any reviewer: title and abstract screening "
                   "stopped before reaching them (see Automation).")
    if Stage.FULL_TEXT not in protocol.stages:
        out.append("Screening was of titles and abstracts only: records rated include or "
                   "maybe at title and abstract were passed on to be read in full, which was "
                   "not recorded in screener.")
        return " ".join(out)
    out.append("Records rated include or maybe at title and abstract went on to full-text "
               "retrieval.")
    if protocol.exclusion_reasons and not _no_full_text_yet(inputs):
        out.append(_reasons_sentence(len(protocol.exclusion_reasons), *inputs.reasons_amended))
    other = other_methods_sentence(inputs.other_methods)
    if other:
        out.append(other)
    return " ".join(out)


def _disagreements(inputs: ReportInputs, adjudicators: Sequence[str]) -> str:
    """Which disagreements count as conflicts, and how they were resolved (PRISMA item 8)."""
    mode = inputs.protocol.screening
    kinds = ["include versus exclude"]
    if mode.maybe_vs_exclude_is_conflict:
        kinds.append("maybe versus exclude")
    if mode.reason_mismatch_is_conflict and Stage.FULL_TEXT in inputs.protocol.stages:
        kinds.append("different exclusion reasons at full text")
    resolved = (f"by an adjudicator ({_md(mode.adjudicator) or _names(list(adjudicators))})"
                if mode.resolution == Resolution.ADJUDICATOR
                and (mode.adjudicator or adjudicators)
                else "by an adjudicator" if mode.resolution == Resolution.ADJUDICATOR
                else "by discussion until the reviewers reached consensus")
    if not inputs.draft:
        return f"Disagreements ({_names(kinds)}) were resolved {resolved}."
    # screening goes on: the protocol's way, and how many wait for it
    left = inputs.open_conflicts
    return (f"Disagreements ({_names(kinds)}) are resolved {resolved}"
            + (f"; {_count(left)} {'is' if left == 1 else 'are'} not resolved yet."
               if left else "."))


def _reasons_sentence(total: int, added: int, reworded: int) -> str:
    """How many exclusion reasons there were, and how many amendments added or reworded:
    a reason added mid-review was not predefined."""
    if not added and not reworded:
        return (f"Reports excluded at full text were given one of {total} predefined "
                "exclusion reasons.")
    changed = " and ".join(p for p in (f"{_count(added)} added" if added else "",
                                       f"{_count(reworded)} reworded" if reworded else "") if p)
    return (f"Reports excluded at full text were given one of {_n(total, 'exclusion reason')} "
            f"({_count(total - added)} set in the protocol before screening; {changed} by "
            "amendment).")


_SETTING_WORDS = {"recall_target": "the recall target", "confidence": "the confidence",
                  "consecutive_irrelevant": "the run of consecutive irrelevant records",
                  "min_screened_fraction": "the minimum share of records screened"}


def _stopping_text(stop: StoppingInfo, ranked: bool = True) -> list[str]:
    """`ranked`: whether records were screened in ranked order (else the sentence on the
    ranking's effect on the estimate is left out: there was none)."""
    parts = []
    if stop.recall_target is not None:
        conf = f" with {stop.confidence:.0%} confidence" if stop.confidence is not None else ""
        parts.append(f"an estimated recall of at least {stop.recall_target:.0%}{conf}")
    if stop.consecutive_irrelevant is not None:
        parts.append(f"{_n(stop.consecutive_irrelevant, 'consecutive irrelevant record')}")
    if stop.min_screened_fraction is not None:
        parts.append(f"at least {stop.min_screened_fraction:.0%} of records screened")
    parts.append("at least twice the estimated number of relevant records screened")
    if stop.key_papers:
        parts.append(f"all {stop.key_papers} predefined key papers found" if stop.key_papers > 1
                     else "the predefined key paper found")
    out = []
    if parts:
        out.append(f"The stopping rule's criteria were {_names(parts)}.")
    if stop.defaulted:
        names = _names([_SETTING_WORDS.get(d, d) for d in stop.defaulted])
        one = len(stop.defaulted) == 1
        out.append(f"The protocol did not specify {names}: screener's default "
                   f"{'value was' if one else 'values were'} applied, so "
                   f"{'that criterion was' if one else 'those criteria were'} not set in "
                   "advance by the review team.")
    confidence = stop.confidence if stop.confidence is not None else 0.95
    level = f"{confidence:.0%}"
    tail = f"{1 - confidence:.3g}"  # the stopping test's level
    out.append("The stopping test is that of Callaghan and Müller-Hansen (2020): the "
               "hypergeometric p-value for the hypothesis that the recall target has been "
               "missed, taking the records screened since each point as a random sample of "
               "those left (the smallest p over these points). The relevant records left were "
               "estimated by inverting the same test: the point estimate is the number left "
               "at which its p-value crosses 0.5, and each end of its interval is a "
               f"one-sided {level} bound: the upper end where the p-value crosses "
               f"{tail}, the level of the stopping test, and the lower end by the other "
               "tail: the fewest left under which, in the sample the point estimate rests on "
               "(the records screened since the point whose p-value is smallest there), "
               "seeing at least as many relevant records as were seen has a probability of "
               f"at least {tail}. The estimated recall is the relevant records found "
               "(included or maybe) divided by those found plus those estimated left, its "
               "interval from the ends of that interval, so its lower end is the recall the "
               "stopping test supports at the rule's confidence: when the test says stop, it "
               "is at least the recall target."
               + (" As the ranking puts likely relevant records first, the records screened "
                  "last are usually richer in relevant records than those left, so this "
                  "estimate of recall tends to be too low." if ranked else ""))
    if stop.since_import:
        out.append("Records were imported after screening began (an update search), and the "
                   "decisions made before the latest such import are no random sample of the "
                   "records it added: the run of consecutive irrelevant records, the stopping "
                   "test and the estimate of the relevant records left count only the "
                   "decisions made since it; the records screened and the relevant records "
                   "found count every decision.")
    for v in stop.amended:
        rule = [c for c in v.changes if c.startswith("the stopping rule")]
        out.append(f"These are the criteria as amended in protocol version {v.version} "
                   f"({v.date}), after screening had started ({_n(v.decided_before, 'decision')}"
                   f" had been made under earlier versions): {_md('; '.join(rule))} "
                   f"(reason given: \"{_md(v.reason)}\").")
    values = "; ".join(f"{name}: {value}" for name, value in stop.values)
    if stop.stopped:
        when = f" on {stop.stopped_at}" if stop.stopped_at else ""
        out.append(f"Title and abstract screening stopped{when} with this rule met"
                   + (f" ({values})." if values else "."))
    elif stop.unscreened:
        out.append(f"Screening is not finished: {_n(stop.unscreened, 'record')} "
                   f"{'has' if stop.unscreened == 1 else 'have'} not been screened by a reviewer yet, and the stopping rule's criteria are "
                   f"not met" + (f" ({values})." if values else "."))
    else:
        out.append("Screening did not stop early: every record was screened by a reviewer.")
    return out


def automation_paragraph(inputs: ReportInputs) -> str:
    """The automation disclosure: tool, version, model, seeds, training, stopping."""
    auto = inputs.automation
    if auto is None:
        text = ["No automation tools were used to prioritise records."]
        if inputs.unlinked_rankings:
            text = [f"screener computed {_n(inputs.unlinked_rankings, 'active-learning ranking')}"
                    " of the records, but no screening decision records the ranking "
                    "that showed its record, so the log cannot tell whether records were "
                    "screened in ranked order."]
        stop = inputs.stopping
        if stop is not None and (stop.stopped or stop.unscreened):
            text += _stopping_text(stop, ranked=False)
            text += _automation_exclusions(inputs.counts, inputs.other_methods)
        return " ".join(text)
    stages = _names([STAGE_NAMES[s] for s in auto.stages])
    # a model never trained did not learn anything: no "by active learning" then
    how = (f"by {auto.tool} version {auto.version} (an active-learning tool, used here only "
           "for its ranking before training)" if auto.similarity_only
           else f"by active learning in {auto.tool} version {auto.version}")
    out = [f"Records were prioritised for {stages} screening {how}. The model ({auto.model}; "
           f"configuration hash `{auto.config_hash}`"]
    if auto.config:
        out[-1] += "; " + ", ".join(f"{k} = {v}" for k, v in auto.config)
    if auto.similarity_only:
        # "every record" only when every decision records its ranking: those made before
        # the first ranking arrived were shown in import order
        shown = ("records were shown in order of their similarity" if auto.unranked
                 else "every record was shown in order of its similarity")
        out[-1] += (f"{'; random seed ' + str(auto.seed) if auto.seed is not None else ''})"
                    f" was never trained during screening: {shown} to the review question "
                    "and eligibility criteria (the cold start, used until a record has been "
                    "included and another excluded).")
    else:
        out[-1] += f"{'; random seed ' + str(auto.seed) if auto.seed is not None else ''})" + (
            f" was retrained {auto.retraining}" if auto.retraining
            else " was not retrained during screening") + \
            ", and records were shown in order of predicted relevance."
    if auto.unranked and (auto.similarity_only or not auto.retraining):
        out.append(auto.unranked.replace(" decision", " title/abstract decision", 1) + ".")
    if not auto.similarity_only:
        weight = dict(auto.config).get("protocol_include", "0")
        if weight.isdigit() and int(weight) > 0:
            out.append("The review's title, question, inclusion criteria and include terms "
                       "were part of every training set as one relevant example, weighted "
                       f"like {_n(int(weight), 'included record')}.")
    if auto.earlier_models:
        out.append("Before it, " + "; ".join(
            f"{_n(n, 'decision')} {_were(n)} made on rankings by {name} (configuration hash "
            f"`{h}`)" for name, h, n in auto.earlier_models) + ".")
    if auto.cold_start and not auto.similarity_only:
        out.append("Until a record had been included and another excluded, records were "
                   "ranked by their similarity to the review question and eligibility "
                   "criteria.")
    out.append("The model only ordered the records; every screening decision was made by a "
               "reviewer.")
    if auto.stopping is not None:
        out += _stopping_text(auto.stopping)
    out += _automation_exclusions(inputs.counts, inputs.other_methods)
    return " ".join(out)


def _automation_exclusions(c: PrismaCounts, other: tuple[int, int, int] = (0, 0, 0)
                          ) -> list[str]:
    if not c.records_excluded_automation:
        return []
    _, other_excluded, other_open = other
    text = (f"Records from databases and registers not screened by a reviewer when screening "
            f"stopped (n = {_count(c.records_excluded_automation)}) are reported as excluded "
            "by automation tools in the PRISMA flow diagram")
    if other_open:
        text += (f"; {_n(other_open, 'record')} from other methods {_were(other_open)} not "
                 "screened either")
    total = c.records_excluded_human + other_excluded
    text += f"; {_n(total, 'record')} {_were(total)} excluded by a reviewer"
    if other_excluded:
        text += (f" ({_count(c.records_excluded_human)} from databases and registers, "
                 f"{_count(other_excluded)} from other methods)")
    return [text + "."]


def other_methods_sentence(other: tuple[int, int, int]) -> str:
    """Records from other methods that the PRISMA 2020 diagram has no box for."""
    duplicates, excluded, _ = other
    parts = ([f"duplicates of records already found (n = {_count(duplicates)})"]
             if duplicates else [])
    parts += [f"records excluded at title and abstract screening (n = {_count(excluded)})"
              ] if excluded else []
    if not parts:
        return ""
    return ("Of the records identified through other methods, " + " and ".join(parts)
            + " have no box in the flow diagram's other-methods column.")


def _decided(v: ProtocolVersionInfo) -> str:
    return ", ".join(f"{_count(n)} at {STAGE_NAMES[stage]}" for stage, n in v.decisions
                     ) or "none"


def protocol_section(versions: tuple[ProtocolVersionInfo, ...], title_at_creation: str = ""
                     ) -> str:
    """PRISMA 2020 items 24b/24c: the protocol versions (date, sha256, reason, changes),
    the decisions made under each, and, plainly, amendments made after screening began."""
    if not versions:
        return ""
    last = versions[-1]
    if len(versions) == 1:
        out = [f"Screening followed the protocol as first recorded (version 1, {last.date}, "
               f"sha256 `{last.sha256[:12]}`); it was not amended."]
        return " ".join(out)
    amendments = len(versions) - 1
    times = {1: "once", 2: "twice"}.get(amendments, f"{amendments} times")
    out = [f"The protocol was amended {times} after it was first recorded; version "
           f"{last.version} (sha256 `{last.sha256[:12]}`) is in force. The table below lists "
           "every version with the decision rows made while it was in force."]
    if title_at_creation:
        out.append(f"The review was created under the title \"{_md(title_at_creation)}\".")
    late = [v for v in versions[1:] if v.decided_before]
    for v in late:
        how, names = v.searches_only
        if how:  # recording an update search is no deviation from the protocol
            did = (f"adds the {'update ' if how == 'update' else ''}searches of "
                   f"{_names([_md(n) for n in names])}" if names
                   else "changes only the search strategies")
            out.append(f"Protocol version {v.version} was recorded on {v.date} (it {did}; "
                       "recorded after screening had started, when "
                       f"{_n(v.decided_before, 'decision')} had been made).")
            continue
        changed = _md("; ".join(v.changes)) or "nothing that screener compares"
        out.append(f"**Protocol version {v.version} was recorded on {v.date}, after screening "
                   f"had started** ({_n(v.decided_before, 'decision')} had been made under "
                   f"earlier versions). It changed: {changed}.")
    table = ["| Version | Date | sha256 | Reason | Changes from the version before | "
             "Decisions made under it |", "|---:|---|---|---|---|---|"]
    table += [f"| {v.version} | {v.date} | `{v.sha256[:12]}` | {_md(v.reason)} | "
              f"{_md('; '.join(v.changes)) or ('—' if v.version == 1 else 'none found')} | "
              f"{_decided(v)} |" for v in versions]
    return (" ".join(out) + "\n\nProtocol versions and the decisions made under each.\n\n"
            + "\n".join(table))


def _imported_mark(reviewer: str, stage: Stage, marked: Collection[str]) -> str:
    """"†" beside a reviewer some of whose decisions were imported (`marked`), at title and
    abstract: imported decisions are there only, so a full-text row is all made here."""
    return "†" if reviewer in marked and stage == Stage.TITLE_ABSTRACT else ""


def group_agreement_paragraph(rows: tuple[GroupAgreementRow, ...],
                              marked: Collection[str] = ()) -> str:
    """Which statistic measures agreement among three or more reviewers, and its values;
    the reviewers in `marked` (some decisions imported) are marked † as in Table 1, at
    title and abstract, the only stage decisions are imported at."""
    def names(r: GroupAgreementRow) -> str:
        return _names([_md(w) + _imported_mark(w, r.stage, marked) for w in r.reviewers])

    parts = [f"at {STAGE_NAMES[r.stage]}, {_n(r.n, 'record')} each screened by "
             + (f"{spelled(r.raters)} reviewers ({names(r)})"
                if len(r.reviewers) <= r.raters else
                f"{spelled(r.raters)} of {names(r)}")
             + ": agreement "
             f"{r.percent_agreement:.1f}%, Fleiss' κ {_fmt(r.kappa)}"
             + (f" ({r.note})" if r.note else "") for r in rows]
    return ("Where three or more reviewers screened each record, agreement among them is "
            "Fleiss' κ (Fleiss 1971) over the records screened by the same number of "
            "reviewers, with agreement as the mean share of reviewer pairs agreeing on a "
            f"record: {'; '.join(parts)}.")


def agreement_table(rows: tuple[AgreementRow, ...],
                    imported: tuple[tuple[str, tuple[str, ...]], ...] = (),
                    shares: tuple[tuple[str, int, int], ...] = ()) -> str:
    """Markdown table: per reviewer pair and stage, n, agreement, kappa (95% CI), PABAK, AC1.
    A reviewer whose decisions were imported (`imported`: name, files) is marked †, and a
    note under the table says where they came from, and how many of them were (`shares`:
    name, imported, decisions) when the reviewer made others in screener."""
    out = ["| Stage | Reviewers | n | Agreement (%) | Cohen's κ (95% CI) | PABAK | Gwet's AC1 |",
           "|---|---|---:|---:|---:|---:|---:|"]
    files = dict(imported)

    def name(reviewer: str, stage: Stage) -> str:
        return _md(reviewer) + _imported_mark(reviewer, stage, files)

    small = False
    for r in rows:
        kappa = _fmt(r.kappa)
        if r.kappa is not None and r.kappa_ci is not None:
            kappa += f" ({r.kappa_ci[0]:.2f} to {r.kappa_ci[1]:.2f})"
        elif r.kappa is not None and r.n < MIN_N_FOR_CI:
            kappa += " (no CI*)"
            small = True
        out.append(f"| {STAGE_NAMES[r.stage].capitalize()} | {name(r.reviewer_a, r.stage)} and "
                   f"{name(r.reviewer_b, r.stage)} "
                   f"| {_count(r.n)} | {r.percent_agreement:.1f} | {kappa} | {_fmt(r.pabak)} "
                   f"| {_fmt(r.ac1)} |")
    for r in rows:
        if r.reasons_note:
            out.append(f"\n{STAGE_NAMES[r.stage].capitalize()}, {_md(r.reviewer_a)} and "
                       f"{_md(r.reviewer_b)}: {_md(r.reasons_note)}.")
    if small:
        out.append(f"\n\\* No confidence interval for κ from fewer than {MIN_N_FOR_CI} "
                   "records screened by both reviewers.")
    for reviewer in sorted({n for r in rows for n in (r.reviewer_a, r.reviewer_b)
                            if _imported_mark(n, r.stage, files)}):
        source = (f" from {_names([_md(f) for f in files[reviewer]])}" if files[reviewer]
                  else "")
        share = next(((i, t) for n, i, t in shares if n == reviewer), (1, 1))
        out.append(f"\n† {imported_decisions(_md(reviewer), *share, 'in this table')}{source} (`import "
                   "--labels-as`), not made in screener; blinding and independence cannot "
                   "be checked, so the agreement is not that of two independent reviewers.")
    return "\n".join(out)


def _study(record: Record) -> str:
    family = record.first_author.split(",")[0].strip() or "Anonymous"
    more = " et al." if len(record.authors) > 1 else ""
    citation = record.citation
    # the year once: the citation ("Journal. 2019;12:3-4.") has it when there is a journal
    head = f"{family}{more}" + ("" if record.year and str(record.year) in citation
                                else f" {record.year or 'n.d.'}")
    ident = (f"doi:{record.doi_as_written}" if record.doi else f"PMID {record.pmid}" if record.pmid
             else f"record {record.id}" if record.id is not None else "")
    parts = [head.rstrip("."), record.title.rstrip("."), citation.rstrip(".")]
    text = ". ".join(p for p in parts if p) + "."
    return f"{text} {ident}".strip()


def excluded_table(items: tuple[ExcludedReport, ...]) -> str:
    """Markdown table of full-text exclusions with reasons (PRISMA item 16b)."""
    out = ["| Report | Reason for exclusion |", "|---|---|"]
    out += [f"| {_md(_study(item.record))} | {_md(item.reason)} |" for item in items]
    return "\n".join(out)


def counts_table(counts: PrismaCounts) -> str:
    """Markdown table of every number in the flow diagram."""
    c = counts
    rows: list[tuple[str, int]] = []
    rows += [(f"Records identified: {name} (database)", n) for name, n in c.databases]
    rows += [(f"Records identified: {name} (register)", n) for name, n in c.registers]
    rows += [("Records identified from databases and registers", c.identified),
             ("Duplicate records removed", c.duplicates_removed),
             ("Records marked as ineligible by automation tools", c.automation_ineligible),
             ("Records removed for other reasons", c.removed_other),
             ("Records screened", c.records_screened),
             ("Records excluded", c.records_excluded),
             ("Records excluded by a human", c.records_excluded_human),
             ("Records excluded by automation tools", c.records_excluded_automation),
             ("Reports sought for retrieval", c.reports_sought)]
    if c.full_text:  # else the diagram ends at the reports sought
        rows += [("Reports not retrieved", c.reports_not_retrieved),
                 ("Reports assessed for eligibility", c.reports_assessed),
                 ("Reports excluded", c.reports_excluded)]
    rows += [(f"Reports excluded: {reason}", n) for reason, n in c.reports_excluded_reasons]
    if c.has_other_methods:
        rows += [(f"Records identified (other methods): {name}", n)
                 for name, n in c.other_sources]
        rows += [("Reports sought for retrieval (other methods)", c.other_reports_sought)]
    if c.has_other_methods and c.full_text:
        rows += [("Reports not retrieved (other methods)", c.other_reports_not_retrieved),
                 ("Reports assessed for eligibility (other methods)",
                  c.other_reports_assessed),
                 ("Reports excluded (other methods)", c.other_reports_excluded)]
        rows += [(f"Reports excluded (other methods): {reason}", n)
                 for reason, n in c.other_reports_excluded_reasons]
    if c.previous:  # the updated-review template's boxes
        rows += [("Studies included in previous version of review", c.previous.studies),
                 ("Reports of studies included in previous version of review",
                  c.previous.reports)]
    if c.previous and c.full_text:
        rows += [("New studies included in review", c.studies_included),
                 ("Reports of new included studies", c.reports_included),
                 ("Total studies included in review", c.total_studies),
                 ("Reports of total included studies", c.total_reports)]
    elif c.full_text:  # else the diagram ends at the reports sought
        rows += [("Studies included in review", c.studies_included),
                 ("Reports of included studies", c.reports_included)]
    out = ["| Box | n |", "|---|---:|"]
    out += [f"| {_md(name)} | {_count(n)} |" for name, n in rows]
    return "\n".join(out)


def methods_report(inputs: ReportInputs) -> str:
    """The whole report as Markdown."""
    title = _md(inputs.title or inputs.protocol.title)
    out = [f"# {title}: screening methods", ""]
    if inputs.draft:  # the text reads as final: say so before anyone copies it
        out += [f"**{inputs.draft}.** The figures and sentences below "
                "describe the screening so far.", ""]
    if inputs.protocol_copy_note:   # the sha256 below is not that of the folder's copy
        out += [f"**Note.** {inputs.protocol_copy_note}.", ""]
    protocol = protocol_section(inputs.protocol_versions, inputs.title_at_creation)
    if protocol:
        out += ["## Protocol", "", protocol, ""]
    if inputs.sources:
        out += ["## Identification", "", identification_section(inputs.sources, inputs.dedup),
                ""]
        if inputs.import_fixes:
            out += [import_fixes_paragraph(inputs.import_fixes), ""]
    out += ["## Study selection", "",
           screening_paragraph(inputs), "", "## Automation", "", automation_paragraph(inputs),
           ""]
    out += ["## Agreement between reviewers", ""]
    if inputs.agreement:
        out += ["Table 1. Agreement between pairs of reviewers on the records both screened "
                "(before disagreements were resolved), as Cohen's κ for each pair.", "",
                agreement_table(inputs.agreement, inputs.imported_label_files,
                                inputs.imported_in_agreement)]
        if inputs.group_agreement:
            out += ["", group_agreement_paragraph(inputs.group_agreement,
                                                  dict(inputs.imported_label_files))]
    else:
        out.append("No record was screened by two reviewers, so agreement is not reported.")
    if (inputs.excluded_reports or inputs.excluded_then_removed
            or inputs.counts.full_text):  # else no full-text stage
        out += ["", "## Reports excluded at full text", ""]
    if inputs.excluded_reports:
        out += [f"Table 2. Reports excluded after full-text assessment, with reasons "
                f"(n = {len(inputs.excluded_reports)}).", "",
                excluded_table(inputs.excluded_reports)]
        if inputs.reworded_reasons:
            out += ["", "Reasons are worded as in the protocol version in force, here and in "
                    "the flow diagram. " + " ".join(
                        f"Exclusion reason \"{_md(now)}\" was worded \"{_md(before)}\" when "
                        f"{_count(n)} of these exclusions {_were(n)} made."
                        for now, before, n in inputs.reworded_reasons)]
    elif inputs.counts.full_text:
        out.append("No report was excluded at full text.")
    if inputs.excluded_then_removed:
        n = inputs.excluded_then_removed
        it = "it" if n == 1 else "them"
        out += ["", f"{_n(n, 'report')} excluded at full text {_were(n)} removed afterwards "
                f"as {'a duplicate' if n == 1 else 'duplicates'} of another record; "
                f"{'it is' if n == 1 else 'they are'} not listed here: the flow diagram "
                f"counts {it} among the duplicate records removed, not among the reports "
                "excluded."]
    out += ["", "## PRISMA 2020 flow diagram", "",
            f"![PRISMA 2020 flow diagram]({_link(inputs.prisma_svg)})", "",
            counts_table(inputs.counts)]
    if inputs.diagram_notes:
        out += ["", "Notes on the counts:", ""] + [f"- {n}." for n in inputs.diagram_notes]
    problems = (check(inputs.counts) if inputs.diagram_problems is None
                else list(inputs.diagram_problems))
    if problems:
        out += ["", "**The counts do not add up:**", ""] + [f"- {p}" for p in problems]
    if inputs.decision_log is not None and inputs.event_log is not None:
        out += ["", "## Audit trail", "", audit_paragraph(
            inputs.decision_log, inputs.event_log, inputs.table_problems,
            inputs.backfilled_events)]
        if inputs.reassignments or inputs.restores:
            out += ["", corrections_paragraph(inputs.reassignments, inputs.restores)]
    return "\n".join(out) + "\n"


def corrections_paragraph(reassignments: Sequence[tuple[str, str, str, int]],
                          restores: Sequence[tuple[str, tuple[tuple[str, int], ...], int, int]]
                          ) -> str:
    """The corrections the logs record that change whose decisions the figures count, or
    which: decisions moved to another reviewer name, a restore from a backup."""
    parts = [f"on {day}, {_n(n, 'decision')} made under the name {_md(source)} "
             f"{'was' if n == 1 else 'were'} moved to {_md(target)} (`screener reassign`: "
             "the decision log keeps the rows under both names), so the figures count them "
             f"as {_md(target)}'s" for day, source, target, n in reassignments]
    for day, lost, imports, events in restores:
        if not (lost or imports or events):
            parts.append(f"on {day}, the review was restored from a backup that held "
                         "everything it held")
            continue
        what = [f"{_n(n, 'decision row')} of {_md(name)}" for name, n in lost]
        what += [_n(imports, "import")] if imports else []
        what += [_n(events, "other event")] if events else []
        parts.append(f"on {day}, the review was restored from a backup, discarding what was "
                     f"recorded after it ({', '.join(what)}): the logs above no longer "
                     "hold them")
    return "Corrections recorded in the event log: " + "; ".join(parts) + "."


def audit_paragraph(decisions: LogState, events: LogState, table_problems: Sequence[str] = (),
                    backfilled: int = 0) -> str:
    """What the report's reader can check later: each log's length and newest hash, whether
    both verified when the report was written, and whether the tables the figures come from
    agree with the event log."""
    def one(state: LogState, name: str, unit: str) -> str:
        head = f" (newest hash `{state.head}`)" if state.head else ""
        return f"the {name} holds {_count(state.rows)} {unit}{head}"

    text = (f"Every screening decision is in a hash-chained log, and every other change to "
            f"the review (protocol versions, imports, duplicates removed, allocations, the "
            f"end of blinding, reports not retrieved) in a second one: "
            f"{one(decisions, 'decision log', 'rows')}; {one(events, 'event log', 'events')}.")
    if backfilled:
        text += (f" {_count(backfilled)} of the events "
                 f"{'was' if backfilled == 1 else 'were'} reconstructed from the review's "
                 "tables when the event log was added (database migration 0005), not "
                 "recorded when the changes were made.")
    bad = [(name, s.problem) for name, s in (("decision log", decisions),
                                            ("event log", events)) if s.problem]
    if not bad and not table_problems:
        return (text + " Both chains verified when this report was written, and the tables "
                "the figures come from agreed with the event log; `screener log verify` on "
                "the review, or on the exported logs with the hashes above, shows whether "
                "anything was changed since.")
    text += "".join(f"\n\n**The {name} does not verify:** {problem}." for name, problem
                    in bad)
    if table_problems:
        text += ("\n\n**The tables the figures come from disagree with the event log** (they "
                 "were changed outside screener):\n\n" + "\n".join(
                     f"- {problem}" for problem in table_problems))
    return text
