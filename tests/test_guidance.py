"""Guidance records: goals from next steps, access, the pupil's part, conflicts, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import g

from portfolio import access, clock
from portfolio.extensions import db
from portfolio.guidance import services
from portfolio.models import AuditEvent, Entry, EntryKind, GuidanceRecord
from tests.support.queries import count_queries

TODAY = clock.today()
HELD = TODAY - dt.timedelta(days=3)
DUE = TODAY + dt.timedelta(days=30)


def _record(world, author=None, steps=None, **kw) -> GuidanceRecord:
    record = services.create_record(
        author or world.teacher,
        world.pupil,
        held_on=kw.get("held_on", HELD),
        participants=kw.get("participants", "Paula, Frau Teacher"),
        topics=kw.get("topics", "Praktikum im Handwerk"),
        steps=steps
        if steps is not None
        else [
            {"text": "Bewerbung schreiben", "due_on": DUE},
            {"text": "Tag der offenen Tür besuchen"},
        ],
    )
    db.session.commit()
    return record


def _goals(pupil_id):
    return list(
        db.session.scalars(
            sa.select(Entry)
            .where(Entry.pupil_id == pupil_id, Entry.kind == EntryKind.GOAL.value)
            .order_by(Entry.id)
        )
    )


def _form(record=None, steps=(), **fields):
    data = {
        "held_on": HELD.isoformat(),
        "participants": "Paula",
        "topics": "Berufe im Handwerk",
        "version": str(record.version) if record else "",
    }
    for i, step in enumerate(steps):
        data[f"next_steps-{i}-key"] = step.get("key", "")
        data[f"next_steps-{i}-text"] = step.get("text", "")
        data[f"next_steps-{i}-due_on"] = step.get("due_on", "")
    data.update(fields)
    return data


# -- goals ------------------------------------------------------------------------------
def test_next_steps_become_goals_once(world):
    record = _record(world)
    goals = _goals(world.pupil.id)
    assert len(goals) == 2
    first = goals[0]
    assert first.data["goal"] == "Bewerbung schreiben"
    assert first.data["state"] == "open"
    assert first.data["steps"] == [
        {"text": "Bewerbung schreiben", "due_on": DUE.isoformat(), "done": "no"}
    ]
    assert first.next_due_on == DUE
    assert first.data["origin"]["record_id"] == record.id
    assert first.data["why"]  # a note where the goal came from
    assert goals[1].next_due_on is None
    assert [s["goal_entry_id"] for s in record.next_steps] == [g.id for g in goals]

    # Saving again with the same steps plus a new one adds exactly one goal.
    steps = [
        {
            "key": s["key"],
            "text": s["text"],
            "due_on": dt.date.fromisoformat(s["due_on"]) if s["due_on"] else None,
        }
        for s in record.next_steps
    ]
    steps.append({"text": "Praktikumsplatz suchen", "due_on": DUE})
    services.update_record(
        record,
        expected_version=record.version,
        held_on=HELD,
        participants="Paula",
        topics="Neu",
        steps=steps,
    )
    assert len(_goals(world.pupil.id)) == 3
    assert [s["goal_entry_id"] for s in record.next_steps][:2] == [g.id for g in goals]


def test_correcting_a_step_reaches_only_untouched_goals(world):
    record = _record(world)
    first, second = _goals(world.pupil.id)
    # The pupil works on the second goal: from now on it is theirs.
    second.data = {**second.data, "state": "in_progress"}
    db.session.commit()
    steps = [{"key": s["key"], "text": s["text"] + " (korrigiert)"} for s in record.next_steps]
    services.update_record(
        record,
        expected_version=record.version,
        held_on=HELD,
        participants="",
        topics="x",
        steps=steps,
    )
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.data["goal"] == "Bewerbung schreiben (korrigiert)"
    assert first.next_due_on is None
    assert second.data["goal"] == "Tag der offenen Tür besuchen"
    assert len(_goals(world.pupil.id)) == 2


def test_removing_a_step_keeps_the_pupils_goal(world, client_for):
    record = _record(world)
    keep = record.next_steps[0]
    c = client_for(world.teacher)
    r = c.post(
        f"/guidance/{record.id}/edit",
        data=_form(record, steps=[{"key": keep["key"], "text": keep["text"]}]),
    )
    assert r.status_code == 302
    db.session.refresh(record)
    assert len(record.next_steps) == 1
    assert len(_goals(world.pupil.id)) == 2


# -- creating through the page -----------------------------------------------------------
def test_teacher_records_a_session_through_the_form(world, client_for):
    c = client_for(world.teacher)
    assert c.get(f"/guidance/pupil/{world.pupil.id}/new").status_code == 200
    r = c.post(
        f"/guidance/pupil/{world.pupil.id}/new",
        data=_form(
            steps=[
                {"text": "Check-U machen", "due_on": DUE.isoformat()},
                {"text": "", "due_on": ""},
            ]
        ),
    )
    assert r.status_code == 302
    record = db.session.scalar(sa.select(GuidanceRecord))
    assert record.author_id == world.teacher.id and record.topics == "Berufe im Handwerk"
    assert len(record.next_steps) == 1
    assert [g.data["goal"] for g in _goals(world.pupil.id)] == ["Check-U machen"]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Check-U machen" in page


def test_add_step_button_keeps_the_typed_text_and_saves_nothing(world, client_for):
    c = client_for(world.teacher)
    r = c.post(
        f"/guidance/pupil/{world.pupil.id}/new",
        data=_form(steps=[{"text": "Erster Schritt"}], topics="Noch nicht fertig", add_step="1"),
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Noch nicht fertig" in page and "Erster Schritt" in page
    assert 'name="next_steps-1-text"' in page
    assert db.session.scalar(sa.select(sa.func.count(GuidanceRecord.id))) == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"held_on": ""}, "Please enter the date of the session."),
        (
            {"held_on": (TODAY + dt.timedelta(days=2)).isoformat()},
            "The session cannot be in the future.",
        ),
        ({"held_on": "31.02.2026"}, "date"),
        ({"topics": ""}, "Please write down what you talked about."),
        (
            {"next_steps-0-text": "", "next_steps-0-due_on": DUE.isoformat()},
            "Please describe the step, or clear its date.",
        ),
    ],
)
def test_bad_input_is_shown_at_the_field(world, client_for, fields, message):
    c = client_for(world.teacher)
    data = _form(steps=[{"text": "Schritt"}], participants="Mutter und Vater")
    data.update(fields)
    r = c.post(f"/guidance/pupil/{world.pupil.id}/new", data=data)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert message in page
    assert "kern-error" in page and 'aria-invalid="true"' in page
    assert "Mutter und Vater" in page
    assert db.session.scalar(sa.select(sa.func.count(GuidanceRecord.id))) == 0


# -- access ------------------------------------------------------------------------------
def _fresh():
    g.pop("_pupil_access", None)


def test_access_rules_for_guidance(world):
    record = _record(world)
    cases = {
        # name: (may record, may edit this record, may annotate)
        "pupil": (False, False, True),
        "teacher": (True, True, False),
        "stubo": (True, True, False),
        "counsellor": (True, False, False),  # assigned with consent, not the author
        "guardian": (False, False, False),
        "admin": (False, False, False),
    }
    for name, (record_ok, edit_ok, annotate_ok) in cases.items():
        _fresh()
        user = getattr(world, name)
        pa = access.access_to(user, world.pupil)
        assert pa.can_record_guidance() is record_ok, name
        assert pa.can_edit_guidance(record, user) is edit_ok, name
        assert pa.can_annotate_guidance(record) is annotate_ok, name
    # The counsellor edits their own records.
    _fresh()
    own = _record(world, author=world.counsellor)
    assert access.access_to(world.counsellor, world.pupil).can_edit_guidance(own, world.counsellor)


@pytest.mark.parametrize(
    "name, status",
    [
        ("teacher", 200),
        ("stubo", 200),
        ("counsellor", 200),
        ("teacher_9b", 404),
        ("other_teacher", 404),
        ("counsellor_unassigned", 404),
        ("guardian", 403),
        ("admin", 403),
        ("pupil", 403),
        ("classmate", 404),
    ],
)
def test_who_may_record_a_session(world, client_for, name, status):
    c = client_for(getattr(world, name))
    assert c.get(f"/guidance/pupil/{world.pupil.id}/new").status_code == status
    r = c.post(f"/guidance/pupil/{world.pupil.id}/new", data=_form(steps=[{"text": "x"}]))
    assert r.status_code == (302 if status == 200 else status)


def test_reading_records(world, client_for):
    """Who reads a record the school wrote (not shared) is in the access matrix; here:
    what the pupil's sharing opens."""
    record = _record(world)
    record.share_guardians = True
    db.session.commit()
    assert client_for(world.guardian).get(f"/guidance/{record.id}").status_code == 200
    assert client_for(world.other_guardian).get(f"/guidance/{record.id}").status_code == 404
    assert client_for(world.counsellor).get(f"/guidance/{record.id}").status_code == 404
    record.share_counsellor = True
    db.session.commit()
    assert client_for(world.counsellor).get(f"/guidance/{record.id}").status_code == 200
    # Shared with "the counsellor" means the assigned counsellors with consent only.
    for name in ("counsellor_unassigned", "counsellor_no_consent"):
        assert client_for(getattr(world, name)).get(f"/guidance/{record.id}").status_code == 404


