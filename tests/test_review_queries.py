"""List pages issue the same number of SQL statements for 10 pupils as for 1,500.

Counted twice per page: with no stored progress rows (the first view of the day computes
and stores them, portfolio/progress_store.py) and with them (every later view)."""

import datetime as dt

import sqlalchemy as sa

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AuditEvent,
    ClassMembership,
    Comment,
    Consent,
    ConsentPurpose,
    CounsellorAssignment,
    Entry,
    GuidanceRecord,
    ProgressSummary,
    ReviewState,
    Role,
    User,
    UserRole,
    utcnow,
)
from tests.support.queries import queries_of_page

PAGES = {
    "teacher": lambda w: f"/review/classes/{w.class_9a.id}?sort=open&dir=desc",
    "teacher_page2": lambda w: f"/review/classes/{w.class_9a.id}?sort=progress&page=2",
    "teacher_filter": lambda w: f"/review/classes/{w.class_9a.id}?filter=feedback",
    "teacher_list": lambda w: "/review/classes",
    "stubo": lambda w: "/review/school",
    "stubo_csv": lambda w: "/review/school.csv",
    "stubo_pupils": lambda w: "/review/school/pupils",
    "stubo_filtered": lambda w: "/review/school/pupils?show=agreement&grade=9&page=2",
    "stubo_search": lambda w: "/review/school/pupils?q=nach1",
    "counsellor": lambda w: "/review/caseload",
    "counsellor_filtered": lambda w: "/review/caseload?show=feedback&page=2",
    "report": lambda w: "/review/coordination-report",
    "report_csv": lambda w: "/review/coordination-report?format=csv",
    "admin_accounts": lambda w: "/admin/accounts?kind=pupils",
    "admin_search": lambda w: "/admin/accounts?kind=pupils&q=nach&page=2",
    "admin_guardians": lambda w: "/admin/accounts?kind=guardians",
    "admin_consents": lambda w: "/admin/consents",
    "admin_leaving": lambda w: "/admin/leaving?page=2",
    "admin_audit": lambda w: "/admin/audit",
}
#: Who opens which page (the world's users by attribute name).
VIEWERS = {
    "teacher": "teacher",
    "stubo": "stubo",
    "counsellor": "counsellor",
    "report": "stubo",
    "admin": "admin",
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
                "next_due_on": clock.today() - dt.timedelta(days=n % 5 + 1),
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
                "held_on": clock.today(),
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
    # As many who left the school (the leavers' list) and views in the audit log.
    left = list(
        db.session.scalars(
            sa.insert(User).returning(User.id),
            [
                {
                    "school_id": school.id,
                    "username": f"left{i}",
                    "password_hash": "x",
                    "first_name": f"Vor{i}",
                    "last_name": f"Weg{i}",
                    "status": "left",
                    "left_on": clock.today() - dt.timedelta(days=i % 400),
                }
                for i in range(start, start + count)
            ],
        )
    )
    db.session.execute(
        sa.insert(UserRole),
        [{"school_id": school.id, "user_id": pid, "role": Role.PUPIL.value} for pid in left],
    )
    db.session.execute(
        sa.insert(AuditEvent),
        [
            {
                "school_id": school.id,
                "actor_id": world.teacher.id,
                "pupil_id": pid,
                "action": "view",
                "object_type": "pupil",
                "object_id": pid,
            }
            for pid in ids
        ],
    )
    db.session.commit()


def _counts(clients, world) -> tuple[dict[str, int], dict[str, int]]:
    """Per page, the statements of a view with no stored progress and of the next view."""
    cold, warm = {}, {}
    for key, page in PAGES.items():
        db.session.execute(sa.delete(ProgressSummary))
        db.session.commit()
        cold[key] = queries_of_page(clients[key], page(world))
        warm[key] = queries_of_page(clients[key], page(world))
    return cold, warm


def test_list_pages_use_a_fixed_number_of_queries(world, client_for):
    clients = {key: client_for(getattr(world, VIEWERS[key.split("_")[0]])) for key in PAGES}
    _add_pupils(world, 0, 10)
    for key, page in PAGES.items():  # the process reads the school's elements once
        queries_of_page(clients[key], page(world))
    small_cold, small = _counts(clients, world)
    _add_pupils(world, 10, 1490)
    large_cold, large = _counts(clients, world)
    assert small == large
    assert small_cold == large_cold
    # And the numbers stay small (login session, roles, the page's own queries); the first
    # view of the day computes and stores the pupils' rows (a few statements more).
    assert max(large.values()) <= 20, large
    assert max(large_cold.values()) <= 25, large_cold
    # The stored rows save statements: lists that count every pupil read one row each.
    assert large["stubo"] < large_cold["stubo"]
    # The pages really count every pupil and show one page of them.
    html = clients["teacher"].get(PAGES["teacher"](world)).get_data(as_text=True)
    assert "1502 pupils." in html  # 1,500 + Paula + Carl
    assert html.count('role="rowheader"') == 50
    assert "1–50 of 1502" in html
    html = clients["stubo_pupils"].get(PAGES["stubo_pupils"](world)).get_data(as_text=True)
    assert "1503 pupils found." in html and html.count('role="rowheader"') == 50


def test_pages_from_sql_agree_with_the_whole_list_in_python(world):
    """The overview's pages come from SQL (`_page_in_sql`: `actions.ranked`, or the names
    alone in the order by name); the whole list for "next pupil" is ordered in Python
    (`sort_listed`, `PupilActions.matches`). For every sort, direction and filter both
    give the same pupils in the same order, across pages, with the same counts."""
    from portfolio import progress
    from portfolio.access import class_audiences
    from portfolio.review import actions, services

    _add_pupils(world, 0, 61)  # with Paula and Carl: 63 pupils, two pages of 50
    # Different progress for different pupils: ties and rounding both happen.
    some = db.session.scalars(
        sa.select(Entry).where(Entry.kind == "praktikum").order_by(Entry.id).limit(40)
    ).all()
    for n, entry in enumerate(some):
        entry.status = "done" if n % 3 else entry.status
        entry.data = {"company": "X", "end": "2020-01-01", "learned": "" if n % 2 else "Viel"}
    # Overdue goals the teacher sees (each pupil's since when), a second kind waiting.
    goals = db.session.scalars(sa.select(Entry).where(Entry.kind == "goal")).all()
    for n, entry in enumerate(goals):
        entry.share_class_teacher = n % 2 == 0
        if n % 3 == 0:  # a second, older one: overdue since the older
            older = clock.today() - dt.timedelta(days=30 + n)
            db.session.add(
                Entry(
                    school_id=entry.school_id,
                    pupil_id=entry.pupil_id,
                    kind="goal",
                    data={"goal": "Z"},
                    status="in_progress",
                    next_due_on=older,
                    share_class_teacher=True,
                )
            )
    for n, entry in enumerate(
        db.session.scalars(sa.select(Entry).where(Entry.kind == "strengths").limit(20))
    ):
        entry.review_state = ReviewState.REQUESTED.value
        entry.share_class_teacher = entry.asked_class_teacher = n % 4 != 3
    db.session.commit()
    audiences = class_audiences(world.teacher, world.class_9a.id)
    keys = [el.key for el in progress.elements_for_grade(world.school.id, world.class_9a.grade)]
    filters = [None, *actions.FILTERS, *(actions.DUE_PREFIX + k for k in keys)]
    compared = placed = 0
    for sort in services.SORTS:
        for descending in (False, True):
            for filter_key in filters:
                args = dict(sort=sort, descending=descending, filter_key=filter_key)
                whole = services.class_overview(
                    world.class_9a, world.school, audiences=audiences, with_rows=False, **args
                )
                pages = [
                    services.class_overview(
                        world.class_9a, world.school, audiences=audiences, page=n, **args
                    )
                    for n in (1, 2)
                ]
                shown = [row.pupil.id for row in pages[0].rows]
                if pages[1].page.page == 2:
                    shown += [row.pupil.id for row in pages[1].rows]
                else:  # beyond the last page: the last one again
                    assert [r.pupil.id for r in pages[1].rows] == shown, args
                assert shown == whole.shown_ids, args
                assert pages[0].page.total == len(whole.shown_ids) == pages[0].shown, args
                if filter_key or sort != "name":
                    assert pages[0].counts == whole.counts, args
                    # The rows' open items (read with the page) are each pupil's own.
                    own = {r.id: r.actions for r in whole.ordered}
                    for row in (row for p in pages for row in p.rows):
                        assert _items(row.actions) == _items(own[row.pupil.id]), args
                # "Next pupil" from SQL (`actions.place`) as from the whole list.
                ids = [r.id for r in whole.ordered]
                unshown = [pid for pid in ids if pid not in set(whole.shown_ids)][:1]
                for pid in ids[::9] + ids[-1:] + unshown:
                    near = services.class_overview(
                        world.class_9a,
                        world.school,
                        audiences=audiences,
                        with_rows=False,
                        around=pid,
                        **args,
                    )
                    assert near.place is not None and near.lists(pid), args
                    assert _near(near, pid) == _near(whole, pid), (args, pid)
                    assert near.args_at(pid) == whole.args_at(pid), (args, pid)
                    placed += 1
                compared += bool(whole.shown_ids)
    assert compared > 30  # (most filters find somebody)
    assert placed > 500
    stranger = services.class_overview(
        world.class_9a, world.school, audiences=audiences, with_rows=False, around=world.pupil_9b.id
    )
    assert stranger.place is not None and not stranger.lists(world.pupil_9b.id)
    goals = services.class_overview(
        world.class_9a, world.school, audiences=audiences, sort="open", descending=True
    )
    assert any(r.actions.goal_overdue_since for r in goals.rows)
    assert any(len(r.actions.waiting_kinds) == 2 for r in goals.rows)
    first = services.class_overview(world.class_9a, world.school, audiences=audiences)
    assert first.total == 63 and [len(first.rows), first.page.pages] == [50, 2]
    asking = {
        e.pupil_id
        for e in db.session.scalars(sa.select(Entry))
        if e.review_state == "requested" and e.asked_class_teacher and e.share_class_teacher
    }
    assert first.counts["feedback"] == len(asking) > 30
    # A page beyond the last shows the last one.
    beyond = services.class_overview(world.class_9a, world.school, audiences=audiences, page=9)
    assert beyond.page.page == 2 and len(beyond.rows) == 13


def _near(overview, pupil_id: int) -> tuple:
    """What the pupil's page shows of "next pupil": names before and after, the place."""
    n = overview.neighbours(pupil_id)
    return (
        (n.previous.id, n.previous.full_name) if n.previous else None,
        (n.next.id, n.next.full_name) if n.next else None,
        n.position,
        n.count,
    )


def _items(actions) -> tuple:
    return (
        actions.waiting,
        actions.waiting_kinds,
        actions.placements_without_evaluation,
        actions.goals_overdue,
        actions.goal_overdue_since,
    )


def test_percent_in_sql_rounds_as_python_does(world):
    """`progress.Figure.percent` rounds half to even (1 of 8 is 12 %, 3 of 8 is 38 %);
    the SQL that sorts by progress gives the same for every figure up to 40 steps."""
    from portfolio import progress
    from portfolio.review.actions import _percent

    done, total = sa.bindparam("done", type_=sa.Integer), sa.bindparam("total", type_=sa.Integer)
    query = sa.select(_percent(done, total))
    pairs = [(d, t) for t in range(41) for d in range(t + 1)]
    got = {(d, t): db.session.scalar(query, {"done": d, "total": t}) for d, t in pairs}
    assert got == {(d, t): progress.Figure(d, t).percent for d, t in pairs}
    assert got[(1, 8)] == 12 and got[(3, 8)] == 38


def test_a_summary_not_stored_sorts_in_python(world, monkeypatch):
    """When a pupil's summary of the day cannot be stored (a writer holds the row), SQL
    cannot sort by it: the page is sorted in Python (which computes it) and is still right."""
    from portfolio import progress_store
    from portfolio.access import class_audiences
    from portfolio.review import actions, services

    _add_pupils(world, 0, 8)
    db.session.execute(sa.delete(ProgressSummary))
    db.session.commit()
    monkeypatch.setattr(progress_store, "_store", lambda *a, **k: None)
    asked = []
    real = actions.ranked
    monkeypatch.setattr(
        services, "ranked", lambda *a, **k: asked.append(real(*a, **k)) or asked[-1]
    )
    audiences = class_audiences(world.teacher, world.class_9a.id)
    args = dict(sort="open", descending=True, filter_key="feedback")
    page = services.class_overview(world.class_9a, world.school, audiences=audiences, **args)
    whole = services.class_overview(
        world.class_9a, world.school, audiences=audiences, with_rows=False, **args
    )
    assert asked == [None]  # SQL saw the missing rows and gave up
    assert [row.pupil.id for row in page.rows] == whole.shown_ids and len(whole.shown_ids) == 4


def test_statements_built_once_answer_for_each_school_class_and_day(world, monkeypatch):
    """`ranked` and `place` build their statement once per shape (`_ranked_sql`,
    `_place_sql`: order, filter, audiences) and run it with the school, the pupils and
    the day as parameters: the same shape asked for another school's class, or for
    another day, answers for that class and that day, not for the first one asked (and
    from SQL, not from the way back in Python, which would hide a wrong parameter)."""
    from flask import g

    from portfolio.models import Audience
    from portfolio.review import actions, services
    from tests.support.world import make_user

    today = clock.today()
    # A pupil who left the class keeps her membership and her overdue goal: never listed.
    left = make_user(world.school, [Role.PUPIL], "Lea", "Left", cls=world.class_9a)
    left.status = "left"
    for pupil in (world.pupil, left):
        db.session.add(
            Entry(
                school_id=world.school.id,
                pupil_id=pupil.id,
                kind="goal",
                data={"goal": "Praktikum finden"},
                status="in_progress",
                next_due_on=today,
                share_class_teacher=True,
            )
        )
    db.session.commit()
    answers = []
    for name in ("ranked", "place"):
        real = getattr(actions, name)
        monkeypatch.setattr(
            services,
            name,
            lambda *a, _real=real, **k: answers.append(_real(*a, **k)) or answers[-1],
        )
    audiences = frozenset({Audience.CLASS_TEACHER})
    args = dict(audiences=audiences, sort="open", descending=True, filter_key="goal")

    def overdue(cls, school, day):
        g.pop("_summaries", None)  # each page a request of its own
        page = services.class_overview(cls, school, today=day, **args)
        return [row.pupil.id for row in page.rows], page.counts["goal"]

    later = today + dt.timedelta(days=1)
    assert overdue(world.class_9a, world.school, today) == ([], 0)  # due today: not overdue
    assert overdue(world.class_9a, world.school, later) == ([world.pupil.id], 1)
    assert overdue(world.class_other, world.other_school, later) == ([], 0)
    assert overdue(world.class_9a, world.school, today) == ([], 0)

    # "Next pupil" (`place`): the same shape for both classes, each its own pupils.
    def where(cls, school, pupil, day):
        g.pop("_summaries", None)
        found = services.class_overview(
            cls, school, today=day, with_rows=False, around=pupil.id, **args
        )
        # (A day whose summaries are not stored yet asks twice: None, then the answer.)
        assert isinstance(answers[-1], actions.Place) and found.place is answers[-1]
        return found.lists(pupil.id), found.shown

    assert where(world.class_9a, world.school, world.pupil, later) == (True, 1)
    assert where(world.class_other, world.other_school, world.other_pupil, later) == (True, 0)
    assert where(world.class_9a, world.school, world.pupil, today) == (True, 0)
    assert where(world.class_9a, world.school, left, later) == (False, 1)
    active = db.session.scalar(
        sa.select(sa.func.count()).select_from(actions.class_members(world.class_9a.id).subquery())
    )
    g.pop("_summaries", None)
    found = services.class_overview(
        world.class_9a, world.school, today=later, with_rows=False, around=world.pupil.id, **args
    )
    assert found.place is not None and found.total == active  # Lea not counted
    assert sum(isinstance(a, actions.Ranked) for a in answers) == 4  # every page from SQL

    # In the order by name: the counts (`rule_totals`) and the rows' items (`open_items`).
    def plain(cls, school, day):
        g.pop("_summaries", None)
        page = services.class_overview(cls, school, today=day, audiences=audiences)
        return page.counts["goal"], [r.actions.goals_overdue for r in page.rows]

    assert plain(world.class_9a, world.school, later)[0] == 1
    assert sum(plain(world.class_9a, world.school, later)[1]) == 1
    assert plain(world.class_other, world.other_school, later) == (0, [0])
    assert plain(world.class_9a, world.school, today)[0] == 0
    assert sum(plain(world.class_9a, world.school, today)[1]) == 0
    assert actions._ranked_sql.cache_info().hits >= 3  # one statement for the four pages
    assert actions._place_sql.cache_info().hits >= 2
    assert actions._rule_totals_sql.cache_info().hits >= 2
