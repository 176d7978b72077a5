"""The access matrix's other half: an allowed POST really changes what it should.

For every POST row of ROUTES (tests/test_access_matrix.py), each of the row's writers
(by default: every allowed visitor among the pupil, her class teacher, the StuBO, her
counsellor, her guardian and the school admin; for rows open to everybody one of them)
sends the request in a fresh world of their own. The answer must not be a refusal or an
error, and the row's `effect` must then hold in the database: the entry exists, the
signature is there, the account is off. A POST row without `effect` fails here.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portfolio.extensions import db
from tests.support.matrix import (
    admin_tokens,
    fast_client,
    fast_pdfs,
    fill,
    form_for,
    freeze,
    make_content,
    outcome,
)
from tests.test_access_matrix import ANY, ROUTES, Route

#: Who writes by default, when the row allows them: one visitor of each relation to Paula.
WRITERS = ("pupil", "teacher", "stubo", "counsellor", "guardian", "admin")


def writers(route: Route) -> tuple[str, ...]:
    if route.writers is not None:
        return route.writers
    allowed = [v for v, e in route.expect.items() if e == ANY]
    if set(allowed) >= set(WRITERS):  # open to every visitor: one of them
        return ("pupil",)
    return tuple(v for v in WRITERS if v in allowed) or tuple(allowed[:1])


def _cases():
    cases = []
    for key, rows in ROUTES.items():
        if not key.startswith("POST "):
            continue
        rows = rows if isinstance(rows, list) else [rows]
        for i, route in enumerate(rows):
            suffix = f"#{i}" if len(rows) > 1 else ""
            for who in writers(route):
                cases.append(pytest.param(key, i, who, id=f"{key}{suffix}[{who}]"))
    return cases


def _route(key, index) -> Route:
    rows = ROUTES[key]
    return rows[index] if isinstance(rows, list) else rows


def _url(app, key, route: Route, ctx) -> str:
    rule = next(r for r in app.url_map.iter_rules() if f"POST {r.rule}" == key)
    args = route.args(ctx) if callable(route.args) else dict(route.args)
    path_args = {k: v for k, v in args.items() if k in rule.arguments}
    return rule.build(path_args, append_unknown=False)[1]


def _data(route: Route, ctx, client, url) -> dict:
    """The row's data, else the form of the page as the writer sees it; then `write`."""
    if route.data is not None:
        data = dict(route.data(ctx))
    else:
        page = client.get(url)
        assert page.status_code == 200, f"{ctx.who} cannot open {url} ({page.status_code})"
        form = form_for(page.get_data(as_text=True), url)
        assert form is not None, f"no form posting to {url} on its page"
        data = fill(form)
    if route.write is not None:
        data.update(route.write(ctx))
    return data


@pytest.mark.parametrize("key,index,who", _cases())
def test_allowed_post_changes_what_it_should(app, world, monkeypatch, key, index, who):
    route = _route(key, index)
    assert route.effect is not None, (
        f"{key}: say what an allowed request changes: effect=lambda ctx: <a check of the "
        "database afterwards> in its row of tests/test_access_matrix.py"
    )
    fast_pdfs(monkeypatch)
    ctx = SimpleNamespace(
        w=freeze(world),
        c=freeze(make_content(world, world.pupil)),
        t=admin_tokens(app, world),
        who=who,
        app=app,
        monkeypatch=monkeypatch,
    )
    ctx.me = None if who == "anon" else getattr(ctx.w, who)
    if route.before is not None:
        route.before(ctx)
        db.session.commit()
    client = fast_client(app, None if who == "anon" else getattr(world, who))
    db.session.remove()
    url = _url(app, key, route, ctx)
    data = _data(route, ctx, client, url)
    ctx.response = client.post(url, data=data)
    got = outcome(ctx.response)
    refused = (400, 403, 404, 410) if key == "POST /logout" else (400, 403, 404, 410, "login")
    assert got not in refused and ctx.response.status_code < 500, (
        f"{who} {url}: answer {got} for {data}"
    )
    db.session.remove()
    assert route.effect(ctx), f"{who} {url} ({got}): the request did not change what it should"
