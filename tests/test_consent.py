"""Consents: the age rule, giving and withdrawing on the pupil's/guardian's page, the paper
record by staff, the history, and that withdrawing counsellor access cuts it at once."""

import datetime as dt

import pytest
import sqlalchemy as sa

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import Consent, ConsentPurpose, Entry, utcnow
from portfolio.privacy import consent
from tests.support.queries import queries_of_page

EN = {"Accept-Language": "en"}
TODAY = dt.date(2026, 11, 28)


def _born(years: int, days_after: int = 0) -> dt.date:
    return TODAY.replace(year=TODAY.year - years) + dt.timedelta(days=days_after)


def _set_age(pupil, years: int | None, days_after: int = 0):
    pupil.date_of_birth = _born(years, days_after) if years is not None else None
    db.session.commit()


# -- the age rule ----------------------------------------------------------------------------
def test_age_is_counted_in_completed_years():
    assert consent.age_on(dt.date(2012, 11, 28), TODAY) == 14
    assert consent.age_on(dt.date(2012, 11, 29), TODAY) == 13
    assert consent.age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17


@pytest.mark.parametrize(
    "years, days_after, decider",
    [
        (13, 0, "guardian"),
        (14, 1, "guardian"),
        (14, 0, "pupil"),
        (15, 0, "pupil"),
        (None, 0, "guardian"),
    ],
)
def test_who_may_consent_depends_on_the_schools_consent_age(world, years, days_after, decider):
    _set_age(world.pupil, years, days_after)
    assert consent.who_may_consent(world.pupil, world.school, TODAY) == {decider}


def test_the_school_sets_the_consent_age(world):
    _set_age(world.pupil, 15)
    world.school.consent_age = 16
    db.session.commit()
    assert consent.who_may_consent(world.pupil, world.school, TODAY) == {"guardian"}


def _age_today(pupil, years):
    pupil.date_of_birth = clock.today().replace(year=clock.today().year - years) - dt.timedelta(
        days=1
    )
    db.session.commit()


def _post(client, pupil_id, purpose, action):
    return client.post(
        f"/privacy/{pupil_id}/consents",
        headers=EN,
        data={"purpose": purpose.value, "action": action},
    )


def _active(pupil_id, purpose):
    return db.session.scalars(
        sa.select(Consent).where(
            Consent.pupil_id == pupil_id,
            Consent.purpose == purpose.value,
            Consent.withdrawn_at.is_(None),
        )
    ).all()


def test_pupil_of_13_cannot_consent_but_the_guardian_can(client_for, world):
    _age_today(world.pupil, 13)
    purpose = ConsentPurpose.PA_TO_BERUFSBERATUNG
    pupil_client = client_for(world.pupil)
    page = pupil_client.get(f"/privacy/{world.pupil.id}/consents", headers=EN)
    assert page.status_code == 200
    assert "Your parents decide" in page.get_data(as_text=True)
    assert "I agree" not in page.get_data(as_text=True)
    assert _post(pupil_client, world.pupil.id, purpose, "give").status_code == 403
    assert _active(world.pupil.id, purpose) == []

    response = _post(client_for(world.guardian), world.pupil.id, purpose, "give")
    assert response.status_code == 302
    [row] = _active(world.pupil.id, purpose)
    assert row.given_by_id == world.guardian.id and row.given_by_role == "guardian"
    assert row.given_at is not None and row.school_id == world.school.id


def test_pupil_of_15_consents_themself_and_the_guardian_only_sees_it(client_for, world):
    _age_today(world.pupil, 15)
    purpose = ConsentPurpose.APP_USE
    pupil_client = client_for(world.pupil)
    assert "I agree" in pupil_client.get(
        f"/privacy/{world.pupil.id}/consents", headers=EN
    ).get_data(as_text=True)
    assert _post(pupil_client, world.pupil.id, purpose, "give").status_code == 302
    [row] = _active(world.pupil.id, purpose)
    assert row.given_by_role == "pupil" and row.given_by_id == world.pupil.id

    guardian_client = client_for(world.guardian)
    page = guardian_client.get(f"/privacy/{world.pupil.id}/consents", headers=EN)
    assert "decides about these consents themself" in page.get_data(as_text=True)
    assert _post(guardian_client, world.pupil.id, purpose, "withdraw").status_code == 403
    assert len(_active(world.pupil.id, purpose)) == 1


