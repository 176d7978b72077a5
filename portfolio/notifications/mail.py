"""E-mail about news: composed in the reader's language, sent from the job queue by SMTP.

Why the standard library's `smtplib` and not Flask-Mail: every mail leaves from a worker
(never inside a web request), so the request-bound conveniences of Flask-Mail would not
be used; `smtplib` + `email.message` do the same in a few lines, with no extra
dependency to keep up to date. Settings: MAIL_SERVER, MAIL_PORT, MAIL_USERNAME,
MAIL_PASSWORD, MAIL_DEFAULT_SENDER, MAIL_USE_TLS / MAIL_USE_SSL, MAIL_TIMEOUT
(README, "Configuration"). Without MAIL_SERVER nothing is sent.

How mail goes out:

* `notice_added(user)`: called for every new notice. For users who want mail at once,
  it enqueues `mail_now(user_id)`; the message is sent to the queue only after the
  commit, so a rolled-back change never mails.
* `mail_now` sends all of the user's unread, unmailed notices in one mail. When the SMTP
  server is down it raises, and the queue tries again (`retries`); the `sweep` task
  every ten minutes picks up what is still unsent after that. The request that caused
  the notice has long succeeded.
* `send_digests()` (the periodic task at 05:30 UTC and `flask send-digests` for cron)
  sends each digest reader one mail with what is new, at most once in 20 hours.

Only one worker sends a user's mail at a time (a short hold on the user row, not a lock
held while talking to the SMTP server). A notice is marked mailed after the server took
the mail; a crash in between can repeat a mail, never lose one.

A mail says what happened and links to the page, never what the pupil wrote: the lines
come from `messages.mail_line`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_babel import force_locale

from portfolio import transaction
from portfolio.extensions import db
from portfolio.i18n import _, current_language, is_rtl, ngettext
from portfolio.jobs import queue
from portfolio.models import Notification, User, utcnow
from portfolio.notifications import preferences
from portfolio.notifications.messages import mail_line, target_url, with_subjects
from portfolio.notifications.preferences import DIGEST, IMMEDIATE

log = logging.getLogger(__name__)

#: Notices older than this are not mailed any more (a user who turns mail on gets no
#: flood of old news; the News page has them).
LOOKBACK = dt.timedelta(days=7)
#: At most one digest in this time, however often the digest runs (task and cron).
DIGEST_GAP = dt.timedelta(hours=20)
#: How long a worker may hold a user's mail (a crashed worker's hold runs out).
HOLD = dt.timedelta(minutes=5)
#: The sweep mails notices that are still unsent this long after they were made.
SWEEP_AFTER = dt.timedelta(minutes=5)
#: Lines in one mail; the rest is "and N more" with the link to the News page.
MAX_LINES = 20


#: The server answered but refused this one mail: the next users' mail may still go.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class MailBusy(RuntimeError):
    """Another worker is sending this user's mail right now (the task is tried again)."""


# -- settings and the SMTP connection ----------------------------------------------------------
def public_base() -> str:
    """The address of the app for links in mails (PUBLIC_URL; development: localhost)."""
    return (current_app.config.get("PUBLIC_URL") or "http://localhost:5000").rstrip("/") + "/"


def sender() -> str:
    configured = current_app.config.get("MAIL_DEFAULT_SENDER")
    if configured:
        return configured
    host = urlsplit(public_base()).hostname or "localhost"
    return formataddr(("Berufswahlpass", f"berufswahlpass@{host}"))


class Mailer:
    """One SMTP connection, opened on the first mail and reused for the next ones."""

    def __init__(self) -> None:
        self.config = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        host, port, timeout = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), cfg["MAIL_TIMEOUT"]
        if cfg.get("MAIL_USE_SSL"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None  # reconnect for the next mail
            raise

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None


@contextlib.contextmanager
def mailer() -> Iterator[Mailer]:
    m = Mailer()
    try:
        yield m
    finally:
        m.close()


# -- composing ---------------------------------------------------------------------------------
@contextlib.contextmanager
def in_language_of(user: User) -> Iterator[None]:
    """A request at PUBLIC_URL in the user's language: for url_for and the templates."""
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "de")
    with current_app.test_request_context(base_url=public_base()), force_locale(locale):
        yield


