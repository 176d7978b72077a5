"""Issue 16, point 10: a stored file that is gone (lost in a restore, removed by hand) gives
a clear page, never a server error, wherever the storage is read."""

from __future__ import annotations

import io
import zipfile

from portfolio.extensions import db
from portfolio.storage import get_storage
from tests.support.documents import add_document
from tests.support.files import PDF, PNG
from tests.support.jobs import fetch


def _lost(doc) -> None:
    get_storage().path(doc.storage_key).unlink()


def test_download_and_preview_of_a_lost_file_say_so(client_for, world):
    certificate = add_document(
        world.pupil, PDF, "zeugnis.pdf", share=("class_teacher", "stubo", "guardians")
    )
    photo = add_document(
        world.pupil,
        PNG,
        "foto.png",
        share=("class_teacher", "stubo", "guardians"),
        mime="image/png",
    )
    db.session.commit()
    _lost(certificate)
    _lost(photo)
    for client in (client_for(world.pupil), client_for(world.teacher)):
        for url in (f"/documents/{certificate.id}/download", f"/documents/{photo.id}/preview"):
            response = client.get(url)
            assert response.status_code == 410, url
            page = response.get_data(as_text=True)
            assert "This file is missing" in page and "upload it again" in page


def test_exports_go_on_without_the_lost_file(client_for, world):
    add_document(world.pupil, PDF, "bleibt.pdf", share=("class_teacher", "stubo", "guardians"))
    lost = add_document(world.pupil, PDF, "weg.pdf", share=("class_teacher", "stubo", "guardians"))
    db.session.commit()
    _lost(lost)
    pupil = client_for(world.pupil)
    assert fetch(pupil, "/export/mine/summary.pdf").status_code == 200
    response = fetch(pupil, f"/privacy/{world.pupil.id}/take-away")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert any("bleibt" in n for n in names) and not any("weg" in n for n in names)
