"""The pupil's entry page: "Who sees this" near the top, one "Ask for feedback" that names
whom it asks, what staff can see said in words; repeating rows added and removed in place
with JavaScript and by form posts without it. Phone and desktop width, axe at 0."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_phone_ready,
    inline_policy_problems,
    login,
    screenshot_dir,
)

pytestmark = pytest.mark.e2e

PASSWORD = "Tulpen-Gurke-Leiter-58"


def _pupil_with_goal(live_server) -> tuple[str, int]:
    username = live_server.create_user(
        f"e2e.entry.{uuid.uuid4().hex[:8]}",
        password=PASSWORD,
        class_="8a",
        first_name="Emil",
        last_name="Eintrag",
    )
    out = live_server.python(
        f"""
import sqlalchemy as sa
from portfolio.extensions import db
from portfolio.models import User
from portfolio.pupil import services
pupil = db.session.scalar(sa.select(User).where(User.username == "{username}"))
pupil.must_change_password = False
goal = services.create_entry(pupil, "goal", {{
    "goal": "Einen Praktikumsplatz finden", "state": "open",
    "steps": [
        {{"text": "Drei Betriebe aussuchen", "due_on": "2099-02-01", "done": "no"}},
        {{"text": "Bewerbung schreiben", "due_on": "2099-03-01", "done": "no"}},
    ],
}})
db.session.commit()
print(goal.id)
"""
    )
    return username, int(out.strip().splitlines()[-1])


def _steps(page) -> list[str]:
    return page.locator("#group-steps [data-group-item] input[name$='-text']").evaluate_all(
        "els => els.map(e => e.name + '=' + e.value)"
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_who_sees_this_and_ask_for_feedback(new_page, live_server, viewport):
    username, goal_id = _pupil_with_goal(live_server)
    page = new_page(viewport=viewport, axe=True)
    login(page, username, PASSWORD)
    page.goto(f"/portfolio/entry/{goal_id}")
    width = viewport["width"]

    # "Who sees this" comes before the content, and says the truth about staff.
    headings = page.locator("main h2").all_inner_texts()
    assert headings.index("Who sees this") < headings.index("Content")
    sharing = page.locator("#sharing")
    expect(sharing).to_contain_text("Only you can see this.")
    expect(sharing).to_contain_text(
        "This is your own work: staff cannot see it, not even that it exists, until you share it."
    )
    assert inline_policy_problems(page) == []
    assert_accessible(page, f"entry page ({width})")
    assert_phone_ready(page, f"entry page ({width})")
    page.screenshot(path=str(screenshot_dir() / f"entry-page-{width}.png"), full_page=True)

    # One control, four audiences as the pupil knows them, each with its people.
    sharing.locator("summary").click()
    boxes = sharing.get_by_role("checkbox")
    expect(boxes).to_have_count(4)
    expect(sharing.get_by_role("group", name="Who may see this entry?")).to_contain_text(
        "The StuBO (careers coordinator at my school)"
    )
    assert_accessible(page, f"entry page, sharing open ({width})")
    sharing.get_by_role("checkbox", name=re.compile(r"^My parents")).check()
    with page.expect_navigation():
        sharing.get_by_role("button", name="Save who sees this").click()
    expect(page.locator("#sharing")).to_contain_text("Visible to: your parents")

    # One "Ask for feedback": it names the people it asks.
    feedback = page.locator("#feedback")
    feedback.locator("summary").click()
    teacher_box = feedback.get_by_role("checkbox", name=re.compile(r"^My class teacher: \S"))
    expect(teacher_box).to_be_checked()
    assert_accessible(page, f"entry page, feedback open ({width})")
    with page.expect_navigation():
        feedback.get_by_role("button", name="Ask for feedback").click()
    expect(page.locator("#feedback")).to_contain_text("You asked your class teacher for feedback")
    expect(page.locator("#sharing")).to_contain_text(
        "Visible to: your class teacher and your parents"
    )
    assert_accessible(page, f"entry page, asked ({width})")
    page.screenshot(path=str(screenshot_dir() / f"entry-page-asked-{width}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_rows_are_added_and_removed_in_place_with_javascript(new_page, live_server, viewport):
    username, goal_id = _pupil_with_goal(live_server)
    page = new_page(viewport=viewport, axe=True)
    login(page, username, PASSWORD)
    page.goto(f"/portfolio/entry/{goal_id}/edit")
    group = page.locator("#group-steps")
    page.evaluate("window.__sameDocument = true")

    add = group.get_by_role("button", name="Add another")
    add.click()
    add.click()
    expect(group.locator("[data-group-item]")).to_have_count(5)  # 2 stored + 1 empty + 2
    texts = group.locator("input[name$='-text']")
    expect(texts.nth(4)).to_be_focused()
    texts.nth(2).fill("Vorstellungsgespräch üben")

    group.get_by_role("button", name="Remove Step 1").click()
    expect(group.locator("[data-group-item]")).to_have_count(4)
    expect(group.get_by_role("status")).to_have_text("Step 1 removed. Save to keep the change.")
    assert page.evaluate("window.__sameDocument === true")  # no page load
    # The rows are numbered again, as the server will read them.
    assert _steps(page) == [
        "steps-0-text=Bewerbung schreiben",
        "steps-1-text=Vorstellungsgespräch üben",
        "steps-2-text=",
        "steps-3-text=",
    ]
    expect(group.locator("legend[data-item-legend]").first).to_have_text("Step 1")
    assert_accessible(page, f"goal form after adding and removing rows ({viewport['width']})")
    assert_phone_ready(page, f"goal form ({viewport['width']})")
    page.screenshot(
        path=str(screenshot_dir() / f"entry-rows-{viewport['width']}.png"), full_page=True
    )

    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    steps = page.locator(f"#steps-{goal_id}")
    expect(steps).to_contain_text("Bewerbung schreiben")
    expect(steps).to_contain_text("Vorstellungsgespräch üben")
    expect(steps).not_to_contain_text("Drei Betriebe aussuchen")


def test_rows_are_added_and_removed_without_javascript(browser, live_server):
    username, goal_id = _pupil_with_goal(live_server)
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport=PHONE
    )
    try:
        page = context.new_page()
        login(page, username, PASSWORD)
        page.goto(f"/portfolio/entry/{goal_id}/edit")
        group = page.locator("#group-steps")
        expect(group.locator("[data-group-item]")).to_have_count(3)
        texts = group.locator("input[name$='-text']")
        texts.nth(1).fill("Bewerbung an zwei Betriebe")
        with page.expect_navigation():
            group.get_by_role("button", name="Remove Step 1").click()
        assert page.url.endswith(f"/portfolio/entry/{goal_id}/edit#group-steps")
        expect(page.get_by_text("Saved without the removed row.")).to_be_visible()
        # What was typed in the other row is kept; one row less (and one empty).
        assert _steps(page) == ["steps-0-text=Bewerbung an zwei Betriebe", "steps-1-text="]

        texts.nth(1).fill("Mappe abgeben")
        with page.expect_navigation():
            group.get_by_role("button", name="Save and add another").click()
        expect(page.get_by_text("Saved. There is a new empty row for you.")).to_be_visible()
        expect(page.locator("#group-steps [data-group-item]")).to_have_count(3)
    finally:
        context.close()
