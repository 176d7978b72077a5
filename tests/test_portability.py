"""The take-away package both ways: export, import into another school, round trips,
honest scopes, and a package that nobody should trust (issue 15.7, issue 16.6)."""

import copy
import hashlib
import io
import json
import struct
import time
import tracemalloc
import zipfile

import pytest
import sqlalchemy as sa

from portfolio import accounts, progress
from portfolio.extensions import db
from portfolio.models import (
    Agreement,
    AgreementSignature,
    Comment,
    Document,
    Entry,
    GuidanceRecord,
    ImportedPackage,
    ImportedRecord,
    User,
)
from portfolio.privacy import package_check, package_import, portability
from portfolio.storage import get_storage
from tests.support.content import certificate, fill_portfolio
from tests.support.files import hostile_pdf, pdf_hazards, pdf_text, png_bytes
from tests.support.world import PASSWORD

pytestmark = pytest.mark.usefixtures("english_locale")

#: What an import rightly changes: times of the export, the package's own fields, the
#: source school, the pupil's status and the authors (no accounts at the new school) ...
_VOLATILE = {"exported_at", "source", "created_at", "updated_at", "status", "left_on", "author"}
_PACKAGE = {"package_id", "made_by"}
#: ... and what another school's people did, which becomes history.
_OUTSIDE_ACTS = {"comments", "signatures", "locked_at", "review_state", "submitted_at"}
_OUTSIDE_ACTS |= {"reviewed_at", "history"}


def _strip(obj, drop):
    if isinstance(obj, dict):
        return {k: _strip(v, drop) for k, v in obj.items() if k not in drop}
    if isinstance(obj, list):
        return [_strip(v, drop) for v in obj]
    return obj


def _export(runner, username, path, *extra):
    result = runner.invoke(
        args=["export-portfolio", "--pupil", username, "--out", str(path), *extra]
    )
    assert result.exit_code == 0, result.output
    return result


def _import(runner, path, *extra, school="100002"):
    return runner.invoke(args=["import-portfolio", str(path), "--school", school, *extra])


def _json(path_or_bytes):
    source = path_or_bytes if not isinstance(path_or_bytes, bytes) else io.BytesIO(path_or_bytes)
    return json.loads(zipfile.ZipFile(source).read("portfolio.json"))


def _files(path):
    zf = zipfile.ZipFile(path)
    return {n: zf.read(n) for n in zf.namelist() if n.startswith("files/")}


def _pupil_named(school, first_name="Paula"):
    return db.session.scalar(
        sa.select(User)
        .where(User.school_id == school.id, User.first_name == first_name)
        .order_by(User.id.desc())
        .limit(1)
    )


def _can_log_in(user):
    """Give an imported pupil the tests' password (the import made a random one)."""
    user.set_password(PASSWORD)
    user.must_change_password = False
    db.session.commit()
    return user


