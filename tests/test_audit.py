"""The audit log: who looked (pupil's view), append-only, the admin's filter and CSV,
and a report of the routes that show a pupil's content without recording it."""

import csv
import datetime as dt
import io
import os
import re

import pytest
import sqlalchemy as sa

from portfolio import clock
from portfolio.extensions import db
from portfolio.models import AuditEvent
from portfolio.privacy import audit
from tests.support.content import fill_portfolio
from tests.support.jobs import fetch
from tests.support.queries import queries_of_page

EN = {"Accept-Language": "en"}


def _events(**where):
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return db.session.scalars(stmt).all()


# -- the pupil's page ----------------------------------------------------------------------
def test_pupil_sees_who_looked_in_plain_language(client_for, world):
    c = fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=c.praktikum)
    audit.record(world.guardian, "download", pupil_id=world.pupil.id, obj=c.certificate)
    audit.record(world.pupil, "view", pupil_id=world.pupil.id, obj=c.private)  # not recorded
    db.session.commit()
    assert len(_events(pupil_id=world.pupil.id)) == 2

    page = client_for(world.pupil).get(f"/privacy/{world.pupil.id}/who-looked", headers=EN)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Tina Teacher" in text and "(teacher)" in text
    assert "read one of your entries" in text and "Praktikum Tischlerei" in text
    assert "Gabi Guardian" in text and "downloaded one of your files" in text
    assert "Praktikumszeugnis" in text

    # The guardian sees who and what, but no titles (they could name unshared entries).
    guardian_page = (
        client_for(world.guardian)
        .get(f"/privacy/{world.pupil.id}/who-looked", headers=EN)
        .get_data(as_text=True)
    )
    assert "Tina Teacher" in guardian_page and "Praktikum Tischlerei" not in guardian_page


def test_a_real_view_by_staff_is_recorded_and_the_pupils_own_is_not(client_for, world):
    fill_portfolio(world.pupil)
    before = len(_events())
    assert client_for(world.teacher).get(f"/review/pupils/{world.pupil.id}").status_code == 200
    events = _events(pupil_id=world.pupil.id, actor_id=world.teacher.id)
    assert len(events) == 1 and events[0].action == "view"
    assert events[0].actor_name == "Tina Teacher" and events[0].actor_role == "teacher"
    # The pupil's own take-away download leaves no trace, a guardian's does.
    url = f"/privacy/{world.pupil.id}/take-away"
    assert fetch(client_for(world.pupil), url).status_code == 200
    assert len(_events()) == before + 1
    assert fetch(client_for(world.guardian), url).status_code == 200
    [takeaway] = _events(action="takeaway")
    assert takeaway.actor_id == world.guardian.id and takeaway.pupil_id == world.pupil.id


def test_who_looked_pages_with_a_fixed_number_of_queries(client_for, world):
    c = fill_portfolio(world.pupil)
    client = client_for(world.pupil)

    def count():
        return queries_of_page(client, f"/privacy/{world.pupil.id}/who-looked")

    audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=c.praktikum)
    audit.record(world.guardian, "download", pupil_id=world.pupil.id, obj=c.certificate)
    db.session.commit()
    few = count()
    for _ in range(60):
        audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=c.praktikum)
        audit.record(world.guardian, "download", pupil_id=world.pupil.id, obj=c.certificate)
    db.session.commit()
    assert count() == few
    page2 = client.get(f"/privacy/{world.pupil.id}/who-looked?page=2", headers=EN)
    assert "Page 2 of 3" in page2.get_data(as_text=True)


# -- append-only ---------------------------------------------------------------------------
def test_the_model_guard_refuses_changes_and_deletions(world):
    audit.record(world.teacher, "view", pupil_id=world.pupil.id)
    db.session.commit()
    event = _events()[0]
    event.action = "nothing-happened"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    event = _events()[0]
    db.session.delete(event)
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    assert _events()[0].action == "view"


