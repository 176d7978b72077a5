"""Leaving, the take-away package, purge after the retention period, and backup."""

import datetime as dt
import io
import json
import re
import sqlite3
import zipfile

import pytest
import sqlalchemy as sa

from portfolio import clock, transaction
from portfolio.extensions import db
from portfolio.models import (
    AuditEvent,
    Document,
    Entry,
    GuardianLink,
    LoginSession,
    Notification,
    PupilStatus,
    Role,
    User,
)
from portfolio.privacy import lifecycle
from portfolio.storage import get_storage
from tests.support.content import certificate, fill_portfolio
from tests.support.documents import add_document
from tests.support.files import PDF
from tests.support.jobs import fetch
from tests.support.world import make_user

EN = {"Accept-Language": "en"}


pytestmark = pytest.mark.usefixtures("english_locale")


def _leave(pupil, days_ago: int):
    pupil.status = PupilStatus.LEFT.value
    pupil.left_on = clock.today() - dt.timedelta(days=days_ago)
    db.session.commit()


# -- leaving --------------------------------------------------------------------------------
def test_admin_marks_a_pupil_as_left_and_can_undo(client_for, world):
    client = client_for(world.admin)
    page = client.get("/admin/leaving?q=paula", headers=EN).get_data(as_text=True)
    assert "Mark Pupil, Paula (paula) as left" in page
    today = clock.today()
    response = client.post(
        f"/admin/leaving/{world.pupil.id}", headers=EN, data={"left_on": today.isoformat()}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert world.pupil.status == "left" and world.pupil.left_on == today
    listing = client.get("/admin/leaving", headers=EN).get_data(as_text=True)
    assert "Pupil, Paula" in listing
    assert client.post(f"/admin/leaving/{world.pupil.id}/undo").status_code == 302
    db.session.expire_all()
    assert world.pupil.status == "active" and world.pupil.left_on is None
    assert [e.action for e in db.session.scalars(sa.select(AuditEvent))] == [
        "mark_left",
        "undo_left",
    ]


def test_leaving_date_is_checked(client_for, world):
    client = client_for(world.admin)
    future = (clock.today() + dt.timedelta(days=3)).isoformat()
    for value, message in (
        (future, "cannot be in the future"),
        ("31.02.2026", "Not a valid date"),
        ("", "Please enter the date"),
    ):
        response = client.post(
            f"/admin/leaving/{world.pupil.id}", headers=EN, data={"left_on": value}
        )
        assert response.status_code == 200, value
        assert message in response.get_data(as_text=True), value
    db.session.expire_all()
    assert world.pupil.status == "active"


def test_retention_is_validated_up_to_five_years(client_for, world):
    client = client_for(world.admin)
    for bad in ("1827", "5", "abc", ""):
        response = client.post("/admin/leaving/retention", headers=EN, data={"retention_days": bad})
        assert response.status_code == 400, bad
    db.session.expire_all()
    assert world.school.retention_days == 365
    assert (
        client.post("/admin/leaving/retention", data={"retention_days": "1826"}).status_code == 302
    )
    db.session.expire_all()
    assert world.school.retention_days == 1826
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.check_retention_days(4000)
    # A value above the limit in the database never keeps data longer than five years.
    world.school.retention_days = 9999
    assert lifecycle.effective_retention(world.school) == 1826


def test_other_schools_pupils_cannot_be_marked(client_for, world):
    response = client_for(world.admin).post(
        f"/admin/leaving/{world.other_pupil.id}", data={"left_on": clock.today().isoformat()}
    )
    assert response.status_code == 404


# -- take-away -----------------------------------------------------------------------------
def test_takeaway_zip_holds_pdf_json_and_every_file(client_for, world):
    c = fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    _leave(world.pupil, 10)
    client = client_for(world.pupil)
    page = client.get(f"/privacy/{world.pupil.id}/take-away", headers=EN).get_data(as_text=True)
    assert "The school deletes this portfolio on" in page
    assert "Make the package (ZIP)" in page
    response = fetch(client, f"/privacy/{world.pupil.id}/take-away")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(zf.namelist())
    assert {"portfolio.pdf", "portfolio.json", "README.txt"} <= names
    assert zf.read("portfolio.pdf").startswith(b"%PDF")
    data = json.loads(zf.read("portfolio.json"))
    assert data["format"] == "berufswahlpass-portfolio" and data["version"] == 2
    assert data["scope"] == "whole-portfolio" and data["made_by"]["role"] == "pupil"
    assert {e["title"] for e in data["entries"]} >= {"Praktikum Tischlerei", "Nur für mich"}
    paths = {d["path"] for d in data["documents"]}
    assert paths == {n for n in names if n.startswith("files/")}
    assert len(paths) == 2
    assert all(".." not in p.split("/") for p in paths)
    cert = next(d for d in data["documents"] if d["title"] == "Praktikumszeugnis")
    assert zf.read(cert["path"]) == certificate()
    assert "password" not in json.dumps(data)
    del c


def test_guardians_takeaway_holds_only_what_was_shared_with_them(client_for, world):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    _leave(world.pupil, 10)
    response = fetch(client_for(world.guardian), f"/privacy/{world.pupil.id}/take-away")
    assert response.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(zf.read("portfolio.json"))
    titles = {e["title"] for e in data["entries"]}
    assert "Praktikum Tischlerei" in titles and "Nur für mich" not in titles
    assert all(e["share"]["guardians"] for e in data["entries"])
    assert all(d["share"]["guardians"] for d in data["documents"])
    files = {n for n in zf.namelist() if n.startswith("files/")}
    assert files == {d["path"] for d in data["documents"]}


# -- purge ---------------------------------------------------------------------------------
def _pupil_rows(pupil_id: int) -> dict[str, int]:
    """Rows anywhere that still point at the pupil through a foreign key to user_account."""
    found = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "user_account":
                n = db.session.scalar(
                    sa.select(sa.func.count()).select_from(table).where(fk.parent == pupil_id)
                )
                if n:
                    found[f"{table.name}.{fk.parent.name}"] = n
    return found


def test_purge_deletes_rows_and_files_and_logs_without_content(runner, world):
    c = fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    keys = [c.certificate.storage_key, c.photo.storage_key]
    storage = get_storage()
    assert all(storage.path(k).exists() for k in keys)
    pupil_id, teacher_id = world.pupil.id, world.teacher.id
    from portfolio.privacy import audit

    audit.record(world.teacher, "view", pupil_id=pupil_id, obj=c.praktikum)
    db.session.commit()
    _leave(world.pupil, 400)  # default retention: 365 days
    _leave(world.classmate, 100)  # not yet due

    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert f"Deleted pupil #{pupil_id}" in result.output and "1 guardian" in result.output
    db.session.expire_all()
    assert db.session.get(User, pupil_id) is None
    assert _pupil_rows(pupil_id) == {}
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
    # The teacher's notification about the pupil's entry went with it.
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert not any(storage.path(k).exists() for k in keys)
    # The classmate is kept; the teacher too.
    assert db.session.get(User, world.classmate.id) is not None
    assert db.session.get(User, teacher_id) is not None
    # The guardian had only this child: deactivated, sessions ended, not deleted.
    guardian = db.session.get(User, world.guardian.id)
    assert guardian is not None and not guardian.is_active_account
    # One purge event, with counts and no names; the earlier view event stays.
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.pupil_id == pupil_id).order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["view", "purge"]
    purge = events[1]
    assert purge.actor_id is None and purge.actor_name == "" and purge.school_id == world.school.id
    assert purge.details["files"] == 2 and purge.details["rows"] > 10
    text = json.dumps(purge.details)
    assert "Paula" not in text and "Tischlerei" not in text


