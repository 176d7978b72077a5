"""End-to-end flows through the real UI, in English (the source language of all strings).

Each test creates the accounts it changes (through the CLI or the services), so the tests
do not depend on each other's order and the demo school stays as seeded.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .helpers import (
    DEMO_PASSWORD,
    NEW_PASSWORD,
    PHONE,
    assert_accessible,
    change_password,
    download_by_job,
    login,
    logout,
    unique,
)

pytestmark = pytest.mark.e2e


def focus_style(page) -> dict:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          const r = el.getBoundingClientRect();
          return {tag: el.tagName, id: el.id,
                  text: (el.innerText || el.value || '').trim().slice(0, 40),
                  outlineStyle: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth),
                  boxShadow: s.boxShadow,
                  rect: [Math.round(r.x), Math.round(r.y), Math.round(r.width),
                         Math.round(r.height)],
                  visible: r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0
                           && r.top < innerHeight};
        }"""
    )


def assert_focus_visible(page) -> dict:
    style = focus_style(page)
    assert style["visible"], f"the focused element is off-screen: {style}"
    assert (style["outlineStyle"] != "none" and style["outlineWidth"] >= 2) or style[
        "boxShadow"
    ] != "none", f"no visible focus indicator on {style}"
    return style


# --- today: login, password, languages, keyboard -------------------------------------------


def test_login_shows_the_start_page_and_logout_ends_the_session(page):
    login(page, "lukas.becker")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lukas")
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    logout(page)
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto("/portfolio/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_is_refused_with_one_message(page):
    page.goto("/login")
    page.get_by_label("Username").fill("lukas.becker")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Username or password is wrong.")
    expect(page).to_have_url(re.compile(r"/login"))


def test_new_pupil_must_change_the_initial_password(page, live_server):
    username = live_server.create_user(
        unique("e2e.neu"),
        password="Start-Passwort-1",
        class_="8a",
        first_name="Nele",
        last_name="Neu",
    )
    login(page, username, "Start-Passwort-1")
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(page.get_by_text("Please choose your own password before you start.")).to_be_visible()
    # Nothing else is reachable and there is no navigation until the password is changed.
    expect(page.get_by_role("navigation", name="Main navigation")).to_have_count(0)
    page.goto("/portfolio/")
    expect(page).to_have_url(re.compile(r"/password$"))
    change_password(page, "Start-Passwort-1", "kurz")
    expect(page.get_by_role("alert").first).to_be_visible()
    change_password(page, "Start-Passwort-1")
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    logout(page)
    login(page, username, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nele")


def _switch_language(page, name: str) -> None:
    # The switcher's label is in the current language; find it by its form.
    page.locator("form.bwp-lang select").select_option(label=name)
    with page.expect_navigation():
        page.locator("form.bwp-lang button[type=submit]").click()


def test_language_switch_to_turkish_and_arabic_right_to_left(new_page, live_server):
    page = new_page(locale="de-DE")
    page.goto("/login")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "de")
    _switch_language(page, "Türkçe")
    expect(html).to_have_attribute("lang", "tr")
    expect(html).to_have_attribute("dir", "ltr")
    expect(page).to_have_url(re.compile(r"/login$"))  # the same page, now in Turkish
    _switch_language(page, "العربية")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    # Header and footer mirror: the brand sits at the right edge, the tools to its left.
    brand = page.locator(".bwp-brand").bounding_box()
    tools = page.locator(".bwp-header__tools").bounding_box()
    width = page.viewport_size["width"]
    assert brand["x"] + brand["width"] > width * 0.6, f"brand not on the right in RTL: {brand}"
    assert tools["x"] < brand["x"], f"tools not left of the brand in RTL: {tools} {brand}"
    footer_link = page.locator("footer a").first.bounding_box()
    assert footer_link["x"] + footer_link["width"] > width * 0.6, "footer not right-aligned in RTL"

    # The language chosen before logging in is kept after the login ...
    _switch_language(page, "English")
    username = live_server.create_user(
        unique("e2e.sprache"), password="Start-Passwort-1", class_="9a"
    )
    login(page, username, "Start-Passwort-1")
    expect(html).to_have_attribute("lang", "en")
    change_password(page, "Start-Passwort-1")
    # ... and a logged-in user's choice is stored with the account for the next login.
    _switch_language(page, "Türkçe")
    expect(html).to_have_attribute("lang", "tr")
    logout(page)
    other = new_page(locale="de-DE")
    login(other, username, NEW_PASSWORD)
    expect(other.locator("html")).to_have_attribute("lang", "tr")


def test_arabic_pages_are_accessible_right_to_left_at_phone_width(new_page):
    page = new_page(viewport=PHONE, locale="ar", axe=True)
    login(page, "eltern.haddad")  # stored language: Arabic
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert_accessible(page, "guardian start page in Arabic")
    scroll = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll[0] <= scroll[1], f"horizontal scrolling in RTL at 360 px: {scroll}"


def test_keyboard_only_login_and_navigation_with_visible_focus(page):
    page.goto("/login")
    # 1. The first Tab reaches the skip link; it becomes visible and jumps to the content.
    page.keyboard.press("Tab")
    style = assert_focus_visible(page)
    assert style["tag"] == "A" and page.evaluate("document.activeElement.hash") == "#inhalt", style
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#inhalt$"))
    assert page.evaluate("document.activeElement.id") == "inhalt"
    # 2. From the content, Tab reaches the form: username, password, button.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "username":
            break
    assert_focus_visible(page)
    page.keyboard.type("amira.haddad")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    assert_focus_visible(page)
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
    # 3. Every control of the header shows its focus; Enter on a nav link follows it.
    page.reload()  # focus starts again at the top of the document
    seen = []
    nav_target = None
    for _ in range(30):
        page.keyboard.press("Tab")
        style = assert_focus_visible(page)
        inside = page.evaluate("!!document.activeElement.closest('header')")
        if not inside and len(seen) > 1:
            break
        seen.append(style["text"] or style["tag"])
        if (
            nav_target is None
            and page.evaluate("!!document.activeElement.closest('header nav')")
            and page.evaluate("document.activeElement.getAttribute('aria-current')") != "page"
        ):
            nav_target = page.evaluate("document.activeElement.href")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url.rstrip("/") == nav_target.rstrip("/")
            break
    assert seen, "no focusable element in the header"
    if page.locator("header nav a").count() > 1:
        assert nav_target, f"no navigation link reached by Tab; focused: {seen}"


# --- flows through the features ---------------------------------------------------------------

CERTIFICATE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n160\n%%EOF\n"
)


