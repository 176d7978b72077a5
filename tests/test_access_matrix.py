"""Issue 8: every route x every kind of visitor -> the expected answer.

The table below is generated against the app's URL map: a route that is not in ROUTES
fails `test_every_route_is_in_the_matrix`. Each row names the URL arguments (built from
a content fixture: the pupil's entries with each sharing setting, documents, an
agreement, a guidance record, tokens ...) and who may use the route, with the status
the app answers. Anonymous visitors are sent to the login page. Every other visitor not
named is refused with exactly one status, by one rule (also in CONTRIBUTING.md and the
docstring of portfolio/access.py):

* **404** when the visitor may not see what the URL names: a pupil they have no relation
  to (another school, not their class, not their child, a counsellor unassigned or
  without consent), a pupil's entry, file, agreement or guidance record not shared with
  them, someone else's job, a class of another school. As if nothing were there.
* **403** when they may see it, or when the URL names nothing (a page of a role they do
  not have: the admin pages, the pupil's own pages, staff overviews), but the action is
  not theirs.

What a URL names comes from its argument builder (`_pid` names the pupil, `_entry(name)`
that entry ...) or the row's `names=`; `SEEN_BY` says who may see each of them. A row
states an exception to the rule explicitly (`stubo=302`, `others=410`) with a `note`.

Routes about a pupil are checked twice: for Paula (assigned counsellor *with* consent)
and for her classmate Carl (assigned counsellor *without* consent, other guardian).

Every answer carries the security headers (strict CSP, nosniff, Referrer-Policy).
GET: every visitor opens the real page; pages must not contain marker texts of content
the visitor may not read (private / class teacher / StuBO / counsellor / guardians markers); the
refused visitors' requests write nothing (no audit entry for a refused download).
POST: every visitor who may not use the route sends a valid-looking request (the form
of the page as an allowed visitor sees it, CSRF off): refused, and the database is
unchanged (checksum over all tables).
POST, the other half: every allowed visitor of a row (one of each kind, `writers`) sends
the request in a world of their own, and the row's `effect` proves in the database that
it did what it should (the entry exists, the signature is there, the account is off).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from portfolio import clock
from portfolio.extensions import db, limiter
from portfolio.models import (
    Agreement,
    AgreementSignature,
    AssessmentRequest,
    Audience,
    Comment,
    Consent,
    CounsellorAssignment,
    Document,
    Entry,
    EntryStatus,
    GuardianLink,
    GuidanceRecord,
    ImportedPackage,
    Job,
    LoginSession,
    Notification,
    PupilStatus,
    ReviewState,
    Role,
    School,
    SchoolYear,
    User,
    utcnow,
)
from tests.support.database import empty_tables
from tests.support.files import png_bytes
from tests.support.matrix import (
    LOGGED_IN,
    VISITORS,
    admin_tokens,
    clients_for,
    db_checksum,
    fast_pdfs,
    fill,
    form_for,
    freeze,
    header_problems,
    job_of,
    make_content,
    marker,
    outcome,
    row,
    rows,
)
from tests.support.world import PASSWORD, build_world

DENY = "deny"  # refused: 403 or 404 by the rule (see the docstring and SEEN_BY)
LOGIN = "login"  # anonymous: redirect to the login page
ANY = "any"  # the route is open to this visitor (public or self-service)

# Visitor groups, relative to the subject pupil (Paula).
SELF = ("pupil",)
PUPILS = ("pupil", "classmate", "other_pupil")
CT = ("teacher",)
STUBO = ("stubo",)
CNS = ("counsellor",)
GUARD = ("guardian",)
ADMIN = ("admin",)
MANAGERS = ("admin", "stubo")
TEACHERS = ("teacher", "teacher_9b", "other_teacher")
COUNSELLORS = ("counsellor", "counsellor_no_consent", "counsellor_unassigned")
GUARDIANS = ("guardian", "other_guardian")
STAFF_OF_PUPIL = CT + STUBO + CNS
EVERYONE = LOGGED_IN


def allow(status=200, *groups, anon=LOGIN, others=DENY, **extra) -> dict:
    """Expectation profile: the groups get `status`, everybody else `others`."""
    table = {v: others for v in LOGGED_IN}
    table["anon"] = anon
    for group in groups:
        for v in group:
            table[v] = status
    table.update(extra)
    return table


def PUBLIC(status=200, logged_in=None):
    return allow(
        status,
        EVERYONE,
        anon=status,
        **({v: logged_in for v in EVERYONE} if logged_in is not None else {}),
    )


def LOGIN_ANY(status=200):
    return allow(status, EVERYONE)


def OWNER_ONLY(status=200, **extra):
    return allow(status, SELF, **extra)


def PUPILS_OWN(status=200, **extra):
    """Each pupil's own pages (no id of another pupil in the URL)."""
    return allow(status, PUPILS, **extra)


def SHARED_WITH_TEACHERS(status=200):
    return allow(status, SELF, CT, STUBO)


def STAFF_OF(status=200, **extra):
    return allow(status, STAFF_OF_PUPIL, **extra)


def MANAGERS_ONLY(status=200, **extra):
    return allow(status, MANAGERS, **extra)


def ADMIN_ONLY(status=200, **extra):
    return allow(status, ADMIN, **extra)


#: What a URL can name -> who may see it (for Paula; Carl through SWAP). A refused visitor
#: who may not see what the URL names gets 404, everybody else refused gets 403.
NOTHING = "nothing"  # a page of a role: 403 for every refused visitor
SCHOOL = tuple(v for v in LOGGED_IN if v not in ("other_pupil", "other_teacher"))
SEEN_BY: dict[str, tuple[str, ...]] = {
    NOTHING: LOGGED_IN,
    # any relation to the pupil (access.PupilAccess.any); without consent a counsellor has none
    "pupil": ("pupil", "teacher", "stubo", "counsellor", "guardian", "admin"),
    # a class of the school: its name is no secret there
    "class": SCHOOL,
    # the pupil's things: who they are shared with (access.PupilAccess.can_view_shared)
    "e_private": ("pupil",),
    "e_class_teacher": ("pupil", "teacher"),
    "e_stubo": ("pupil", "stubo"),
    "e_counsellor": ("pupil", "counsellor"),
    "e_guardians": ("pupil", "guardian"),
    "doc_private": ("pupil",),
    "doc_class_teacher": ("pupil", "teacher"),
    "doc_stubo": ("pupil", "stubo"),
    "doc_shared": ("pupil", "teacher", "stubo", "counsellor", "guardian"),
    "doc_pa": ("pupil", "teacher", "stubo"),  # no consent "PA an die Berufsberatung"
    "agreement": ("pupil", "teacher", "stubo", "guardian"),
    "guidance": ("pupil", "teacher", "stubo"),  # the school's record, not shared
    "guidance_counsellor": ("pupil", "teacher", "stubo", "counsellor"),
    "assessment": ("pupil",),
    # jobs: only who asked
    "job": ("pupil",),
    "class_job": ("teacher",),
}


