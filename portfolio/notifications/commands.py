"""`flask send-digests` (for cron) and `flask send-test-mail` (to check the settings)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from portfolio.notifications import mail, preferences


@click.command("send-digests")
def send_digests_command() -> None:
    """Send the daily e-mail digests now (each reader at most once in 20 hours).

    The job queue's workers also send them every morning; running both is safe.
    Exits with 1 when some could not be sent (they are sent on the next run).
    """
    if not preferences.mail_enabled():
        click.echo("MAIL_SERVER is not set: no e-mail is sent.")
        return
    run = mail.send_digests()
    click.echo(
        f"Digests sent: {run.sent}. Failed: {len(run.failed)}. "
        f"Not tried (the mail server stopped answering): {run.left}."
    )
    if not run.ok:
        raise SystemExit(1)


@click.command("send-test-mail")
@click.argument("address")
def send_test_mail_command(address: str) -> None:
    """Send one test mail to ADDRESS with the MAIL_* settings (errors are shown)."""
    if not preferences.mail_enabled():
        raise click.ClickException("MAIL_SERVER is not set: no e-mail can be sent.")
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "Berufswahlpass: test mail"
    message["From"] = mail.sender()
    message["To"] = address
    message.set_content(
        f"This test mail was sent by the Berufswahlpass at {mail.public_base()} through "
        f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}."
    )
    try:
        with mail.mailer() as m:
            m.send(message)
    except OSError as error:
        raise click.ClickException(f"The mail could not be sent: {error}") from error
    click.echo(f"Sent a test mail to {address}.")


def register(app: Flask) -> None:
    app.cli.add_command(send_digests_command)
    app.cli.add_command(send_test_mail_command)
