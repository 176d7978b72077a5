"""The portfolio JSON/ZIP: export, import into another school, round trip, refusals."""

import copy
import hashlib
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from portfolio import accounts
from portfolio.extensions import db
from portfolio.models import Agreement, Document, Entry, GuidanceRecord, User
from portfolio.privacy import portability
from portfolio.storage import get_storage
from tests.support.content import fill_portfolio
from tests.support.files import PDF

_VOLATILE = {"exported_at", "source", "created_at", "updated_at", "status", "left_on"}


pytestmark = pytest.mark.usefixtures("english_locale")


def _normalise(data):
    """The content, without what an import rightly changes: timestamps of the export,
    the source school, the pupil's status and the authors (no accounts at the new school)."""
    data = copy.deepcopy(data)

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in _VOLATILE | {"author"}}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(data)


def _export(runner, username, path):
    result = runner.invoke(args=["export-portfolio", "--pupil", username, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return result


def _import(runner, path, *extra):
    return runner.invoke(args=["import-portfolio", str(path), "--school", "100002", *extra])


def test_export_import_export_gives_the_same_content(runner, world, tmp_path):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    first = tmp_path / "first.zip"
    _export(runner, "paula", first)

    result = _import(runner, first, "--class", "9a")
    assert result.exit_code == 0, result.output
    assert "Initial password (shown once):" in result.output
    password = result.output.rsplit(":", 1)[1].strip()
    new = db.session.scalar(
        sa.select(User).where(User.school_id == world.other_school.id, User.first_name == "Paula")
    )
    assert new is not None and new.is_pupil and new.must_change_password
    assert new.check_password(password) and new.username != "paula"
    assert accounts.current_class(new).name == "9a"
    assert (
        db.session.scalar(sa.select(sa.func.count(Entry.id)).where(Entry.pupil_id == new.id)) == 3
    )
    for doc in db.session.scalars(sa.select(Document).where(Document.pupil_id == new.id)):
        content = get_storage().read(doc.storage_key)
        assert hashlib.sha256(content).hexdigest() == doc.sha256 and doc.school_id == new.school_id
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.pupil_id == new.id))
    assert {s.name for s in agreement.signatures} == {"Paula Pupil", "Gabi Guardian"}
    assert agreement.is_locked
    record = db.session.scalar(sa.select(GuidanceRecord).where(GuidanceRecord.pupil_id == new.id))
    goal = db.session.scalar(sa.select(Entry).where(Entry.pupil_id == new.id, Entry.kind == "goal"))
    assert record.next_steps[0]["goal_entry_id"] == goal.id  # the reference follows the entry

    second = tmp_path / "second.zip"
    _export(runner, new.username, second)
    one = json.loads(zipfile.ZipFile(first).read("portfolio.json"))
    two = json.loads(zipfile.ZipFile(second).read("portfolio.json"))
    assert _normalise(one) == _normalise(two)
    # Entry history survives the move: creation times are kept.
    assert [e["created_at"] for e in one["entries"]] == [e["created_at"] for e in two["entries"]]
    files_one = {
        n: zipfile.ZipFile(first).read(n)
        for n in zipfile.ZipFile(first).namelist()
        if n.startswith("files/")
    }
    files_two = {
        n: zipfile.ZipFile(second).read(n)
        for n in zipfile.ZipFile(second).namelist()
        if n.startswith("files/")
    }
    assert files_one == files_two


def test_file_names_inside_the_zip_are_safe(world):
    fill_portfolio(world.pupil)
    zf = zipfile.ZipFile(io.BytesIO(portability.export_bytes(world.pupil)))
    for name in zf.namelist():
        assert ".." not in name.split("/") and not name.startswith("/")
    assert any(n.endswith("Zeugnis Müller.pdf") for n in zf.namelist())


# -- refusals ------------------------------------------------------------------------------
def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _valid(world) -> tuple[dict, dict[str, bytes]]:
    fill_portfolio(world.pupil)
    zf = zipfile.ZipFile(io.BytesIO(portability.export_bytes(world.pupil)))
    data = json.loads(zf.read("portfolio.json"))
    files = {n: zf.read(n) for n in zf.namelist() if n.startswith("files/")}
    return data, files