def names(what: str):
    """Marks an argument builder with what its URL names (a key of SEEN_BY)."""

    def mark(fn):
        fn.names = what
        return fn

    return mark


@dataclass
class Route:
    args: Callable | dict = field(default_factory=dict)
    expect: dict = field(default_factory=lambda: LOGIN_ANY())
    #: URL names a pupil or their content: run for Paula and for Carl.
    subject: bool = False
    #: POST: data builder (ctx -> dict), or None to fill in the GET page's form.
    data: Callable | None = None
    #: POST with a GET page: the visitor whose page provides the form.
    form_from: str | None = None
    note: str = ""
    #: What the URL names (a key of SEEN_BY); default: that of the argument builder.
    names: str | None = None
    #: POST, the other half (test_access_matrix_writes.py): effect(ctx) is true when an
    #: allowed visitor's request changed what it should (ctx.me: the writer; ctx.response).
    effect: Callable | None = None
    #: POST: fields for the allowed write on top of `data` or the page's form (ctx -> dict).
    write: Callable | None = None
    #: POST: prepares the world for the allowed write (ctx -> None; may set ctx attributes).
    before: Callable | None = None
    #: POST: who proves the effect (default: one visitor of each allowed relation).
    writers: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.names is None:
            self.names = getattr(self.args, "names", NOTHING)
        assert self.names in SEEN_BY, f"names={self.names!r} is not in SEEN_BY"


@names("pupil")
def _pid(ctx):
    return {"pupil_id": ctx.c.pupil.id}


@names("pupil")
def _uid(ctx):
    return {"user_id": ctx.c.pupil.id}


def _entry(name):
    return names(name)(lambda ctx: {"entry_id": getattr(ctx.c, name).id})


def _doc(name):
    return names(name)(lambda ctx: {"document_id": getattr(ctx.c, name).id})


def _record(name):
    return names(name)(lambda ctx: {"record_id": getattr(ctx.c, name).id})


@names("class")
def _class_9a(ctx):
    return {"class_id": ctx.w.class_9a.id}


@names("job")
def _job(ctx):
    """A finished take-away job that the subject pupil asked for."""
    return {"job_id": ctx.c.job.id}


def _unsubscribe(ctx):
    """The unsubscribe link of the subject pupil's mails."""
    from portfolio.notifications.preferences import unsubscribe_token

    return {"token": unsubscribe_token(ctx.c.pupil)}


@names("class_job")
def _class_job(ctx):
    """A finished class ZIP that the class teacher of 9a asked for."""
    return {"job_id": ctx.t.class_job}


@names("pupil")
def _confirm(ctx):
    """The confirmation link of the subject pupil's new address."""
    from portfolio.notifications.preferences import confirm_token

    return {"token": confirm_token(row(User, ctx.c.pupil.id), "paula@example.org")}


# -- preparing and checking an allowed write (test_access_matrix_writes.py) ----------------
NEW_PASSWORD = "Ein-neues-Passwort-2026"
ROSTER_CSV = (
    b"Nachname;Vorname;Geburtsdatum;Geschlecht;Klasse;Jahrgang\nNeu;Nina;01.02.2011;w;9a;9\n"
)


def _roster_upload_stored(ctx) -> bool:
    from portfolio.roster.services import UploadStore

    token = ctx.response.location.rstrip("/").rsplit("/", 1)[-1]
    return UploadStore().get(token, user_id=ctx.me.id) is not None


def _school_year_ends_soon(ctx) -> None:
    """The current school year ends in a week: the change to the next one is due."""
    import datetime as dt

    (year,) = rows(SchoolYear, school_id=ctx.w.school.id, is_current=True)
    year.ends_on = clock.today() + dt.timedelta(days=7)
    ctx.old_year = year.name


def _pupil_left(ctx) -> None:

    from portfolio.privacy import lifecycle

    lifecycle.mark_left(row(User, ctx.c.pupil.id), clock.today(), row(User, ctx.w.admin.id))


def _leaver_package_started(ctx) -> bool:
    from portfolio.privacy.takeaway import LEAVER_TAKEAWAY

    return len(rows(Job, pupil_id=ctx.c.pupil.id, kind=LEAVER_TAKEAWAY)) == 1


def _other_package() -> bytes:
    """A take-away package of a pupil of the other school."""
    from portfolio.privacy.portability import export_bytes

    (pupil,) = rows(User, username="otto")
    return export_bytes(pupil)


def _package_staged(ctx) -> bool:
    from portfolio.privacy.import_views import PackageUploads

    token = ctx.response.location.rstrip("/").rsplit("/", 1)[-1]
    return PackageUploads().meta(token, user_id=ctx.me.id) is not None


def _registration_code(ctx) -> None:
    from portfolio.guardian import registration

    ctx.code = registration.issue_code(row(User, ctx.c.pupil.id))


def _new_guardian_linked(ctx) -> bool:
    """A logged-in parent links the child; otherwise the new account is linked."""
    parent = ctx.me.id if ctx.me else [u.id for u in rows(User, username="gerda.neu")][0]
    return rows(GuardianLink, guardian_id=parent, pupil_id=ctx.c.pupil.id) != []


def _unconfirmed_address(ctx) -> None:
    ctx.monkeypatch.setitem(ctx.app.config, "MAIL_SERVER", "localhost")
    user = row(User, (ctx.me or ctx.c.pupil).id)
    user.email = "paula@example.org" if ctx.me is None else "gabi@example.org"
    user.email_confirmed_at = None


def _confirmation_mail_queued(ctx) -> bool:
    from portfolio.jobs.queue import get_huey

    return len(get_huey().pending()) > 0


def _mail_daily(ctx) -> None:
    user = row(User, ctx.c.pupil.id)
    user.email = "paula@example.org"
    user.email_confirmed_at = utcnow()
    user.mail_frequency = "daily"


def _new_job(ctx, kind: str) -> bool:
    job = job_of(ctx.response)
    return job is not None and job.kind == kind and job.user_id == ctx.me.id


def _new_pdf_job(ctx, document: str) -> bool:
    """A job making Paula's `document` for the visitor (the pupil herself or her reader)."""
    job = job_of(ctx.response)
    return (
        _new_job(ctx, "pupil_pdf")
        and job.pupil_id == ctx.c.pupil.id
        and job.params["document"] == document
    )


