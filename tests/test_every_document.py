"""Issue 14, item 1: every document a role may have is reachable by following links.

For each role (pupil, guardian, class teacher, StuBO, counsellor, school admin) a crawler
starts at the role's home page and follows the links and forms of the app's pages. The
documents are derived, not listed by hand:

* which routes are documents comes from the URL map: the export blueprint, every route
  whose address ends in .pdf, .csv, .zip or /download, the page each registered kind of
  background job starts from (its `origin`), and "My downloads" for users who have jobs;
* which of them a role may use comes from the app's access rules: each route is asked,
  as that user, with the ids of the world's pupils, classes, documents and the user's
  jobs; an answer other than 403/404/410 (or the login page) means the role may use it.

Every (route, method) a role may use must be the target of a link or form on some page
the crawler reached from the role's home.
"""

from __future__ import annotations

from collections import Counter, deque
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from portfolio import clock
from portfolio.access import access_to
from portfolio.export.jobs import start_class_zip, start_pdf
from portfolio.extensions import db
from portfolio.jobs import services as jobs
from portfolio.models import Document, Job, JobState
from portfolio.privacy.lifecycle import mark_left
from portfolio.privacy.takeaway import start_leaver_takeaway, start_takeaway
from portfolio.roster.jobs import start_class_slips, start_guardian_letters
from tests.support.matrix import fast_client, fast_pdfs, make_content
from tests.support.world import build_world

ROLES = ("pupil", "guardian", "teacher", "stubo", "counsellor", "admin")
FILE_SUFFIXES = (".pdf", ".csv", ".zip")
#: How many addresses of one route the crawler opens (sort orders, pupils ...).
PER_ROUTE = 6
MAX_PAGES = 250


class _Links(HTMLParser):
    """Targets of a page: (method, address) of every link and form."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.targets: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.targets.append(("GET", a["href"]))
        elif tag == "form":
            self.targets.append(((a.get("method") or "get").upper(), a.get("action") or ""))


def _targets(html: str, page: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(html)
    found = []
    for method, href in parser.targets:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("#", "mailto:")):
            continue
        path = parts.path or urlsplit(page).path
        found.append((method, path + (f"?{parts.query}" if parts.query else "")))
    return found


def _is_file(rule) -> bool:
    return rule.rule.endswith(FILE_SUFFIXES) or rule.rule.endswith("/download")


def document_rules(app, origins: set[str]) -> list:
    """The routes that hand out documents or start making one (see the module docstring)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and (
            rule.endpoint.startswith("export.")
            or _is_file(rule)
            or rule.endpoint in origins
            or rule.endpoint == "jobs.index"
        )
    ]


def crawl(app, client, start: str = "/") -> tuple[set[tuple[str, str]], int]:
    """(endpoint, method) of every link and form on the pages reachable from `start`."""
    adapter = app.url_map.bind("localhost")
    linked: set[tuple[str, str]] = set()
    opened: Counter = Counter()
    queue, seen, pages = deque([start]), {start}, 0
    while queue and pages < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url)
        pages += 1
        if response.status_code in (301, 302, 303):
            target = urlsplit(response.location)
            nxt = target.path + (f"?{target.query}" if target.query else "")
            if not target.netloc and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
            continue
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for method, target in _targets(response.get_data(as_text=True), url):
            try:
                endpoint, _args = adapter.match(urlsplit(target).path, method=method)
            except (NotFound, MethodNotAllowed, RequestRedirect):
                continue
            linked.add((endpoint, method))
            rule_is_file = any(
                _is_file(r) for r in app.url_map.iter_rules(endpoint) if method in r.methods
            )
            if method != "GET" or rule_is_file or endpoint in ("auth.logout", "static"):
                continue
            if target not in seen and opened[endpoint] < PER_ROUTE:
                seen.add(target)
                opened[endpoint] += 1
                queue.append(target)
    return linked, pages


def _candidates(arg: str, ctx, user) -> list[int]:
    if arg == "pupil_id":
        return [ctx.w.pupil.id, ctx.w.classmate.id, ctx.w.pupil_9b.id]
    if arg == "class_id":
        return [ctx.w.class_9a.id, ctx.w.class_9b.id]
    if arg == "document_id":
        return list(db.session.scalars(sa.select(Document.id)))
    if arg == "job_id":
        return list(db.session.scalars(sa.select(Job.id).where(Job.user_id == user.id)))
    return []  # tokens and the like: made for one person at one moment, not linkable


