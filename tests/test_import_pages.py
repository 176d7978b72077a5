"""The school admin's pages for packages (issue 14.5, issue 15.7): importing a take-away
package with a preview, and a leaver's take-away package made by the school."""

import hashlib
import io
import json
import os
import re
import zipfile

import pytest
import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import AuditEvent, ImportedPackage, Role, User
from portfolio.privacy import portability
from portfolio.privacy.portability import Maker, Scope
from tests.support.content import fill_portfolio
from tests.support.files import pdf_text
from tests.support.jobs import fetch, follow
from tests.support.world import make_user

EN = {"Accept-Language": "en"}
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

pytestmark = pytest.mark.usefixtures("english_locale")


@pytest.fixture
def other_admin(world):
    """The school admin of the school the pupil moves to."""
    admin = make_user(world.other_school, [Role.ADMIN], "Olaf", "Admin", username="olaf")
    db.session.commit()
    return admin


def _package(world, *, scope=Scope.WHOLE, svg=False) -> bytes:
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    made_by = Maker("guardian", "Gabi Guardian") if scope == Scope.FAMILY else None
    payload = portability.export_bytes(world.pupil, scope=scope, made_by=made_by)
    if not svg:
        return payload
    zf = zipfile.ZipFile(io.BytesIO(payload))
    members = {n: zf.read(n) for n in zf.namelist()}
    data = json.loads(members["portfolio.json"])
    path = f"files/{len(data['documents']) + 1}-foto.png"
    members[path] = SVG
    data["documents"].append(
        {
            **data["documents"][0],
            "entry": None,
            "filename": "foto.png",
            "title": "Foto",
            "path": path,
            "sha256": hashlib.sha256(SVG).hexdigest(),
        }
    )
    members["portfolio.json"] = json.dumps(data).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as new:
        for name, content in members.items():
            new.writestr(name, content)
    return out.getvalue()


def _upload(client, payload: bytes, name="Berufswahlpass-Paula.zip"):
    return client.post(
        "/admin/import",
        data={"package": (io.BytesIO(payload), name)},
        content_type="multipart/form-data",
        headers=EN,
    )


def test_admin_previews_and_imports_a_package_into_a_class(client_for, world, other_admin):
    client = client_for(other_admin)
    home = client.get("/admin/", headers=EN).get_data(as_text=True)
    assert 'href="/admin/import"' in home and "Import a portfolio" in home
    response = _upload(client, _package(world, svg=True))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    preview_url = response.location
    page = client.get(preview_url, headers=EN).get_data(as_text=True)
    assert "Paula Pupil" in page and "Realschule Testdorf" in page
    assert "Work placement" in page or "Praktikum" in page  # entries by kind, with labels
    assert "Files that are left out" in page and "foto.png" in page
    assert "cannot be uploaded" in page
    assert "Kept as imported history" in page
    assert "Not the whole portfolio" not in page
    assert accounts.get_class(world.other_school, "9a").name in page

    cls = accounts.get_class(world.other_school, "9a")
    done = client.post(preview_url, data={"class_id": str(cls.id)}, headers=EN)
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert "Portfolio imported" in html and "Initial password" in html
    pupil = db.session.scalar(
        sa.select(User).where(User.school_id == world.other_school.id, User.first_name == "Paula")
    )
    assert pupil.username in html and accounts.current_class(pupil).name == "9a"
    assert "foto.png" in html  # what was left out, once more
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import"))
    assert event.actor_id == other_admin.id and event.pupil_id == pupil.id
    # The token is used up: a second post finds nothing to import.
    again = client.post(preview_url, data={"class_id": ""}, headers=EN)
    assert again.status_code == 302 and again.location.endswith("/admin/import")
    assert db.session.scalar(sa.select(sa.func.count(ImportedPackage.id))) == 1


def test_a_partial_package_needs_the_confirmation(client_for, world, other_admin):
    client = client_for(other_admin)
    response = _upload(client, _package(world, scope=Scope.FAMILY))
    page = client.get(response.location, headers=EN).get_data(as_text=True)
    assert "Not the whole portfolio" in page
    assert "holds only what Paula Pupil shared with the family" in page
    assert "Gabi Guardian (a parent or guardian)" in page
    users = db.session.scalar(sa.select(sa.func.count(User.id)))
    refused = client.post(response.location, data={"class_id": ""}, headers=EN)
    assert refused.status_code == 400
    assert "Please confirm that you import a package" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users
    done = client.post(response.location, data={"class_id": "", "accept_partial": "y"})
    assert done.status_code == 200 and "shared with the family" in done.get_data(as_text=True)
    row = db.session.scalar(sa.select(ImportedPackage))
    assert row.scope == "shared-with-family" and row.imported_by_id == other_admin.id