def test_purge_respects_retention_and_dry_run(runner, world):
    c = fill_portfolio(world.pupil)
    world.school.retention_days = 730
    _leave(world.pupil, 400)
    result = runner.invoke(args=["purge-expired"])
    assert "No pupil is due" in result.output
    _leave(world.pupil, 731)
    dry = runner.invoke(args=["purge-expired", "--dry-run"])
    assert dry.exit_code == 0 and f"Would delete pupil #{world.pupil.id}" in dry.output
    assert "Nothing was changed" in dry.output
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id) is not None
    assert get_storage().path(c.certificate.storage_key).exists()
    assert not db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "purge")).all()
    # --today lets a drill look ahead: with that day, the pupil is due.
    later = (clock.today() + dt.timedelta(days=10)).isoformat()
    assert (
        "No pupil"
        not in runner.invoke(args=["purge-expired", "--dry-run", "--today", later]).output
    )


def test_purge_never_deletes_active_pupils_or_those_without_date(runner, world):
    world.pupil.status = PupilStatus.LEFT.value
    world.pupil.left_on = None
    db.session.commit()
    result = runner.invoke(args=["purge-expired"])
    assert "have no leaving date" in result.output and "No pupil is due" in result.output
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.purge_pupil(world.classmate)
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id) is not None


def test_guardian_with_another_child_stays_active(world):
    sibling = make_user(
        world.school, [Role.PUPIL], "Sina", "Sibling", cls=world.class_9b, username="sina"
    )
    db.session.add(
        GuardianLink(school_id=world.school.id, guardian_id=world.guardian.id, pupil_id=sibling.id)
    )
    db.session.add(LoginSession(token="g-token", user_id=world.guardian.id))
    db.session.commit()
    _leave(world.pupil, 400)
    result = lifecycle.purge_pupil(world.pupil)
    assert result.guardians_deactivated == 0
    db.session.expire_all()
    assert db.session.get(User, world.guardian.id).is_active_account


