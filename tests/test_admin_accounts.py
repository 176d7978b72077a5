"""Administration pages: access matrix, account list, staff accounts, deactivation,
counsellors, login slips for a class."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portfolio import access, accounts
from portfolio.extensions import db
from portfolio.models import CounsellorAssignment, GuardianCode, Role, User
from tests.support.files import pdf_text
from tests.support.jobs import follow
from tests.support.queries import queries_of_page
from tests.support.world import PASSWORD, login

MANAGER_PAGES = [
    "/admin/",
    "/admin/accounts",
    "/admin/staff/new",
    "/admin/roster",
    "/admin/classes",
]


def test_other_schools_accounts_are_404(world, client_for, app):
    other_admin, _pw = accounts.create_user(
        world.other_school,
        roles=[Role.ADMIN],
        first_name="O",
        last_name="A",
        password=PASSWORD,
        must_change_password=False,
        username="oadmin",
    )
    db.session.commit()
    client = client_for(other_admin)
    assert client.get(f"/admin/accounts/{world.pupil.id}").status_code == 404
    assert (
        client.post(f"/admin/accounts/{world.teacher.id}/active", data={"active": "0"}).status_code
        == 404
    )
    page = client.get("/admin/accounts?kind=pupils").get_data(as_text=True)
    assert "Paula" not in page and "Otto" in page
    assert client.get(f"/admin/classes/{world.class_9a.id}/slips").status_code == 404


def test_access_rules():
    admin, stubo, teacher = (
        User(school_id=1, username=u, first_name="x", last_name="y") for u in ("a", "s", "t")
    )
    admin.add_role(Role.ADMIN)
    stubo.add_role(Role.STUBO)
    teacher.add_role(Role.TEACHER)
    admin.id, stubo.id, teacher.id = 1, 2, 3
    assert access.can_grant_role(admin, Role.ADMIN) and not access.can_grant_role(stubo, Role.ADMIN)
    assert access.can_grant_role(stubo, Role.TEACHER) and not access.can_grant_role(
        teacher, Role.TEACHER
    )
    assert access.can_change_account(admin, stubo) and not access.can_change_account(stubo, admin)
    assert not access.can_change_account(admin, admin)
    assert access.can_run_rollover(admin) and not access.can_run_rollover(stubo)


def test_home_lists_tasks(world, client_for):
    page = client_for(world.stubo).get("/admin/").get_data(as_text=True)
    assert "/admin/roster" in page and "/admin/accounts" in page
    assert "/admin/school-year" not in page  # the rollover is the admin's
    assert "/admin/school-year" in client_for(world.admin).get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["pupils", "staff", "guardians"])
def test_account_list_uses_a_fixed_number_of_queries(world, client_for, kind):
    client = client_for(world.admin)
    url = f"/admin/accounts?kind={kind}"
    before = queries_of_page(client, url)
    for i in range(15):
        role = {"pupils": Role.PUPIL, "staff": Role.TEACHER, "guardians": Role.GUARDIAN}[kind]
        user, _pw = accounts.create_user(
            world.school, roles=[role], first_name=f"N{i}", last_name="Many"
        )
        if kind == "pupils":
            accounts.put_in_class(user, world.class_9b)
        elif kind == "staff":
            accounts.assign_teacher(user, world.class_9b)
        else:
            accounts.link_guardian(user, world.pupil)
    db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert page.count("Many, N") == 15
    assert queries_of_page(client, url) == before


def test_account_list_search_and_class_filter(world, client_for):
    client = client_for(world.stubo)
    page = client.get(f"/admin/accounts?kind=pupils&class_id={world.class_9b.id}").get_data(
        as_text=True
    )
    assert "Nine-B, Berta" in page and "Pupil, Paula" not in page
    page = client.get("/admin/accounts?kind=staff&q=tina").get_data(as_text=True)
    assert "Teacher, Tina" in page and "Teacher, Bernd" not in page
    page = client.get("/admin/accounts?kind=guardians").get_data(as_text=True)
    assert "Guardian, Gabi" in page and "Paula Pupil" in page
    # Bad parameters do not break the page.
    assert client.get("/admin/accounts?kind=xyz&class_id=abc").status_code == 200


def test_account_list_pages_keep_the_search(world, client_for):
    for i in range(55):
        user, _pw = accounts.create_user(
            world.school, roles=[Role.PUPIL], first_name=f"Vor{i:02d}", last_name="Viele"
        )
        accounts.put_in_class(user, world.class_9b)
    db.session.commit()
    client = client_for(world.admin)
    first = client.get("/admin/accounts?kind=pupils&q=viele").get_data(as_text=True)
    assert "55 accounts" in first and "1–50 of 55" in first
    assert "Viele, Vor00" in first and "Viele, Vor54" not in first
    # The link to the next page keeps the search.
    next_link = re.search(r'href="([^"]+)" rel="next"', first)[1].replace("&amp;", "&")
    assert "q=viele" in next_link and "page=2" in next_link
    second = client.get(next_link).get_data(as_text=True)
    assert "Viele, Vor54" in second and "Viele, Vor00" not in second
    assert "Berta" not in second


def test_create_staff_shows_password_once_and_forces_change(world, client_for, app):
    client = client_for(world.admin)
    response = client.post(
        "/admin/staff/new",
        data={
            "first_name": "Klara",
            "last_name": "Klasse",
            "roles": ["teacher"],
            "classes": [str(world.class_9b.id)],
        },
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.username == "klara.klasse"))
    password = re.findall(r'<span class="bwp-secret">([^<]+)</span>', body)[1]
    assert user.check_password(password) and user.must_change_password
    assert user.has_role(Role.TEACHER) and access.teaches_class(user, world.class_9b.id)
    # At the first login the new password must have 12 characters.
    new = app.test_client()
    assert login(new, "klara.klasse", password).status_code == 302
    short = new.post(
        "/password",
        data={"current_password": password, "new_password": "Kurz-123", "confirm": "Kurz-123"},
    )
    assert "at least 12 characters" in short.get_data(as_text=True)
    # The account page never shows the password again.
    page = client.get(f"/admin/accounts/{user.id}").get_data(as_text=True)
    assert password not in page


def test_create_staff_errors_and_role_limits(world, client_for):
    client = client_for(world.stubo)
    form = client.get("/admin/staff/new").get_data(as_text=True)
    assert 'value="admin"' not in form  # a StuBO does not make admins
    response = client.post(
        "/admin/staff/new", data={"first_name": "Evil", "last_name": "Admin", "roles": ["admin"]}
    )
    assert response.status_code == 200
    assert (
        db.session.scalar(
            sa.select(User).where(User.last_name == "Admin", User.first_name == "Evil")
        )
        is None
    )
    taken = client.post(
        "/admin/staff/new",
        data={"first_name": "T", "last_name": "T", "username": "tina", "roles": ["teacher"]},
    )
    assert "username is taken" in taken.get_data(as_text=True)
    assert 'value="T"' in taken.get_data(as_text=True)  # what was typed stays


def test_deactivate_and_reactivate(world, client_for, app):
    teacher_client = client_for(world.teacher)
    admin = client_for(world.admin)
    response = admin.post(f"/admin/accounts/{world.teacher.id}/active", data={"active": "0"})
    assert response.status_code == 302
    db.session.refresh(world.teacher)
    assert not world.teacher.is_active_account
    assert teacher_client.get("/admin/").status_code == 302  # session ended
    assert login(app.test_client(), "tina").status_code == 200  # cannot log in
    admin.post(f"/admin/accounts/{world.teacher.id}/active", data={"active": "1"})
    assert login(app.test_client(), "tina").status_code == 302


def test_stubo_cannot_deactivate_admin_nor_anyone_themself(world, client_for):
    stubo = client_for(world.stubo)
    assert (
        stubo.post(f"/admin/accounts/{world.admin.id}/active", data={"active": "0"}).status_code
        == 403
    )
    assert (
        stubo.post(f"/admin/accounts/{world.stubo.id}/active", data={"active": "0"}).status_code
        == 403
    )
    db.session.refresh(world.admin)
    assert world.admin.is_active_account


def test_assign_and_remove_counsellor(world, client_for):
    client = client_for(world.stubo)
    url = f"/admin/pupils/{world.pupil_9b.id}/counsellors"
    assert client.post(url, data={"counsellor_id": world.counsellor.id}).status_code == 302
    assigned = sa.select(CounsellorAssignment.id).where(
        CounsellorAssignment.pupil_id == world.pupil_9b.id,
        CounsellorAssignment.counsellor_id == world.counsellor.id,
    )
    assert db.session.scalar(assigned)
    # A teacher is not a counsellor: refused.
    client.post(url, data={"counsellor_id": world.teacher.id})
    assert not db.session.scalar(
        sa.select(CounsellorAssignment.id).where(
            CounsellorAssignment.counsellor_id == world.teacher.id
        )
    )
    client.post(url, data={"remove": "1", "id": world.counsellor.id})
    assert not db.session.scalar(assigned)


def test_class_slips_reset_passwords_and_pdf(world, client_for, app):
    client = client_for(world.teacher)  # the class teacher of 9a
    url = f"/admin/classes/{world.class_9a.id}/slips"
    page = client.get(url).get_data(as_text=True)
    assert "Pupil, Paula" in page and "Classmate, Carl" in page and "Nine-B" not in page
    # Without the confirmation nothing happens.
    response = client.post(url, data={"pupils": [world.pupil.id], "letter_locale": "de"})
    assert response.status_code == 200 and "Please confirm" in response.get_data(as_text=True)
    assert world.pupil.check_password(PASSWORD)
    world.guardian.locale = "ar"
    db.session.commit()
    response = client.post(
        url,
        data={
            "pupils": [world.pupil.id, world.classmate.id],
            "letters": "y",
            "letter_locale": "pl",
            "confirm": "y",
        },
    )
    # Nothing changes until the job has run: the old password still works.
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id).check_password(PASSWORD)
    page, download = follow(client, response)
    assert "can be downloaded only once" in page
    pdf = client.get(download)
    assert pdf.status_code == 200
    text = pdf_text(pdf.data)
    assert "paula" in text and "carl" in text and "berta" not in text
    assert client.get(download).status_code == 410  # one time only
    db.session.expire_all()
    assert not db.session.get(User, world.pupil.id).check_password(PASSWORD)
    assert login(app.test_client(), "paula").status_code == 200
    locales = {c.pupil_id: c.locale for c in db.session.scalars(sa.select(GuardianCode))}
    assert locales == {world.pupil.id: "ar", world.classmate.id: "pl"}


def test_account_page_for_class_teacher_is_limited(world, client_for):
    client = client_for(world.teacher)
    page = client.get(f"/admin/accounts/{world.pupil.id}").get_data(as_text=True)
    assert "Link parent" in page and "Deactivate account" not in page
    assert client.get(f"/admin/accounts/{world.pupil_9b.id}").status_code == 404
    assert client.get(f"/admin/accounts/{world.stubo.id}").status_code == 404
