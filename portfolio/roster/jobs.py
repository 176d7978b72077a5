"""Login slips for pupils of a class, and letters for their parents, as background jobs.

The new initial passwords are made in the worker and go straight into the PDF; the
password hashes, the guardian codes and the job's result are committed together, so a
job that fails or is interrupted changes no password. The PDF is a one-time download
for the user who asked, kept at most 30 minutes (like `slips.OneTimeFiles`).
"""

from __future__ import annotations

import datetime as dt
import re

from flask import url_for

from portfolio import access
from portfolio.admin import services as account_services
from portfolio.extensions import db
from portfolio.i18n import _, _l
from portfolio.jobs.services import JobContext, JobKind, register, start
from portfolio.models import Job, SchoolClass, User
from portfolio.roster import slips

CLASS_SLIPS = "class_slips"
GUARDIAN_LETTERS = "guardian_letters"


def start_class_slips(
    user: User, school_class: SchoolClass, pupil_ids: list[int], *, letters: bool, locale: str
) -> Job:
    """Queue slips (new passwords) for the chosen pupils of the class (flushes)."""
    slips.public_url("auth.login")  # production without PUBLIC_URL: refuse now, not later
    return start(
        CLASS_SLIPS,
        user,
        params={
            "class_id": school_class.id,
            "class_name": school_class.name,
            "pupil_ids": sorted(set(pupil_ids)),
            "letters": bool(letters),
            "letter_locale": locale,
        },
    )


def _class(user: User, job: Job) -> SchoolClass | None:
    school_class = db.session.get(SchoolClass, job.params["class_id"])
    return school_class if access.can_print_slips(user, school_class) else None


def _chosen(ctx: JobContext, school_class: SchoolClass | None) -> list[User]:
    """The job's pupils still in the class it may print for (fails the job otherwise)."""
    if school_class is None:
        ctx.fail("gone")
    wanted = set(ctx.params["pupil_ids"])
    chosen = [p for p in account_services.class_pupils(school_class) if p.id in wanted]
    if not chosen:
        ctx.fail("no_pupils", name=school_class.name)
    return chosen


def _run(ctx: JobContext) -> None:
    school_class = _class(ctx.user, ctx.job)
    chosen = _chosen(ctx, school_class)
    ctx.progress(0, len(chosen) + 1)
    passwords = {}
    for count, pupil in enumerate(chosen, start=1):
        # Each new password is an account event the pupil sees (committed with the result).
        passwords.update(slips.reset_passwords([pupil], ctx.user))
        ctx.progress(count, len(chosen) + 1)
    prepared = slips.prepare(
        [(p, school_class.name, passwords[p.id]) for p in chosen],
        letters=ctx.params["letters"],
        fallback_locale=ctx.params["letter_locale"],
    )
    pdf = slips.render(
        ctx.user.school,
        prepared,
        title=_("Login slips %(name)s", name=school_class.name),
    )
    with ctx.result(f"zugangsdaten-{re.sub(r'[^A-Za-z0-9-]', '', school_class.name)}.pdf") as out:
        out.write(pdf)
    ctx.progress(len(chosen) + 1, len(chosen) + 1)


def start_guardian_letters(
    user: User, school_class: SchoolClass, pupil_ids: list[int], *, locale: str
) -> Job:
    """Queue letters with new registration codes for the parents of the chosen pupils;
    nobody's password changes (flushes)."""
    slips.public_url("guardian.register")  # production without PUBLIC_URL: refuse now
    return start(
        GUARDIAN_LETTERS,
        user,
        params={
            "class_id": school_class.id,
            "class_name": school_class.name,
            "pupil_ids": sorted(set(pupil_ids)),
            "letter_locale": locale,
        },
    )


def _letters_class(user: User, job: Job) -> SchoolClass | None:
    school_class = db.session.get(SchoolClass, job.params["class_id"])
    return school_class if access.can_print_guardian_letters(user, school_class) else None


def _run_letters(ctx: JobContext) -> None:
    school_class = _letters_class(ctx.user, ctx.job)
    chosen = _chosen(ctx, school_class)
    ctx.progress(0, 2)
    # New codes are committed with the result: a failed job leaves no unprinted codes.
    prepared = slips.prepare(
        [(p, school_class.name, None) for p in chosen],
        letters=True,
        fallback_locale=ctx.params["letter_locale"],
    )
    ctx.progress(1, 2)
    pdf = slips.render(
        ctx.user.school,
        prepared,
        title=_("Letters for parents %(name)s", name=school_class.name),
    )
    name = re.sub(r"[^A-Za-z0-9-]", "", school_class.name)
    with ctx.result(f"elternbriefe-{name}.pdf") as out:
        out.write(pdf)
    ctx.progress(2, 2)


register(
    JobKind(
        name=CLASS_SLIPS,
        run=_run,
        title=lambda job: _("Login slips %(name)s", name=job.params["class_name"]),
        allowed=lambda user, job: _class(user, job) is not None,
        origin=lambda job: url_for("roster.class_slips", class_id=job.params["class_id"]),
        messages={
            "no_pupils": _l("None of the chosen pupils is in class %(name)s any more."),
        },
        one_time=True,
        keep=dt.timedelta(minutes=30),
    )
)

register(
    JobKind(
        name=GUARDIAN_LETTERS,
        run=_run_letters,
        title=lambda job: _("Letters for parents %(name)s", name=job.params["class_name"]),
        allowed=lambda user, job: _letters_class(user, job) is not None,
        origin=lambda job: url_for("roster.class_letters", class_id=job.params["class_id"]),
        messages={
            "no_pupils": _l("None of the chosen pupils is in class %(name)s any more."),
        },
        # The codes let their holder register as a parent: one download, kept briefly.
        one_time=True,
        keep=dt.timedelta(minutes=30),
    )
)