def test_postgresql_refuses_changes_even_in_raw_sql(world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    audit.record(world.teacher, "view", pupil_id=world.pupil.id)
    db.session.commit()
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert len(_events()) == 1


def test_no_route_can_change_the_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule or "who-looked" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


# -- the admin's page -------------------------------------------------------------------------
def _seed_log(world):
    c = fill_portfolio(world.pupil)
    audit.record(world.teacher, "view", pupil_id=world.pupil.id, obj=c.praktikum)
    audit.record(world.counsellor, "download", pupil_id=world.classmate.id)
    audit.record(world.guardian, "pdf", pupil_id=world.pupil.id)
    audit.record(world.other_teacher, "view", pupil_id=world.other_pupil.id)  # other school
    db.session.commit()
    return c


def test_admin_filters_the_schools_log(client_for, world):
    _seed_log(world)
    client = client_for(world.admin)

    def rows(query):
        page = client.get("/admin/audit" + query, headers=EN)
        assert page.status_code == 200
        return page.get_data(as_text=True)

    everything = rows("")
    assert "Tina Teacher" in everything and "Conny Consent" in everything
    assert "Olga Teacher" not in everything  # never another school's log
    by_pupil = rows("?pupil=carl")
    assert "Conny Consent" in by_pupil and "Tina Teacher" not in by_pupil
    by_actor = rows("?actor=tina")
    assert "Tina Teacher" in by_actor and "Gabi Guardian" not in by_actor
    by_action = rows("?action=pdf")
    assert "Gabi Guardian" in by_action and "Tina Teacher" not in by_action
    # The filter's days are days in Berlin, whatever the server's clock says.
    today = clock.today()
    assert "Tina Teacher" in rows(f"?date_from={today - dt.timedelta(days=1)}&date_to={today}")
    assert "Tina Teacher" not in rows(f"?date_to={today - dt.timedelta(days=2)}")
    # Nonsense in the filter: a message-free empty filter, never a 500.
    assert client.get("/admin/audit?date_from=yesterday&page=-3&action=zzz").status_code == 200


def test_admin_log_has_a_fixed_number_of_queries(client_for, world):
    _seed_log(world)
    client = client_for(world.admin)

    def count():
        return queries_of_page(client, "/admin/audit")

    few = count()
    for _ in range(80):
        audit.record(world.teacher, "view", pupil_id=world.pupil.id)
    db.session.commit()
    assert count() == few


def test_admin_downloads_the_log_as_csv_without_formulas(client_for, world):
    _seed_log(world)
    world.teacher.first_name = "=HYPERLINK(1)"
    db.session.commit()
    audit.record(world.teacher, "view", pupil_id=world.pupil.id)
    db.session.commit()
    response = client_for(world.admin).get("/admin/audit.csv?actor=hyperlink")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0].startswith("time")
    assert len(rows) == 2 and rows[1][1].startswith("'=")
    assert rows[1][6] == "Paula Pupil"
    # The download itself is recorded.
    assert _events(action="export", actor_id=world.admin.id)


def test_purged_pupils_show_as_a_number(client_for, world):
    audit.record(None, "purge", pupil_id=987654, school_id=world.school.id)
    db.session.commit()
    text = client_for(world.admin).get("/admin/audit", headers=EN).get_data(as_text=True)
    assert "deleted pupil #987654" in text and "the system" in text


# -- coverage report: which routes show a pupil's content without recording it ------------------
_ID_ARGS = ("pupil_id", "entry_id", "document_id", "agreement_id", "record_id", "guidance_id")


def audit_coverage(app, client_for, world):
    """GET every route that takes a pupil's or an object's id, as every visitor with access,
    and return {rule: "records" | "NO RECORD" | status} (visitors: teacher, guardian, counsellor).
    """
    c = fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    for obj in (c.praktikum, c.goal, c.private, c.certificate, c.photo, c.agreement):
        for attr in ("share_class_teacher", "share_stubo", "share_counsellor", "share_guardians"):
            if hasattr(obj, attr):
                setattr(obj, attr, True)
    c.guidance.share_guardians = True
    db.session.commit()
    ids = {
        "pupil_id": world.pupil.id,
        "entry_id": c.praktikum.id,
        "document_id": c.certificate.id,
        "agreement_id": c.agreement.id,
        "record_id": c.guidance.id,
        "guidance_id": c.guidance.id,
    }
    clients = {
        name: client_for(getattr(world, name)) for name in ("teacher", "guardian", "counsellor")
    }
    report = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        args = set(rule.arguments)
        if "GET" not in rule.methods or not args & set(_ID_ARGS) or args - set(_ID_ARGS):
            continue
        if rule.endpoint.startswith(("privacy.", "admin.")):
            continue  # not content views (consents, the log itself, account pages)
        url = rule.rule
        for arg in args:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(ids[arg]), url)
        results = []
        for name, client in clients.items():
            before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
            status = client.get(url).status_code
            after = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
            if status == 200:
                results.append(f"{name}: {'records' if after > before else 'NO RECORD'}")
        report[f"{rule.endpoint} {rule.rule}"] = ", ".join(results) or "no visitor got 200"
    return report


def test_audit_coverage_report(app, client_for, world, capsys):
    """Prints which content routes record views by others (`pytest -s -k coverage_report`).

    Only a report while other features are being built; AUDIT_STRICT=1 makes it fail on any
    route that shows content without recording it.
    """
    report = audit_coverage(app, client_for, world)
    with capsys.disabled():
        if os.environ.get("AUDIT_REPORT"):
            print("\nAudit coverage of routes with pupil/object ids:")
            for route, result in report.items():
                print(f"  {route:70} {result}")
    missing = [route for route, result in report.items() if "NO RECORD" in result]
    if os.environ.get("AUDIT_STRICT"):
        assert not missing, missing
    assert report  # the helper found routes at all
