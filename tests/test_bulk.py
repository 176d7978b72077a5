"""The bulk data generator behind benchmarks and load tests."""

import sqlalchemy as sa

from portfolio.bulk import seed_bulk
from portfolio.extensions import db
from portfolio.models import Agreement, ClassMembership, Entry, User


def test_seed_bulk_creates_realistic_schools(app):
    stats = seed_bulk(2, 30, class_size=10, files=True)
    assert stats.schools == 2 and stats.pupils == 60
    count = lambda m: db.session.scalar(sa.select(sa.func.count()).select_from(m))  # noqa: E731
    assert count(ClassMembership) == 60
    assert count(Entry) == stats.entries >= 60 * 3
    assert count(Agreement) == stats.agreements > 0
    kinds = set(db.session.scalars(sa.select(Entry.kind).distinct()))
    assert {"strengths", "potenzialanalyse", "berufsfelderkundung", "praktikum", "goal"} <= kinds
    # A generated pupil can log in with the shared password.
    pupil = db.session.scalar(sa.select(User).where(User.username.like("bulk%.p%")))
    assert pupil.check_password("Bulk-Berufswahl-26")
    # Running it again adds new schools rather than clashing.
    assert seed_bulk(1, 5, files=False).school_ids[0] not in stats.school_ids