def may_use(client, rule, method: str, ctx, user) -> bool:
    """Whether the access rules let the user use the route for some pupil/class/job."""
    args = sorted(rule.arguments)
    if len(args) > 1:
        return False
    values = _candidates(args[0], ctx, user) if args else [None]
    for value in values:
        _domain, path = rule.build({args[0]: value} if args else {}, append_unknown=False)
        response = client.open(path, method=method)
        login = urlsplit(response.location or "").path == "/login"
        if response.status_code not in (401, 403, 404, 405, 410) and not login:
            return True
    return False


@pytest.fixture
def scene(app, monkeypatch):
    fast_pdfs(monkeypatch)
    w = build_world()
    content = make_content(w, w.pupil)  # entries, documents, a finished take-away job
    mark_left(w.pupil_9b, clock.today(), w.admin)  # a leaver: the school makes their package
    # One job of every registered kind, started the way its page starts it.
    samples = [
        start_class_zip(w.teacher, w.class_9a),
        start_class_zip(w.stubo, w.class_9a),
        start_takeaway(w.guardian, w.pupil),
        start_leaver_takeaway(w.admin, w.pupil_9b),
        start_class_slips(w.admin, w.class_9a, [w.pupil.id], letters=False, locale="de"),
        start_guardian_letters(w.teacher, w.class_9a, [w.pupil.id], locale="de"),
        start_pdf(w.guardian, access_to(w.guardian, w.pupil), "portfolio"),
        start_pdf(w.teacher, access_to(w.teacher, w.pupil), "summary"),
        start_pdf(w.counsellor, access_to(w.counsellor, w.pupil), "portfolio"),
        start_pdf(w.pupil, access_to(w.pupil, w.pupil), "portfolio"),
    ]
    db.session.commit()
    assert {j.kind for j in samples} | {content.job.kind} == set(jobs.KINDS), (
        "a new kind of job: start one here so that its page is checked"
    )
    with app.test_request_context():
        origins = {
            app.url_map.bind("localhost").match(urlsplit(jobs.kind_of(j).origin(j)).path)[0]
            for j in samples
        }
    # Ended, so that their pages offer to start again (and "My downloads" lists them).
    for job in samples:
        job.state = JobState.FAILED
    db.session.commit()
    return SimpleNamespace(w=w, c=content, origins=origins)


@pytest.mark.parametrize("role", ROLES)
def test_every_document_the_role_may_use_is_linked(app, scene, role):
    user = getattr(scene.w, role)
    # Crawl first: asking the POST routes below starts jobs, which changes some pages.
    linked, pages = crawl(app, fast_client(app, user))
    client = fast_client(app, user)
    rules = document_rules(app, scene.origins)
    wanted = set()
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "jobs.index" and not jobs.recent(user):
                continue  # "My downloads" is a document place for users who have jobs
            if may_use(client, rule, method, scene, user):
                wanted.add((rule.endpoint, method))
    missing = sorted(wanted - linked)
    assert not missing, (
        f"{role}: {len(wanted)} documents it may use, these linked from none of its "
        f"{pages} pages: {missing}"
    )
    # The test means something: every role has documents, the pupil the most.
    assert wanted, role
    if role == "pupil":
        assert {
            ("export.choose", "GET"),
            ("export.portfolio", "POST"),
            ("export.family_summary", "POST"),
            ("export.selection", "POST"),
            ("privacy.takeaway", "POST"),
            ("jobs.download", "GET"),
        } <= wanted
    if role == "teacher":
        assert {("export.class_zip", "POST"), ("export.portfolio", "POST")} <= wanted


def test_the_document_routes_come_from_the_url_map(app, scene):
    endpoints = {r.endpoint for r in document_rules(app, scene.origins)}
    assert {
        "export.choose",
        "export.class_zip",
        "privacy.takeaway",
        "roster.class_slips",
        "roster.class_letters",
        "jobs.download",
        "documents.download",
        "review.stubo_dashboard_csv",
        "privacy.audit_csv",
    } <= endpoints
    # The class overview starts the class ZIP (its job's origin); a pupil's home starts none.
    assert "review.class_overview" in endpoints and "pupil.home" not in endpoints
