"""Helpers for the access matrix, hostile-input and XSS tests (issue 8).

* `VISITORS`: the kinds of visitor of the `world` fixture (plus "anon").
* `make_content(world, pupil)`: a portfolio with one item per sharing setting, each
  carrying a marker text that only its audience may ever see.
* `fast_client(app, user)`: a logged-in test client without a /login round trip.
* `db_checksum()`: a hash of every table's rows, to prove that a request wrote nothing.
* `row`, `rows`, `job_of`: what is in the database after an allowed request (its `effect`).
* `forms_in(html)`: the forms of a page with their fields, to build valid-looking posts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import urlsplit

import sqlalchemy as sa

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AssessmentRequest,
    Comment,
    Entry,
    GuidanceRecord,
    LoginSession,
    utcnow,
)
from tests.support.documents import add_document
from tests.support.files import PDF, png_bytes

#: Every kind of visitor of the matrix; names are attributes of the `world` fixture.
VISITORS = (
    "anon",
    "pupil",
    "classmate",
    "other_pupil",
    "teacher",
    "teacher_9b",
    "other_teacher",
    "stubo",
    "counsellor",
    "counsellor_no_consent",
    "counsellor_unassigned",
    "guardian",
    "other_guardian",
    "admin",
)
LOGGED_IN = VISITORS[1:]


def marker(kind: str, pupil) -> str:
    """A text that must appear only on pages of the given audience."""
    return f"MARK{kind.upper()}{pupil.username.upper()}"


def make_content(world, pupil, *, teacher=None) -> SimpleNamespace:
    """One entry per sharing setting, documents, an agreement, a guidance record,
    a comment, an open assessment link. Texts carry markers (see `marker`)."""
    from portfolio.pupil.assessments import hash_token

    teacher = teacher or world.teacher
    c = SimpleNamespace(pupil=pupil)
    sid = pupil.school_id

    def entry(kind, marker_kind, **share):
        e = Entry(
            school_id=sid,
            pupil_id=pupil.id,
            kind=kind,
            grade="9",
            title=f"Titel {marker(marker_kind, pupil)}",
            data={
                "reflection": marker(marker_kind, pupil),
                "goal": marker(marker_kind, pupil),
                "company": marker(marker_kind, pupil),
            },
            **share,
        )
        db.session.add(e)
        db.session.flush()
        return e

    c.e_private = entry("reflection", "private")
    # The two teacher audiences apart: what one of them reads the other never sees.
    c.e_class_teacher = entry("praktikum", "class_teacher", share_class_teacher=True)
    c.e_stubo = entry("goal", "stubo", share_stubo=True)
    c.e_counsellor = entry("goal", "counsellor", share_counsellor=True)
    c.e_counsellor.data = {
        **c.e_counsellor.data,
        "steps": [{"text": marker("counsellor", pupil), "due_on": "2027-01-15", "done": "no"}],
    }
    c.e_guardians = entry("reflection", "guardians", share_guardians=True)
    # Shared with teachers and the counsellor, but the world has no consent
    # "Potenzialanalyse an die Berufsberatung": the counsellor must not read it.
    c.e_pa = entry(
        "potenzialanalyse", "pa", share_class_teacher=True, share_stubo=True, share_counsellor=True
    )
    c.comment = Comment(
        school_id=sid,
        entry_id=c.e_class_teacher.id,
        author_id=teacher.id,
        body="Schöner Bericht!",
    )
    db.session.add(c.comment)
    c.doc_private = add_document(pupil, PDF, "privat.pdf", title=marker("private", pupil) + "DOC")
    c.doc_class_teacher = add_document(
        pupil,
        PDF,
        "klasse.pdf",
        title=marker("class_teacher", pupil) + "DOC",
        share=("class_teacher",),
    )
    c.doc_stubo = add_document(
        pupil, PDF, "stubo.pdf", title=marker("stubo", pupil) + "DOC", share=("stubo",)
    )
    c.doc_shared = add_document(
        pupil,
        png_bytes(4, 4, (200, 10, 10)),
        "bild.png",
        title="Geteiltes Bild",
        share=("class_teacher", "stubo", "guardians"),
        mime="image/png",
    )
    c.doc_shared.share_counsellor = True
    c.doc_pa = add_document(
        pupil,
        PDF,
        "pa.pdf",
        entry=c.e_pa,
        title=marker("pa", pupil) + "DOC",
        share=("class_teacher", "stubo", "counsellor"),
    )
    c.agreement = Agreement(
        school_id=sid,
        pupil_id=pupil.id,
        number=1,
        grade="9",
        decision="dual",
        share_guardians=True,
        share_counsellor=False,
        data={
            "dream_job": "Tischlerin",
            "next_step": "Bewerben",
            "steps": [{"text": "Bewerben", "due_on": "2027-02-01", "priority": 1}],
        },
    )
    db.session.add(c.agreement)
    c.guidance = GuidanceRecord(
        school_id=sid,
        pupil_id=pupil.id,
        author_id=teacher.id,
        held_on=dt.date(2026, 11, 2),
        participants="Klassenleitung",
        topics="Praktikum",
        pupil_notes=marker("schoolguidance", pupil),
        next_steps=[],
        share_guardians=False,
    )
    # Written by the school, shared by the pupil with the counsellor.
    c.guidance_counsellor = GuidanceRecord(
        school_id=sid,
        pupil_id=pupil.id,
        author_id=teacher.id,
        held_on=dt.date(2026, 11, 3),
        participants="Klassenleitung",
        topics="Bewerbung",
        pupil_notes="",
        next_steps=[],
        share_counsellor=True,
    )
    db.session.add_all([c.guidance, c.guidance_counsellor])
    c.rate_token = secrets.token_urlsafe(24)
    c.assessment = AssessmentRequest(
        school_id=sid,
        pupil_id=pupil.id,
        token_hash=hash_token(c.rate_token),
        rater_name="Tante Erna",
        relation="other",
        expires_at=utcnow() + dt.timedelta(days=7),
    )
    db.session.add(c.assessment)
    c.job = finished_job(pupil, "takeaway", {"name": pupil.full_name}, pupil_id=pupil.id)
    db.session.commit()
    return c


def finished_job(user, kind: str, params: dict, *, pupil_id=None, data: bytes = b"PK\x05\x06"):
    """A job of `user` that is done, with its result file in place (as a worker leaves it)."""
    from portfolio.jobs import services
    from portfolio.models import Job, JobState

    key = f"matrix-{secrets.token_hex(8)}.zip"
    services.result_path(key).write_bytes(data + bytes(18))
    job = Job(
        school_id=user.school_id,
        user_id=user.id,
        pupil_id=pupil_id,
        kind=kind,
        params=params,
        state=JobState.DONE,
        result_key=key,
        result_name="result.zip",
        result_size=22,
        expires_at=utcnow() + dt.timedelta(hours=1),
    )
    db.session.add(job)
    db.session.flush()
    return job


def staged_package(admin, package: bytes) -> str:
    """A take-away package uploaded by `admin` and checked, waiting for the import."""
    from portfolio.privacy import package_check
    from portfolio.privacy.import_views import PackageUploads

    store = PackageUploads()
    token = store.put(package, user_id=admin.id, school_id=admin.school_id, filename="paket.zip")
    found = package_check.preview(str(store.path(token, user_id=admin.id)), admin.school)
    store.update(token, user_id=admin.id, preview=found.to_json())
    return token


def admin_tokens(app, world) -> SimpleNamespace:
    """A roster upload and a take-away package waiting for confirmation and a one-time
    download, all the admin's."""
    from portfolio.roster.services import UploadStore
    from portfolio.roster.slips import OneTimeFiles

    roster = (
        b"Nachname;Vorname;Geburtsdatum;Geschlecht;Klasse;Jahrgang\nNeu;Nina;01.02.2011;w;9a;9\n"
    )
    t = SimpleNamespace()
    t.roster = UploadStore().put(
        roster, user_id=world.admin.id, school_id=world.school.id, filename="schild.csv"
    )
    t.download = OneTimeFiles().put(PDF, user_id=world.admin.id, filename="zettel.pdf")
    from portfolio.privacy.portability import export_bytes

    t.package = staged_package(world.admin, export_bytes(world.other_pupil))
    t.class_job = finished_job(
        world.teacher, "class_zip", {"class_id": world.class_9a.id, "class_name": "9a"}
    ).id
    db.session.commit()
    return t


