"""`flask new-school-year`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale

from portfolio import accounts, clock, transaction
from portfolio.accounts import AccountError
from portfolio.admin import rollover
from portfolio.extensions import db
from portfolio.models import School


def _locale():
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "de"))


def _school(schulnummer: str) -> School:
    try:
        return accounts.get_school(schulnummer)
    except AccountError as error:
        raise click.ClickException(str(error)) from None


@click.command("new-school-year")
@click.option("--school", "schulnummer", help="Schulnummer; default: every school.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%d.%m.%Y", "%Y-%m-%d"]),
    help="Act as if it were this day (to catch up or to test).",
)
def new_school_year_command(schulnummer, dry_run, today):
    """Start the next school year: classes move up, leavers are marked as left."""
    day = today.date() if today else clock.today()
    with _locale():
        schools = (
            [_school(schulnummer)]
            if schulnummer
            else list(db.session.scalars(sa.select(School).order_by(School.schulnummer)))
        )
        for school in schools:
            the_plan = rollover.plan(school, day)
            click.echo(
                f"{school.name} ({school.schulnummer}): {the_plan.old_year.name} -> "
                f"{the_plan.new_name}"
            )
            if the_plan.not_due:
                click.echo(f"  Nothing to do. {the_plan.not_due}")
                continue
            for move in the_plan.moves:
                target = move.new_name or "leave school"
                click.echo(f"  {move.old.name:<8} -> {target:<12} {move.pupils} pupils")
            if dry_run:
                continue
            with transaction.atomic():
                rollover.run(the_plan)
            click.echo(f"  Done: {the_plan.moving} pupils moved up, {the_plan.leavers} left.")
        if dry_run:
            db.session.rollback()
            click.echo("Dry run: nothing was changed.")


def register(app: Flask) -> None:
    app.cli.add_command(new_school_year_command)
