"""The News page, the unread count in the navigation and the notify service."""

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import Comment, Entry, Notification
from portfolio.notifications import services
from tests.support.queries import count_queries

pytestmark = pytest.mark.usefixtures("english_users")


def _shared_entry(world):
    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="praktikum",
        data={"company": "Bäckerei Schäfer"},
        share_class_teacher=True,
        share_stubo=True,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def test_notify_and_unread_count(world):
    entry = _shared_entry(world)
    assert services.notify(world.pupil, "comment", actor=world.pupil, entry=entry) is None
    services.notify(world.pupil, "comment", actor=world.teacher, entry=entry)
    services.notify(world.pupil, "reviewed", actor=world.teacher, entry=entry)
    db.session.commit()
    assert services.unread_count(world.pupil) == 2
    assert services.unread_count(world.teacher) == 0
    services.mark_read(world.pupil, entry_id=entry.id)
    db.session.commit()
    assert services.unread_count(world.pupil) == 0


def test_message_is_built_in_the_readers_language(world, app):
    entry = _shared_entry(world)
    note = services.notify(world.pupil, "revision", actor=world.teacher, entry=entry)
    db.session.commit()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert (
            services.message(note)
            == "Tina Teacher asked you to revise “Work placement: Bäckerei Schäfer”."
        )
        note.kind = "something-new"
        assert services.message(note) == "There is something new for you."


def test_news_page_marks_new_and_then_read(world, client_for):
    entry = _shared_entry(world)
    client_for(world.teacher).post(
        f"/review/entries/{entry.id}/respond",
        data={"action": "comment", f"e{entry.id}-body": "Super!"},
    )
    pupil = client_for(world.pupil)
    start = pupil.get("/news/").get_data(as_text=True)
    assert "Tina Teacher commented on “Work placement: Bäckerei Schäfer”." in start
    assert ">new<" in start
    # Reading the page marked it read: the next visit shows it without the mark.
    again = pupil.get("/news/").get_data(as_text=True)
    assert "Tina Teacher commented" in again and ">new<" not in again
    assert db.session.scalar(sa.select(Notification.read_at)) is not None


def test_unread_badge_in_the_navigation_with_text(world, client_for, app):
    entry = _shared_entry(world)
    for kind in ("comment", "reviewed", "revision"):
        services.notify(world.pupil, kind, actor=world.teacher, entry=entry)
    db.session.commit()
    html = client_for(world.teacher).get("/review/classes").get_data(as_text=True)
    assert "unread)" not in html  # the teacher has none
    # Any page with the navigation shows the pupil's count, readable by screen readers.
    html = client_for(world.pupil).get("/password").get_data(as_text=True)
    assert "(3 unread)" in html and 'href="/news/"' in html


def test_nav_count_is_one_query(world, client_for, app):
    entry = _shared_entry(world)
    services.notify(world.pupil, "comment", actor=world.teacher, entry=entry)
    db.session.commit()
    client = client_for(world.pupil)
    with count_queries() as statements:
        client.get("/password")
    counts = [s for s in statements if "count(notification.id)" in s.lower()]
    assert len(counts) == 1


def test_staff_opening_the_pupil_marks_their_news_read(world, client_for):
    entry = _shared_entry(world)
    services.notify(world.teacher, "feedback_requested", actor=world.pupil, entry=entry)
    db.session.commit()
    assert services.unread_count(world.teacher) == 1
    client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}")
    db.session.expire_all()
    assert db.session.scalar(sa.select(Notification.read_at)) is not None


def test_news_lists_only_own_notifications(world, client_for):
    entry = _shared_entry(world)
    services.notify(world.pupil, "comment", actor=world.teacher, entry=entry)
    db.session.commit()
    html = client_for(world.classmate).get("/news/").get_data(as_text=True)
    assert "Tina Teacher" not in html and "Nothing new" in html


