"""Issue 16, 3: every staff action on a pupil's account is recorded, shown to the pupil and
the guardians in "who looked" (as account events) and told to the pupil in the news; a
password set by staff only opens the page for choosing an own one."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import AuditEvent, GuardianLink, Notification, User
from portfolio.privacy import audit
from tests.support.jobs import follow
from tests.support.queries import queries_of_page
from tests.support.world import PASSWORD, login

EN = {"Accept-Language": "en"}
OWN = "Mein-Fahrrad-ist-blau-77"


def _events(pupil_id, *actions):
    stmt = sa.select(AuditEvent).where(AuditEvent.pupil_id == pupil_id).order_by(AuditEvent.id)
    if actions:
        stmt = stmt.where(AuditEvent.action.in_(actions))
    return list(db.session.scalars(stmt))


def _news(user_id):
    return [
        n.kind
        for n in db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    ]


def _who_looked(client, pupil_id) -> str:
    page = client.get(f"/privacy/{pupil_id}/who-looked", headers=EN)
    assert page.status_code == 200
    return re.sub(r"\s+", " ", page.get_data(as_text=True))


def _reset(client, pupil_id) -> str:
    page = client.post(f"/pupils/{pupil_id}/reset-password", headers=EN).get_data(as_text=True)
    return re.search(r'<span class="bwp-secret">([A-Za-z]+-[A-Za-z]+-\d{4})</span>', page).group(1)


def _choose(client, current, new=OWN):
    return client.post(
        "/password", data={"current_password": current, "new_password": new, "confirm": new}
    )


# -- the reported takeover -------------------------------------------------------------------
def test_a_teachers_reset_and_login_as_the_pupil_leave_a_trace_the_pupil_sees(
    app, client_for, world
):
    """The reproduction of issue 16, 3: reset, log in as the pupil, read. Now every step
    shows, to the pupil and her parents, and the reset password alone opens nothing."""
    pupil_browser = client_for(world.pupil)
    teacher = client_for(world.teacher)
    temporary = _reset(teacher, world.pupil.id)

    # The reset ended every session of the pupil.
    assert pupil_browser.get("/portfolio/").headers["Location"].startswith("/login")
    [event] = _events(world.pupil.id, "password_reset")
    assert (event.actor_id, event.actor_role) == (world.teacher.id, "teacher")
    assert _news(world.pupil.id) == ["account_password_reset"]

    # Logged in with it, every page of the portfolio leads to choosing a new password.
    intruder = app.test_client()
    assert login(intruder, "paula", temporary).headers["Location"].endswith("/password")
    for url in (
        "/portfolio/",
        "/portfolio/timeline",
        "/documents/",
        "/export/mine/portfolio.pdf",
        f"/privacy/{world.pupil.id}/take-away.zip",
        f"/privacy/{world.pupil.id}/who-looked",
        "/news/",
        f"/guidance/pupil/{world.pupil.id}",
    ):
        assert intruder.get(url).headers["Location"].endswith("/password"), url
    change_page = intruder.get("/password", headers=EN).get_data(as_text=True)
    assert "Tina Teacher gave you this password on" in change_page

    # Using it to choose a password is recorded even though "the pupil" did it.
    assert _choose(intruder, temporary).status_code == 302
    assert [e.action for e in _events(world.pupil.id)] == ["password_reset", "password_chosen"]

    # The pupil (after a new reset, her password no longer works) and her parents see both.
    for viewer in (world.guardian,):
        page = _who_looked(client_for(viewer), world.pupil.id)
        assert "Changes to the account" in page
        said = '<span class="bwp-muted">(teacher)</span> reset the password'
        assert f"Tina Teacher</bdi></strong> {said}" in page
        assert "The password from the school was used to choose a new password." in page
    assert login(app.test_client(), "paula", temporary).status_code == 200  # used up
    second = _reset(client_for(world.stubo), world.pupil.id)
    pupil_again = app.test_client()
    login(pupil_again, "paula", second)
    _choose(pupil_again, second, "Ein-anderes-Passwort-88")
    page = _who_looked(pupil_again, world.pupil.id)
    assert page.count("The password from the school was used to choose a new password.") == 2
    assert "Stefan Stubo" in page and "Tina Teacher" in page
    news = pupil_again.get("/news/", headers=EN).get_data(as_text=True)
    assert "Tina Teacher gave you a new password." in news
    assert f'href="/privacy/{world.pupil.id}/who-looked#account"' in news


def test_once_the_pupil_chose_her_own_password_the_reset_password_is_useless(
    app, client_for, world
):
    temporary = _reset(client_for(world.teacher), world.pupil.id)
    # The teacher opens a session with it and waits at the change page...
    teacher_as_pupil = app.test_client()
    login(teacher_as_pupil, "paula", temporary)
    assert teacher_as_pupil.get("/password").status_code == 200
    # ...the pupil logs in with it in class and chooses her own password.
    pupil = app.test_client()
    login(pupil, "paula", temporary)
    assert _choose(pupil, temporary).status_code == 302
    assert pupil.get("/portfolio/").status_code == 200
    # The teacher's session has ended and the reset password no longer logs in.
    assert teacher_as_pupil.get("/password").headers["Location"].startswith("/login")
    assert login(app.test_client(), "paula", temporary).status_code == 200
    assert login(app.test_client(), "paula", OWN).status_code == 302


def test_the_ordinary_first_password_change_is_listed_without_blame(app, client_for, world):
    """A pupil's very first own password (initial password from the roster import) is
    listed too: the school knew that password as well. No news about one's own act."""
    world.pupil.must_change_password = True
    db.session.commit()
    client = app.test_client()
    login(client, "paula", PASSWORD)
    assert "gave you this password" not in client.get("/password", headers=EN).get_data(
        as_text=True
    )
    _choose(client, PASSWORD)
    [event] = _events(world.pupil.id)
    assert event.action == "password_chosen" and event.actor_id == world.pupil.id
    assert _news(world.pupil.id) == []
    # Staff changing their own passwords are no pupil's account events.
    staff = client_for(world.teacher)
    world.teacher.must_change_password = True
    db.session.commit()
    _choose(staff, PASSWORD, "Ein-Lehrerpasswort-2026")
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1


