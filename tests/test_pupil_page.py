"""The pupil's entry page and forms: last saved is the pupil's own edit, the kinds of her
grade, repeating rows removed without JavaScript, and the migration to four audiences."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from portfolio.agreement import services as agreement_services
from portfolio.extensions import db
from portfolio.models import Agreement, Audience, Document, Entry, ReviewState

EN = {"Accept-Language": "en"}
LONG_AGO = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _goal(world, steps: list[str], **shared) -> Entry:
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="goal",
        data={
            "goal": "Ausbildung finden",
            "steps": [{"text": s, "due_on": None, "done": "no"} for s in steps],
        },
        edited_at=LONG_AGO,
        **shared,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _goal_form(entry: Entry, steps: list[str], **extra) -> dict:
    data = {"version": str(entry.version), "goal": "Ausbildung finden", "why": "", "state": ""}
    for n, text in enumerate(steps):
        data |= {f"steps-{n}-text": text, f"steps-{n}-due_on": "", f"steps-{n}-done": "no"}
    return data | extra


# -- last saved ------------------------------------------------------------------------------
def test_last_saved_moves_only_with_the_pupils_own_edit(world, client_for):
    entry = _goal(world, ["Praktikum suchen"], share_class_teacher=True)
    teacher = client_for(world.teacher)
    for action in ("comment", "revision", "reviewed"):
        response = teacher.post(
            f"/review/entries/{entry.id}/respond",
            data={"action": action, f"e{entry.id}-body": "Bitte ergänzen"},
        )
        assert response.status_code == 302
    pupil = client_for(world.pupil)
    pupil.post(f"/portfolio/entry/{entry.id}/sharing", data={"share_guardians": "y"})
    pupil.post(f"/portfolio/entry/{entry.id}/status", data={"done": "1"})
    stored = _reload(Entry, entry.id)
    assert stored.review_state == ReviewState.REVIEWED and stored.shared_with == [
        Audience.GUARDIANS
    ]
    assert stored.edited_at == LONG_AGO  # none of this was her edit
    assert stored.updated_at > LONG_AGO
    page = pupil.get(f"/portfolio/entry/{entry.id}", headers=EN).get_data(as_text=True)
    assert "last saved 1/5/26," in page

    response = pupil.post(
        f"/portfolio/entry/{entry.id}/edit", data=_goal_form(stored, ["Praktikum suchen", "Neu"])
    )
    assert response.status_code == 302
    assert _reload(Entry, entry.id).edited_at > LONG_AGO


def test_a_signature_does_not_change_the_agreements_last_changed(world, client_for):
    pupil = client_for(world.pupil)
    pupil.post(
        f"/agreement/pupil/{world.pupil.id}/edit",
        data={
            "decision": "dual",
            "dream_job": "Tierpflegerin",
            "next_step": "Bewerbung schreiben",
            "agreement_id": "",
            "version": "",
        },
    )
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.pupil_id == world.pupil.id))
    agreement.edited_at = LONG_AGO
    db.session.commit()
    agreement_services.sign(
        agreement.id,
        world.pupil,
        "pupil",
        expected_version=_reload(Agreement, agreement.id).version,
    )
    db.session.commit()
    signed = _reload(Agreement, agreement.id)
    assert signed.signatures and signed.edited_at == LONG_AGO


# -- the kinds of her grade ------------------------------------------------------------------
def test_upper_secondary_kinds_are_offered_from_ef_on_only(world, client_for):
    pupil = client_for(world.pupil)  # grade 9
    kinds = pupil.get("/portfolio/kinds", headers=EN).get_data(as_text=True)
    assert "/portfolio/kind/praktikum" in kinds
    assert "/portfolio/kind/sek2_ek1" not in kinds
    response = pupil.get("/portfolio/kind/sek2_ek1/new", headers=EN)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/portfolio/kind/sek2_ek1")
    page = pupil.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "the upper school (from EF on)" in page
    pupil.post("/portfolio/kind/sek2_ek1/new", data={"version": ""})
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 0

    # In EF: the grade 8-10 kinds are no longer offered, what she wrote then stays hers.
    old = Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="praktikum", data={})
    db.session.add(old)
    world.class_9a.grade = "EF"
    db.session.commit()
    kinds = pupil.get("/portfolio/kinds", headers=EN).get_data(as_text=True)
    assert "/portfolio/kind/sek2_ek1" in kinds and "/portfolio/kind/praktikum" in kinds
    assert "/portfolio/kind/praktikum/new" not in kinds
    assert pupil.get("/portfolio/kind/praktikum/new").status_code == 303
    assert pupil.get(f"/portfolio/entry/{old.id}").status_code == 200
    assert pupil.get("/portfolio/kind/sek2_ek1/new").status_code == 200


# -- repeating rows without JavaScript --------------------------------------------------------
def test_remove_takes_out_one_row_and_keeps_what_was_typed(world, client_for):
    entry = _goal(world, ["Anrufen", "Bewerben", "Vorstellen"])
    pupil = client_for(world.pupil)
    edit = pupil.get(f"/portfolio/entry/{entry.id}/edit", headers=EN).get_data(as_text=True)
    assert 'name="remove_row" value="steps-1"' in edit and "formnovalidate" in edit
    # The pupil changed the first row and removes the second in the same request.
    response = pupil.post(
        f"/portfolio/entry/{entry.id}/edit",
        data=_goal_form(entry, ["Anrufen bei Bäckerei", "Bewerben", "Vorstellen"])
        | {"remove_row": "steps-1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/portfolio/entry/{entry.id}/edit#group-steps")
    stored = _reload(Entry, entry.id)
    assert [s["text"] for s in stored.data["steps"]] == ["Anrufen bei Bäckerei", "Vorstellen"]


@pytest.mark.parametrize("which", ["steps-9", "steps-x", "goal-0", ""])
def test_removing_a_row_that_is_not_there_removes_nothing(world, client_for, which):
    entry = _goal(world, ["Anrufen", "Bewerben"])
    client_for(world.pupil).post(
        f"/portfolio/entry/{entry.id}/edit",
        data=_goal_form(entry, ["Anrufen", "Bewerben"]) | {"remove_row": which},
    )
    assert [s["text"] for s in _reload(Entry, entry.id).data["steps"]] == ["Anrufen", "Bewerben"]


# -- the migration -----------------------------------------------------------------------------
def test_the_migration_keeps_what_the_teachers_could_read(tmp_path):
    """The one teachers' audience becomes class teacher and StuBO: nobody loses what they
    could read, a pending request asks both, last saved is the last change known."""
    from flask_migrate import downgrade, upgrade

    from portfolio import accounts, create_app
    from portfolio.models import Role
    from tests.support.database import separate_database_url

    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": separate_database_url(tmp_path, "bwp_migrate_audiences"),
            "SECRET_KEY": "x" * 32,
        }
    )
    with other.app_context():
        try:
            upgrade()
            school = accounts.create_school("Altschule", "177778", "Realschule", "Olpe")
            pupil, _pw = accounts.create_user(
                school, roles=[Role.PUPIL], first_name="Ali", last_name="Alt"
            )
            rows = [
                Entry(school_id=school.id, pupil_id=pupil.id, kind="reflection", data={})
                for _n in range(3)
            ]
            doc = Document(
                school_id=school.id,
                pupil_id=pupil.id,
                category="other",
                title="Zeugnis",
                filename="z.pdf",
                storage_key="k",
                mime_type="application/pdf",
                size=1,
                sha256="0" * 64,
            )
            db.session.add_all([*rows, doc])
            db.session.commit()
            ids = [e.id for e in rows]
            doc_id = doc.id
            db.session.close()
            downgrade(revision="3d8a6f2c1b57-1")  # one teachers' audience
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "UPDATE entry SET share_teachers = :t, review_state = :s, updated_at = :u "
                        "WHERE id = :id"
                    ),
                    [
                        {"t": True, "s": "requested", "u": LONG_AGO, "id": ids[0]},
                        {"t": True, "s": "reviewed", "u": LONG_AGO, "id": ids[1]},
                        {"t": False, "s": "none", "u": LONG_AGO, "id": ids[2]},
                    ],
                )
                conn.execute(
                    sa.text("UPDATE document SET share_teachers = :t WHERE id = :id"),
                    {"t": True, "id": doc_id},
                )
            upgrade()
            found = {e.id: e for e in db.session.scalars(sa.select(Entry).where(Entry.id.in_(ids)))}
            teachers = [Audience.CLASS_TEACHER, Audience.STUBO]
            assert found[ids[0]].shared_with == teachers
            assert found[ids[0]].asked == teachers
            assert found[ids[1]].shared_with == teachers and found[ids[1]].asked == []
            assert found[ids[2]].shared_with == []
            assert all(e.edited_at == LONG_AGO for e in found.values())
            assert db.session.get(Document, doc_id).shared_with == teachers
        finally:
            db.session.remove()
            db.engine.dispose()
