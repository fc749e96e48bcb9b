"""`screener screen`: open the terminal UI to screen a review.

Parses options, opens the review and hands it to `screener.tui.app.run_app`. Textual is
imported only when the command runs, so the rest of the CLI starts without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from screener.cli import (
    interactive,
    main,
    open_from,
    refuse_dumb_terminal,
    review_options,
    stage_option,
)


@main.command()
@review_options
@click.option("--reviewer", required=True, help="Your name, as stored with your decisions.")
@stage_option()
@click.option("--theme", type=click.Choice(["dark", "light"]), default=None,
              help="Colour theme; default: the one last chosen with t in the app "
                   "(kept in $XDG_CONFIG_HOME/screener/ui.json, or ~/.config/screener/ui.json).")
@click.option("--new-reviewer", is_flag=True,
              help="Join a review that has reviewers already under a name it has not seen "
                   "(without it such a name is refused, in case it is a typo).")
def screen(review_dir: Path | None, db_url: str | None, reviewer: str, stage: str,
           theme: str | None, new_reviewer: bool) -> None:
    """Screen records in the terminal UI (keys: i include, e exclude, m maybe, ? help)."""
    from screener.workflow.screening import check_can_screen, screening_reviewer

    _need_terminal()
    from screener.tui.app import run_app

    with open_from(review_dir, db_url) as review:
        reviewer = screening_reviewer(review, reviewer, new=new_reviewer)  # before the UI opens
        check_can_screen(review)
        if run_app(review, reviewer, stage, theme=theme):
            # Textual printed the traceback; a crash must not look like a normal quit
            click.echo("error: the screening UI stopped on an error (above); every decision "
                       "made before it is stored (`screener status` counts them). Please "
                       "report the error with the lines above.", err=True)
            sys.exit(1)


def _need_terminal() -> None:
    from screener.workflow.review import ReviewError

    if not interactive():
        raise ReviewError("`screener screen` needs a terminal (its input or output is "
                          "redirected); run it in a terminal, or use `screener next` and "
                          "`screener decide` from scripts")
    refuse_dumb_terminal()
