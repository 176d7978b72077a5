"""The stored progress rows of the staff lists (portfolio/progress_store.py): computed by the
model, invalidated by every write that changes them, never stored over a newer write."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import g

from portfolio import progress, progress_store
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    Entry,
    EntryStatus,
    GuidanceRecord,
    ProgressSummary,
    StandardElement,
    User,
)
from tests.support.queries import count_queries


def _new_request() -> None:
    """Forget what the test's app context cached as a request would (elements, rows)."""
    for name in list(g):
        g.pop(name)


def _row(pupil) -> ProgressSummary | None:
    _new_request()
    db.session.expire_all()
    return db.session.get(ProgressSummary, pupil.id)


def _entry(world, pupil, kind="praktikum", status=EntryStatus.DONE.value) -> Entry:
    entry = Entry(
        school_id=world.school.id,
        pupil_id=pupil.id,
        kind=kind,
        grade="9",
        data={},
        status=status,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _model(world, pupil) -> progress.Summary:
    """What the model computes now, without the store."""
    _new_request()
    return progress.summary_of(
        progress.of_pupils(world.school.id, [pupil.id], current_only=True)[pupil.id]
    )


def _stored(world, *pupils) -> dict[int, progress.Summary]:
    _new_request()
    found = progress_store.stored(world.school.id, [p.id for p in pupils])
    db.session.commit()
    progress_store.forget()
    return found


def test_the_first_read_stores_rows_and_the_next_reads_them(world):
    first = _stored(world, world.pupil, world.classmate)
    row = _row(world.pupil)
    assert row is not None and row.day == progress.current_date()
    assert row.school_id == world.school.id and row.grade == "9"
    assert first[world.pupil.id] == _model(world, world.pupil)
    with count_queries() as statements:
        again = _stored(world, world.pupil, world.classmate)
    assert again == first
    # One SELECT of the rows (and the COMMIT of the test): no model statements.
    assert sum("progress_summary" in s for s in statements) == 1
    assert not any("class_membership" in s or "entry" in s.split("FROM")[-1] for s in statements)


def test_an_entry_invalidates_the_pupils_row_and_no_other(world):
    _stored(world, world.pupil, world.classmate)
    before = _row(world.pupil).version
    carl_version = _row(world.classmate).version
    _entry(world, world.pupil)
    row = _row(world.pupil)
    assert row.day is None and row.version == before + 1
    assert _row(world.classmate).day is not None
    assert _row(world.classmate).version == carl_version
    now = _stored(world, world.pupil)[world.pupil.id]
    assert now == _model(world, world.pupil)
    assert "praktikum" in now.documented and "praktikum" not in now.due


@pytest.mark.parametrize("change", ["status", "delete", "text", "share"])
def test_only_changes_the_model_reads_invalidate(world, change):
    entry = _entry(world, world.pupil, status=EntryStatus.IN_PROGRESS.value)
    _stored(world, world.pupil)
    version = _row(world.pupil).version
    entry = db.session.get(Entry, entry.id)
    if change == "status":
        entry.status = EntryStatus.DONE.value
    elif change == "delete":
        db.session.delete(entry)
    elif change == "text":
        entry.data = {"text": "Mehr dazu"}
        entry.title = "Neu"
    else:
        entry.share_class_teacher = True
    db.session.commit()
    invalidated = _row(world.pupil).version != version
    assert invalidated == (change in ("status", "delete"))
    assert _stored(world, world.pupil)[world.pupil.id] == _model(world, world.pupil)


def test_agreements_and_guidance_invalidate(world):
    _stored(world, world.pupil)
    version = _row(world.pupil).version
    db.session.add(
        GuidanceRecord(
            school_id=world.school.id,
            pupil_id=world.pupil.id,
            author_id=world.counsellor.id,
            held_on=progress.current_date(),
        )
    )
    db.session.commit()
    assert _row(world.pupil).version == version + 1
    _stored(world, world.pupil)
    db.session.add(
        Agreement(school_id=world.school.id, pupil_id=world.pupil.id, number=1, grade="9", data={})
    )
    db.session.commit()
    assert _row(world.pupil).day is None
    assert _stored(world, world.pupil)[world.pupil.id] == _model(world, world.pupil)


def test_a_school_setting_invalidates_the_schools_rows_only(world):
    _stored(world, world.pupil, world.classmate)
    other = progress_store.stored(world.other_school.id, [world.other_pupil.id])
    db.session.commit()
    assert other[world.other_pupil.id].grade == "9"
    element = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id, StandardElement.key == "praktikum"
        )
    )
    element.active = False
    db.session.commit()
    assert _row(world.pupil).day is None and _row(world.classmate).day is None
    assert _row(world.other_pupil).day is not None
    now = _stored(world, world.pupil)[world.pupil.id]
    assert all(s.element_id != element.id for s in now.steps)
    world.class_9a.grade = "10"
    db.session.commit()
    assert _row(world.pupil).day is None
    assert _stored(world, world.pupil)[world.pupil.id].grade == "10"