def test_pupil_documents_a_day_teacher_comments_pupil_reads_it(new_page, live_server):
    """Flows 1-3: first login, a Berufsfelderkundung day, a certificate, handing in; the class
    teacher filters "waiting for feedback", comments and marks it reviewed; the pupil reads it."""
    username = live_server.create_user(
        unique("e2e.bfe"),
        password="Start-Passwort-1",
        class_="8a",
        first_name="Ben",
        last_name="Erkunder",
    )
    pupil = new_page()
    login(pupil, username, "Start-Passwort-1")
    change_password(pupil, "Start-Passwort-1")

    # A Berufsfelderkundung day.
    pupil.goto("/portfolio/kind/berufsfelderkundung/new")
    day1 = pupil.get_by_role("group", name="Day 1")
    day1.get_by_label("Company or provider").fill("Tischlerei Hoffmann")
    day1.get_by_label(re.compile(r"^What I did(?! not)")).fill(
        "Holz gemessen, gesägt und geschliffen."
    )
    day1.get_by_label(re.compile(r"^What I liked")).fill("Mit den Händen arbeiten.")
    with pupil.expect_navigation():
        pupil.get_by_role("button", name="Save").click()
    expect(pupil.get_by_role("heading", level=1)).to_be_visible()
    entry_url = pupil.url
    assert re.search(r"/portfolio/entry/\d+$", entry_url), entry_url
    expect(pupil.get_by_text("Tischlerei Hoffmann").first).to_be_visible()

    # A certificate.
    pupil.goto("/documents/upload")
    pupil.get_by_label("File").set_input_files(
        files=[
            {"name": "bescheinigung.pdf", "mimeType": "application/pdf", "buffer": CERTIFICATE_PDF}
        ]
    )
    pupil.get_by_label("Title").fill("Bescheinigung Berufsfelderkundung")
    pupil.get_by_role("group", name="What kind of document is it?").get_by_role(
        "radio"
    ).first.check()
    with pupil.expect_navigation():
        pupil.get_by_role("button", name="Upload").click()
    expect(pupil.get_by_text("Bescheinigung Berufsfelderkundung").first).to_be_visible()

    # Ask the class teacher for feedback (which shares the entry with her).
    pupil.goto(entry_url)
    pupil.locator("#feedback summary").click()
    hand_in = pupil.locator("form[action$='/hand-in']")
    hand_in.get_by_role("checkbox", name=re.compile(r"^My class teacher")).check()
    with pupil.expect_navigation():
        hand_in.get_by_role("button", name="Ask for feedback").click()
    expect(pupil.get_by_text("You asked your class teacher for feedback on")).to_be_visible()

    # The class teacher: class overview, filter, comment, mark reviewed.
    teacher = new_page()
    login(teacher, "klassenlehrerin8a")
    teacher.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="My classes"
    ).click()
    teacher.get_by_role("link", name=re.compile(r"8a")).first.click()
    teacher.get_by_role("link", name=re.compile(r"^Waiting for feedback")).click()
    teacher.get_by_role("link", name=re.compile(r"Erkunder")).first.click()
    comment = "Sehr genau beobachtet – frag in der Tischlerei nach einem Praktikum!"
    teacher.get_by_label("Your comment").first.fill(comment)
    with teacher.expect_navigation():
        teacher.get_by_role("button", name="Send comment").first.click()
    expect(teacher.get_by_text(comment).first).to_be_visible()  # shown in the thread
    with teacher.expect_navigation():
        teacher.get_by_role("button", name="Mark as reviewed").first.click()

    # The pupil sees the comment in the news and on the entry.
    pupil.goto("/news/")
    expect(pupil.get_by_text("Nothing new.")).to_have_count(0)
    pupil.goto(entry_url)
    expect(pupil.get_by_text(comment).first).to_be_visible()
    expect(pupil.get_by_text(re.compile(r"^You got feedback on"))).to_be_visible()