def test_comment_thread_partial_renders_for_the_pupil_page(world, app):
    from flask import render_template_string

    entry = _shared_entry(world)
    db.session.add(
        Comment(
            school_id=world.school.id,
            entry_id=entry.id,
            author_id=world.teacher.id,
            body="<b>Toll</b>\nweiter so",
        )
    )
    db.session.commit()
    db.session.refresh(entry)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        html = render_template_string(
            '{% from "review/_comments.html" import comment_thread %}{{ comment_thread(entry) }}',
            entry=entry,
        )
    assert "&lt;b&gt;Toll&lt;/b&gt;<br>" in html and "Tina Teacher" in html and "1 comment" in html


def test_opening_the_entry_marks_its_news_read(world, client_for):
    """The pupil reads the comment on the entry page: the News badge goes down."""
    from portfolio.extensions import db as _db
    from portfolio.models import Comment, Entry, Notification

    entry = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        data={"title": "Mein Tag", "text": "x"},
        share_class_teacher=True,
        share_stubo=True,
    )
    _db.session.add(entry)
    _db.session.flush()
    comment = Comment(
        school_id=world.school.id,
        entry_id=entry.id,
        author_id=world.teacher.id,
        body="Gut gemacht!",
    )
    _db.session.add(comment)
    _db.session.flush()
    _db.session.add(
        Notification(
            school_id=world.school.id,
            user_id=world.pupil.id,
            kind="comment",
            actor_id=world.teacher.id,
            entry_id=entry.id,
            comment_id=comment.id,
        )
    )
    _db.session.commit()
    c = client_for(world.pupil)
    assert c.get(f"/portfolio/entry/{entry.id}").status_code == 200
    _db.session.expire_all()
    note = _db.session.scalar(_db.select(Notification))
    assert note.read_at is not None


def test_the_migration_gives_old_notices_their_pupil_and_never_mails_them(tmp_path):
    """Notices made before e-mail existed: about the entry's pupil (or the pupil who reads
    them), and counted as mailed, so that a first confirmed address brings no old news."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade

    from portfolio import accounts, create_app
    from portfolio.models import Role
    from tests.support.database import separate_database_url

    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": separate_database_url(tmp_path, "bwp_migrate_news"),
            "SECRET_KEY": "x" * 32,
        }
    )
    with other.app_context():
        try:
            upgrade()
            school = accounts.create_school("Altschule", "177777", "Realschule", "Olpe")
            pupil, _pw = accounts.create_user(
                school, roles=[Role.PUPIL], first_name="Ali", last_name="Alt"
            )
            teacher, _pw = accounts.create_user(
                school, roles=[Role.TEACHER], first_name="Tom", last_name="Lehr"
            )
            entry = Entry(school_id=school.id, pupil_id=pupil.id, kind="reflection", data={})
            db.session.add(entry)
            db.session.commit()
            ids = (school.id, pupil.id, teacher.id, entry.id)
            db.session.close()  # no open transaction may hold locks while columns change
            downgrade(revision="7b3e9c41d2a8-1")  # the schema before this migration
            school_id, pupil_id, teacher_id, entry_id = ids
            note = sa.table(
                "notification",
                *(sa.column(c) for c in ("school_id", "user_id", "kind", "entry_id")),
                sa.column("created_at", sa.DateTime),
            )
            when = dt.datetime(2026, 1, 5, 12, 0)
            with db.engine.begin() as conn:
                for user_id, kind, about in (
                    (teacher_id, "feedback_requested", entry_id),
                    (pupil_id, "guidance_recorded", None),
                ):
                    conn.execute(
                        note.insert().values(
                            school_id=school_id,
                            user_id=user_id,
                            kind=kind,
                            entry_id=about,
                            created_at=when,
                        )
                    )
            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT user_id, pupil_id, mailed_at IS NOT NULL FROM notification "
                        "ORDER BY id"
                    )
                ).all()
            assert [tuple(r) for r in rows] == [
                (teacher_id, pupil_id, True),
                (pupil_id, pupil_id, True),
            ]
        finally:
            db.session.remove()
            db.engine.dispose()