def test_counsellor_reads_own_and_shared_records_only(app, world, client_for):
    """Issue 16, 4: the counsellor (maybe external) reads the records they wrote and those
    the pupil shared with them; not the school's other records, nor the notes on them."""
    own = _record(world, author=world.counsellor, topics="Gespräch mit der Berufsberatung")
    school = _record(world, topics="SCHULGESPRAECH", held_on=HELD - dt.timedelta(days=1))
    shared = _record(world, topics="GETEILTESGESPRAECH", held_on=HELD - dt.timedelta(days=2))
    school.pupil_notes = "MEINENOTIZ zur Schule"
    shared.share_counsellor = True
    db.session.commit()

    c = client_for(world.counsellor)
    page = c.get(f"/guidance/pupil/{world.pupil.id}").get_data(as_text=True)
    assert f"/guidance/{own.id}" in page and f"/guidance/{shared.id}" in page
    assert f"/guidance/{school.id}" not in page
    assert c.get(f"/guidance/{school.id}").status_code == 404
    assert c.get(f"/guidance/{own.id}").status_code == 200
    # The staff PDF follows the same rule (access.visible_clause).
    from portfolio.export.services import collect

    with app.test_request_context():
        content = collect(access.access_to(world.counsellor, world.pupil))
        in_pdf = {r.id for section in content.sections for r in section.guidance}
        assert in_pdf == {own.id, shared.id}
    # Class teacher and StuBO read all three, with the notes.
    for name in ("teacher", "stubo"):
        staff_page = client_for(getattr(world, name)).get(f"/guidance/pupil/{world.pupil.id}")
        assert staff_page.get_data(as_text=True).count('class="kern-link--stretched"') == 3
    assert "MEINENOTIZ" in client_for(world.teacher).get(f"/guidance/{school.id}").get_data(
        as_text=True
    )
    # Python rule and SQL rule agree for every visitor.
    records = [own, school, shared]
    for name in ("pupil", "teacher", "stubo", "counsellor", "guardian", "admin"):
        _fresh()
        pa = access.access_to(getattr(world, name), world.pupil)
        by_sql = set(
            db.session.scalars(
                sa.select(GuidanceRecord.id).where(
                    GuidanceRecord.pupil_id == world.pupil.id,
                    pa.visible_clause(GuidanceRecord),
                )
            )
        )
        assert by_sql == {r.id for r in records if pa.can_view_shared(r)}, name


