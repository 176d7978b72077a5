"""`flask clean-documents`: PDFs stored before uploads were cleaned, cleaned now."""

from __future__ import annotations

import click
from flask import Flask, g

from portfolio import transaction
from portfolio.documents import services
from portfolio.documents.uploads import UploadError, check_upload
from portfolio.extensions import db
from portfolio.models import Document
from portfolio.storage import get_storage


@click.command("clean-documents")
@click.option("--dry-run", is_flag=True, help="Only report what would be cleaned.")
def clean_documents_command(dry_run: bool):
    """Run every stored PDF through the upload check; store the cleaned file where
    scripts, actions or embedded files were removed. Run once after upgrading."""
    g.force_locale = "en"  # the messages of refused files, for the operator
    storage = get_storage()
    cleaned = unchanged = 0
    for document_id in services.stored_pdfs():
        document = db.session.get(Document, document_id)
        try:
            data = storage.read(document.storage_key)
            checked = check_upload(data, document.filename, max_bytes=len(data))
        except (OSError, ValueError) as error:  # UploadError is a ValueError
            reason = error.message if isinstance(error, UploadError) else "file missing"
            click.echo(f"Document {document_id} left as it is: {reason}", err=True)
            continue
        if not checked.removed:
            unchanged += 1
            continue
        cleaned += 1
        click.echo(f"Document {document_id}: removed {', '.join(checked.removed)}")
        if dry_run:
            continue
        with transaction.atomic():  # each document in a transaction of its own
            services.replace_file(document, checked)
    verb = "would be cleaned" if dry_run else "cleaned"
    click.echo(f"{cleaned} PDF(s) {verb}, {unchanged} without active content.")


def register(app: Flask) -> None:
    app.cli.add_command(clean_documents_command)
