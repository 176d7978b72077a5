"""Class overview (filters, sorting, flags), the staff pupil view, comments and reviews."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portfolio import accounts, clock
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    Audience,
    AuditEvent,
    Comment,
    Entry,
    Notification,
    ReviewState,
    Role,
    utcnow,
)
from portfolio.review import actions, services
from tests.support.world import make_user

TODAY = clock.today()
CLASS_TEACHER = frozenset({Audience.CLASS_TEACHER})


pytestmark = pytest.mark.usefixtures("english_users")


def _entry(pupil, kind="praktikum", data=None, **kw):
    entry = Entry(school_id=pupil.school_id, pupil_id=pupil.id, kind=kind, data=data or {}, **kw)
    db.session.add(entry)
    db.session.commit()
    return entry


def _names(html: str) -> list[str]:
    """Pupil names in the order of the overview's rows."""
    return re.findall(
        r'<a class="kern-link" href="/review/pupils/\d+[^"]*">([^<]+)</a></span></th>', html
    )


# -- flags and filters ------------------------------------------------------------------
def test_waiting_for_feedback_counts_only_entries_shared_with_teachers(world):
    _entry(
        world.pupil,
        review_state=ReviewState.REQUESTED.value,
        share_class_teacher=True,
        share_stubo=True,
        asked_class_teacher=True,
    )
    _entry(world.classmate, review_state=ReviewState.REQUESTED.value, share_counsellor=True)
    items = actions.action_items(
        world.school, {world.pupil.id: "9", world.classmate.id: "9"}, CLASS_TEACHER
    )
    assert items[world.pupil.id].waiting == 1 and items[world.pupil.id].matches("feedback")
    assert items[world.classmate.id].waiting == 0


def test_placement_without_evaluation(world):
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    shared = {"share_class_teacher": True}
    _entry(world.pupil, data={"company": "A", "end": yesterday}, **shared)  # no evaluation
    _entry(world.classmate, data={"company": "B", "end": yesterday, "learned": "viel"}, **shared)
    _entry(world.pupil_9b, data={"company": "C", "end": tomorrow}, **shared)  # still running
    grades = {world.pupil.id: "9", world.classmate.id: "9", world.pupil_9b.id: "9"}
    items = actions.action_items(world.school, grades, CLASS_TEACHER)
    assert items[world.pupil.id].placements_without_evaluation == 1
    assert items[world.classmate.id].placements_without_evaluation == 0
    assert items[world.pupil_9b.id].placements_without_evaluation == 0


def test_blanks_are_no_evaluation_and_the_end_day_still_counts_as_running(world):
    shared = {"share_class_teacher": True}
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    _entry(world.pupil, data={"end": yesterday, "reality": " \n\t ", "learned": "\r\n"}, **shared)
    _entry(world.classmate, data={"end": TODAY.isoformat()}, **shared)  # ends today
    _entry(world.pupil_9b, data={"reality": "gut"}, **shared)  # no end, but evaluated
    ids = [world.pupil.id, world.classmate.id, world.pupil_9b.id]
    items = actions.action_items(world.school, ids, CLASS_TEACHER)
    assert [items[i].placements_without_evaluation for i in ids] == [1, 0, 0]


def test_counts_in_sql_agree_with_each_pupils_items(world):
    """The class overview in the order by name counts in SQL (`counted_totals`); sorted or
    filtered it counts each pupil's items (`totals`): both say the same, for every
    audience and day."""
    year = accounts.current_year(world.school)
    due = TODAY - dt.timedelta(days=3)
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    both = {"share_class_teacher": True, "share_stubo": True}
    _entry(world.pupil, data={"end": yesterday}, grade="9", **both)
    _entry(world.pupil, data={"end": yesterday, "learned": " "}, grade="9", **both)
    _entry(world.classmate, data={"end": yesterday}, share_stubo=True)
    _entry(world.classmate, "goal", {"goal": "A", "state": "open"}, next_due_on=due, **both)
    _entry(world.pupil_9b, "goal", {"goal": "B", "state": "reached"}, next_due_on=due, **both)
    _entry(world.pupil_9b, "goal", {"goal": "C", "state": "open"}, next_due_on=due)
    _entry(
        world.pupil_9b,
        "reflection",
        review_state=ReviewState.REQUESTED.value,
        asked_class_teacher=True,
        **both,
    )
    ids = [world.pupil.id, world.classmate.id, world.pupil_9b.id]
    for audiences in (CLASS_TEACHER, frozenset({Audience.STUBO})):
        for day in (TODAY, year.second_half_on - dt.timedelta(days=1), year.ends_on):
            items = actions.action_counts(world.school, ids, audiences, day)
            documented = frozenset().union(
                *(i.summary.documented for i in items.values() if i.summary)
            )
            counted = actions.counted_totals(world.school, ids, audiences, day)
            assert counted == (actions.totals(items.values()), documented), (audiences, day)
    counts, _documented = actions.counted_totals(world.school, ids, CLASS_TEACHER, TODAY)
    assert (counts["placement"], counts["goal"], counts["feedback"]) == (1, 1, 1)