def test_pupil_shares_a_record_with_the_counsellor_and_is_told_who_reads(world, client_for):
    record = _record(world)
    c = client_for(world.pupil)
    page = c.get(f"/guidance/{record.id}").get_data(as_text=True)
    assert "Your class teacher and the StuBO always read" in page
    assert "My career counsellor may see this record" in page
    r = c.post(
        f"/guidance/{record.id}",
        data={
            "pupil_notes": "Für die Berufsberatung",
            "share_counsellor": "y",
            "version": str(record.version),
        },
    )
    assert r.status_code == 302
    db.session.refresh(record)
    assert record.share_counsellor and not record.share_guardians
    assert client_for(world.counsellor).get(f"/guidance/{record.id}").status_code == 200
    listing = c.get(f"/guidance/pupil/{world.pupil.id}").get_data(as_text=True)
    assert "Counsellor can see it" in listing
    assert "A career counsellor reads only the records they wrote" in listing
    # A record a counsellor wrote: the pupil is told that its author reads the notes.
    own = _record(world, author=world.counsellor)
    page = c.get(f"/guidance/{own.id}").get_data(as_text=True)
    assert "Conny Consent wrote this record and reads your notes too." in page


def test_guardian_list_shows_only_shared_records(world, client_for):
    shared = _record(world, topics="Geteiltes Gespräch")
    shared.share_guardians = True
    _record(world, topics="Privates Gespräch", held_on=HELD - dt.timedelta(days=1))
    db.session.commit()
    c = client_for(world.guardian)
    page = c.get(f"/guidance/pupil/{world.pupil.id}").get_data(as_text=True)
    assert f"/guidance/{shared.id}" in page
    assert page.count('class="kern-link--stretched"') == 1
    staff_page = client_for(world.teacher).get(f"/guidance/pupil/{world.pupil.id}")
    assert staff_page.get_data(as_text=True).count('class="kern-link--stretched"') == 2