def _count(model, **where):
    query = sa.select(sa.func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


# -- round trip ----------------------------------------------------------------------------
def test_round_trip_keeps_the_content_and_turns_outside_acts_into_history(runner, world, tmp_path):
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    world.pupil.school.name = "Realschule Testdorf"
    first = tmp_path / "first.zip"
    output = _export(runner, "paula", first).output
    assert "the PDF" in output
    zf = zipfile.ZipFile(first)
    assert {"portfolio.pdf", "README.txt", "portfolio.json"} <= set(zf.namelist())
    assert zf.read("portfolio.pdf").startswith(b"%PDF")
    one = _json(first)
    assert one["version"] == 2 and one["scope"] == "whole-portfolio"
    assert one["made_by"] == {"role": "school", "name": "Realschule Testdorf"}
    assert "holds the whole portfolio of Paula Pupil" in zf.read("README.txt").decode()

    result = _import(runner, first, "--class", "9a")
    assert result.exit_code == 0, result.output
    assert "kept as imported history" in result.output
    password = result.output.rsplit(":", 1)[1].strip()
    new = _pupil_named(world.other_school)
    assert new.is_pupil and new.must_change_password and new.check_password(password)
    assert accounts.current_class(new).name == "9a" and new.username != "paula"
    assert _count(Entry, pupil_id=new.id) == 3
    for doc in db.session.scalars(sa.select(Document).where(Document.pupil_id == new.id)):
        content = get_storage().read(doc.storage_key)
        assert hashlib.sha256(content).hexdigest() == doc.sha256
        assert doc.school_id == new.school_id
    # Signed and locked at the old school: history here, not a signature of this school.
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.pupil_id == new.id))
    assert not agreement.is_locked and agreement.signatures == []
    history = {(r.kind, r.role, r.name) for r in agreement.imported_history}
    assert history == {
        ("signature", "pupil", "Paula Pupil"),
        ("signature", "guardian", "Gabi Guardian"),
        ("locked", None, ""),
    }
    assert {r.source_school for r in agreement.imported_history} == {"Realschule Testdorf"}
    praktikum = db.session.scalar(
        sa.select(Entry).where(Entry.pupil_id == new.id, Entry.kind == "praktikum")
    )
    assert praktikum.comments == [] and praktikum.review_state == "none"
    assert [(r.kind, r.name, r.body) for r in praktikum.imported_history] == [
        ("comment", "Tina Teacher", "Schöner Bericht!")
    ]
    record = db.session.scalar(sa.select(GuidanceRecord).where(GuidanceRecord.pupil_id == new.id))
    goal = db.session.scalar(sa.select(Entry).where(Entry.pupil_id == new.id, Entry.kind == "goal"))
    assert record.next_steps[0]["goal_entry_id"] == goal.id  # the reference follows the entry

    second = tmp_path / "second.zip"
    _export(runner, new.username, second)
    two = _json(second)
    # File names are cleaned as an upload's are (the fixture stores raw ones).
    assert [d["filename"] for d in two["documents"]] == ["Zeugnis_Müller.pdf", "passwd.png"]
    drop = _VOLATILE | _PACKAGE | _OUTSIDE_ACTS | {"filename", "path"}
    assert _strip(one, drop) == _strip(two, drop)
    assert two["package_id"] != one["package_id"]
    assert [e["created_at"] for e in one["entries"]] == [e["created_at"] for e in two["entries"]]
    assert sorted(_files(first).values()) == sorted(_files(second).values())
    assert two["agreements"][0]["signatures"] == [] and two["agreements"][0]["locked_at"] is None

    # A third school: the history travels on unchanged, still naming where it happened.
    accounts.create_school("Gesamtschule Drittort", "100003", "Gesamtschule", "Siegen")
    assert _import(runner, second, school="100003").exit_code == 0
    third = tmp_path / "third.zip"
    _export(runner, _pupil_named(accounts.get_school("100003")).username, third)
    three = _json(third)
    assert three["agreements"][0]["history"] == two["agreements"][0]["history"]
    assert three["entries"][0]["history"] == two["entries"][0]["history"]
    assert _strip(two, _VOLATILE | _PACKAGE) == _strip(three, _VOLATILE | _PACKAGE)


def test_file_names_inside_the_zip_are_safe(world):
    fill_portfolio(world.pupil)
    zf = zipfile.ZipFile(io.BytesIO(portability.export_bytes(world.pupil)))
    for name in zf.namelist():
        assert ".." not in name.split("/") and not name.startswith("/")
    assert any(n.endswith("Zeugnis Müller.pdf") for n in zf.namelist())


def test_exported_json_documents_files_with_checksums(world):
    fill_portfolio(world.pupil)
    data, _files_ = portability.export_data(world.pupil)
    assert data["pupil"] == {**data["pupil"], "first_name": "Paula", "last_name": "Pupil"}
    assert "password_hash" not in json.dumps(data) and "username" not in data["pupil"]
    cert = next(d for d in data["documents"] if d["title"] == "Praktikumszeugnis")
    assert cert["sha256"] == hashlib.sha256(certificate()).hexdigest() and cert["entry"] == "e1"
    assert data["agreements"][0]["signatures"][0]["name"] == "Paula Pupil"


# -- helpers for packages made by hand -----------------------------------------------------
def _zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _valid(world, **kwargs) -> tuple[dict, dict[str, bytes]]:
    fill_portfolio(world.pupil, teacher=world.teacher, guardian=world.guardian)
    zf = zipfile.ZipFile(io.BytesIO(portability.export_bytes(world.pupil, **kwargs)))
    data = json.loads(zf.read("portfolio.json"))
    files = {n: zf.read(n) for n in zf.namelist() if n.startswith("files/")}
    return data, files


def _payload(data, files, **extra) -> bytes:
    return _zip({**files, **extra, "portfolio.json": json.dumps(data)})


def _users():
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def _stored():
    return {p for p in get_storage().root.rglob("*") if p.is_file()}


