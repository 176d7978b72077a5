"""Class export: one ZIP with a PDF per pupil, rendered in worker processes (web and CLI)."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portfolio.extensions import db
from portfolio.models import AuditEvent
from tests.support.files import pdf_text
from tests.support.jobs import follow
from tests.support.pdf_fixtures import add_entry


@pytest.fixture
def shared(world):
    add_entry(
        world.pupil,
        "reflection",
        {"title": "TEACHERMARK", "text": "x"},
        share=("class_teacher", "stubo"),
    )
    add_entry(world.pupil, "reflection", {"title": "PRIVATEMARK", "text": "x"})
    add_entry(world.pupil, "reflection", {"title": "FAMILYMARK", "text": "x"}, share=("guardians",))
    db.session.commit()


def test_class_teacher_downloads_the_class_zip(world, shared, client_for):
    client = client_for(world.teacher)
    overview = client.get(f"/review/classes/{world.class_9a.id}").get_data(as_text=True)
    assert f'action="/export/class/{world.class_9a.id}/zip"' in overview
    started = client.post(f"/export/class/{world.class_9a.id}/zip")
    # Nothing is made (nor audited) before a worker runs the job.
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    page, download = follow(client, started)
    assert "The file is ready." in page and download
    response = client.get(download)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    assert names == ["Berufswahlpass_Classmate_Carl.pdf", "Berufswahlpass_Pupil_Paula.pdf"]
    text = pdf_text(archive.read("Berufswahlpass_Pupil_Paula.pdf"))
    assert "TEACHERMARK" in text
    assert "PRIVATEMARK" not in text and "FAMILYMARK" not in text
    # Carl shared nothing: one page that says so, not eight pages of empty sections.
    carl = archive.read("Berufswahlpass_Classmate_Carl.pdf")
    assert len(PdfReader(io.BytesIO(carl)).pages) == 1
    assert "Carl Classmate has not shared anything with school staff yet." in " ".join(
        pdf_text(carl).split()
    )
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.pupil_id)).all()
    assert sorted(e.pupil_id for e in events) == sorted([world.pupil.id, world.classmate.id])
    assert all(e.actor_id == world.teacher.id and e.action == "pdf" for e in events)


def test_unknown_class_is_404(world, client_for):
    assert client_for(world.stubo).post("/export/class/999999/zip").status_code == 404
    assert (
        client_for(world.stubo).post(f"/export/class/{world.class_other.id}/zip").status_code == 404
    )


def test_cli_exports_a_class(world, shared, runner, tmp_path):
    out = tmp_path / "9a.zip"
    result = runner.invoke(
        args=[
            "export-pdfs",
            "--school",
            "100001",
            "--class",
            "9a",
            "--out",
            str(out),
            "--workers",
            "2",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 2 PDFs of class 9a" in result.output
    archive = zipfile.ZipFile(out)
    assert len([n for n in archive.namelist() if n.endswith(".pdf")]) == 2
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert len(events) == 2 and all(e.details["via"] == "cli" for e in events)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--school", "999999", "--class", "9a"], "No school with Schulnummer 999999"),
        (["--school", "100001", "--class", "7z"], "No class '7z'"),
    ],
)
def test_cli_errors_clearly(world, runner, tmp_path, args, message):
    result = runner.invoke(args=["export-pdfs", *args, "--out", str(tmp_path / "x.zip")])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x.zip").exists()


def test_cli_refuses_a_missing_folder(world, runner, tmp_path):
    result = runner.invoke(
        args=[
            "export-pdfs",
            "--school",
            "100001",
            "--class",
            "9a",
            "--out",
            str(tmp_path / "nope" / "x.zip"),
        ]
    )
    assert result.exit_code != 0 and "does not exist" in result.output