def _message(user: User, subject: str, template: str, **context) -> EmailMessage:
    """A mail to the user with a text and an HTML part (inside `in_language_of`)."""
    context.update(
        user=user,
        adult=preferences.is_adult(user),
        lang=current_language(),
        direction="rtl" if is_rtl() else "ltr",
        subject=subject,
    )
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender()
    msg["To"] = formataddr((user.full_name, user.email or ""))
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=urlsplit(public_base()).hostname or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_template(f"notifications/mail/{template}.txt", **context))
    msg.add_alternative(
        render_template(f"notifications/mail/{template}.html", **context), subtype="html"
    )
    msg["Content-Language"] = context["lang"]  # after set_content, which drops Content-*
    return msg


def compose_news(user: User, notes: list[Notification], *, digest: bool) -> EmailMessage:
    """The mail for these notices: one line each (what happened) with its link."""
    with in_language_of(user):
        lines = [
            {
                "text": mail_line(note, user),
                "url": target_url(user, note, external=True)
                or url_for("notifications.index", _external=True),
                "when": note.created_at,
            }
            for note in notes[:MAX_LINES]
        ]
        count = len(notes)
        if digest:
            subject = ngettext(
                "Berufswahlpass – daily summary: %(num)d new notice",
                "Berufswahlpass – daily summary: %(num)d new notices",
                count,
            )
        elif count == 1:
            subject = _("Berufswahlpass: %(news)s", news=lines[0]["text"])
        else:
            subject = ngettext(
                "Berufswahlpass: %(num)d new notice", "Berufswahlpass: %(num)d new notices", count
            )
        unsubscribe = url_for(
            "notifications.unsubscribe",
            token=preferences.unsubscribe_token(user),
            _external=True,
        )
        msg = _message(
            user,
            subject,
            "news",
            lines=lines,
            more=max(0, count - MAX_LINES),
            digest=digest,
            news_url=url_for("notifications.index", _external=True),
            settings_url=url_for("notifications.settings", _external=True),
            unsubscribe_url=unsubscribe,
        )
    # RFC 2369 / RFC 8058: mail programs offer "unsubscribe" and may POST to it at once.
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg


def compose_confirmation(user: User, address: str) -> EmailMessage:
    """The mail with the link that confirms the address."""
    with in_language_of(user):
        link = url_for(
            "notifications.confirm",
            token=preferences.confirm_token(user, address),
            _external=True,
        )
        msg = _message(
            user,
            _("Berufswahlpass: confirmation of the e-mail address"),
            "confirm",
            confirm_url=link,
            days=preferences.CONFIRM_DAYS,
        )
    msg.replace_header("To", formataddr((user.full_name, address)))
    return msg


