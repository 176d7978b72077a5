"""Issue 8, uploads end to end over HTTP: type by content, size limit before the body is
read, sanitised names, random storage names, safe downloads, no GPS, fake PDFs refused."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from portfolio.extensions import db
from portfolio.models import Document
from portfolio.storage import get_storage
from tests.support.documents import EN, upload
from tests.support.files import blank_pdf, png_of_size, png_with_gps
from tests.support.matrix import fast_client


@pytest.fixture
def live_server(app):
    """The test app on a free port of 127.0.0.1 (threaded Werkzeug server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)


def _only_document():
    docs = db.session.scalars(sa.select(Document)).all()
    assert len(docs) == 1
    return docs[0]


def test_body_over_the_limit_is_refused_before_it_is_read(app, world, live_server, monkeypatch):
    """Announce 50 MB, send 64 KB, and wait: the answer 413 must come without the rest."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    client = fast_client(app, world.pupil)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="gross.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
    ).encode()
    announced = 50 * 1024 * 1024
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", live_server.server_port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST /documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {announced}\r\n"
                f"Cookie: {app.config['SESSION_COOKIE_NAME']}={cookie}\r\n"
                f"Accept-Language: en\r\n\r\n"
            ).encode()
            + head
            + b"x" * 65536
        )
        sock.settimeout(5)
        answer = sock.recv(200)
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert elapsed < 3, f"the 413 took {elapsed:.1f} s (was the body read?)"
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_photo_upload_end_to_end(app, client_for, world):
    client = client_for(world.pupil)
    response = upload(
        client, file=(io.BytesIO(png_with_gps()), "../../etc/<b>Foto</b>.pdf"), title="Mein Foto"
    )
    assert response.status_code == 302
    doc = _only_document()
    # The content decides the type, not the name; the name is sanitised.
    assert doc.mime_type == "image/png"
    assert "/" not in doc.filename and ".." not in doc.filename and "<" not in doc.filename
    assert doc.filename.endswith(".png")
    # Stored under a random name that has nothing to do with the uploaded one.
    path = get_storage().path(doc.storage_key)
    assert "Foto" not in doc.storage_key and len(doc.storage_key) >= 24
    assert "static" not in str(path)
    with Image.open(path) as stored:
        assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert ExifTags.Base.Make not in stored.getexif()
    download = client.get(f"/documents/{doc.id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "image/png"
    with Image.open(io.BytesIO(download.data)) as served:
        assert not served.getexif().get_ifd(ExifTags.IFD.GPSInfo)


@pytest.mark.parametrize(
    "data, name",
    [
        (b"%PDF-1.7\n<html><script>alert(1)</script></html>\n%%EOF\n", "zeugnis.pdf"),
        (b"<html><script>alert(1)</script></html>", "zeugnis.pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "bild.png"),
        (b"MZ\x90\x00" + b"\x00" * 100, "zeugnis.pdf"),
    ],
)
def test_fake_files_are_refused_over_http(client_for, world, data, name):
    response = upload(client_for(world.pupil), file=(io.BytesIO(data), name))
    assert response.status_code == 200  # the form again, with the error at the field
    assert "kern-error" in response.get_data(as_text=True) or "error" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_real_pdf_is_stored_and_served_as_attachment(client_for, world):
    client = client_for(world.pupil)
    assert upload(client, file=(io.BytesIO(blank_pdf()), "Zeugnis.pdf")).status_code == 302
    doc = _only_document()
    response = client.get(f"/documents/{doc.id}/download")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # A PDF has no inline preview (only images do).
    assert client.get(f"/documents/{doc.id}/preview").status_code == 404


@pytest.mark.parametrize("locale", ["de", "en", "tr", "ar", "ru", "uk", "pl"])
def test_picture_over_the_pixel_limit_is_refused_in_the_users_language(
    app, client_for, world, locale
):
    from flask_babel import force_locale
    from markupsafe import escape

    from portfolio.documents.uploads import too_many_pixels_message

    world.pupil.locale = locale
    db.session.commit()
    bomb = png_of_size(7746, 7746)  # 60 Mpx: 240 MB if it were decoded
    response = upload(
        client_for(world.pupil), file=(io.BytesIO(bomb), "scan.png"), title="Mein Scan"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    limit = app.config["MAX_IMAGE_PIXELS"]
    with app.test_request_context():
        with force_locale("en"):
            english = str(too_many_pixels_message(limit))
        with force_locale(locale):
            message = str(too_many_pixels_message(limit))
    assert str(escape(message)) in page and "40" in message
    assert (message == english) == (locale == "en")  # translated in every catalogue
    assert 'value="Mein Scan"' in page  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0


def test_a_pupil_filing_a_stack_of_certificates_never_meets_the_upload_limit(client_for, world):
    client = client_for(world.pupil)
    for number in range(15):
        response = upload(client, file=(io.BytesIO(blank_pdf()), f"Zeugnis {number}.pdf"))
        assert response.status_code == 302, number
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 15


def test_upload_limit_per_account_says_when_to_come_back(app, client_for, world, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_LIMIT", "3 per 10 minutes")
    pupil, other = client_for(world.pupil), client_for(world.pupil_9b)
    for number in range(3):
        assert upload(pupil, file=(io.BytesIO(blank_pdf()), f"{number}.pdf")).status_code == 302
    assert pupil.get("/documents/upload", headers=EN).status_code == 200  # looking is free

    refused = upload(pupil, file=(io.BytesIO(blank_pdf()), "4.pdf"), title="Praktikum Bäckerei")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "You have uploaded many files in a short time" in page
    assert "You can upload the next one in 10 minutes" in page
    assert "Praktikum Bäckerei" in page  # the form keeps what was typed
    assert 500 <= int(refused.headers["Retry-After"]) <= 600
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 3
    # Counted per account: another pupil (on the same school network) is not affected.
    assert upload(other, file=(io.BytesIO(blank_pdf()), "x.pdf")).status_code == 302