def test_login_slips_record_an_event_per_pupil(client_for, world):
    pupil_browser = client_for(world.classmate)
    client = client_for(world.teacher)
    response = client.post(
        f"/admin/classes/{world.class_9a.id}/slips",
        data={
            "pupils": [world.pupil.id, world.classmate.id],
            "letter_locale": "de",
            "confirm": "y",
        },
    )
    # The slips are made by a job: nothing is recorded before it has run.
    assert _events(world.pupil.id) == []
    follow(client, response)
    db.session.expire_all()
    for pupil in (world.pupil, world.classmate):
        [event] = _events(pupil.id)
        assert (event.action, event.actor_id) == ("login_slip", world.teacher.id)
        assert _news(pupil.id) == ["account_login_slip"]
    assert pupil_browser.get("/portfolio/").headers["Location"].startswith("/login")
    page = _who_looked(client_for(world.guardian), world.pupil.id)
    assert "printed a login slip with a new password" in page


# -- the other account changes ---------------------------------------------------------------
def _link(c, w):
    return c(w.admin).post(f"/admin/pupils/{w.pupil.id}/guardians", data={"username": "hans"})


def _unlink(c, w):
    return c(w.teacher).post(
        f"/admin/pupils/{w.pupil.id}/guardians/remove", data={"id": str(w.guardian.id)}
    )


def _assign(c, w):
    return c(w.stubo).post(
        f"/admin/pupils/{w.pupil.id}/counsellors",
        data={"counsellor_id": w.counsellor_unassigned.id},
    )


def _unassign(c, w):
    return c(w.stubo).post(
        f"/admin/pupils/{w.pupil.id}/counsellors", data={"remove": "1", "id": w.counsellor.id}
    )


def _deactivate(c, w):
    return c(w.admin).post(f"/admin/accounts/{w.pupil.id}/active", data={"active": "0"})


def _mark_left(c, w):
    return c(w.admin).post(
        f"/admin/leaving/{w.pupil.id}",
        data={"left_on": clock.today().isoformat(), "confirm": "y"},
    )