# -- sending one user's news ------------------------------------------------------------------
def _take_hold(user_id: int) -> bool:
    """Hold the user's mail for this worker (short transaction); False if someone has it."""
    now = utcnow()
    with transaction.atomic():
        result = db.session.execute(
            sa.update(User)
            .where(
                User.id == user_id,
                sa.or_(User.mail_lock_until.is_(None), User.mail_lock_until < now),
            )
            .values(mail_lock_until=now + HOLD, updated_at=User.updated_at)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount == 1


def _release(user_id: int, sent: list[int] | None = None, *, digest: bool = False) -> None:
    """Give the hold back; mark the notices that went out as mailed (short transaction)."""
    now = utcnow()
    values = {"mail_lock_until": None, "updated_at": User.updated_at}
    if digest and sent:
        values["mail_digest_at"] = now
    with transaction.atomic():
        if sent:
            db.session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(sent))
                .values(mailed_at=now)
                .execution_options(synchronize_session=False)
            )
        db.session.execute(
            sa.update(User)
            .where(User.id == user_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _pending_clause(now: dt.datetime):
    return sa.and_(
        Notification.mailed_at.is_(None),
        Notification.read_at.is_(None),
        Notification.created_at > now - LOOKBACK,
    )


def pending(user: User, now: dt.datetime | None = None) -> list[Notification]:
    """The user's notices that still wait for a mail, oldest first (one query)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            with_subjects(sa.select(Notification))
            .where(Notification.user_id == user.id, _pending_clause(now))
            .order_by(Notification.created_at, Notification.id)
        )
    )


def deliver(user_id: int, mode: str, *, via: Mailer | None = None) -> str:
    """Send the user's waiting notices in one mail, if they get mail in `mode`.

    Returns "sent", "nothing" (no news, or not for this user now) or raises: MailBusy
    when another worker holds the user's mail, the SMTP error when sending failed (the
    notices stay unmailed). Commits its own short transactions (`transaction.atomic()`):
    the hold, then the notices marked as mailed; call it outside any transaction.
    """
    user = db.session.get(User, user_id, populate_existing=True)
    now = utcnow()
    if user is None or not preferences.receives_mail(user, mode):
        return "nothing"
    if mode == DIGEST and user.mail_digest_at and user.mail_digest_at > now - DIGEST_GAP:
        return "nothing"
    if not pending(user, now):
        return "nothing"
    if not _take_hold(user_id):
        raise MailBusy(user_id)
    try:
        user = db.session.get(User, user_id, populate_existing=True)
        notes = pending(user, now)
        if not notes:
            _release(user_id)
            return "nothing"
        message = compose_news(user, notes, digest=mode == DIGEST)
        ids = [n.id for n in notes]
        if via is None:
            with mailer() as m:
                m.send(message)
        else:
            via.send(message)
    except BaseException:
        db.session.rollback()
        _release(user_id)
        raise
    _release(user_id, ids, digest=mode == DIGEST)
    return "sent"


# -- digests and the sweep ---------------------------------------------------------------------
@dataclass
class Run:
    """What one run of the digest (or the sweep) did."""

    sent: int = 0
    failed: list[int] = field(default_factory=list)
    left: int = 0  # not tried: the server stopped answering

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left


def _candidates(now: dt.datetime, *, older_than: dt.timedelta | None = None) -> list[User]:
    """Users with a confirmed address and news waiting for mail (one query)."""
    waiting = sa.select(Notification.user_id).where(_pending_clause(now))
    if older_than is not None:
        waiting = waiting.where(Notification.created_at <= now - older_than)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.id.in_(waiting),
                User.email.is_not(None),
                User.email_confirmed_at.is_not(None),
                User.is_active_account.is_(True),
            )
            .order_by(User.id)
            .execution_options(populate_existing=True)
        )
    )


def _deliver_all(users: list[User], mode: str) -> Run:
    run = Run()
    ids = [u.id for u in users if preferences.frequency(u) == mode]
    with mailer() as m:
        for position, user_id in enumerate(ids):
            try:
                if deliver(user_id, mode, via=m) == "sent":
                    run.sent += 1
            except MailBusy:
                continue  # its worker sends it
            except REFUSED as error:  # this mail only (e.g. the address is refused)
                log.warning("mail to user %s refused: %s", user_id, error)
                run.failed.append(user_id)
            except OSError as error:  # the server is gone (SMTPException is an OSError)
                log.warning("mail server unavailable: %s", error)
                run.failed.append(user_id)
                run.left = len(ids) - position - 1
                break
    return run


def send_digests(now: dt.datetime | None = None) -> Run:
    """One mail per digest reader with news since their last digest (max. once in 20 h)."""
    if not preferences.mail_enabled():
        return Run()
    return _deliver_all(_candidates(now or utcnow()), DIGEST)


def sweep(now: dt.datetime | None = None) -> Run:
    """Mail what is still unsent for users who want mail at once (after queue retries)."""
    if not preferences.mail_enabled():
        return Run()
    return _deliver_all(_candidates(now or utcnow(), older_than=SWEEP_AFTER), IMMEDIATE)


# -- the tasks ---------------------------------------------------------------------------------
def notice_added(user: User) -> None:
    """A notice for `user` was added: mail it at once (after the commit) if they want that."""
    if preferences.receives_mail(user, IMMEDIATE):
        mail_now.enqueue(user.id)


@queue.background("notifications.mail_now", retries=5, retry_delay=60, own_transactions=True)
def mail_now(user_id: int) -> None:
    deliver(user_id, IMMEDIATE)


@queue.background("notifications.confirm_address", retries=5, retry_delay=60)
def send_confirmation(user_id: int, address: str) -> None:
    user = db.session.get(User, user_id)
    if user is None or user.email != address or user.email_confirmed_at is not None:
        return  # changed or confirmed in the meantime
    if not preferences.mail_enabled():
        return
    with mailer() as m:
        m.send(compose_confirmation(user, address))


class DigestIncomplete(RuntimeError):
    """Some digests could not be sent; the task is tried again."""


@queue.periodic(
    "notifications.digest",
    queue.crontab(hour="5", minute="30"),
    retries=3,
    retry_delay=900,
    own_transactions=True,
)
def digest_task() -> None:
    run = send_digests()
    log.info("digests: %d sent, %d failed, %d left", run.sent, len(run.failed), run.left)
    if not run.ok:
        raise DigestIncomplete(f"{len(run.failed)} failed, {run.left} left")


@queue.periodic("notifications.sweep", queue.crontab(minute="*/10"), own_transactions=True)
def sweep_task() -> None:
    sweep()
