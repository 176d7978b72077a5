"""Administration: start page, account lists and account pages, staff accounts.

The roster import and login slips are the `roster` package; the guardian registration
is a route of the `guardian` package.
"""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access, accounts
from portfolio.accounts import AccountError
from portfolio.admin import bp, services
from portfolio.admin import rollover as school_year
from portfolio.admin.forms import (
    STAFF_ROLE_LABELS,
    CounsellorForm,
    IdForm,
    StaffForm,
    UsernameForm,
    UserSearchForm,
    options,
)
from portfolio.auth.forms import ConfirmForm
from portfolio.extensions import db
from portfolio.guardian import registration
from portfolio.i18n import _, _l
from portfolio.models import Role
from portfolio.pagination import page_arg


def managers_only(view):
    """Logged in as school admin or StuBO; 403 for everybody else."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        access.require(access.can_manage_accounts(current_user))
        return view(*args, **kwargs)

    return wrapped


def me():
    return current_user._get_current_object()


#: The tasks on the start page: (endpoint, title, description, icon, who may).
TASKS = [
    (
        "admin.users",
        _l("Accounts"),
        _l("Pupils, staff and parents of the school: search, deactivate, link parents."),
        "account-circle",
        "manage",
    ),
    (
        "admin.create_staff",
        _l("New staff account"),
        _l("Teachers, StuBO, counsellors."),
        "add",
        "manage",
    ),
    (
        "roster.upload",
        _l("Import pupils from SchILD-NRW"),
        _l("New pupils get accounts, changes are applied."),
        "drive-folder-upload",
        "manage",
    ),
    (
        "roster.classes",
        _l("Classes and login slips"),
        _l("Print new passwords and letters for parents."),
        "checklist",
        "manage",
    ),
    (
        "admin.rollover",
        _l("New school year"),
        _l("Classes move up, leavers are marked."),
        "calendar-today",
        "rollover",
    ),
]
#: The data-protection pages of the school admin.
OTHER_TASKS = [
    ("privacy.school_consents", _l("Consents"), _l("Record and withdraw consents."), "checklist"),
    ("privacy.audit", _l("Audit log"), _l("Who viewed or exported pupils' content."), "visibility"),
    ("privacy.leaving", _l("Pupils leaving"), _l("Exports and deletion dates."), "logout"),
    (
        "privacy.import_upload",
        _l("Import a portfolio"),
        _l("A pupil from another school brings their take-away package."),
        "drive-folder-upload",
    ),
]


@bp.route("/")
@managers_only
def home():
    allowed = {"manage": True, "rollover": access.can_run_rollover(current_user)}
    tasks = [(e, t, d, i) for e, t, d, i, who in TASKS if allowed[who]]
    # Consents, audit log and leavers are the school admin's (access.can_administer_privacy).
    other = OTHER_TASKS if access.can_administer_privacy(current_user) else []
    return render_template("admin/home.html", tasks=tasks, other_tasks=other)


@bp.route("/accounts")
@managers_only
def users():
    school = current_user.school
    form = UserSearchForm(request.args)
    classes = accounts.year_classes(school)
    form.class_id.choices = options(
        [("", _("All classes"))] + [(str(c.id), c.name) for c in classes]
    )
    if not form.validate():
        form.kind.data, form.class_id.data = "pupils", ""
    class_id = int(form.class_id.data) if (form.class_id.data or "").isdigit() else None
    page = services.list_users(
        school,
        kind=form.kind.data or "pupils",
        q=form.q.data or "",
        class_id=class_id,
        include_inactive=bool(form.inactive.data),
        page=request.args.get("page", type=page_arg) or 1,
    )
    args = {k: v for k, v in request.args.items() if k != "page" and k in form._fields and v}
    return render_template(
        "admin/users.html",
        form=form,
        page=page,
        rows=page.items,
        args=args,
        kind=form.kind.data or "pupils",
    )


@bp.route("/accounts/<int:user_id>")
@login_required
def account(user_id: int):
    user = _load_account(user_id)
    context = {
        "user": user,
        "can_change": access.can_change_account(current_user, user),
        "confirm_form": ConfirmForm(),
        "id_form": IdForm(),
    }
    if user.is_pupil:
        pupil_access = access.access_to(current_user, user)
        context.update(
            history=services.class_history(user),
            guardians=registration.guardians_of(user),
            counsellors=services.counsellors_of(user),
            link_form=UsernameForm(),
            can_manage=pupil_access.can_manage_account(),
            can_counsel=access.can_manage_accounts(current_user),
        )
        if context["can_counsel"]:
            counsellor_form = CounsellorForm()
            counsellor_form.counsellor_id.choices = options(
                (c.id, c.sort_name) for c in services.school_counsellors(user.school)
            )
            context["counsellor_form"] = counsellor_form
    if user.is_staff:
        context["taught"] = services.classes_taught(user)
    if user.has_role(Role.GUARDIAN):
        context["children"] = services.children_of(user)
    return render_template("admin/account.html", **context)


def _load_account(user_id: int):
    """The account: managers see their school's accounts; class teachers their pupils."""
    if access.can_manage_accounts(current_user):
        return access.load_school_user(current_user, user_id)
    pupil_access = access.load_pupil(current_user, user_id)
    access.require(pupil_access.can_manage_account())
    return pupil_access.pupil