def test_guardian_registers_switches_to_turkish_and_downloads_the_pdf(new_page, live_server):
    """Flow 4: a parent registers with the code from the school's letter, uses the pages in
    Turkish, signs the transition agreement and downloads the portfolio PDF, which holds the
    child's own words. The Turkish pages are reached by structure, not by (translated) text."""
    reflection = "Ich möchte Tischlerin werden, weil ich gern mit Holz arbeite."
    code = (
        live_server.python(f"""
import sqlalchemy as sa
from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Entry
from portfolio.guardian.registration import issue_code
pupil = accounts.get_user("amira.haddad")
entry = Entry(school_id=pupil.school_id, pupil_id=pupil.id, kind="reflection",
              title="Mein Plan", data={{"title": "Mein Plan", "text": {reflection!r}}},
              share_guardians=True)
db.session.add(entry)
print(issue_code(pupil, "tr"))
db.session.commit()
""")
        .strip()
        .splitlines()[-1]
    )
    page = new_page(locale="de-DE")
    page.goto("/")
    page.locator("main a[href$='/eltern']").click()
    _switch_language(page, "Türkçe")
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    username = unique("e2e.eltern")
    inputs = page.locator("main form input:not([type=hidden])")
    inputs.nth(0).fill(code)
    inputs.nth(1).fill("Leyla")
    inputs.nth(2).fill("Haddad")
    inputs.nth(3).fill(username)
    inputs.nth(4).fill(NEW_PASSWORD)
    inputs.nth(5).fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if "/login" in page.url:
        login(page, username, NEW_PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    page.goto("/family/")
    page.locator("main a[href*='/family/child/']").first.click()
    child_url = page.url

    # Sign Amira's draft agreement (demo data: decision and next step filled in).
    page.locator("main a[href*='/agreement/pupil/']").first.click()
    sign_form = page.locator("form[action$='/sign']")
    sign_form.get_by_role("checkbox").check()
    with page.expect_navigation():
        sign_form.locator("button[type=submit]").click()
    expect(page.locator("form[action$='/sign']")).to_have_count(0)

    page.goto(child_url)
    made = download_by_job(page, page.locator("main form[action$='portfolio.pdf'] button").first)
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(Path(made.path()).read_bytes()))
    text = " ".join(p.extract_text() or "" for p in pdf.pages)
    assert "Tischlerin" in text, text[:2000]