def _refused(world, payload: bytes, message: str) -> None:
    """The package is refused with `message`; nothing was written, no file kept."""
    users, stored = _users(), _stored()
    with pytest.raises(portability.PortabilityError) as caught:
        package_import.import_zip(io.BytesIO(payload), world.other_school, accept_partial=True)
    assert message in str(caught.value), str(caught.value)
    db.session.rollback()
    assert _users() == users and _stored() == stored


# -- a tampered package --------------------------------------------------------------------
def test_a_forged_signed_agreement_and_forged_reviews_import_as_history_only(
    world, client_for, app
):
    data, files = _valid(world)
    forged_time = "2026-06-01T10:00:00+00:00"
    agreement = data["agreements"][0]
    agreement["locked_at"] = forged_time
    agreement["signatures"] = [
        {"role": role, "name": name, "signed_at": forged_time}
        for role, name in (
            ("teacher", "Schulleiter Dr. Fake"),
            ("guardian", "Gabi Guardian"),
            ("pupil", "Paula Pupil"),
        )
    ]
    for entry in data["entries"]:
        entry["review_state"] = "reviewed"
        entry["reviewed_at"] = forged_time
        entry["comments"] = [
            {"author": "Schulleiter Dr. Fake", "body": "Hervorragend!", "created_at": forged_time}
        ]
    data["entries"][0]["history"] = [
        {"kind": "signature", "role": "teacher", "name": "Dr. Fake", "at": forged_time}
    ]
    result = package_import.import_zip(
        io.BytesIO(_payload(data, files)), world.other_school, class_name="9a"
    )
    db.session.commit()
    pupil = result.pupil

    assert _count(AgreementSignature, school_id=world.other_school.id) == 0
    assert _count(Comment, school_id=world.other_school.id) == 0
    entries = db.session.scalars(sa.select(Entry).where(Entry.pupil_id == pupil.id)).all()
    assert {e.review_state for e in entries} == {"none"}
    assert all(e.reviewed_at is None and e.submitted_at is None for e in entries)
    imported = db.session.scalar(sa.select(Agreement).where(Agreement.pupil_id == pupil.id))
    assert imported.locked_at is None
    kinds = sorted(r.kind for r in imported.imported_history)
    assert kinds == ["locked", "signature", "signature", "signature"]
    # The agreement step is not done: a forged lock counts for nothing.
    states = [
        s.state
        for block in progress.of_pupil(pupil).grades
        for s in block.steps
        if s.element.entry_kind == "agreement"
    ]
    assert states and "done" not in states

    client = client_for(_can_log_in(pupil))
    page = client.get("/agreement/").get_data(as_text=True)
    assert "Imported history" in page and "Schulleiter Dr. Fake" in page
    assert "imported, not signed at this school" in page
    # Unsigned here: the pupil (and then parents and teacher) can sign it at this school.
    assert "Draft: not signed by everyone yet" in page and "Sign as: Pupil" in page
    praktikum = next(e for e in entries if e.kind == "praktikum")
    page = client.get(f"/portfolio/entry/{praktikum.id}").get_data(as_text=True)
    assert "Comment by Schulleiter Dr. Fake" in page and "Hervorragend!" in page
    assert "Marked there as reviewed" in page
    assert "Your teacher has looked at it." not in page

    from portfolio.privacy.lifecycle import portfolio_pdf

    text = " ".join(pdf_text(portfolio_pdf(pupil)).split())
    assert "Imported history" in text and "imported, not signed at this school" in text
    assert "Schulleiter Dr. Fake" in text


# -- files from outside --------------------------------------------------------------------
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _with_files(data, files, extra: dict[str, bytes]):
    for name, content in extra.items():
        path = f"files/{len(data['documents']) + 1}-{name}"
        files[path] = content
        data["documents"].append(
            {
                "entry": None,
                "category": "other",
                "title": name,
                "filename": name,
                "mime_type": "image/png",
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "path": path,
                "share": {"teachers": False, "counsellor": False, "guardians": False},
                "created_at": None,
            }
        )


