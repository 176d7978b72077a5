"""List pages issue the same number of SQL statements for 10 pupils as for 300."""

import datetime as dt

import sqlalchemy as sa

from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    ClassMembership,
    Comment,
    Consent,
    ConsentPurpose,
    CounsellorAssignment,
    Entry,
    GuidanceRecord,
    ReviewState,
    Role,
    User,
    UserRole,
    utcnow,
)
from tests.support.queries import queries_of_page

PAGES = {
    "teacher": lambda w: f"/review/classes/{w.class_9a.id}?sort=open&dir=desc",
    "teacher_list": lambda w: "/review/classes",
    "stubo": lambda w: "/review/school",
    "stubo_csv": lambda w: "/review/school.csv",
    "counsellor": lambda w: "/review/caseload",
    "report": lambda w: "/review/coordination-report",
    "report_csv": lambda w: "/review/coordination-report?format=csv",
}


def _add_pupils(world, start: int, count: int) -> None:
    """Pupils in 9a with entries, agreements, guidance, comments: bulk inserts."""
    school, cls = world.school, world.class_9a
    now = utcnow()
    ids = list(
        db.session.scalars(
            sa.insert(User).returning(User.id),
            [
                {
                    "school_id": school.id,
                    "username": f"bulk{i}",
                    "password_hash": "x",
                    "must_change_password": False,
                    "first_name": f"Vor{i}",
                    "last_name": f"Nach{i}",
                }
                for i in range(start, start + count)
            ],
        )
    )
    db.session.execute(
        sa.insert(UserRole),
        [{"school_id": school.id, "user_id": pid, "role": Role.PUPIL.value} for pid in ids],
    )
    db.session.execute(
        sa.insert(ClassMembership),
        [
            {
                "school_id": school.id,
                "pupil_id": pid,
                "class_id": cls.id,
                "school_year_id": cls.school_year_id,
            }
            for pid in ids
        ],
    )
    entries = []
    for n, pid in enumerate(ids):
        entries += [
            {
                "school_id": school.id,
                "pupil_id": pid,
                "kind": "praktikum",
                "data": {"company": "X"},
                "status": "in_progress",
                "share_class_teacher": True,
                "share_stubo": True,
                "share_counsellor": True,
                "asked_class_teacher": True,
                "review_state": ReviewState.REQUESTED.value if n % 2 else ReviewState.NONE.value,
            },
            {
                "school_id": school.id,
                "pupil_id": pid,
                "kind": "goal",
                "data": {"goal": "Y"},
                "status": "in_progress",
                "next_due_on": dt.date.today() - dt.timedelta(days=n % 5 + 1),
            },
            {
                "school_id": school.id,
                "pupil_id": pid,
                "kind": "strengths",
                "data": {},
                "status": "done",
            },
        ]
    entry_ids = list(db.session.scalars(sa.insert(Entry).returning(Entry.id), entries))
    db.session.execute(
        sa.insert(Comment),
        [
            {"school_id": school.id, "entry_id": eid, "author_id": world.teacher.id, "body": "Gut"}
            for eid in entry_ids[::3]
        ],
    )
    db.session.execute(
        sa.insert(Agreement),
        [
            {
                "school_id": school.id,
                "pupil_id": pid,
                "number": 1,
                "decision": "dual",
                "data": {},
                "locked_at": now if n % 3 else None,
            }
            for n, pid in enumerate(ids)
        ],
    )
    db.session.execute(
        sa.insert(GuidanceRecord),
        [
            {
                "school_id": school.id,
                "pupil_id": pid,
                "author_id": world.teacher.id,
                "held_on": dt.date.today(),
            }
            for pid in ids[::2]
        ],
    )
    db.session.execute(
        sa.insert(CounsellorAssignment),
        [
            {"school_id": school.id, "counsellor_id": world.counsellor.id, "pupil_id": pid}
            for pid in ids
        ],
    )
    db.session.execute(
        sa.insert(Consent),
        [
            {
                "school_id": school.id,
                "pupil_id": pid,
                "purpose": ConsentPurpose.COUNSELLOR_ACCESS.value,
                "given_by_role": "pupil",
            }
            for pid in ids[::2]
        ],
    )
    db.session.commit()


def test_list_pages_use_a_fixed_number_of_queries(world, client_for):
    clients = {
        "teacher": client_for(world.teacher),
        "teacher_list": client_for(world.teacher),
        "stubo": client_for(world.stubo),
        "stubo_csv": client_for(world.stubo),
        "counsellor": client_for(world.counsellor),
        "report": client_for(world.stubo),
        "report_csv": client_for(world.stubo),
    }
    _add_pupils(world, 0, 10)
    small = {key: queries_of_page(clients[key], page(world)) for key, page in PAGES.items()}
    _add_pupils(world, 10, 290)
    large = {key: queries_of_page(clients[key], page(world)) for key, page in PAGES.items()}
    assert small == large
    # And the numbers stay small (login session, roles, the page's own queries).
    assert max(large.values()) <= 20, large
    # The pages really list the pupils.
    html = clients["teacher"].get(PAGES["teacher"](world)).get_data(as_text=True)
    assert html.count('role="rowheader"') == 302  # 300 + Paula + Carl
