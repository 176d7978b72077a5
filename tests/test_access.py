"""The access rules of portfolio/access.py, relation by relation."""

import pytest
import sqlalchemy as sa
from flask import g

from portfolio import access
from portfolio.access import Relation
from portfolio.extensions import db
from portfolio.models import Audience, Consent, Entry, utcnow


def _rels(user, pupil):
    g.pop("_pupil_access", None)
    return access.access_to(user, pupil).relations


def test_relations_of_every_kind_of_visitor(world):
    w = world
    expected = {
        "pupil": {Relation.SELF},
        "classmate": set(),
        "pupil_9b": set(),
        "other_pupil": set(),
        "teacher": {Relation.CLASS_TEACHER},
        "teacher_9b": set(),
        "other_teacher": set(),
        "stubo": {Relation.STUBO},
        "counsellor": {Relation.COUNSELLOR},
        "counsellor_no_consent": set(),
        "counsellor_unassigned": set(),
        "guardian": {Relation.GUARDIAN},
        "other_guardian": set(),
        "admin": {Relation.ADMIN},
    }
    for name, rels in expected.items():
        assert _rels(getattr(w, name), w.pupil) == rels, name
    # The counsellor without consent is assigned to the classmate, but has no access.
    assert _rels(w.counsellor_no_consent, w.classmate) == {Relation.COUNSELLOR_NO_CONSENT}
    assert not access.access_to(w.counsellor_no_consent, w.classmate).any


def test_withdrawn_consent_ends_counsellor_access(world):
    consent = db.session.scalar(sa.select(Consent))
    consent.withdrawn_at = utcnow()
    db.session.commit()
    assert _rels(world.counsellor, world.pupil) == {Relation.COUNSELLOR_NO_CONSENT}
    assert not access.access_to(world.counsellor, world.pupil).any


def test_private_content_is_the_pupils_alone(world):
    entry = Entry(
        school_id=world.school.id, pupil_id=world.pupil.id, kind="reflection", data={"title": "x"}
    )
    db.session.add(entry)
    db.session.commit()
    for name in VIEWERS:
        g.pop("_pupil_access", None)
        can = access.access_to(getattr(world, name), world.pupil).can_view_shared(entry)
        assert can is (name == "pupil"), name


VIEWERS = (
    "pupil",
    "classmate",
    "teacher",
    "teacher_9b",
    "other_teacher",
    "stubo",
    "counsellor",
    "counsellor_no_consent",
    "guardian",
    "other_guardian",
    "admin",
)


@pytest.mark.parametrize(
    "audience,readers",
    [
        (Audience.CLASS_TEACHER, {"teacher"}),
        (Audience.STUBO, {"stubo"}),
        (Audience.COUNSELLOR, {"counsellor"}),
        (Audience.GUARDIANS, {"guardian"}),
    ],
)
def test_each_audience_reads_what_was_shared_with_it_alone(world, audience, readers):
    """An entry and a document shared with one audience: its people read them, nobody
    else; the SQL form (lists) agrees with the rule for one object."""
    from tests.support.documents import add_document
    from tests.support.files import PDF

    entry = Entry(
        school_id=world.school.id, pupil_id=world.pupil.id, kind="goal", data={"goal": "x"}
    )
    entry.set_shared([audience])
    db.session.add(entry)
    document = add_document(world.pupil, PDF, "z.pdf", share=(audience.value,))
    db.session.commit()
    for name in VIEWERS:
        g.pop("_pupil_access", None)
        pupil_access = access.access_to(getattr(world, name), world.pupil)
        may = name == "pupil" or name in readers
        assert pupil_access.can_view_shared(entry) is may, (name, "entry")
        assert pupil_access.can_view_shared(document) is may, (name, "document")
        listed = db.session.scalars(
            sa.select(Entry.id)
            .where(Entry.pupil_id == world.pupil.id)
            .where(pupil_access.visible_clause(Entry))
        ).all()
        assert (listed == [entry.id]) is may, (name, "list")


def test_a_stubo_who_teaches_the_class_reads_both_teacher_audiences(world):
    from portfolio.models import Role

    world.teacher.add_role(Role.STUBO)
    db.session.commit()
    g.pop("_pupil_access", None)
    assert access.access_to(world.teacher, world.pupil).audiences == {
        Audience.CLASS_TEACHER,
        Audience.STUBO,
    }
    # On class overviews: both for the class taught, the StuBO's alone for another.
    assert access.class_audiences(world.teacher, world.class_9a.id) == {
        Audience.CLASS_TEACHER,
        Audience.STUBO,
    }
    assert access.class_audiences(world.teacher, world.class_9b.id) == {Audience.STUBO}
    assert access.class_audiences(world.stubo, world.class_9a.id) == {Audience.STUBO}
    assert access.class_audiences(world.teacher_9b, world.class_9a.id) == frozenset()


