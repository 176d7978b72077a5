"""The StuBO's school overview, its CSV for Excel, and the counsellor's caseload."""

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Agreement, Entry, ReviewState, Role, StandardElement, utcnow
from portfolio.review import dashboard
from tests.support.world import make_user

pytestmark = pytest.mark.usefixtures("english_users")


def _entry(pupil, kind, **kw):
    db.session.add(
        Entry(
            school_id=pupil.school_id, pupil_id=pupil.id, kind=kind, data=kw.pop("data", {}), **kw
        )
    )
    db.session.commit()


def test_element_counts_per_grade_and_class(world):
    _entry(world.pupil, "praktikum", status="done")
    _entry(world.classmate, "praktikum", status="in_progress")
    blocks, _missing = dashboard.school_dashboard(world.school)
    assert [b.grade for b in blocks] == ["9"]
    block = blocks[0]
    assert [c.label for c in block.classes] == ["9a", "9b"]
    total = {s.element.key: s for s in block.total.stats}["praktikum"]
    assert (total.done, total.in_progress, total.not_done, total.figure.percent) == (1, 1, 1, 33)
    in_9a = {s.element.key: s for s in block.classes[0].stats}["praktikum"]
    assert (in_9a.done, in_9a.in_progress, in_9a.not_done, in_9a.figure.percent) == (1, 1, 0, 50)
    # Only the grade's elements: the potential analysis belongs to grade 8. Only what the
    # school organises: the pupils' own work (strengths, goals, CV) is no staff statistic.
    keys = {s.element.key for s in block.total.stats}
    assert "potenzialanalyse" not in keys and "praktikum" in keys
    assert not keys & {"strengths", "ziele", "lebenslauf"}


def test_pupils_without_signed_agreement(world, client_for):
    db.session.add(
        Agreement(
            school_id=world.school.id,
            pupil_id=world.pupil.id,
            number=1,
            decision="dual",
            locked_at=utcnow(),
        )
    )
    grade8 = accounts.get_or_create_class(world.school, "8a")
    make_user(world.school, [Role.PUPIL], "Achim", "Achter", cls=grade8, username="achim")
    db.session.commit()
    _blocks, missing = dashboard.school_dashboard(world.school)
    assert sorted(m.pupil.username for m in missing) == ["berta", "carl"]
    html = client_for(world.stubo).get("/review/school").get_data(as_text=True)
    section = html[html.index("Without a signed transition agreement") :]
    assert "Classmate, Carl" in section and "Nine-B, Berta" in section
    assert "Pupil, Paula" not in section and "Achter" not in section


def test_csv_opens_in_excel_with_umlauts(world, client_for):
    element = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id, StandardElement.key == "praktikum"
        )
    )
    element.name = 'Betriebspraktikum; Größe "2–3 Wochen"'
    other = db.session.scalar(
        sa.select(StandardElement).where(
            StandardElement.school_id == world.school.id, StandardElement.key == "praxiskurs"
        )
    )
    other.name = '=HYPERLINK("http://x")'
    db.session.commit()
    response = client_for(world.stubo).get("/review/school.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert f"berufswahlpass-uebersicht-{dt.date.today().isoformat()}.csv" in disposition
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = data.decode("utf-8-sig")
    assert "Größe" in text
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0][:3] == ["Grade", "Class", "Standard element"]
    names = {row[2] for row in rows[1:]}
    assert 'Betriebspraktikum; Größe "2–3 Wochen"' in names  # quoted correctly
    assert '\'=HYPERLINK("http://x")' in names  # never run as a formula
    assert all(len(row) == 8 for row in rows)


def test_caseload_lists_consented_pupils_and_names_only_without_consent(world, client_for):
    accounts.assign_counsellor(world.counsellor, world.classmate)  # no consent for Carl
    _entry(world.classmate, "praktikum", data={"company": "Geheim GmbH"}, share_counsellor=True)
    _entry(
        world.pupil,
        "praktikum",
        share_counsellor=True,
        asked_counsellor=True,
        review_state=ReviewState.REQUESTED.value,
    )
    db.session.commit()
    rows, no_consent = dashboard.caseload(world.counsellor, world.school)
    assert [r.pupil.username for r in rows] == ["paula"]
    assert rows[0].actions.waiting == 1 and rows[0].school_class.name == "9a"
    assert [p.username for p in no_consent] == ["carl"]
    html = client_for(world.counsellor).get("/review/caseload").get_data(as_text=True)
    assert "Consent missing" in html and "Classmate, Carl" in html
    assert "Geheim GmbH" not in html
    # Due steps are named (the caseload has no element columns).
    assert "Guidance sessions (1st half-year): due" in html
    assert f"/review/pupils/{world.pupil.id}" in html
    assert f"/review/pupils/{world.classmate.id}" not in html
    assert (
        client_for(world.counsellor).get(f"/review/pupils/{world.classmate.id}").status_code == 404
    )


def test_caseload_of_unassigned_counsellor_is_empty(world, client_for):
    html = client_for(world.counsellor_unassigned).get("/review/caseload").get_data(as_text=True)
    assert "No assigned pupil has given consent yet." in html
