"""`flask import-roster`: the SchILD-NRW export from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask_babel import force_locale

from portfolio import accounts, transaction
from portfolio.accounts import AccountError
from portfolio.extensions import db
from portfolio.models import School
from portfolio.roster import slips
from portfolio.roster.parse import parse_roster
from portfolio.roster.services import (
    CHANGED,
    NEW,
    UNCHANGED,
    ImportRefused,
    apply_import,
    build_preview,
    change_label,
)


def _english():
    """The command speaks English throughout, like its --help and the other commands: the
    import's own (translated) messages are shown in English too, never mixed with German.
    The login slips and parents' letters keep their languages (`slips.render`)."""
    return force_locale("en")


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
    """Import pupils from a SchILD-NRW export (text export or SchuelerBasisdaten.dat).

    Exit status 1 when the file cannot be read or has rows with errors (unless
    --only-valid), also on a dry run: it answers whether the import would go through."""
    with _english():
        school = _school(schulnummer)
        preview = build_preview(school, parse_roster(file.read_bytes(), file.name))
        if preview.file_error:
            raise click.ClickException(preview.file_error)
        _show_preview(preview)
        if dry_run:
            db.session.rollback()
            click.echo("Dry run: nothing was changed.")
            if preview.errors and not only_valid:
                raise click.ClickException(
                    f"{len(preview.errors)} rows have errors: the import would be refused. "
                    "Correct them, or use --only-valid to skip them."
                )
            return
        result, pdf = _import(
            school, preview, file.name, only_valid, slips_path, letters, letter_language
        )
        _show_result(result, pdf, slips_path)


def _show_preview(preview) -> None:
    """One line per new, changed or faulty row (errors on stderr), then the totals."""
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


def _import(school, preview, filename, only_valid, slips_path, letters, letter_language):
    """Apply the import and render the login slips when asked; one commit for both."""
    try:
        with transaction.atomic():
            result = apply_import(school, None, preview, only_valid=only_valid, filename=filename)
            pdf = None
            if result.created and slips_path:
                prepared = slips.prepare(
                    [(p, r.class_name, pw) for p, pw, r in result.created],
                    letters=letters,
                    fallback_locale=letter_language,
                )
                pdf = slips.render(school, prepared, title="Login slips")
    except ImportRefused as error:
        raise click.ClickException(
            f"{error} Nothing was changed. Use --only-valid to skip the rows with errors."
        ) from None
    return result, pdf


def _show_result(result, pdf, slips_path) -> None:
    """The slips file, or the initial passwords (shown once), then the totals."""
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


def register(app: Flask) -> None:
    app.cli.add_command(import_roster_command)
