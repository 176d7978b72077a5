"""Anschlussvereinbarung: drafts, signatures, locking, versions, stale forms, access."""

import re

import pytest
import sqlalchemy as sa

from portfolio.agreement import services
from portfolio.extensions import db
from portfolio.models import Agreement, AgreementSignature, AuditEvent
from tests.support.queries import queries_of_page

EN = {"Accept-Language": "en"}

COMPLETE = {
    "decision": "dual",
    "dream_job": "Mechatronikerin",
    "strengths": "Genau arbeiten",
    "fields": ["elektro", "metall"],
    "next_step": "Bewerben bis Oktober",
    "steps-0-text": "Praktikum suchen",
    "steps-0-due_on": "2026-03-01",
    "steps-1-text": "",
    "steps-1-due_on": "",
    "contacts-0-name": "Frau Lorenz",
    "contacts-0-role": "Berufsberatung",
    "contacts-0-contact": "dienstags",
}


def edit(client, pupil_id, data, agreement=None):
    form = dict(data)
    form["agreement_id"] = str(agreement.id) if agreement else ""
    form["version"] = str(agreement.version) if agreement else ""
    return client.post(f"/agreement/pupil/{pupil_id}/edit", data=form, headers=EN)


def sign(client, pupil_id, agreement, version=None):
    return client.post(
        f"/agreement/pupil/{pupil_id}/sign",
        headers=EN,
        data={
            "agreement_id": agreement.id,
            "version": agreement.version if version is None else version,
            "confirm": "y",
        },
        follow_redirects=True,
    )


def latest(pupil_id) -> Agreement:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(Agreement).where(Agreement.pupil_id == pupil_id).order_by(Agreement.number.desc())
    )


def draft_for(world, data=COMPLETE):
    response = edit(world.client_for(world.pupil), world.pupil.id, data)
    assert response.status_code == 302
    return latest(world.pupil.id)


@pytest.fixture
def w(world, client_for):
    world.client_for = client_for
    return world


def test_pupil_starts_a_draft_with_all_fields(w):
    agreement = draft_for(w)
    assert (agreement.number, agreement.grade, agreement.decision) == (1, "9", "dual")
    assert agreement.data["dream_job"] == "Mechatronikerin"
    assert agreement.data["fields"] == ["elektro", "metall"]
    assert agreement.data["steps"] == [
        {"text": "Praktikum suchen", "due_on": "2026-03-01", "priority": 1}
    ]
    assert agreement.data["contacts"] == [
        {"name": "Frau Lorenz", "role": "Berufsberatung", "contact": "dienstags"}
    ]
    assert agreement.share_guardians is True and agreement.share_counsellor is False
    assert not agreement.is_locked
    page = w.client_for(w.pupil).get("/agreement/", headers=EN).get_data(as_text=True)
    assert "Draft: not signed by everyone yet" in page and "What do I want?" in page


def test_three_required_signatures_lock_the_version(w):
    agreement = draft_for(w)
    for user in (w.pupil, w.guardian):
        page = sign(w.client_for(user), w.pupil.id, latest(w.pupil.id)).get_data(as_text=True)
        assert "Thank you for signing version 1" in page
        assert not latest(w.pupil.id).is_locked
    page = sign(w.client_for(w.teacher), w.pupil.id, latest(w.pupil.id)).get_data(as_text=True)
    assert "the agreement is now locked" in page
    agreement = latest(w.pupil.id)
    assert agreement.is_locked
    signatures = {s.role: (s.user_id, s.name) for s in agreement.signatures}
    assert signatures == {
        "pupil": (w.pupil.id, "Paula Pupil"),
        "guardian": (w.guardian.id, "Gabi Guardian"),
        "teacher": (w.teacher.id, "Tina Teacher"),
    }
    page = w.client_for(w.pupil).get("/agreement/", headers=EN).get_data(as_text=True)
    assert "Signed and locked on" in page and "Gabi Guardian" in page
    assert "Update: make version 2" in page


def test_locked_version_is_read_only_and_a_change_makes_version_2(w):
    agreement = draft_for(w)
    for user in (w.pupil, w.guardian, w.teacher):
        sign(w.client_for(user), w.pupil.id, latest(w.pupil.id))
    locked = latest(w.pupil.id)
    # Signing a locked version is refused (the optional counsellor too).
    with pytest.raises(services.AgreementError) as refused:
        services.sign(locked.id, w.counsellor, "counsellor", expected_version=locked.version)
    assert refused.value.message is services.MSG_LOCKED
    assert db.session.scalar(sa.select(sa.func.count(AgreementSignature.id))) == 3

    teacher = w.client_for(w.teacher)
    changed = {**COMPLETE, "decision": "berufskolleg", "next_step": "Anmeldung am Berufskolleg"}
    assert edit(teacher, w.pupil.id, changed, locked).status_code == 302
    first, second = db.session.scalars(sa.select(Agreement).order_by(Agreement.number)).all()
    assert first.id == agreement.id and first.is_locked and first.decision == "dual"
    assert first.data["next_step"] == "Bewerben bis Oktober"
    assert (second.number, second.decision, second.signatures, second.locked_at) == (
        2,
        "berufskolleg",
        [],
        None,
    )
    assert second.data["contacts"] == first.data["contacts"]  # the rest is carried over
    page = w.client_for(w.pupil).get("/agreement/", headers=EN).get_data(as_text=True)
    assert "All versions" in page and "Version 2" in page
    old = w.client_for(w.pupil).get(f"/agreement/pupil/{w.pupil.id}/version/1", headers=EN)
    assert "You are looking at an earlier version" in old.get_data(as_text=True)


