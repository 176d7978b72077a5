"""The StuBO's school overview, its CSV for Excel, and the counsellor's caseload."""

import csv
import io

import pytest
import sqlalchemy as sa

from portfolio import accounts, clock
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
    blocks = dashboard.school_dashboard(world.school)
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
    blocks = {b.grade: b for b in dashboard.school_dashboard(world.school)}
    # Counted per class (9a: Carl; 9b: Berta); grade 8 has no agreement to sign.
    assert blocks["9"].total.unsigned == 2
    assert [(c.label, c.unsigned) for c in blocks["9"].classes] == [("9a", 1), ("9b", 1)]
    assert blocks["8"].total.unsigned is None
    client = client_for(world.stubo)
    html = client.get("/review/school").get_data(as_text=True)
    assert "2 pupils without a signed transition agreement" in html
    assert "Classmate, Carl" not in html  # the overview counts; pupils are on demand
    # The pupils behind the number, one page of them.
    page = dashboard.school_pupils(world.school, show="agreement")
    assert sorted(r.pupil.username for r in page.items) == ["berta", "carl"]
    listed = client.get("/review/school/pupils?show=agreement").get_data(as_text=True)
    assert "Classmate, Carl" in listed and "Nine-B, Berta" in listed
    assert "Pupil, Paula" not in listed and "Achter" not in listed
    assert "2 pupils found." in listed
    only_9a = client.get(
        f"/review/school/pupils?show=agreement&class={world.class_9a.id}"
    ).get_data(as_text=True)
    assert "Classmate, Carl" in only_9a and "Nine-B, Berta" not in only_9a


def test_pupil_list_searches_filters_and_pages(world, client_for):
    cls = accounts.get_or_create_class(world.school, "9c")
    for i in range(60):
        make_user(world.school, [Role.PUPIL], f"Vor{i:02d}", f"Zett{i:02d}", cls=cls)
    db.session.commit()
    client = client_for(world.stubo)
    first = client.get(f"/review/school/pupils?class={cls.id}").get_data(as_text=True)
    assert "60 pupils found." in first and "1–50 of 60" in first
    assert "Zett00, Vor00" in first and "Zett59, Vor59" not in first
    second = client.get(f"/review/school/pupils?class={cls.id}&page=2").get_data(as_text=True)
    assert "Zett59, Vor59" in second and "Zett00, Vor00" not in second
    found = client.get("/review/school/pupils?q=zett07").get_data(as_text=True)
    assert "1 pupil found." in found and "Zett07, Vor07" in found
    # Everybody of grade 9 is due for the guidance session of this half-year.
    due = dashboard.school_pupils(world.school, grade="9", show="due:beratung")
    assert due.total == 63
    # Nonsense in the address is ignored, never an error.
    assert client.get("/review/school/pupils?class=x&page=-3&show=evil").status_code == 200
    # A class of another school is no filter here: it shows nobody of that school.
    other = client.get(f"/review/school/pupils?class={world.class_other.id}&q=otto")
    assert other.status_code == 200 and "Other, Otto" not in other.get_data(as_text=True)


def test_caseload_pages_and_finds_pupils(world, client_for):
    from portfolio.models import Consent, ConsentPurpose

    cls = accounts.get_or_create_class(world.school, "10c")
    for i in range(55):
        pupil = make_user(world.school, [Role.PUPIL], f"Vor{i:02d}", f"Fall{i:02d}", cls=cls)
        accounts.assign_counsellor(world.counsellor, pupil)
        db.session.add(
            Consent(
                school_id=world.school.id,
                pupil_id=pupil.id,
                purpose=ConsentPurpose.COUNSELLOR_ACCESS.value,
                given_by_role="pupil",
            )
        )
    db.session.commit()
    client = client_for(world.counsellor)
    first = client.get("/review/caseload").get_data(as_text=True)
    assert "56 pupils found." in first  # and Paula
    assert "Fall00, Vor00" in first and "Fall54, Vor54" not in first
    second = client.get("/review/caseload?page=2").get_data(as_text=True)
    assert "Fall54, Vor54" in second
    found = client.get("/review/caseload?q=fall12").get_data(as_text=True)
    assert "1 pupil found." in found and "Fall12, Vor12" in found
    in_class = client.get(f"/review/caseload?class={cls.id}").get_data(as_text=True)
    assert "55 pupils found." in in_class and "Pupil, Paula" not in in_class


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
    assert f"berufswahlpass-uebersicht-{clock.today().isoformat()}.csv" in disposition
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
    page, no_consent = dashboard.caseload(world.counsellor, world.school)
    rows = page.items
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
