"""Operator commands for the first day of a real installation."""

import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import ClassMembership, GuardianLink, Role, School, StandardElement, User


def test_create_school_and_users(runner):
    result = runner.invoke(
        args=[
            "create-school",
            "--name",
            "Realschule Kreuztal",
            "--schulnummer",
            "123456",
            "--school-form",
            "Realschule",
            "--municipality",
            "Kreuztal",
        ]
    )
    assert result.exit_code == 0, result.output
    school = db.session.scalar(sa.select(School).where(School.schulnummer == "123456"))
    assert school is not None
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StandardElement)
            .where(StandardElement.school_id == school.id)
        )
        >= 10
    )

    assert runner.invoke(args=["create-class", "--school", "123456", "--name", "9a"]).exit_code == 0
    result = runner.invoke(
        args=[
            "create-user",
            "--school",
            "123456",
            "--role",
            "pupil",
            "--first-name",
            "Jürgen",
            "--last-name",
            "Weiß",
            "--class",
            "9a",
            "--date-of-birth",
            "03.04.2011",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "juergen.weiss" in result.output
    assert "Initial password (shown once):" in result.output
    pupil = db.session.scalar(sa.select(User).where(User.username == "juergen.weiss"))
    assert pupil.must_change_password and pupil.is_pupil
    assert db.session.scalar(sa.select(ClassMembership).where(ClassMembership.pupil_id == pupil.id))

    result = runner.invoke(
        args=[
            "create-user",
            "--school",
            "123456",
            "--role",
            "guardian",
            "--first-name",
            "Maria",
            "--last-name",
            "Weiß",
            "--child",
            "juergen.weiss",
            "--password",
            "Ein-gutes-Passwort",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Initial password" not in result.output
    guardian = db.session.scalar(sa.select(User).where(User.username == "maria.weiss"))
    assert guardian.has_role(Role.GUARDIAN)
    assert db.session.scalar(sa.select(GuardianLink).where(GuardianLink.guardian_id == guardian.id))


def test_clear_errors(runner, world):
    cases = [
        (
            [
                "create-user",
                "--school",
                "999999",
                "--role",
                "teacher",
                "--first-name",
                "A",
                "--last-name",
                "B",
            ],
            "No school with Schulnummer 999999",
        ),
        (
            [
                "create-user",
                "--school",
                "100001",
                "--role",
                "pupil",
                "--first-name",
                "A",
                "--last-name",
                "B",
                "--class",
                "7z",
            ],
            "No class '7z'",
        ),
        (
            [
                "create-user",
                "--school",
                "100001",
                "--role",
                "pupil",
                "--first-name",
                "A",
                "--last-name",
                "B",
            ],
            "A pupil needs --class",
        ),
        (
            [
                "create-user",
                "--school",
                "100001",
                "--role",
                "guardian",
                "--first-name",
                "A",
                "--last-name",
                "B",
                "--child",
                "otto",
            ],
            "No user 'otto' in Realschule Testdorf",
        ),
        (
            [
                "create-user",
                "--school",
                "100001",
                "--role",
                "guardian",
                "--first-name",
                "A",
                "--last-name",
                "B",
                "--child",
                "tina",
            ],
            "tina is not a pupil",
        ),
        (
            [
                "create-user",
                "--school",
                "100001",
                "--role",
                "teacher",
                "--first-name",
                "A",
                "--last-name",
                "B",
                "--username",
                "paula",
            ],
            "taken",
        ),
        (
            [
                "create-school",
                "--name",
                "X",
                "--schulnummer",
                "12",
                "--school-form",
                "Realschule",
                "--municipality",
                "Y",
            ],
            "six digits",
        ),
        (
            [
                "create-school",
                "--name",
                "X",
                "--schulnummer",
                "100001",
                "--school-form",
                "Realschule",
                "--municipality",
                "Y",
            ],
            "exists already",
        ),
    ]
    users_before = db.session.scalar(sa.select(sa.func.count(User.id)))
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before


def test_seed_demo_twice_duplicates_nothing(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "elif.yilmaz" in first.output and "lukas.becker" in first.output
    counts = {
        m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (User, ClassMembership, GuardianLink)
    }
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    again = {
        m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (User, ClassMembership, GuardianLink)
    }
    assert counts == again
    assert counts["user_account"] > 70