def test_new_version_takes_the_current_grade(w):
    draft_for(w)
    db.session.execute(sa.update(Agreement).values(locked_at=sa.func.current_timestamp()))
    db.session.commit()
    from portfolio import accounts

    accounts.put_in_class(w.pupil, accounts.get_or_create_class(w.school, "10a"))
    db.session.commit()
    agreement = latest(w.pupil.id)
    edit(w.client_for(w.pupil), w.pupil.id, {**COMPLETE, "dream_job": "Elektronikerin"}, agreement)
    assert (latest(w.pupil.id).number, latest(w.pupil.id).grade) == (2, "10")


def test_saving_unchanged_content_makes_no_new_version(w):
    draft_for(w)
    db.session.execute(sa.update(Agreement).values(locked_at=sa.func.current_timestamp()))
    db.session.commit()
    agreement = latest(w.pupil.id)
    edit(w.client_for(w.pupil), w.pupil.id, COMPLETE, agreement)
    assert db.session.scalar(sa.select(sa.func.count(Agreement.id))) == 1


def test_changing_a_partly_signed_draft_removes_its_signatures(w):
    draft_for(w)
    sign(w.client_for(w.pupil), w.pupil.id, latest(w.pupil.id))
    assert len(latest(w.pupil.id).signatures) == 1
    teacher = w.client_for(w.teacher)
    response = edit(teacher, w.pupil.id, {**COMPLETE, "next_step": "Anders"}, latest(w.pupil.id))
    assert response.status_code == 302
    agreement = latest(w.pupil.id)
    assert agreement.number == 1 and agreement.signatures == []
    assert agreement.data["next_step"] == "Anders"


def test_stale_signature_is_refused(w):
    agreement = draft_for(w)
    loaded_version = agreement.version
    # The teacher changes the draft after the guardian opened the page.
    edit(w.client_for(w.teacher), w.pupil.id, {**COMPLETE, "next_step": "Neu"}, agreement)
    assert latest(w.pupil.id).version != loaded_version
    page = sign(w.client_for(w.guardian), w.pupil.id, latest(w.pupil.id), version=loaded_version)
    assert "has been changed since you opened it" in page.get_data(as_text=True)
    assert latest(w.pupil.id).signatures == []