def test_pupil_adds_notes_but_cannot_change_the_staff_part(world, client_for):
    record = _record(world)
    c = client_for(world.pupil)
    assert c.get(f"/guidance/{record.id}/edit").status_code == 403
    assert c.post(f"/guidance/{record.id}/edit", data=_form(record)).status_code == 403
    r = c.post(
        f"/guidance/{record.id}",
        data={
            "pupil_notes": "Ich will ins Handwerk.",
            "share_guardians": "y",
            "version": str(record.version),
            "topics": "Von Paula geändert",
            "participants": "x",
        },
    )
    assert r.status_code == 302
    db.session.refresh(record)
    assert record.pupil_notes == "Ich will ins Handwerk." and record.share_guardians
    assert record.topics == "Praktikum im Handwerk"
    # Staff cannot write the pupil's part.
    r = client_for(world.teacher).post(
        f"/guidance/{record.id}", data={"pupil_notes": "Vom Lehrer", "version": str(record.version)}
    )
    assert r.status_code == 403
    db.session.refresh(record)
    assert record.pupil_notes == "Ich will ins Handwerk."


def test_pupil_finds_own_records(world, client_for):
    _record(world)
    c = client_for(world.pupil)
    r = c.get("/guidance/mine")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/guidance/pupil/{world.pupil.id}"
    )
    assert "Session of" in c.get(r.headers["Location"]).get_data(as_text=True)


# -- optimistic locking --------------------------------------------------------------------
def test_concurrent_edit_is_a_conflict_that_keeps_the_typed_text(world, client_for):
    record = _record(world)
    opened_version = record.version
    # Someone else saves first.
    services.update_record(
        record,
        expected_version=opened_version,
        held_on=HELD,
        participants="StuBO",
        topics="Vom StuBO gespeichert",
        steps=[],
    )
    db.session.commit()
    c = client_for(world.teacher)
    data = _form(record, topics="Mein langer Text", version=str(opened_version))
    r = c.post(f"/guidance/{record.id}/edit", data=data)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Someone else saved this record" in page
    assert "Mein langer Text" in page and "Vom StuBO gespeichert" in page
    db.session.refresh(record)
    assert record.topics == "Vom StuBO gespeichert"
    # Saving again, after seeing the other version, replaces it.
    data["version"] = str(record.version)
    assert c.post(f"/guidance/{record.id}/edit", data=data).status_code == 302
    db.session.refresh(record)
    assert record.topics == "Mein langer Text"


def test_pupil_notes_conflict_keeps_the_notes(world, client_for):
    record = _record(world)
    old = record.version
    services.update_record(
        record, expected_version=old, held_on=HELD, participants="", topics="geändert", steps=[]
    )
    db.session.commit()
    r = client_for(world.pupil).post(
        f"/guidance/{record.id}", data={"pupil_notes": "Meine Gedanken", "version": str(old)}
    )
    assert r.status_code == 200
    assert "Meine Gedanken" in r.get_data(as_text=True)
    db.session.refresh(record)
    assert record.pupil_notes == ""


def test_stale_write_is_caught_by_the_version_column(world):
    record = _record(world)
    version = record.version
    # Another request commits between our version check and our UPDATE.
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(GuidanceRecord.__table__)
            .where(GuidanceRecord.id == record.id)
            .values(version=version + 1, topics="parallel")
        )
    with pytest.raises(services.Conflict) as exc:
        services.update_record(
            record, expected_version=version, held_on=HELD, participants="", topics="mine", steps=[]
        )
    assert exc.value.record.topics == "parallel"


# -- audit and lists ------------------------------------------------------------------------
def _audits():
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def test_views_by_anyone_but_the_pupil_are_audited_also_the_edit_page(world, client_for):
    """Issue 16, 10: the record shows the pupil's notes: every view by staff is recorded,
    the author's too, and opening the edit form is a view as well."""
    record = _record(world)
    client_for(world.pupil).get(f"/guidance/{record.id}")
    assert _audits() == []
    client_for(world.stubo).get(f"/guidance/{record.id}")
    client_for(world.teacher).get(f"/guidance/{record.id}")
    assert client_for(world.teacher).get(f"/guidance/{record.id}/edit").status_code == 200
    events = [
        (e.actor_id, e.pupil_id, e.action, e.object_type, e.object_id, e.details.get("page"))
        for e in _audits()
    ]
    assert events == [
        (world.stubo.id, world.pupil.id, "view", "guidancerecord", record.id, None),
        (world.teacher.id, world.pupil.id, "view", "guidancerecord", record.id, None),
        (world.teacher.id, world.pupil.id, "view", "guidancerecord", record.id, "edit"),
    ]
    # A refused edit page records nothing.
    before = len(_audits())
    assert client_for(world.guardian).get(f"/guidance/{record.id}/edit").status_code == 404
    assert len(_audits()) == before


