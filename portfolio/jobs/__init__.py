"""Background jobs: the queue (Huey: SQLite by default, Redis in production), the `job`
table with progress and result files, the pages that show a job and hand out its
result, and `flask jobs worker`. Features declare kinds of jobs in `services.register`
and plain tasks with `queue.background` / `queue.periodic`."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

from portfolio.jobs import views  # noqa: E402, F401  (routes on bp)