def _placement_not_documented(ctx) -> None:
    """The grade-9 placement (due all year) has no entry: a step is due to be reminded of."""
    for comment in rows(Comment, entry_id=ctx.c.e_class_teacher.id):
        db.session.delete(comment)
    db.session.delete(row(Entry, ctx.c.e_class_teacher.id))


def _handed_in(ctx) -> None:
    entry = row(Entry, ctx.c.e_class_teacher.id)
    entry.review_state = ReviewState.REQUESTED
    # Asked of both teacher audiences (which shares it with the StuBO as well).
    entry.share_stubo = entry.asked_class_teacher = entry.asked_stubo = True
    db.session.flush()
    ctx.c.e_class_teacher.version = entry.version  # the version the page would show now


# Method + rule -> one or more rows. Keep it sorted by blueprint.
ROUTES: dict[str, Route | list[Route]] = {
    # -- main -------------------------------------------------------------------------------
    "GET /": Route(expect=PUBLIC(200, logged_in=302)),
    "GET /barrierefreiheit": Route(expect=PUBLIC()),
    "GET /datenschutz": Route(expect=PUBLIC()),
    "GET /healthz": Route(expect=PUBLIC()),
    "GET /help/": Route(expect=allow(302, TEACHERS, STUBO, COUNSELLORS, ADMIN)),
    "GET /help/<page>": Route(
        {"page": "class-teacher"},
        allow(200, TEACHERS, STUBO, COUNSELLORS, ADMIN),
        note="help for staff; every staff member may read every staff role's help",
    ),
    "POST /language": Route(
        expect=PUBLIC(ANY),
        data=lambda ctx: {"language": "tr"},
        effect=lambda ctx: row(User, ctx.me.id).locale == "tr",
    ),
    # -- auth -------------------------------------------------------------------------------
    "GET /login": Route(expect=PUBLIC(200, logged_in=302)),
    "POST /login": Route(
        expect=PUBLIC(ANY),
        data=lambda ctx: {"username": "paula", "password": PASSWORD},
        writers=("anon",),
        effect=lambda ctx: rows(LoginSession, user_id=ctx.w.pupil.id) != [],
    ),
    "POST /logout": Route(
        expect=LOGIN_ANY(ANY),
        data=lambda ctx: {},
        effect=lambda ctx: (
            [s.ended_at is not None for s in rows(LoginSession, user_id=ctx.me.id)] == [True]
        ),
    ),
    "GET /password": Route(expect=LOGIN_ANY()),
    "POST /password": Route(
        expect=LOGIN_ANY(ANY),
        data=lambda ctx: {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        effect=lambda ctx: row(User, ctx.me.id).check_password(NEW_PASSWORD),
    ),
    "GET /pupils/<int:pupil_id>/reset-password": Route(_pid, allow(200, CT, MANAGERS), True),
    "POST /pupils/<int:pupil_id>/reset-password": Route(
        _pid,
        allow(ANY, CT, MANAGERS),
        True,
        form_from="admin",
        effect=lambda ctx: not row(User, ctx.c.pupil.id).check_password(PASSWORD),
    ),
    # -- admin ------------------------------------------------------------------------------
    "GET /admin/": Route(expect=MANAGERS_ONLY()),
    "GET /admin/accounts": Route(expect=MANAGERS_ONLY()),
    "GET /admin/accounts/<int:user_id>": Route(_uid, allow(200, CT, MANAGERS), True),
    "POST /admin/accounts/<int:user_id>/active": Route(
        _uid,
        MANAGERS_ONLY(ANY),
        True,
        data=lambda ctx: {"active": "0"},
        effect=lambda ctx: not row(User, ctx.c.pupil.id).is_active_account,
    ),
    "POST /admin/pupils/<int:pupil_id>/counsellors": Route(
        _pid,
        MANAGERS_ONLY(ANY),
        True,
        data=lambda ctx: {"counsellor_id": str(ctx.w.counsellor_unassigned.id)},
        effect=lambda ctx: (
            rows(
                CounsellorAssignment,
                counsellor_id=ctx.w.counsellor_unassigned.id,
                pupil_id=ctx.c.pupil.id,
            )
            != []
        ),
    ),
    "POST /admin/pupils/<int:pupil_id>/guardians": Route(
        _pid,
        allow(ANY, CT, MANAGERS),
        True,
        data=lambda ctx: {"username": "hans"},
        effect=lambda ctx: (
            rows(GuardianLink, guardian_id=ctx.w.other_guardian.id, pupil_id=ctx.c.pupil.id) != []
        ),
    ),
    "POST /admin/pupils/<int:pupil_id>/guardians/remove": Route(
        _pid,
        allow(ANY, CT, MANAGERS),
        True,
        data=lambda ctx: {"id": str(ctx.w.guardian.id)},
        effect=lambda ctx: rows(GuardianLink, guardian_id=ctx.w.guardian.id) == [],
    ),
    "GET /admin/staff/new": Route(expect=MANAGERS_ONLY()),
    "POST /admin/staff/new": Route(
        expect=MANAGERS_ONLY(ANY),
        form_from="admin",
        write=lambda ctx: {"username": "neue.kraft", "roles": ["teacher"]},
        effect=lambda ctx: [u.roles for u in rows(User, username="neue.kraft")] == [{Role.TEACHER}],
    ),
    "GET /admin/roster": Route(expect=MANAGERS_ONLY()),
    "POST /admin/roster": Route(
        expect=MANAGERS_ONLY(ANY),
        data=lambda ctx: {},
        write=lambda ctx: {"file": (io.BytesIO(ROSTER_CSV), "schild.csv")},
        effect=lambda ctx: _roster_upload_stored(ctx),
    ),
    "GET /admin/roster/<token>": Route(
        lambda ctx: {"token": ctx.t.roster},
        ADMIN_ONLY(200, stubo=302),
        note="the StuBO is sent back to the upload page: the file is not theirs",
    ),
    "POST /admin/roster/<token>": Route(
        lambda ctx: {"token": ctx.t.roster},
        ADMIN_ONLY(ANY, stubo=302),
        form_from="admin",
        effect=lambda ctx: len(rows(User, first_name="Nina", last_name="Neu")) == 1,
    ),
    "GET /admin/download/<token>": Route(
        lambda ctx: {"token": ctx.t.download},
        allow(200, ADMIN, others=410),
        note="one-time file of its maker; everybody else: 410 gone",
    ),
    "GET /admin/classes": Route(expect=MANAGERS_ONLY()),
    "GET /admin/classes/<int:class_id>/slips": Route(_class_9a, allow(200, CT, MANAGERS)),
    "POST /admin/classes/<int:class_id>/slips": Route(
        _class_9a,
        allow(ANY, CT, MANAGERS),
        form_from="admin",
        write=lambda ctx: {"pupils": [str(ctx.c.pupil.id)], "confirm": "y"},
        effect=lambda ctx: (job := job_of(ctx.response)) is not None and job.user_id == ctx.me.id,
    ),
    "GET /admin/classes/<int:class_id>/letters": Route(_class_9a, allow(200, CT, MANAGERS)),
    "POST /admin/classes/<int:class_id>/letters": Route(
        _class_9a,
        allow(ANY, CT, MANAGERS),
        form_from="admin",
        write=lambda ctx: {"pupils": [str(ctx.c.pupil.id)], "confirm": "y"},
        effect=lambda ctx: (job := job_of(ctx.response)) is not None and job.user_id == ctx.me.id,
    ),
    "GET /admin/school-year": Route(expect=ADMIN_ONLY()),
    "POST /admin/school-year": Route(
        expect=ADMIN_ONLY(ANY),
        data=lambda ctx: {},
        before=lambda ctx: _school_year_ends_soon(ctx),
        effect=lambda ctx: (
            [y.name for y in rows(SchoolYear, school_id=ctx.w.school.id, is_current=True)]
            != [ctx.old_year]
        ),
    ),
    "GET /admin/consents": Route(
        expect=ADMIN_ONLY(), note="every pupil's consents: the school admin's, not the StuBO's"
    ),
    "GET /admin/consents/<int:pupil_id>": Route(_pid, allow(200, CT, MANAGERS), True),
    "POST /admin/consents/<int:pupil_id>": Route(
        _pid,
        allow(ANY, CT, MANAGERS),
        True,
        form_from="admin",
        effect=lambda ctx: len(rows(Consent, pupil_id=ctx.c.pupil.id)) == 2,
    ),
    "GET /admin/audit": Route(expect=ADMIN_ONLY()),
    "GET /admin/audit.csv": Route(expect=ADMIN_ONLY()),
    "GET /admin/leaving": Route(expect=ADMIN_ONLY()),
    "POST /admin/leaving/retention": Route(
        expect=ADMIN_ONLY(ANY),
        data=lambda ctx: {"retention_days": "400"},
        effect=lambda ctx: row(School, ctx.w.school.id).retention_days == 400,
    ),
    "GET /admin/leaving/<int:pupil_id>": Route(_pid, ADMIN_ONLY(), True),
    "POST /admin/leaving/<int:pupil_id>": Route(
        _pid,
        ADMIN_ONLY(ANY),
        True,
        form_from="admin",
        effect=lambda ctx: row(User, ctx.c.pupil.id).status == PupilStatus.LEFT,
    ),
    "POST /admin/leaving/<int:pupil_id>/undo": Route(
        _pid,
        ADMIN_ONLY(ANY),
        True,
        data=lambda ctx: {},
        before=lambda ctx: _pupil_left(ctx),
        effect=lambda ctx: row(User, ctx.c.pupil.id).status == PupilStatus.ACTIVE,
    ),
    "GET /admin/leaving/<int:pupil_id>/take-away": Route(
        _pid, ADMIN_ONLY(), True, note="for a pupil at school the page says: mark as left first"
    ),
    "POST /admin/leaving/<int:pupil_id>/take-away": Route(
        _pid,
        ADMIN_ONLY(ANY),
        True,
        data=lambda ctx: {},
        before=lambda ctx: _pupil_left(ctx),
        effect=lambda ctx: _leaver_package_started(ctx),
        note="the pupil has not left: back to the page",
    ),
    "GET /admin/import": Route(expect=ADMIN_ONLY()),
    "POST /admin/import": Route(
        expect=ADMIN_ONLY(ANY),
        data=lambda ctx: {},
        write=lambda ctx: {"package": (io.BytesIO(_other_package()), "paket.zip")},
        effect=lambda ctx: _package_staged(ctx),
    ),
    "GET /admin/import/<token>": Route(
        lambda ctx: {"token": ctx.t.package},
        ADMIN_ONLY(200, stubo=403),
        note="a package the admin uploaded; nobody else's token works",
    ),
    "POST /admin/import/<token>": Route(
        lambda ctx: {"token": ctx.t.package},
        ADMIN_ONLY(ANY),
        data=lambda ctx: {"class_id": ""},
        effect=lambda ctx: len(rows(ImportedPackage, school_id=ctx.w.school.id)) == 1,
    ),
    "GET /eltern": Route(expect=PUBLIC()),
    "POST /eltern": Route(
        expect=PUBLIC(ANY),
        data=lambda ctx: {"code": "WRONG-CODE"},
        writers=("anon", "guardian"),
        before=lambda ctx: _registration_code(ctx),
        write=lambda ctx: {
            "code": ctx.code,
            "first_name": "Gerda",
            "last_name": "Neu",
            "username": "gerda.neu",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "language": "de",
        },
        effect=lambda ctx: _new_guardian_linked(ctx),
        note="anonymous: a new parent account; a logged-in parent: links the child",
    ),
    # -- agreement --------------------------------------------------------------------------
    "GET /agreement/": Route(expect=PUPILS_OWN()),
    "GET /agreement/pupil/<int:pupil_id>": Route(
        _pid,
        allow(200, CT, STUBO, CNS, GUARD, ADMIN, pupil=302),
        True,
        note="the admin sees the page but no content (counsellor: not shared with them)",
    ),
    "GET /agreement/pupil/<int:pupil_id>/version/<int:number>": Route(
        lambda ctx: {"pupil_id": ctx.c.pupil.id, "number": 1},
        allow(200, SELF, CT, STUBO, GUARD),
        True,
        names="agreement",
    ),
    "GET /agreement/pupil/<int:pupil_id>/edit": Route(_pid, SHARED_WITH_TEACHERS(), True),
    "POST /agreement/pupil/<int:pupil_id>/edit": Route(
        _pid,
        SHARED_WITH_TEACHERS(ANY),
        True,
        form_from="pupil",
        write=lambda ctx: {"dream_job": f"Traumberuf von {ctx.who}"},
        effect=lambda ctx: (
            f"Traumberuf von {ctx.who}"
            in [a.data.get("dream_job") for a in rows(Agreement, pupil_id=ctx.c.pupil.id)]
        ),
    ),
    "POST /agreement/pupil/<int:pupil_id>/sign": Route(
        _pid,
        allow(ANY, SELF, CT, STUBO, GUARD),
        True,
        data=lambda ctx: {
            "agreement_id": str(ctx.c.agreement.id),
            "version": str(ctx.c.agreement.version),
            "confirm": "y",
        },
        effect=lambda ctx: (
            rows(AgreementSignature, agreement_id=ctx.c.agreement.id, user_id=ctx.me.id) != []
        ),
    ),
    "POST /agreement/sharing": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {"share_guardians": "y", "share_counsellor": "y"},
        effect=lambda ctx: row(Agreement, ctx.c.agreement.id).share_counsellor,
    ),
    # -- documents --------------------------------------------------------------------------
    "GET /documents/": Route(expect=PUPILS_OWN()),
    "GET /documents/pupil/<int:pupil_id>": Route(
        _pid, allow(200, CT, STUBO, CNS, GUARD, ADMIN, pupil=302), True
    ),
    "GET /documents/upload": Route(expect=PUPILS_OWN()),
    "POST /documents/upload": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {},
        write=lambda ctx: {
            "file": (io.BytesIO(png_bytes(8, 8)), "zeugnis.png"),
            "title": "Neues Zeugnis",
            "category": "certificate",
        },
        effect=lambda ctx: len(rows(Document, pupil_id=ctx.me.id, title="Neues Zeugnis")) == 1,
    ),
    "GET /documents/<int:document_id>/edit": Route(_doc("doc_shared"), OWNER_ONLY(), True),
    "POST /documents/<int:document_id>/edit": Route(
        _doc("doc_shared"),
        OWNER_ONLY(ANY),
        True,
        form_from="pupil",
        write=lambda ctx: {"title": "Neuer Titel"},
        effect=lambda ctx: row(Document, ctx.c.doc_shared.id).title == "Neuer Titel",
    ),
    "GET /documents/<int:document_id>/delete": Route(_doc("doc_shared"), OWNER_ONLY(), True),
    "POST /documents/<int:document_id>/delete": Route(
        _doc("doc_shared"),
        OWNER_ONLY(ANY),
        True,
        form_from="pupil",
        effect=lambda ctx: row(Document, ctx.c.doc_shared.id) is None,
    ),
    "GET /documents/<int:document_id>/download": [
        Route(_doc("doc_shared"), allow(200, SELF, CT, STUBO, CNS, GUARD), True),
        Route(_doc("doc_private"), OWNER_ONLY(), True),
        Route(
            _doc("doc_pa"),
            allow(200, SELF, CT, STUBO),
            True,
            note="a file of the Potenzialanalyse: not the counsellor without the PA consent",
        ),
        Route(_doc("doc_class_teacher"), allow(200, SELF, CT), True),
        Route(_doc("doc_stubo"), allow(200, SELF, STUBO), True),
    ],
    "GET /documents/<int:document_id>/preview": [
        Route(_doc("doc_shared"), allow(200, SELF, CT, STUBO, CNS, GUARD), True),
        Route(_doc("doc_private"), OWNER_ONLY(404), True, note="not an image: 404 for all"),
    ],
    # -- export -----------------------------------------------------------------------------
    "GET /export/mine/choose": Route(expect=PUPILS_OWN()),
    "GET /export/mine/application": Route(expect=PUPILS_OWN()),
    # The PDFs are made by a job: an allowed POST starts one for the visitor (fast_pdfs).
    "POST /export/mine/application.pdf": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {"placement": ctx.c.e_class_teacher.id},
        effect=lambda ctx: _new_pdf_job(ctx, "application"),
        note="another pupil's placement id is dropped: nothing chosen, back to the choice",
    ),
    "POST /export/mine/portfolio.pdf": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {},
        effect=lambda ctx: _new_pdf_job(ctx, "portfolio"),
    ),
    "POST /export/mine/summary.pdf": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {},
        effect=lambda ctx: _new_pdf_job(ctx, "summary"),
    ),
    "POST /export/mine/selection.pdf": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {"section": "mein-weg"},
        effect=lambda ctx: _new_pdf_job(ctx, "selection"),
    ),
    "POST /export/pupil/<int:pupil_id>/portfolio.pdf": Route(
        _pid,
        allow(ANY, SELF, STAFF_OF_PUPIL, GUARD),
        True,
        data=lambda ctx: {},
        effect=lambda ctx: _new_pdf_job(ctx, "portfolio"),
    ),
    "POST /export/pupil/<int:pupil_id>/summary.pdf": Route(
        _pid,
        allow(ANY, SELF, STAFF_OF_PUPIL, GUARD),
        True,
        data=lambda ctx: {},
        effect=lambda ctx: _new_pdf_job(ctx, "summary"),
    ),
    "POST /export/class/<int:class_id>/zip": Route(
        _class_9a,
        allow(ANY, CT, STUBO),
        data=lambda ctx: {},
        effect=lambda ctx: _new_job(ctx, "class_zip"),
    ),
    # -- guardian ---------------------------------------------------------------------------
    "GET /family/": Route(expect=allow(200, GUARDIANS)),
    "GET /family/child/<int:pupil_id>": Route(_pid, allow(200, GUARD), True),
    # -- guidance ---------------------------------------------------------------------------
    "GET /guidance/mine": Route(expect=PUPILS_OWN(302)),
    "GET /guidance/pupil/<int:pupil_id>": Route(
        _pid, allow(200, SELF, STAFF_OF_PUPIL, GUARD), True
    ),
    "GET /guidance/pupil/<int:pupil_id>/new": Route(_pid, STAFF_OF(), True),
    "POST /guidance/pupil/<int:pupil_id>/new": Route(
        _pid,
        STAFF_OF(ANY),
        True,
        form_from="teacher",
        write=lambda ctx: {"topics": "Neue Beratung"},
        effect=lambda ctx: (
            len(
                rows(
                    GuidanceRecord,
                    pupil_id=ctx.c.pupil.id,
                    author_id=ctx.me.id,
                    topics="Neue Beratung",
                )
            )
            == 1
        ),
    ),
    "GET /guidance/<int:record_id>": [
        Route(
            _record("guidance"),
            allow(200, SELF, CT, STUBO),
            True,
            note="written by the school, not shared: not the counsellor",
        ),
        Route(
            _record("guidance_counsellor"),
            allow(200, SELF, STAFF_OF_PUPIL),
            True,
        ),
    ],
    "POST /guidance/<int:record_id>": Route(
        _record("guidance"),
        OWNER_ONLY(ANY),
        True,
        form_from="pupil",
        note="only the pupil writes notes; staff 403",
        write=lambda ctx: {"pupil_notes": "Meine Notiz"},
        effect=lambda ctx: row(GuidanceRecord, ctx.c.guidance.id).pupil_notes == "Meine Notiz",
    ),
    "GET /guidance/<int:record_id>/edit": Route(_record("guidance"), allow(200, CT, STUBO), True),
    "POST /guidance/<int:record_id>/edit": Route(
        _record("guidance"),
        allow(ANY, CT, STUBO),
        True,
        form_from="teacher",
        write=lambda ctx: {"topics": "Geänderte Themen"},
        effect=lambda ctx: row(GuidanceRecord, ctx.c.guidance.id).topics == "Geänderte Themen",
    ),
    # -- jobs: only the user who asked, while the rule of what the job makes still holds ----
    "GET /jobs/": Route(expect=LOGIN_ANY()),
    "GET /jobs/<int:job_id>": [
        Route(_job, OWNER_ONLY(), True, note="the pupil's own take-away job"),
        Route(_class_job, allow(200, CT), note="the class teacher's ZIP; the StuBO may not"),
    ],
    "GET /jobs/<int:job_id>.json": [
        Route(_job, OWNER_ONLY(), True),
        Route(_class_job, allow(200, CT)),
    ],
    "GET /jobs/<int:job_id>/download": [
        Route(_job, OWNER_ONLY(), True),
        Route(_class_job, allow(200, CT)),
    ],
    # -- notifications, privacy -------------------------------------------------------------
    "GET /news/": Route(expect=LOGIN_ANY()),
    "GET /news/settings": Route(expect=LOGIN_ANY()),
    "POST /news/settings": Route(
        expect=LOGIN_ANY(ANY),
        data=lambda ctx: {"email": "", "frequency": "never"},
        writers=("guardian",),
        effect=lambda ctx: row(User, ctx.me.id).mail_frequency == "never",
    ),
    "POST /news/settings/resend": Route(
        expect=LOGIN_ANY(ANY),
        data=lambda ctx: {},
        writers=("guardian",),
        before=lambda ctx: _unconfirmed_address(ctx),
        effect=lambda ctx: _confirmation_mail_queued(ctx),
    ),
    # Links in mails work without logging in: the signed token is the key.
    "GET /news/email/confirm/<token>": Route(
        {"token": "not-a-valid-token"}, PUBLIC(410), note="a bad or old link: gone"
    ),
    "POST /news/email/confirm/<token>": [
        Route({"token": "not-a-valid-token"}, PUBLIC(410), data=lambda ctx: {}),
        Route(
            _confirm,
            PUBLIC(ANY),
            True,
            data=lambda ctx: {},
            writers=("anon",),
            before=lambda ctx: _unconfirmed_address(ctx),
            effect=lambda ctx: row(User, ctx.c.pupil.id).email_confirmed_at is not None,
        ),
    ],
    "GET /news/email/unsubscribe/<token>": Route(_unsubscribe, PUBLIC(), True),
    "POST /news/email/unsubscribe/<token>": Route(
        _unsubscribe,
        PUBLIC(ANY),
        True,
        data=lambda ctx: {},
        writers=("anon",),
        before=lambda ctx: _mail_daily(ctx),
        effect=lambda ctx: row(User, ctx.c.pupil.id).mail_frequency == "never",
    ),
    "GET /privacy/": Route(expect=allow(302, PUPILS, guardian=200, other_guardian=200)),
    "GET /privacy/<int:pupil_id>/consents": Route(_pid, allow(200, SELF, GUARD), True),
    "POST /privacy/<int:pupil_id>/consents": Route(
        _pid,
        allow(ANY, GUARD, pupil=403),
        True,
        data=lambda ctx: {"purpose": "counsellor_access", "action": "withdraw"},
        note="the pupil is under the school's consent age: the guardian decides",
        effect=lambda ctx: (
            [c.withdrawn_by_id for c in rows(Consent, pupil_id=ctx.c.pupil.id)] == [ctx.me.id]
        ),
    ),
    "GET /privacy/<int:pupil_id>/who-looked": Route(_pid, allow(200, SELF, GUARD), True),
    "GET /privacy/<int:pupil_id>/take-away": Route(_pid, allow(200, SELF, GUARD), True),
    "POST /privacy/<int:pupil_id>/take-away": Route(
        _pid,
        allow(ANY, SELF, GUARD),
        True,
        data=lambda ctx: {},
        effect=lambda ctx: _new_job(ctx, "takeaway"),
    ),
    # -- pupil ------------------------------------------------------------------------------
    "GET /portfolio/": Route(expect=PUPILS_OWN()),
    "GET /portfolio/timeline": Route(expect=PUPILS_OWN()),
    "GET /portfolio/section/<section>": Route({"section": "mein-weg"}, PUPILS_OWN()),
    "GET /portfolio/kinds": Route(expect=PUPILS_OWN()),
    "GET /portfolio/kind/<kind>": Route({"kind": "praktikum"}, PUPILS_OWN()),
    "GET /portfolio/kind/<kind>/new": Route({"kind": "praktikum"}, PUPILS_OWN()),
    "POST /portfolio/kind/<kind>/new": Route(
        {"kind": "praktikum"},
        PUPILS_OWN(ANY),
        data=lambda ctx: {"company": "Tischlerei Holz"},
        effect=lambda ctx: (
            [
                e.data.get("company") for e in rows(Entry, pupil_id=ctx.me.id, kind="praktikum")
            ].count("Tischlerei Holz")
            == 1
        ),
    ),
    "GET /portfolio/strengths": Route(expect=PUPILS_OWN()),
    "GET /portfolio/assessments": Route(expect=PUPILS_OWN()),
    "POST /portfolio/assessments": Route(
        expect=PUPILS_OWN(ANY),
        data=lambda ctx: {"rater_name": "Oma", "relation": "other"},
        effect=lambda ctx: len(rows(AssessmentRequest, pupil_id=ctx.me.id, rater_name="Oma")) == 1,
    ),
    "POST /portfolio/assessments/<int:request_id>/<any(accept, decline, withdraw):action>": Route(
        lambda ctx: {"request_id": ctx.c.assessment.id, "action": "withdraw"},
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {},
        names="assessment",
        effect=lambda ctx: row(AssessmentRequest, ctx.c.assessment.id).expires_at <= utcnow(),
    ),
    "GET /portfolio/entry/<int:entry_id>": Route(_entry("e_class_teacher"), OWNER_ONLY(), True),
    "GET /portfolio/entry/<int:entry_id>/edit": Route(
        _entry("e_class_teacher"), OWNER_ONLY(), True
    ),
    "POST /portfolio/entry/<int:entry_id>/edit": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        form_from="pupil",
        write=lambda ctx: {"company": "Neue Firma"},
        effect=lambda ctx: row(Entry, ctx.c.e_class_teacher.id).data["company"] == "Neue Firma",
    ),
    "GET /portfolio/entry/<int:entry_id>/delete": Route(
        _entry("e_class_teacher"), OWNER_ONLY(), True
    ),
    "POST /portfolio/entry/<int:entry_id>/delete": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {},
        effect=lambda ctx: row(Entry, ctx.c.e_class_teacher.id) is None,
    ),
    "POST /portfolio/entry/<int:entry_id>/status": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {"done": "1"},
        effect=lambda ctx: row(Entry, ctx.c.e_class_teacher.id).status == EntryStatus.DONE,
    ),
    "POST /portfolio/entry/<int:entry_id>/sharing": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {
            "share_class_teacher": "y",
            "share_counsellor": "y",
            "share_guardians": "y",
        },
        effect=lambda ctx: (
            (e := row(Entry, ctx.c.e_class_teacher.id)).share_counsellor and e.share_guardians
        ),
    ),
    "POST /portfolio/entry/<int:entry_id>/steps/<int:index>": Route(
        lambda ctx: {"entry_id": ctx.c.e_counsellor.id, "index": 0},  # a goal
        OWNER_ONLY(ANY),
        True,
        names="e_counsellor",
        data=lambda ctx: {"version": str(ctx.c.e_counsellor.version), "done": "yes"},
        effect=lambda ctx: row(Entry, ctx.c.e_counsellor.id).data["steps"][0]["done"] == "yes",
    ),
    "POST /portfolio/entry/<int:entry_id>/hand-in": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {"ask": ["class_teacher", "stubo"]},
        effect=lambda ctx: (
            row(Entry, ctx.c.e_class_teacher.id).asked == [Audience.CLASS_TEACHER, Audience.STUBO]
        ),
    ),
    "POST /portfolio/entry/<int:entry_id>/withdraw": Route(
        _entry("e_class_teacher"),
        OWNER_ONLY(ANY),
        True,
        data=lambda ctx: {},
        before=lambda ctx: _handed_in(ctx),
        effect=lambda ctx: row(Entry, ctx.c.e_class_teacher.id).review_state == ReviewState.NONE,
    ),
    "GET /portfolio/rate/<token>": Route(lambda ctx: {"token": ctx.c.rate_token}, PUBLIC(), True),
    "POST /portfolio/rate/<token>": Route(
        lambda ctx: {"token": ctx.c.rate_token},
        PUBLIC(ANY),
        True,
        form_from="anon",
        writers=("anon",),
        effect=lambda ctx: row(AssessmentRequest, ctx.c.assessment.id).answered_at is not None,
    ),
    # -- review -----------------------------------------------------------------------------
    "GET /review/classes": Route(expect=allow(200, TEACHERS, STUBO)),
    "GET /review/classes/<int:class_id>": Route(_class_9a, allow(200, CT, STUBO)),
    "POST /review/classes/<int:class_id>/bulk": Route(
        _class_9a,
        allow(ANY, CT, STUBO),
        data=lambda ctx: {"action": "remind", "pupil": str(ctx.w.pupil.id)},
        before=lambda ctx: _placement_not_documented(ctx),
        effect=lambda ctx: (
            [n.actor_id for n in rows(Notification, kind="steps_reminder")] == [ctx.me.id]
        ),
    ),
    "POST /review/classes/<int:class_id>/bulk/review": Route(
        _class_9a,
        allow(ANY, CT, STUBO),
        data=lambda ctx: {
            "entry": str(ctx.c.e_class_teacher.id),
            f"v-{ctx.c.e_class_teacher.id}": str(ctx.c.e_class_teacher.version),
        },
        before=lambda ctx: _handed_in(ctx),
        effect=lambda ctx: (
            row(Entry, ctx.c.e_class_teacher.id).review_state == ReviewState.REVIEWED
        ),
    ),
    "GET /review/pupils/<int:pupil_id>": Route(_pid, STAFF_OF(), True),
    # Each teacher audience answers what was shared with it, never the other's.
    "POST /review/entries/<int:entry_id>/respond": [
        Route(
            _entry("e_class_teacher"),
            allow(ANY, CT),
            True,
            data=lambda ctx: {
                f"e{ctx.c.e_class_teacher.id}-body": "Gut gemacht",
                "action": "comment",
            },
            effect=lambda ctx: (
                len(rows(Comment, entry_id=ctx.c.e_class_teacher.id, body="Gut gemacht")) == 1
            ),
        ),
        Route(
            _entry("e_stubo"),
            allow(ANY, STUBO),
            True,
            data=lambda ctx: {f"e{ctx.c.e_stubo.id}-body": "Gut gemacht", "action": "comment"},
            effect=lambda ctx: (
                len(rows(Comment, entry_id=ctx.c.e_stubo.id, body="Gut gemacht")) == 1
            ),
        ),
    ],
    "GET /review/school": Route(expect=allow(200, STUBO)),
    "GET /review/school.csv": Route(expect=allow(200, STUBO)),
    "GET /review/school/pupils": Route(expect=allow(200, STUBO)),
    "GET /review/caseload": Route(expect=allow(200, COUNSELLORS)),
    "GET /review/coordination-report": Route(expect=allow(200, STUBO, ADMIN)),
}

