"""Issue 14, item 4: a short help page per staff role, linked from their menu, whose links
all open for that role; pupils and parents have none."""

from __future__ import annotations

import re

import pytest

from tests.support.matrix import fast_client

PAGES = {
    "teacher": "class-teacher",
    "stubo": "stubo",
    "counsellor": "counsellor",
    "admin": "school-admin",
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_each_staff_role_reaches_its_help_and_every_link_on_it_opens(
    app, world, english_users, role
):
    client = fast_client(app, getattr(world, role))
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    nav = home[home.index('aria-label="Main navigation"') :]
    assert 'href="/help/"' in nav[: nav.index("</nav>")]
    index = client.get("/help/")
    assert index.status_code == 302 and index.location.endswith(f"/help/{PAGES[role]}")
    page = client.get(index.location).get_data(as_text=True)
    for heading in ("What the pages are for", "What you can and cannot see", "The KAoA steps"):
        assert heading in page
    assert "Potential analysis" in page and "every half-year" in page  # the school's steps
    main = page[page.index("<main") : page.index("</main>")]
    links = set(re.findall(r'href="(/[^"#]*)"', main)) - {f"/help/{PAGES[role]}"}
    assert links, "the help page links the role's pages"
    for href in sorted(links):
        assert client.get(href).status_code == 200, f"{role}: {href}"


def test_pupils_and_parents_have_no_staff_help(app, world):
    for who in ("pupil", "guardian"):
        client = fast_client(app, getattr(world, who))
        assert client.get("/help/").status_code == 403
        assert client.get("/help/stubo").status_code == 403
        assert 'href="/help/"' not in client.get("/", follow_redirects=True).get_data(as_text=True)
    assert fast_client(app, world.teacher).get("/help/nonsense").status_code == 404


def test_a_stubo_who_teaches_chooses_between_both_helps(app, world, english_users):
    from portfolio.extensions import db
    from portfolio.models import Role, UserRole

    db.session.add(
        UserRole(school_id=world.school.id, user_id=world.stubo.id, role=Role.TEACHER.value)
    )
    db.session.commit()
    page = fast_client(app, world.stubo).get("/help/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/help/class-teacher"' in html and 'href="/help/stubo"' in html
    other = fast_client(app, world.stubo).get("/help/stubo").get_data(as_text=True)
    assert "Also for you:" in other and 'href="/help/class-teacher"' in other


def test_help_reads_in_german(app, world):
    client = fast_client(app, world.teacher)
    page = client.get("/help/class-teacher", headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert "Hilfe für Klassenlehrkräfte" in html
    assert "Was Sie sehen können und was nicht" in html