def test_every_file_goes_through_the_upload_check(world):
    data, files = _valid(world)
    _with_files(
        data,
        files,
        {
            "seite.html": HTML,
            "bild.svg": SVG,
            "foto.png": SVG,  # an SVG named .png
            "zeugnis.pdf": hostile_pdf(),
            "gut.png": png_bytes(80, 60),
        },
    )
    payload = _payload(data, files)
    preview = package_check.preview(io.BytesIO(payload), world.other_school)
    refused = dict(preview.refused)
    assert set(refused) == {"seite.html", "bild.svg", "foto.png"}
    assert all("cannot be uploaded" in reason for reason in refused.values())
    assert preview.documents == 4  # certificate, photo, the cleaned PDF, the real PNG

    result = package_import.import_zip(io.BytesIO(payload), world.other_school)
    db.session.commit()
    assert {name for name, _reason in result.refused} == {"seite.html", "bild.svg", "foto.png"}
    docs = db.session.scalars(sa.select(Document).where(Document.pupil_id == result.pupil.id))
    stored = {d.filename: get_storage().read(d.storage_key) for d in docs}
    assert set(stored) >= {"zeugnis.pdf", "gut.png"} and len(stored) == 4
    assert all(not c.startswith(b"<") for c in stored.values())
    assert pdf_hazards(stored["zeugnis.pdf"]) == set()
    assert result.package.report["refused_files"][0][0] == "seite.html"


# -- hostile archives ----------------------------------------------------------------------
def _many_entries(data, members):
    data["entries"] = [dict(data["entries"][2], ref=f"x{i}") for i in range(2001)]
    data["documents"], data["guidance"] = [], []
    members.clear()


#: case -> (what to change in the JSON and the members, the message expected)
_BAD = {
    "wrong format": (lambda d, m: d.update(format="other"), "not a Berufswahlpass portfolio"),
    "wrong version": (lambda d, m: d.update(version=3), "format version 3"),
    "traversal": (lambda d, m: m.update({"files/../../evil.sh": b"x"}), "unsafe file name"),
    "absolute": (lambda d, m: m.update({"/etc/cron.d/evil": b"x"}), "unsafe file name"),
    "unexpected member": (lambda d, m: m.update({"extra/a.txt": b"x"}), "unexpected file"),
    "hash mismatch": (
        lambda d, m: m.update({d["documents"][0]["path"]: b"changed"}),
        "does not match its checksum",
    ),
    "missing file": (lambda d, m: m.pop(d["documents"][0]["path"]), "is missing from the ZIP"),
    "bad kind": (lambda d, m: d["entries"][0].update(kind="shopping_list"), "entries[0].kind"),
    "bad date": (
        lambda d, m: d["pupil"].update(date_of_birth="31.02.2010"),
        "pupil.date_of_birth",
    ),
    "document path outside files": (
        lambda d, m: d["documents"][0].update(path="portfolio.pdf"),
        "documents[0].path",
    ),
    "bad scope": (lambda d, m: d.update(scope="everything-really"), "at: scope"),
    "two agreements number 1": (
        lambda d, m: d["agreements"].append(copy.deepcopy(d["agreements"][0])),
        "agreements[1].number",
    ),
    "too many entries": (_many_entries, "too many items at entries"),
    # PostgreSQL stores no U+0000 (JSONB, text): refused with a message, never a 500.
    "NUL in a text": (
        lambda d, m: d["entries"][0]["data"].update(note="a\x00b"),
        "a character that is not allowed",
    ),
}


@pytest.mark.parametrize("case", ["not a zip", "broken json", *_BAD])
def test_import_refuses_bad_zips_with_a_clear_message(runner, world, tmp_path, case):
    data, files = _valid(world)
    members: dict[str, bytes | str] = dict(files)
    if case == "not a zip":
        payload, message = b"PK\x03\x04 broken", "not a ZIP file"
    elif case == "broken json":
        payload, message = _zip({**members, "portfolio.json": "{not json"}), "not valid JSON"
    else:
        edit, message = _BAD[case]
        edit(data, members)
        payload = _zip({**members, "portfolio.json": json.dumps(data)})
    path = tmp_path / "bad.zip"
    path.write_bytes(payload)
    before, stored = _users(), _stored()
    result = _import(runner, path)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert _users() == before and _stored() == stored


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """About 1 MB of ZIP that unpacks to 900 MB of zeros (made once, in 1 MB steps)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("portfolio.json", json.dumps({"format": portability.FORMAT}))
        with zf.open("files/1-zeugnis.pdf", "w", force_zip64=True) as fh:
            for _ in range(900):
                fh.write(zeros)
    return path


def test_a_zip_bomb_is_refused_before_it_is_unpacked(world, zip_bomb):
    assert zip_bomb.stat().st_size < 1_200_000
    users = _users()
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(portability.PortabilityError) as caught:
        package_import.import_zip(str(zip_bomb), world.other_school)
    seconds = time.perf_counter() - started
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "would unpack to 900 MB; at most 400 MB" in str(caught.value)
    assert seconds < 1 and peak < 20 * 1024 * 1024, (seconds, peak)
    assert _users() == users


def _forge_size(payload: bytes, name: str, size: int) -> bytes:
    """The ZIP with `name`'s unpacked size set to `size` in both of its headers."""
    data = bytearray(payload)
    encoded = name.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + length]) == encoded:
            struct.pack_into("<I", data, central + 24, size)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, size)
            return bytes(data)
        central = data.find(b"PK\x01\x02", central + 4)
    raise AssertionError(name)


