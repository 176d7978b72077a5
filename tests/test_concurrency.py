"""Issue 8: two sessions save the same entry at the same moment -> one wins, the other is
told (conflict page, 409), nothing is overwritten silently. Proved with real concurrent
requests (threads, each with its own database connection), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import Entry
from portfolio.pupil import services


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


def _version(html: str) -> str:
    return re.search(
        r'name="version"[^>]*value="(\d*)"|value="(\d*)"[^>]*name="version"', html
    ).group(1)


def _race(clients, entry_id, texts, before_post=None):
    """Both clients open the form, then post at the same moment. -> [(status, text)]"""
    versions = [
        _version(c.get(f"/portfolio/entry/{entry_id}/edit").get_data(as_text=True)) for c in clients
    ]
    assert versions[0] == versions[1]
    start = threading.Barrier(len(clients), timeout=10)
    results: list = [None] * len(clients)

    def save(i):
        start.wait()
        response = clients[i].post(
            f"/portfolio/entry/{entry_id}/edit",
            data={"title": "Tag", "text": texts[i], "version": versions[i]},
        )
        results[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, int(versions[0])


def _stored(entry_id) -> Entry:
    db.session.expire_all()
    return db.session.get(Entry, entry_id)


def _check(results, texts, entry_id, version_before):
    statuses = sorted(r[0] for r in results)
    assert statuses == [302, 409], statuses
    winner = next(i for i, r in enumerate(results) if r[0] == 302)
    loser = 1 - winner
    stored = _stored(entry_id)
    assert stored.data["text"] == texts[winner]
    assert stored.version == version_before + 1
    page = results[loser][1]
    # The loser is told, sees what was saved, and keeps what they typed.
    assert texts[loser] in page and texts[winner] in page


def test_simultaneous_saves_one_wins_the_other_is_told(world, entry, client_for):
    phone, laptop = client_for(world.pupil), client_for(world.pupil)
    for round_ in range(8):
        texts = [f"Handy {round_}", f"Laptop {round_}"]
        results, version = _race([phone, laptop], entry.id, texts)
        _check(results, texts, entry.id, version)


def test_both_pass_the_version_check_before_either_writes(world, entry, client_for, monkeypatch):
    """The narrowest race: both requests have checked the version (both saw 1) before
    either UPDATE runs. The optimistic lock in the UPDATE (version_id_col) decides."""
    both_checked = threading.Barrier(2, timeout=10)
    original = services.apply_data

    def apply_after_both_checked(entry_, data):
        both_checked.wait()
        return original(entry_, data)

    monkeypatch.setattr(services, "apply_data", apply_after_both_checked)
    phone, laptop = client_for(world.pupil), client_for(world.pupil)
    texts = ["Vom Handy", "Vom Laptop"]
    results, version = _race([phone, laptop], entry.id, texts)
    _check(results, texts, entry.id, version)


def test_many_writers_exactly_one_wins(world, entry, client_for):
    clients = [client_for(world.pupil) for _ in range(4)]
    texts = [f"Geraet {i}" for i in range(4)]
    results, version = _race(clients, entry.id, texts)
    statuses = sorted(r[0] for r in results)
    assert statuses == [302, 409, 409, 409], statuses
    winner = next(i for i, r in enumerate(results) if r[0] == 302)
    stored = _stored(entry.id)
    assert stored.data["text"] == texts[winner] and stored.version == version + 1
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 1