def test_unknown_birth_date_means_the_guardian_decides(client_for, world):
    _set_age(world.pupil, None)
    assert (
        _post(client_for(world.pupil), world.pupil.id, ConsentPurpose.APP_USE, "give").status_code
        == 403
    )
    assert (
        _post(
            client_for(world.guardian), world.pupil.id, ConsentPurpose.APP_USE, "give"
        ).status_code
        == 302
    )


def test_bad_form_input_gets_a_message_not_an_error(client_for, world):
    _age_today(world.pupil, 12)
    client = client_for(world.guardian)
    response = client.post(
        f"/privacy/{world.pupil.id}/consents",
        headers=EN,
        data={"purpose": "sell_to_advertisers", "action": "give"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Please choose a consent" in response.get_data(as_text=True)
    # Giving twice: a clear message, still one active row.
    _post(client, world.pupil.id, ConsentPurpose.APP_USE, "give")
    again = client.post(
        f"/privacy/{world.pupil.id}/consents",
        headers=EN,
        follow_redirects=True,
        data={"purpose": "app_use", "action": "give"},
    )
    assert "already been given" in again.get_data(as_text=True)
    assert len(_active(world.pupil.id, ConsentPurpose.APP_USE)) == 1


# -- withdrawal and history ---------------------------------------------------------------
def test_withdrawal_keeps_the_row_and_a_new_consent_is_a_new_row(client_for, world):
    _age_today(world.pupil, 12)
    client = client_for(world.guardian)
    purpose = ConsentPurpose.COUNSELLOR_ACCESS
    [original] = _active(world.pupil.id, purpose)  # from the world fixture
    assert _post(client, world.pupil.id, purpose, "withdraw").status_code == 302
    assert _post(client, world.pupil.id, purpose, "give").status_code == 302
    db.session.expire_all()
    rows = consent.history(world.pupil.id)
    assert [r.id for r in rows if r.purpose == purpose.value][-1] == original.id
    old = db.session.get(Consent, original.id)
    assert old.withdrawn_at is not None and old.withdrawn_by_id == world.guardian.id
    assert len([r for r in rows if r.purpose == purpose.value]) == 2
    assert len(_active(world.pupil.id, purpose)) == 1
    page = client.get(f"/privacy/{world.pupil.id}/consents", headers=EN).get_data(as_text=True)
    assert "History of all consents" in page and "Gabi Guardian" in page


def test_withdrawing_counsellor_access_cuts_access_at_once(client_for, world):
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        title="Shared with the counsellor",
        share_counsellor=True,
    )
    db.session.add(entry)
    db.session.commit()
    counsellor = client_for(world.counsellor)
    url = f"/review/pupils/{world.pupil.id}"
    assert counsellor.get(url).status_code == 200

    _age_today(world.pupil, 12)
    response = _post(
        client_for(world.guardian), world.pupil.id, ConsentPurpose.COUNSELLOR_ACCESS, "withdraw"
    )
    assert response.status_code == 302
    # The counsellor's very next request, in the same logged-in session, is refused.
    assert counsellor.get(url).status_code == 404
    from flask import g

    from portfolio import access

    g.pop("_pupil_access", None)
    db.session.expire_all()
    assert not access.access_to(world.counsellor, world.pupil).any
    ids = db.session.scalars(access.counselled_pupils(world.counsellor, with_consent=True)).all()
    assert world.pupil.id not in ids

    # Consent given again: access is back.
    _post(client_for(world.guardian), world.pupil.id, ConsentPurpose.COUNSELLOR_ACCESS, "give")
    assert counsellor.get(url).status_code == 200


def test_withdraw_without_consent_is_refused_with_a_message(world):
    from flask import g

    g.force_locale = "en"
    with pytest.raises(consent.ConsentError):
        consent.withdraw(world.pupil, ConsentPurpose.APP_USE, world.guardian)


# -- the admin side -----------------------------------------------------------------------
def test_admin_records_a_paper_consent_and_sees_the_history(client_for, world):
    client = client_for(world.admin)
    url = f"/admin/consents/{world.pupil.id}"
    response = client.post(
        url, headers=EN, data={"purpose": "app_use", "action": "give", "confirm": "y"}
    )
    assert response.status_code == 302
    [row] = _active(world.pupil.id, ConsentPurpose.APP_USE)
    assert row.given_by_role == "staff" and row.given_by_id == world.admin.id
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert "the school (from a paper form)" in page and "Anna Admin" in page

    # A withdrawal on paper, recorded the same way.
    client.post(url, headers=EN, data={"purpose": "app_use", "action": "withdraw", "confirm": "y"})
    assert _active(world.pupil.id, ConsentPurpose.APP_USE) == []


def test_paper_form_needs_the_confirmation(client_for, world):
    response = client_for(world.admin).post(
        f"/admin/consents/{world.pupil.id}",
        headers=EN,
        data={"purpose": "app_use", "action": "give"},
    )
    assert response.status_code == 200
    assert "Please confirm that you have the signed form" in response.get_data(as_text=True)
    assert _active(world.pupil.id, ConsentPurpose.APP_USE) == []


def test_admin_overview_shows_consents_with_a_fixed_number_of_queries(client_for, world):
    from portfolio.models import Role
    from tests.support.world import make_user

    client = client_for(world.admin)

    def count(url):
        return queries_of_page(client, url, headers=EN)

    few = count("/admin/consents")
    for i in range(15):
        pupil = make_user(
            world.school,
            [Role.PUPIL],
            f"Extra{i}",
            "Pupil",
            cls=world.class_9b,
            username=f"extra{i}",
        )
        db.session.add(
            Consent(
                school_id=world.school.id,
                pupil_id=pupil.id,
                purpose="app_use",
                given_by_role="staff",
                given_by_id=world.admin.id,
            )
        )
    db.session.commit()
    assert count("/admin/consents") == few
    page = client.get(f"/admin/consents?class_id={world.class_9a.id}", headers=EN)
    text = page.get_data(as_text=True)
    assert "Pupil, Paula" in text and "Extra1" not in text


def test_consent_overview_is_the_school_admins_only(client_for, world):
    """Issue 16, 10: not the StuBO's either; they record a paper form per pupil from the
    pupil's account page, which leads back there."""
    stubo = client_for(world.stubo)
    assert "/admin/consents" not in stubo.get("/admin/").get_data(as_text=True)
    assert "/admin/consents" in client_for(world.admin).get("/admin/").get_data(as_text=True)
    account = stubo.get(f"/admin/accounts/{world.pupil.id}").get_data(as_text=True)
    assert f"/admin/consents/{world.pupil.id}" in account
    form = stubo.get(f"/admin/consents/{world.pupil.id}").get_data(as_text=True)
    assert f"/admin/accounts/{world.pupil.id}" in form and 'href="/admin/consents"' not in form
    admin_form = client_for(world.admin).get(f"/admin/consents/{world.pupil.id}")
    assert 'href="/admin/consents"' in admin_form.get_data(as_text=True)


def test_consent_rows_are_timestamped_utc(world):
    row = consent.give(world.classmate, ConsentPurpose.APP_USE, world.other_guardian, "guardian")
    assert row.given_at.tzinfo is not None and abs(utcnow() - row.given_at) < dt.timedelta(
        minutes=1
    )


# -- "Potenzialanalyse an die Berufsberatung" is enforced (issue 16, 4) ----------------------
def _pa_content(world):
    from portfolio.models import ReviewState
    from tests.support.documents import add_document
    from tests.support.files import PDF

    pa = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="potenzialanalyse",
        title="PAMARK",
        data={"strengths_found": "PAMARK Stärken", "date": "2026-10-01"},
        share_counsellor=True,
        share_class_teacher=True,
        share_stubo=True,
        asked_counsellor=True,
        review_state=ReviewState.REQUESTED.value,
    )
    other = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        title="OTHERMARK",
        share_counsellor=True,
        asked_counsellor=True,
        review_state=ReviewState.REQUESTED.value,
    )
    db.session.add_all([pa, other])
    db.session.flush()
    certificate = add_document(world.pupil, PDF, "pa.pdf", entry=pa, title="PACERT")
    loose = add_document(world.pupil, PDF, "zeugnis.pdf", title="LOOSEDOC")
    certificate.share_counsellor = loose.share_counsellor = True
    db.session.commit()
    return pa, other, certificate, loose


