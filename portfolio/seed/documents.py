"""Demo documents for Elif (10a): a photographed placement certificate, a PDF certificate, a CV."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from portfolio import accounts
from portfolio.documents.uploads import check_upload
from portfolio.extensions import db
from portfolio.models import Document, DocumentCategory, School, User, utcnow
from portfolio.storage import get_storage


def _certificate_photo() -> bytes:
    """An A4-ish picture with some text, like a photo of a paper certificate."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (620, 877), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    big, small = ImageFont.load_default(size=30), ImageFont.load_default(size=18)
    draw.rectangle((30, 30, 590, 847), outline=(40, 60, 110), width=4)
    draw.text((70, 90), "Praktikumszeugnis", font=big, fill=(20, 30, 60))
    lines = [
        "Autohaus Sieg-Mobil GmbH, Siegen",
        "",
        "Elif Yılmaz hat vom 10. bis 28. März",
        "ein Betriebspraktikum in unserer Werkstatt",
        "(Kfz-Mechatronik) absolviert.",
        "",
        "Sie war pünktlich, zuverlässig und hat",
        "Diagnosearbeiten mit großem Interesse",
        "begleitet. Wir würden uns über eine",
        "Bewerbung um einen Ausbildungsplatz freuen.",
        "",
        "Siegen, 28.03.",
        "",
        "M. Schäfer, Werkstattleiter",
    ]
    for i, line in enumerate(lines):
        draw.text((70, 180 + i * 32), line, font=small, fill=(30, 30, 30))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _pdf(title: str, body: str) -> bytes:
    from weasyprint import HTML

    html = (
        f"<html lang='de'><body style='font-family: sans-serif'><h1>{title}</h1>"
        f"<p>{body}</p></body></html>"
    )
    return HTML(string=html).write_pdf()


def seed_documents(
    school: School, pupils_by_class: dict[str, list[User]], staff: dict[str, User]
) -> None:
    """Add Elif's demo documents that are missing (idempotent; no commit)."""
    elif_ = next(p for p in pupils_by_class["10a"] if p.username == "elif.yilmaz")
    have = set(db.session.scalars(sa.select(Document.title).where(Document.pupil_id == elif_.id)))
    year = accounts.school_year_start()  # grade 10 now: the placement was in spring of `year`
    wanted = [
        (
            "Praktikumszeugnis Autohaus Sieg-Mobil",
            DocumentCategory.CERTIFICATE,
            "Praktikumszeugnis_Autohaus.png",
            _certificate_photo,
            True,
            dt.datetime(year, 4, 2, 15),
        ),
        (
            "Teilnahmebescheinigung Potenzialanalyse",
            DocumentCategory.CERTIFICATE,
            "Teilnahmebescheinigung_Potenzialanalyse.pdf",
            lambda: _pdf(
                "Teilnahmebescheinigung",
                "Elif Yılmaz hat an der Potenzialanalyse im Rahmen von KAoA teilgenommen.",
            ),
            True,
            dt.datetime(year - 2, 11, 20, 17),
        ),
        (
            "Lebenslauf",
            DocumentCategory.CV,
            "Lebenslauf_Elif_Yılmaz.pdf",
            lambda: _pdf(
                "Lebenslauf", "Elif Yılmaz, geboren 2010 in Siegen. Realschule Am Giersberg."
            ),
            False,
            dt.datetime(year, 9, 15, 18),
        ),
    ]
    storage = get_storage()
    for title, category, filename, make, shared, created in wanted:
        if title in have:
            continue
        checked = check_upload(make(), filename)
        db.session.add(
            Document(
                school_id=school.id,
                pupil_id=elif_.id,
                category=category.value,
                title=title,
                filename=checked.filename,
                storage_key=storage.save(checked.data),
                mime_type=checked.mime_type,
                size=checked.size,
                sha256=checked.sha256,
                share_class_teacher=shared,
                share_stubo=shared,
                share_guardians=shared,
                uploaded_by_id=elif_.id,
                created_at=min(created.replace(tzinfo=dt.UTC), utcnow()),
            )
        )
