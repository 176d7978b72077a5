"""Guardian registration codes: issue, register, link, refuse, throttle; links by hand."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.guardian import registration
from portfolio.models import GuardianCode, GuardianLink, Role, User, utcnow
from tests.support.world import PASSWORD


def code_for(pupil, **kw) -> str:
    code = registration.issue_code(pupil, **kw)
    db.session.commit()
    return code


def form(code, username="maria.schmidt", **extra):
    data = {
        "code": code,
        "first_name": "Maria",
        "last_name": "Schmidt",
        "username": username,
        "password": "Sonne-Mond-77",
        "confirm": "Sonne-Mond-77",
        "language": "tr",
    }
    data.update(extra)
    return data


def linked(guardian_id, pupil_id) -> bool:
    return (
        db.session.scalar(
            sa.select(GuardianLink.id).where(
                GuardianLink.guardian_id == guardian_id, GuardianLink.pupil_id == pupil_id
            )
        )
        is not None
    )


def test_code_format_and_storage(world):
    code = code_for(world.pupil)
    assert len(code) == 14 and code.count("-") == 2
    assert not set(code.replace("-", "")) & set("01OIL5S8B2ZUV")
    row = db.session.scalar(sa.select(GuardianCode))
    assert code not in row.code_hash and row.code_hash == registration.code_hash(code)
    assert row.expires_at - utcnow() > dt.timedelta(days=29)
    # Lower case, spaces and missing dashes are fine.
    assert registration.find_code(" " + code.lower().replace("-", " ") + " ") is not None


def test_register_with_valid_code_links_and_logs_in(world, client):
    code = code_for(world.pupil)
    response = client.post("/eltern", data=form(code))
    assert response.status_code == 302
    guardian = db.session.scalar(sa.select(User).where(User.username == "maria.schmidt"))
    assert guardian.has_role(Role.GUARDIAN) and guardian.locale == "tr"
    assert guardian.school_id == world.school.id and not guardian.must_change_password
    assert linked(guardian.id, world.pupil.id)
    row = db.session.scalar(sa.select(GuardianCode))
    assert row.used_at is not None and row.used_by_id == guardian.id
    assert client.get("/").status_code in (200, 302)  # logged in


def test_code_works_only_once(world, client, app):
    code = code_for(world.pupil)
    assert client.post("/eltern", data=form(code)).status_code == 302
    second = app.test_client().post("/eltern", data=form(code, username="other.parent"))
    assert second.status_code == 200
    assert "This code does not work" in second.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "other.parent")) is None


def test_wrong_expired_and_used_codes_get_the_same_message(world, app):
    used = code_for(world.pupil)
    registration.register_guardian(
        used,
        first_name="A",
        last_name="B",
        username="first.one",
        password="Sonne-Mond-77",
        locale="de",
    )
    expired = code_for(world.classmate)
    db.session.execute(
        sa.update(GuardianCode)
        .where(GuardianCode.used_at.is_(None))
        .values(expires_at=utcnow() - dt.timedelta(minutes=1))
    )
    db.session.commit()
    bodies = []
    for code in (used, expired, "KX7P-M2Q9-TR4A", "nonsense"):
        response = app.test_client().post("/eltern", data=form(code, username="someone.new"))
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "This code does not work" in body
        bodies.append(re.sub(r'(value|content)="[^"]*"', "", body))
    assert len(set(bodies)) == 1
    assert db.session.scalar(sa.select(User).where(User.username == "someone.new")) is None


def test_form_problems_keep_the_code_unused(world, client):
    code = code_for(world.pupil)
    short = client.post("/eltern", data=form(code, password="kurz", confirm="kurz"))
    assert "at least 8 characters" in short.get_data(as_text=True)
    taken = client.post("/eltern", data=form(code, username="paula"))
    assert "username is taken" in taken.get_data(as_text=True)
    assert db.session.scalar(sa.select(GuardianCode.used_at)) is None
    assert client.post("/eltern", data=form(code)).status_code == 302


def test_logged_in_guardian_adds_a_child(world, client_for):
    code = code_for(world.classmate)
    client = client_for(world.guardian)
    page = client.get("/eltern")
    assert "Add a child" in page.get_data(as_text=True)
    assert client.post("/eltern", data={"code": code}).status_code == 302
    assert linked(world.guardian.id, world.classmate.id)
    assert linked(world.guardian.id, world.pupil.id)


def test_code_of_another_school_is_refused_for_logged_in_guardian(world, client_for):
    code = code_for(world.other_pupil)
    response = client_for(world.guardian).post("/eltern", data={"code": code})
    assert response.status_code == 200 and "another school" in response.get_data(as_text=True)
    assert not linked(world.guardian.id, world.other_pupil.id)


def test_staff_logged_in_cannot_register(world, client_for):
    page = client_for(world.teacher).get("/eltern").get_data(as_text=True)
    assert "log out first" in page


def test_attempts_are_throttled(world, app):
    app.config["GUARDIAN_CODE_LIMIT"] = "3 per 15 minutes"
    try:
        client = app.test_client()
        for _ in range(3):
            assert client.post("/eltern", data=form("AAAA-AAAA-AAAA")).status_code == 200
        code = code_for(world.pupil)
        assert client.post("/eltern", data=form(code)).status_code == 429
    finally:
        app.config.pop("GUARDIAN_CODE_LIMIT")


def test_default_throttle_exists(world, app):
    client = app.test_client()
    statuses = [client.post("/eltern", data=form("AAAA-AAAA-AAAA")).status_code for _ in range(11)]
    assert statuses[-1] == 429


# -- by hand -----------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["admin", "stubo", "teacher"])
def test_staff_link_and_unlink_guardian_by_hand(world, client_for, who):
    parent = User(school_id=world.school.id, username="papa", first_name="Paul", last_name="Pa")
    parent.set_password(PASSWORD)
    parent.add_role(Role.GUARDIAN)
    db.session.add(parent)
    db.session.commit()
    client = client_for(getattr(world, who))
    url = f"/admin/pupils/{world.pupil.id}/guardians"
    assert client.post(url, data={"username": "papa"}).status_code == 302
    assert linked(parent.id, world.pupil.id)
    page = client.get(f"/admin/accounts/{world.pupil.id}").get_data(as_text=True)
    assert "Paul Pa" in page
    assert client.post(url + "/remove", data={"id": parent.id}).status_code == 302
    assert not linked(parent.id, world.pupil.id)


def test_link_by_hand_refuses_non_guardians(world, client_for):
    client = client_for(world.admin)
    client.post(f"/admin/pupils/{world.pupil.id}/guardians", data={"username": "tina"})
    assert not linked(world.teacher.id, world.pupil.id)