def fast_pdfs(mp) -> None:
    """Access is decided before rendering: skip WeasyPrint and the class ZIP's worker
    processes (they are tested in test_export*.py), which keeps the matrix fast."""
    import zipfile

    from portfolio import pdf
    from portfolio.export import classzip, render

    def fake_pdf(html, **_kw):
        return b"%PDF-1.4\n% matrix stub\n"

    def fake_zip(cls, out, **_kw):
        result = classzip.ClassExport()
        with zipfile.ZipFile(out, "w") as archive:
            for p in classzip.class_pupils(cls):
                archive.writestr(f"{p.id}.pdf", fake_pdf(""))
                result.done.append((p.id, f"{p.id}.pdf"))
        return result

    mp.setattr(pdf, "html_to_pdf", fake_pdf)
    mp.setattr(render, "html_to_pdf", fake_pdf)
    mp.setattr(classzip, "export_class", fake_zip)


def fast_client(app, user):
    """A test client logged in as `user` (server-side login session, no /login request)."""
    client = app.test_client()
    if user is None:
        return client
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token=token, user_id=user.id))
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
        sess["_fresh"] = True
        sess.permanent = True
    return client


def freeze(ns: SimpleNamespace) -> SimpleNamespace:
    """Plain values instead of ORM objects (which expire with their session)."""
    out = SimpleNamespace()
    for name, value in vars(ns).items():
        if hasattr(value, "__table__"):
            value = SimpleNamespace(
                **{
                    k: getattr(value, k)
                    for k in ("id", "username", "version", "school_id", "first_name", "last_name")
                    if hasattr(value, k)
                }
            )
        setattr(out, name, value)
    return out