def test_readers_of_name_the_people_of_each_audience(world):
    readers = access.readers_of(world.pupil)
    assert [u.username for u in readers[Audience.CLASS_TEACHER]] == ["tina"]
    assert [u.username for u in readers[Audience.STUBO]] == ["stefan"]
    assert [u.username for u in readers[Audience.COUNSELLOR]] == ["conny"]
    assert [u.username for u in readers[Audience.GUARDIANS]] == ["gabi"]
    # Carl's counsellor has no consent: nobody reads what he shares with "the counsellor".
    assert access.readers_of(world.classmate)[Audience.COUNSELLOR] == []
    # The statement is built once; each pupil gets her own school's and class's people.
    other = access.readers_of(world.other_pupil)
    assert [u.username for u in other[Audience.CLASS_TEACHER]] == ["olga"]
    assert other[Audience.STUBO] == [] and other[Audience.GUARDIANS] == []
    assert [u.username for u in access.readers_of(world.pupil_9b)[Audience.CLASS_TEACHER]] != [
        "tina"
    ]


def test_load_pupil_hides_other_schools_and_unrelated(world):
    from werkzeug.exceptions import NotFound

    for user in (
        world.other_teacher,
        world.other_pupil,
        world.classmate,
        world.teacher_9b,
        world.counsellor_unassigned,
        world.other_guardian,
    ):
        g.pop("_pupil_access", None)
        with pytest.raises(NotFound):
            access.load_pupil(user, world.pupil.id)
    with pytest.raises(NotFound):
        access.load_pupil(world.teacher, 999999)
    with pytest.raises(NotFound):  # staff ids are not pupils
        access.load_pupil(world.stubo, world.teacher.id)


def test_loaders_answer_404_for_what_the_user_may_not_see_and_403_after(world):
    """The rule of 403 and 404 at the loaders (the access matrix checks every route)."""
    from werkzeug.exceptions import Forbidden, NotFound

    with pytest.raises(Forbidden):  # one's own pupil pages: a teacher has none
        access.load_pupil(world.teacher, world.teacher.id)
    # Accounts: a pupil without relation is not there; with one, managing is refused.
    with pytest.raises(NotFound):
        access.load_school_user(world.teacher_9b, world.pupil.id)
    with pytest.raises(Forbidden):
        access.load_school_user(world.teacher, world.pupil.id)
    with pytest.raises(Forbidden):  # staff accounts are known in the school
        access.load_school_user(world.teacher_9b, world.teacher.id)
    with pytest.raises(NotFound):
        access.load_school_user(world.admin, world.other_pupil.id)
    assert access.load_school_user(world.stubo, world.pupil.id).id == world.pupil.id
    # Classes: known in the own school, not there for another school.
    assert access.load_class(world.teacher_9b, world.class_9a.id).id == world.class_9a.id
    with pytest.raises(NotFound):
        access.load_class(world.other_teacher, world.class_9a.id)
    with pytest.raises(NotFound):
        access.load_class(world.teacher, 999999)


def test_list_queries(world):
    def ids(q):
        return set(db.session.scalars(q))

    assert ids(access.pupils_visible_to(world.teacher)) == {world.pupil.id, world.classmate.id}
    assert ids(access.pupils_visible_to(world.stubo)) == {
        world.pupil.id,
        world.classmate.id,
        world.pupil_9b.id,
    }
    assert ids(access.pupils_visible_to(world.counsellor)) == {world.pupil.id}
    assert ids(access.pupils_visible_to(world.counsellor_no_consent)) == set()
    assert ids(access.pupils_visible_to(world.guardian)) == {world.pupil.id}
    assert ids(access.pupils_visible_to(world.other_teacher)) == {world.other_pupil.id}
    assert ids(access.pupils_visible_to(world.pupil)) == {world.pupil.id}


def test_audiences(world):
    g.pop("_pupil_access", None)
    assert access.access_to(world.teacher, world.pupil).audiences == {Audience.CLASS_TEACHER}
    assert access.access_to(world.stubo, world.pupil).audiences == {Audience.STUBO}
    assert access.access_to(world.counsellor, world.pupil).audiences == {Audience.COUNSELLOR}
    assert access.access_to(world.guardian, world.pupil).audiences == {Audience.GUARDIANS}
    assert access.access_to(world.admin, world.pupil).audiences == frozenset()


def test_teacher_of_last_year_loses_access_after_rollover(world):
    from portfolio.models import SchoolYear

    year = db.session.scalar(sa.select(SchoolYear).where(SchoolYear.school_id == world.school.id))
    year.is_current = False
    db.session.add(
        SchoolYear(
            school_id=world.school.id,
            name="2099/00",
            starts_on=year.ends_on,
            ends_on=year.ends_on,
            is_current=True,
        )
    )
    db.session.commit()
    assert _rels(world.teacher, world.pupil) == set()
