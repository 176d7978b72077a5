"""Operator commands for the data's life: purge-expired, export/import-portfolio, backup."""

from __future__ import annotations

import contextlib
import os
import tempfile

import click
from flask import Flask, g

from portfolio import accounts, clock, transaction
from portfolio.accounts import AccountError
from portfolio.extensions import db
from portfolio.models import User
from portfolio.privacy import backup, lifecycle, package_check, package_import, portability


@click.command("purge-expired")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    hidden=True,
    help="Pretend today is this date (for tests and drills).",
)
def purge_expired_command(dry_run: bool, today):
    """Delete pupils whose retention period after leaving has ended, with all their data,
    and the expired results of background jobs (class ZIPs, take-away packages, slips) and
    the expired submission keys of forms (portfolio/transaction.py)."""
    _english()
    day = today.date() if today else clock.today()
    _purge_job_results(dry_run)
    _purge_submission_keys(dry_run)
    ids = [p.id for p in lifecycle.expired_pupils(day)]
    undated = lifecycle.left_without_date()
    if undated:
        click.echo(
            f"Note: {undated} pupil(s) marked as left have no leaving date and are kept "
            "until one is set."
        )
    if not ids:
        click.echo("No pupil is due for deletion.")
        return
    verb = "Would delete" if dry_run else "Deleted"
    failed = 0
    for pupil_id in ids:
        try:
            # One pupil at a time (a failure keeps the others); a dry run stays open to the end.
            with contextlib.nullcontext() if dry_run else transaction.atomic():
                result = lifecycle.purge_pupil(db.session.get(User, pupil_id), dry_run=dry_run)
        except Exception as error:  # noqa: BLE001  (one failure must not stop the others)
            if dry_run:
                db.session.rollback()  # also the pupils before: later counts may differ
            failed += 1
            click.echo(f"Pupil #{pupil_id}: FAILED ({type(error).__name__}: {error})", err=True)
            continue
        extra = (
            f", {result.guardians_deactivated} guardian account(s) deactivated"
            if result.guardians_deactivated
            else ""
        )
        click.echo(
            f"{verb} pupil #{pupil_id} (school #{result.school_id}): "
            f"{result.total_rows} rows, {result.files} files{extra}."
        )
        if result.file_errors:
            click.echo(
                f"  {result.file_errors} file(s) could not be removed; see the log.", err=True
            )
    if dry_run:
        # The dry run ran every statement (so that its counts are the real ones): undo all.
        db.session.rollback()
    click.echo(
        f"{verb} {len(ids) - failed} pupil(s)." + (" Nothing was changed." if dry_run else "")
    )
    if failed:
        raise click.ClickException(f"{failed} pupil(s) could not be deleted.")


def _purge_job_results(dry_run: bool) -> None:
    from portfolio.jobs import services as jobs

    if dry_run:
        click.echo(f"Would delete {jobs.expired_results()} expired download(s).")
        return
    count = jobs.purge_expired()
    click.echo(
        f"Deleted {count.results} expired download(s), {count.rows} old job record(s) "
        f"and {count.stray_files} stray file(s)."
    )


@click.command("export-portfolio")
@click.option("--pupil", "username", required=True, help="Username of the pupil.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The ZIP file to write.",
)
@click.option(
    "--no-pdf", is_flag=True, help="Leave out portfolio.pdf (JSON and files only; faster)."
)
def export_portfolio_command(username: str, out_path: str, no_pdf: bool):
    """Write a pupil's take-away package (PDF, JSON, files, README) as a ZIP: the whole
    portfolio, made by the school, e.g. for a pupil who leaves or changes school."""
    _english()
    try:
        pupil = accounts.get_user(username)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    if not pupil.is_pupil:
        raise click.ClickException(f"{username} is not a pupil.")
    maker = portability.Maker("school", pupil.school.name)
    directory = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if no_pdf:
                data = portability.export_zip(pupil, fh, made_by=maker)
            else:
                data = lifecycle.write_takeaway(
                    pupil, fh, scope=portability.Scope.WHOLE, maker=maker
                )
        os.chmod(tmp, 0o600)
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    from portfolio.privacy import audit

    with transaction.atomic():
        audit.record(
            None,
            "export",
            pupil_id=pupil.id,
            school_id=pupil.school_id,
            details={"via": "cli", "pdf": not no_pdf},
        )
    click.echo(
        f"Wrote {out_path}: {'' if no_pdf else 'the PDF, '}{len(data['entries'])} entries, "
        f"{len(data['documents'])} files, {len(data['agreements'])} agreements, "
        f"{len(data['guidance'])} guidance records (the whole portfolio)."
    )