def test_a_member_that_unpacks_larger_than_it_says_is_refused_as_damaged(world):
    data, files = _valid(world)
    big = bytes(5 * 1024 * 1024)
    _with_files(data, files, {"gross.pdf": big})
    payload = _forge_size(_payload(data, files), data["documents"][-1]["path"], 1000)
    _refused(world, payload, "is damaged")


def test_too_many_files_are_refused(world):
    data, files = _valid(world)
    extra = {f"files/{n}-x.png": b"x" for n in range(10, 520)}
    _refused(world, _payload(data, files, **extra), "too many files (513); at most 500")


def test_deeply_nested_json_is_refused_without_recursion_error(world):
    data, files = _valid(world)
    deep = "[" * 200_000 + "]" * 200_000
    text = json.dumps(data).replace('"data": {', '"data": {"deep": ' + deep + ", ", 1)
    _refused(world, _zip({**files, "portfolio.json": text}), "nested too deeply")
    assert package_check.json_depth(b'{"a": "[[[[[[", "b": [[1]]}') == 3


def test_too_large_json_is_refused(world, app, monkeypatch):
    data, files = _valid(world)
    monkeypatch.setitem(app.config, "IMPORT_MAX_JSON_BYTES", 4096)
    data["pupil"]["first_name"] = "P" * 5000
    _refused(world, _payload(data, files), "portfolio.json is too large")


def test_values_of_the_wrong_type_are_left_out_and_the_pages_still_work(world, client_for):
    data, files = _valid(world)
    praktikum = data["entries"][0]
    praktikum["data"] = {
        "company": ["not", "a", "text"],
        "log": [{"date": {"x": 1}, "activities": "Bretter"}, "not a day"],
        "start": "31.02.2026",
        "unknown_note": {"kept": ["as", "it", "is"]},
        "unknown_blob": "x" * 20_000,
    }
    result = package_import.import_zip(io.BytesIO(_payload(data, files)), world.other_school)
    db.session.commit()
    entry = db.session.scalar(
        sa.select(Entry).where(Entry.pupil_id == result.pupil.id, Entry.kind == "praktikum")
    )
    assert entry.data == {
        "log": [{"activities": "Bretter"}],
        "unknown_note": {"kept": ["as", "it", "is"]},
    }
    assert result.dropped_values == 5
    client = client_for(_can_log_in(result.pupil))
    assert client.get(f"/portfolio/entry/{entry.id}").status_code == 200


# -- partial packages ----------------------------------------------------------------------
def test_a_guardians_package_says_it_is_partial_and_is_imported_only_when_accepted(
    runner, world, tmp_path
):
    from portfolio.privacy.portability import Maker, Scope

    data, files = _valid(world, scope=Scope.FAMILY, made_by=Maker("guardian", "Gabi Guardian"))
    assert data["scope"] == "shared-with-family"
    assert data["made_by"] == {"role": "guardian", "name": "Gabi Guardian"}
    assert "Nur für mich" not in {e["title"] for e in data["entries"]}
    path = tmp_path / "family.zip"
    path.write_bytes(_payload(data, files))
    users = _users()
    refused = _import(runner, path)
    assert refused.exit_code != 0 and _users() == users
    assert "holds only what Paula Pupil shared with the family" in refused.output
    assert "--accept-partial" in refused.output

    accepted = _import(runner, path, "--accept-partial")
    assert accepted.exit_code == 0, accepted.output
    assert "Partial package: This package holds only what Paula Pupil shared" in accepted.output
    row = db.session.scalar(sa.select(ImportedPackage))
    assert row.scope == "shared-with-family" and row.made_by_role == "guardian"


