"""Ranking commands: simulate a screening with known labels, and re-rank a review now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from screener.cli import emit_json, main, open_from, review_options
from screener.cli.params import PATH, RUN_OUT_PATH, SEED
from screener.core.wording import counted


@main.command()
@click.argument("dataset", type=PATH)
@click.option("--seed", type=SEED, default=42, show_default=True,
              help="Random seed: the priors drawn and the model's randomness.")
@click.option("--prior", "priors", multiple=True, metavar="RECORD_ID",
              help="A prior record by record_id (repeatable); compares exactly with other tools.")
@click.option("--n-prior-included", type=click.IntRange(min=0), default=1, show_default=True,
              help="Relevant records drawn at random as priors (not with --prior).")
@click.option("--n-prior-excluded", type=click.IntRange(min=0), default=1, show_default=True,
              help="Irrelevant records drawn at random as priors (not with --prior).")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, metavar="N",
              help="Stop after N records (default: when every relevant record is found).")
@click.option("--model", type=click.Choice(["default", "screener-lr", "elas-u4",
                                           "screener-lr-minilm"]),
              default="default", show_default=True,
              help="default (screener-lr), elas-u4 (ASReview's default, for comparison) or "
                   "screener-lr-minilm (adds sentence embeddings; needs the `embeddings` "
                   "extra).")
@click.option("--protocol", "protocol_file", type=PATH, default=None,
              help="Protocol whose criteria drive the cold start: a YAML file, or the name "
                   "of a bundled example (see init --help).")
@click.option("--out", "output", type=RUN_OUT_PATH, default=None,
              help="Write the order, metrics, model and timings as JSON.")
@click.option("--output", "output_alias", type=RUN_OUT_PATH, default=None, hidden=True,
              help="The former name of --out (every other command says --out).")
@click.option("--plot", type=RUN_OUT_PATH, default=None,
              help="Write recall against records screened: SVG, PNG or PDF, by the file "
                   "name's ending (.svg, .png, .pdf).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the metrics and timings as JSON.")
@click.option("--force", is_flag=True, help="Replace existing --out / --plot files.")
def simulate(dataset: Path, seed: int, priors: tuple[str, ...], n_prior_included: int,
             n_prior_excluded: int, stop_after: int | None, model: str,
             protocol_file: Path | None, output: Path | None, output_alias: Path | None,
             plot: Path | None, as_json: bool, force: bool) -> None:
    """Replay a screening of DATASET (CSV or CSV.gz with label_included) with known labels."""
    from screener.workflow.simulation import row_order_note, run_simulation

    ctx = click.get_current_context()
    given = [f"--{name.replace('_', '-')}" for name in ("n_prior_included", "n_prior_excluded")
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    if priors and given:
        raise click.UsageError(f"{' and '.join(given)} cannot be used with --prior: the "
                               "priors are then exactly the records given with --prior")
    if output is not None and output_alias is not None:
        raise click.UsageError("--output is --out's former name: give one of them")
    output = output if output is not None else output_alias
    if protocol_file is not None:
        from screener.protocol import protocol_or_example

        protocol_file = protocol_or_example(protocol_file)
    result = run_simulation(dataset, seed=seed, prior_ids=priors,
                            n_prior_included=n_prior_included,
                            n_prior_excluded=n_prior_excluded, stop_after=stop_after,
                            model=model, protocol_file=protocol_file, output=output, plot=plot,
                            force=force, notice=lambda note: click.echo(note, err=True))
    from screener.cli.exports import tidy

    for folder_of in {p.parent.resolve(): p for p in (output, plot) if p is not None}.values():
        tidy(folder_of, "simulate or export")  # (they write their files the same way)
    if as_json:
        emit_json({**result.header(), "metrics": result.metrics,
                   "model": result.to_dict()["model"], "timings": result.timings,
                   "stopping": result.stopping})
        return
    m = result.metrics
    priors_shown = (f"{', '.join(result.prior_ids)} ({result.priors_label()})"
                    if result.prior_ids else "none (a cold start)")
    click.echo(f"{result.dataset_file}: {counted(len(result.order), 'record')} presented of "
               f"N = {m['n_pool']:,} (R = {m['n_pool_included']:,} relevant; the pool, "
               f"without the priors); priors {priors_shown}; seed {result.seed}; "
               f"model {result.model_label()}")
    click.echo(f"  {result.made_by()}")
    for key in ("wss95", "wss100", "recall_at_10pct", "atd", "n_screened_at_95"):
        if key in m:
            value = m[key]
            shown = (f"{value:.4f}" if isinstance(value, float) else str(value)
                     if value is not None else
                     "undefined (a pool under 10 records has no first 10%)"
                     if key == "recall_at_10pct" and m["n_pool"] < 10 else
                     "not reached (the run stopped first)")
            click.echo(f"  {key:18} {shown}")
    click.echo(f"  total time         {result.timings.get('total_s', 0):.2f} s")
    for line in _stopping_lines(result.stopping, int(m["n_pool"]), int(m["n_pool_included"])):
        click.echo(line)
    note = row_order_note(int(result.run.get("records_without_text", 0)))
    if note:  # shown on stderr before the run; here too, so that a saved text keeps it
        click.echo(note)


def _stopping_lines(stopping: dict[str, Any], n_pool: int, relevant: int) -> list[str]:
    """Where the stopping rule would have said stop: its settings, then one line per rule."""
    rule = stopping["rule"]
    source = ("the protocol's defaults" if rule["from"] == "defaults"
              else f"from {rule['from']}")
    run = rule["consecutive_irrelevant"]
    lines = [f"stopping rule ({source}): recall target {rule['recall_target']}, confidence "
             f"{rule['confidence']}, {run:,} irrelevant in a row, "
             f"at least {rule['min_screened_fraction']:.0%} screened"]
    names = {"stopping_test": "stopping test", "safe_checklist": "SAFE checklist",
             "consecutive_irrelevant": f"{run:,} irrelevant in a row"}
    width = max(map(len, names.values()))
    for key, name in names.items():
        point = stopping[key]
        if point["met"]:
            found = round(point["recall"] * relevant)
            shown = (f"stop after {point['screened']:,} of {n_pool:,} records: recall "
                     f"{point['recall']:.4f} ({found:,} of {relevant:,} relevant), work saved "
                     f"{point['work_saved']:.4f}")
        elif point["within"] < n_pool:
            shown = f"not met within the {counted(point['within'], 'record')} presented"
        else:
            shown = f"not met within the pool's {counted(n_pool, 'record')}"
        lines.append(f"  {name:{width}}  {shown}")
    return lines


@main.command()
@review_options
@click.option("--reviewer", required=True, help="Whose ranking (blind mode: each has one).")
@click.option("--new-reviewer", is_flag=True,
              help="Rank for a name the review has not seen while it has reviewers already "
                   "(without it such a name is refused, in case it is a typo).")
def rank(review_dir: Path | None, db_url: str | None, reviewer: str,
         new_reviewer: bool) -> None:
    """Retrain on the decisions so far and store a new ranking (the UI does this itself)."""
    from screener.workflow.ranking import refresh_ranking
    from screener.workflow.screening import screening_reviewer

    with open_from(review_dir, db_url) as review:
        # a typo would become a screener with a ranking of their own (blind screening)
        reviewer = screening_reviewer(review, reviewer, new=new_reviewer)
        update = refresh_ranking(review, reviewer)
    click.echo(f"ranking {update.ranking_id}: trained on {update.training_size} decisions "
               f"({update.n_included} includes), {update.n_ranked} undecided records ranked in "
               f"{update.seconds:.2f} s; model {update.config_hash[:12]}")
