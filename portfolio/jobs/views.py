"""A job's page (progress, then the download or the error), its JSON, the download, the list.

Only the user who started a job sees it, and only while the access rule of what it
makes still holds (services.load). Pages work without JavaScript (the status page
reloads itself while the job runs); static/js/jobs.js polls the JSON instead.
"""

from __future__ import annotations

import re

from flask import Response, jsonify, render_template, send_file, url_for
from flask_babel import format_decimal
from flask_login import current_user, login_required

from portfolio.i18n import _
from portfolio.jobs import bp, services
from portfolio.models import Job, JobState

#: Seconds between reloads of a waiting job's page (without JavaScript).
REFRESH_SECONDS = 3


def _view(job: Job) -> dict:
    kind = services.kind_of(job)
    return {
        "job": job,
        "title": kind.title(job),
        "origin": kind.origin(job),
        "one_time": kind.one_time,
        "downloadable": services.can_download(job),
        "error": services.error_message(job) if job.state == JobState.FAILED else None,
        "size": _size(job.result_size or 0),
    }


def _size(size: int) -> str:
    if size < 1_000_000:
        return _("%(size)s kB", size=format_decimal(max(1, round(size / 1000))))
    return _("%(size)s MB", size=format_decimal(size / 1_000_000, "#,##0.0"))


@bp.get("/")
@login_required
def index():
    """The user's recent jobs: what is being made, what can be downloaded."""
    jobs = [_view(job) for job in services.recent(current_user)]
    return render_template("jobs/index.html", jobs=jobs)


@bp.get("/<int:job_id>")
@login_required
def status(job_id: int):
    job = services.load(current_user, job_id)
    response = Response(render_template("jobs/status.html", refresh=REFRESH_SECONDS, **_view(job)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>.json")
@login_required
def status_json(job_id: int):
    job = services.load(current_user, job_id)
    view = _view(job)
    response = jsonify(
        state=job.state,
        done=job.progress_done,
        total=job.progress_total,
        percent=job.percent,
        download=url_for("jobs.download", job_id=job.id) if view["downloadable"] else None,
        error=view["error"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:job_id>/download")
@login_required
def download(job_id: int):
    """The result, for the user who asked, until it expires (once for one-time results)."""
    job = services.load(current_user, job_id)
    if not services.can_download(job):
        return render_template("jobs/gone.html", **_view(job)), 410
    name = job.result_name or "download"
    mimetype = "application/zip" if name.lower().endswith(".zip") else "application/pdf"
    if services.kind_of(job).one_time:
        data = services.take_one_time(job)
        if data is None:
            return render_template("jobs/gone.html", **_view(job)), 410
        response = Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = _attachment(name)
    else:
        response = send_file(
            services.result_path(job.result_key),
            mimetype=mimetype,
            as_attachment=True,
            download_name=name,
            conditional=False,
            etag=False,
            max_age=0,
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def _attachment(name: str) -> str:
    safe = name if re.fullmatch(r"[\w.-]+", name, flags=re.ASCII) else "download.pdf"
    return f'attachment; filename="{safe}"'