def test_list_page_uses_a_fixed_number_of_queries(world, client_for):
    c = client_for(world.stubo)
    _record(world)
    with count_queries() as one:
        assert c.get(f"/guidance/pupil/{world.pupil.id}").status_code == 200
    for n in range(4):
        _record(
            world,
            author=world.counsellor if n % 2 else world.teacher,
            held_on=HELD - dt.timedelta(days=n + 1),
        )
    with count_queries() as five:
        page = c.get(f"/guidance/pupil/{world.pupil.id}").get_data(as_text=True)
    assert page.count('class="kern-link--stretched"') == 5
    assert len(five) == len(one)


@pytest.mark.parametrize("locale", ["tr", "ar"])
def test_pages_render_in_other_languages(world, client_for, locale):
    record = _record(world)
    world.teacher.locale = locale
    db.session.commit()
    c = client_for(world.teacher)
    for url in (
        f"/guidance/pupil/{world.pupil.id}",
        f"/guidance/{record.id}",
        f"/guidance/{record.id}/edit",
        f"/guidance/pupil/{world.pupil.id}/new",
    ):
        r = c.get(url)
        assert r.status_code == 200, url
        page = r.get_data(as_text=True)
        assert f'lang="{locale}"' in page
        assert ('dir="rtl"' in page) is (locale == "ar")
    # Staff text is German: marked as such on a Turkish or Arabic page.
    assert 'lang="de">Praktikum im Handwerk' in c.get(f"/guidance/{record.id}").get_data(
        as_text=True
    )


def test_goals_are_listed_for_the_pupil_only(world, client_for):
    record = _record(world)
    goal = _goals(world.pupil.id)[0]
    goal.data = {**goal.data, "goal": "Mein privates Ziel"}
    db.session.commit()
    assert "Mein privates Ziel" in _page_of(client_for(world.pupil), record)
    assert "Mein privates Ziel" not in _page_of(client_for(world.teacher), record)


def _page_of(client, record):
    response = client.get(f"/guidance/{record.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_pupil_is_notified_of_a_new_record(world):
    from portfolio.models import Notification

    _record(world)
    notes = list(db.session.scalars(sa.select(Notification)))
    assert [(n.user_id, n.kind, n.actor_id) for n in notes] == [
        (world.pupil.id, "guidance_recorded", world.teacher.id)
    ]
    assert notes[0].entry_id == _goals(world.pupil.id)[0].id


def test_no_more_rows_than_allowed(world, client_for):
    from portfolio.guidance.forms import MAX_STEPS

    steps = [{"text": f"Schritt {n}"} for n in range(MAX_STEPS)]
    r = client_for(world.teacher).post(
        f"/guidance/pupil/{world.pupil.id}/new", data=_form(steps=steps, add_step="1")
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert f'name="next_steps-{MAX_STEPS - 1}-text"' in page
    assert f'name="next_steps-{MAX_STEPS}-text"' not in page
    assert 'name="add_step"' not in page


def test_demo_content_is_idempotent(world):
    from portfolio.seed.guidance import seed_guidance

    staff = {
        "klassenlehrerin10a": world.teacher,
        "berufsberatung": world.counsellor,
        "klassenlehrer9a": world.teacher_9b,
    }
    by_class = {"10a": [world.pupil], "9a": [world.classmate]}
    for _ in range(2):
        seed_guidance(world.school, by_class, staff)
        db.session.commit()
    records = list(db.session.scalars(sa.select(GuidanceRecord).order_by(GuidanceRecord.held_on)))
    # Elif: one session every half-year from grade 8 up to now (5), Amira one.
    assert [r.pupil_id for r in records].count(world.pupil.id) == 5
    assert [r.pupil_id for r in records].count(world.classmate.id) == 1
    assert sum(r.share_guardians for r in records) == 1
    assert len(_goals(world.pupil.id)) == 5 and len(_goals(world.classmate.id)) == 2
    assert all(r.held_on <= TODAY for r in records)