#: Carl's view of Paula's table: who stands in which relation to him.
SWAP = {
    "pupil": "classmate",
    "classmate": "pupil",
    "guardian": "other_guardian",
    "other_guardian": "guardian",
    "counsellor": "counsellor_unassigned",
    "counsellor_no_consent": "counsellor_unassigned",
}

#: Who may read which marker of Paula's content (and, through SWAP, of Carl's).
MARKER_AUDIENCE = {
    "private": {"pupil"},
    # The class teacher never sees what was shared with the StuBO only, and vice versa.
    "class_teacher": {"pupil", "teacher"},
    "stubo": {"pupil", "stubo"},
    "counsellor": {"pupil", "counsellor"},
    "guardians": {"pupil", "guardian"},
    # The Potenzialanalyse, shared with teachers and counsellor, without the PA consent.
    "pa": {"pupil", "teacher", "stubo"},
    # The pupil's notes on a guidance record the school wrote and nobody was shared with.
    "schoolguidance": {"pupil", "teacher", "stubo"},
}


def refusal(route: Route, visitor: str) -> int:
    """The rule: 404 for who may not see what the URL names, 403 for the others."""
    return 403 if visitor in SEEN_BY[route.names] else 404


def expectations(route: Route, subject: str) -> dict:
    """Visitor -> expected answer for the subject pupil (Carl: through SWAP)."""
    table = {}
    for v in VISITORS:
        as_paula = SWAP.get(v, v) if subject == "carl" else v
        expected = route.expect[as_paula]
        table[v] = refusal(route, as_paula) if expected == DENY else expected
    return table


