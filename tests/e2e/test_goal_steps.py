"""A pupil ticks a goal's steps on the entry page: in place with JavaScript, by a normal
form post without it; the page stays accessible at phone width."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from .helpers import PHONE, assert_accessible, login

pytestmark = pytest.mark.e2e

PASSWORD = "Ziel-Passwort-2026"


def _pupil_with_goal(live_server) -> tuple[str, int]:
    username = live_server.create_user(
        f"e2e.goal.{uuid.uuid4().hex[:8]}", password=PASSWORD, class_="9a"
    )
    out = live_server.python(
        f"""
import sqlalchemy as sa
from portfolio.extensions import db
from portfolio.models import User, utcnow
from portfolio.pupil import services
pupil = db.session.scalar(sa.select(User).where(User.username == "{username}"))
pupil.must_change_password = False
goal = services.create_entry(pupil, "goal", {{
    "goal": "Einen Praktikumsplatz finden", "state": "open",
    "steps": [
        {{"text": "Drei Betriebe aussuchen", "due_on": "2020-02-01", "done": "no"}},
        {{"text": "Bewerbung schreiben", "due_on": "2099-03-01", "done": "no"}},
    ],
}})
db.session.commit()
print(goal.id)
"""
    )
    return username, int(out.strip().splitlines()[-1])


def test_ticking_a_step_in_place_with_javascript(new_page, live_server):
    username, goal_id = _pupil_with_goal(live_server)
    page = new_page(viewport=PHONE, axe=True)
    login(page, username, PASSWORD)
    page.goto(f"/portfolio/entry/{goal_id}")
    steps = page.locator(f"#steps-{goal_id}")
    expect(steps.get_by_text("overdue: was due on February 1, 2020")).to_be_visible()
    assert_accessible(page, "goal with steps (phone)")

    page.evaluate("window.__sameDocument = true")
    steps.get_by_role("button", name="Tick off: Drei Betriebe aussuchen").click()
    expect(page.locator(f"#step-{goal_id}-0")).to_have_class(re.compile("step--done"))
    expect(page.get_by_role("status").get_by_text("Step ticked off.")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")  # no page load
    expect(page.get_by_text("1 step is overdue")).to_have_count(0)  # the notice went too
    # Focus stays on the step's control, now the other way round.
    expect(page.locator(f"#step-{goal_id}-0 button")).to_be_focused()
    expect(page.locator(f"#step-{goal_id}-0 button")).to_have_accessible_name(
        "Reopen: Drei Betriebe aussuchen"
    )
    # The next tick uses the new version (no conflict).
    steps.get_by_role("button", name="Tick off: Bewerbung schreiben").click()
    expect(page.locator(f"#step-{goal_id}-1")).to_have_class(re.compile("step--done"))
    page.reload()
    expect(page.locator(".bwp-display__step--done")).to_have_count(2)
    assert_accessible(page, "goal with steps done (phone)")


def test_ticking_a_step_without_javascript(browser, live_server):
    username, goal_id = _pupil_with_goal(live_server)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, username, PASSWORD)
        page.goto(f"/portfolio/entry/{goal_id}")
        with page.expect_navigation():
            page.get_by_role("button", name="Tick off: Drei Betriebe aussuchen").click()
        assert page.url.endswith(f"/portfolio/entry/{goal_id}#step-{goal_id}-0")
        expect(page.get_by_text("Step ticked off.")).to_be_visible()
        expect(page.locator(f"#step-{goal_id}-0")).to_have_class(re.compile("step--done"))
    finally:
        context.close()