def test_a_bad_or_repeated_package_is_refused_on_the_upload_page(
    client_for, world, other_admin, app
):
    staged = os.path.join(app.instance_path, "package-uploads")
    os.makedirs(staged, exist_ok=True)
    before = set(os.listdir(staged))  # other tests' uploads may wait there for an hour
    client = client_for(other_admin)
    bad = _upload(client, b"PK\x03\x04 not really a zip")
    assert bad.status_code == 400 and "This is not a ZIP file." in bad.get_data(as_text=True)
    payload = _package(world)
    first = _upload(client, payload)
    client.post(first.location, data={"class_id": ""})
    second = _upload(client, payload)
    assert second.status_code == 400
    assert "already imported" in second.get_data(as_text=True)
    # Refused packages are not kept; the imported one was removed after its import.
    assert not [n for n in set(os.listdir(staged)) - before if n.endswith(".bin")]


def test_the_import_page_takes_packages_larger_than_other_uploads(
    client_for, world, other_admin, app, monkeypatch
):
    payload = _package(world)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", len(payload) // 2)
    client = client_for(other_admin)
    assert _upload(client, payload).status_code == 302
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", len(payload) // 2)
    assert _upload(client, payload).status_code == 413


def test_the_upload_checks_the_csrf_token(client_for, world, other_admin, app, monkeypatch):
    payload = _package(world)
    client = client_for(other_admin)  # logged in before CSRF is switched on
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    refused = _upload(client, payload)
    assert refused.status_code == 400
    assert "The page was open for too long" in refused.get_data(as_text=True)
    page = client.get("/admin/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(
        "/admin/import",
        data={"package": (io.BytesIO(payload), "p.zip"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert accepted.status_code == 302 and "/admin/import/" in accepted.location


@pytest.mark.parametrize("visitor", ["stubo", "teacher", "pupil", "guardian"])
def test_only_the_school_admin_imports(client_for, world, visitor):
    client = client_for(getattr(world, visitor))
    assert client.get("/admin/import").status_code == 403
    assert _upload(client, b"x").status_code == 403


# -- a leaver's take-away package ----------------------------------------------------------
def test_admin_makes_a_leavers_package_with_the_pdf(client_for, world):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    client = client_for(world.admin)
    page = client.get(f"/admin/leaving/{world.pupil.id}/take-away", headers=EN)
    assert "only for pupils marked as left" in page.get_data(as_text=True)
    refused = client.post(f"/admin/leaving/{world.pupil.id}/take-away")
    assert refused.status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "takeaway")
        )
        == 0
    )

    marked = client.post(f"/admin/leaving/{world.pupil.id}", data={"left_on": "2026-07-01"})
    assert marked.location.endswith(f"/admin/leaving/{world.pupil.id}/take-away")
    leaving = client.get("/admin/leaving", headers=EN).get_data(as_text=True)
    assert f'href="/admin/leaving/{world.pupil.id}/take-away"' in leaving
    assert 'href="/admin/import"' in leaving

    response = fetch(client, f"/admin/leaving/{world.pupil.id}/take-away")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(zf.read("portfolio.json"))
    assert data["scope"] == "whole-portfolio"
    assert data["made_by"] == {"role": "school", "name": world.admin.full_name}
    assert "Nur für mich" in {e["title"] for e in data["entries"]}  # the whole portfolio
    cover = " ".join(pdf_text(zf.read("portfolio.pdf")).split()[:80])
    assert "holds the whole portfolio of Paula Pupil" in cover
    assert f"{world.admin.full_name} (school)" in cover
    readme = zf.read("README.txt").decode()
    assert f"by {world.admin.full_name} (school)" in readme
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "takeaway"))
    assert event.actor_id == world.admin.id and event.pupil_id == world.pupil.id
    assert event.details["leaver"] is True
    # The pupil sees it in "who looked".
    looked = client_for(world.pupil).get(f"/privacy/{world.pupil.id}/who-looked", headers=EN)
    assert world.admin.full_name in looked.get_data(as_text=True)


def test_the_guardians_package_says_what_it_holds(client_for, world):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    client = client_for(world.guardian)
    page = client.get(f"/privacy/{world.pupil.id}/take-away", headers=EN).get_data(as_text=True)
    assert "not the whole portfolio" in page and "the whole portfolio as a PDF" not in page
    started = client.post(f"/privacy/{world.pupil.id}/take-away")
    _html, download = follow(client, started)
    zf = zipfile.ZipFile(io.BytesIO(client.get(download).data))
    data = json.loads(zf.read("portfolio.json"))
    assert data["scope"] == "shared-with-family"
    assert data["made_by"] == {"role": "guardian", "name": "Gabi Guardian"}
    readme = zf.read("README.txt").decode()
    assert "holds only what Paula Pupil shared with the family, not the whole" in readme
    assert "holds the whole portfolio" not in readme
    cover = " ".join(pdf_text(zf.read("portfolio.pdf")).split()[:80])
    assert "only what Paula Pupil shared with the family" in cover
    assert "Gabi Guardian (parent or guardian)" in cover