def test_stale_edit_keeps_the_input_and_saves_nothing(w):
    agreement = draft_for(w)
    stale = (agreement.id, agreement.version)
    edit(w.client_for(w.teacher), w.pupil.id, {**COMPLETE, "next_step": "Lehrerin"}, agreement)
    form = {**COMPLETE, "next_step": "Schülerin", "agreement_id": stale[0], "version": stale[1]}
    response = w.client_for(w.pupil).post(
        f"/agreement/pupil/{w.pupil.id}/edit", data=form, headers=EN
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Someone else changed the agreement while you were editing" in page
    assert "Schülerin" in page
    assert latest(w.pupil.id).data["next_step"] == "Lehrerin"
    # The form now names the current version: saving again is a knowing replacement.
    current = latest(w.pupil.id)
    assert re.search(rf'name="version"[^>]*value="{current.version}"', page) or re.search(
        rf'value="{current.version}"[^>]*name="version"', page
    )


def test_incomplete_draft_cannot_be_signed(w):
    draft_for(w, {**COMPLETE, "decision": "", "next_step": ""})
    agreement = latest(w.pupil.id)
    page = w.client_for(w.pupil).get("/agreement/", headers=EN).get_data(as_text=True)
    assert "Before it can be signed, please fill in" in page
    response = sign(w.client_for(w.pupil), w.pupil.id, agreement)
    assert "Please fill in" in response.get_data(as_text=True)
    assert latest(w.pupil.id).signatures == []
    with pytest.raises(services.AgreementError):
        services.sign(agreement.id, w.pupil, "pupil", expected_version=agreement.version)


def test_signing_needs_the_confirmation_box(w):
    agreement = draft_for(w)
    response = w.client_for(w.pupil).post(
        f"/agreement/pupil/{w.pupil.id}/sign",
        headers=EN,
        data={"agreement_id": agreement.id, "version": agreement.version},
    )
    assert "Please tick the box" in response.get_data(as_text=True)
    assert latest(w.pupil.id).signatures == []


def test_nobody_signs_twice_in_the_same_role(w):
    agreement = draft_for(w)
    sign(w.client_for(w.pupil), w.pupil.id, agreement)
    with pytest.raises(services.AgreementError):
        services.sign(agreement.id, w.pupil, "pupil", expected_version=latest(w.pupil.id).version)
    assert len(latest(w.pupil.id).signatures) == 1


def test_guardian_sees_only_when_shared_and_cannot_edit(w):
    agreement = draft_for(w)
    guardian = w.client_for(w.guardian)
    assert "Mechatronikerin" in guardian.get(f"/agreement/pupil/{w.pupil.id}").get_data(
        as_text=True
    )
    w.client_for(w.pupil).post("/agreement/sharing", data={})  # share with nobody
    page = guardian.get(f"/agreement/pupil/{w.pupil.id}", headers=EN).get_data(as_text=True)
    assert "Mechatronikerin" not in page and "has not shared" in page
    response = guardian.post(
        f"/agreement/pupil/{w.pupil.id}/sign",
        data={"agreement_id": agreement.id, "version": latest(w.pupil.id).version, "confirm": "y"},
    )
    assert response.status_code == 403  # sees the pupil, but not this agreement any more
    assert latest(w.pupil.id).signatures == []


def test_counsellor_sees_and_signs_only_when_shared(w):
    agreement = draft_for(w)
    counsellor = w.client_for(w.counsellor)
    page = counsellor.get(f"/agreement/pupil/{w.pupil.id}", headers=EN).get_data(as_text=True)
    assert "Mechatronikerin" not in page
    w.client_for(w.pupil).post(
        "/agreement/sharing", data={"share_guardians": "y", "share_counsellor": "y"}
    )
    page = sign(counsellor, w.pupil.id, latest(w.pupil.id)).get_data(as_text=True)
    assert "Thank you for signing" in page
    assert [s.role for s in latest(w.pupil.id).signatures] == ["counsellor"]
    assert counsellor.get(f"/agreement/pupil/{w.pupil.id}/edit").status_code == 403
    del agreement


def test_staff_and_guardian_views_are_audited(w):
    draft_for(w)
    w.client_for(w.pupil).get("/agreement/")
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    w.client_for(w.teacher).get(f"/agreement/pupil/{w.pupil.id}")
    w.client_for(w.guardian).get(f"/agreement/pupil/{w.pupil.id}")
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.action, e.object_type) for e in events] == [
        (w.teacher.id, "view", "agreement"),
        (w.guardian.id, "view", "agreement"),
    ]


def test_staff_opening_the_edit_form_is_a_view(w):
    """Issue 16, 10: the edit form shows the agreement; staff opening it is recorded.
    The pupil's own edits, the teacher's save and a refused page are not views."""
    agreement = draft_for(w)
    assert w.client_for(w.pupil).get(f"/agreement/pupil/{w.pupil.id}/edit").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    teacher = w.client_for(w.teacher)
    assert teacher.get(f"/agreement/pupil/{w.pupil.id}/edit").status_code == 200
    assert w.client_for(w.guardian).get(f"/agreement/pupil/{w.pupil.id}/edit").status_code == 403
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert [(e.actor_id, e.action, e.object_id, e.details) for e in events] == [
        (w.teacher.id, "view", agreement.id, {"number": 1, "page": "edit"})
    ]
    assert (
        edit(teacher, w.pupil.id, dict(COMPLETE, dream_job="Tischlerin"), agreement).status_code
        == 302
    )
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 1


def test_teacher_starts_the_agreement_for_a_pupil(w):
    teacher = w.client_for(w.teacher)
    page = teacher.get(f"/agreement/pupil/{w.pupil.id}", headers=EN).get_data(as_text=True)
    assert "Start the agreement" in page
    assert edit(teacher, w.pupil.id, COMPLETE).status_code == 302
    assert latest(w.pupil.id).number == 1


def test_bad_date_is_shown_at_the_field_and_input_kept(w):
    response = edit(w.client_for(w.pupil), w.pupil.id, {**COMPLETE, "steps-0-due_on": "31.02.2026"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="steps-0-due_on-error"' in page
    assert "Mechatronikerin" in page
    assert latest(w.pupil.id) is None


def test_date_without_step_text_is_refused(w):
    response = edit(w.client_for(w.pupil), w.pupil.id, {**COMPLETE, "steps-1-due_on": "2026-05-01"})
    assert "Please describe the step, or remove the date." in response.get_data(as_text=True)


def test_overview_issues_a_fixed_number_of_queries(w):
    agreement = draft_for(w)
    for user in (w.pupil, w.guardian, w.teacher):
        sign(w.client_for(user), w.pupil.id, latest(w.pupil.id))
    teacher = w.client_for(w.teacher)

    def count():
        return queries_of_page(teacher, f"/agreement/pupil/{w.pupil.id}")

    few = count()
    for n in range(2, 6):
        current = latest(w.pupil.id)
        edit(teacher, w.pupil.id, {**COMPLETE, "next_step": f"Schritt {n}"}, current)
        db.session.execute(sa.update(Agreement).values(locked_at=sa.func.current_timestamp()))
        db.session.commit()
    assert latest(w.pupil.id).number == 5
    assert count() == few
    del agreement