def test_a_failing_purge_changes_nothing(world, monkeypatch):
    c = fill_portfolio(world.pupil)
    _leave(world.pupil, 400)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(lifecycle, "_deactivate_childless", broken)
    with pytest.raises(RuntimeError), transaction.atomic():  # as `flask purge-expired`
        lifecycle.purge_pupil(db.session.get(User, world.pupil.id))
    db.session.expire_all()
    assert db.session.get(User, world.pupil.id) is not None
    assert db.session.scalar(sa.select(sa.func.count(Entry.id))) == 3
    assert get_storage().path(c.certificate.storage_key).exists()


# -- backup --------------------------------------------------------------------------------
def test_backup_copies_database_and_files(runner, world, tmp_path):
    c = fill_portfolio(world.pupil)
    result = runner.invoke(args=["backup", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [folder] = list(tmp_path.iterdir())
    assert folder.name.startswith("backup-")
    manifest = json.loads((folder / "manifest.json").read_text())
    users = db.session.scalar(sa.select(sa.func.count(User.id)))
    assert manifest["rows"]["entry"] == 3 and manifest["rows"]["user_account"] == users
    if db.engine.dialect.name == "sqlite":
        copy = sqlite3.connect(folder / "portfolio.db")
        try:
            assert copy.execute("SELECT count(*) FROM entry").fetchone()[0] == 3
            assert copy.execute("SELECT count(*) FROM user_account").fetchone()[0] == users
            keys = [row[0] for row in copy.execute("SELECT storage_key FROM document")]
        finally:
            copy.close()
    else:
        keys = _restored_document_keys(folder / "portfolio.dump", tmp_path)
    assert sorted(keys) == sorted([c.certificate.storage_key, c.photo.storage_key])
    for key in keys:
        assert (folder / "uploads" / key[:2] / key).read_bytes() == get_storage().read(key)
    assert manifest["missing_files"] == [] and manifest["documents"] == 2
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert (folder / manifest["database"]).stat().st_mode & 0o777 == 0o600


def _restored_document_keys(dump, tmp_path) -> list[str]:
    """The dump is a real pg_dump archive: pg_restore reads the document table back."""
    import shutil
    import subprocess

    pg_restore = shutil.which("pg_restore")
    listing = subprocess.run([pg_restore, "--list", str(dump)], capture_output=True, text=True)
    assert listing.returncode == 0 and "TABLE DATA public document" in listing.stdout
    sql = subprocess.run(
        [pg_restore, "--data-only", "--table=document", "-f", "-", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = sql.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0].splitlines()
    columns = re.search(r"COPY public\.document \(([^)]*)\)", sql).group(1).split(", ")
    at = columns.index("storage_key")
    return [row.split("\t")[at] for row in rows]


def test_backup_gives_pg_dump_the_connection_in_its_own_terms():
    """`pg_dump "$DATABASE_URL"` fails with the postgresql+psycopg:// form the app accepts;
    flask backup hands libpq PG* variables (no password on a command line)."""
    from portfolio.privacy.backup import libpq_environment

    env = libpq_environment(
        "postgresql+psycopg://bwp:s3cr%40t@db.schule.example:5433/portfolio?sslmode=require"
    )
    assert env == {
        "PGHOST": "db.schule.example",
        "PGPORT": "5433",
        "PGUSER": "bwp",
        "PGPASSWORD": "s3cr@t",
        "PGDATABASE": "portfolio",
        "PGSSLMODE": "require",
    }
    socket = libpq_environment("postgresql://bwp@/portfolio?host=/var/run/postgresql")
    assert socket == {"PGUSER": "bwp", "PGDATABASE": "portfolio", "PGHOST": "/var/run/postgresql"}


def test_dry_run_announces_exactly_what_the_purge_deletes(runner, world):
    """The dry run counted a row reached on two paths twice (36 announced, 34 deleted); it
    now runs the same statements and rolls back. Two siblings with one guardian: the
    guardian is deactivated with the second, in the dry run as in the real one."""
    sibling = make_user(
        world.school, [Role.PUPIL], "Sina", "Sibling", cls=world.class_9b, username="sina"
    )
    db.session.add(
        GuardianLink(school_id=world.school.id, guardian_id=world.guardian.id, pupil_id=sibling.id)
    )
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    add_document(sibling, PDF, "zeugnis.pdf", share=("class_teacher", "stubo", "guardians"))
    db.session.add(Entry(school_id=world.school.id, pupil_id=sibling.id, kind="goal", data={}))
    _leave(world.pupil, 400)
    _leave(sibling, 400)

    dry = runner.invoke(args=["purge-expired", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.id == sibling.id)) == 1
    real = runner.invoke(args=["purge-expired"])
    assert real.exit_code == 0, real.output

    def lines(output: str) -> list[str]:
        return [
            line.replace("Would delete", "Deleted").replace(" Nothing was changed.", "")
            for line in output.splitlines()
            if "pupil" in line
        ]

    assert lines(dry.output) == lines(real.output)
    assert "guardian account(s) deactivated" in real.output
