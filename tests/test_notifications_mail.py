"""E-mail about news, read from a real SMTP server (aiosmtpd): in the reader's language,
only what happened and a link, at once / daily / never, confirmed addresses only, an
unsubscribe link that works logged out, and a mail server that is down delays mail
without failing the request that caused it."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portfolio.extensions import db
from portfolio.i18n import _
from portfolio.jobs.queue import get_huey, pending_args
from portfolio.models import Audience, Entry, Notification, User, utcnow
from portfolio.notifications import mail, preferences, services
from tests.support.jobs import run_jobs
from tests.support.smtp import PUBLIC_URL, everything, html_of, links, text_of
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("english_users")

DREAM_JOB = "Tierpflegerin im Zoo Wuppertal"
NEXT_STEP = "Bewerbung beim Zoo bis Ostern schreiben"
AGREEMENT = {
    "decision": "dual",
    "dream_job": DREAM_JOB,
    "strengths": "Geduld mit Tieren",
    "next_step": NEXT_STEP,
    "agreement_id": "",
    "version": "",
}


def give_address(user: User, address: str, *, frequency=None, locale=None, confirmed=True):
    user.email = address
    user.email_confirmed_at = utcnow() if confirmed else None
    if frequency:
        user.mail_frequency = frequency
    if locale:
        user.locale = locale
    db.session.commit()


def private_entry(world, pupil=None, text="Mein Tag in der Bäckerei Schäfer") -> Entry:
    entry = Entry(
        school_id=world.school.id,
        pupil_id=(pupil or world.pupil).id,
        kind="reflection",
        data={"title": text, "text": "Ich habe Brötchen gebacken."},
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def hand_in(client, entry):
    response = client.post(f"/portfolio/entry/{entry.id}/hand-in", data={"ask": "class_teacher"})
    assert response.status_code == 303
    return response


def digests(runner) -> str:
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    return result.output


def run_retries() -> int:
    """Run the tasks the queue put aside to try again later, now."""
    huey = get_huey()
    later = dt.datetime(2100, 1, 1)
    tasks = huey.read_schedule(later)
    for task in tasks:
        huey.execute(task, timestamp=later)
    return len(tasks)


def follow_logged_out(app, path: str, user: User) -> str:
    """Open a link from a mail in a fresh browser: log in on the way, land on the page."""
    client = app.test_client()
    path = path.split("#")[0]
    first = client.get(path)
    assert first.status_code == 302 and urlsplit(first.location).path == "/login"
    response = client.post(
        "/login?next=" + quote(path), data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response.location.endswith(path)
    page = client.get(path)
    assert page.status_code == 200
    return page.get_data(as_text=True)


# -- the issue's check: a guardian, a signature, Turkish ------------------------------------
def test_guardian_gets_one_turkish_mail_about_the_signature_with_a_working_link(
    world, smtp_server, client_for, runner, app
):
    give_address(world.guardian, "gabi@example.org", locale="tr")  # default: daily digest
    pupil = client_for(world.pupil)
    assert pupil.post(f"/agreement/pupil/{world.pupil.id}/edit", data=AGREEMENT).status_code == 302
    run_jobs()
    assert smtp_server.inbox == []  # a digest reader gets nothing at once

    digests(runner)
    [message] = smtp_server.to("gabi@example.org")
    with app.test_request_context(), force_locale("tr"):
        line = _(
            "The transition agreement of %(pupil)s is waiting for your signature.", pupil="Paula"
        )
        hello = _("Hello %(name)s,", name="Gabi Guardian")
    english = "The transition agreement of Paula is waiting for your signature."
    assert line != english, "the Turkish catalogue lacks the line"
    text, html = text_of(message), html_of(message)
    assert line in text and hello in text and english not in text
    assert message["Content-Language"] == "tr" and '<html lang="tr"' in html
    assert "Berufswahlpass" in message["Subject"]
    # Nothing the pupil wrote, in any part or header.
    for written in (DREAM_JOB, NEXT_STEP, "Geduld mit Tieren"):
        assert written not in everything(message)
    # The link leads to the agreement, with its signing form, once logged in.
    [link] = [path for path in links(message) if path.startswith("/agreement/")]
    assert link == f"/agreement/pupil/{world.pupil.id}"
    page = follow_logged_out(app, link, world.guardian)
    assert 'name="confirm"' in page and f'action="/agreement/pupil/{world.pupil.id}/sign"' in page

    # One mail: the digest runs again (task and cron) and sends nothing new.
    digests(runner)
    assert len(smtp_server.to("gabi@example.org")) == 1


def test_a_mail_has_text_and_html_sender_and_unsubscribe_headers(world, smtp_server, client_for):
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    world.pupil.first_name = "Paula <b>Fett</b>"
    db.session.commit()
    hand_in(client_for(world.pupil), private_entry(world))
    run_jobs()
    [message] = smtp_server.inbox
    assert message["From"] == "Berufswahlpass <berufswahlpass@schule.example>"
    assert message["To"] == "Tina Teacher <tina@schule.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Subject"] == (
        "Berufswahlpass: Paula <b>Fett</b> Pupil handed in an entry and asks for your feedback."
    )
    assert message.get_content_type() == "multipart/alternative"
    html = html_of(message)
    assert "Paula &lt;b&gt;Fett&lt;/b&gt; Pupil handed in" in html and "<b>Fett" not in html
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert unsubscribe.startswith(PUBLIC_URL + "/news/email/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Mein Tag in der Bäckerei" not in everything(message)


# -- how often --------------------------------------------------------------------------------
def test_the_digest_collects_several_events_in_one_mail(world, smtp_server, client_for, runner):
    give_address(world.teacher, "tina@schule.example")  # staff default: digest
    first, second = private_entry(world), private_entry(world, text="Zweiter Tag")
    pupil = client_for(world.pupil)
    hand_in(pupil, first)
    pupil.post(f"/portfolio/entry/{second.id}/sharing", data={"share_class_teacher": "y"})
    hand_in(client_for(world.classmate), private_entry(world, world.classmate))
    run_jobs()
    assert smtp_server.inbox == []

    assert "Digests sent: 1." in digests(runner)
    [message] = smtp_server.inbox
    assert message["Subject"] == "Berufswahlpass – daily summary: 3 new notices"
    text = text_of(message)
    for line in (
        "Paula Pupil handed in an entry and asks for your feedback.",
        "Paula Pupil shared an entry with you.",
        "Carl Classmate handed in an entry and asks for your feedback.",
    ):
        assert line in text
    assert f"{PUBLIC_URL}/review/pupils/{world.pupil.id}#entry-{first.id}" in text
    assert "Zweiter Tag" not in everything(message)

    # Later the same day: new news waits for tomorrow's digest.
    hand_in(pupil, second)
    digests(runner)
    assert len(smtp_server.inbox) == 1
    world.teacher.mail_digest_at = utcnow() - dt.timedelta(hours=21)
    db.session.commit()
    digests(runner)
    assert len(smtp_server.inbox) == 2
    assert "daily summary: 1 new notice" in smtp_server.inbox[1]["Subject"]


def test_read_news_is_not_mailed(world, smtp_server, client_for, runner):
    give_address(world.teacher, "tina@schule.example")
    hand_in(client_for(world.pupil), private_entry(world))
    client_for(world.teacher).get("/news/")  # seen in the app
    assert "Digests sent: 0." in digests(runner)
    assert smtp_server.inbox == []


def test_never_sends_nothing(world, smtp_server, client_for, runner):
    give_address(world.guardian, "gabi@example.org")
    guardian = client_for(world.guardian)
    response = guardian.post(
        "/news/settings", data={"email": "gabi@example.org", "frequency": "never"}
    )
    assert response.status_code == 302
    client_for(world.pupil).post(f"/agreement/pupil/{world.pupil.id}/edit", data=AGREEMENT)
    assert services.unread_count(world.guardian) == 1  # the News page still has it
    run_jobs()
    digests(runner)
    assert smtp_server.inbox == []


def test_pupils_get_no_mail_unless_they_choose_it(world, smtp_server, client_for):
    give_address(world.pupil, "paula@example.org")
    entry = private_entry(world)
    entry.share_class_teacher = True
    db.session.commit()
    teacher = client_for(world.teacher)
    respond = f"/review/entries/{entry.id}/respond"
    teacher.post(respond, data={"action": "comment", f"e{entry.id}-body": "Gut!"})
    run_jobs()
    mail.send_digests()
    assert smtp_server.inbox == []
    client_for(world.pupil).post(
        "/news/settings", data={"email": "paula@example.org", "frequency": "immediate"}
    )
    teacher.post(respond, data={"action": "reviewed", f"e{entry.id}-body": ""})
    run_jobs()
    [message] = smtp_server.inbox
    text = text_of(message)
    assert text.startswith("Hi Paula,") and "Tina Teacher gave you feedback" in text
    assert "Gut!" not in everything(message)


# -- addresses: confirmed only ------------------------------------------------------------------
def test_an_unconfirmed_address_gets_nothing_until_its_link_is_followed(
    world, smtp_server, client_for, app
):
    teacher = client_for(world.teacher)
    response = teacher.post(
        "/news/settings", data={"email": "Tina@Schule.Example", "frequency": "immediate"}
    )
    assert response.status_code == 302
    assert "We have sent a link to" in teacher.get("/news/settings").get_data(as_text=True)
    run_jobs()
    [confirmation] = smtp_server.inbox
    assert confirmation["To"] == "Tina Teacher <Tina@schule.example>"
    assert "confirmation of the e-mail address" in confirmation["Subject"]

    hand_in(client_for(world.pupil), private_entry(world))
    run_jobs()
    mail.send_digests()
    assert len(smtp_server.inbox) == 1  # still only the confirmation

    [link] = [p for p in links(confirmation) if "/confirm/" in p]
    anonymous = app.test_client()  # the link works without logging in ...
    page = anonymous.get(link).get_data(as_text=True)
    assert "Tina@schule.example" in page and "Confirm the address" in page
    db.session.expire_all()
    assert db.session.get(User, world.teacher.id).email_confirmed_at is None  # ... on a click
    confirmed = anonymous.post(link, follow_redirects=True).get_data(as_text=True)
    assert "The address is confirmed" in confirmed

    hand_in(client_for(world.pupil), private_entry(world, text="Noch ein Tag"))
    run_jobs()
    assert [m["To"] for m in smtp_server.inbox[1:]] == ["Tina Teacher <Tina@schule.example>"]


def test_a_confirmation_link_for_an_old_address_or_too_old_does_not_confirm(
    world, smtp_server, client_for, monkeypatch
):
    teacher = client_for(world.teacher)
    teacher.post("/news/settings", data={"email": "alt@example.org", "frequency": "digest"})
    run_jobs()
    [old_link] = [p for p in links(smtp_server.inbox[0]) if "/confirm/" in p]
    teacher.post("/news/settings", data={"email": "neu@example.org", "frequency": "digest"})
    response = teacher.get(old_link)
    assert response.status_code == 410
    run_jobs()
    [new_link] = [p for p in links(smtp_server.inbox[1]) if "/confirm/" in p]
    monkeypatch.setattr(preferences, "CONFIRM_DAYS", -1)
    assert teacher.get(new_link).status_code == 410
    assert teacher.post(new_link).status_code == 410
    db.session.expire_all()
    assert db.session.get(User, world.teacher.id).email_confirmed_at is None
    assert teacher.get("/news/email/confirm/not-a-token").status_code == 410


def test_a_bad_address_is_refused_and_kept_in_the_form(world, smtp_server, client_for):
    response = client_for(world.teacher).post(
        "/news/settings", data={"email": "tina at schule", "frequency": "digest"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This is not an e-mail address." in page and 'value="tina at schule"' in page
    run_jobs()
    assert smtp_server.inbox == []


def test_a_parent_gives_the_address_at_registration(world, smtp_server, app):
    from portfolio.guardian import registration

    code = registration.issue_code(world.classmate)
    db.session.commit()
    client = app.test_client()
    form = client.get("/eltern").get_data(as_text=True)
    assert 'name="email"' in form
    response = client.post(
        "/eltern",
        data={
            "code": code,
            "first_name": "Ayşe",
            "last_name": "Classmate",
            "username": "ayse.c",
            "password": "Sonnenblume-am-Fenster-7",
            "confirm": "Sonnenblume-am-Fenster-7",
            "language": "tr",
            "email": "ayse@example.org",
        },
    )
    assert response.status_code == 302
    run_jobs()
    [confirmation] = smtp_server.inbox
    assert confirmation["Content-Language"] == "tr"
    [link] = [p for p in links(confirmation) if "/confirm/" in p]
    assert "ayse@example.org" in client.get(link).get_data(as_text=True)
    client.post(link)
    guardian = db.session.scalar(sa.select(User).where(User.username == "ayse.c"))
    assert guardian.email_confirmed_at is not None
    assert preferences.frequency(guardian) == "digest"


# -- unsubscribe, logged out ------------------------------------------------------------------
def test_the_unsubscribe_link_works_logged_out(world, smtp_server, client_for, app):
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    pupil = client_for(world.pupil)
    hand_in(pupil, private_entry(world))
    run_jobs()
    [message] = smtp_server.inbox
    [link] = [p for p in links(message) if "/unsubscribe/" in p]
    anonymous = app.test_client()
    page = anonymous.get(link).get_data(as_text=True)
    assert "Turn off e-mails" in page and "Tina" not in page  # nothing about the person
    assert 'name="csrf_token"' in page
    # The mail program's one-click POST (RFC 8058) has no form and no CSRF token.
    app.config["WTF_CSRF_ENABLED"] = True
    assert anonymous.post(link).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = False
    assert "E-mails are turned off" in anonymous.get(link).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.teacher.id).mail_frequency == "never"

    hand_in(pupil, private_entry(world, text="Noch ein Tag"))
    run_jobs()
    mail.send_digests()
    assert len(smtp_server.inbox) == 1
    assert anonymous.get("/news/email/unsubscribe/forged").status_code == 404


# -- after the commit, with retries -----------------------------------------------------------
def test_a_down_mail_server_delays_mail_and_never_fails_the_request(world, smtp_server, client_for):
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    smtp_server.stop()
    entry = private_entry(world)
    hand_in(client_for(world.pupil), entry)  # the pupil's request succeeds
    assert services.unread_count(world.teacher) == 1
    run_jobs()  # the worker tries, the server refuses the connection
    note = db.session.scalar(sa.select(Notification))
    assert note.mailed_at is None and smtp_server.inbox == []
    assert get_huey().scheduled(), "the queue tries again later"

    smtp_server.start()  # back, on the same port
    assert run_retries() == 1
    [message] = smtp_server.inbox
    assert "handed in an entry" in message["Subject"]
    db.session.expire_all()
    assert db.session.get(Notification, note.id).mailed_at is not None
    # Nothing more is waiting, and nothing goes twice.
    mail.sweep(utcnow() + dt.timedelta(minutes=30))
    assert len(smtp_server.inbox) == 1


def test_the_sweep_sends_what_the_queue_gave_up_on(world, smtp_server, client_for):
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    smtp_server.stop()
    hand_in(client_for(world.pupil), private_entry(world))
    run_jobs()
    get_huey().flush()  # the retries are used up (or the queue lost the message)
    smtp_server.start()
    assert mail.sweep().sent == 0  # too fresh: the queue may still be on it
    assert mail.sweep(utcnow() + dt.timedelta(minutes=10)).sent == 1
    assert len(smtp_server.inbox) == 1


def test_a_rolled_back_change_mails_nobody(world, smtp_server, app):
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    entry = private_entry(world)
    entry.share_class_teacher = True  # asking shares with whom is asked
    services.entry_handed_in(entry, world.pupil, [Audience.CLASS_TEACHER])
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1
    db.session.rollback()
    assert pending_args(app, "notifications.mail_now") == []
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    run_jobs()
    assert smtp_server.inbox == []


def test_one_action_is_one_mail(world, smtp_server, client_for):
    """The agreement made complete by the teacher: the guardian gets one mail, not one per
    notice, and the teacher (who acted) none."""
    give_address(world.guardian, "gabi@example.org", frequency="immediate")
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    client_for(world.teacher).post(f"/agreement/pupil/{world.pupil.id}/edit", data=AGREEMENT)
    run_jobs()
    assert [m["To"] for m in smtp_server.inbox] == ["Gabi Guardian <gabi@example.org>"]


# -- without a mail server ------------------------------------------------------------------
def test_without_mail_server_nothing_is_sent_and_the_settings_page_says_so(
    world, client_for, runner, app
):
    assert not app.config.get("MAIL_SERVER")
    give_address(world.teacher, "tina@schule.example", frequency="immediate")
    hand_in(client_for(world.pupil), private_entry(world))
    assert pending_args(app, "notifications.mail_now") == []
    page = client_for(world.teacher).get("/news/settings").get_data(as_text=True)
    assert "This school does not send e-mails yet" in page
    assert "MAIL_SERVER is not set" in runner.invoke(args=["send-digests"]).output
    assert 'name="email"' not in app.test_client().get("/eltern").get_data(as_text=True)


def test_the_settings_page_is_in_the_account_menu_and_on_the_news_page(world, client_for):
    for user in (world.pupil, world.guardian, world.teacher, world.counsellor, world.admin):
        client = client_for(user)
        assert 'href="/news/settings"' in client.get("/password").get_data(as_text=True)
        assert 'href="/news/settings"' in client.get("/news/").get_data(as_text=True)
    checked = re.compile(r'<input checked[^>]*value="(\w+)"')
    page = client_for(world.guardian).get("/news/settings").get_data(as_text=True)
    assert checked.findall(page) == ["digest"]  # parents: a daily digest until they choose
    page = client_for(world.pupil).get("/news/settings").get_data(as_text=True)
    assert checked.findall(page) == ["never"]  # pupils: no mail until they choose