def test_every_open_item_is_among_the_indexed_candidates(world):
    """The lists read open items through the partial index `ix_entry_open_items`
    (`Entry.may_be_open_item`): every entry a rule flags must be one of its rows, or the
    lists would miss it."""
    from portfolio.access import asked_clause

    due = TODAY - dt.timedelta(days=3)
    _entry(world.pupil, data={"end": "2020-01-01"}, share_class_teacher=True)
    _entry(world.pupil, "goal", {"goal": "A", "state": "open"}, next_due_on=due)
    for kind in ("reflection", "strengths", "praktikum"):
        _entry(
            world.classmate,
            kind,
            review_state=ReviewState.REQUESTED.value,
            asked_class_teacher=True,
            share_class_teacher=True,
        )
    rules = {
        "placement": actions.placement_lacks_evaluation(TODAY),
        "goal": actions.goal_overdue(TODAY),
        "feedback": asked_clause(CLASS_TEACHER),
    }
    for name, rule in rules.items():
        flagged = db.session.scalar(sa.select(sa.func.count()).where(rule))
        indexed = db.session.scalar(
            sa.select(sa.func.count()).where(rule, Entry.may_be_open_item())
        )
        assert flagged == indexed > 0, name


def test_an_unshared_evaluation_is_no_staff_business(world):
    """The evaluation is the pupil's own reflection: a placement she did not share is not
    flagged as lacking one (the placement itself shows in the progress steps)."""
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    _entry(world.pupil, data={"company": "A", "end": yesterday})
    _entry(world.classmate, data={"company": "B", "end": yesterday}, share_stubo=True)
    ids = [world.pupil.id, world.classmate.id]
    items = actions.action_items(world.school, ids, CLASS_TEACHER)
    assert items[world.pupil.id].placements_without_evaluation == 0
    # Shared with the StuBO alone: the StuBO learns of it, the class teacher does not.
    assert items[world.classmate.id].placements_without_evaluation == 0
    stubo = actions.action_items(world.school, ids, frozenset({Audience.STUBO}))
    assert stubo[world.classmate.id].placements_without_evaluation == 1


def test_overdue_goals(world):
    due = TODAY - dt.timedelta(days=10)
    _entry(
        world.pupil,
        "goal",
        {"goal": "Bewerbung", "state": "in_progress"},
        next_due_on=due,
        share_class_teacher=True,
        share_stubo=True,
    )
    _entry(
        world.pupil,
        "goal",
        {"goal": "Später", "state": "open"},
        next_due_on=TODAY + dt.timedelta(days=3),
        share_class_teacher=True,
        share_stubo=True,
    )
    _entry(
        world.classmate,
        "goal",
        {"goal": "Geschafft", "state": "reached"},
        next_due_on=due,
        share_class_teacher=True,
        share_stubo=True,
    )
    # A private goal is the pupil's own work: staff do not learn that it is overdue.
    _entry(world.pupil_9b, "goal", {"goal": "Geheim", "state": "open"}, next_due_on=due)
    items = actions.action_items(
        world.school,
        [world.pupil.id, world.classmate.id, world.pupil_9b.id],
        CLASS_TEACHER,
    )
    assert items[world.pupil.id].goals_overdue == 1
    assert items[world.pupil.id].goal_overdue_since == due
    assert items[world.classmate.id].goals_overdue == 0
    assert items[world.pupil_9b.id].goals_overdue == 0