def clients_for(app, world) -> dict:
    return {
        name: fast_client(app, None if name == "anon" else getattr(world, name))
        for name in VISITORS
    }


# -- proving that nothing was written ------------------------------------------------------
def db_checksum(skip: frozenset[str] = frozenset()) -> str:
    """SHA-256 over the sorted rows of every table (a new session, committed data only)."""
    h = hashlib.sha256()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = conn.execute(sa.select(table)).all()
            h.update(table.name.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                h.update(row.encode())
    return h.hexdigest()


# -- proving what was written (the `effect` of a matrix row) --------------------------------
def row(model, id_):
    """The row as it is now in the database (a fresh read), or None."""
    db.session.expire_all()
    return db.session.get(model, id_)


def rows(model, **where) -> list:
    """The rows of `model` with these column values, as they are now."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(model).filter_by(**where)))


def job_of(response):
    """The job a "start" request redirected to (its page /jobs/<id>), or None."""
    from portfolio.models import Job

    path = urlsplit(response.location or "").path
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "jobs" and parts[1].isdigit():
        return row(Job, int(parts[1]))
    return None


def row_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables
        }


# -- reading responses ------------------------------------------------------------------------
STRICT_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def header_problems(response) -> list[str]:
    """What is missing from the security headers every response must carry."""
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    problems = []
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src") or directives.get("default-src", "")
    if (
        not ("'self'" in script or script.endswith("'none'"))
        or "unsafe-inline" in csp
        or "unsafe-eval" in csp
    ):
        problems.append(f"CSP script-src not strict: {csp!r}")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append("CSP without frame-ancestors 'none'")
    if h.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if h.get("Referrer-Policy") not in STRICT_REFERRER:
        problems.append(f"Referrer-Policy {h.get('Referrer-Policy')!r}")
    return problems


def outcome(response):
    """A short description of an answer: the status, or "login" for a redirect to login."""
    if response.status_code in (301, 302, 303) and urlsplit(response.location).path == "/login":
        return "login"
    return response.status_code


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "action": a.get("action") or "",
                "method": (a.get("method") or "get").lower(),
                "enctype": a.get("enctype") or "",
                "fields": [],
                "id": a.get("id"),
            }
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._form["fields"].append(
                {
                    "tag": "input",
                    "type": (a.get("type") or "text").lower(),
                    "name": a["name"],
                    "value": a.get("value"),
                    "checked": "checked" in a,
                    "required": "required" in a,
                    "maxlength": a.get("maxlength"),
                }
            )
        elif tag == "select" and a.get("name"):
            self._select = {
                "tag": "select",
                "name": a["name"],
                "options": [],
                "multiple": "multiple" in a,
                "required": "required" in a,
            }
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            self._select["options"].append((a.get("value"), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea = {
                "tag": "textarea",
                "name": a["name"],
                "value": "",
                "required": "required" in a,
                "maxlength": a.get("maxlength"),
            }
            self._form["fields"].append(self._textarea)
        elif tag == "button" and a.get("name"):
            self._form["fields"].append(
                {"tag": "button", "name": a["name"], "value": a.get("value") or ""}
            )

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_in(html: str) -> list[dict]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_for(html: str, path: str) -> dict | None:
    """The first POST form of the page whose action is `path` (or empty = the page itself)."""
    candidates = []
    for form in forms_in(html):
        if form["method"] != "post":
            continue
        action = urlsplit(form["action"]).path
        if action == path:
            return form
        if not form["action"]:
            candidates.append(form)
    return candidates[0] if candidates else None


#: What an empty input of a type gets (the text argument of `fill` for other types).
_EMPTY_INPUT = {
    "number": "3",
    "email": "test@example.org",
    "password": "Ein-langes-Passwort-2026",
    "hidden": "",
}


def _select_values(field: dict) -> list[str]:
    """The selected options, else the first one with a value."""
    values = [v for v, _sel in field["options"] if v]
    return [v for v, sel in field["options"] if sel and v] or values[:1]


def _input_values(field: dict, named_before: bool, text: str) -> list[str]:
    """What the browser sends for an <input>: nothing for buttons and files, checked boxes,
    the first radio of a group, the value shown or a valid-looking one."""
    kind = field["type"]
    if kind in ("submit", "file", "image", "reset"):
        return []
    if kind in ("checkbox", "radio"):
        if kind == "radio" and named_before:
            return []
        if field["checked"] or kind == "radio" or field["required"]:
            return [field["value"] or "y"]
        return []
    if field["value"]:
        return [field["value"]]
    if kind == "date":
        return [clock.today().isoformat()]
    return [_EMPTY_INPUT.get(kind, text)]


def fill(form: dict, text: str = "Test") -> dict:
    """Valid-looking data for a form: what the page shows, empty fields filled in."""
    data: dict[str, list[str]] = {}
    first_button = True
    for f in form["fields"]:
        name = f["name"]
        if name == "csrf_token":
            continue
        if f["tag"] == "button":
            # "add a row" buttons only extend the form; of the others the first is pressed.
            if name.startswith("add") or not first_button:
                continue
            values = [f["value"]]
            first_button = False
        elif f["tag"] == "select":
            values = _select_values(f)
        elif f["tag"] == "textarea":
            values = [f["value"].strip() or text]
        else:
            values = _input_values(f, name in data, text)
        if values:
            data.setdefault(name, []).extend(values)
    return data