def test_a_row_of_yesterday_is_computed_again(world, monkeypatch):
    _stored(world, world.pupil)
    tomorrow = progress.current_date() + dt.timedelta(days=1)
    monkeypatch.setattr(progress, "current_date", lambda: tomorrow)
    _stored(world, world.pupil)
    assert _row(world.pupil).day == tomorrow


def test_a_reader_never_stores_over_a_newer_write(world):
    """The reader read version v, computed; meanwhile a writer changed the data: the
    reader's figure is not stored, the row stays invalid and is computed again."""
    _stored(world, world.pupil)
    _entry(world, world.pupil, status=EntryStatus.IN_PROGRESS.value)
    stale_version = _row(world.pupil).version  # the reader reads the invalid row ...
    old = _model(world, world.pupil)
    _entry(world, world.pupil)  # ... a writer commits a finished placement ...
    day = progress.current_date()
    progress_store._store(
        world.school.id, day, {world.pupil.id: old}, {world.pupil.id: stale_version}
    )
    db.session.commit()  # ... and the reader stores what it computed before
    assert _row(world.pupil).day is None
    now = _stored(world, world.pupil)[world.pupil.id]
    assert now.figure.done == old.figure.done + 1 and now == _model(world, world.pupil)


def test_a_reader_that_saw_no_row_never_stores_over_a_write(world):
    db.session.execute(sa.delete(ProgressSummary))
    db.session.commit()
    old = _model(world, world.pupil)  # the reader saw no row and computed ...
    _entry(world, world.pupil)  # ... a writer commits (and creates the row, invalid) ...
    progress_store._store(world.school.id, progress.current_date(), {world.pupil.id: old}, {})
    db.session.commit()
    assert _row(world.pupil).day is None
    assert "praktikum" in _stored(world, world.pupil)[world.pupil.id].documented


def test_bulk_statements_invalidate(world):
    _stored(world, world.pupil, world.classmate)
    db.session.execute(
        sa.insert(Entry),
        [
            {
                "school_id": world.school.id,
                "pupil_id": world.classmate.id,
                "kind": "praktikum",
                "grade": "9",
                "data": {},
                "status": "done",
            }
        ],
    )
    db.session.commit()
    assert _row(world.classmate).day is None and _row(world.pupil).day is not None
    _stored(world, world.classmate)
    # Sharing is not progress: no row is touched ...
    db.session.execute(
        sa.update(Entry).where(Entry.pupil_id == world.classmate.id).values(share_stubo=True)
    )
    db.session.commit()
    assert _row(world.classmate).day is not None
    # ... but a bulk change of the states is.
    db.session.execute(
        sa.update(Entry).where(Entry.pupil_id == world.classmate.id).values(status="draft")
    )
    db.session.commit()
    assert _row(world.classmate).day is None and _row(world.pupil).day is None
    assert _stored(world, world.classmate)[world.classmate.id] == _model(world, world.classmate)


def test_deleting_a_pupil_with_entries_deletes_her_row(world):
    _entry(world, world.classmate)
    _stored(world, world.classmate)
    pupil = db.session.get(User, world.classmate.id)
    for entry in db.session.scalars(sa.select(Entry).where(Entry.pupil_id == pupil.id)):
        db.session.delete(entry)
    db.session.delete(pupil)
    db.session.commit()
    assert _row(world.classmate) is None


def test_the_staff_lists_read_the_rows(world, client_for):
    client = client_for(world.stubo)
    assert client.get("/review/school").status_code == 200
    assert _row(world.pupil).day == progress.current_date()
    _entry(world, world.pupil)
    html = client.get("/review/school.csv").get_data(as_text=True)
    assert _row(world.pupil).day == progress.current_date()  # stored again by the view
    line = next(li for li in html.splitlines() if "placement" in li.lower() and "all classes" in li)
    assert line.split(";")[4] == "1"  # done: Paula


def test_refresh_command_stores_every_current_pupil(world, runner):
    db.session.execute(sa.delete(ProgressSummary))
    db.session.commit()
    result = runner.invoke(args=["progress-refresh"])
    assert result.exit_code == 0, result.output
    assert "pupils" in result.output
    for pupil in (world.pupil, world.classmate, world.pupil_9b, world.other_pupil):
        assert _row(pupil).day == progress.current_date()


def test_the_stored_steps_keep_every_field_a_cell_shows():
    steps = (
        progress.StepState(7, None, progress.NOT_STARTED, False, True),  # carried update
        progress.StepState(8, 2, progress.DUE, True, False),
        progress.StepState(9, 1, progress.DONE, True),
    )
    text = progress_store._steps_text(steps)
    assert progress_store._parse_steps(text) == steps
    # A row an older process stored (four fields) reads as not carried.
    assert progress_store._parse_steps("7:0:not_started:0") == (
        progress.StepState(7, None, progress.NOT_STARTED, False, False),
    )
