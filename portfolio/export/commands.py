"""`flask export-pdfs`: the PDFs of a whole class as one ZIP file."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask_babel import force_locale

from portfolio import accounts, transaction
from portfolio.accounts import AccountError
from portfolio.config import LANGUAGES


@click.command("export-pdfs")
@click.option("--school", "schulnummer", required=True, help="Schulnummer of the school.")
@click.option(
    "--class", "class_name", required=True, help="The class, e.g. 9a (current school year)."
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The ZIP file to write.",
)
@click.option(
    "--locale",
    default="de",
    show_default=True,
    type=click.Choice(sorted(LANGUAGES)),
    help="Language of the fixed texts in the PDFs.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Processes (default: all cores).")
def export_pdfs_command(schulnummer, class_name, out_path, locale, workers):
    """Write the portfolio PDFs of a class (what each pupil shared with teachers) to a ZIP."""
    from .classzip import export_class, record_audit

    try:
        school = accounts.get_school(schulnummer)
        cls = accounts.get_class(school, class_name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise click.ClickException(f"The folder {folder} does not exist.")
    tmp = out_path + ".part"
    with current_app.test_request_context(), force_locale(locale):
        with open(tmp, "wb") as fh:
            result = export_class(cls, fh, locale=locale, workers=workers)
        with transaction.atomic():
            record_audit(None, cls, result, via="cli")
    os.replace(tmp, out_path)
    click.echo(f"Wrote {len(result.done)} PDFs of class {cls.name} to {out_path}.")
    for pupil_id, name in result.failed:
        click.echo(f"Failed: {name} (id {pupil_id})", err=True)
    if not result.done and not result.failed:
        click.echo(f"Class {cls.name} has no pupils.", err=True)


def register(app: Flask) -> None:
    app.cli.add_command(export_pdfs_command)
