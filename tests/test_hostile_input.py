"""Issue 8: hostile input to every form. For every POST route of the URL map, a user who
may use it posts arbitrary text (unicode, control characters, RTL marks, NUL bytes, very
long strings), wrong types, missing and unknown fields (hypothesis). Never a 500; and
when the answer is not a success, the database is unchanged (no partial write)."""

from __future__ import annotations

import tempfile
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from portfolio.extensions import db, limiter
from tests.support.matrix import (
    admin_tokens,
    db_checksum,
    fast_client,
    fast_pdfs,
    fill,
    form_for,
    freeze,
    make_content,
)
from tests.test_access_matrix import ANY, ROUTES, Route

# Hypothesis' caches (unicode tables, constants) go to a temporary folder, not the checkout.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="bwp-hypothesis-"))

#: Who posts to a route: the first of these the matrix allows.
WRITERS = ("anon", "pupil", "admin", "teacher", "stubo", "guardian", "counsellor")

#: Routes whose success is a page (200), not a redirect: a write with 200 is expected
#: there (the new password, the staff account, the import result, the thanks page).
SUCCESS_PAGES = {
    "POST /pupils/<int:pupil_id>/reset-password",
    "POST /admin/staff/new",
    "POST /admin/roster/<token>",
    "POST /portfolio/rate/<token>",
    "POST /admin/roster",
    "POST /admin/import/<token>",
}

HOSTILE = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x3000), max_size=100),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\u202eevil\u202c",
            "\u200f\u200e",
            "\ufeff",
            "\r\n\r\n",
            "\t",
            "A" * 20_000,
            "ü" * 5_000,
            "-1",
            "0",
            "99999999999999999999999999",
            "1e309",
            "NaN",
            "2026-02-30",
            "0000-00-00",
            "31.12.2026",
            "",
            " ",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "{{7*7}}",
            "../../etc/passwd",
            "\ud7ff",
            "y",
            "on",
            "true",
            "[]",
            "{}",
        ]
    ),
    st.text(min_size=1, max_size=3).map(lambda s: s * 4_000),
)


def _posts():
    params = []
    for key, rows in ROUTES.items():
        if not key.startswith("POST "):
            continue
        route = rows[0] if isinstance(rows, list) else rows
        writer = next((v for v in WRITERS if route.expect.get(v) == ANY), None)
        if writer is not None:
            params.append(pytest.param(key, writer, id=key))
    return params


def _url(app, key, route: Route, ctx) -> str:
    rule = next(r for r in app.url_map.iter_rules() if f"POST {r.rule}" == key)
    args = route.args(ctx) if callable(route.args) else dict(route.args)
    return rule.build({k: v for k, v in args.items() if k in rule.arguments}, append_unknown=False)[
        1
    ]


def _success(key, response) -> bool:
    if response.status_code not in (301, 302, 303):
        return False
    return key == "POST /logout" or "/login" not in response.location


@pytest.mark.parametrize("key,writer", _posts())
def test_hostile_input_never_breaks_a_form(app, world, key, writer):
    route = ROUTES[key] if not isinstance(ROUTES[key], list) else ROUTES[key][0]
    content = freeze(make_content(world, world.pupil))
    ctx = SimpleNamespace(w=freeze(world), c=content, t=admin_tokens(app, world))
    client = fast_client(app, None if writer == "anon" else getattr(world, writer))
    url = _url(app, key, route, ctx)
    if route.data is not None:
        valid = {k: [v] for k, v in route.data(ctx).items()}
    else:
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        form = form_for(page.get_data(as_text=True), url)
        valid = fill(form) if form else {}
    names = sorted(set(valid) | {"junk", "csrf_token", "version", "id"})
    db.session.remove()

    values = st.one_of(HOSTILE, st.lists(HOSTILE, min_size=2, max_size=3))
    hostile_forms = st.one_of(
        st.dictionaries(st.sampled_from(names), values, max_size=len(names)),
        # the valid form with one or two fields replaced or removed
        st.builds(
            lambda drop, over: {**{k: v for k, v in valid.items() if k not in drop}, **over},
            st.sets(st.sampled_from(names), max_size=2),
            st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=2),
        ),
    )

    # Deterministic worst cases first: the same hostile value in every field at once.
    for nasty in ("a\x00b", "\u202e" + "x" * 20_000, "\ud7ff\x1b[31m\x7f", "9" * 30):
        limiter.reset()
        data = {k: [nasty] * len(v) for k, v in valid.items()}
        before = db_checksum()
        response = client.post(url, data=data)
        assert response.status_code < 500, f"{key}: {response.status_code} for {nasty[:20]!r}"
        if not _success(key, response) and key not in SUCCESS_PAGES:
            assert db_checksum() == before, f"{key}: partial write for {nasty[:20]!r}"

    # Wrong kinds of body altogether.
    for body, ctype in (
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b'{"title": ["x"], "id": {"$gt": 1}}', "application/json"),
        (b"--x\r\nbroken multipart", "multipart/form-data; boundary=x"),
        (b"title=%ZZ&%00=1&a=%F0%28%8C%BC", "application/x-www-form-urlencoded"),
    ):
        limiter.reset()
        before = db_checksum()
        response = client.post(url, data=body, content_type=ctype)
        assert response.status_code < 500, f"{key}: {response.status_code} for {ctype}"
        if not _success(key, response) and key not in SUCCESS_PAGES:
            assert db_checksum() == before, f"{key}: partial write for a {ctype} body"

    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=hostile_forms)
    def post(data):
        limiter.reset()
        before = db_checksum()
        response = client.post(url, data=data)
        assert response.status_code < 500, f"{key}: {response.status_code} for {data!r:.300}"
        if not _success(key, response) and key not in SUCCESS_PAGES:
            assert db_checksum() == before, (
                f"{key}: answer {response.status_code} but the database changed; data {data!r:.300}"
            )

    post()