def may_read(visitor: str, subject: str, kind: str) -> bool:
    audience = MARKER_AUDIENCE[kind]
    if subject == "carl":
        audience = {v for v in VISITORS if SWAP.get(v, v) in audience}
    return visitor in audience


def _cases():
    from portfolio import create_app  # noqa: F401  (the URL map comes from the real app)

    cases = []
    for key, found in ROUTES.items():
        found = found if isinstance(found, list) else [found]
        for i, route in enumerate(found):
            for subject in ("paula", "carl") if route.subject else ("paula",):
                suffix = f"#{i}" if len(found) > 1 else ""
                cases.append(pytest.param(key, i, subject, id=f"{key}{suffix}[{subject}]"))
    return cases


GET_CASES = [c for c in _cases() if c.values[0].startswith("GET ")]
POST_CASES = [c for c in _cases() if c.values[0].startswith("POST ")]


# -- one world for the whole module ----------------------------------------------------------
@pytest.fixture(scope="module")
def matrix(app):
    ctx = app.app_context()
    ctx.push()
    mp = pytest.MonkeyPatch()
    fast_pdfs(mp)
    try:
        w = build_world()
        m = SimpleNamespace(world=w, app=app)
        m.content = {"paula": make_content(w, w.pupil), "carl": make_content(w, w.classmate)}
        m.tokens = admin_tokens(app, w)
        m.clients = clients_for(app, w)
        m.world = freeze(w)
        m.content = {k: freeze(c) for k, c in m.content.items()}
        m.rules = {
            f"{method} {rule.rule}": rule
            for rule in app.url_map.iter_rules()
            if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}
        }
        db.session.remove()
        yield m
    finally:
        db.session.rollback()
        db.session.remove()
        empty_tables()
        db.session.remove()
        limiter.reset()
        mp.undo()
        ctx.pop()