def _counsellor_sees(client, world, pa, certificate) -> dict[str, bool]:
    review = client.get(f"/review/pupils/{world.pupil.id}", headers=EN).get_data(as_text=True)
    docs = client.get(f"/documents/pupil/{world.pupil.id}", headers=EN).get_data(as_text=True)
    caseload = client.get("/review/caseload", headers=EN).get_data(as_text=True)
    return {
        "entry": "PAMARK" in review,
        "other entry": "OTHERMARK" in review,
        "file in list": "PACERT" in docs,
        "loose file": "LOOSEDOC" in docs,
        "download": client.get(f"/documents/{certificate.id}/download").status_code == 200,
        "two waiting": "2 entries waiting for feedback" in caseload,
        "comment": client.post(
            f"/review/entries/{pa.id}/respond",
            data={f"e{pa.id}-body": "Gut", "action": "comment"},
        ).status_code
        == 302,
    }


def test_potenzialanalyse_reaches_the_counsellor_only_with_its_consent(app, client_for, world):
    pa, _other, certificate, _loose = _pa_content(world)
    counsellor = client_for(world.counsellor)
    # Counsellor access is given (world) and the pupil shares: still not the PA.
    assert _counsellor_sees(counsellor, world, pa, certificate) == {
        "entry": False,
        "other entry": True,
        "file in list": False,
        "loose file": True,
        "download": False,
        "two waiting": False,
        "comment": False,
    }
    # The class teacher, with whom the PA is shared too, reads it: the rule is the counsellor's.
    teacher_page = client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}")
    assert "PAMARK" in teacher_page.get_data(as_text=True)

    # The guardian gives the consent on the privacy page: the PA and its file reach them.
    _age_today(world.pupil, 12)
    give = _post(
        client_for(world.guardian), world.pupil.id, ConsentPurpose.PA_TO_BERUFSBERATUNG, "give"
    )
    assert give.status_code == 302
    seen = _counsellor_sees(counsellor, world, pa, certificate)
    assert seen == dict.fromkeys(seen, True)

    # Withdrawn: gone with the next request.
    _post(
        client_for(world.guardian), world.pupil.id, ConsentPurpose.PA_TO_BERUFSBERATUNG, "withdraw"
    )
    seen = _counsellor_sees(counsellor, world, pa, certificate)
    assert not seen["entry"] and not seen["file in list"] and not seen["download"]


