"""Commands that bring records in: import, dedup, search pubmed, import-ids."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from screener.workflow.importing import DedupSummary

from screener.cli import emit_json, main, open_from, review_options
from screener.cli.params import DB_ID, PATH
from screener.core.wording import counted, plural, were

KIND = click.Choice(["database", "register", "other"])


def _bar(total: int | None, label: str) -> tuple[Progress, TaskID]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        transient=True, disable=not sys.stderr.isatty())
    return progress, progress.add_task(label, total=total)


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=PATH)
@review_options
@click.option("--source", default=None, help="Source name, e.g. PubMed, Embase (default: "
              "guessed from the format or file name); spelt as an existing source's, case "
              "and spacing included.")
@click.option("--kind", type=KIND, default="database", show_default=True,
              help="PRISMA column: database, register, or other (citation searching, "
                   "websites, organisations).")
@click.option("--searched", default=None, metavar="DATE", help="Date the search was run "
              "(YYYY-MM-DD).")
@click.option("--query", default="", help="The search query, for PRISMA-S.")
@click.option("--labels-as", default=None, metavar="REVIEWER",
              help="Turn a label column (label_included, included, ..., or the decision "
                   "column of screener's own records export, title/abstract only) into "
                   "earlier title/abstract decisions by REVIEWER.")
@click.option("--labels-only", is_flag=True,
              help="With --labels-as: add only the labels, to the records of the earlier "
                   "import holding the same records in the same order (a second reviewer's "
                   "labels); no record is imported again.")
@click.option("--again", is_flag=True,
              help="Import a file even though a file with the same bytes, or the same "
                   "records, was imported before.")
def import_(files: tuple[Path, ...], review_dir: Path | None, db_url: str | None,
            source: str | None, kind: str, searched: str | None, query: str,
            labels_as: str | None, labels_only: bool, again: bool) -> None:
    """Import bibliography FILES (format detected from the content).

    RIS (Ovid, Embase, Scopus, Web of Science, Zotero, EndNote, ProQuest), PubMed
    MEDLINE/.nbib, PubMed XML, BibTeX, CSV/TSV, Excel .xlsx, Web of Science plain text,
    EndNote XML; gzip-compressed files too. The files import all together or not at all,
    and a file imported before (the same bytes, or other bytes holding the same records)
    is refused (unless --again).
    """
    from screener.workflow.importing import import_files

    with open_from(review_dir, db_url) as review:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            transient=True, disable=not sys.stderr.isatty())
        tasks: dict[Path, TaskID] = {}

        def advance(path: Path, n: int) -> None:
            if path not in tasks:
                tasks[path] = progress.add_task(f"reading {path.name}", total=None)
            progress.update(tasks[path], completed=n)

        with progress:
            summaries = import_files(
                review, list(files), source=source, kind=kind, searched=searched, query=query,
                labels_as=labels_as, progress=advance, again=again,
                labels_only=labels_only)
    for summary in summaries:
        for warning in summary.warnings:
            click.echo(f"warning: {summary.file}: {warning}", err=True)
        labels = (f"{counted(summary.labels_imported, 'label')} as decisions by "
                  f"{summary.labels_by}")
        if summary.onto_source:
            click.echo(f"{summary.file}: {labels} on the records of source "
                       f"{summary.onto_source!r} ({summary.format})")
            continue
        extra = f", {labels}" if summary.labels_by else ""
        click.echo(f"{summary.file}: {summary.records} {plural(summary.records, 'record')} "
                   f"({summary.format}){extra}, imported as import {summary.source_id}")
    if any(not summary.onto_source for summary in summaries):
        _dedup_note()


def _dedup_note() -> None:
    """After an import that added records (a file, a search, PMIDs)."""
    click.echo("note: run `screener dedup` once every search is imported, before "
               "screening: it removes the records found more than once (in one file, or "
               "by an earlier import)", err=True)


@main.command()
@review_options
@click.option("--threshold", type=float, default=None,
              help="Minimum title similarity (0.5-1) for a fuzzy match (default: tuned value, 0.85).")
@click.option("--list", "list_", is_flag=True, help="List the duplicate clusters.")
@click.option("--undo", type=DB_ID, default=None, metavar="CLUSTER",
              help="Reverse the merge of one cluster (dedup never merges its records again).")
@click.option("--redo", type=DB_ID, default=None, metavar="CLUSTER",
              help="Merge an undone cluster again (as a new cluster; the undo stays logged).")
@click.option("--split", type=DB_ID, default=None, metavar="RECORD",
              help="Take one record out of its duplicate cluster, the others staying merged "
                   "(dedup never merges it with them again).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result (or, with --list, the clusters) as JSON.")
def dedup(review_dir: Path | None, db_url: str | None, threshold: float | None, list_: bool,
          undo: int | None, redo: int | None, split: int | None, as_json: bool) -> None:
    """Remove duplicates: exact DOI and PMID, then fuzzy title + year + first author."""
    from screener.workflow import importing

    if sum(x is not None for x in (undo, redo, split)) + list_ > 1:
        raise click.UsageError("give one of --undo, --redo, --split and --list")
    with open_from(review_dir, db_url) as review:
        if split is not None:
            done = importing.split_duplicate(review, split)
            if as_json:
                emit_json({"split": split, "clusters": list(done.clusters),
                           "kept_id": done.kept_id, "new_cluster": done.new_cluster or None,
                           "new_kept": done.new_kept or None})
                return
            where = ", ".join(map(str, done.clusters))
            if done.kept_id != split:
                click.echo(f"record {split} taken out of cluster {where} (it was a copy of "
                           f"{done.kept_id}): it counts again as a record of its own")
            elif done.new_cluster:
                click.echo(f"record {split} taken out of cluster {where}, whose kept copy it "
                           f"was: the others are merged as cluster {done.new_cluster}, "
                           f"keeping record {done.new_kept}")
            else:
                click.echo(f"record {split} taken out of cluster {where}: both records count "
                           "again")
            return
        if undo is not None:
            n = importing.undo_duplicate_cluster(review, undo)
            if as_json:
                emit_json({"undone": undo, "restored": n})
                return
            click.echo(f"cluster {undo} undone: {counted(n, 'record')} restored "
                       f"(`screener dedup --redo {undo}` merges them again)")
            return
        if redo is not None:
            redone = importing.redo_duplicate_cluster(review, redo)
            if as_json:
                emit_json({"redone": redo, "cluster": redone.cluster,
                           "screened_removed": list(redone.screened_removed),
                           "decided_differently": list(redone.decided_differently)})
                return
            click.echo(f"cluster {redo} merged again as cluster {redone.cluster}")
            _warn_screened_copies(redone)
            return
        if list_:
            every = importing.list_duplicates(review, undone=True)
            if as_json:  # undone links too, marked "undone": true
                emit_json(every)
                return
            links = [link for link in every if not link["undone"]]
            members: dict[tuple[bool, int], set[object]] = {}  # (undone, cluster) -> ids
            for link in every:
                members.setdefault((bool(link["undone"]), int(str(link["cluster"]))),
                                   set()).update((link["record_id"], link["kept_id"]))
            active = {frozenset(ids): c for (gone, c), ids in members.items() if not gone}
            # undone cluster -> the cluster merging the same records again (a redo may keep
            # another copy of them)
            again = {c: active[frozenset(ids)] for (gone, c), ids in members.items()
                     if gone and frozenset(ids) in active}
            undone = sorted({int(str(link["cluster"])) for link in every
                             if link["undone"]} - set(again))
            def shown(what: object) -> str:  # (title, year, first author)
                parts = [str(x) for x in what] if isinstance(what, (tuple, list)) else [str(what)]
                extra = ", ".join(p for p in parts[1:] if p and p != "None")
                return parts[0] + (f" ({extra})" if extra else "")

            for link in links:
                click.echo(f"cluster {link['cluster']}: record {link['record_id']} duplicate of "
                           f"{link['kept_id']} ({link['method']}, {link['score']:.2f})\n"
                           f"    removed: {shown(link['removed'])}\n"
                           f"    kept:    {shown(link['kept'])}")
            click.echo(f"{counted(len(links), 'duplicate record')} removed")
            if undone:
                click.echo(f"undone {plural(len(undone), 'cluster')}, kept apart: {', '.join(map(str, undone))} "
                           "(`screener dedup --redo N` merges one again)")
            if again:
                click.echo("undone, then merged again: " + ", ".join(
                    f"{old} as cluster {new}" for old, new in sorted(again.items())))
            _warn_contradicting([link["contradicts"] for link in links if link["contradicts"]])
            return
        progress, task = _bar(None, "deduplicating")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with progress:
            summary = importing.deduplicate(review, threshold=threshold, progress=advance)
    if as_json:
        emit_json({"clusters": summary.clusters, "removed": summary.removed,
                   "by_method": summary.by_method, "kept_apart": summary.skipped_undone,
                   "screened_removed": list(summary.screened_removed),
                   "decided_differently": list(summary.decided_differently),
                   "contradicting": list(summary.contradicting)})
        return
    methods = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_method.items())) or "none"
    click.echo(f"{counted(summary.removed, 'duplicate')} removed in "
               f"{counted(summary.clusters, 'cluster')} "
               f"({methods})")
    if summary.kept_apart:
        pairs = ", ".join(f"{a} and {b}" for a, b in summary.kept_apart[:20])
        click.echo(f"note: {counted(len(summary.kept_apart), 'pair')} of records found alike "
                   f"{plural(len(summary.kept_apart), 'was', 'were')} not merged, as "
                   f"`dedup --undo` or `--split` separated them (or a copy merged with them): {pairs}"
                   f"{', ...' if len(summary.kept_apart) > 20 else ''}; `dedup --redo "
                   "CLUSTER` merges an undone cluster again", err=True)
    _warn_screened_copies(summary)
    _warn_contradicting(list(summary.contradicting))


def _warn_contradicting(found: list[Any]) -> None:
    """Name the standing duplicate links whose records' identifiers or years contradict (an older
    version made them), each with the undo that separates it."""
    from screener.workflow.importing import contradiction_warning

    for item in found:
        click.echo(f"warning: {contradiction_warning(item)}", err=True)


def _warn_screened_copies(summary: DedupSummary) -> None:
    """Name the removed copies that had been screened, each with the copy kept."""
    def pairs(ids: tuple[int, ...]) -> str:
        shown = ", ".join(f"{i} (kept: {summary.kept_of[i]})" for i in ids[:20])
        return shown + (", ..." if len(ids) > 20 else "")

    if summary.screened_removed:
        click.echo(f"warning: {counted(len(summary.screened_removed), 'removed record')} had been "
                   f"screened as well as the copy kept: {pairs(summary.screened_removed)}; "
                   "their decisions stay in the log but no longer count. Check they agree "
                   "with the kept copy's (`screener dedup --list`), or take a cluster back "
                   "with `dedup --undo N`", err=True)
    if summary.decided_differently:
        click.echo(f"warning: {len(summary.decided_differently)} of them "
                   f"{were(len(summary.decided_differently))} decided "
                   "differently from the copy kept: "
                   f"{pairs(summary.decided_differently)}; only the kept copy's decisions "
                   "count now; decide which is right, and change the kept copy's decision if "
                   "needed", err=True)


def _to_stderr(message: str) -> None:
    click.echo(message, err=True)


@main.group()
def search() -> None:
    """Search a bibliographic database directly (needs the network)."""


@search.command("pubmed")
@click.argument("query")
@review_options
@click.option("--email", required=True, help="Your e-mail address (NCBI asks for it).")
@click.option("--api-key", default=None, envvar="NCBI_API_KEY",
              help="NCBI API key: 10 requests/s instead of 3 (also read from NCBI_API_KEY).")
@click.option("--max", "max_records", type=click.IntRange(min=1), default=None, metavar="N",
              help="Fetch at most N records (default: all).")
@click.option("--source", default="PubMed", show_default=True,
              help="Source name the records are imported under (an update search: the "
                   "same name, with --again if needed).")
@click.option("--again", is_flag=True,
              help="Import the records even though an earlier import holds exactly the same "
                   "records (the same search or PMIDs fetched before, unchanged).")
def search_pubmed(query: str, review_dir: Path | None, db_url: str | None, email: str,
                  api_key: str | None, max_records: int | None, source: str,
                  again: bool) -> None:
    """Search PubMed for QUERY and import the records, with the query, date and count."""
    from screener.workflow.importing import search_pubmed_into

    with open_from(review_dir, db_url) as review:
        summary = search_pubmed_into(review, query, email=email, api_key=api_key,
                                     max_records=max_records, source=source, again=again,
                                     notice=_to_stderr)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"PubMed: {counted(summary.records, 'record')} imported as source {source!r} "
               f"(import {summary.source_id})")
    if summary.records:
        _dedup_note()


@main.command("import-ids")
@click.argument("file", required=False, type=PATH)
@click.option("--pmid", "pmids", multiple=True, help="A PubMed id (repeatable).")
@review_options
@click.option("--email", required=True, help="Your e-mail address (NCBI asks for it).")
@click.option("--api-key", default=None, envvar="NCBI_API_KEY",
              help="NCBI API key: 10 requests/s instead of 3 (also read from NCBI_API_KEY).")
@click.option("--source", default="Citation searching", show_default=True,
              help="Source name the records are imported under.")
@click.option("--kind", type=KIND, default="other", show_default=True,
              help="PRISMA column: database, register, or other (citation searching, "
                   "websites, organisations).")
@click.option("--again", is_flag=True,
              help="Import the records even though an earlier import holds exactly the same "
                   "records (the same search or PMIDs fetched before, unchanged).")
def import_ids(file: Path | None, pmids: tuple[str, ...], review_dir: Path | None,
               db_url: str | None, email: str, api_key: str | None, source: str,
               kind: str, again: bool) -> None:
    """Fetch records by PMID (--pmid ID ... or a FILE of PMIDs), e.g. citation searching."""
    from screener.workflow.importing import import_pmids, read_pmid_list
    from screener.workflow.review import ReviewError

    ids = list(pmids) + (read_pmid_list(file) if file else [])
    if not ids:
        raise ReviewError("give PMIDs with --pmid ID (repeatable) or a FILE with one per line")
    with open_from(review_dir, db_url) as review:
        summary = import_pmids(review, ids, email=email, api_key=api_key, source=source,
                               kind=kind, again=again, notice=_to_stderr)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{counted(summary.records, 'record')} fetched by PMID as source {source!r} "
               f"({kind}), imported as import {summary.source_id}")
    _dedup_note()  # (none found is refused)


@main.command("correct-import")
@click.argument("source_id", type=DB_ID, metavar="IMPORT")
@review_options
@click.option("--source", "name", default=None, help="The source's right name (a PRISMA row).")
@click.option("--kind", type=KIND, default=None,
              help="The right PRISMA column: database, register or other.")
@click.option("--searched", default=None, metavar="DATE",
              help="The date the search was run (YYYY-MM-DD; \"\" when not known).")
@click.option("--reason", required=True, help="Why the import is corrected (logged).")
def correct_import(source_id: int, review_dir: Path | None, db_url: str | None,
                   name: str | None, kind: str | None, searched: str | None,
                   reason: str) -> None:
    """Correct the source name, kind or search date an import was given.

    IMPORT is the import's number (`screener status` shows it beside each source, `import`
    says "imported as import N"; a number the review has not is answered with the list of
    its imports). The import stays in the event log as recorded; the correction is logged
    beside it, and the report and PRISMA counts follow it."""
    from screener.workflow.import_fixes import correct_import as run_correct

    with open_from(review_dir, db_url) as review:
        done = run_correct(review, source_id, name=name, kind=kind, searched=searched,
                           reason=reason)
    names = {"source": "source", "kind": "kind", "searched_on": "searched"}
    click.echo(f"import {done.source_id} corrected: " + ", ".join(
        f"{names[k]} {done.before[k] or '(none)'!r} -> {v or '(none)'!r}"
        for k, v in done.after.items()))


@main.command("withdraw-import")
@click.argument("source_id", type=DB_ID, metavar="IMPORT")
@review_options
@click.option("--reason", required=True, help="Why the import is withdrawn (logged).")
def withdraw_import(source_id: int, review_dir: Path | None, db_url: str | None,
                    reason: str) -> None:
    """Withdraw an import none of whose records has been decided (a wrong file).

    Its records leave screening, the counts, the PRISMA diagram and deduplication (records
    of other imports removed as copies of them count again); the import and its withdrawal
    stay in the event log, and the report's audit trail names it. Refused when any of its
    records has a decision (with how many, by whom)."""
    from screener.workflow.import_fixes import withdraw_import as run_withdraw

    with open_from(review_dir, db_url) as review:
        done = run_withdraw(review, source_id, reason=reason)
    click.echo(f"import {done.source_id} ({done.name}, "
               f"{counted(done.records, 'record')}) withdrawn")
    if done.restored:
        click.echo(f"note: {counted(len(done.restored), 'record')} removed as copies of its "
                   f"records count again ({', '.join(map(str, done.restored))}); run "
                   "`screener dedup` to remove those that are copies of each other", err=True)
