"""`flask coordination-report`: the anonymous counts as CSV, for the coordination office."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, g

from portfolio import accounts, progress_store, transaction
from portfolio.accounts import AccountError
from portfolio.extensions import db
from portfolio.models import School
from portfolio.review.report import build_reports, report_csv


def _schools(schulnummer: str | None) -> list[School]:
    """The school of `--school`, or every school."""
    try:
        if schulnummer:
            return [accounts.get_school(schulnummer)]
        return list(db.session.scalars(sa.select(School).order_by(School.schulnummer)))
    except AccountError as error:
        raise click.ClickException(str(error)) from error


@click.command("coordination-report")
@click.option("--school", "schulnummer", help="Schulnummer; default: every school.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the CSV to this file (default: print it).",
)
@click.option("--lang", default="de", show_default=True, help="Language of the column names.")
def coordination_report_command(schulnummer, out, lang):
    """Print the transition decisions per school and grade (no names; small counts withheld)."""
    g.force_locale = lang  # no request here: portfolio.i18n.select_locale reads this
    schools = _schools(schulnummer)
    data = report_csv(build_reports(schools))
    if out:
        with open(out, "wb") as fh:
            fh.write(data)
        click.echo(f"Wrote {out} ({len(schools)} school(s)).")
    else:
        click.echo(data.decode("utf-8-sig"), nl=False)


@click.command("progress-refresh")
@click.option("--school", "schulnummer", help="Schulnummer; default: every school.")
def progress_refresh_command(schulnummer):
    """Compute today's stored progress rows of every pupil (run at night, before the staff
    open their lists; the workers do it at 04:00)."""
    for school in _schools(schulnummer):
        with transaction.atomic():
            n = progress_store.refresh(school.id)
        click.echo(f"{school.name}: {n} pupils")


def register(app: Flask) -> None:
    app.cli.add_command(coordination_report_command)
    app.cli.add_command(progress_refresh_command)
