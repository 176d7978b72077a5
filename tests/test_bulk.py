"""The bulk data generator behind benchmarks and load tests."""

import sqlalchemy as sa

from portfolio import access, progress
from portfolio.extensions import db
from portfolio.kinds import SPECS
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    ClassMembership,
    Comment,
    CounsellorAssignment,
    Document,
    Entry,
    GuardianLink,
    GuidanceRecord,
    Notification,
    Role,
    User,
)
from portfolio.seed.bulk import seed_bulk
from portfolio.storage import get_storage


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_seed_bulk_creates_realistic_schools(app):
    stats = seed_bulk(2, 50, class_size=10, files=True)
    assert stats.schools == 2 and stats.pupils == 100
    assert count(ClassMembership) == 100
    assert count(Entry) == stats.entries >= 100 * 3
    # Every kind of entry the portfolio knows appears.
    kinds = set(db.session.scalars(sa.select(Entry.kind).distinct()))
    assert {k.value for k in SPECS} <= kinds
    # Staff work, families and files.
    assert count(Comment) == stats.comments > 0
    assert count(Notification) == stats.notifications > stats.comments
    assert count(Notification, Notification.comment_id.is_not(None)) == stats.comments
    assert count(Agreement) == stats.agreements > 0
    assert count(AgreementSignature) > 0
    assert count(GuidanceRecord) == stats.guidance > 0
    assert count(GuardianLink) == 50
    assert count(CounsellorAssignment) > 0
    assert count(AssessmentRequest) == count(Entry, Entry.kind == "external_assessment")
    assert count(Document) == stats.documents > 0
    doc = db.session.scalar(sa.select(Document).limit(1))
    assert get_storage().read(doc.storage_key).startswith(b"\x89PNG")
    # Every school-owned row stays in its school.
    for model in (Entry, Comment, Notification, Document, Agreement, GuidanceRecord):
        assert count(model, model.school_id.not_in(stats.school_ids)) == 0
    # A generated pupil can log in with the shared password.
    pupil = db.session.scalar(sa.select(User).where(User.username.like("bulk%.p%")))
    assert pupil.check_password("Bulk-Berufswahl-26")
    # Running it again adds new schools rather than clashing.
    assert seed_bulk(1, 5, files=False).school_ids[0] not in stats.school_ids


def test_seed_bulk_data_fits_the_access_rules(app):
    """Teachers see their class, counsellors their assigned pupils, guardians their child."""
    stats = seed_bulk(1, 30, class_size=10, files=False, grades=("9",), counsellors=1)
    school_id = stats.school_ids[0]
    pupils = list(
        db.session.scalars(
            sa.select(User.id).where(User.school_id == school_id, User.username.like("%.p%"))
        )
    )
    teacher = db.session.scalar(sa.select(User).where(User.username.like("%.t0")))
    assert len(set(db.session.scalars(access.taught_pupils(teacher)))) == 10
    counsellor = db.session.scalar(sa.select(User).where(User.username.like("%.c0")))
    assert counsellor.has_role(Role.COUNSELLOR)
    assert set(db.session.scalars(access.counselled_pupils(counsellor, with_consent=None))) == set(
        pupils
    )
    guardian = db.session.scalar(sa.select(User).where(User.username.like("%.g0")))
    (child,) = db.session.scalars(access.pupils_visible_to(guardian))
    assert access.access_to(guardian, db.session.get(User, child)).is_guardian
    states = progress.of_pupils(school_id, pupils)
    placements = [
        step for p in states.values() for step in p.current.steps if step.key == "praktikum"
    ]
    assert any(step.state in (progress.DONE, progress.IN_PROGRESS) for step in placements)