def test_a_version_1_package_is_still_read_and_a_family_one_is_recognised(world):
    data, files = _valid(world)
    for key in ("scope", "package_id", "made_by"):
        del data[key]
    for item in (*data["entries"], *data["agreements"]):
        item.pop("history")
    data["version"] = 1
    whole = _payload(data, files)
    assert package_check.preview(io.BytesIO(whole), world.other_school).scope == "whole-portfolio"

    family = copy.deepcopy(data)
    family["entries"] = [e for e in family["entries"] if e["share"]["guardians"]]
    family["documents"] = [d for d in family["documents"] if d["share"]["guardians"]]
    for d in family["documents"]:
        d["entry"] = d["entry"] if d["entry"] in {e["ref"] for e in family["entries"]} else None
    family["guidance"] = []
    payload = _payload(family, {d["path"]: files[d["path"]] for d in family["documents"]})
    with pytest.raises(portability.PartialPackage) as caught:
        package_import.import_zip(io.BytesIO(payload), world.other_school)
    assert "format version 1" in " ".join(caught.value.missing)
    db.session.rollback()
    result = package_import.import_zip(io.BytesIO(whole), world.other_school)
    assert result.package.format_version == 1 and result.package.package_id is None


# -- the same package twice ----------------------------------------------------------------
def test_the_same_package_twice_is_refused(runner, world, tmp_path):
    fill_portfolio(world.pupil)
    path = tmp_path / "package.zip"
    _export(runner, "paula", path, "--no-pdf")
    assert _import(runner, path).exit_code == 0
    users = _users()
    again = _import(runner, path)
    assert again.exit_code != 0 and "already imported" in again.output
    assert "It is not imported a second time." in again.output
    assert _users() == users
    # The same content under a new package id is the same package, and so is the same
    # portfolio exported again.
    data = _json(path)
    data["package_id"] = "00000000-0000-4000-8000-000000000000"
    renamed = tmp_path / "renamed.zip"
    renamed.write_bytes(_payload(data, _files(path)))
    assert "already imported" in _import(runner, renamed).output
    again_exported = tmp_path / "again.zip"
    _export(runner, "paula", again_exported, "--no-pdf")
    assert "already imported" in _import(runner, again_exported).output
    assert _users() == users
    # Another school may import it (a pupil may apply to two schools).
    accounts.create_school("Gesamtschule Drittort", "100003", "Gesamtschule", "Siegen")
    assert _import(runner, path, school="100003").exit_code == 0


def test_a_failure_midway_leaves_no_rows_and_no_files(world, monkeypatch):
    data, files = _valid(world)
    payload = _payload(data, files)
    users, stored = _users(), _stored()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(package_import._Writer, "_guidance", broken)
    with pytest.raises(RuntimeError):
        package_import.import_zip(io.BytesIO(payload), world.other_school)
    assert _users() == users and _stored() == stored
    assert _count(ImportedPackage) == 0 and _count(ImportedRecord) == 0


def test_import_into_an_unknown_class_is_refused(runner, world, tmp_path):
    data, files = _valid(world)
    path = tmp_path / "ok.zip"
    path.write_bytes(_payload(data, files))
    before = _users()
    result = _import(runner, path, "--class", "7z")
    assert result.exit_code != 0 and "No class" in result.output
    assert _users() == before


def test_a_dry_run_says_what_the_package_brings_and_writes_nothing(runner, world, tmp_path):
    data, files = _valid(world)
    _with_files(data, files, {"bild.svg": SVG})
    path = tmp_path / "package.zip"
    path.write_bytes(_payload(data, files))
    users = _users()
    result = _import(runner, path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Pupil: Paula Pupil" in result.output and "Scope: whole-portfolio" in result.output
    assert "Files: 2 accepted, 1 refused" in result.output and "refused bild.svg" in result.output
    assert "2 signatures, 1 locks, 1 comments" in result.output
    assert "Nothing was imported" in result.output and _users() == users


def test_export_of_unknown_pupil_is_a_clear_error(runner, world, tmp_path):
    result = runner.invoke(
        args=["export-portfolio", "--pupil", "nobody", "--out", str(tmp_path / "x.zip")]
    )
    assert result.exit_code != 0 and "No user 'nobody'" in result.output
    assert not (tmp_path / "x.zip").exists()