def test_due_steps_are_open_items(world):
    """The agreement (grade 9, 2nd half) and the placement: flagged while nothing is there."""
    year = accounts.current_year(world.school)
    school = world.school
    school.agreement_deadline = dt.date(2000, 5, 31)
    db.session.add(
        Agreement(
            school_id=school.id,
            pupil_id=world.classmate.id,
            number=1,
            grade="9",
            decision="dual",
            locked_at=utcnow(),
        )
    )
    db.session.add(Agreement(school_id=school.id, pupil_id=world.pupil_9b.id, number=1, grade="9"))
    _entry(world.pupil, "praktikum", {"company": "A", "learned": "viel"}, grade="9")
    db.session.commit()
    ids = [world.pupil.id, world.classmate.id, world.pupil_9b.id]

    before = year.second_half_on - dt.timedelta(days=1)
    items = actions.action_items(school, ids, CLASS_TEACHER, before)
    assert [s.key for s in items[world.pupil.id].due] == ["beratung"]
    assert items[world.classmate.id].matches("due:praktikum")
    assert not any(i.matches("due:anschlussvereinbarung") for i in items.values())

    deadline = dt.date(year.starts_on.year + 1, 5, 31)
    items = actions.action_items(school, ids, CLASS_TEACHER, deadline)
    agreement = next(s for s in items[world.pupil.id].due if s.key == "anschlussvereinbarung")
    assert (agreement.due_by, agreement.overdue) == (deadline, False)
    assert not items[world.classmate.id].matches("due:anschlussvereinbarung")  # signed
    assert not items[world.pupil_9b.id].matches("due:anschlussvereinbarung")  # a draft
    items = actions.action_items(school, ids, CLASS_TEACHER, deadline + dt.timedelta(days=1))
    assert next(s for s in items[world.pupil.id].due if s.key == "anschlussvereinbarung").overdue
    counts = actions.totals(items.values())
    assert counts["due"] == 3 and counts["due:anschlussvereinbarung"] == 1


def test_filters_find_the_right_pupils(world, client_for):
    extra = make_user(
        world.school, [Role.PUPIL], "Emil", "Ehrlich", cls=world.class_9a, username="emil"
    )
    db.session.commit()
    _entry(
        world.pupil,
        review_state=ReviewState.REQUESTED.value,
        share_class_teacher=True,
        share_stubo=True,
        asked_class_teacher=True,
        data={"company": "A", "reality": "gut"},
    )
    _entry(world.classmate, data={"company": "B"}, share_class_teacher=True)
    _entry(
        extra,
        "goal",
        {"goal": "x"},
        next_due_on=TODAY - dt.timedelta(days=3),
        share_class_teacher=True,
        share_stubo=True,
    )
    client = client_for(world.teacher)
    url = f"/review/classes/{world.class_9a.id}"
    # Nobody has documented the placement: everybody is due, and selectable per element.
    html = client.get(url + "?filter=due:praktikum").get_data(as_text=True)
    assert _names(html) == ["Ehrlich, Emil"]
    assert "Work placement due, nothing documented" in html
    assert re.search(r"\d+ steps due", html)  # counted here; named in their columns
    assert len(_names(client.get(url + "?filter=due").get_data(as_text=True))) == 3
    assert len(_names(client.get(url + "?filter=due:strengths").get_data(as_text=True))) == 3
    assert _names(client.get(url + "?filter=feedback").get_data(as_text=True)) == ["Pupil, Paula"]
    assert _names(client.get(url + "?filter=placement").get_data(as_text=True)) == [
        "Classmate, Carl"
    ]
    html = client.get(url + "?filter=goal").get_data(as_text=True)
    assert _names(html) == ["Ehrlich, Emil"]
    assert "goal overdue since" in html
    assert len(_names(client.get(url).get_data(as_text=True))) == 3
    assert len(_names(client.get(url + "?filter=nonsense").get_data(as_text=True))) == 3


def test_flags_are_shown_on_the_row(world, client_for):
    _entry(world.classmate, data={"company": "B"}, share_class_teacher=True)
    html = (
        client_for(world.teacher).get(f"/review/classes/{world.class_9a.id}").get_data(as_text=True)
    )
    row = html[html.index("Classmate, Carl") :]
    row = row[: row.index("</tr>")]
    assert "placement without evaluation" in row