@bp.route("/accounts/<int:user_id>/active", methods=["POST"])
@login_required
def set_active(user_id: int):
    user = access.load_school_user(current_user, user_id)
    access.require(access.can_change_account(current_user, user))
    form = ConfirmForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        services.set_active(user, active, me())
        flash(
            _("The account of %(name)s is active again.", name=user.full_name)
            if active
            else _(
                "The account of %(name)s is deactivated. Nothing was deleted.", name=user.full_name
            ),
            "success",
        )
    return redirect(url_for("admin.account", user_id=user.id))


@bp.route("/pupils/<int:pupil_id>/guardians", methods=["POST"])
@login_required
def link_guardian(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.can_manage_account())
    form = UsernameForm()
    if form.validate_on_submit():
        try:
            guardian = registration.link_by_username(pupil_access.pupil, form.username.data, me())
            flash(
                _(
                    "%(guardian)s is now linked as a parent of %(pupil)s.",
                    guardian=guardian.full_name,
                    pupil=pupil_access.pupil.full_name,
                ),
                "success",
            )
        except (registration.RegistrationError, AccountError) as error:
            flash(str(error), "error")
    else:
        flash(_("Please enter the username of the parent account."), "error")
    return redirect(url_for("admin.account", user_id=pupil_id))


@bp.route("/pupils/<int:pupil_id>/guardians/remove", methods=["POST"])
@login_required
def unlink_guardian(pupil_id: int):
    pupil_access = access.load_pupil(current_user, pupil_id)
    access.require(pupil_access.can_manage_account())
    form = IdForm()
    if form.validate_on_submit() and form.id.data.isdigit():
        guardian = registration.unlink(pupil_access.pupil, int(form.id.data), me())
        if guardian:
            flash(
                _(
                    "%(guardian)s no longer sees anything of %(pupil)s.",
                    guardian=guardian.full_name,
                    pupil=pupil_access.pupil.first_name,
                ),
                "success",
            )
    return redirect(url_for("admin.account", user_id=pupil_id))


@bp.route("/pupils/<int:pupil_id>/counsellors", methods=["POST"])
@login_required
def assign_counsellor(pupil_id: int):
    pupil = access.load_school_user(current_user, pupil_id)
    if not pupil.is_pupil:
        abort(404)
    if request.form.get("remove"):
        form = IdForm()
        if form.validate_on_submit() and form.id.data.isdigit():
            services.unassign_counsellor(pupil, int(form.id.data), me())
            flash(_("The counsellor is no longer assigned."), "success")
        return redirect(url_for("admin.account", user_id=pupil.id))
    form = CounsellorForm()
    form.counsellor_id.choices = options(
        (c.id, c.sort_name) for c in services.school_counsellors(pupil.school)
    )
    if form.validate_on_submit():
        counsellor = services.assign_counsellor(pupil, form.counsellor_id.data, me())
        if counsellor:
            flash(
                _(
                    "%(name)s is assigned. They see content only while consent is given.",
                    name=counsellor.full_name,
                ),
                "success",
            )
    else:
        flash(_("Please choose a counsellor."), "error")
    return redirect(url_for("admin.account", user_id=pupil.id))


@bp.route("/staff/new", methods=["GET", "POST"])
@managers_only
def create_staff():
    school = current_user.school
    form = StaffForm()
    form.roles.choices = options(
        (r.value, label)
        for r, label in STAFF_ROLE_LABELS.items()
        if access.can_grant_role(current_user, r)
    )
    form.classes.choices = options((c.id, c.name) for c in accounts.year_classes(school))
    if form.validate_on_submit():
        try:
            user, password = services.create_staff(
                school,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                username=(form.username.data or "").strip() or None,
                email=form.email.data,
                roles=[Role(r) for r in form.roles.data],
                class_ids=form.classes.data or [],
            )
        except AccountError:
            db.session.rollback()
            form.username.errors.append(
                _(
                    "This username is taken or not allowed. Use 3 to 80 "
                    "characters: letters a–z, digits, dot or dash."
                )
            )
        else:
            return render_template("admin/staff_created.html", user=user, password=password)
    return render_template("admin/staff_form.html", form=form)


# -- the new school year -------------------------------------------------------------------
@bp.route("/school-year", methods=["GET", "POST"])
@login_required
def rollover():
    access.require(access.can_run_rollover(current_user))
    school = current_user.school
    the_plan = school_year.plan(school)
    form = ConfirmForm()
    if form.validate_on_submit() and not the_plan.not_due:
        year = school_year.run(the_plan, me())
        flash(
            _(
                "The school year %(year)s has started: %(moving)d pupils moved up, %(left)d "
                "left school.",
                year=year.name,
                moving=the_plan.moving,
                left=the_plan.leavers,
            ),
            "success",
        )
        return redirect(url_for("admin.home"))
    return render_template("admin/rollover.html", plan=the_plan, form=form)
