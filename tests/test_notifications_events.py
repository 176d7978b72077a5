"""Notifications both ways, through the pages: who hears about what, what the notice says
and where it leads, each person once."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import AssessmentRequest, Entry, Notification
from portfolio.notifications import messages, services
from portfolio.pupil import assessments
from tests.support.queries import count_queries

pytestmark = pytest.mark.usefixtures("english_users", "english_locale")

COMPLETE_AGREEMENT = {
    "decision": "dual",
    "dream_job": "Tierpflegerin im Zoo Wuppertal",
    "next_step": "Bewerbung beim Zoo schreiben",
    "agreement_id": "",
    "version": "",
}


@pytest.fixture
def entry(world):
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="praktikum",
        data={"company": "Bäckerei Schäfer"},
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def news(client) -> list[tuple[str, str | None]]:
    """(text, link) of every notice on the News page."""
    html = client.get("/news/").get_data(as_text=True)
    items = re.findall(r'<li class="bwp-news__item[^"]*">(.*?)</li>', html, re.S)
    found = []
    for item in items:
        link = re.search(r'<a class="kern-link bwp-touch-inline" href="([^"]+)">(.*?)</a>', item)
        if link:
            found.append((link.group(2).strip(), link.group(1)))
        else:
            text = re.search(r'<p class="kern-body">\s*(.*?)\s*</p>', item, re.S)
            found.append((text.group(1).strip(), None))
    return found


def notices(user) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


# -- the teacher hears of hand-ins and shared entries -------------------------------------------
def test_a_hand_in_shows_up_in_the_class_teachers_news(world, entry, client_for):
    pupil = client_for(world.pupil)
    response = pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"})
    assert response.status_code == 303

    teacher = client_for(world.teacher)
    # The navigation counts it before the teacher opens the News page.
    assert "(1 unread)" in teacher.get("/review/classes").get_data(as_text=True)
    [(text, link)] = news(teacher)
    assert text == "Paula Pupil asked for feedback on “Work placement: Bäckerei Schäfer”."
    assert link == f"/review/pupils/{world.pupil.id}#entry-{entry.id}"
    page = teacher.get(link.split("#")[0]).get_data(as_text=True)
    assert f'id="entry-{entry.id}"' in page and "Bäckerei Schäfer" in page

    # Only the class teacher of 9a, whom she asked: not the teacher of 9b, not another
    # school's teacher, not the StuBO (not asked) and not the pupil who asked.
    for other in (world.teacher_9b, world.other_teacher, world.stubo, world.pupil):
        assert notices(other) == []


def test_handing_in_a_private_entry_is_one_notice_not_two(world, entry, client_for):
    """Asking for feedback shares with whom was asked in the same action: one notice."""
    client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"}
    )
    assert [n.kind for n in notices(world.teacher)] == ["feedback_requested"]


def test_a_hand_in_replaces_the_unread_shared_notice(world, entry, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_class_teacher": "y"})
    [shared] = notices(world.teacher)
    assert shared.kind == "entry_shared"
    assert services.message(shared) == (
        "Paula Pupil shared “Work placement: Bäckerei Schäfer” with you."
    )
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"})
    assert [n.kind for n in notices(world.teacher)] == ["feedback_requested"]
    # Sharing again what is shared already tells nobody anything new.
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_class_teacher": "y"})
    assert [n.kind for n in notices(world.teacher)] == ["feedback_requested"]


def test_sharing_tells_each_audience_once_and_only_those_who_may_read(world, entry, client_for):
    client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/sharing",
        data={"share_class_teacher": "y", "share_counsellor": "y", "share_guardians": "y"},
    )
    assert [n.kind for n in notices(world.teacher)] == ["entry_shared"]
    assert [n.kind for n in notices(world.guardian)] == ["entry_shared"]
    assert [n.kind for n in notices(world.counsellor)] == ["entry_shared"]
    # Carl's guardian, counsellors of other pupils and the StuBO (not chosen) hear nothing.
    for other in (
        world.other_guardian,
        world.counsellor_no_consent,
        world.counsellor_unassigned,
        world.stubo,
    ):
        assert notices(other) == []


def test_sharing_with_the_stubo_tells_the_stubo_not_the_class_teacher(world, entry, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_stubo": "y"})
    [shared] = notices(world.stubo)
    assert shared.kind == "entry_shared"
    assert notices(world.teacher) == []
    # Asking the StuBO for feedback reaches the StuBO, and still not the class teacher.
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "stubo"})
    assert [n.kind for n in notices(world.stubo)] == ["feedback_requested"]
    assert notices(world.teacher) == []


def test_counsellor_without_consent_is_not_told_about_content(world, client_for):
    entry = Entry(
        school_id=world.school.id, pupil_id=world.classmate.id, kind="reflection", data={}
    )
    db.session.add(entry)
    db.session.commit()
    client_for(world.classmate).post(
        f"/portfolio/entry/{entry.id}/sharing", data={"share_counsellor": "y"}
    )
    assert notices(world.counsellor_no_consent) == []


def test_an_inactive_teacher_is_not_told(world, entry, client_for):
    world.teacher.is_active_account = False
    db.session.commit()
    client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"}
    )
    assert notices(world.teacher) == []


# -- the family hears of what the child shares and what waits for a signature -----------------
def test_the_guardian_follows_a_shared_entry_to_the_family_page(world, entry, client_for):
    client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/sharing", data={"share_guardians": "y"}
    )
    guardian = client_for(world.guardian)
    [(text, link)] = news(guardian)
    assert text == "Paula Pupil shared “Work placement: Bäckerei Schäfer” with you."
    assert link == f"/family/child/{world.pupil.id}#entry-{entry.id}"
    page = guardian.get(link.split("#")[0]).get_data(as_text=True)
    assert f'id="entry-{entry.id}"' in page


def test_a_shared_document_reaches_the_family(world, client_for):
    import io

    from tests.support.documents import upload
    from tests.support.files import blank_pdf

    pupil = client_for(world.pupil)
    response = upload(
        pupil,
        file=(io.BytesIO(blank_pdf()), "zeugnis.pdf"),
        title="Praktikumszeugnis",
        share_guardians="y",
    )
    assert response.status_code == 302
    guardian = client_for(world.guardian)
    [(text, link)] = news(guardian)
    assert text == "Paula Pupil shared the document “Praktikumszeugnis” with you."
    assert link == f"/family/child/{world.pupil.id}#shared"
    assert "Praktikumszeugnis" in guardian.get(link.split("#")[0]).get_data(as_text=True)


def test_agreement_waiting_for_signature_reaches_guardian_and_teacher(world, client_for):
    pupil = client_for(world.pupil)
    # An incomplete draft cannot be signed yet: the others hear that it changed.
    draft = dict(COMPLETE_AGREEMENT, next_step="")
    assert pupil.post(f"/agreement/pupil/{world.pupil.id}/edit", data=draft).status_code == 302
    assert [n.kind for n in notices(world.guardian)] == ["agreement_changed"]
    guardian = client_for(world.guardian)
    assert news(guardian) == [
        (
            "Transition agreement of Paula: changed by Paula Pupil.",
            f"/agreement/pupil/{world.pupil.id}",
        )
    ]
    # Complete now: the signature is due, and that notice replaces the unread one ...
    agreement_id, version = _agreement(world)
    pupil.post(
        f"/agreement/pupil/{world.pupil.id}/edit",
        data=dict(COMPLETE_AGREEMENT, agreement_id=agreement_id, version=version),
    )
    assert [n.kind for n in notices(world.guardian)] == ["agreement_changed", "agreement_to_sign"]
    text, link = news(guardian)[0]
    assert text == "The transition agreement of Paula is waiting for your signature."
    page = guardian.get(link).get_data(as_text=True)
    assert "I have read this version and agree to it." in page  # the signing form
    # ... the class teacher signs for the school, and is told by full name.
    assert [n.kind for n in notices(world.teacher)][-1] == "agreement_to_sign"
    assert news(client_for(world.teacher))[0][0] == (
        "The transition agreement of Paula Pupil is waiting for your signature."
    )


def test_signatures_and_the_final_agreement(world, client_for):
    pupil = client_for(world.pupil)
    pupil.post(f"/agreement/pupil/{world.pupil.id}/edit", data=COMPLETE_AGREEMENT)
    for user in (world.pupil, world.guardian):
        agreement_id, version = _agreement(world)
        client_for(user).post(
            f"/agreement/pupil/{world.pupil.id}/sign",
            data={"agreement_id": agreement_id, "version": version, "confirm": "y"},
        )
    assert notices(world.pupil)[-1].kind == "own_agreement_signed"
    assert services.message(notices(world.pupil)[-1]) == (
        "Gabi Guardian signed your transition agreement."
    )
    agreement_id, version = _agreement(world)
    client_for(world.teacher).post(
        f"/agreement/pupil/{world.pupil.id}/sign",
        data={"agreement_id": agreement_id, "version": version, "confirm": "y"},
    )
    # Locked: everyone hears it is final, once, and the "sign it" notice is gone.
    assert [n.kind for n in notices(world.guardian) if n.read_at is None] == ["agreement_complete"]
    assert "own_agreement_complete" in [n.kind for n in notices(world.pupil)]
    # The last signer is not told about their own act, and their "please sign" is done.
    assert [(n.kind, n.read_at is not None) for n in notices(world.teacher)] == [
        ("agreement_to_sign", True)
    ]


def test_the_pupil_showing_the_agreement_to_the_parents_asks_them_to_sign(world, client_for):
    pupil = client_for(world.pupil)
    draft = dict(COMPLETE_AGREEMENT, next_step="")
    pupil.post(f"/agreement/pupil/{world.pupil.id}/edit", data=draft)
    pupil.post("/agreement/sharing", data={})  # shown to nobody
    services.mark_read(world.guardian)
    db.session.commit()
    agreement_id, version = _agreement(world)
    pupil.post(
        f"/agreement/pupil/{world.pupil.id}/edit",
        data=dict(COMPLETE_AGREEMENT, agreement_id=agreement_id, version=version),
    )
    assert services.unread_count(world.guardian) == 0  # not shown to the parents: no news
    pupil.post("/agreement/sharing", data={"share_guardians": "y"})
    assert [n.kind for n in notices(world.guardian) if n.read_at is None] == ["agreement_to_sign"]


def _agreement(world) -> tuple[str, str]:
    from portfolio.models import Agreement

    db.session.expire_all()
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.pupil_id == world.pupil.id))
    return str(agreement.id), str(agreement.version)


# -- the pupil hears when an assessment comes back and when a teacher comments ------------------
def test_an_answered_assessment_leads_the_pupil_to_decide(world, client, client_for):
    request_, token = assessments.create_request(world.pupil, "Oma Inge", "other")
    db.session.commit()  # services flush; here the test is the caller that commits
    response = client.post(f"/portfolio/rate/{token}", data={"comment": "Du bist sehr geduldig."})
    assert response.status_code == 200
    pupil = client_for(world.pupil)
    [(text, link)] = news(pupil)
    assert text == (
        "An assessment you asked for has come back. You decide whether it goes into your portfolio."
    )
    assert link == "/portfolio/assessments"
    assert "Oma Inge" in pupil.get(link).get_data(as_text=True)
    assert db.session.get(AssessmentRequest, request_.id).answered_at is not None


def test_a_teachers_comment_reaches_the_pupil_on_the_entry(world, entry, client_for):
    entry.share_class_teacher = True
    db.session.commit()
    client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "comment", f"e{entry.id}-body": "Schön beschrieben!"},
    )
    [(text, link)] = news(client_for(world.pupil))
    assert text == "Tina Teacher commented on “Work placement: Bäckerei Schäfer”."
    assert link == f"/portfolio/entry/{entry.id}"


# -- the counsellor hears when consent is given or withdrawn ------------------------------------
def test_consent_given_and_withdrawn_reaches_the_assigned_counsellor(world, client_for, app):
    guardian = client_for(world.other_guardian)  # Carl's guardian; Carl is under 14
    url = f"/privacy/{world.classmate.id}/consents"
    guardian.post(url, data={"purpose": "counsellor_access", "action": "give"})
    counsellor = client_for(world.counsellor_no_consent)
    [(text, link)] = news(counsellor)
    assert text == (
        "Consent given: you may now read what Carl Classmate shares with the Berufsberatung."
    )
    assert link == f"/review/pupils/{world.classmate.id}"
    assert counsellor.get(link).status_code == 200

    guardian.post(url, data={"purpose": "counsellor_access", "action": "withdraw"})
    [note] = [n for n in notices(world.counsellor_no_consent) if n.read_at is None]
    assert note.kind == "counsellor_access_withdrawn"
    with app.test_request_context():
        assert services.target_url(world.counsellor_no_consent, note) == "/review/caseload"
    # The unassigned counsellor hears nothing about a pupil who is not theirs.
    assert notices(world.counsellor_unassigned) == []


# -- the News page -----------------------------------------------------------------------------
def test_opening_the_pupil_page_reads_entry_news_but_not_a_waiting_signature(world, client_for):
    pupil = client_for(world.pupil)
    entry = Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="reflection", data={})
    db.session.add(entry)
    db.session.commit()
    pupil.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"})
    pupil.post(f"/agreement/pupil/{world.pupil.id}/edit", data=COMPLETE_AGREEMENT)
    client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}")
    unread = [n.kind for n in notices(world.teacher) if n.read_at is None]
    assert unread == ["agreement_to_sign"]


def test_news_page_queries_do_not_grow_with_the_notices(world, entry, client_for):
    client = client_for(world.teacher)

    def statements() -> int:
        with count_queries() as found:
            assert client.get("/news/").status_code == 200
        return len(found)

    services.notify_all([world.teacher], "feedback_requested", actor=world.pupil, entry=entry)
    db.session.commit()
    few = statements()
    for n in range(20):
        other = Entry(
            school_id=world.school.id, pupil_id=world.classmate.id, kind="reflection", data={}
        )
        db.session.add(other)
        db.session.flush()
        kind = "document_shared_teachers" if n % 2 else "entry_shared_teachers"
        services.notify_all([world.teacher], kind, actor=world.classmate, entry=other)
    db.session.commit()
    assert statements() == few


def test_every_kind_has_words_and_a_page_for_its_readers(world, entry, app):
    """Each wording formats with the facts a notice has; the mail wording never names
    what the pupil wrote (no %(entry)s or %(document)s)."""
    for kind, spec in messages.MESSAGES.items():
        assert spec.target in messages.TARGETS, kind
        for placeholder in ("%(entry)s", "%(document)s"):
            assert placeholder not in spec.mail._args[0], kind
        note = Notification(
            school_id=world.school.id,
            user_id=world.teacher.id,
            kind=kind,
            actor_id=world.pupil.id,
            pupil_id=world.pupil.id,
            entry_id=entry.id,
        )
        db.session.add(note)
        db.session.flush()
        with app.test_request_context():
            assert services.message(note, world.teacher)
            assert services.mail_line(note, world.teacher)
            assert services.target_url(world.teacher, note)
