"""Issue 16, point 10: the address on login slips and parents' letters is PUBLIC_URL, never
the request's Host header, and production refuses to print without it."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portfolio.extensions import db
from portfolio.models import GuardianCode, User
from portfolio.roster import slips
from tests.support.jobs import follow
from tests.support.world import PASSWORD


def _print_slips(client, world, host: str = "localhost"):
    """The slips form sent to the app under another Host name (as a forged Host header or a
    second DNS name would); the login cookie goes along."""
    client.set_cookie("bwp_session", client.get_cookie("bwp_session").value, domain=host)
    return client.post(
        f"/admin/classes/{world.class_9a.id}/slips",
        data={"pupils": [world.pupil.id], "letters": "y", "letter_locale": "de", "confirm": "y"},
        base_url=f"http://{host}",
    )


def _pdf_text(client, response, host: str) -> str:
    """Run the slips job (in a worker in production) and read its PDF."""
    _page, download = follow(client, response)
    pdf = client.get(download, base_url=f"http://{host}")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    return re.sub(r"\s+", "", text)


def test_slips_print_public_url_whatever_host_the_request_names(
    app, world, client_for, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://portfolio.schule.example")
    teacher = client_for(world.teacher)
    response = _print_slips(teacher, world, host="evil.example")
    text = _pdf_text(teacher, response, "evil.example")
    assert "https://portfolio.schule.example/login" in text
    assert "https://portfolio.schule.example/eltern" in text
    assert "evil.example" not in text


def test_production_without_public_url_prints_nothing_and_changes_nothing(
    app, world, client_for, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "")
    monkeypatch.setitem(app.config, "PRODUCTION", True)
    response = _print_slips(client_for(world.teacher), world)
    assert response.status_code == 503
    assert "PUBLIC_URL" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id).check_password(PASSWORD)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GuardianCode)) == 0


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://portfolio.schule.example", "https://portfolio.schule.example/login"),
        ("https://schule.example/berufswahlpass", "https://schule.example/berufswahlpass/login"),
    ],
)
def test_public_url_builds_addresses_under_its_path(app, monkeypatch, base, expected):
    monkeypatch.setitem(app.config, "PUBLIC_URL", base)
    assert slips.public_url("auth.login") == expected
    with app.test_request_context("/", base_url="http://other.example"):
        assert slips.public_url("auth.login") == expected


def test_development_without_public_url_uses_the_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "")
    with app.test_request_context("/", base_url="http://localhost:5000"):
        assert slips.public_url("auth.login") == "http://localhost:5000/login"
    assert slips.public_url("auth.login") == ""  # a command without PUBLIC_URL