def test_the_pa_consent_alone_opens_nothing(client_for, world):
    """Without counsellor access or without the pupil's sharing, the PA consent is not enough."""
    pa, _other, certificate, _loose = _pa_content(world)
    consent.give(world.classmate, ConsentPurpose.PA_TO_BERUFSBERATUNG, world.admin, "staff")
    consent.give(world.pupil, ConsentPurpose.PA_TO_BERUFSBERATUNG, world.guardian, "guardian")
    pa.share_counsellor = certificate.share_counsellor = False
    db.session.commit()
    seen = _counsellor_sees(client_for(world.counsellor), world, pa, certificate)
    assert not seen["entry"] and not seen["file in list"] and not seen["download"]
    # Carl's counsellor has the PA consent but not counsellor access: nothing at all.
    nora = client_for(world.counsellor_no_consent)
    assert nora.get(f"/review/pupils/{world.classmate.id}").status_code == 404


def test_pa_rule_in_python_and_sql_agree(app, world):
    """`can_view_shared` and `visible_clause`/`shared_clause` give the same answer."""
    from flask import g

    from portfolio import access
    from portfolio.models import Document

    pa, other, certificate, loose = _pa_content(world)
    objects = {Entry: [pa, other], Document: [certificate, loose]}

    def check():
        for name in ("pupil", "teacher", "stubo", "counsellor", "guardian", "admin"):
            g.pop("_pupil_access", None)
            acc = access.access_to(getattr(world, name), world.pupil)
            for model, rows in objects.items():
                by_sql = set(
                    db.session.scalars(
                        sa.select(model.id).where(
                            model.pupil_id == world.pupil.id, acc.visible_clause(model)
                        )
                    )
                )
                assert by_sql == {r.id for r in rows if acc.can_view_shared(r)}, (name, model)
            if name == "counsellor":
                yield {r.id for rows in objects.values() for r in rows if acc.can_view_shared(r)}

    assert list(check()) == [{other.id, loose.id}]
    consent.give(world.pupil, ConsentPurpose.PA_TO_BERUFSBERATUNG, world.guardian, "guardian")
    assert list(check()) == [{pa.id, other.id, certificate.id, loose.id}]