@click.command("import-portfolio")
@click.argument("zip_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--school", "schulnummer", required=True, help="Schulnummer of the new school.")
@click.option("--class", "class_name", help="Class in the current school year, e.g. 9a.")
@click.option(
    "--accept-partial",
    is_flag=True,
    help="Import a package that holds only part of the portfolio (a parent's package).",
)
@click.option("--dry-run", is_flag=True, help="Only check the package and say what it brings.")
def import_portfolio_command(
    zip_path: str, schulnummer: str, class_name: str | None, accept_partial: bool, dry_run: bool
):
    """Restore a take-away package as a new pupil of this school.

    Files go through the same checks as uploads; signatures, comments and review states
    of the other school are kept as imported history, not as this school's.
    """
    _english()
    try:
        school = accounts.get_school(schulnummer)
        if dry_run:
            _print_preview(zip_path, school)
            return
        with transaction.atomic(), open(zip_path, "rb") as fh:
            result = package_import.import_zip(
                fh, school, class_name=class_name, accept_partial=accept_partial
            )
            transaction.on_rollback(lambda: package_import.delete_files(result.stored_keys))
    except portability.PartialPackage as error:
        lines = [
            *error.missing,
            "Nothing was imported. Run again with --accept-partial to import it anyway.",
        ]
        raise click.ClickException("\n".join(lines)) from None
    except (AccountError, portability.PortabilityError) as error:
        raise click.ClickException(str(error)) from None
    pupil = result.pupil
    click.echo(f"Imported {pupil.full_name} as {pupil.username} into {school.name}.")
    for line in result.missing:
        click.echo(f"Partial package: {line}")
    for name, reason in result.refused:
        click.echo(f"Left out {name}: {reason}")
    if result.dropped_values:
        click.echo(f"Left out {result.dropped_values} value(s) of entries with a wrong type.")
    click.echo(
        "Signatures, comments and review states of the other school are kept as imported "
        "history, not as signatures or reviews of this school."
    )
    click.echo(f"Initial password (shown once): {result.password}")


def _print_preview(zip_path: str, school) -> None:
    with open(zip_path, "rb") as fh:
        p = package_check.preview(fh, school)
    click.echo(f"Pupil: {p.pupil_name} (born {p.date_of_birth or 'unknown'})")
    click.echo(
        f"From: {p.source_school or 'unknown'}; made by {p.made_by_role or 'unknown'} "
        f"{p.made_by_name or ''}".rstrip()
    )
    click.echo(f"Scope: {p.scope} (format version {p.version})")
    for line in p.missing:
        click.echo(f"Partial package: {line}")
    kinds = ", ".join(f"{kind} {count}" for kind, count in p.entries) or "none"
    click.echo(f"Entries: {kinds}")
    click.echo(f"Files: {p.documents} accepted, {len(p.refused)} refused")
    for name, reason in p.refused:
        click.echo(f"  refused {name}: {reason}")
    click.echo(f"Agreements: {p.agreements}; guidance records: {p.guidance}")
    click.echo(
        "Kept as imported history: "
        + ", ".join(f"{count} {what}" for what, count in p.history.items())
    )
    if p.same_name:
        click.echo(f"Note: pupils with the same name already exist: {', '.join(p.same_name)}")
    click.echo("Nothing was imported (dry run).")


@click.command("backup")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder in which a timestamped backup folder is created.",
)
def backup_command(out_dir: str):
    """Copy the database (SQLite, or PostgreSQL with pg_dump) and the uploaded files."""
    _english()
    try:
        target = backup.make_backup(out_dir)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    import json

    manifest = json.loads((target / "manifest.json").read_text())
    click.echo(f"Backup written to {target} ({manifest['documents']} documents).")
    if manifest["missing_files"]:
        click.echo(
            f"Warning: {len(manifest['missing_files'])} file(s) named in the database "
            "were missing; see manifest.json.",
            err=True,
        )


def _purge_submission_keys(dry_run: bool) -> None:
    with transaction.atomic():
        count = transaction.purge_expired_keys(dry_run=dry_run)
    if count:
        verb = "Would delete" if dry_run else "Deleted"
        click.echo(f"{verb} {count} expired submission key(s) of forms.")


def _english() -> None:
    """Messages of the services in English: there is no request (and no browser) here."""
    g.force_locale = "en"


def register(app: Flask) -> None:
    for command in (
        purge_expired_command,
        export_portfolio_command,
        import_portfolio_command,
        backup_command,
    ):
        app.cli.add_command(command)
