"""Issue 14, item 4: a teacher's day with thirty pupils. Bulk "mark reviewed" (optimistic
locking per entry, a summary of what was done and skipped), bulk "remind", next/previous
pupil in the order and filter of the class overview, "tick all" without JavaScript, and
letters for parents without a new password."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portfolio import accounts, progress
from portfolio.extensions import db
from portfolio.models import (
    Entry,
    GuardianCode,
    GuidanceRecord,
    Notification,
    ReviewState,
    Role,
    User,
)
from portfolio.pagination import PER_PAGE
from tests.support.files import pdf_text
from tests.support.jobs import follow
from tests.support.queries import count_queries, queries_of_page
from tests.support.world import PASSWORD, make_user


def _waiting(world, pupil, title, *, shared=True):
    entry = Entry(
        school_id=world.school.id,
        pupil_id=pupil.id,
        kind="reflection",
        grade="9",
        title=title,
        data={"reflection": title},
        # Shared with and asked of both teacher audiences (the class teacher and the StuBO).
        share_class_teacher=shared,
        share_stubo=shared,
        asked_class_teacher=shared,
        asked_stubo=shared,
        review_state=ReviewState.REQUESTED.value,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def _flashes(html: str) -> str:
    return " ".join(re.findall(r'<span class="kern-title">([^<]*)</span>', html))


@pytest.fixture
def today(world, monkeypatch):
    """A day in the first half of the school year, for every page."""
    year = accounts.current_year(world.school)
    day = year.starts_on + dt.timedelta(days=60)
    monkeypatch.setattr(progress, "current_date", lambda: day)
    return day


# -- mark reviewed ------------------------------------------------------------------------------
def test_bulk_review_lists_what_waits_then_marks_each_entry_under_its_own_lock(
    world, client_for, english_users
):
    report = _waiting(world, world.pupil, "Placement week")
    goals = _waiting(world, world.pupil, "My goals")
    _waiting(world, world.pupil, "Private thoughts", shared=False)  # not for teachers
    other = _waiting(world, world.pupil_9b, "Berta's report")  # another class
    teacher = client_for(world.teacher)
    url = f"/review/classes/{world.class_9a.id}/bulk"

    page = teacher.post(
        url,
        data={
            "action": "review",
            "pupil": [world.pupil.id, world.classmate.id, world.pupil_9b.id],
            "filter": "feedback",
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Placement week" in html and "My goals" in html
    assert "Private thoughts" not in html and "Berta" not in html
    assert "Nothing waits for your feedback from Carl Classmate" in html
    seen = dict(re.findall(r'name="v-(\d+)" value="(\d+)"', html))
    assert set(seen) == {str(report.id), str(goals.id)}

    # Paula changes her report meanwhile: it is skipped, the other entry is marked.
    report.data = {"reflection": "Placement week, more"}
    db.session.commit()
    assert str(report.version) != seen[str(report.id)]
    done = teacher.post(
        f"{url}/review",
        data={
            "entry": [report.id, goals.id, other.id],
            f"v-{report.id}": seen[str(report.id)],
            f"v-{goals.id}": seen[str(goals.id)],
            f"v-{other.id}": str(other.version),
            "filter": "feedback",
        },
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert done.headers["Location"].endswith(f"/review/classes/{world.class_9a.id}?filter=feedback")
    states = {e.id: e.review_state for e in db.session.scalars(sa.select(Entry)).all()}
    assert states[goals.id] == ReviewState.REVIEWED.value
    assert states[report.id] == ReviewState.REQUESTED.value  # skipped: changed meanwhile
    assert states[other.id] == ReviewState.REQUESTED.value  # not of this class: untouched
    summary = _flashes(teacher.get(done.headers["Location"]).get_data(as_text=True))
    assert "1 entry was marked as reviewed (Paula Pupil)" in summary
    assert "Not marked as reviewed: “Placement week” of Paula Pupil" in summary
    assert "changed by the pupil since you looked" in summary
    told = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == world.pupil.id)
    ).all()
    assert [(n.kind, n.entry_id) for n in told] == [("reviewed", goals.id)]

    # Sent again (a second tab): nothing is marked twice.
    again = teacher.post(
        f"{url}/review", data={"entry": [goals.id], f"v-{goals.id}": seen[str(goals.id)]}
    )
    summary = _flashes(teacher.get(again.headers["Location"]).get_data(as_text=True))
    assert "no longer waiting for feedback" in summary
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1


def test_bulk_actions_need_a_choice_and_the_class(world, client_for, english_users):
    url = f"/review/classes/{world.class_9a.id}/bulk"
    teacher = client_for(world.teacher)
    nothing = teacher.post(url, data={"action": "review"})
    assert nothing.status_code == 302
    assert "Please choose at least one pupil." in _flashes(
        teacher.get(nothing.headers["Location"]).get_data(as_text=True)
    )
    assert teacher.post(url, data={"action": "delete", "pupil": world.pupil.id}).status_code == 400
    # Bad versions are dropped, never a 500.
    entry = _waiting(world, world.pupil, "Report")
    bad = teacher.post(f"{url}/review", data={"entry": [entry.id, "x"], f"v-{entry.id}": "abc"})
    assert bad.status_code == 302
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).review_state == ReviewState.REQUESTED.value
    # The teacher of 9b may not work on 9a.
    other = client_for(world.teacher_9b)
    refused = other.post(f"{url}/review", data={"entry": [entry.id], f"v-{entry.id}": "1"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).review_state == ReviewState.REQUESTED.value


# -- remind ------------------------------------------------------------------------------------
def test_remind_tells_pupils_with_due_steps_once(world, client_for, english_users, today):
    # Carl has done what is due in the first half of grade 9: nothing to remind him of.
    db.session.add(
        Entry(
            school_id=world.school.id,
            pupil_id=world.classmate.id,
            kind="praktikum",
            grade="9",
            data={},
            status="done",
        )
    )
    db.session.add(
        GuidanceRecord(
            school_id=world.school.id,
            pupil_id=world.classmate.id,
            author_id=world.teacher.id,
            held_on=today - dt.timedelta(days=3),
        )
    )
    db.session.commit()
    teacher = client_for(world.teacher)
    url = f"/review/classes/{world.class_9a.id}/bulk"
    first = teacher.post(
        url, data={"action": "remind", "pupil": [world.pupil.id, world.classmate.id]}
    )
    summary = _flashes(teacher.get(first.headers["Location"]).get_data(as_text=True))
    assert "1 pupil was reminded of the steps due: Paula Pupil." in summary
    assert "Not reminded: Carl Classmate (nothing due)" in summary
    second = teacher.post(url, data={"action": "remind", "pupil": [world.pupil.id]})
    summary = _flashes(teacher.get(second.headers["Location"]).get_data(as_text=True))
    assert "Paula Pupil (an earlier reminder is still unread)" in summary
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notes] == [(world.pupil.id, "steps_reminder")]

    news = client_for(world.pupil).get("/news/").get_data(as_text=True)
    assert "Tina Teacher reminds you of the steps due in your grade." in news
    assert 'href="/portfolio/timeline"' in news


# -- next / previous pupil ------------------------------------------------------------------------
def test_next_pupil_follows_the_overview_order_and_filter(world, client_for, english_users):
    anton = make_user(
        world.school, [Role.PUPIL], "Anton", "Abel", cls=world.class_9a, username="anton"
    )
    db.session.commit()
    first = _waiting(world, anton, "Anton's report")
    _waiting(world, world.pupil, "Paula's report")
    teacher = client_for(world.teacher)
    overview = teacher.get(f"/review/classes/{world.class_9a.id}?filter=feedback").get_data(
        as_text=True
    )
    links = re.findall(r'href="(/review/pupils/\d+\?[^"]+)">([^<]+)</a></span></th>', overview)
    assert [name for _href, name in links] == ["Abel, Anton", "Pupil, Paula"]
    page = teacher.get(links[0][0].replace("&amp;", "&")).get_data(as_text=True)
    assert "Pupil 1 of 2 in class 9a" in page and "Waiting for feedback" in page
    assert f'rel="next" href="/review/pupils/{world.pupil.id}?' in page
    assert 'rel="prev"' not in page

    # Anton's entry is reviewed: he leaves the filter, "next" still goes on to Paula.
    answer = re.search(rf'action="(/review/entries/{first.id}/respond\?[^"]+)"', page)[1]
    done = teacher.post(
        answer.replace("&amp;", "&"), data={f"e{first.id}-body": "", "action": "reviewed"}
    )
    assert done.status_code == 302 and "filter=feedback" in done.headers["Location"]
    page = teacher.get(done.headers["Location"]).get_data(as_text=True)
    assert "Pupils of class 9a" in page
    assert f'rel="next" href="/review/pupils/{world.pupil.id}?' in page
    last = teacher.get(
        f"/review/pupils/{world.pupil.id}?cls={world.class_9a.id}&filter=feedback&sort=name"
    ).get_data(as_text=True)
    assert "Pupil 1 of 1 in class 9a" in last and "Last pupil: back to the class" in last

    # Without the overview (or from a class not theirs) there is no pager.
    plain = teacher.get(f"/review/pupils/{world.pupil.id}").get_data(as_text=True)
    assert 'rel="next"' not in plain and "Pupil 1 of" not in plain
    foreign = teacher.get(f"/review/pupils/{world.pupil.id}?cls={world.class_9b.id}")
    assert foreign.status_code == 200 and 'rel="next"' not in foreign.get_data(as_text=True)
    # A class id that fits no INTEGER column is no class (not a 500 on PostgreSQL).
    huge = teacher.get(f"/review/pupils/{world.pupil.id}?cls={2**63}")
    assert huge.status_code == 200 and 'rel="next"' not in huge.get_data(as_text=True)


def test_next_pupil_goes_on_across_the_pages_of_the_overview(world, client_for, english_users):
    for n in range(1, PER_PAGE + 1):
        make_user(
            world.school,
            [Role.PUPIL],
            "Zora",
            f"Zett{n:02d}",
            cls=world.class_9a,
            username=f"zett{n:02d}",
        )
    db.session.commit()
    teacher = client_for(world.teacher)

    def names(page: int) -> list[tuple[str, str]]:
        html = teacher.get(f"/review/classes/{world.class_9a.id}?page={page}").get_data(
            as_text=True
        )
        return re.findall(r'href="(/review/pupils/\d+\?[^"]+)">([^<]+)</a></span></th>', html)

    first, second = names(1), names(2)
    assert len(first) == PER_PAGE and second and second[-1][1] == f"Zett{PER_PAGE:02d}, Zora"
    total = len(first) + len(second)
    # The first pupil of page 2: number 51 of all, "previous" is the last one of page 1.
    html = teacher.get(second[0][0].replace("&amp;", "&")).get_data(as_text=True)
    assert f"Pupil {PER_PAGE + 1} of {total} in class 9a" in html
    previous = re.search(r'rel="prev" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert previous.split("?")[0] == first[-1][0].split("?")[0]
    back = re.search(r'<nav aria-label="Breadcrumb"><a [^>]*href="([^"]+)"', html)[1]
    assert "page=2" in back
    # There, the way back leads to page 1, where that pupil is listed.
    html = teacher.get(previous).get_data(as_text=True)
    assert f"Pupil {PER_PAGE} of {total} in class 9a" in html
    back = re.search(r'<nav aria-label="Breadcrumb"><a [^>]*href="([^"]+)"', html)[1]
    assert "page=" not in back


def test_next_pupil_costs_the_order_of_the_class_not_its_rows(world, client_for):
    """The pager of a pupil's page finds the pupil's place in the class's order and filter
    in SQL, without the overview's rows (the accounts and steps of a page of pupils): the
    same statements for 2 pupils as for 61 with entries waiting, a few beyond the page
    without the pager."""
    teacher = client_for(world.teacher)
    _waiting(world, world.pupil, "Paula's report")
    args = "filter=feedback&sort=progress&dir=desc"
    plain = f"/review/pupils/{world.pupil.id}"
    paged = f"{plain}?cls={world.class_9a.id}&{args}"
    alone, small = queries_of_page(teacher, plain), queries_of_page(teacher, paged)
    for n in range(60):
        pupil = make_user(
            world.school,
            [Role.PUPIL],
            "Zora",
            f"Zett{n:02d}",
            cls=world.class_9a,
            username=f"zett{n:02d}",
            password_hash=world.pupil.password_hash,
        )
        _waiting(world, pupil, f"Report {n}")
    large = queries_of_page(teacher, paged)
    overview = queries_of_page(teacher, f"/review/classes/{world.class_9a.id}?{args}")
    assert large == small
    # The pager adds the pupils' ids and one statement for where the pupil stands
    # (`actions.place`), once the day's summaries are stored (the overview stored them);
    # before, it stores the missing ones first: the model's statements and the store (two
    # more on PostgreSQL). The overview's own page is SQL alone: it sorts and filters there.
    warm = queries_of_page(teacher, paged)
    assert warm - alone <= 3, (alone, warm)
    assert large - alone <= 11, (alone, large)
    assert overview <= 12, overview
    with count_queries() as statements:
        html = teacher.get(paged).get_data(as_text=True)
    # No accounts of the class's pupils loaded (the overview's rows): only names and ids.
    accounts_loaded = [
        s for s in statements if "user_account.password_hash" in s and " IN (" in s.upper()
    ]
    assert not accounts_loaded, accounts_loaded
    assert "of 61 in class 9a" in html
    assert 'rel="next"' in html or 'rel="prev"' in html


# -- tick all without JavaScript ---------------------------------------------------------------
def _ticked(html: str) -> set[int]:
    """The pupil ids of the ticked pupil boxes of a page."""
    found = set()
    for tag in re.findall(r"<input[^>]*>", html):
        if re.search(r'name="pupils?"', tag) and re.search(r"\bchecked\b", tag):
            found.add(int(re.search(r'value="(\d+)"', tag)[1]))
    return found


@pytest.mark.parametrize(
    "page", ["review/classes/{id}", "admin/classes/{id}/slips", "admin/classes/{id}/letters"]
)
def test_tick_all_works_without_javascript(world, client_for, page):
    teacher = client_for(world.teacher)
    url = "/" + page.format(id=world.class_9a.id)
    assert _ticked(teacher.get(url).get_data(as_text=True)) == set()
    html = teacher.get(url + "?select=all").get_data(as_text=True)
    assert _ticked(html) == {world.pupil.id, world.classmate.id}
    assert re.search(r'href="[^"]*select=all[^"]*" data-check-all="pupils?"', html)


# -- letters for parents ---------------------------------------------------------------------------
def test_letters_for_parents_keep_the_pupils_passwords(world, client_for, english_users):
    before = {u.id: u.password_hash for u in db.session.scalars(sa.select(User))}
    teacher = client_for(world.teacher)
    url = f"/admin/classes/{world.class_9a.id}/letters"
    page = teacher.get(url)
    assert page.status_code == 200 and "Nobody's password changes." in page.get_data(as_text=True)
    started = teacher.post(url, data={"pupils": [world.pupil.id], "letter_locale": "tr"})
    html, download = follow(teacher, started)
    assert "Letters for parents 9a" in html and download
    pdf = teacher.get(download)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Paula Pupil" in text and "Carl" not in text
    assert "Password" not in text  # no login slip
    assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", text)
    assert teacher.get(download).status_code == 410  # the codes: one download only
    codes = db.session.scalars(sa.select(GuardianCode)).all()
    # In the language Gabi chose in her account, not the fallback asked for (Turkish).
    assert [(c.pupil_id, c.locale) for c in codes] == [(world.pupil.id, "en")]
    db.session.expire_all()
    assert {u.id: u.password_hash for u in db.session.scalars(sa.select(User))} == before
    assert world.pupil.check_password(PASSWORD)
    # The class overview links them for its teacher; the 9b teacher may not print them.
    overview = teacher.get(f"/review/classes/{world.class_9a.id}").get_data(as_text=True)
    assert f'href="{url}"' in overview
    assert client_for(world.teacher_9b).get(url).status_code == 403