@pytest.fixture(autouse=True)
def _clean(matrix):
    """Replaces conftest's per-test cleaning: the world lives for the whole module."""
    yield
    db.session.rollback()
    db.session.remove()
    limiter.reset()


def _ctx(m, subject):
    return SimpleNamespace(w=m.world, c=m.content[subject], t=m.tokens)


def _url(m, key, route, subject) -> str:
    rule = m.rules[key]
    args = route.args(_ctx(m, subject)) if callable(route.args) else dict(route.args)
    path_args = {k: v for k, v in args.items() if k in rule.arguments}
    _domain, path = rule.build(path_args, append_unknown=False)
    query = {k: v for k, v in args.items() if k not in rule.arguments}
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query)
    return path


def _matches(expected, got) -> bool:
    if expected == ANY:
        return True
    return got == expected


def _route(key, index) -> Route:
    rows = ROUTES[key]
    return rows[index] if isinstance(rows, list) else rows


# -- the tests --------------------------------------------------------------------------------
def test_every_route_is_in_the_matrix(matrix):
    missing = sorted(set(matrix.rules) - set(ROUTES))
    assert not missing, (
        "These routes are not in the access matrix. Add a row for each to ROUTES in "
        "tests/test_access_matrix.py (URL arguments + who may use it):\n  " + "\n  ".join(missing)
    )
    stale = sorted(set(ROUTES) - set(matrix.rules))
    assert not stale, "Rows for routes that no longer exist: " + ", ".join(stale)


