"""`flask import-roster` and `flask new-school-year`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale

from portfolio import accounts
from portfolio.accounts import AccountError
from portfolio.admin import rollover, slips
from portfolio.admin.roster import parse_roster
from portfolio.admin.roster_services import (
    CHANGED,
    NEW,
    UNCHANGED,
    ImportRefused,
    apply_import,
    build_preview,
    change_label,
)
from portfolio.extensions import db
from portfolio.models import School


def _locale():
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "de"))


def _school(schulnummer: str) -> School:
    try:
        return accounts.get_school(schulnummer)
    except AccountError as error:
        raise click.ClickException(str(error)) from None


@click.command("import-roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "schulnummer", required=True, help="Schulnummer of the school.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option(
    "--only-valid", is_flag=True, help="Import the valid rows even if others have errors."
)
@click.option(
    "--slips",
    "slips_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new pupils' login slips (PDF) here instead of printing passwords.",
)
@click.option("--letters/--no-letters", default=True, help="Add letters for parents to the slips.")
@click.option(
    "--letter-language",
    default="de",
    show_default=True,
    help="Language of the parents' letters when unknown.",
)
def import_roster_command(
    file, schulnummer, dry_run, only_valid, slips_path, letters, letter_language
):
    """Import pupils from a SchILD-NRW export (text export or SchuelerBasisdaten.dat)."""
    with _locale():
        school = _school(schulnummer)
        preview = build_preview(school, parse_roster(file.read_bytes(), file.name))
        if preview.file_error:
            raise click.ClickException(preview.file_error)
        for line, status, item in preview.lines:
            if status == NEW:
                click.echo(
                    f"  {line:>5}  new        {item.row.last_name}, {item.row.first_name} "
                    f"({item.row.class_name})"
                )
            elif status == CHANGED:
                what = "; ".join(
                    f"{change_label(k)}: {old or '–'} -> {new}" for k, old, new in item.changes
                )
                click.echo(
                    f"  {line:>5}  changed    {item.row.last_name}, {item.row.first_name}: {what}"
                )
            elif status != UNCHANGED:
                click.echo(f"  {line:>5}  ERROR      {item.message}", err=True)
        if preview.missing:
            click.echo(
                "Not in this file (nothing is deleted): "
                + ", ".join(f"{u.sort_name} ({c or '–'})" for u, c in preview.missing)
            )
        click.echo(
            f"{preview.count(NEW)} new, {preview.count(CHANGED)} changed, "
            f"{preview.count(UNCHANGED)} unchanged, {len(preview.errors)} with errors."
        )
        if dry_run:
            db.session.rollback()
            click.echo("Dry run: nothing was changed.")
            return
        try:
            result = apply_import(school, None, preview, only_valid=only_valid, filename=file.name)
            pdf = None
            if result.created and slips_path:
                prepared = slips.prepare(
                    [(p, r.class_name, pw) for p, pw, r in result.created],
                    letters=letters,
                    fallback_locale=letter_language,
                )
                pdf = slips.render(school, prepared, title="Login slips")
            db.session.commit()
        except ImportRefused as error:
            db.session.rollback()
            raise click.ClickException(
                f"{error} Nothing was changed. Use --only-valid to skip the rows with errors."
            ) from None
        if pdf is not None:
            slips_path.write_bytes(pdf)
            slips_path.chmod(0o600)
            click.echo(f"Login slips for {len(result.created)} new pupils: {slips_path}")
        elif result.created:
            click.echo("Initial passwords (shown once):")
            for pupil, password, row in result.created:
                click.echo(f"  {row.class_name:<6} {pupil.username:<30} {password}")
        click.echo(
            f"Imported: {len(result.created)} new, {len(result.changed)} changed, "
            f"{result.skipped} rows skipped."
        )


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
    day = today.date() if today else dt.date.today()
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
            rollover.run(the_plan)
            db.session.commit()
            click.echo(f"  Done: {the_plan.moving} pupils moved up, {the_plan.leavers} left.")
        if dry_run:
            db.session.rollback()
            click.echo("Dry run: nothing was changed.")


def register(app: Flask) -> None:
    app.cli.add_command(import_roster_command)
    app.cli.add_command(new_school_year_command)
