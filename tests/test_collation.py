"""Names sort as German readers expect (DIN 5007-1) in SQL and in Python, on both databases:
Nowak, Öztürk, Petrov; Şahin among the S; ß as ss; never Ö and Ş after Z."""

from __future__ import annotations

import re
from types import SimpleNamespace

import sqlalchemy as sa

from portfolio import collation
from portfolio.extensions import db
from portfolio.models import Role, User
from tests.support.world import make_user

#: The order a German class list has (DIN 5007-1).
EXPECTED = ["Nowak", "Öztürk", "Petrov", "Şahin", "Schmidt", "Strauß", "Zimmer"]
SHUFFLED = ["Zimmer", "Şahin", "Petrov", "Strauß", "Öztürk", "Schmidt", "Nowak"]


def _people(names):
    return [SimpleNamespace(last_name=n, first_name="Alex", id=i) for i, n in enumerate(names, 1)]


def test_python_sorts_in_german_order():
    assert [p.last_name for p in collation.by_name(_people(SHUFFLED))] == EXPECTED
    # ß sorts as ss; Ö as O, the accent deciding only between otherwise equal names.
    assert collation.compare("Strauß", "Strausz") < 0
    assert [p.last_name for p in collation.by_name(_people(["Om", "Öl", "Ol"]))] == [
        "Ol",
        "Öl",
        "Om",
    ]
    # The first name decides among equal last names, then the id.
    people = [
        SimpleNamespace(last_name="Kaya", first_name=f, id=i)
        for i, f in enumerate(["Zeynep", "Çağla", "Can"], 1)
    ]
    assert [p.first_name for p in collation.by_name(people)] == ["Çağla", "Can", "Zeynep"]


def _make_class(world):
    for i, last in enumerate(SHUFFLED):
        make_user(
            world.school,
            [Role.PUPIL],
            "Alex",
            last,
            cls=world.class_9b,
            username=f"name{i}",
        )
    db.session.commit()


def test_sql_sorts_in_german_order_and_agrees_with_python(world):
    _make_class(world)
    in_sql = db.session.scalars(
        sa.select(User.last_name)
        .where(User.last_name.in_(SHUFFLED))
        .order_by(*collation.name_order(User))
    ).all()
    assert in_sql == EXPECTED
    users = db.session.scalars(sa.select(User).where(User.last_name.in_(SHUFFLED))).all()
    assert [u.last_name for u in collation.by_name(users)] == EXPECTED


def _names_in(html: str) -> list[str]:
    found = re.findall(r"\b(Nowak|Öztürk|Petrov|Şahin|Schmidt|Strauß|Zimmer), Alex", html)
    return list(dict.fromkeys(found))


def test_pages_list_names_in_german_order(world, client_for):
    """Class overview (Python sort), account list and login slips (SQL), on this database."""
    _make_class(world)
    teacher = client_for(world.teacher_9b)
    overview = teacher.get(f"/review/classes/{world.class_9b.id}").get_data(as_text=True)
    assert _names_in(overview) == EXPECTED
    backwards = teacher.get(f"/review/classes/{world.class_9b.id}?sort=name&dir=desc")
    assert _names_in(backwards.get_data(as_text=True)) == EXPECTED[::-1]
    slips = teacher.get(f"/admin/classes/{world.class_9b.id}/slips").get_data(as_text=True)
    assert _names_in(slips) == EXPECTED
    admin = client_for(world.admin)
    accounts = admin.get(f"/admin/accounts?kind=pupils&class_id={world.class_9b.id}")
    assert _names_in(accounts.get_data(as_text=True)) == EXPECTED