def test_sorting_by_name_progress_and_open_items(world, client_for):
    _entry(world.pupil, "praktikum", {"company": "A", "learned": "viel"}, status="done", grade="9")
    # Shared with the class teacher: open items, some progress.
    _entry(world.classmate, data={"company": "B"}, share_class_teacher=True)
    _entry(
        world.classmate,
        "goal",
        {"goal": "x"},
        next_due_on=TODAY - dt.timedelta(days=1),
        share_class_teacher=True,
    )
    client = client_for(world.teacher)
    url = f"/review/classes/{world.class_9a.id}"
    assert _names(client.get(url).get_data(as_text=True)) == ["Classmate, Carl", "Pupil, Paula"]
    assert _names(client.get(url + "?sort=name&dir=desc").get_data(as_text=True)) == [
        "Pupil, Paula",
        "Classmate, Carl",
    ]
    html = client.get(url + "?sort=progress&dir=desc").get_data(as_text=True)
    assert _names(html) == ["Pupil, Paula", "Classmate, Carl"]
    assert re.search(r'aria-sort="descending">\s*<a[^>]*>Progress', html)
    assert _names(client.get(url + "?sort=open&dir=desc").get_data(as_text=True)) == [
        "Classmate, Carl",
        "Pupil, Paula",
    ]
    assert _names(client.get(url + "?sort=open&dir=asc").get_data(as_text=True)) == [
        "Pupil, Paula",
        "Classmate, Carl",
    ]
    # An unknown sort falls back to the name.
    assert client.get(url + "?sort=evil&dir=x").status_code == 200


def test_cells_show_state_as_text(world, client_for):
    _entry(
        world.pupil,
        status="in_progress",
        share_class_teacher=True,
        share_stubo=True,
        asked_class_teacher=True,
        review_state=ReviewState.REQUESTED.value,
    )
    html = (
        client_for(world.teacher).get(f"/review/classes/{world.class_9a.id}").get_data(as_text=True)
    )
    row = html[html.index("Pupil, Paula") :]
    row = row[: row.index("</tr>")]
    assert "in progress" in row and "shared for feedback" in row  # the placement
    # The guidance session of this half-year is due (flagged), the next one is not yet.
    assert re.search(r"bwp-state--due.*1st half-year: to do", row, re.S)
    second_half = TODAY >= accounts.current_year(world.school).second_half_on
    assert ("2nd half-year: to do" if second_half else "2nd half-year: not yet due") in row
    # Own work has no column: the class overview never shows its state.
    assert "Strengths and interests" not in html and "Goals" not in html


def test_my_classes_counts(world, client_for):
    _entry(
        world.pupil,
        review_state=ReviewState.REQUESTED.value,
        share_class_teacher=True,
        share_stubo=True,
        asked_class_teacher=True,
        data={"company": "A", "reality": "gut"},
    )
    html = client_for(world.teacher).get("/review/classes").get_data(as_text=True)
    assert "Class 9a" in html and "Class 9b" not in html
    assert "Waiting for feedback: 1 pupil" in html
    stubo = client_for(world.stubo).get("/review/classes").get_data(as_text=True)
    assert "Class 9a" in stubo and "Class 9b" in stubo


# -- pupil view -------------------------------------------------------------------------------
def test_pupil_view_shows_only_what_was_shared_with_the_viewer(world, client_for):
    _entry(
        world.pupil,
        data={"company": "Teacher Shared GmbH"},
        share_class_teacher=True,
        share_stubo=True,
    )
    _entry(world.pupil, data={"company": "Counsellor Shared AG"}, share_counsellor=True)
    _entry(world.pupil, data={"company": "Ganz Privat KG"})
    teacher = (
        client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    )
    assert "Teacher Shared GmbH" in teacher
    assert "Counsellor Shared AG" not in teacher and "Ganz Privat KG" not in teacher
    counsellor = (
        client_for(world.counsellor).get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    )
    assert "Counsellor Shared AG" in counsellor
    assert "Teacher Shared GmbH" not in counsellor and "Ganz Privat KG" not in counsellor


def test_pupil_view_is_audited(world, client_for):
    client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "view"))
    assert event.actor_id == world.teacher.id and event.pupil_id == world.pupil.id


def test_reset_password_link_only_for_those_allowed(world, client_for):
    link = f"/pupils/{world.pupil.id}/reset-password"
    assert link in client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}").get_data(
        as_text=True
    )
    assert link not in client_for(world.counsellor).get(
        f"/review/pupils/{world.pupil.id}"
    ).get_data(as_text=True)