HUGE = str(10**20)
QUERY = {
    "entry_id": HUGE,
    "class_id": HUGE,
    "pupil_id": HUGE,
    "page": HUGE,
    "rows": HUGE,
    "entry": HUGE,
    "document": HUGE,
    "agreement": HUGE,
    "guidance": HUGE,
    "sort": "x'",
    "dir": "desc",
    "filter": "\u202e",
    "section": "x" * 5000,
    "preset": "application",
    "group": "days",
    "next": "//evil.example/",
    "q": "%' OR 1=1 --",
    "kind": "all",
    "format": "csv",
    "action": "x",
    "date_from": "2026-02-30",
    "inactive": "y",
}


def _gets():
    params = []
    for key, rows in ROUTES.items():
        if key.startswith("GET "):
            route = rows[0] if isinstance(rows, list) else rows
            viewer = next(
                (
                    v
                    for v in (
                        "pupil",
                        "admin",
                        "teacher",
                        "stubo",
                        "guardian",
                        "counsellor",
                        "anon",
                    )
                    if route.expect.get(v) == 200
                ),
                None,
            )
            if viewer:
                params.append(pytest.param(key, viewer, id=key))
    return params


@pytest.mark.parametrize("key,viewer", _gets())
def test_hostile_addresses_never_break_a_page(app, world, key, viewer, monkeypatch):
    """Huge numbers in the path and odd query arguments: never a 500."""
    from urllib.parse import urlencode

    fast_pdfs(monkeypatch)  # rendering is not what this test is about
    route = ROUTES[key] if not isinstance(ROUTES[key], list) else ROUTES[key][0]
    content = freeze(make_content(world, world.pupil))
    ctx = SimpleNamespace(w=freeze(world), c=content, t=admin_tokens(app, world))
    client = fast_client(app, None if viewer == "anon" else getattr(world, viewer))
    rule = next(r for r in app.url_map.iter_rules() if f"GET {r.rule}" == key)
    args = route.args(ctx) if callable(route.args) else dict(route.args)
    path_args = {k: v for k, v in args.items() if k in rule.arguments}
    normal = rule.build(path_args, append_unknown=False)[1]
    response = client.get(normal + "?" + urlencode(QUERY))
    assert response.status_code < 500, f"{normal}?...: {response.status_code}"
    if any(isinstance(v, int) for v in path_args.values()):
        huge = rule.build(
            {k: (10**20 if isinstance(v, int) else v) for k, v in path_args.items()},
            append_unknown=False,
        )[1]
        response = client.get(huge)
        assert response.status_code == 404, f"{huge}: {response.status_code}"
    response = client.get(normal + "?q=a%00b")
    assert response.status_code in (200, 302, 400, 404, 410), response.status_code


def test_json_and_other_bodies_are_refused_before_any_view(app, world):
    """Flask-WTF would feed a JSON body to the forms as dicts and lists (a 500 in
    validators that expect text); no form posts JSON, so it is refused."""
    client = fast_client(app, world.admin)
    for ctype, body in (("application/json", b'{"id": {"$gt": 1}}'), ("text/plain", b"id=1")):
        response = client.post(
            f"/admin/pupils/{world.pupil.id}/guardians/remove", data=body, content_type=ctype
        )
        assert response.status_code == 415
    assert client.post("/language", data={"language": "en"}).status_code == 302