def _users():
    return db.session.scalar(sa.select(sa.func.count(User.id)))


@pytest.mark.parametrize(
    "case, message",
    [
        ("not a zip", "not a ZIP file"),
        ("wrong format", "not a Berufswahlpass portfolio export"),
        ("wrong version", "format version 2"),
        ("traversal", "unsafe file name"),
        ("absolute", "unsafe file name"),
        ("unexpected member", "unexpected file"),
        ("hash mismatch", "does not match its checksum"),
        ("missing file", "is missing from the ZIP"),
        ("broken json", "not valid JSON"),
        ("bad kind", "entries[0].kind"),
        ("bad date", "pupil.date_of_birth"),
        ("document path outside files", "documents[0].path"),
    ],
)
def test_import_refuses_bad_zips_with_a_clear_message(runner, world, tmp_path, case, message):
    data, files = _valid(world)
    members: dict[str, bytes | str] = dict(files)
    first_path = data["documents"][0]["path"]
    if case == "wrong format":
        data["format"] = "something-else"
    elif case == "wrong version":
        data["version"] = 2
    elif case == "traversal":
        members["files/../../evil.sh"] = b"#!/bin/sh"
    elif case == "absolute":
        members["/etc/cron.d/evil"] = b"x"
    elif case == "unexpected member":
        members["extra/thing.txt"] = b"x"
    elif case == "hash mismatch":
        members[first_path] = b"changed"
    elif case == "missing file":
        del members[first_path]
    elif case == "bad kind":
        data["entries"][0]["kind"] = "shopping_list"
    elif case == "bad date":
        data["pupil"]["date_of_birth"] = "31.02.2010"
    elif case == "document path outside files":
        data["documents"][0]["path"] = "portfolio.pdf"
    members["portfolio.json"] = "{not json" if case == "broken json" else json.dumps(data)
    path = tmp_path / "bad.zip"
    path.write_bytes(b"PK\x03\x04 broken" if case == "not a zip" else _zip(members))
    before = _users()
    keys_before = {p for p in get_storage().root.rglob("*") if p.is_file()}
    result = _import(runner, path)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert _users() == before
    assert {p for p in get_storage().root.rglob("*") if p.is_file()} == keys_before


def test_a_failure_midway_leaves_no_rows_and_no_files(world, monkeypatch):
    data, files = _valid(world)
    payload = _zip({**files, "portfolio.json": json.dumps(data)})
    before_users = _users()
    before_files = {p for p in get_storage().root.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(portability, "_add_guidance", broken)
    with pytest.raises(RuntimeError):
        portability.import_zip(io.BytesIO(payload), world.other_school)
    assert _users() == before_users
    assert {p for p in get_storage().root.rglob("*") if p.is_file()} == before_files


def test_import_into_an_unknown_class_is_refused(runner, world, tmp_path):
    data, files = _valid(world)
    path = tmp_path / "ok.zip"
    path.write_bytes(_zip({**files, "portfolio.json": json.dumps(data)}))
    before = _users()
    result = _import(runner, path, "--class", "7z")
    assert result.exit_code != 0 and "No class" in result.output
    assert _users() == before


def test_export_of_unknown_pupil_is_a_clear_error(runner, world, tmp_path):
    result = runner.invoke(
        args=["export-portfolio", "--pupil", "nobody", "--out", str(tmp_path / "x.zip")]
    )
    assert result.exit_code != 0 and "No user 'nobody'" in result.output
    assert not (tmp_path / "x.zip").exists()


def test_exported_json_documents_files_with_checksums(world):
    fill_portfolio(world.pupil)
    data, _files = portability.export_data(world.pupil)
    assert data["pupil"] == {**data["pupil"], "first_name": "Paula", "last_name": "Pupil"}
    assert "password_hash" not in json.dumps(data) and "username" not in data["pupil"]
    cert = next(d for d in data["documents"] if d["title"] == "Praktikumszeugnis")
    assert cert["sha256"] == hashlib.sha256(PDF).hexdigest() and cert["entry"] == "e1"
    assert data["agreements"][0]["signatures"][0]["name"] == "Paula Pupil"
