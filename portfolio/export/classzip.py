"""A whole class's PDFs as one ZIP, rendered in parallel on all cores.

Runs as a background job (export/jobs.py) or from `flask export-pdfs`. With several
processes (EXPORT_WORKERS, default: all cores) each creates the app once (pool
initializer) and then renders pupils by id; with one, the PDFs are rendered in the
calling process. Every PDF holds what that pupil shared with teachers: the class
teacher's view.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from portfolio.collation import name_order
from portfolio.extensions import db
from portfolio.models import ClassMembership, SchoolClass, User
from portfolio.privacy import audit

from .render import file_name

log = logging.getLogger(__name__)

#: Settings a worker needs to reach the same database and upload folder.
WORKER_CONFIG_KEYS = (
    "SQLALCHEMY_DATABASE_URI",
    "UPLOAD_FOLDER",
    "SECRET_KEY",
    "TESTING",
    "BABEL_DEFAULT_LOCALE",
    "ALLOW_SQLITE_IN_PRODUCTION",
    "ALLOW_INSECURE_COOKIES",
)

_worker_app = None


@dataclass
class ClassExport:
    done: list[tuple[int, str]] = field(default_factory=list)  # pupil id, file name in the ZIP
    failed: list[tuple[int, str]] = field(default_factory=list)  # pupil id, name


def class_pupils(cls: SchoolClass) -> list[User]:
    """The pupils of the class in its school year, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(ClassMembership, ClassMembership.pupil_id == User.id)
            .where(ClassMembership.class_id == cls.id)
            .order_by(*name_order(User))
        )
    )


def _init_worker(config: dict) -> None:
    global _worker_app
    from portfolio import create_app

    _worker_app = create_app(config)


def render_as_teacher(pupil_id: int, locale: str) -> bytes:
    """The portfolio PDF of one pupil as the class teacher may see it."""
    from flask_babel import force_locale

    from portfolio.access import PupilAccess, Relation

    from .render import portfolio_pdf

    pupil = db.session.get(User, pupil_id)
    with force_locale(locale):
        return portfolio_pdf(PupilAccess(pupil, frozenset({Relation.CLASS_TEACHER})))


def _render_in_worker(task: tuple[int, str]) -> tuple[int, bytes | None]:
    pupil_id, locale = task
    with _worker_app.test_request_context():
        try:
            return pupil_id, render_as_teacher(pupil_id, locale)
        except Exception:  # one broken portfolio must not stop the class
            log.exception("PDF of pupil %s failed", pupil_id)
            return pupil_id, None
        finally:
            db.session.remove()


def worker_count(tasks: int) -> int:
    configured = current_app.config.get("EXPORT_WORKERS")
    cores = int(configured) if configured else (os.cpu_count() or 1)
    return max(1, min(cores, tasks))


def _render_here(pupil_id: int, locale: str) -> bytes | None:
    try:
        return render_as_teacher(pupil_id, locale)
    except Exception:  # one broken portfolio must not stop the class
        log.exception("PDF of pupil %s failed", pupil_id)
        return None


def _rendered(tasks: list[tuple[int, str]], workers: int) -> Iterator[tuple[int, bytes | None]]:
    """(pupil id, PDF or None) in the order of `tasks`."""
    if workers == 1:
        for pupil_id, locale in tasks:
            yield pupil_id, _render_here(pupil_id, locale)
        return
    config = {k: current_app.config[k] for k in WORKER_CONFIG_KEYS if k in current_app.config}
    ctx = multiprocessing.get_context("spawn")  # no forked database connections
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(config,)
    ) as pool:
        yield from pool.map(_render_in_worker, tasks)


def export_class(
    cls: SchoolClass,
    out: BinaryIO,
    *,
    locale: str = "de",
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ClassExport:
    """Write one PDF per pupil of the class into a ZIP file object.

    `progress(done, total)` is called before the first and after every PDF.
    """
    pupils = class_pupils(cls)
    names = _unique_names(pupils)
    result = ClassExport()
    if not pupils:
        return result
    tasks = [(p.id, locale) for p in pupils]
    by_id = {p.id: p for p in pupils}
    report = progress or (lambda done, total: None)
    report(0, len(tasks))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        rendered = _rendered(tasks, workers or worker_count(len(tasks)))
        for count, (pupil_id, pdf) in enumerate(rendered, start=1):
            if pdf is None:
                result.failed.append((pupil_id, by_id[pupil_id].full_name))
            else:
                archive.writestr(names[pupil_id], pdf)
                result.done.append((pupil_id, names[pupil_id]))
            report(count, len(tasks))
        if result.failed:
            archive.writestr(
                "errors.txt",
                "\n".join(
                    f"{name} (id {pid}): the PDF could not be made." for pid, name in result.failed
                ),
            )
    return result


def _unique_names(pupils: list[User]) -> dict[int, str]:
    names, seen = {}, set()
    for p in pupils:
        name = file_name(p, "portfolio")
        if name in seen:
            name = name[:-4] + f"_{p.id}.pdf"
        seen.add(name)
        names[p.id] = name
    return names


def zip_name(cls: SchoolClass) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in cls.name)
    return f"Berufswahlpass_{safe}.zip"


def record_audit(
    actor: User | None, cls: SchoolClass, result: ClassExport, via: str = "web"
) -> None:
    for pupil_id, _name in result.done:
        audit.record(
            actor,
            "pdf",
            pupil_id=pupil_id,
            school_id=cls.school_id,
            details={"document": "portfolio", "class_export": cls.name, "via": via},
        )
