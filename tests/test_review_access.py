"""Who may open which staff review page: the access matrix of issue 4."""

import pytest

from portfolio import access
from portfolio.extensions import db
from portfolio.models import Entry, Role, utcnow

pytestmark = pytest.mark.usefixtures("english_users")


def _entry(world, pupil, **kw):
    entry = Entry(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        kind="praktikum",
        data={"company": "Tischlerei Müller"},
        share_class_teacher=True,
        share_stubo=True,
        share_counsellor=True,
        **kw,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def test_class_overview_of_an_unknown_class_is_404(world, client_for):
    assert client_for(world.teacher).get("/review/classes/999999").status_code == 404


def test_teacher_of_8a_sees_nothing_of_9a(world, client_for):
    page = client_for(world.teacher_9b).get(f"/review/classes/{world.class_9a.id}")
    assert page.status_code == 403
    assert "Paula" not in page.get_data(as_text=True)
    mine = (
        client_for(world.teacher_9b)
        .get(f"/review/classes/{world.class_9b.id}")
        .get_data(as_text=True)
    )
    assert "Berta" in mine and "Paula" not in mine


def test_pupil_of_another_school_is_404(world, client_for):
    assert client_for(world.stubo).get(f"/review/pupils/{world.other_pupil.id}").status_code == 404


def test_comment_access(world, client_for):
    entry = _entry(world, world.pupil)
    private = Entry(school_id=world.school.id, pupil_id=world.pupil.id, kind="goal", data={})
    db.session.add(private)
    db.session.commit()
    data = {"action": "comment", f"e{entry.id}-body": "Gut gemacht!"}
    # Staff who can see the shared entry may comment.
    for who in ("teacher", "stubo", "counsellor"):
        assert (
            client_for(getattr(world, who))
            .post(f"/review/entries/{entry.id}/respond", data=data)
            .status_code
            == 302
        ), who
    # An entry that is not shared is not there at all (other refusals: the access matrix).
    assert (
        client_for(world.teacher)
        .post(
            f"/review/entries/{private.id}/respond",
            data={"action": "comment", f"e{private.id}-body": "x"},
        )
        .status_code
        == 404
    )


def test_overview_classes_rule(world):
    world.teacher.add_role(Role.TEACHER)

    def names(user):
        return sorted(c.name for c in db.session.scalars(access.overview_classes(user)))

    assert names(world.teacher) == ["9a"]
    assert names(world.teacher_9b) == ["9b"]
    assert names(world.stubo) == ["9a", "9b"]
    assert names(world.counsellor) == []
    assert names(world.other_teacher) == ["9a"]  # the other school's 9a


def test_teaches_class_only_this_school_year(world):
    from portfolio.models import SchoolYear

    assert access.teaches_class(world.teacher, world.class_9a.id)
    year = db.session.get(SchoolYear, world.class_9a.school_year_id)
    year.is_current = False
    db.session.commit()
    assert not access.teaches_class(world.teacher, world.class_9a.id)


def test_role_predicates(world):
    assert access.can_view_class_list(world.teacher) and access.can_view_class_list(world.stubo)
    assert not access.can_view_class_list(world.counsellor)
    assert access.can_view_school_overview(world.stubo) and not access.can_view_school_overview(
        world.teacher
    )
    assert access.can_view_caseload(world.counsellor) and not access.can_view_caseload(
        world.teacher
    )
    assert access.can_view_coordination_report(world.admin)
    assert access.can_view_coordination_report(world.stubo)
    assert not access.can_view_coordination_report(world.teacher)
    assert utcnow()  # models import works