def test_sections_in_binder_order(world, client_for):
    _entry(
        world.pupil, "cv", {"address": "Hauptstr. 1"}, share_class_teacher=True, share_stubo=True
    )
    _entry(world.pupil, data={"company": "A"}, share_class_teacher=True, share_stubo=True)
    html = client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    assert html.index("My way to a career choice") < html.index("Life planning")


# -- comments and reviews ------------------------------------------------------------------------
def test_comment_notifies_the_pupil(world, client_for):
    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True, data={"company": "A"})
    response = client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "comment", f"e{entry.id}-body": "Schreib noch, was du gelernt hast."},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"#entry-{entry.id}"
    )
    comment = db.session.scalar(sa.select(Comment))
    assert comment.author_id == world.teacher.id and comment.entry_id == entry.id
    note = db.session.scalar(sa.select(Notification))
    assert (note.user_id, note.kind, note.actor_id, note.entry_id, note.comment_id) == (
        world.pupil.id,
        "comment",
        world.teacher.id,
        entry.id,
        comment.id,
    )
    page = client_for(world.stubo).get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    assert "Schreib noch, was du gelernt hast." in page and "Tina Teacher" in page


def test_empty_comment_shows_an_error_at_the_field(world, client_for):
    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True)
    response = client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "comment", f"e{entry.id}-body": "   "},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please write a comment." in html and f'id="e{entry.id}-body-error"' in html
    assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == 0


def test_too_long_comment_keeps_the_text(world, client_for):
    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True)
    text = "Sehr gut " * 600
    response = client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond", data={"action": "comment", f"e{entry.id}-body": text}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "at most 4000 characters" in html and text.strip() in html


def test_mark_reviewed_and_ask_for_revision(world, client_for):
    entry = _entry(
        world.pupil,
        share_class_teacher=True,
        share_stubo=True,
        review_state=ReviewState.REQUESTED.value,
    )
    client = client_for(world.teacher)
    url = f"/review/entries/{entry.id}/respond"
    assert client.post(url, data={"action": "reviewed"}).status_code == 302
    db.session.refresh(entry)
    assert entry.review_state == "reviewed" and entry.reviewed_at is not None
    # A revision request needs a comment saying what to revise.
    response = client.post(url, data={"action": "revision", f"e{entry.id}-body": ""})
    assert response.status_code == 400
    assert "Please write what the pupil should revise." in response.get_data(as_text=True)
    db.session.refresh(entry)
    assert entry.review_state == "reviewed"
    assert (
        client.post(
            url, data={"action": "revision", f"e{entry.id}-body": "Bitte Tag 3 ergänzen."}
        ).status_code
        == 302
    )
    db.session.refresh(entry)
    assert entry.review_state == "revision"
    kinds = list(db.session.scalars(sa.select(Notification.kind).order_by(Notification.id)))
    assert kinds == ["reviewed", "revision"]
    assert db.session.scalar(sa.select(Comment.body)) == "Bitte Tag 3 ergänzen."


def test_unknown_action_is_400(world, client_for):
    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True)
    assert (
        client_for(world.teacher)
        .post(f"/review/entries/{entry.id}/respond", data={"action": "delete"})
        .status_code
        == 400
    )


def test_stale_entry_keeps_the_text(world, client_for, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True)

    def stale(*args, **kwargs):
        raise StaleDataError("changed")

    monkeypatch.setattr(services, "set_review", stale)
    response = client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "reviewed", f"e{entry.id}-body": "Mein Kommentar"},
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Mein Kommentar" in html and "changed the entry just now" in html


def test_accounts_helper_used_in_tests_is_stable(world):
    # The class list of the world: guards the fixtures these tests rely on.
    assert accounts.current_class(world.pupil).name == "9a"


def test_saved_comment_clears_the_browser_draft(world, client_for):
    entry = _entry(world.pupil, share_class_teacher=True, share_stubo=True)
    client = client_for(world.teacher)
    client.post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "comment", f"e{entry.id}-body": "Prima"},
    )
    html = client.get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    assert f'data-draft-saved="review-{entry.id}"' in html
    assert f'data-draft="review-{entry.id}"' not in html
    # The next visit keeps drafts again.
    html = client.get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    assert f'data-draft="review-{entry.id}"' in html