@pytest.mark.parametrize("key,index,subject", GET_CASES)
def test_get(matrix, key, index, subject):
    route = _route(key, index)
    url = _url(matrix, key, route, subject)
    expected = expectations(route, subject)
    problems = []
    # The refused first: together they must write nothing (no audit entry, no job).
    refused = [v for v in VISITORS if expected[v] in (403, 404, 410, LOGIN)]
    before = db_checksum()
    for visitor in refused + [v for v in VISITORS if v not in refused] + [None]:
        if before is not None and (visitor is None or visitor not in refused):
            if db_checksum() != before:
                problems.append("the refused visitors' requests changed the database")
            before = None
        if visitor is None:
            break
        response = matrix.clients[visitor].get(url)
        got = outcome(response)
        problems += [f"{visitor}: {p}" for p in header_problems(response)]
        if not _matches(expected[visitor], got):
            problems.append(
                f"{visitor}: expected {expected[visitor]}, got {got} (names={route.names})"
            )
            continue
        if response.status_code == 200 and response.mimetype in ("text/html", "text/csv"):
            body = response.get_data(as_text=True)
            for who in ("paula", "carl"):
                pupil = matrix.content[who].pupil
                for kind in MARKER_AUDIENCE:
                    if marker(kind, pupil) in body and not may_read(visitor, who, kind):
                        problems.append(f"{visitor}: page shows {who}'s {kind} content")
    assert not problems, f"{key} {url}:\n  " + "\n  ".join(problems)


