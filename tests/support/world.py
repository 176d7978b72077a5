"""Users for the tests: `build_world()` (two schools and every kind of visitor of the
access matrix), `make_user`, `login` over HTTP and the password they all share."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Consent, ConsentPurpose, Role, User

PASSWORD = "Test-Password-123"


def login(client, username: str, password: str = PASSWORD, follow: bool = False):
    """POST the login form (the answer: 302 on success)."""
    return client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=follow
    )


def make_user(school, roles, first, last, *, cls=None, **kw):
    """An account with PASSWORD (no forced change), put in `cls` when given."""
    user, _pw = accounts.create_user(
        school,
        roles=roles,
        first_name=first,
        last_name=last,
        password=PASSWORD,
        must_change_password=False,
        **kw,
    )
    if cls is not None:
        accounts.put_in_class(user, cls)
    return user


def everyone_reads_english() -> None:
    """Every user in the database reads English (for tests that assert English text)."""
    for user in db.session.scalars(sa.select(User)):
        user.locale = "en"
    db.session.commit()


def build_world():
    """Two schools and every kind of visitor of issue 8's access matrix."""
    w = SimpleNamespace()
    w.school = accounts.create_school("Realschule Testdorf", "100001", "Realschule", "Siegen")
    w.other_school = accounts.create_school("Gymnasium Anderswo", "100002", "Gymnasium", "Olpe")
    w.class_9a = accounts.get_or_create_class(w.school, "9a")
    w.class_9b = accounts.get_or_create_class(w.school, "9b")
    w.class_other = accounts.get_or_create_class(w.other_school, "9a")

    w.pupil = make_user(w.school, [Role.PUPIL], "Paula", "Pupil", cls=w.class_9a, username="paula")
    w.classmate = make_user(
        w.school, [Role.PUPIL], "Carl", "Classmate", cls=w.class_9a, username="carl"
    )
    w.pupil_9b = make_user(
        w.school, [Role.PUPIL], "Berta", "Nine-B", cls=w.class_9b, username="berta"
    )
    w.other_pupil = make_user(
        w.other_school, [Role.PUPIL], "Otto", "Other", cls=w.class_other, username="otto"
    )
    w.teacher = make_user(w.school, [Role.TEACHER], "Tina", "Teacher", username="tina")
    accounts.assign_teacher(w.teacher, w.class_9a)
    w.teacher_9b = make_user(w.school, [Role.TEACHER], "Bernd", "Teacher", username="bernd")
    accounts.assign_teacher(w.teacher_9b, w.class_9b)
    w.other_teacher = make_user(w.other_school, [Role.TEACHER], "Olga", "Teacher", username="olga")
    accounts.assign_teacher(w.other_teacher, w.class_other)
    w.stubo = make_user(w.school, [Role.STUBO], "Stefan", "Stubo", username="stefan")
    w.counsellor = make_user(w.school, [Role.COUNSELLOR], "Conny", "Consent", username="conny")
    accounts.assign_counsellor(w.counsellor, w.pupil)
    w.counsellor_no_consent = make_user(
        w.school, [Role.COUNSELLOR], "Nora", "Noconsent", username="nora"
    )
    accounts.assign_counsellor(w.counsellor_no_consent, w.classmate)
    w.counsellor_unassigned = make_user(
        w.school, [Role.COUNSELLOR], "Uwe", "Unassigned", username="uwe"
    )
    w.guardian = make_user(w.school, [Role.GUARDIAN], "Gabi", "Guardian", username="gabi")
    accounts.link_guardian(w.guardian, w.pupil)
    w.other_guardian = make_user(w.school, [Role.GUARDIAN], "Hans", "Guardian", username="hans")
    accounts.link_guardian(w.other_guardian, w.classmate)
    w.admin = make_user(w.school, [Role.ADMIN], "Anna", "Admin", username="anna")
    db.session.flush()
    # Consent for counsellor access to the pupil (not to the classmate).
    db.session.add(
        Consent(
            school_id=w.school.id,
            pupil_id=w.pupil.id,
            purpose=ConsentPurpose.COUNSELLOR_ACCESS.value,
            given_by_id=w.guardian.id,
            given_by_role="guardian",
        )
    )
    db.session.commit()
    return w
