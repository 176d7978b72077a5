"""Operator commands: `flask create-school`, `create-user`, `seed-demo`, ...

Feature packages add their own commands through a `register(app)` in their
`commands.py`; they are listed in `register` below.
"""

from __future__ import annotations

import click
from flask import Flask
from flask_babel import force_locale

from portfolio import accounts, transaction
from portfolio.accounts import AccountError
from portfolio.auth.passwords import password_problem
from portfolio.models import SCHOOL_FORMS, Role


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error))


@click.command("create-school")
@click.option("--name", required=True, help="Name of the school.")
@click.option("--schulnummer", required=True, help="The six-digit Schulnummer.")
@click.option("--school-form", required=True, type=click.Choice(SCHOOL_FORMS), help="School form.")
@click.option("--municipality", required=True, help="Town or city.")
def create_school_command(name, schulnummer, school_form, municipality):
    """Create a school with the default standard elements and qualities."""
    try:
        with transaction.atomic():
            school = accounts.create_school(name, schulnummer, school_form, municipality)
    except AccountError as error:
        _fail(error)
    click.echo(f"Created {school.name} (Schulnummer {school.schulnummer}).")


@click.command("create-user")
@click.option("--school", "schulnummer", required=True, help="Schulnummer of the user's school.")
@click.option(
    "--role",
    "roles",
    required=True,
    multiple=True,
    type=click.Choice([r.value for r in Role]),
    help="Role; repeat for several.",
)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--username", help="Default: firstname.lastname.")
@click.option("--password", help="Default: a generated password, printed once.")
@click.option("--class", "class_name", help="Pupil: the class (e.g. 9a).")
@click.option("--teaches", "teaches", multiple=True, help="Teacher: a class taught; repeat.")
@click.option("--child", "children", multiple=True, help="Guardian: a child's username; repeat.")
@click.option(
    "--pupil", "pupils", multiple=True, help="Counsellor: an assigned pupil's username; repeat."
)
@click.option("--date-of-birth", type=click.DateTime(formats=["%d.%m.%Y", "%Y-%m-%d"]))
@click.option("--locale", help="Language (de, en, tr, ar, ru, uk, pl).")
def create_user_command(
    schulnummer,
    roles,
    first_name,
    last_name,
    username,
    password,
    class_name,
    teaches,
    children,
    pupils,
    date_of_birth,
    locale,
):
    """Create an account. The user must change the password at first login."""
    try:
        with transaction.atomic():
            school = accounts.get_school(schulnummer)
            role_set = [Role(r) for r in roles]
            if Role.PUPIL in role_set and not class_name:
                raise AccountError("A pupil needs --class.")
            cls = accounts.get_class(school, class_name) if class_name else None
            taught = [accounts.get_class(school, c) for c in teaches]
            kids = [accounts.get_user(u, school) for u in children]
            assigned = [accounts.get_user(u, school) for u in pupils]
            for pupil in kids + assigned:
                if not pupil.is_pupil:
                    raise AccountError(f"{pupil.username} is not a pupil.")
            user, pw = accounts.create_user(
                school,
                roles=role_set,
                first_name=first_name,
                last_name=last_name,
                username=username,
                password=password,
                locale=locale,
                date_of_birth=date_of_birth.date() if date_of_birth else None,
            )
            if password:
                with force_locale("en"):  # the operator's terminal, like the other messages
                    problem = password_problem(user, password)
                if problem:
                    raise AccountError(f"--password: {problem}")
            if cls is not None:
                accounts.put_in_class(user, cls)
            for c in taught:
                accounts.assign_teacher(user, c)
            for kid in kids:
                accounts.link_guardian(user, kid)
            for pupil in assigned:
                accounts.assign_counsellor(user, pupil)
    except AccountError as error:
        _fail(error)
    click.echo(f"Created {user.username} ({', '.join(roles)}).")
    if not password:
        click.echo(f"Initial password (shown once): {pw}")


@click.command("create-class")
@click.option("--school", "schulnummer", required=True)
@click.option("--name", required=True, help="e.g. 8a, 10b, EF, Q1")
def create_class_command(schulnummer, name):
    """Create a class in the current school year."""
    try:
        with transaction.atomic():
            school = accounts.get_school(schulnummer)
            cls = accounts.get_or_create_class(school, name)
    except AccountError as error:
        _fail(error)
    click.echo(f"Class {cls.name} (grade {cls.grade}) in {school.name}.")


def register(app: Flask) -> None:
    for command in (
        create_school_command,
        create_user_command,
        create_class_command,
    ):
        app.cli.add_command(command)
    # Each feature registers its own commands.
    from portfolio import seed
    from portfolio.admin import commands as admin_commands
    from portfolio.documents import commands as documents_commands
    from portfolio.export import commands as export_commands
    from portfolio.jobs import commands as jobs_commands
    from portfolio.notifications import commands as notifications_commands
    from portfolio.privacy import commands as privacy_commands
    from portfolio.review import commands as review_commands
    from portfolio.roster import commands as roster_commands

    for feature in (
        admin_commands,
        documents_commands,
        export_commands,
        jobs_commands,
        notifications_commands,
        privacy_commands,
        review_commands,
        roster_commands,
        seed,
    ):
        feature.register(app)