def _post_data(matrix, key, route, subject, url) -> dict:
    if route.data is not None:
        return route.data(_ctx(matrix, subject))
    source = route.form_from
    if subject == "carl":
        source = SWAP.get(source, source)
    page = matrix.clients[source].get(url)
    assert page.status_code == 200, f"{source} cannot open {url} ({page.status_code})"
    form = form_for(page.get_data(as_text=True), url.split("?")[0])
    assert form is not None, f"no form posting to {url} on its page"
    return fill(form)


@pytest.mark.parametrize("key,index,subject", POST_CASES)
def test_post_refused_and_nothing_changes(matrix, key, index, subject):
    route = _route(key, index)
    url = _url(matrix, key, route, subject)
    expected = expectations(route, subject)
    refused = [v for v in VISITORS if expected[v] != ANY]
    if not refused:
        pytest.skip("open to every visitor (public or self-service)")
    data = _post_data(matrix, key, route, subject, url)
    problems = []
    for visitor in refused:
        before = db_checksum()
        response = matrix.clients[visitor].post(url, data=data)
        got = outcome(response)
        problems += [f"{visitor}: {p}" for p in header_problems(response)]
        if not _matches(expected[visitor], got):
            problems.append(
                f"{visitor}: expected {expected[visitor]}, got {got} (names={route.names})"
            )
        if db_checksum() != before:
            problems.append(f"{visitor}: the database changed (answer {got})")
    assert not problems, f"{key} {url} data={data}:\n  " + "\n  ".join(problems)
