"""Demo and bulk data: `flask seed-demo` (a school to try) and `flask seed-bulk` (scale)."""

from __future__ import annotations

import click
from flask import Flask


@click.command("seed-demo")
def seed_demo_command():
    """Create (or complete) the demo school and print the demo logins."""
    from portfolio import transaction
    from portfolio.seed.demo import DEMO_PASSWORD, seed_demo

    with transaction.atomic():
        logins = seed_demo()
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD})")
    width = max(len(role) for role, _username in logins) + 2
    click.echo(f"  {'Role':<{width}} Username")
    for role, username in logins:
        click.echo(f"  {role:<{width}} {username}")
    click.echo("")


def register(app: Flask) -> None:
    from portfolio.seed.bulk import seed_bulk_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(seed_bulk_command)