@pytest.mark.parametrize(
    "act, action, actor, text",
    [
        (_link, "guardian_linked", "admin", "linked the parent account of Hans Guardian"),
        (
            _unlink,
            "guardian_unlinked",
            "teacher",
            "removed the link to the parent account of Gabi Guardian",
        ),
        (_assign, "counsellor_assigned", "stubo", "assigned the career counsellor Uwe"),
        (_unassign, "counsellor_unassigned", "stubo", "removed the career counsellor Conny"),
        (_deactivate, "deactivated", "admin", "deactivated the account"),
        (_mark_left, "mark_left", "admin", "recorded that you have left school"),
    ],
)
def test_each_account_change_is_recorded_listed_and_told(
    client_for, world, act, action, actor, text
):
    assert act(client_for, world).status_code == 302
    [event] = _events(world.pupil.id)
    assert (event.action, event.actor_id) == (action, getattr(world, actor).id)
    assert _news(world.pupil.id) == [f"account_{action}"]
    if action != "deactivated":
        assert text in _who_looked(client_for(world.pupil), world.pupil.id)
    # Doing the same again changes nothing and records nothing.
    act(client_for, world)
    assert len(_events(world.pupil.id)) == 1


def test_reactivation_and_taking_back_the_leaving_are_recorded(client_for, world):
    _deactivate(client_for, world)
    client_for(world.admin).post(f"/admin/accounts/{world.pupil.id}/active", data={"active": "1"})
    _mark_left(client_for, world)
    client_for(world.admin).post(f"/admin/leaving/{world.pupil.id}/undo", data={})
    assert [e.action for e in _events(world.pupil.id)] == [
        "deactivated",
        "reactivated",
        "mark_left",
        "undo_left",
    ]
    page = _who_looked(client_for(world.pupil), world.pupil.id)
    assert "activated the account again" in page and "took back that you have left school" in page
    news = client_for(world.pupil).get("/news/", headers=EN).get_data(as_text=True)
    assert "Anna Admin deactivated your account." in news
    assert "Anna Admin activated your account again." in news


def test_a_staff_account_change_goes_to_the_schools_log_only(client_for, world):
    _ = client_for(world.admin).post(
        f"/admin/accounts/{world.teacher.id}/active", data={"active": "0"}
    )
    [event] = list(db.session.scalars(sa.select(AuditEvent)))
    assert (event.action, event.pupil_id, event.object_id) == (
        "deactivated",
        None,
        world.teacher.id,
    )
    assert _news(world.teacher.id) == []


def test_a_parent_registering_with_the_letters_code_is_listed(app, world):
    from portfolio.guardian import registration

    code = registration.issue_code(world.classmate)
    db.session.commit()
    guardian = registration.register_guardian(
        code,
        first_name="Rita",
        last_name="Registered",
        username="rita",
        password="Ein-Elternpasswort-2026",
        locale="de",
    )
    [event] = _events(world.classmate.id)
    assert (event.action, event.actor_id) == ("guardian_registered", guardian.id)
    assert _news(world.classmate.id) == ["account_guardian_registered"]
    assert db.session.scalar(
        sa.select(GuardianLink.id).where(GuardianLink.guardian_id == guardian.id)
    )


def test_account_events_are_apart_from_views_and_the_page_has_a_fixed_number_of_queries(
    client_for, world
):
    client = client_for(world.pupil)

    def count() -> int:
        return queries_of_page(client, f"/privacy/{world.pupil.id}/who-looked")

    audit.account_event(world.teacher, world.pupil, "password_reset")
    audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=world.pupil)
    db.session.commit()
    few = count()
    for _ in range(30):
        audit.account_event(world.teacher, world.pupil, "password_reset")
        audit.account_event(world.admin, world.pupil, "guardian_linked", other=world.guardian)
        audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=world.pupil)
    db.session.commit()
    assert count() == few
    page = _who_looked(client, world.pupil.id)
    account, views = page.split('id="views"')
    assert account.count("reset the password") == 31 and "looked at your portfolio" not in account
    assert views.count("looked at your portfolio overview") == 31
    assert "reset the password" not in views


def test_unknown_account_actions_are_refused(world):
    with pytest.raises(ValueError):
        audit.account_event(world.teacher, world.pupil, "view")


def test_the_admin_filters_the_log_by_account_actions(client_for, world):
    _reset(client_for(world.teacher), world.pupil.id)
    audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=world.pupil)
    db.session.commit()
    page = client_for(world.admin).get("/admin/audit?action=password_reset", headers=EN)
    text = page.get_data(as_text=True)
    assert "password reset" in text and "1 entry" in text
    assert db.session.get(User, world.pupil.id).must_change_password
