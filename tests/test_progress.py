"""Element states for the timeline and overviews."""

import sqlalchemy as sa

from portfolio import progress
from portfolio.extensions import db
from portfolio.models import Agreement, Entry, GuidanceRecord, ReviewState, utcnow


def test_states_follow_entries_agreements_and_guidance(world):
    pupil = world.pupil
    school_id = world.school.id
    states = progress.element_states(school_id, [pupil.id])[pupil.id]
    assert states["praktikum"].state == "open"
    assert states["anschlussvereinbarung"].state == "open"

    db.session.add(
        Entry(
            school_id=school_id,
            pupil_id=pupil.id,
            kind="praktikum",
            data={},
            status="in_progress",
            review_state=ReviewState.REQUESTED,
        )
    )
    db.session.add(
        Entry(
            school_id=school_id, pupil_id=pupil.id, kind="potenzialanalyse", data={}, status="done"
        )
    )
    db.session.add(Agreement(school_id=school_id, pupil_id=pupil.id, number=1, data={}))
    db.session.add(
        GuidanceRecord(
            school_id=school_id,
            pupil_id=pupil.id,
            held_on=utcnow().date(),
            author_id=world.teacher.id,
        )
    )
    db.session.commit()
    states = progress.element_states(school_id, [pupil.id, world.classmate.id])
    mine = states[pupil.id]
    assert mine["praktikum"].state == "in_progress" and mine["praktikum"].feedback_requested
    assert mine["potenzialanalyse"].state == "done"
    assert mine["anschlussvereinbarung"].state == "in_progress"
    assert mine["beratung"].state == "done"
    assert states[world.classmate.id]["praktikum"].state == "open"

    agreement = db.session.scalar(sa.select(Agreement))
    agreement.locked_at = utcnow()
    db.session.commit()
    mine = progress.element_states(school_id, [pupil.id])[pupil.id]
    assert mine["anschlussvereinbarung"].state == "done"
    assert 0 < progress.progress_percent(mine) < 100


def test_pupil_grade_and_timeline_grades(world):
    assert progress.pupil_grade(world.pupil) == "9"
    assert progress.grades_up_to("9") == ["8", "9"]
    assert progress.grades_up_to("Q1") == ["8", "9", "10", "EF", "Q1"]
