"""One owner of the transaction (portfolio/transaction.py): the request commits once, a
failed commit is told as such, a replayed form submission counts once, and a pupil has one
entry of a single-entry kind even when two tabs save at the same moment."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
import re
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portfolio import transaction
from portfolio.documents import services as documents
from portfolio.documents.uploads import check_upload
from portfolio.extensions import db
from portfolio.kinds import SPECS
from portfolio.models import (
    SINGLE_ENTRY_KINDS,
    Document,
    Entry,
    GuidanceRecord,
    Notification,
    Submission,
    utcnow,
)
from portfolio.pupil import services as pupil_services
from portfolio.storage import get_storage
from tests.support.database import separate_database_url
from tests.support.files import pdf_bytes
from tests.support.world import PASSWORD

KEY = re.compile(r'name="submission_key" value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d*)"|value="(\d*)"[^>]*name="version"')


def _key(html: str) -> str:
    return KEY.search(html).group(1)


def _entries(**where) -> list[Entry]:
    db.session.expire_all()
    query = sa.select(Entry).order_by(Entry.id)
    for name, value in where.items():
        query = query.where(getattr(Entry, name) == value)
    return list(db.session.scalars(query))


def _texts(kind: str = "reflection") -> list[str]:
    return [e.data.get("text") for e in _entries(kind=kind)]


@pytest.fixture
def entry(world):
    e = Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="reflection",
        data={"title": "Tag", "text": "Anfang"},
    )
    db.session.add(e)
    db.session.commit()
    return e


@contextlib.contextmanager
def commits():
    """The COMMITs the database receives meanwhile."""
    seen: list[int] = []

    def on_commit(_conn):
        seen.append(1)

    event.listen(db.engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "commit", on_commit)


@contextlib.contextmanager
def on_session(name: str, fn):
    """A Session event listener for the duration of the block (every request's session)."""
    event.listen(Session, name, fn)
    try:
        yield
    finally:
        event.remove(Session, name, fn)


class ServerLikeClient(FlaskClient):
    """Each request in a thread of its own, as on a server: every run of it, and the retry
    layer's run again, gets fresh request and app contexts (the suite's own clients share
    the test's app context between the runs of one request)."""

    def open(self, *args, **kwargs):
        box: dict = {}

        def run():
            try:
                box["response"] = FlaskClient.open(self, *args, **kwargs)
            except BaseException as error:  # noqa: BLE001  (raised in the test's thread)
                box["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=120)
        if "error" in box:
            raise box["error"]
        return box["response"]


@pytest.fixture
def server_client(app):
    def make(user):
        client = ServerLikeClient(app, app.response_class, use_cookies=True)
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return make


class _Lost(Exception):
    def __str__(self):
        return "server closed the connection unexpectedly"


def _lost_connection() -> OperationalError:
    return OperationalError("COMMIT", {}, _Lost(), connection_invalidated=True)


def _once(error_factory):
    """A listener that raises once, then lets everything pass."""
    calls = {"n": 0}

    def listener(*_args):
        calls["n"] += 1
        if calls["n"] == 1:
            raise error_factory()

    return listener, calls


# -- one COMMIT per request ---------------------------------------------------------------
def test_a_request_commits_once_and_a_read_not_at_all(world, entry, client_for):
    pupil = client_for(world.pupil)
    with commits() as seen:
        assert pupil.get(f"/portfolio/entry/{entry.id}").status_code == 200
    assert seen == []  # a page that writes nothing sends no COMMIT

    with commits() as seen:
        saved = pupil.post(
            f"/portfolio/entry/{entry.id}/edit",
            data={"title": "Tag", "text": "Neu", "version": "1"},
        )
    assert saved.status_code == 302 and len(seen) == 1
    assert _entries(id=entry.id)[0].data["text"] == "Neu"

    # A page that writes (reading news marks it read) commits too: once.
    db.session.add(
        Notification(
            school_id=world.school.id, user_id=world.pupil.id, kind="comment", entry_id=entry.id
        )
    )
    db.session.commit()
    with commits() as seen:
        assert pupil.get(f"/portfolio/entry/{entry.id}").status_code == 200
    assert len(seen) == 1
    assert db.session.scalar(sa.select(Notification.read_at)) is not None


def test_a_guidance_record_and_its_notification_are_one_commit(world, client_for):
    teacher = client_for(world.teacher)
    with commits() as seen:
        response = teacher.post(
            f"/guidance/pupil/{world.pupil.id}/new",
            data={
                "held_on": "2026-03-02",
                "participants": "Paula, Frau Teacher",
                "topics": "Praktikum",
                "next_steps-0-text": "Bewerbung schreiben",
                "next_steps-0-due_on": "",
            },
        )
    assert response.status_code == 302 and len(seen) == 1
    assert db.session.scalar(sa.select(sa.func.count(GuidanceRecord.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1
    assert len(_entries(kind="goal")) == 1


# -- a failed request keeps nothing and says so --------------------------------------------
def test_a_failing_commit_shows_the_conflict_page_and_no_success_message(world, entry, client_for):
    pupil = client_for(world.pupil)
    listener, _calls = _once(
        lambda: StaleDataError("UPDATE statement on table 'entry' expected to update 1 row")
    )
    with on_session("before_commit", listener):
        response = pupil.post(
            f"/portfolio/entry/{entry.id}/edit",
            data={"title": "Tag", "text": "Verloren?", "version": "1"},
        )
    assert response.status_code == 409
    assert "Not saved" in response.get_data(as_text=True)
    stored = _entries(id=entry.id)[0]
    assert stored.data["text"] == "Anfang" and stored.version == 1
    # The "Saved." of the failed request is gone, and the browser keeps its draft.
    page = pupil.get(f"/portfolio/entry/{entry.id}").get_data(as_text=True)
    assert "Saved." not in page and "data-draft-saved" not in page


def test_a_write_that_meets_a_concurrent_one_shows_the_conflict_page(
    world, entry, client_for, monkeypatch
):
    """A real StaleDataError: the entry changed between loading and writing it."""
    original = pupil_services.set_status

    def racing(target, done):
        with db.engine.begin() as conn:  # another request, committed first
            conn.execute(
                sa.update(Entry.__table__)
                .where(Entry.__table__.c.id == target.id)
                .values(version=Entry.__table__.c.version + 1)
            )
        original(target, done)

    monkeypatch.setattr(pupil_services, "set_status", racing)
    pupil = client_for(world.pupil)
    response = pupil.post(f"/portfolio/entry/{entry.id}/status", data={"done": "1"})
    assert response.status_code == 409
    assert _entries(id=entry.id)[0].status != "done"
    assert "Marked as finished." not in pupil.get(f"/portfolio/entry/{entry.id}").get_data(
        as_text=True
    )


# -- replays: a submission counts once ------------------------------------------------------
def _new_reflection_form(client) -> str:
    return _key(client.get("/portfolio/kind/reflection/new").get_data(as_text=True))


def test_a_committed_post_whose_answer_was_lost_is_answered_with_its_first_outcome(
    world, server_client
):
    """The connection breaks right after COMMIT: the retry finds the key and answers with
    the first run's redirect and message, and writes nothing twice."""
    pupil = server_client(world.pupil)
    key = _new_reflection_form(pupil)
    listener, calls = _once(_lost_connection)
    with on_session("after_commit", listener):
        response = pupil.post(
            "/portfolio/kind/reflection/new",
            data={"title": "Tag", "text": "Nur einmal", "version": "", "submission_key": key},
        )
    assert calls["n"] == 1  # the retry did not commit again
    assert response.status_code == 302
    assert _texts() == ["Nur einmal"]
    created = _entries(kind="reflection")[0]
    assert response.location.endswith(f"/portfolio/entry/{created.id}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    page = pupil.get(response.location).get_data(as_text=True)
    assert "Saved." in page and 'data-draft-saved="new-reflection"' in page


def test_a_saved_edit_whose_answer_was_lost_is_not_a_false_conflict(world, entry, server_client):
    pupil = server_client(world.pupil)
    key = _key(pupil.get(f"/portfolio/entry/{entry.id}/edit").get_data(as_text=True))
    listener, _calls = _once(_lost_connection)
    with on_session("after_commit", listener):
        response = pupil.post(
            f"/portfolio/entry/{entry.id}/edit",
            data={"title": "Tag", "text": "Gespeichert", "version": "1", "submission_key": key},
        )
    assert response.status_code == 302  # not 409 "changed elsewhere"
    stored = _entries(id=entry.id)[0]
    assert stored.data["text"] == "Gespeichert" and stored.version == 2


def test_a_post_that_lost_its_connection_before_commit_runs_again_once(
    world, server_client, monkeypatch
):
    original = pupil_services.create_entry
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise _lost_connection()
        return original(*args, **kwargs)

    monkeypatch.setattr(pupil_services, "create_entry", flaky)
    pupil = server_client(world.pupil)
    response = pupil.post(
        "/portfolio/kind/reflection/new", data={"title": "T", "text": "Ohne Schlüssel"}
    )
    assert response.status_code == 302 and calls["n"] == 2
    assert _texts() == ["Ohne Schlüssel"]


def test_a_commit_that_failed_runs_again_once_when_its_key_is_not_stored(world, server_client):
    """The COMMIT was sent but did not happen: the key is not stored, which proves it,
    so the retry runs the submission again."""
    pupil = server_client(world.pupil)
    key = _new_reflection_form(pupil)
    listener, calls = _once(_lost_connection)
    with on_session("before_commit", listener):
        response = pupil.post(
            "/portfolio/kind/reflection/new",
            data={"title": "T", "text": "Zweiter Versuch", "submission_key": key},
        )
    assert response.status_code == 302 and calls["n"] == 2
    assert _texts() == ["Zweiter Versuch"]


def test_without_a_key_an_unsure_commit_is_not_repeated(world, server_client):
    """No key, COMMIT sent, connection lost: running it again might write twice. The
    user is asked to look instead."""
    pupil = server_client(world.pupil)
    listener, calls = _once(_lost_connection)
    with on_session("before_commit", listener):
        response = pupil.post(
            "/portfolio/kind/reflection/new", data={"title": "T", "text": "Unklar"}
        )
    assert response.status_code == 503 and calls["n"] == 1
    assert "X-Portfolio-Retry" not in response.headers
    assert "We cannot tell whether what you just sent was saved" in response.get_data(as_text=True)


def test_a_form_sent_twice_is_saved_once(world, client_for):
    """The browser sends the same form again (back button, reload, double click)."""
    pupil = client_for(world.pupil)
    key = _new_reflection_form(pupil)
    data = {"title": "T", "text": "Doppelt gesendet", "submission_key": key}
    first = pupil.post("/portfolio/kind/reflection/new", data=data)
    again = pupil.post("/portfolio/kind/reflection/new", data=data)
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    assert _texts() == ["Doppelt gesendet"]
    assert "Saved." in pupil.get(again.location).get_data(as_text=True)


def test_two_renders_carry_different_keys_and_a_failed_form_keeps_none(world, client_for):
    pupil = client_for(world.pupil)
    assert _new_reflection_form(pupil) != _new_reflection_form(pupil)
    key = _new_reflection_form(pupil)
    # Nothing saved (the date is missing): the key is not used up.
    bad = pupil.post(
        "/portfolio/kind/potenzialanalyse/new",
        data={"provider": "Bildungswerk", "submission_key": key},
    )
    assert bad.status_code == 200 and "Bildungswerk" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0


def test_concurrent_submissions_of_the_same_form_one_runs_the_other_gets_its_answer(
    world, client_for
):
    phone, tab = client_for(world.pupil), client_for(world.pupil)
    key = _new_reflection_form(phone)
    data = {"title": "T", "text": "Gleichzeitig", "submission_key": key}
    start = threading.Barrier(2, timeout=10)
    results: list = [None, None]

    def send(i, client):
        start.wait()
        results[i] = client.post("/portfolio/kind/reflection/new", data=data)

    threads = [threading.Thread(target=send, args=(i, c)) for i, c in enumerate((phone, tab))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r.status_code for r in results] == [302, 302]
    assert results[0].location == results[1].location
    assert _texts() == ["Gleichzeitig"]


def test_a_key_answers_only_the_user_who_sent_it(world, client_for):
    pupil, classmate = client_for(world.pupil), client_for(world.classmate)
    key = _new_reflection_form(pupil)
    pupil.post(
        "/portfolio/kind/reflection/new", data={"title": "T", "text": "A", "submission_key": key}
    )
    other = classmate.post(
        "/portfolio/kind/reflection/new", data={"title": "T", "text": "B", "submission_key": key}
    )
    assert other.status_code == 409 and "This was sent already" in other.get_data(as_text=True)
    assert _texts() == ["A"]


def test_purge_expired_deletes_old_keys(world, runner):
    db.session.add_all(
        [
            Submission(key="a" * 32, created_at=utcnow() - dt.timedelta(days=2), outcome={}),
            Submission(key="b" * 32, created_at=utcnow(), outcome={}),
        ]
    )
    db.session.commit()
    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired submission key(s)" in result.output
    db.session.expire_all()
    assert db.session.scalars(sa.select(Submission.key)).all() == ["b" * 32]


# -- single-entry kinds ---------------------------------------------------------------------
def test_the_database_rule_covers_exactly_the_single_entry_kinds():
    """kinds.py derives SINGLE_ENTRY_KINDS from `repeatable`; the index the migrations made
    must cover the same kinds (a kind that becomes single needs a migration of the index)."""
    assert {s.kind for s in SPECS.values() if not s.repeatable} == set(SINGLE_ENTRY_KINDS)
    versions = Path(__file__).resolve().parents[1] / "portfolio/migrations/versions"
    path = next(versions.glob("*_dfd3004dead6_*.py"))
    spec = importlib.util.spec_from_file_location("single_entry_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert set(migration.SINGLE_ENTRY_KINDS) == {k.value for k in SINGLE_ENTRY_KINDS}
    [index] = [i for i in Entry.__table__.indexes if i.name == "uq_entry_single_kind"]
    where = str(index.dialect_options["postgresql"]["where"])
    assert where == migration.WHERE


def _cv(world, text: str, copy_no: int = 0) -> Entry:
    return Entry(
        school_id=world.school.id,
        pupil_id=world.pupil.id,
        kind="cv",
        data={"address": text},
        copy_no=copy_no,
    )


def test_the_database_refuses_a_second_entry_of_a_single_entry_kind(world):
    db.session.add(_cv(world, "eins"))
    db.session.commit()
    db.session.add(_cv(world, "zwei"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Numbered copies from before the rule are allowed; other pupils and kinds too.
    db.session.add(_cv(world, "alt", copy_no=1))
    db.session.add(
        Entry(school_id=world.school.id, pupil_id=world.classmate.id, kind="cv", data={})
    )
    db.session.add(Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="goal"))
    db.session.add(Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="goal"))
    db.session.commit()


def _cv_form(client, text: str) -> dict:
    page = client.get("/portfolio/kind/cv/new").get_data(as_text=True)
    return {"address": text, "version": "", "submission_key": _key(page)}


def test_a_cv_created_in_two_tabs_keeps_the_second_tabs_text(world, client_for):
    pupil = client_for(world.pupil)
    first_tab, second_tab = _cv_form(pupil, "Paula Erste"), _cv_form(pupil, "Paula Zweite")
    assert pupil.post("/portfolio/kind/cv/new", data=first_tab).status_code == 302

    response = pupil.post("/portfolio/kind/cv/new", data=second_tab)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "you have this entry already" in html
    assert "Paula Erste" in html  # what is saved, shown beside ...
    assert "Paula Zweite" in html  # ... what this tab typed, still in the form
    (cv,) = _entries(kind="cv")
    assert cv.data["address"] == "Paula Erste"
    # The form now saves onto the saved CV, knowingly.
    assert f'action="/portfolio/entry/{cv.id}/edit"' in html
    version = VERSION.search(html)
    assert (version.group(1) or version.group(2)) == str(cv.version)
    again = pupil.post(
        f"/portfolio/entry/{cv.id}/edit",
        data={"address": "Paula Zweite", "version": str(cv.version), "submission_key": _key(html)},
    )
    assert again.status_code == 302
    assert [e.data["address"] for e in _entries(kind="cv")] == ["Paula Zweite"]


def test_two_cvs_saved_at_the_same_instant_make_one_entry(world, client_for, monkeypatch):
    """Both requests find no CV, then both insert: the database's rule decides."""
    both_checked = threading.Barrier(2, timeout=10)
    original = pupil_services.single_entry
    waited = threading.local()

    def check_then_wait(pupil_id, kind):
        found = original(pupil_id, kind)
        if not getattr(waited, "done", False):
            waited.done = True
            both_checked.wait()
        return found

    monkeypatch.setattr(pupil_services, "single_entry", check_then_wait)
    tabs = [client_for(world.pupil), client_for(world.pupil)]
    texts = ["Gleichzeitig A", "Gleichzeitig B"]
    results: list = [None, None]

    def save(i):
        results[i] = tabs[i].post(
            "/portfolio/kind/cv/new", data={"address": texts[i], "version": ""}
        )

    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status_code for r in results) == [302, 409]
    (cv,) = _entries(kind="cv")
    winner = texts.index(cv.data["address"])
    loser_page = results[1 - winner].get_data(as_text=True)
    assert texts[winner] in loser_page and texts[1 - winner] in loser_page


def test_older_copies_are_kept_and_the_pupil_is_asked_to_keep_one(world, client_for):
    db.session.add_all([_cv(world, "Lebenslauf eins"), _cv(world, "Lebenslauf zwei", copy_no=1)])
    db.session.commit()
    pupil = client_for(world.pupil)
    page = pupil.get("/portfolio/kind/cv").get_data(as_text=True)
    assert "You have more than one of these" in page
    first = _entries(kind="cv")[0]
    assert pupil.get("/portfolio/kind/cv/new").location.endswith(
        f"/portfolio/entry/{first.id}/edit"
    )


# -- effects outside the database --------------------------------------------------------
def _document(world) -> Document:
    checked = check_upload(pdf_bytes(), "Zeugnis.pdf")
    doc = documents.create_document(
        world.pupil, world.pupil, checked, category="certificate", title="Zeugnis"
    )
    db.session.commit()
    return doc


def test_a_stored_file_goes_only_when_its_deletion_is_committed(world, client_for):
    doc = _document(world)
    path = get_storage().path(doc.storage_key)
    pupil = client_for(world.pupil)
    assert path.exists()
    listener, _calls = _once(lambda: StaleDataError("document changed meanwhile"))
    with on_session("before_commit", listener):
        assert pupil.post(f"/documents/{doc.id}/delete").status_code == 409
    assert path.exists() and db.session.get(Document, doc.id) is not None
    assert pupil.post(f"/documents/{doc.id}/delete").status_code == 302
    assert not path.exists()


def test_an_upload_whose_row_is_not_kept_leaves_no_file(world, client_for):
    pupil = client_for(world.pupil)
    before = set(get_storage().path("x").parent.glob("**/*"))
    listener, _calls = _once(lambda: StaleDataError("collision"))
    with on_session("before_commit", listener):
        response = pupil.post(
            "/documents/upload",
            data={
                "title": "Foto",
                "category": "other",
                "file": (io.BytesIO(pdf_bytes()), "a.pdf"),
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    assert set(get_storage().path("x").parent.glob("**/*")) == before


def test_atomic_commits_the_block_or_nothing_and_runs_effects_after_commit(world):
    done: list[str] = []
    with transaction.atomic():
        world.pupil.first_name = "Paulina"
        # It runs after the COMMIT and may read (the committed name, loaded again).
        transaction.after_commit(lambda: done.append(f"mail to {world.pupil.first_name}"))
        transaction.on_rollback(lambda: done.append("undo"))
        assert done == []
    assert done == ["mail to Paulina"]
    with pytest.raises(RuntimeError), transaction.atomic():
        world.pupil.first_name = "Nie"
        transaction.after_commit(lambda: done.append("never"))
        transaction.on_rollback(lambda: done.append("undone"))
        raise RuntimeError("boom")
    assert done == ["mail to Paulina", "undone"]
    db.session.expire_all()
    assert world.pupil.first_name == "Paulina"


def test_atomic_is_refused_inside_a_request(app, client, monkeypatch):
    seen = {}
    original = app.view_functions["main.healthz"]

    def healthz():
        try:
            with transaction.atomic():
                pass
        except RuntimeError as error:
            seen["error"] = str(error)
        return original()

    monkeypatch.setitem(app.view_functions, "main.healthz", healthz)
    assert client.get("/healthz").status_code == 200
    assert "the request commits" in seen["error"]


# -- the migration --------------------------------------------------------------------------
def test_the_migration_keeps_existing_copies_and_numbers_them(tmp_path):
    """Pupils who saved a CV twice before the rule keep both: the oldest stays the entry,
    the others are numbered; the unique index holds from then on."""
    from flask_migrate import downgrade, upgrade

    from portfolio import accounts, create_app
    from portfolio.models import Role

    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": separate_database_url(tmp_path, "portfolio_migrate"),
            "SECRET_KEY": "x" * 32,
        }
    )
    with other.app_context():
        try:
            upgrade()
            with transaction.atomic():
                school = accounts.create_school("Altschule", "177777", "Realschule", "Olpe")
                pupil, _pw = accounts.create_user(
                    school, roles=[Role.PUPIL], first_name="Ali", last_name="Alt"
                )
                school_id, pupil_id = school.id, pupil.id
            db.session.close()  # no open transaction may hold locks while tables are dropped
            downgrade(revision="dfd3004dead6-1")  # the schema before the rule
            names = (
                "school_id",
                "pupil_id",
                "kind",
                "title",
                "data",
                "status",
                "review_state",
                "share_class_teacher",
                "share_stubo",
                "asked_class_teacher",
                "asked_stubo",
                "asked_counsellor",
                "edited_at",
                "share_counsellor",
                "share_guardians",
                "version",
            )
            entry = sa.table(
                "entry",
                *(sa.column(c) for c in names),
                sa.column("created_at", sa.DateTime),
                sa.column("updated_at", sa.DateTime),
            )
            base = dt.datetime(2026, 1, 1)
            rows = [("cv", 3), ("goal", 0), ("cv", 1), ("potenzialanalyse", 2), ("cv", 2)]
            with db.engine.begin() as conn:
                for kind, day in rows:
                    when = base + dt.timedelta(days=day)
                    conn.execute(
                        entry.insert().values(
                            school_id=school_id,
                            pupil_id=pupil_id,
                            kind=kind,
                            title=f"{kind} {day}",
                            data="{}",
                            created_at=when,
                            updated_at=when,
                            status="in_progress",
                            review_state="none",
                            share_class_teacher=False,
                            share_stubo=False,
                            asked_class_teacher=False,
                            asked_stubo=False,
                            asked_counsellor=False,
                            edited_at=when,
                            share_counsellor=False,
                            share_guardians=False,
                            version=1,
                        )
                    )
            upgrade()
            with db.engine.connect() as conn:
                numbered = conn.execute(
                    sa.text("SELECT title, copy_no FROM entry ORDER BY kind, copy_no")
                ).all()
                assert [tuple(r) for r in numbered] == [
                    ("cv 1", 0),  # the oldest stays the entry
                    ("cv 2", 1),
                    ("cv 3", 2),
                    ("goal 0", 0),
                    ("potenzialanalyse 2", 0),
                ]
            db.session.add(Entry(school_id=school_id, pupil_id=pupil_id, kind="cv", data={}))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()
        finally:
            db.session.remove()
            db.engine.dispose()


# -- a lost connection is told from other database errors ------------------------------------
@pytest.mark.parametrize(
    ("message", "lost"),
    [
        # What psycopg said while the fault test restarted PostgreSQL.
        (
            'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
            "Connection reset by peer",
            True,
        ),
        ("server closed the connection unexpectedly", True),
        ("the database system is starting up", True),
        ("could not send data to server: Broken pipe", True),
        ('duplicate key value violates unique constraint "pk_entry"', False),
        ("canceling statement due to lock timeout", False),
    ],
)
def test_a_lost_connection_is_told_from_other_errors(message, lost):
    from portfolio import resilience

    error = sa.exc.OperationalError("SELECT 1", {}, Exception(message))
    assert resilience.is_disconnect(error) is lost
